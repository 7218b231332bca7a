#pragma once
/// @brief Host implementations of the reductions (gas/ops/reduce.hpp): `Impl<SumAll, host>`, `Impl<MeanAll, host>`,
/// `Impl<ReduceRows, host>`, `Impl<ReduceCols, host>`.
///
/// Sums over rows run as a deterministic two-pass scheme: fixed blocks of rows are summed in parallel into a
/// scratch tensor, then the block sums are added in block order. The block boundaries do not depend on the
/// thread count, so neither does the result (no atomics on floats).

#include <algorithm>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

/// @brief out[j] += factor * sum_i g(i, j), reproducibly for any thread count; `scratch` is reused between calls.
template <class T>
void add_column_sums(MatrixView<const T> g, T factor, Tensor<T, host>& scratch, T* out) {
  constexpr std::int64_t block = 1024;
  const std::int64_t rows = g.rows(), cols = g.cols();
  if (cols == 0) return;  // nothing to sum, and no element to take an address of
  const std::int64_t blocks = (rows + block - 1) / block;
  scratch.resize(blocks, cols);  // (blocks, cols)
#pragma omp parallel for schedule(static) if (blocks > 4)
  for (std::int64_t b = 0; b < blocks; ++b) {
    T* partial = &scratch(b, 0);
    std::fill_n(partial, cols, T{0});
    const std::int64_t end = std::min(rows, (b + 1) * block);
    for (std::int64_t i = b * block; i < end; ++i)
      for (std::int64_t j = 0; j < cols; ++j) partial[j] += g(i, j);
  }
  for (std::int64_t b = 0; b < blocks; ++b)
    for (std::int64_t j = 0; j < cols; ++j) out[j] += factor * scratch(b, j);
}

/// @brief The sum of every element in double, whatever T is.
template <class T>
double total(MatrixView<const T> in) {
  double sum = 0;
  for (std::int64_t i = 0; i < in.rows(); ++i)
    for (std::int64_t j = 0; j < in.cols(); ++j) sum += static_cast<double>(in(i, j));
  return sum;
}

}  // namespace detail

/// @brief The sum of every element, accumulated in double.
template <>
struct Impl<SumAll, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const SumAll&) {
    node.value(0, 0) = static_cast<T>(detail::total<T>(tape.node(node.inputs[0]).value));
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const SumAll&) {
    auto g = tape.grad_of(n.inputs[0]);
    const T seed = n.grad(0, 0);
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += seed;
  }
};

/// @brief The mean of every element, accumulated in double; the backward pass spreads scale times the seed.
template <>
struct Impl<MeanAll, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const MeanAll&) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    node.value(0, 0) = static_cast<T>(detail::total<T>(in) / static_cast<double>(in.rows() * in.cols()));
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const MeanAll& a) {
    auto g = tape.grad_of(n.inputs[0]);
    const T seed = n.grad(0, 0) * static_cast<T>(a.scale);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += seed;
  }
};

/// @brief factor times the column sums, (1, cols); aux is the block scratch.
template <>
struct Impl<ReduceRows, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const ReduceRows& a) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    std::fill_n(node.value.data(), in.cols(), T{0});
    detail::add_column_sums<T>(in, static_cast<T>(a.factor), node.aux, node.value.data());
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const ReduceRows& a) {
    auto g = tape.grad_of(n.inputs[0]);
    const T factor = static_cast<T>(a.factor);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += factor * n.grad(0, j);
  }
};

/// @brief factor times the row sums, (rows, 1).
template <>
struct Impl<ReduceCols, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const ReduceCols& a) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i) {
      T sum = 0;
      for (std::int64_t j = 0; j < in.cols(); ++j) sum += in(i, j);
      out(i, 0) = static_cast<T>(a.factor) * sum;
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const ReduceCols& a) {
    auto g = tape.grad_of(n.inputs[0]);
    const T factor = static_cast<T>(a.factor);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
    for (std::int64_t i = 0; i < g.rows(); ++i) {
      const T gi = factor * n.grad(i, 0);
      for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += gi;
    }
  }
};

}  // namespace gas::ops
