#pragma once
/// @brief Row norms: row_l2_norm, the Euclidean length of every row.

#include <cmath>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/exec.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

namespace detail {

template <class T, class Backend>
void row_l2_norm_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto gx = tape.grad_of(n.inputs[0]);
  const auto x = tape.node(n.inputs[0]).value;
#pragma omp parallel for schedule(static) if (x.rows() > 4096)
  for (std::int64_t i = 0; i < x.rows(); ++i) {
    const T norm = n.value(i, 0);
    // d|x|/dx = x / |x|; at an all-zero row the norm has no derivative and 0 (a subgradient) avoids NaN.
    if (norm == T{0}) continue;
    const T factor = n.grad(i, 0) / norm;
    for (std::int64_t j = 0; j < x.cols(); ++j) gx(i, j) += factor * x(i, j);
  }
}

}  // namespace detail

/// @brief sqrt(sum_j x(i, j)^2) for every row: (rows, cols) -> (rows, 1), squares summed in double. The gradient
/// of an all-zero row is 0, not NaN.
template <class T, class Backend>
ag::Var<T, Backend> row_l2_norm(ag::Var<T, Backend> x) {
  auto [id, node] = x.tape().push("row_l2_norm", x.rows(), 1, {x});  // (rows, 1)
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::row_l2_norm(x.tape(), node);
  } else {
    node.backward = &detail::row_l2_norm_backward<T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i) {
      double sum = 0;
      for (std::int64_t j = 0; j < in.cols(); ++j)
        sum += static_cast<double>(in(i, j)) * static_cast<double>(in(i, j));
      out(i, 0) = static_cast<T>(std::sqrt(sum));
    }
  }
  return {&x.tape(), id};
}

}  // namespace gas::ops
