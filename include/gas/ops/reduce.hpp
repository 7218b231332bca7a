#pragma once
/// @brief Reductions: sums and means over everything, over rows (one value per column) or over columns (one
/// value per row).
///
/// Sums over rows run as a deterministic two-pass scheme: fixed blocks of rows are summed in parallel into a
/// scratch tensor, then the block sums are added in block order. The block boundaries do not depend on the
/// thread count, so neither does the result (no atomics on floats).

#include <algorithm>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

namespace detail {

/// @brief out[j] += factor * sum_i g(i, j), reproducibly for any thread count; `scratch` is reused between calls.
/// On a device backend g and out are device memory and the sums run on the stream `scratch` is bound to.
template <class T, class Backend>
void add_column_sums(MatrixView<const T> g, T factor, Tensor<T, Backend>& scratch, T* out) {
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::add_column_sums(g, factor, scratch, out);
  } else {
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
}

template <class T, class Backend>
void sum_all_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto g = tape.grad_of(n.inputs[0]);
  const T seed = n.grad(0, 0);
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += seed;
}

/// @brief Backward of a 1 x 1 value that is scalars[0] times the sum of its input.
template <class T, class Backend>
void scaled_sum_all_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto g = tape.grad_of(n.inputs[0]);
  const T seed = n.grad(0, 0) * static_cast<T>(n.scalars[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += seed;
}

/// @brief Backward of a (1, cols) value that is scalars[0] times the column sums of its input.
template <class T, class Backend>
void sum_rows_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto g = tape.grad_of(n.inputs[0]);
  const T factor = static_cast<T>(n.scalars[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += factor * n.grad(0, j);
}

/// @brief Backward of a (rows, 1) value that is scalars[0] times the row sums of its input.
template <class T, class Backend>
void sum_cols_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto g = tape.grad_of(n.inputs[0]);
  const T factor = static_cast<T>(n.scalars[0]);
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
  for (std::int64_t i = 0; i < g.rows(); ++i) {
    const T gi = factor * n.grad(i, 0);
    for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += gi;
  }
}

/// @brief The sum of every element in double, whatever T is.
template <class T>
double total(MatrixView<const T> in) {
  double sum = 0;
  for (std::int64_t i = 0; i < in.rows(); ++i)
    for (std::int64_t j = 0; j < in.cols(); ++j) sum += static_cast<double>(in(i, j));
  return sum;
}

template <class T, class Backend>
ag::Var<T, Backend> reduce_rows(const char* name, ag::Var<T, Backend> x, double factor) {
  auto [id, node] = x.tape().push(name, 1, x.cols(), {x});  // (1, cols)
  node.scalars[0] = factor;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::reduce_rows(x.tape(), node);
  } else {
    node.backward = &sum_rows_backward<T, Backend>;
    std::fill_n(node.value.data(), x.cols(), T{0});
    add_column_sums<T, Backend>(x.value(), static_cast<T>(factor), node.aux, node.value.data());
  }
  return {&x.tape(), id};
}

template <class T, class Backend>
ag::Var<T, Backend> reduce_cols(const char* name, ag::Var<T, Backend> x, double factor) {
  auto [id, node] = x.tape().push(name, x.rows(), 1, {x});  // (rows, 1)
  node.scalars[0] = factor;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::reduce_cols(x.tape(), node);
  } else {
    node.backward = &sum_cols_backward<T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i) {
      T sum = 0;
      for (std::int64_t j = 0; j < in.cols(); ++j) sum += in(i, j);
      out(i, 0) = static_cast<T>(factor) * sum;
    }
  }
  return {&x.tape(), id};
}

}  // namespace detail

/// @brief The sum of every element, as a 1 x 1 value (accumulated in double for float inputs).
template <class T, class Backend>
ag::Var<T, Backend> sum_all(ag::Var<T, Backend> x) {
  auto [id, node] = x.tape().push("sum_all", 1, 1, {x});
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::sum_all(x.tape(), node);
  } else {
    node.backward = &detail::sum_all_backward<T, Backend>;
    const auto in = x.value();
    double total = 0;
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) total += static_cast<double>(in(i, j));
    node.value(0, 0) = static_cast<T>(total);
  }
  return {&x.tape(), id};
}

/// @brief The mean of every element, as a 1 x 1 value (accumulated in double). Throws value_error for an empty
/// input, whose mean is undefined.
template <class T, class Backend>
ag::Var<T, Backend> mean_all(ag::Var<T, Backend> x) {
  const auto count = x.rows() * x.cols();
  GAS_CHECK(count > 0, value_error, "mean of an empty (" << x.rows() << " x " << x.cols() << ") value");
  auto [id, node] = x.tape().push("mean_all", 1, 1, {x});
  node.scalars[0] = 1.0 / static_cast<double>(count);
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::mean_all(x.tape(), node);
  } else {
    node.backward = &detail::scaled_sum_all_backward<T, Backend>;
    node.value(0, 0) = static_cast<T>(detail::total<T>(x.value()) / static_cast<double>(count));
  }
  return {&x.tape(), id};
}

/// @brief Column sums: (rows, cols) -> (1, cols), out(0, j) = sum_i x(i, j); reproducible for any thread count.
template <class T, class Backend>
ag::Var<T, Backend> sum_rows(ag::Var<T, Backend> x) {
  return detail::reduce_rows("sum_rows", x, 1.0);
}

/// @brief Column means: (rows, cols) -> (1, cols). Throws value_error when x has no rows.
template <class T, class Backend>
ag::Var<T, Backend> mean_rows(ag::Var<T, Backend> x) {
  GAS_CHECK(x.rows() > 0, value_error, "mean over the rows of a (" << x.rows() << " x " << x.cols() << ") value");
  return detail::reduce_rows("mean_rows", x, 1.0 / static_cast<double>(x.rows()));
}

/// @brief Row sums: (rows, cols) -> (rows, 1), out(i, 0) = sum_j x(i, j).
template <class T, class Backend>
ag::Var<T, Backend> sum_cols(ag::Var<T, Backend> x) {
  return detail::reduce_cols("sum_cols", x, 1.0);
}

/// @brief Row means: (rows, cols) -> (rows, 1). Throws value_error when x has no columns.
template <class T, class Backend>
ag::Var<T, Backend> mean_cols(ag::Var<T, Backend> x) {
  GAS_CHECK(x.cols() > 0, value_error, "mean over the columns of a (" << x.rows() << " x " << x.cols() << ") value");
  return detail::reduce_cols("mean_cols", x, 1.0 / static_cast<double>(x.cols()));
}

}  // namespace gas::ops
