#pragma once
/// @brief Device parts of the history ops (history/push_and_pull.hpp) on a device tape.

#include "gas/autograd/tape.hpp"
#include "gas/cuda/kernels/elementwise.cuh"
#include "gas/cuda/tensor.hpp"

namespace gas::cuda::tape_ops {

/// @brief Backward passes of the history ops.
struct HistoryOps {
  /// @brief push_and_pull's backward: h's gradient += the top batch_size rows of the result's gradient (the pulled
  /// rows are constants). Both are contiguous, so the rows are one block of elements.
  template <class T>
  static void push_and_pull_backward(ag::Tape<T, device>& tape, ag::Node<T, device>& node) {
    auto gh = tape.grad_of(node.inputs[0]);  // (batch_size, width)
    add_into(node.grad.data(), gh.data(), gh.rows() * gh.cols(), tape.exec().stream());
  }
};

}  // namespace gas::cuda::tape_ops
