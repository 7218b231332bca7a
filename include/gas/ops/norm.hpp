#pragma once
/// @brief Row norms: row_l2_norm, the Euclidean length of every row (host: gas/ops/host/norm.hpp, device:
/// gas/cuda/ops/norm.cuh).

#include "gas/autograd/tape.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/norm.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief sqrt(sum_j x(i, j)^2) for every row: (rows, cols) -> (rows, 1), squares summed in double. The gradient
/// of an all-zero row is 0, not NaN.
template <class T, class Backend>
autograd::Var<T, Backend> row_l2_norm(autograd::Var<T, Backend> x) {
  return record(RowL2Norm{}, x.rows(), 1, {x});  // (rows, 1)
}

}  // namespace gas::ops
