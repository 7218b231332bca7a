#pragma once
/// @brief Device implementation of the row norms (gas/ops/norm.hpp).

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/reduce.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/norm.hpp"

namespace gas::ops {

/// @brief (rows, 1): the Euclidean length of each row of x.
template <>
struct Impl<RowL2Norm, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const RowL2Norm&) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::row_l2_norm(x.data(), x.rows(), x.cols(), node.value.data(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const RowL2Norm&) {
    const auto x = tape.node(node.inputs[0]).value;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::row_l2_norm_backward(x.data(), node.value.data(), node.grad.data(), x.rows(), x.cols(), gx.data(),
                               tape.exec().stream());
  }
};

}  // namespace gas::ops
