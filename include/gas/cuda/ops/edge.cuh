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
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/edge.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief aggregate_edges on the device; max and min save each element's winning edge in aux_index (rows, width)
/// when a backward pass may follow.
template <aggr::Aggregation A>
struct Impl<AggregateEdges<A, cuda::device>, cuda::device> {
  static constexpr aggr::Reduction reduction = A::reduction;
  static constexpr bool extreme = reduction == aggr::Reduction::max || reduction == aggr::Reduction::min;

  template <class T>
  static void forward(ag::Tape<T, cuda::device>& tape, ag::Node<T, cuda::device>& node,
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
  static void backward(ag::Tape<T, cuda::device>& tape, ag::Node<T, cuda::device>& node,
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
