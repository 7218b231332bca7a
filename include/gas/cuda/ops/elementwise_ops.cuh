#pragma once
/// @brief Device implementations of the elementwise ops of the tape: activations, arithmetic, scalar division,
/// row norms and reductions (see gas/ops/device_ops.hpp for the contract).
///
/// Every op reads contiguous device values and queues its kernels on the tape's stream; none waits for the
/// device, except the two that must validate an input before recording it: ops::log (one scan, one 8-byte
/// download) and ops::div_by_scalar (it downloads its divisor in gas/ops/scalar.hpp). Scalars that live on the
/// device (a loss seed, a divisor) are otherwise read by the kernels, never brought to the host.
/// Sums are formed in double in a fixed order (kernels/reduce.cuh), so they are the same bits on every run.

#include <array>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/arith.cuh"
#include "gas/cuda/kernels/elementwise.cuh"
#include "gas/cuda/kernels/reduce.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/activation.hpp"

namespace gas::cuda::tape_ops {

namespace elementwise_detail {

/// @brief The device policy (cuda::act) standing for the host activation policy Op of ops/activation.hpp, with
/// the attributes the op recorded in node.scalars.
template <class Op>
auto activation_of(const std::array<double, 4>& attributes) {
  if constexpr (std::is_same_v<Op, gas::ops::detail::Elu>) return act::Elu{attributes[0]};
  else if constexpr (std::is_same_v<Op, gas::ops::detail::LeakyRelu>) return act::LeakyRelu{attributes[0]};
  else if constexpr (std::is_same_v<Op, gas::ops::detail::Sigmoid>) return act::Sigmoid{};
  else if constexpr (std::is_same_v<Op, gas::ops::detail::Tanh>) return act::Tanh{};
  else if constexpr (std::is_same_v<Op, gas::ops::detail::Exp>) return act::Exp{};
  else if constexpr (std::is_same_v<Op, gas::ops::detail::Log>) return act::Log{};
  else static_assert(dependent_false<Op>, "gas::cuda: no device policy for this activation");
}

/// @brief The element count of a (contiguous) device value.
template <class T>
std::int64_t count(MatrixView<T> v) {
  return v.rows() * v.cols();
}

}  // namespace elementwise_detail

/// @brief Activations, arithmetic, scalar division, norms and reductions on device values.
struct ElementwiseOps {
  template <class T>
  using Tape = ag::Tape<T, device>;
  template <class T>
  using Node = ag::Node<T, device>;

  // ---- activations -------------------------------------------------------------------------------------------

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

  /// @brief node.value = Op(x) for a host policy Op of ops/activation.hpp (elu, leaky_relu, sigmoid, tanh, exp,
  /// log), its attributes in node.scalars.
  template <class Op, class T>
  static void unary(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::activation_forward(elementwise_detail::activation_of<Op>(node.scalars), x.data(), node.value.data(),
                             elementwise_detail::count(x), tape.exec().stream());
    node.backward = &unary_backward<Op, T>;
  }
  template <class Op, class T>
  static void unary_backward(Tape<T>& tape, Node<T>& node) {
    const int in = node.inputs[0];
    const auto x = tape.node(in).value;
    auto gx = tape.grad_of(in);
    cuda::activation_backward(elementwise_detail::activation_of<Op>(node.scalars), x.data(), node.value.data(),
                              node.grad.data(), gx.data(), elementwise_detail::count(x), tape.exec().stream());
  }

  /// @brief The row-major position of the first element of the device value x that is not positive (NaN
  /// included) and that element, or (-1, 0) when every element is positive: ops::log's check. Waits for the
  /// tape's stream (the op must fail before it records anything); the value is downloaded only on failure.
  template <class T>
  static std::pair<std::int64_t, T> log_first_non_positive(Tape<T>& tape, MatrixView<const T> x) {
    GAS_CHECK(x.contiguous(), value_error, "log: a device value must be contiguous (ld " << x.ld() << ")");
    const std::int64_t first = cuda::first_non_positive(x.data(), elementwise_detail::count(x), tape.exec().stream());
    if (first < 0) return {-1, T{0}};
    T value{};
    tape.exec().download(MatrixView<const T>(x.data() + first, 1, 1), MatrixView<T>(&value, 1, 1));
    return {first, value};
  }

  // ---- arithmetic --------------------------------------------------------------------------------------------

  /// @brief node.value = scalars[0] a + scalars[1] b (add, sub, add_scaled).
  template <class T>
  static void linear_combination(Tape<T>& tape, Node<T>& node) {
    const auto a = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    cuda::linear_combination(static_cast<T>(node.scalars[0]), a.data(), static_cast<T>(node.scalars[1]), b.data(),
                             node.value.data(), elementwise_detail::count(a), tape.exec().stream());
    node.backward = &linear_combination_backward<T>;
  }
  template <class T>
  static void linear_combination_backward(Tape<T>& tape, Node<T>& node) {
    const auto g = node.grad;
    for (std::size_t k = 0; k < 2; ++k) {
      const int in = node.inputs[k];
      if (!tape.node(in).requires_grad) continue;
      auto gi = tape.grad_of(in);
      cuda::axpy(static_cast<T>(node.scalars[k]), g.data(), gi.data(), elementwise_detail::count(g),
                 tape.exec().stream());
    }
  }

  /// @brief node.value = a * b elementwise.
  template <class T>
  static void mul(Tape<T>& tape, Node<T>& node) {
    const auto a = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    cuda::hadamard(a.data(), b.data(), node.value.data(), false, elementwise_detail::count(a), tape.exec().stream());
    node.backward = &mul_backward<T>;
  }
  template <class T>
  static void mul_backward(Tape<T>& tape, Node<T>& node) {
    const auto g = node.grad;
    for (std::size_t k = 0; k < 2; ++k) {
      const int in = node.inputs[k];
      if (!tape.node(in).requires_grad) continue;
      auto gi = tape.grad_of(in);
      const auto other = tape.node(node.inputs[1 - k]).value;
      cuda::hadamard(g.data(), other.data(), gi.data(), true, elementwise_detail::count(g), tape.exec().stream());
    }
  }

  /// @brief node.value = scalars[0] x + scalars[1] (scale, add_scalar).
  template <class T>
  static void affine(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::affine(static_cast<T>(node.scalars[0]), x.data(), static_cast<T>(node.scalars[1]), node.value.data(),
                 elementwise_detail::count(x), tape.exec().stream());
    node.backward = &affine_backward<T>;
  }
  template <class T>
  static void affine_backward(Tape<T>& tape, Node<T>& node) {
    const auto g = node.grad;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::axpy(static_cast<T>(node.scalars[0]), g.data(), gx.data(), elementwise_detail::count(g),
               tape.exec().stream());
  }

  /// @brief node.value = x + bias, the (1, cols) bias added to every row.
  template <class T>
  static void bias_add(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    cuda::bias_add(x.data(), x.rows(), x.cols(), b.data(), b.cols(), node.value.data(), tape.exec().stream());
    node.backward = &bias_add_backward<T>;
  }
  template <class T>
  static void bias_add_backward(Tape<T>& tape, Node<T>& node) {
    const auto g = node.grad;
    if (tape.node(node.inputs[0]).requires_grad) {
      auto gx = tape.grad_of(node.inputs[0]);
      cuda::add_into(g.data(), gx.data(), elementwise_detail::count(g), tape.exec().stream());
    }
    if (tape.node(node.inputs[1]).requires_grad) {
      auto gb = tape.grad_of(node.inputs[1]);  // (1, cols)
      cuda::column_sums(g.data(), g.rows(), g.cols(), gb.data(), true, tape.exec().stream());
    }
  }

  /// @brief node.value = factors[i] x(i, j) for constant host factors, uploaded into node.aux (1, rows: one
  /// contiguous copy) so that the backward pass reads a device copy and the caller's span need not outlive the op.
  template <class T>
  static void scale_rows(Tape<T>& tape, Node<T>& node, std::span<const T> factors) {
    const auto x = tape.node(node.inputs[0]).value;
    node.aux.resize(1, x.rows());
    tape.exec().upload(MatrixView<const T>(factors.data(), 1, x.rows()), node.aux.view());
    cuda::scale_rows(node.aux.data(), x.data(), x.rows(), x.cols(), node.value.data(), false, tape.exec().stream());
    node.backward = &scale_rows_backward<T>;
  }
  template <class T>
  static void scale_rows_backward(Tape<T>& tape, Node<T>& node) {
    const auto g = node.grad;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::scale_rows(node.aux.data(), g.data(), g.rows(), g.cols(), gx.data(), true, tape.exec().stream());
  }

  /// @brief node.value = f(i, 0) x(i, j) with f the differentiable (rows, 1) second input.
  template <class T>
  static void mul_rows(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value, f = tape.node(node.inputs[1]).value;
    cuda::scale_rows(f.data(), x.data(), x.rows(), x.cols(), node.value.data(), false, tape.exec().stream());
    node.backward = &mul_rows_backward<T>;
  }
  template <class T>
  static void mul_rows_backward(Tape<T>& tape, Node<T>& node) {
    const auto g = node.grad;
    const auto x = tape.node(node.inputs[0]).value, f = tape.node(node.inputs[1]).value;
    if (tape.node(node.inputs[0]).requires_grad) {
      auto gx = tape.grad_of(node.inputs[0]);
      cuda::scale_rows(f.data(), g.data(), g.rows(), g.cols(), gx.data(), true, tape.exec().stream());
    }
    if (tape.node(node.inputs[1]).requires_grad) {
      auto gf = tape.grad_of(node.inputs[1]);  // (rows, 1): gf(i) += sum_j g(i, j) x(i, j)
      cuda::add_row_dots(g.data(), x.data(), g.rows(), g.cols(), gf.data(), tape.exec().stream());
    }
  }

  // ---- scalar division ---------------------------------------------------------------------------------------

  /// @brief node.value = x / s for the (1, 1) second input s, which the kernels read on the device (the op has
  /// checked it non-zero).
  template <class T>
  static void div_by_scalar(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value, s = tape.node(node.inputs[1]).value;
    cuda::divide_by_scalar(x.data(), s.data(), node.value.data(), false, elementwise_detail::count(x),
                           tape.exec().stream());
    node.backward = &div_by_scalar_backward<T>;
  }
  template <class T>
  static void div_by_scalar_backward(Tape<T>& tape, Node<T>& node) {
    const auto g = node.grad;
    const auto s = tape.node(node.inputs[1]).value;
    if (tape.node(node.inputs[0]).requires_grad) {
      auto gx = tape.grad_of(node.inputs[0]);
      cuda::divide_by_scalar(g.data(), s.data(), gx.data(), true, elementwise_detail::count(g), tape.exec().stream());
    }
    if (tape.node(node.inputs[1]).requires_grad) {
      auto gs = tape.grad_of(node.inputs[1]);  // ds = -sum(g .* out) / s
      cuda::add_divisor_grad(g.data(), node.value.data(), s.data(), gs.data(), elementwise_detail::count(g),
                             tape.exec().stream());
    }
  }

  // ---- norms -------------------------------------------------------------------------------------------------

  /// @brief node.value (rows, 1) = the Euclidean length of each row of x.
  template <class T>
  static void row_l2_norm(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::row_l2_norm(x.data(), x.rows(), x.cols(), node.value.data(), tape.exec().stream());
    node.backward = &row_l2_norm_backward<T>;
  }
  template <class T>
  static void row_l2_norm_backward(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::row_l2_norm_backward(x.data(), node.value.data(), node.grad.data(), x.rows(), x.cols(), gx.data(),
                               tape.exec().stream());
  }

  // ---- reductions --------------------------------------------------------------------------------------------

  /// @brief out[j] += factor * sum_i g(i, j) for a contiguous device g, on the stream `scratch` is bound to (a
  /// node's aux, bound to its tape's stream): ops::detail::add_column_sums on the device. The column reduction
  /// takes its scratch from the arena, so `scratch` itself is not written.
  template <class T>
  static void add_column_sums(MatrixView<const T> g, T factor, Tensor<T, device>& scratch, T* out) {
    GAS_CHECK(g.contiguous(), value_error, "add_column_sums: a device value must be contiguous (ld " << g.ld() << ")");
    cuda::column_sums(g.data(), g.rows(), g.cols(), out, true, scratch.stream(), factor);
  }

  /// @brief node.value (1, 1) = the sum of every element of x, in double.
  template <class T>
  static void sum_all(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::total_sum(x.data(), elementwise_detail::count(x), node.value.data(), 1.0, tape.exec().stream());
    node.backward = &sum_all_backward<T>;
  }
  template <class T>
  static void sum_all_backward(Tape<T>& tape, Node<T>& node) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::add_broadcast(node.grad.data(), Broadcast::scalar, T{1}, gx.data(), gx.rows(), gx.cols(),
                        tape.exec().stream());
  }

  /// @brief node.value (1, 1) = the mean of every element of x (accumulated in double); scalars[0] is 1 / count.
  template <class T>
  static void mean_all(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::total_sum(x.data(), elementwise_detail::count(x), node.value.data(),
                    static_cast<double>(elementwise_detail::count(x)), tape.exec().stream());
    node.backward = &mean_all_backward<T>;
  }
  template <class T>
  static void mean_all_backward(Tape<T>& tape, Node<T>& node) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::add_broadcast(node.grad.data(), Broadcast::scalar, static_cast<T>(node.scalars[0]), gx.data(), gx.rows(),
                        gx.cols(), tape.exec().stream());
  }

  /// @brief node.value (1, cols) = scalars[0] * the column sums of x (sum_rows, mean_rows).
  template <class T>
  static void reduce_rows(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::column_sums(x.data(), x.rows(), x.cols(), node.value.data(), false, tape.exec().stream(),
                      static_cast<T>(node.scalars[0]));
    node.backward = &reduce_rows_backward<T>;
  }
  template <class T>
  static void reduce_rows_backward(Tape<T>& tape, Node<T>& node) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::add_broadcast(node.grad.data(), Broadcast::row, static_cast<T>(node.scalars[0]), gx.data(), gx.rows(),
                        gx.cols(), tape.exec().stream());
  }

  /// @brief node.value (rows, 1) = scalars[0] * the row sums of x (sum_cols, mean_cols).
  template <class T>
  static void reduce_cols(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::row_sums(x.data(), x.rows(), x.cols(), node.value.data(), static_cast<T>(node.scalars[0]),
                   tape.exec().stream());
    node.backward = &reduce_cols_backward<T>;
  }
  template <class T>
  static void reduce_cols_backward(Tape<T>& tape, Node<T>& node) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::add_broadcast(node.grad.data(), Broadcast::column, static_cast<T>(node.scalars[0]), gx.data(), gx.rows(),
                        gx.cols(), tape.exec().stream());
  }
};

}  // namespace gas::cuda::tape_ops
