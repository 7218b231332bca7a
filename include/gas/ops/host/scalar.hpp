#pragma once
/// @brief Host implementation of the ops with a differentiable (1, 1) operand (gas/ops/scalar.hpp):
/// `Impl<DivByScalar, host>`.

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief x / s for the (1, 1) second input s (checked non-zero by the op).
template <>
struct Impl<DivByScalar, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const DivByScalar&) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const T divisor = tape.node(node.inputs[1]).value(0, 0);
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = in(i, j) / divisor;
  }
  /// dx = g / s, ds = -sum(g .* out) / s. The sum runs row by row into `aux` and then over the rows in order, so it
  /// is the same for any thread count.
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const DivByScalar&) {
    const auto g = n.grad;
    const T s = tape.node(n.inputs[1]).value(0, 0);
    if (tape.node(n.inputs[0]).requires_grad) {
      auto gx = tape.grad_of(n.inputs[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
      for (std::int64_t i = 0; i < g.rows(); ++i)
        for (std::int64_t j = 0; j < g.cols(); ++j) gx(i, j) += g(i, j) / s;
    }
    if (tape.node(n.inputs[1]).requires_grad) {
      n.aux.resize(g.rows(), 1);  // (rows, 1) per-row partial sums, capacity reused across steps
      auto partial = n.aux.view();
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
      for (std::int64_t i = 0; i < g.rows(); ++i) {
        double dot = 0;
        for (std::int64_t j = 0; j < g.cols(); ++j) dot += static_cast<double>(g(i, j)) * n.value(i, j);
        partial(i, 0) = static_cast<T>(dot);
      }
      double total = 0;
      for (std::int64_t i = 0; i < g.rows(); ++i) total += static_cast<double>(partial(i, 0));
      tape.grad_of(n.inputs[1])(0, 0) += static_cast<T>(-total / static_cast<double>(s));
    }
  }
};

}  // namespace gas::ops
