#pragma once
/// @brief Elementwise activations: relu, elu, leaky_relu, sigmoid, tanh, exp, log.
///
/// Every op here maps each element on its own, so the forward and backward loops share one shape: a policy
/// struct gives the value and the derivative (from the input x, the output y and the op's attributes), and
/// `detail::unary` / `detail::unary_backward` run it over the matrix, in parallel over rows.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

namespace detail {

template <class T, class Backend>
void relu_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const int in = n.inputs[0];
  auto g = tape.grad_of(in);
  const auto x = tape.node(in).value;
#pragma omp parallel for schedule(static) if (n.value.rows() > 4096)
  for (std::int64_t i = 0; i < n.value.rows(); ++i)
    for (std::int64_t j = 0; j < n.value.cols(); ++j)
      if (x(i, j) > T{0}) g(i, j) += n.grad(i, j);
}

using Attributes = std::array<double, 4>;

/// @brief x > 0 ? x : alpha (e^x - 1); attribute 0 is alpha.
struct Elu {
  template <class T>
  static T value(T x, const Attributes& a) {
    return x > T{0} ? x : static_cast<T>(a[0]) * std::expm1(x);
  }
  template <class T>
  static T derivative(T x, T, const Attributes& a) {
    return x > T{0} ? T{1} : static_cast<T>(a[0]) * std::exp(x);
  }
};

/// @brief x > 0 ? x : slope x; attribute 0 is the slope.
struct LeakyRelu {
  template <class T>
  static T value(T x, const Attributes& a) {
    return x > T{0} ? x : static_cast<T>(a[0]) * x;
  }
  template <class T>
  static T derivative(T x, T, const Attributes& a) {
    return x > T{0} ? T{1} : static_cast<T>(a[0]);
  }
};

/// @brief 1 / (1 + e^-x), written so that neither branch overflows.
struct Sigmoid {
  template <class T>
  static T value(T x, const Attributes&) {
    if (x >= T{0}) return T{1} / (T{1} + std::exp(-x));
    const T e = std::exp(x);
    return e / (T{1} + e);
  }
  template <class T>
  static T derivative(T, T y, const Attributes&) {
    return y * (T{1} - y);
  }
};

/// @brief Hyperbolic tangent; the derivative comes from the output, 1 - y^2.
struct Tanh {
  template <class T>
  static T value(T x, const Attributes&) {
    return std::tanh(x);
  }
  template <class T>
  static T derivative(T, T y, const Attributes&) {
    return T{1} - y * y;
  }
};

/// @brief e^x; its derivative is its value.
struct Exp {
  template <class T>
  static T value(T x, const Attributes&) {
    return std::exp(x);
  }
  template <class T>
  static T derivative(T, T y, const Attributes&) {
    return y;
  }
};

/// @brief Natural logarithm (inputs checked positive before the forward pass).
struct Log {
  template <class T>
  static T value(T x, const Attributes&) {
    return std::log(x);
  }
  template <class T>
  static T derivative(T x, T, const Attributes&) {
    return T{1} / x;
  }
};

template <class Op, class T, class Backend>
void unary_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const int in = n.inputs[0];
  auto g = tape.grad_of(in);
  const auto x = tape.node(in).value;
  const auto y = n.value;
#pragma omp parallel for schedule(static) if (y.rows() > 4096)
  for (std::int64_t i = 0; i < y.rows(); ++i)
    for (std::int64_t j = 0; j < y.cols(); ++j) g(i, j) += n.grad(i, j) * Op::derivative(x(i, j), y(i, j), n.scalars);
}

/// @brief Records an elementwise op `Op` on x with attributes `attributes` (a device backend maps Op and the
/// attributes in node.scalars to its own policy).
template <class Op, class T, class Backend>
ag::Var<T, Backend> unary(const char* name, ag::Var<T, Backend> x, Attributes attributes = {}) {
  auto [id, node] = x.tape().push(name, x.rows(), x.cols(), {x});
  node.scalars = attributes;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::template unary<Op>(x.tape(), node);
  } else {
    node.backward = &unary_backward<Op, T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = Op::value(in(i, j), attributes);
  }
  return {&x.tape(), id};
}

}  // namespace detail

/// @brief max(x, 0) elementwise; the gradient at 0 is 0, as in PyTorch.
template <class T, class Backend>
ag::Var<T, Backend> relu(ag::Var<T, Backend> x) {
  auto [id, node] = x.tape().push("relu", x.rows(), x.cols(), {x});
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::relu(x.tape(), node);
  } else {
    node.backward = &detail::relu_backward<T, Backend>;
    const auto in = x.value();
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) node.value(i, j) = in(i, j) > T{0} ? in(i, j) : T{0};
  }
  return {&x.tape(), id};
}

/// @brief x > 0 ? x : alpha (e^x - 1) elementwise (GAT's default is alpha = 1); the gradient at 0 is alpha.
template <class T, class Backend>
ag::Var<T, Backend> elu(ag::Var<T, Backend> x, double alpha = 1.0) {
  return detail::unary<detail::Elu>("elu", x, {alpha, 0, 0, 0});
}

/// @brief x > 0 ? x : negative_slope x elementwise (GAT's attention uses 0.2); the gradient at 0 is the slope.
template <class T, class Backend>
ag::Var<T, Backend> leaky_relu(ag::Var<T, Backend> x, double negative_slope = 0.01) {
  return detail::unary<detail::LeakyRelu>("leaky_relu", x, {negative_slope, 0, 0, 0});
}

/// @brief 1 / (1 + e^-x) elementwise, without overflow for large |x|.
template <class T, class Backend>
ag::Var<T, Backend> sigmoid(ag::Var<T, Backend> x) {
  return detail::unary<detail::Sigmoid>("sigmoid", x);
}

/// @brief Hyperbolic tangent elementwise.
template <class T, class Backend>
ag::Var<T, Backend> tanh(ag::Var<T, Backend> x) {
  return detail::unary<detail::Tanh>("tanh", x);
}

/// @brief e^x elementwise.
template <class T, class Backend>
ag::Var<T, Backend> exp(ag::Var<T, Backend> x) {
  return detail::unary<detail::Exp>("exp", x);
}

/// @brief Natural logarithm elementwise. Throws value_error naming the first (row-major) element that is not
/// positive, before anything is recorded (on the device this check waits for the input: one scan and a download
/// of the position).
template <class T, class Backend>
ag::Var<T, Backend> log(ag::Var<T, Backend> x) {
  const auto in = x.value();
  std::int64_t first_bad = std::numeric_limits<std::int64_t>::max();
  T bad_value{};
  if constexpr (!on_host<Backend>) {
    const auto [position, value] = DeviceOps<Backend>::log_first_non_positive(x.tape(), in);
    if (position >= 0) {
      first_bad = position;
      bad_value = value;
    }
  } else {
    // A parallel scan that keeps the smallest bad position reports the same element for any thread count.
#pragma omp parallel for schedule(static) reduction(min : first_bad) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j)
        if (!(in(i, j) > T{0})) {  // NaN fails too
          first_bad = std::min(first_bad, i * in.cols() + j);
          break;
        }
    if (first_bad != std::numeric_limits<std::int64_t>::max())
      bad_value = in(first_bad / in.cols(), first_bad % in.cols());
  }
  if (first_bad != std::numeric_limits<std::int64_t>::max()) {
    const std::int64_t r = first_bad / in.cols(), c = first_bad % in.cols();
    GAS_FAIL(value_error, "log of a non-positive value: x(" << r << ", " << c << ") = " << bad_value << " in a ("
                                                            << in.rows() << " x " << in.cols() << ") input");
  }
  return detail::unary<detail::Log>("log", x);
}

}  // namespace gas::ops
