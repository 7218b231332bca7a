#pragma once
// A custom op written from a user's code, as docs/autograd.md ("A custom op") shows it: softplus with a sharpness
// beta. Its host half is here; its device half is in tests/cuda/custom_op_test.cu (nvcc only). The host gradient
// check is tests/autograd/custom_op_test.cpp, the device one tests/cuda/custom_op_test.cu.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include <gas/autograd/tape.hpp>
#include <gas/core/error.hpp>
#include <gas/ops/impl.hpp>

// example-begin custom-op
namespace my_ops {

/// The op's attributes: stored in the tape node, read back by the backward pass. Trivially copyable, named.
struct Softplus {
  static constexpr const char* name = "softplus";
  double beta = 1.0;
};

/// log(1 + e^z), written so that it overflows for no z.
inline double softplus_of(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))); }

}  // namespace my_ops

/// The host implementation: forward computes node.value from the input's value, backward adds into the input's
/// gradient. (The device one specializes Impl<my_ops::Softplus, gas::cuda::device> the same way, under nvcc.)
namespace gas::ops {
template <>
struct Impl<my_ops::Softplus, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const my_ops::Softplus& a) {
    const auto x = tape.node(node.inputs[0]).value;
    for (std::int64_t i = 0; i < x.rows(); ++i)
      for (std::int64_t j = 0; j < x.cols(); ++j)
        node.value(i, j) = static_cast<T>(my_ops::softplus_of(a.beta * x(i, j)) / a.beta);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const my_ops::Softplus& a) {
    const auto x = tape.node(node.inputs[0]).value;
    auto gx = tape.grad_of(node.inputs[0]);  // zeroed on first use, then accumulated into
    for (std::int64_t i = 0; i < x.rows(); ++i)
      for (std::int64_t j = 0; j < x.cols(); ++j)  // d/dx = sigmoid(beta x)
        gx(i, j) += node.grad(i, j) * static_cast<T>(1 / (1 + std::exp(-a.beta * x(i, j))));
  }
};
}  // namespace gas::ops

namespace my_ops {

/// The public op: check the arguments, then record (the node, its attributes, forward now, backward later).
template <class T, class Backend>
gas::autograd::Var<T, Backend> softplus(gas::autograd::Var<T, Backend> x, double beta = 1.0) {
  if (!(beta > 0)) throw gas::value_error("softplus: beta must be positive, got " + std::to_string(beta));
  return gas::ops::record(Softplus{.beta = beta}, x.rows(), x.cols(), {x});
}

}  // namespace my_ops
// example-end custom-op
