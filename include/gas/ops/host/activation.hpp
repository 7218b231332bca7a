#pragma once
/// @brief Host implementations of the activations (gas/ops/activation.hpp): `Impl<Relu, host>`, `Impl<Elu, host>`...
///
/// Every activation maps each element on its own, so the forward and backward loops share one shape: overloads of
/// `activation_value` and `activation_derivative` give, per attribute type, the value and the derivative (from the
/// input x, the output y and the attributes), and `detail::HostActivation<Op>` runs them over the matrix, in parallel
/// over rows. relu has loops of its own: its backward adds nothing where x <= 0 rather than adding a zero product.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

template <class T>
T activation_value(const Elu& a, T x) {
  return x > T{0} ? x : static_cast<T>(a.alpha) * std::expm1(x);
}
template <class T>
T activation_derivative(const Elu& a, T x, T) {
  return x > T{0} ? T{1} : static_cast<T>(a.alpha) * std::exp(x);
}

template <class T>
T activation_value(const LeakyRelu& a, T x) {
  return x > T{0} ? x : static_cast<T>(a.negative_slope) * x;
}
template <class T>
T activation_derivative(const LeakyRelu& a, T x, T) {
  return x > T{0} ? T{1} : static_cast<T>(a.negative_slope);
}

/// Written so that neither branch overflows.
template <class T>
T activation_value(const Sigmoid&, T x) {
  if (x >= T{0}) return T{1} / (T{1} + std::exp(-x));
  const T e = std::exp(x);
  return e / (T{1} + e);
}
template <class T>
T activation_derivative(const Sigmoid&, T, T y) {
  return y * (T{1} - y);
}

template <class T>
T activation_value(const Tanh&, T x) {
  return std::tanh(x);
}
template <class T>
T activation_derivative(const Tanh&, T, T y) {
  return T{1} - y * y;
}

template <class T>
T activation_value(const Exp&, T x) {
  return std::exp(x);
}
template <class T>
T activation_derivative(const Exp&, T, T y) {
  return y;
}

/// Inputs are checked positive before the forward pass.
template <class T>
T activation_value(const Log&, T x) {
  return std::log(x);
}
template <class T>
T activation_derivative(const Log&, T x, T) {
  return T{1} / x;
}

/// @brief The host forward and backward of an activation whose value and derivative are the overloads above.
template <class Op>
struct HostActivation {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Op& a) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = activation_value(a, in(i, j));
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Op& a) {
    const int in = n.inputs[0];
    auto g = tape.grad_of(in);
    const auto x = tape.node(in).value;
    const auto y = n.value;
#pragma omp parallel for schedule(static) if (y.rows() > 4096)
    for (std::int64_t i = 0; i < y.rows(); ++i)
      for (std::int64_t j = 0; j < y.cols(); ++j) g(i, j) += n.grad(i, j) * activation_derivative(a, x(i, j), y(i, j));
  }
};

}  // namespace detail

/// @brief max(x, 0); the gradient at 0 is 0.
template <>
struct Impl<Relu, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Relu&) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const std::int64_t cols = in.cols();
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i) {
      const T* __restrict x = &in(i, 0);
      T* __restrict y = &node.value(i, 0);
      for (std::int64_t j = 0; j < cols; ++j) y[j] = x[j] > T{0} ? x[j] : T{0};
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Relu&) {
    const int in = n.inputs[0];
    auto g = tape.grad_of(in);
    const auto x = tape.node(in).value;
    const std::int64_t cols = n.value.cols();
    // Row pointers and a select, not a branch: the sign test is a coin flip a branch mispredicts, and the select
    // vectorizes.
#pragma omp parallel for schedule(static) if (n.value.rows() > 4096)
    for (std::int64_t i = 0; i < n.value.rows(); ++i) {
      const T* __restrict xi = &x(i, 0);
      const T* __restrict gi = &n.grad(i, 0);
      T* __restrict out = &g(i, 0);
      for (std::int64_t j = 0; j < cols; ++j) out[j] += xi[j] > T{0} ? gi[j] : T{0};
    }
  }
};

template <>
struct Impl<Elu, host> : detail::HostActivation<Elu> {};
template <>
struct Impl<LeakyRelu, host> : detail::HostActivation<LeakyRelu> {};
template <>
struct Impl<Sigmoid, host> : detail::HostActivation<Sigmoid> {};
template <>
struct Impl<Tanh, host> : detail::HostActivation<Tanh> {};
template <>
struct Impl<Exp, host> : detail::HostActivation<Exp> {};

/// @brief log, and the check ops::log makes before recording.
template <>
struct Impl<Log, host> : detail::HostActivation<Log> {
  /// @brief The row-major position of the first element of x that is not positive (NaN included) and that element,
  /// or (-1, 0) when every element is positive. A parallel scan that keeps the smallest bad position reports the
  /// same element for any thread count.
  template <class T>
  static std::pair<std::int64_t, T> first_non_positive(autograd::Tape<T, host>&, MatrixView<const T> in) {
    std::int64_t first_bad = std::numeric_limits<std::int64_t>::max();
#pragma omp parallel for schedule(static) reduction(min : first_bad) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j)
        if (!(in(i, j) > T{0})) {  // NaN fails too
          first_bad = std::min(first_bad, i * in.cols() + j);
          break;
        }
    if (first_bad == std::numeric_limits<std::int64_t>::max()) return {-1, T{0}};
    return {first_bad, in(first_bad / in.cols(), first_bad % in.cols())};
  }
};

}  // namespace gas::ops
