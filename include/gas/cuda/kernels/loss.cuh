#pragma once
/// @brief Row-wise log-softmax, NLL, fused cross-entropy and binary cross-entropy with logits over selected rows
/// on the device, forward and backward, matching ops/loss.hpp.
///
/// Class counts are small (tens to hundreds), so one thread owns a row and forms its log-sum-exp in double
/// exactly as the host does. The scalar losses are totals of reduce.cuh (cub::DeviceReduce), the same bits on every
/// run on one GPU. The loss gradient's seed is read on the device (a 1 x 1 device value), so the
/// backward pass needs no host synchronization. Selected rows and labels are validated on the host, where the
/// batch is built (ops::detail::check_selected_rows / check_labels); the launchers take whether the selection is
/// strictly increasing, which is when a backward may write the selected rows in parallel.

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/cuda/kernels/reduce.cuh"
#include "gas/graph/dataset.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

template <class T>
__device__ inline double row_log_sum_exp(const T* x, std::int64_t cols) {
  double m = -INFINITY;
  for (std::int64_t j = 0; j < cols; ++j) m = fmax(m, static_cast<double>(x[j]));
  if (isinf(m)) return m;  // all -inf (or some +inf): the shift would give nan
  double s = 0;
  for (std::int64_t j = 0; j < cols; ++j) s += exp(static_cast<double>(x[j]) - m);
  return m + log(s);
}

template <class T>
__global__ void log_softmax_forward(const T* __restrict__ x, std::int64_t rows, std::int64_t cols, T* __restrict__ y) {
  const std::int64_t i = global_thread();
  if (i >= rows) return;
  const double lse = row_log_sum_exp(x + i * cols, cols);
  for (std::int64_t j = 0; j < cols; ++j) y[i * cols + j] = static_cast<T>(x[i * cols + j] - lse);
}

template <class T>
__global__ void log_softmax_backward(const T* __restrict__ y, const T* __restrict__ g, std::int64_t rows,
                                     std::int64_t cols, T* __restrict__ gx) {
  const std::int64_t i = global_thread();
  if (i >= rows) return;
  double sum_g = 0;
  for (std::int64_t j = 0; j < cols; ++j) sum_g += g[i * cols + j];
  for (std::int64_t j = 0; j < cols; ++j)
    gx[i * cols + j] += static_cast<T>(g[i * cols + j] - exp(static_cast<double>(y[i * cols + j])) * sum_g);
}

// out[0] = T(total * factor): the mean of a loss (the finish of its total_reduce).
template <class T>
struct StoreScaled {
  T* out;
  double factor;
  __device__ void operator()(double total) const { out[0] = static_cast<T>(total * factor); }
};

template <class T>
struct NllTerm {
  const T* lp;
  std::int64_t cols;
  const std::int32_t* labels;
  const node_id* selected;
  __device__ double operator()(std::int64_t k) const {
    const node_id r = selected[k];
    return -static_cast<double>(lp[static_cast<std::int64_t>(r) * cols + labels[r]]);
  }
};

template <class T>
struct AuxColumn {
  const T* aux;  // (count, 2)
  __device__ double operator()(std::int64_t k) const { return static_cast<double>(aux[2 * k + 1]); }
};

// One call per position when the selection is strictly increasing, else one call (t = 0) for all, in position order.
template <class T>
struct NllBackward {
  const T* seed;
  const std::int32_t* labels;
  const node_id* selected;
  std::int64_t count, cols;
  bool serial;
  T* gx;
  __device__ void operator()(std::int64_t t) const {
    const double coef = static_cast<double>(seed[0]) / static_cast<double>(count);
    for (std::int64_t k = serial ? 0 : t; k < (serial ? count : t + 1); ++k) {
      const node_id r = selected[k];
      gx[static_cast<std::int64_t>(r) * cols + labels[r]] -= static_cast<T>(coef);
    }
  }
};

// aux (count, 2) = (log-sum-exp, loss) of each selected position.
template <class T>
__global__ void cross_entropy_rows(const T* __restrict__ x, std::int64_t cols, const std::int32_t* __restrict__ labels,
                                   const node_id* __restrict__ selected, std::int64_t count, T* __restrict__ aux) {
  const std::int64_t k = global_thread();
  if (k >= count) return;
  const std::int64_t r = selected[k];
  const double lse = row_log_sum_exp(x + r * cols, cols);
  aux[2 * k] = static_cast<T>(lse);
  aux[2 * k + 1] = static_cast<T>(lse - static_cast<double>(x[r * cols + labels[r]]));
}

// The positions [k0, k1) and the class j of call t of a selected-rows backward. Parallel: a call per (position,
// class); serial: a call per class walking the positions in order, so a row selected twice adds its two terms in the
// host's order.
struct SelectedCell {
  std::int64_t k0, k1, j;
  __device__ SelectedCell(std::int64_t t, std::int64_t count, std::int64_t cols, bool serial)
      : k0(serial ? 0 : t / cols), k1(serial ? count : t / cols + 1), j(serial ? t : t % cols) {}
};

// gx(r, j) += coef (softmax - onehot).
template <class T>
struct CrossEntropyBackward {
  const T* seed;
  const T* x;
  std::int64_t cols;
  const std::int32_t* labels;
  const node_id* selected;
  std::int64_t count;
  const T* aux;
  bool serial;
  T* gx;
  __device__ void operator()(std::int64_t t) const {
    const double coef = static_cast<double>(seed[0]) / static_cast<double>(count);
    const SelectedCell c(t, count, cols, serial);
    for (std::int64_t k = c.k0; k < c.k1; ++k) {
      const std::int64_t r = selected[k];
      const double p = exp(static_cast<double>(x[r * cols + c.j]) - static_cast<double>(aux[2 * k]));
      gx[r * cols + c.j] += static_cast<T>(coef * (p - (c.j == labels[r] ? 1.0 : 0.0)));
    }
  }
};

template <class T>
struct PositionValue {
  const T* v;  // (count)
  __device__ double operator()(std::int64_t k) const { return static_cast<double>(v[k]); }
};

/// @brief The logistic function in double, written so that neither branch overflows (as ops::detail::sigmoid).
__device__ inline double stable_sigmoid(double x) {
  if (x >= 0) return 1 / (1 + exp(-x));
  const double e = exp(x);
  return e / (1 + e);
}

// aux (count) = sum over the classes of selected row r of max(x, 0) - x t + log(1 + e^-|x|), in double.
template <class T>
__global__ void bce_rows(const T* __restrict__ x, std::int64_t cols, const std::uint8_t* __restrict__ targets,
                         const node_id* __restrict__ selected, std::int64_t count, T* __restrict__ aux) {
  const std::int64_t k = global_thread();
  if (k >= count) return;
  const std::int64_t r = selected[k];
  double s = 0;
  for (std::int64_t j = 0; j < cols; ++j) {
    const double v = x[r * cols + j];
    s += fmax(v, 0.0) - v * static_cast<double>(targets[r * cols + j]) + log1p(exp(-fabs(v)));
  }
  aux[k] = static_cast<T>(s);
}

// gx(r, j) += coef (sigmoid(x) - t), coef = seed / (count cols), over the calls of SelectedCell.
template <class T>
struct BceBackward {
  const T* seed;
  const T* x;
  std::int64_t cols;
  const std::uint8_t* targets;
  const node_id* selected;
  std::int64_t count;
  bool serial;
  T* gx;
  __device__ void operator()(std::int64_t t) const {
    const double coef = static_cast<double>(seed[0]) / (static_cast<double>(count) * static_cast<double>(cols));
    const SelectedCell c(t, count, cols, serial);
    for (std::int64_t k = c.k0; k < c.k1; ++k) {
      const std::int64_t e = static_cast<std::int64_t>(selected[k]) * cols + c.j;
      gx[e] += static_cast<T>(coef * (stable_sigmoid(static_cast<double>(x[e])) - static_cast<double>(targets[e])));
    }
  }
};

}  // namespace kernels
}  // namespace v0

/// @brief Selected rows and labels of a loss, as device arrays.
struct LossRows {
  const std::int32_t* labels = nullptr;  ///< (rows): a label per row of the input; selected ones in [0, cols)
  const node_id* selected = nullptr;     ///< (count): the rows the loss averages over
  std::int64_t count = 0;                ///< number of selected positions (>= 1)
  bool increasing = false;               ///< the selection is strictly increasing (no row twice)
};

/// @brief Selected rows and 0/1 targets of a binary cross-entropy, as device arrays.
struct TargetRows {
  const std::uint8_t* targets = nullptr;  ///< (rows, cols) row-major: 0 or 1 per class (selected rows checked)
  const node_id* selected = nullptr;      ///< (count): the rows the loss averages over
  std::int64_t count = 0;                 ///< number of selected positions (>= 1)
  bool increasing = false;                ///< the selection is strictly increasing (no row twice)
};

namespace detail {
inline void check_loss(std::int64_t rows, std::int64_t cols, const LossRows& sel, const char* what) {
  GAS_CHECK(rows >= 0 && cols > 0, shape_error, what << ": input (" << rows << " x " << cols << ") has no classes");
  GAS_CHECK(sel.count > 0, value_error, what << ": the row selection is empty (the mean would divide by 0)");
  GAS_CHECK(rows > 0, value_error, what << ": " << sel.count << " selected rows of an input with none");
}
}  // namespace detail

/// @brief y (rows, cols) = x - logsumexp(x) per row, the log-sum-exp in double.
template <class T>
void log_softmax_forward(const T* x, std::int64_t rows, std::int64_t cols, T* y, cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "cuda::log_softmax_forward: negative shape (" << rows << ", " << cols << ")");
  if (rows == 0 || cols == 0) return;
  kernels::log_softmax_forward<T><<<static_cast<unsigned>(blocks_for(rows)), block_threads, 0, stream>>>(x, rows, cols, y);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief gx += g - softmax(x) * rowsum(g), softmax rebuilt from the forward's output y.
template <class T>
void log_softmax_backward(const T* y, const T* g, std::int64_t rows, std::int64_t cols, T* gx, cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "cuda::log_softmax_backward: negative shape (" << rows << ", " << cols << ")");
  if (rows == 0 || cols == 0) return;
  kernels::log_softmax_backward<T><<<static_cast<unsigned>(blocks_for(rows)), block_threads, 0, stream>>>(y, g, rows,
                                                                                                         cols, gx);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief loss (1 x 1, device) = mean over the selected rows r of -log_probs[r, labels[r]].
template <class T>
void nll_loss_forward(const T* log_probs, std::int64_t rows, std::int64_t cols, const LossRows& sel, T* loss,
                      cudaStream_t stream) {
  detail::check_loss(rows, cols, sel, "cuda::nll_loss_forward");
  total_reduce(sel.count, kernels::NllTerm<T>{log_probs, cols, sel.labels, sel.selected},
               kernels::StoreScaled<T>{loss, 1.0 / static_cast<double>(sel.count)}, stream);
}

/// @brief gx (rows, cols) -= seed / count at each selected (r, labels[r]); `seed` is the loss gradient (device).
template <class T>
void nll_loss_backward(const T* seed, std::int64_t rows, std::int64_t cols, const LossRows& sel, T* gx,
                       cudaStream_t stream) {
  detail::check_loss(rows, cols, sel, "cuda::nll_loss_backward");
  detail::launch_elementwise(
      kernels::NllBackward<T>{seed, sel.labels, sel.selected, sel.count, cols, !sel.increasing, gx},
      sel.increasing ? sel.count : 1, "cuda::nll_loss_backward", stream);
}

/// @brief Fused cross-entropy: loss (1 x 1, device) = mean over selected rows of logsumexp(x_r) - x_r[label];
/// aux (count, 2) receives (log-sum-exp, loss) per position for the backward pass.
template <class T>
void cross_entropy_forward(const T* logits, std::int64_t rows, std::int64_t cols, const LossRows& sel, T* aux, T* loss,
                           cudaStream_t stream) {
  detail::check_loss(rows, cols, sel, "cuda::cross_entropy_forward");
  kernels::cross_entropy_rows<T><<<static_cast<unsigned>(blocks_for(sel.count)), block_threads, 0, stream>>>(
      logits, cols, sel.labels, sel.selected, sel.count, aux);
  GAS_CUDA_CHECK_LAUNCH();
  total_reduce(sel.count, kernels::AuxColumn<T>{aux}, kernels::StoreScaled<T>{loss, 1.0 / static_cast<double>(sel.count)},
               stream);
}

/// @brief gx (rows, cols) += seed / count * (softmax(x_r) - onehot(label)) at the selected rows.
template <class T>
void cross_entropy_backward(const T* seed, const T* logits, std::int64_t rows, std::int64_t cols, const LossRows& sel,
                            const T* aux, T* gx, cudaStream_t stream) {
  detail::check_loss(rows, cols, sel, "cuda::cross_entropy_backward");
  detail::launch_elementwise(
      kernels::CrossEntropyBackward<T>{seed, logits, cols, sel.labels, sel.selected, sel.count, aux, !sel.increasing, gx},
      sel.increasing ? sel.count * cols : cols, "cuda::cross_entropy_backward", stream);
}

/// @brief Binary cross-entropy with logits: loss (1 x 1, device) = mean over the selected rows and every class of
/// max(x, 0) - x t + log(1 + e^-|x|); aux (count) receives each position's sum over the classes.
template <class T>
void bce_with_logits_forward(const T* logits, std::int64_t rows, std::int64_t cols, const TargetRows& sel, T* aux,
                             T* loss, cudaStream_t stream) {
  detail::check_loss(rows, cols, LossRows{nullptr, sel.selected, sel.count, sel.increasing},
                     "cuda::bce_with_logits_forward");
  kernels::bce_rows<T><<<static_cast<unsigned>(blocks_for(sel.count)), block_threads, 0, stream>>>(
      logits, cols, sel.targets, sel.selected, sel.count, aux);
  GAS_CUDA_CHECK_LAUNCH();
  total_reduce(sel.count, kernels::PositionValue<T>{aux},
               kernels::StoreScaled<T>{loss, 1.0 / (static_cast<double>(sel.count) * static_cast<double>(cols))}, stream);
}

/// @brief gx (rows, cols) += seed / (count cols) * (sigmoid(x) - t) at the selected rows; `seed` is the loss
/// gradient (device). A row selected twice adds its terms in position order, as on the host.
template <class T>
void bce_with_logits_backward(const T* seed, const T* logits, std::int64_t rows, std::int64_t cols,
                              const TargetRows& sel, T* gx, cudaStream_t stream) {
  detail::check_loss(rows, cols, LossRows{nullptr, sel.selected, sel.count, sel.increasing},
                     "cuda::bce_with_logits_backward");
  detail::launch_elementwise(
      kernels::BceBackward<T>{seed, logits, cols, sel.targets, sel.selected, sel.count, !sel.increasing, gx},
      sel.increasing ? sel.count * cols : cols, "cuda::bce_with_logits_backward", stream);
}

}  // namespace gas::cuda
