#pragma once
/// @brief Elementwise arithmetic: add, sub, mul, scale, add_scaled, add_scalar, and the broadcasts bias_add
/// (a row over every row), scale_rows (constant per-row factors) and mul_rows (differentiable per-row factors).
///
/// Constant arguments (scalars, factor spans) are `std::type_identity_t<T>`: they take no part in deducing T, so
/// `scale(x, 0.5)` works on a float tape and a std::vector converts to the span.

#include <cstdint>
#include <span>
#include <type_traits>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/ops/device_ops.hpp"
#include "gas/ops/reduce.hpp"

namespace gas::ops {

namespace detail {

/// @brief Backward of out = scalars[0] a + scalars[1] b (add, sub, add_scaled).
template <class T, class Backend>
void linear_combination_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto g = n.grad;
  for (int k = 0; k < 2; ++k) {
    const int in = n.inputs[static_cast<std::size_t>(k)];
    if (!tape.node(in).requires_grad) continue;
    auto gi = tape.grad_of(in);
    const T factor = static_cast<T>(n.scalars[static_cast<std::size_t>(k)]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) gi(i, j) += factor * g(i, j);
  }
}

/// @brief Records out = alpha a + beta b; the caller has checked the shapes.
template <class T, class Backend>
ag::Var<T, Backend> linear_combination(const char* name, ag::Var<T, Backend> a, T alpha, ag::Var<T, Backend> b,
                                       T beta) {
  auto [id, node] = a.tape().push(name, a.rows(), a.cols(), {a, b});
  node.scalars[0] = static_cast<double>(alpha);
  node.scalars[1] = static_cast<double>(beta);
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::linear_combination(a.tape(), node);
  } else {
    node.backward = &linear_combination_backward<T, Backend>;
    const auto x = a.value(), y = b.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (x.rows() > 4096)
    for (std::int64_t i = 0; i < x.rows(); ++i)
      for (std::int64_t j = 0; j < x.cols(); ++j) out(i, j) = alpha * x(i, j) + beta * y(i, j);
  }
  return {&a.tape(), id};
}

template <class T, class Backend>
void mul_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto g = n.grad;
  for (int k = 0; k < 2; ++k) {
    const int in = n.inputs[static_cast<std::size_t>(k)];
    if (!tape.node(in).requires_grad) continue;
    auto gi = tape.grad_of(in);
    const auto other = tape.node(n.inputs[static_cast<std::size_t>(1 - k)]).value;
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) gi(i, j) += g(i, j) * other(i, j);
  }
}

/// @brief Backward of out = scalars[0] x + scalars[1] (scale, add_scalar).
template <class T, class Backend>
void affine_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto g = n.grad;
  auto gx = tape.grad_of(n.inputs[0]);
  const T factor = static_cast<T>(n.scalars[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) gx(i, j) += factor * g(i, j);
}

template <class T, class Backend>
ag::Var<T, Backend> affine(const char* name, ag::Var<T, Backend> x, T factor, T offset) {
  auto [id, node] = x.tape().push(name, x.rows(), x.cols(), {x});
  node.scalars[0] = static_cast<double>(factor);
  node.scalars[1] = static_cast<double>(offset);
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::affine(x.tape(), node);
  } else {
    node.backward = &affine_backward<T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = factor * in(i, j) + offset;
  }
  return {&x.tape(), id};
}

template <class T, class Backend>
void bias_add_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto g = n.grad;
  if (tape.node(n.inputs[0]).requires_grad) {
    auto gx = tape.grad_of(n.inputs[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) gx(i, j) += g(i, j);
  }
  if (tape.node(n.inputs[1]).requires_grad) {
    auto gb = tape.grad_of(n.inputs[1]);  // (1, cols): one contiguous row
    add_column_sums<T, Backend>(g, T{1}, n.aux, gb.data());
  }
}

template <class T, class Backend>
void scale_rows_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto g = n.grad;
  auto gx = tape.grad_of(n.inputs[0]);
  const T* factors = static_cast<const T*>(n.refs[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) gx(i, j) += factors[i] * g(i, j);
}

template <class T, class Backend>
void mul_rows_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto g = n.grad;
  const auto x = tape.node(n.inputs[0]).value;
  const auto f = tape.node(n.inputs[1]).value;  // (rows, 1)
  if (tape.node(n.inputs[0]).requires_grad) {
    auto gx = tape.grad_of(n.inputs[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) gx(i, j) += f(i, 0) * g(i, j);
  }
  if (tape.node(n.inputs[1]).requires_grad) {
    auto gf = tape.grad_of(n.inputs[1]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i) {
      T dot = 0;
      for (std::int64_t j = 0; j < g.cols(); ++j) dot += g(i, j) * x(i, j);
      gf(i, 0) += dot;
    }
  }
}

}  // namespace detail

/// @brief a + b elementwise; throws shape_error naming both shapes when they differ.
template <class T, class Backend>
ag::Var<T, Backend> add(ag::Var<T, Backend> a, ag::Var<T, Backend> b) {
  GAS_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), shape_error,
            "shapes differ: (" << a.rows() << " x " << a.cols() << ") + (" << b.rows() << " x " << b.cols() << ")");
  return detail::linear_combination("add", a, T{1}, b, T{1});
}

/// @brief a - b elementwise; throws shape_error naming both shapes when they differ.
template <class T, class Backend>
ag::Var<T, Backend> sub(ag::Var<T, Backend> a, ag::Var<T, Backend> b) {
  GAS_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), shape_error,
            "shapes differ: (" << a.rows() << " x " << a.cols() << ") - (" << b.rows() << " x " << b.cols() << ")");
  return detail::linear_combination("sub", a, T{1}, b, T{-1});
}

/// @brief alpha a + beta b elementwise (residual and initial-residual connections); throws shape_error naming
/// both shapes when they differ.
template <class T, class Backend>
ag::Var<T, Backend> add_scaled(ag::Var<T, Backend> a, std::type_identity_t<T> alpha, ag::Var<T, Backend> b,
                               std::type_identity_t<T> beta) {
  GAS_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), shape_error,
            "shapes differ: (" << a.rows() << " x " << a.cols() << ") and (" << b.rows() << " x " << b.cols() << ")");
  return detail::linear_combination("add_scaled", a, alpha, b, beta);
}

/// @brief a * b elementwise (Hadamard product); throws shape_error naming both shapes when they differ.
template <class T, class Backend>
ag::Var<T, Backend> mul(ag::Var<T, Backend> a, ag::Var<T, Backend> b) {
  GAS_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), shape_error,
            "shapes differ: (" << a.rows() << " x " << a.cols() << ") * (" << b.rows() << " x " << b.cols() << ")");
  auto [id, node] = a.tape().push("mul", a.rows(), a.cols(), {a, b});
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::mul(a.tape(), node);
  } else {
    node.backward = &detail::mul_backward<T, Backend>;
    const auto x = a.value(), y = b.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (x.rows() > 4096)
    for (std::int64_t i = 0; i < x.rows(); ++i)
      for (std::int64_t j = 0; j < x.cols(); ++j) out(i, j) = x(i, j) * y(i, j);
  }
  return {&a.tape(), id};
}

/// @brief s a for a constant s.
template <class T, class Backend>
ag::Var<T, Backend> scale(ag::Var<T, Backend> a, std::type_identity_t<T> s) {
  return detail::affine("scale", a, s, T{0});
}

/// @brief x + s for a constant s.
template <class T, class Backend>
ag::Var<T, Backend> add_scalar(ag::Var<T, Backend> x, std::type_identity_t<T> s) {
  return detail::affine("add_scalar", x, T{1}, s);
}

/// @brief x + bias with a (1, cols) bias added to every row of the (rows, cols) x; the bias gradient is a column
/// sum, reproducible for any thread count. Throws shape_error naming both shapes when bias is not (1, cols).
template <class T, class Backend>
ag::Var<T, Backend> bias_add(ag::Var<T, Backend> x, ag::Var<T, Backend> bias) {
  GAS_CHECK(bias.rows() == 1 && bias.cols() == x.cols(), shape_error,
            "bias (" << bias.rows() << " x " << bias.cols() << ") does not broadcast over x (" << x.rows() << " x "
                     << x.cols() << "): expected (1 x " << x.cols() << ")");
  auto [id, node] = x.tape().push("bias_add", x.rows(), x.cols(), {x, bias});
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::bias_add(x.tape(), node);
  } else {
    node.backward = &detail::bias_add_backward<T, Backend>;
    const auto in = x.value(), b = bias.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = in(i, j) + b(0, j);
  }
  return {&x.tape(), id};
}

/// @brief Row i of x times the constant factors[i] (degree normalisation, masks); no gradient flows to the
/// factors. On the host `factors` is read again by the backward pass, so it must outlive it (a device tape
/// keeps a device copy). Throws shape_error when factors.size() != x.rows().
template <class T, class Backend>
ag::Var<T, Backend> scale_rows(ag::Var<T, Backend> x, std::type_identity_t<std::span<const T>> factors) {
  GAS_CHECK(static_cast<std::int64_t>(factors.size()) == x.rows(), shape_error,
            factors.size() << " row factors for x (" << x.rows() << " x " << x.cols() << ")");
  auto [id, node] = x.tape().push("scale_rows", x.rows(), x.cols(), {x});
  node.refs[0] = factors.data();
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::scale_rows(x.tape(), node, factors);
  } else {
    node.backward = &detail::scale_rows_backward<T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = factors[static_cast<std::size_t>(i)] * in(i, j);
  }
  return {&x.tape(), id};
}

/// @brief Row i of the (rows, cols) x times factors(i, 0), with factors a differentiable (rows, 1) value
/// broadcast over the columns (gates, attention weights). Throws shape_error naming both shapes otherwise.
template <class T, class Backend>
ag::Var<T, Backend> mul_rows(ag::Var<T, Backend> x, ag::Var<T, Backend> factors) {
  GAS_CHECK(factors.rows() == x.rows() && factors.cols() == 1, shape_error,
            "factors (" << factors.rows() << " x " << factors.cols() << ") do not broadcast over x (" << x.rows()
                        << " x " << x.cols() << "): expected (" << x.rows() << " x 1)");
  auto [id, node] = x.tape().push("mul_rows", x.rows(), x.cols(), {x, factors});
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::mul_rows(x.tape(), node);
  } else {
    node.backward = &detail::mul_rows_backward<T, Backend>;
    const auto in = x.value(), f = factors.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = f(i, 0) * in(i, j);
  }
  return {&x.tape(), id};
}

}  // namespace gas::ops
