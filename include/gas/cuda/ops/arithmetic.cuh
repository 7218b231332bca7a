#pragma once
/// @brief Device implementations of elementwise arithmetic (gas/ops/arithmetic.hpp): one kernel per pass over the
/// contiguous values, on the tape's stream; nothing waits for the device.

#include <cstddef>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/arith.cuh"
#include "gas/cuda/kernels/elementwise.cuh"
#include "gas/cuda/kernels/reduce.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief alpha a + beta b.
template <>
struct Impl<LinearCombination, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const LinearCombination& c) {
    const auto a = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    cuda::linear_combination(static_cast<T>(c.alpha), a.data(), static_cast<T>(c.beta), b.data(), node.value.data(),
                             a.rows() * a.cols(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const LinearCombination& c) {
    const auto g = node.grad;
    for (std::size_t k = 0; k < 2; ++k) {
      const int in = node.inputs[k];
      if (!tape.node(in).requires_grad) continue;
      auto gi = tape.grad_of(in);
      cuda::axpy(static_cast<T>(k == 0 ? c.alpha : c.beta), g.data(), gi.data(), g.rows() * g.cols(),
                 tape.exec().stream());
    }
  }
};

/// @brief a * b elementwise.
template <>
struct Impl<Mul, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Mul&) {
    const auto a = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    cuda::hadamard(a.data(), b.data(), node.value.data(), false, a.rows() * a.cols(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Mul&) {
    const auto g = node.grad;
    for (std::size_t k = 0; k < 2; ++k) {
      const int in = node.inputs[k];
      if (!tape.node(in).requires_grad) continue;
      auto gi = tape.grad_of(in);
      const auto other = tape.node(node.inputs[1 - k]).value;
      cuda::hadamard(g.data(), other.data(), gi.data(), true, g.rows() * g.cols(), tape.exec().stream());
    }
  }
};

/// @brief factor x + offset.
template <>
struct Impl<Affine, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Affine& a) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::affine(static_cast<T>(a.factor), x.data(), static_cast<T>(a.offset), node.value.data(), x.rows() * x.cols(),
                 tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Affine& a) {
    const auto g = node.grad;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::axpy(static_cast<T>(a.factor), g.data(), gx.data(), g.rows() * g.cols(), tape.exec().stream());
  }
};

/// @brief x + bias, the (1, cols) bias added to every row; its gradient is a column sum.
template <>
struct Impl<BiasAdd, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const BiasAdd&) {
    const auto x = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    cuda::bias_add(x.data(), x.rows(), x.cols(), b.data(), b.cols(), node.value.data(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const BiasAdd&) {
    const auto g = node.grad;
    if (tape.node(node.inputs[0]).requires_grad) {
      auto gx = tape.grad_of(node.inputs[0]);
      cuda::add_into(g.data(), gx.data(), g.rows() * g.cols(), tape.exec().stream());
    }
    if (tape.node(node.inputs[1]).requires_grad) {
      auto gb = tape.grad_of(node.inputs[1]);  // (1, cols)
      cuda::column_sums(g.data(), g.rows(), g.cols(), gb.data(), true, tape.exec().stream());
    }
  }
};

/// @brief Row i times the constant host factors[i], uploaded into node.aux (1, rows: one contiguous copy) so that
/// the backward pass reads a device copy and the caller's span need not outlive the op.
template <class T>
struct Impl<ScaleRows<T>, cuda::device> {
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const ScaleRows<T>& a) {
    const auto x = tape.node(node.inputs[0]).value;
    node.aux.resize(1, x.rows());
    tape.exec().upload(MatrixView<const T>(a.factors.data(), 1, x.rows()), node.aux.view());
    cuda::scale_rows(node.aux.data(), x.data(), x.rows(), x.cols(), node.value.data(), false, tape.exec().stream());
  }
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const ScaleRows<T>&) {
    const auto g = node.grad;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::scale_rows(node.aux.data(), g.data(), g.rows(), g.cols(), gx.data(), true, tape.exec().stream());
  }
};

/// @brief f(i, 0) x(i, j) with f the differentiable (rows, 1) second input.
template <>
struct Impl<MulRows, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const MulRows&) {
    const auto x = tape.node(node.inputs[0]).value, f = tape.node(node.inputs[1]).value;
    cuda::scale_rows(f.data(), x.data(), x.rows(), x.cols(), node.value.data(), false, tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const MulRows&) {
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
};

}  // namespace gas::ops
