#pragma once
/// @brief Device implementations of the per-edge ops (gas/ops/edge.hpp): `Impl<Op, cuda::device>`.
///
/// The node's attributes hold a pointer to the op's `DeviceCsr`, as the host ones hold one to their Graph: the graph
/// must outlive the backward pass. Saved state lives in the node's aux tensors, which a warm tape reuses.

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/aggregate_edges.cuh"
#include "gas/cuda/kernels/edge.cuh"
#include "gas/cuda/kernels/edge_softmax.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/edge.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief Row e is x[col(e)]; the backward pass sums each source row's edges through the transposed index.
template <>
struct Impl<GatherEdgeSrc<cuda::device>, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                      const GatherEdgeSrc<cuda::device>& attrs) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::gather_edge_src_forward(attrs.adj->view(), x.data(), x.rows(), x.cols(), node.value.data(),
                                  tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                       const GatherEdgeSrc<cuda::device>& attrs) {
    const int ix = node.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    auto gx = tape.grad_of(ix);
    cuda::gather_edge_src_backward(attrs.adj->view(), node.grad.data(), node.grad.rows(), node.grad.cols(),
                                   gx.data(), gx.rows(), tape.exec().stream());
  }
};

/// @brief Row e is x[row(e)]; the backward pass sums each row's own edges.
template <>
struct Impl<GatherEdgeDst<cuda::device>, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                      const GatherEdgeDst<cuda::device>& attrs) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::gather_edge_dst_forward(attrs.adj->view(), x.data(), x.rows(), x.cols(), node.value.data(),
                                  tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                       const GatherEdgeDst<cuda::device>& attrs) {
    const int ix = node.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    auto gx = tape.grad_of(ix);
    cuda::gather_edge_dst_backward(attrs.adj->view(), node.grad.data(), node.grad.rows(), node.grad.cols(),
                                   gx.data(), gx.rows(), tape.exec().stream());
  }
};

/// @brief (E, heads) softmax of the scores over each row's edges, per head.
template <>
struct Impl<EdgeSoftmax<cuda::device>, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                      const EdgeSoftmax<cuda::device>& attrs) {
    const auto s = tape.node(node.inputs[0]).value;
    // The launcher wants a head; scores without columns have nothing to compute, as on the host.
    if (s.cols() > 0)
      cuda::edge_softmax_forward(attrs.adj->view(), s.data(), s.rows(), s.cols(), node.value.data(),
                                 tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                       const EdgeSoftmax<cuda::device>& attrs) {
    const int is = node.inputs[0];
    if (!tape.node(is).requires_grad) return;
    auto gs = tape.grad_of(is);
    if (gs.cols() > 0)
      cuda::edge_softmax_backward(attrs.adj->view(), node.value.data(), node.grad.data(), node.value.rows(),
                                  node.value.cols(), gs.data(), tape.exec().stream());
  }
};

/// @brief (adj.rows, heads F): per-head attention aggregation of x (inputs[1]) by alpha (inputs[0]).
template <>
struct Impl<SpmmEdge<cuda::device>, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                      const SpmmEdge<cuda::device>& attrs) {
    const auto alpha = tape.node(node.inputs[0]).value;
    const auto x = tape.node(node.inputs[1]).value;
    cuda::spmm_edge_forward(attrs.adj->view(), alpha.data(), alpha.rows(), alpha.cols(), x.data(), x.rows(),
                            x.cols(), node.value.data(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                       const SpmmEdge<cuda::device>& attrs) {
    const int ia = node.inputs[0], ix = node.inputs[1];
    const auto adj = attrs.adj->view();
    const auto g = node.grad;
    const auto alpha = tape.node(ia).value;
    const auto x = tape.node(ix).value;
    const cudaStream_t stream = tape.exec().stream();
    if (tape.node(ia).requires_grad) {
      auto ga = tape.grad_of(ia);
      cuda::spmm_edge_backward_alpha(adj, g.data(), g.rows(), x.data(), x.rows(), g.cols(), ga.data(), ga.rows(),
                                     ga.cols(), stream);
    }
    if (tape.node(ix).requires_grad) {
      auto gx = tape.grad_of(ix);
      cuda::spmm_edge_backward_x(adj, alpha.data(), alpha.rows(), alpha.cols(), g.data(), g.rows(), g.cols(),
                                 gx.data(), gx.rows(), stream);
    }
  }
};

/// @brief aggregate_edges on the device; max and min save each element's winning edge in aux_index (rows, width)
/// when a backward pass may follow.
template <ops::aggr::Aggregation A>
struct Impl<AggregateEdges<A, cuda::device>, cuda::device> {
  static constexpr ops::aggr::Reduction reduction = A::reduction;
  static constexpr bool extreme = ops::aggr::is_extreme(reduction);

  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                      const AggregateEdges<A, cuda::device>& attrs) {
    const auto m = tape.node(node.inputs[0]).value;  // (E, width)
    std::int64_t* arg = nullptr;
    if (extreme && node.requires_grad) {
      node.aux_index.resize(node.value.rows(), node.value.cols());
      arg = node.aux_index.data();
    }
    cuda::aggregate_edges_forward<reduction>(attrs.adj->view(), m.data(), m.rows(), m.cols(), node.value.data(), arg,
                                             tape.exec().stream());
  }

  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                       const AggregateEdges<A, cuda::device>& attrs) {
    const int im = node.inputs[0];
    if (!tape.node(im).requires_grad) return;
    auto gm = tape.grad_of(im);
    cuda::aggregate_edges_backward<reduction>(attrs.adj->view(), node.grad.data(), node.grad.rows(), node.grad.cols(),
                                              extreme ? node.aux_index.data() : nullptr, gm.data(), gm.rows(),
                                              tape.exec().stream());
  }
};

}  // namespace gas::ops
