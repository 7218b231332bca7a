#pragma once
/// @brief Host implementations of elementwise arithmetic (gas/ops/arithmetic.hpp): `Impl<LinearCombination, host>`,
/// `Impl<Mul, host>`, `Impl<Affine, host>`, `Impl<BiasAdd, host>`, `Impl<ScaleRows<T>, host>`, `Impl<MulRows, host>`.

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/reduce.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief alpha a + beta b.
template <>
struct Impl<LinearCombination, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const LinearCombination& c) {
    const MatrixView<const T> x = tape.node(node.inputs[0]).value, y = tape.node(node.inputs[1]).value;
    const T alpha = static_cast<T>(c.alpha), beta = static_cast<T>(c.beta);
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (x.rows() > 4096)
    for (std::int64_t i = 0; i < x.rows(); ++i)
      for (std::int64_t j = 0; j < x.cols(); ++j) out(i, j) = alpha * x(i, j) + beta * y(i, j);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const LinearCombination& c) {
    const auto g = n.grad;
    for (int k = 0; k < 2; ++k) {
      const int in = n.inputs[static_cast<std::size_t>(k)];
      if (!tape.node(in).requires_grad) continue;
      auto gi = tape.grad_of(in);
      const T factor = static_cast<T>(k == 0 ? c.alpha : c.beta);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
      for (std::int64_t i = 0; i < g.rows(); ++i)
        for (std::int64_t j = 0; j < g.cols(); ++j) gi(i, j) += factor * g(i, j);
    }
  }
};

/// @brief a * b elementwise.
template <>
struct Impl<Mul, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Mul&) {
    const MatrixView<const T> x = tape.node(node.inputs[0]).value, y = tape.node(node.inputs[1]).value;
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (x.rows() > 4096)
    for (std::int64_t i = 0; i < x.rows(); ++i)
      for (std::int64_t j = 0; j < x.cols(); ++j) out(i, j) = x(i, j) * y(i, j);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Mul&) {
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
};

/// @brief factor x + offset.
template <>
struct Impl<Affine, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Affine& a) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const T factor = static_cast<T>(a.factor), offset = static_cast<T>(a.offset);
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = factor * in(i, j) + offset;
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Affine& a) {
    const auto g = n.grad;
    auto gx = tape.grad_of(n.inputs[0]);
    const T factor = static_cast<T>(a.factor);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) gx(i, j) += factor * g(i, j);
  }
};

/// @brief x + bias on every row; the bias gradient is a reproducible column sum (aux is its scratch).
template <>
struct Impl<BiasAdd, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const BiasAdd&) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = in(i, j) + b(0, j);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const BiasAdd&) {
    const auto g = n.grad;
    if (tape.node(n.inputs[0]).requires_grad) {
      auto gx = tape.grad_of(n.inputs[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
      for (std::int64_t i = 0; i < g.rows(); ++i)
        for (std::int64_t j = 0; j < g.cols(); ++j) gx(i, j) += g(i, j);
    }
    if (tape.node(n.inputs[1]).requires_grad) {
      auto gb = tape.grad_of(n.inputs[1]);  // (1, cols): one contiguous row
      detail::add_column_sums<T>(g, T{1}, n.aux, gb.data());
    }
  }
};

/// @brief Row i times the constant factors[i]; the backward pass reads the caller's factors again.
template <class T>
struct Impl<ScaleRows<T>, host> {
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const ScaleRows<T>& a) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = a.factors[static_cast<std::size_t>(i)] * in(i, j);
  }
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const ScaleRows<T>& a) {
    const auto g = n.grad;
    auto gx = tape.grad_of(n.inputs[0]);
    const T* factors = a.factors.data();
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) gx(i, j) += factors[i] * g(i, j);
  }
};

/// @brief Row i of x times the differentiable factors(i, 0).
template <>
struct Impl<MulRows, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const MulRows&) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value, f = tape.node(node.inputs[1]).value;
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = f(i, 0) * in(i, j);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const MulRows&) {
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
};

}  // namespace gas::ops
