#pragma once
/// @brief Host implementation of the row norms (gas/ops/norm.hpp): `Impl<RowL2Norm, host>`.

#include <cmath>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief The Euclidean length of every row, squares summed in double.
template <>
struct Impl<RowL2Norm, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const RowL2Norm&) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i) {
      double sum = 0;
      for (std::int64_t j = 0; j < in.cols(); ++j)
        sum += static_cast<double>(in(i, j)) * static_cast<double>(in(i, j));
      out(i, 0) = static_cast<T>(std::sqrt(sum));
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const RowL2Norm&) {
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
};

}  // namespace gas::ops
