#pragma once
/// @brief `batch_norm`: per-channel normalisation of a (rows, channels) batch with running statistics, as
/// torch.nn.BatchNorm1d.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

/// @brief Running statistics of a batch norm layer: what evaluation normalises with.
template <class T, class Backend = host>
struct BatchNormState {
  Tensor<T, Backend> running_mean;  // (1, channels)
  Tensor<T, Backend> running_var;   // (1, channels), unbiased estimates
  std::int64_t batches_tracked = 0;
};

/// @brief A fresh state for `channels` channels: running mean 0, running variance 1 (PyTorch's initial values).
/// A device state is filled on the default stream and waited for (initialisation, not a step), so that a tape on
/// a non-blocking stream, which the default stream does not order, reads the filled values.
template <class T, class Backend = host>
BatchNormState<T, Backend> make_batch_norm_state(std::int64_t channels) {
  GAS_CHECK(channels >= 0, value_error, "negative channel count " << channels);
  if constexpr (on_host<Backend>) {
    return {Tensor<T, Backend>(1, channels, T{0}), Tensor<T, Backend>(1, channels, T{1}), 0};
  } else {  // a device tensor has no fill constructor
    BatchNormState<T, Backend> state{Tensor<T, Backend>(1, channels), Tensor<T, Backend>(1, channels), 0};
    state.running_mean.fill(T{0});
    state.running_var.fill(T{1});
    if (channels > 0) Exec<Backend>().synchronize();  // no channels: no CUDA call at all
    return state;
  }
}

namespace detail {

// Column sums are the only reductions of batch norm. Summing fixed row blocks (their size does not depend on
// the thread count) in double and then adding the block partials in block order gives the same bits for any
// number of threads, with no atomics.
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

// aux rows: 0 mean used, 1 inverse standard deviation used, 2 column sums of the gradient, 3 column sums of
// gradient * normalised input, 4.. block partials (two per row block).
template <class T, class Backend>
void batch_norm_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const int ix = n.inputs[0], ig = n.inputs[1], ib = n.inputs[2];
  const bool training = n.ints[0] != 0;
  const auto x = tape.node(ix).value;
  const auto gamma = tape.node(ig).value;
  const auto g = MatrixView<const T>(n.grad);
  const std::int64_t rows = x.rows(), cols = x.cols();
  auto& aux = n.aux;
  const T* mean = &aux(0, 0);
  const T* invstd = &aux(1, 0);
  T* sum_g = &aux(2, 0);
  T* sum_gx = &aux(3, 0);
  bn_column_sums<2, T>(rows, cols, aux.view().slice_rows(4, aux.rows()), {sum_g, sum_gx}, [&](std::int64_t i, std::int64_t j) {
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
      if (!training) {  // evaluation is an affine map of x
        dx(i, j) += static_cast<T>(scale * g(i, j));
        continue;
      }
      // Batch statistics depend on every row: dx = gamma invstd (g - mean(g) - xhat mean(g xhat)).
      const double xhat = (static_cast<double>(x(i, j)) - mean[j]) * invstd[j];
      dx(i, j) += static_cast<T>(scale * (g(i, j) - sum_g[j] * inv_rows - xhat * sum_gx[j] * inv_rows));
    }
}

}  // namespace detail

/// @brief Batch normalisation of x (rows, C) with per-channel scale `gamma` (1, C) and shift `beta` (1, C).
///
/// Training normalises with the batch mean and biased variance and updates `state` with `momentum` using the
/// unbiased variance, exactly as torch.nn.BatchNorm1d (cumulative averaging, momentum=None, is not offered);
/// evaluation normalises with the running statistics. The statistics used are copied into the node, so `state`
/// may change or die before the backward pass. On the device, `state` holds device tensors, updated on the tape's
/// stream. Throws shape_error for mismatched shapes and value_error for a training batch of fewer than two rows, a
/// momentum outside [0, 1] or a non-positive eps.
template <class T, class Backend>
ag::Var<T, Backend> batch_norm(ag::Var<T, Backend> x, ag::Var<T, Backend> gamma, ag::Var<T, Backend> beta,
                               BatchNormState<T, Backend>& state, bool training, double momentum = 0.1,
                               double eps = 1e-5) {
  const std::int64_t rows = x.rows(), cols = x.cols();
  GAS_CHECK(gamma.rows() == 1 && gamma.cols() == cols && beta.rows() == 1 && beta.cols() == cols, shape_error,
            "x is (" << rows << " x " << cols << "), gamma (" << gamma.rows() << " x " << gamma.cols() << "), beta ("
                     << beta.rows() << " x " << beta.cols() << "); gamma and beta must be (1 x " << cols << ")");
  GAS_CHECK(state.running_mean.rows() == 1 && state.running_mean.cols() == cols && state.running_var.rows() == 1 &&
                state.running_var.cols() == cols,
            shape_error,
            "x is (" << rows << " x " << cols << "), running mean (" << state.running_mean.rows() << " x "
                     << state.running_mean.cols() << "), running var (" << state.running_var.rows() << " x "
                     << state.running_var.cols() << "); the state must be (1 x " << cols << ")");
  GAS_CHECK(momentum >= 0 && momentum <= 1, value_error, "momentum " << momentum << " outside [0, 1]");
  GAS_CHECK(eps > 0, value_error, "eps " << eps << " must be positive");
  GAS_CHECK(!training || rows > 1, value_error,
            "training needs more than one row per channel to estimate a variance, got " << rows << " rows");

  auto [id, node] = x.tape().push("batch_norm", rows, cols, {x, gamma, beta});
  node.ints[0] = training;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::batch_norm(x.tape(), node, state, momentum, eps);
  } else {
    node.backward = &detail::batch_norm_backward<T, Backend>;
    const std::int64_t blocks = (rows + detail::bn_block_rows - 1) / detail::bn_block_rows;
    auto& aux = node.aux;
    aux.resize(4 + 2 * blocks, cols);
    T* mean = &aux(0, 0);
    T* invstd = &aux(1, 0);
    const auto in = x.value();
    if (training) {
      const auto partial = aux.view().slice_rows(4, aux.rows());
      const double inv_rows = 1.0 / static_cast<double>(rows);
      detail::bn_column_sums<1, T>(rows, cols, partial, {mean}, [&](std::int64_t i, std::int64_t j) {
        return std::array<double, 1>{static_cast<double>(in(i, j))};
      });
      for (std::int64_t j = 0; j < cols; ++j) mean[j] = static_cast<T>(mean[j] * inv_rows);
      // A second pass over centred values keeps the variance accurate when the mean is large.
      detail::bn_column_sums<1, T>(rows, cols, partial, {invstd}, [&](std::int64_t i, std::int64_t j) {
        const double d = static_cast<double>(in(i, j)) - mean[j];
        return std::array<double, 1>{d * d};
      });
      const double unbiased = static_cast<double>(rows) / static_cast<double>(rows - 1);
      for (std::int64_t j = 0; j < cols; ++j) {
        const double var = invstd[j] * inv_rows;
        auto& rm = state.running_mean(0, j);
        auto& rv = state.running_var(0, j);
        rm = static_cast<T>((1 - momentum) * rm + momentum * mean[j]);
        rv = static_cast<T>((1 - momentum) * rv + momentum * var * unbiased);
        invstd[j] = static_cast<T>(1 / std::sqrt(var + eps));
      }
      ++state.batches_tracked;
    } else {
      for (std::int64_t j = 0; j < cols; ++j) {
        mean[j] = state.running_mean(0, j);
        invstd[j] = static_cast<T>(1 / std::sqrt(static_cast<double>(state.running_var(0, j)) + eps));
      }
    }
    const auto g = gamma.value(), b = beta.value();
    auto out = node.value;
#pragma omp parallel for schedule(static) if (rows > 4096)
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) out(i, j) = g(0, j) * ((in(i, j) - mean[j]) * invstd[j]) + b(0, j);
  }
  return {&x.tape(), id};
}

}  // namespace gas::ops
