#pragma once
/// @brief Device implementation of the ops with a differentiable (1, 1) operand (gas/ops/scalar.hpp): the kernels
/// read the divisor on the device (ops::div_by_scalar has downloaded it once, to check it is not zero).

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/arith.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/scalar.hpp"

namespace gas::ops {

/// @brief x / s for the (1, 1) second input s.
template <>
struct Impl<DivByScalar, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const DivByScalar&) {
    const auto x = tape.node(node.inputs[0]).value, s = tape.node(node.inputs[1]).value;
    cuda::divide_by_scalar(x.data(), s.data(), node.value.data(), false, x.rows() * x.cols(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const DivByScalar&) {
    const auto g = node.grad;
    const auto s = tape.node(node.inputs[1]).value;
    if (tape.node(node.inputs[0]).requires_grad) {
      auto gx = tape.grad_of(node.inputs[0]);
      cuda::divide_by_scalar(g.data(), s.data(), gx.data(), true, g.rows() * g.cols(), tape.exec().stream());
    }
    if (tape.node(node.inputs[1]).requires_grad) {
      auto gs = tape.grad_of(node.inputs[1]);  // ds = -sum(g .* out) / s
      cuda::add_divisor_grad(g.data(), node.value.data(), s.data(), gs.data(), g.rows() * g.cols(),
                             tape.exec().stream());
    }
  }
};

}  // namespace gas::ops
