#pragma once
/// @brief Device implementation of spmm (gas/ops/spmm.hpp): kernels/spmm.cuh over the node's `DeviceCsr`, which
/// must outlive the backward pass and carry its transpose for it.

#include "gas/autograd/tape.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/spmm.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::ops {

/// @brief spmm on the device; max and min save each element's winning neighbor in aux_ids (rows, width) when a
/// backward pass may follow.
template <ops::aggr::Aggregation A>
struct Impl<Spmm<A, cuda::device>, cuda::device> {
  static constexpr ops::aggr::Reduction reduction = A::reduction;
  static constexpr bool extreme = ops::aggr::is_extreme(reduction);

  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                      const Spmm<A, cuda::device>& attrs) {
    const cuda::DeviceCsr& adj = *attrs.adj;
    const auto x = tape.node(node.inputs[0]).value;
    node_id* arg = nullptr;
    if (extreme && node.requires_grad) {
      node.aux_ids.resize(adj.rows(), x.cols());
      arg = node.aux_ids.data();
    }
    cuda::spmm_forward<reduction>(adj.view(), x.data(), x.rows(), x.cols(), node.value.data(), arg,
                                  tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                       const Spmm<A, cuda::device>& attrs) {
    const int ix = node.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    auto gx = tape.grad_of(ix);
    cuda::spmm_backward<reduction>(attrs.adj->view(), node.grad.data(), node.grad.rows(), node.grad.cols(),
                                   extreme ? node.aux_ids.data() : nullptr, gx.data(), gx.rows(),
                                   tape.exec().stream());
  }
};

}  // namespace gas::ops
