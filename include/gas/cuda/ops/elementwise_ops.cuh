#pragma once
/// @brief Device implementations of the elementwise ops of the tape: activations, arithmetic, scalar division,
/// row norms and reductions (see gas/ops/device_ops.hpp for the contract).

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/elementwise.cuh"
#include "gas/cuda/tensor.hpp"

namespace gas::cuda::tape_ops {

/// @brief Activations, arithmetic, scalar division, norms and reductions on device values.
struct ElementwiseOps {
  template <class T>
  using Tape = ag::Tape<T, device>;
  template <class T>
  using Node = ag::Node<T, device>;

  /// @brief node.value = max(x, 0).
  template <class T>
  static void relu(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    activation_forward(act::Relu{}, x.data(), node.value.data(), x.rows() * x.cols(), tape.exec().stream());
    node.backward = &relu_backward<T>;
  }
  template <class T>
  static void relu_backward(Tape<T>& tape, Node<T>& node) {
    const int in = node.inputs[0];
    const auto x = tape.node(in).value;
    auto gx = tape.grad_of(in);
    activation_backward(act::Relu{}, x.data(), node.value.data(), node.grad.data(), gx.data(), x.rows() * x.cols(),
                        tape.exec().stream());
  }
};

}  // namespace gas::cuda::tape_ops
