#pragma once
/// @brief Ops with a differentiable (1, 1) operand: div_by_scalar (a weight over its spectral norm).
///
/// Unlike `scale`, whose factor is a constant, the scalar here is a tape value and receives a gradient, which
/// is what spectral normalisation needs: W / sigma(W) with sigma itself a function of W.

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

namespace detail {

/// @brief Backward of out = x / s: dx = g / s, ds = -sum(g .* out) / s. The sum runs row by row into `aux`
/// and then over the rows in order, so it is the same for any thread count.
template <class T, class Backend>
void div_by_scalar_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
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

}  // namespace detail

/// @brief x / s elementwise for a differentiable (1, 1) value s; both receive gradients. Throws shape_error
/// naming the shapes when s is not (1, 1), and value_error when s is 0 (an all-zero weight under spectral
/// normalisation), where the quotient and its gradient are undefined. On the device that check downloads s (one
/// element, waiting for the stream); the kernels then read s on the device.
template <class T, class Backend>
ag::Var<T, Backend> div_by_scalar(ag::Var<T, Backend> x, ag::Var<T, Backend> s) {
  GAS_CHECK(s.rows() == 1 && s.cols() == 1, shape_error,
            "div_by_scalar needs a (1 x 1) divisor, got (" << s.rows() << " x " << s.cols() << ") for x (" << x.rows()
                                                           << " x " << x.cols() << ")");
  T divisor{};
  if constexpr (!on_host<Backend>) s.tape().exec().download(s.value(), MatrixView<T>(&divisor, 1, 1));
  else divisor = s.value()(0, 0);
  GAS_CHECK(divisor != T{0}, value_error, "div_by_scalar: division by zero (op '" << s.node().op << "')");
  auto [id, node] = x.tape().push("div_by_scalar", x.rows(), x.cols(), {x, s});
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::div_by_scalar(x.tape(), node);
  } else {
    node.backward = &detail::div_by_scalar_backward<T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = in(i, j) / divisor;
  }
  return {&x.tape(), id};
}

}  // namespace gas::ops
