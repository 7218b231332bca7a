#pragma once
/// @brief Host implementation of batch normalization (gas/ops/batch_norm.hpp): `Impl<BatchNorm, host>`.
///
/// Column sums are the only reductions of batch norm. Summing fixed row blocks (their size does not depend on the
/// thread count) in double and then adding the block partials in block order gives the same bits for any number of
/// threads, with no atomics.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

template <class T, class Backend>
struct BatchNormState;  // running statistics (gas/ops/batch_norm.hpp), updated by the forward pass in training

namespace detail {

inline constexpr std::int64_t bn_block_rows = 1024;
inline constexpr std::int64_t bn_tile_cols = 64;

/// @brief out[k][j] = sum_i term(i, j)[k] for K terms at once; `partial` holds K * blocks scratch rows.
template <int K, class T, class Term>
void bn_column_sums(std::int64_t rows, std::int64_t cols, MatrixView<T> partial, std::array<T*, K> out, Term term) {
  const std::int64_t blocks = (rows + bn_block_rows - 1) / bn_block_rows;
  const std::int64_t tiles = (cols + bn_tile_cols - 1) / bn_tile_cols;
#pragma omp parallel for schedule(static) if (rows > 4096)
  for (std::int64_t task = 0; task < blocks * tiles; ++task) {
    const std::int64_t b = task / tiles, j0 = (task % tiles) * bn_tile_cols;
    const std::int64_t j1 = std::min(cols, j0 + bn_tile_cols), i1 = std::min(rows, (b + 1) * bn_block_rows);
    std::array<std::array<double, bn_tile_cols>, K> acc{};
    for (std::int64_t i = b * bn_block_rows; i < i1; ++i)
      for (std::int64_t j = j0; j < j1; ++j) {
        const std::array<double, K> t = term(i, j);
        for (int k = 0; k < K; ++k) acc[k][j - j0] += t[k];
      }
    for (int k = 0; k < K; ++k)
      for (std::int64_t j = j0; j < j1; ++j) partial(k * blocks + b, j) = static_cast<T>(acc[k][j - j0]);
  }
  for (int k = 0; k < K; ++k)
    for (std::int64_t j = 0; j < cols; ++j) {
      double s = 0;
      for (std::int64_t b = 0; b < blocks; ++b) s += static_cast<double>(partial(k * blocks + b, j));
      out[k][j] = static_cast<T>(s);
    }
}

}  // namespace detail

/// @brief Batch normalization with the batch's statistics (training: the running ones are updated) or the running
/// ones. aux rows: 0 mean used, 1 inverse standard deviation used, 2 column sums of the gradient, 3 column sums of
/// gradient * normalized input, 4.. block partials (two per row block).
template <>
struct Impl<BatchNorm, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const BatchNorm& a,
                      BatchNormState<T, host>& state) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const std::int64_t rows = in.rows(), cols = in.cols();
    const std::int64_t blocks = (rows + detail::bn_block_rows - 1) / detail::bn_block_rows;
    auto& aux = node.aux;
    aux.resize(4 + 2 * blocks, cols);
    T* mean = &aux(0, 0);
    T* invstd = &aux(1, 0);
    if (a.training) {
      const auto partial = aux.view().slice_rows(4, aux.rows());
      const double inv_rows = 1.0 / static_cast<double>(rows);
      detail::bn_column_sums<1, T>(rows, cols, partial, {mean}, [&](std::int64_t i, std::int64_t j) {
        return std::array<double, 1>{static_cast<double>(in(i, j))};
      });
      for (std::int64_t j = 0; j < cols; ++j) mean[j] = static_cast<T>(mean[j] * inv_rows);
      // A second pass over centered values keeps the variance accurate when the mean is large.
      detail::bn_column_sums<1, T>(rows, cols, partial, {invstd}, [&](std::int64_t i, std::int64_t j) {
        const double d = static_cast<double>(in(i, j)) - mean[j];
        return std::array<double, 1>{d * d};
      });
      const double unbiased = static_cast<double>(rows) / static_cast<double>(rows - 1);
      for (std::int64_t j = 0; j < cols; ++j) {
        const double var = invstd[j] * inv_rows;
        auto& rm = state.running_mean(0, j);
        auto& rv = state.running_var(0, j);
        rm = static_cast<T>((1 - a.momentum) * rm + a.momentum * mean[j]);
        rv = static_cast<T>((1 - a.momentum) * rv + a.momentum * var * unbiased);
        invstd[j] = static_cast<T>(1 / std::sqrt(var + a.eps));
      }
      ++state.batches_tracked;
    } else {
      for (std::int64_t j = 0; j < cols; ++j) {
        mean[j] = state.running_mean(0, j);
        invstd[j] = static_cast<T>(1 / std::sqrt(static_cast<double>(state.running_var(0, j)) + a.eps));
      }
    }
    const MatrixView<const T> g = tape.node(node.inputs[1]).value, b = tape.node(node.inputs[2]).value;
    auto out = node.value;
#pragma omp parallel for schedule(static) if (rows > 4096)
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) out(i, j) = g(0, j) * ((in(i, j) - mean[j]) * invstd[j]) + b(0, j);
  }

  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const BatchNorm& a) {
    const int ix = n.inputs[0], ig = n.inputs[1], ib = n.inputs[2];
    const auto x = tape.node(ix).value;
    const auto gamma = tape.node(ig).value;
    const auto g = MatrixView<const T>(n.grad);
    const std::int64_t rows = x.rows(), cols = x.cols();
    auto& aux = n.aux;
    const T* mean = &aux(0, 0);
    const T* invstd = &aux(1, 0);
    T* sum_g = &aux(2, 0);
    T* sum_gx = &aux(3, 0);
    detail::bn_column_sums<2, T>(rows, cols, aux.view().slice_rows(4, aux.rows()), {sum_g, sum_gx},
                                 [&](std::int64_t i, std::int64_t j) {
                                   const double xhat = (static_cast<double>(x(i, j)) - mean[j]) * invstd[j];
                                   return std::array<double, 2>{static_cast<double>(g(i, j)), g(i, j) * xhat};
                                 });
    if (tape.node(ib).requires_grad) {
      auto db = tape.grad_of(ib);
      for (std::int64_t j = 0; j < cols; ++j) db(0, j) += sum_g[j];
    }
    if (tape.node(ig).requires_grad) {
      auto dg = tape.grad_of(ig);
      for (std::int64_t j = 0; j < cols; ++j) dg(0, j) += sum_gx[j];
    }
    if (!tape.node(ix).requires_grad) return;
    auto dx = tape.grad_of(ix);
    const double inv_rows = 1.0 / static_cast<double>(rows);
#pragma omp parallel for schedule(static) if (rows > 4096)
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) {
        const double scale = static_cast<double>(gamma(0, j)) * invstd[j];
        if (!a.training) {  // evaluation is an affine map of x
          dx(i, j) += static_cast<T>(scale * g(i, j));
          continue;
        }
        // Batch statistics depend on every row: dx = gamma invstd (g - mean(g) - xhat mean(g xhat)).
        const double xhat = (static_cast<double>(x(i, j)) - mean[j]) * invstd[j];
        dx(i, j) += static_cast<T>(scale * (g(i, j) - sum_g[j] * inv_rows - xhat * sum_gx[j] * inv_rows));
      }
  }
};

}  // namespace gas::ops
