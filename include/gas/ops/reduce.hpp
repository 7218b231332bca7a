#pragma once
/// @brief Reductions: sums and means over everything, over rows (one value per column) or over columns (one
/// value per row). Every sum is reproducible for any thread count (gas/ops/host/reduce.hpp; on the device
/// gas/cuda/ops/reduce.cuh, sums in double in a fixed order).

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/reduce.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief The sum of every element, as a 1 x 1 value (accumulated in double for float inputs).
template <class T, class Backend>
autograd::Var<T, Backend> sum_all(autograd::Var<T, Backend> x) {
  return record(SumAll{}, 1, 1, {x});
}

/// @brief The mean of every element, as a 1 x 1 value (accumulated in double). Throws value_error for an empty
/// input, whose mean is undefined.
template <class T, class Backend>
autograd::Var<T, Backend> mean_all(autograd::Var<T, Backend> x) {
  const auto count = x.rows() * x.cols();
  GAS_CHECK(count > 0, value_error, "mean of an empty (" << x.rows() << " x " << x.cols() << ") value");
  return record(MeanAll{.scale = 1.0 / static_cast<double>(count)}, 1, 1, {x});
}

/// @brief Column sums: (rows, cols) -> (1, cols), out(0, j) = sum_i x(i, j); reproducible for any thread count.
template <class T, class Backend>
autograd::Var<T, Backend> sum_rows(autograd::Var<T, Backend> x) {
  return record(ReduceRows{.name = "sum_rows", .factor = 1.0}, 1, x.cols(), {x});
}

/// @brief Column means: (rows, cols) -> (1, cols). Throws value_error when x has no rows.
template <class T, class Backend>
autograd::Var<T, Backend> mean_rows(autograd::Var<T, Backend> x) {
  GAS_CHECK(x.rows() > 0, value_error, "mean over the rows of a (" << x.rows() << " x " << x.cols() << ") value");
  return record(ReduceRows{.name = "mean_rows", .factor = 1.0 / static_cast<double>(x.rows())}, 1, x.cols(), {x});
}

/// @brief Row sums: (rows, cols) -> (rows, 1), out(i, 0) = sum_j x(i, j).
template <class T, class Backend>
autograd::Var<T, Backend> sum_cols(autograd::Var<T, Backend> x) {
  return record(ReduceCols{.name = "sum_cols", .factor = 1.0}, x.rows(), 1, {x});
}

/// @brief Row means: (rows, cols) -> (rows, 1). Throws value_error when x has no columns.
template <class T, class Backend>
autograd::Var<T, Backend> mean_cols(autograd::Var<T, Backend> x) {
  GAS_CHECK(x.cols() > 0, value_error, "mean over the columns of a (" << x.rows() << " x " << x.cols() << ") value");
  return record(ReduceCols{.name = "mean_cols", .factor = 1.0 / static_cast<double>(x.cols())}, x.rows(), 1, {x});
}

}  // namespace gas::ops
