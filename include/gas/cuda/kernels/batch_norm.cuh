#pragma once
/// @brief Batch normalization of a (rows, channels) batch on the device, forward (training: batch statistics
/// and torch's running-statistics update; evaluation: running statistics) and backward, matching
/// ops::batch_norm. Every statistic is a deterministic column reduction in double (kernels/reduce.cuh).

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/cuda/kernels/reduce.cuh"

namespace gas::cuda {

/// @brief The device arrays and settings of one batch-norm call; all arrays contiguous.
template <class T>
struct BatchNormArgs {
  const T* x = nullptr;       ///< (rows, cols)
  std::int64_t rows = 0, cols = 0;
  const T* gamma = nullptr;   ///< (1, cols)
  const T* beta = nullptr;    ///< (1, cols)
  T* running_mean = nullptr;  ///< (1, cols): updated in training
  T* running_var = nullptr;   ///< (1, cols): unbiased estimates, updated in training
  double momentum = 0.1;
  double eps = 1e-5;
  bool training = true;
};

inline namespace v0 {
namespace kernels {

template <class T>
struct CentredSquare {
  const T* x;
  const T* mean;
  std::int64_t cols;
  __device__ Terms<1> operator()(std::int64_t i, std::int64_t j) const {
    const double d = static_cast<double>(x[i * cols + j]) - static_cast<double>(mean[j]);
    return {{d * d}};
  }
};

template <class T>
struct StoreMean {
  T* mean;
  double inv_rows;
  __device__ void operator()(std::int64_t j, const Terms<1>& s) const { mean[j] = static_cast<T>(s.v[0] * inv_rows); }
};

// invstd from the batch variance, and torch's running update with the unbiased variance.
template <class T>
struct StoreVariance {
  const T* mean;
  T* invstd;
  T* running_mean;
  T* running_var;
  double inv_rows, unbiased, momentum, eps;
  __device__ void operator()(std::int64_t j, const Terms<1>& s) const {
    const double var = s.v[0] * inv_rows;
    running_mean[j] = static_cast<T>((1 - momentum) * running_mean[j] + momentum * mean[j]);
    running_var[j] = static_cast<T>((1 - momentum) * running_var[j] + momentum * var * unbiased);
    invstd[j] = static_cast<T>(1 / sqrt(var + eps));
  }
};

template <class T>
struct BnEvalStats {
  const T* running_mean;
  const T* running_var;
  double eps;
  T* mean;
  T* invstd;
  __device__ void operator()(std::int64_t j) const {
    mean[j] = running_mean[j];
    invstd[j] = static_cast<T>(1 / sqrt(static_cast<double>(running_var[j]) + eps));
  }
};

template <class T>
struct BnNormalize {
  const T* x;
  std::int64_t cols;
  const T* gamma;
  const T* beta;
  const T* mean;
  const T* invstd;
  T* out;
  __device__ void operator()(std::int64_t e) const {
    const std::int64_t j = e % cols;
    out[e] = gamma[j] * ((x[e] - mean[j]) * invstd[j]) + beta[j];
  }
};

template <class T>
struct GradTerms {
  const T* x;
  const T* g;
  const T* mean;
  const T* invstd;
  std::int64_t cols;
  __device__ Terms<2> operator()(std::int64_t i, std::int64_t j) const {
    const double xhat = (static_cast<double>(x[i * cols + j]) - mean[j]) * invstd[j];
    const double gv = g[i * cols + j];
    return {{gv, gv * xhat}};
  }
};

// sums (2, cols) = (sum g, sum g xhat); beta and gamma gradients accumulate them when asked for.
template <class T>
struct StoreGradSums {
  double* sums;
  T* dgamma;
  T* dbeta;
  std::int64_t cols;
  __device__ void operator()(std::int64_t j, const Terms<2>& s) const {
    sums[j] = s.v[0];
    sums[cols + j] = s.v[1];
    if (dbeta != nullptr) dbeta[j] += static_cast<T>(s.v[0]);
    if (dgamma != nullptr) dgamma[j] += static_cast<T>(s.v[1]);
  }
};

template <class T>
struct BnInputGrad {
  const T* x;
  const T* g;
  std::int64_t cols;
  const T* gamma;
  const T* mean;
  const T* invstd;
  const double* sums;
  double inv_rows;
  bool training;
  T* dx;
  __device__ void operator()(std::int64_t e) const {
    const std::int64_t j = e % cols;
    const double scale = static_cast<double>(gamma[j]) * invstd[j];
    if (!training) {  // evaluation is an affine map of x
      dx[e] += static_cast<T>(scale * g[e]);
      return;
    }
    const double xhat = (static_cast<double>(x[e]) - mean[j]) * invstd[j];
    dx[e] += static_cast<T>(scale * (g[e] - sums[j] * inv_rows - xhat * sums[cols + j] * inv_rows));
  }
};

}  // namespace kernels
}  // namespace v0

namespace detail {
template <class T>
void check_batch_norm(const BatchNormArgs<T>& a, const char* what) {
  GAS_CHECK(a.rows >= 0 && a.cols >= 0, shape_error, what << ": negative shape (" << a.rows << ", " << a.cols << ")");
  GAS_CHECK(a.momentum >= 0 && a.momentum <= 1, value_error, what << ": momentum " << a.momentum << " outside [0, 1]");
  GAS_CHECK(a.eps > 0, value_error, what << ": eps " << a.eps << " must be positive");
  GAS_CHECK(!a.training || a.rows > 1, value_error,
            what << ": training needs more than one row per channel to estimate a variance, got " << a.rows << " rows");
}
}  // namespace detail

/// @brief out (rows, cols) = gamma (x - mean) invstd + beta. Training uses the batch mean and biased variance and
/// updates the running statistics with the unbiased one (torch.nn.BatchNorm1d); evaluation uses the running
/// statistics. `saved` (2, cols) receives the mean and inverse standard deviation used, for the backward pass.
/// Throws value_error for a training batch of fewer than two rows, a momentum outside [0, 1] or eps <= 0.
template <class T>
void batch_norm_forward(const BatchNormArgs<T>& a, T* out, T* saved, cudaStream_t stream) {
  detail::check_batch_norm(a, "cuda::batch_norm_forward");
  if (a.cols == 0) return;
  T* mean = saved;
  T* invstd = saved + a.cols;
  if (a.training) {
    const double inv_rows = 1.0 / static_cast<double>(a.rows);
    column_reduce<1>(a.rows, a.cols, kernels::ColumnValue<T>{a.x, a.cols}, kernels::StoreMean<T>{mean, inv_rows}, stream);
    // A second pass over centered values keeps the variance accurate when the mean is large.
    column_reduce<1>(a.rows, a.cols, kernels::CentredSquare<T>{a.x, mean, a.cols},
                     kernels::StoreVariance<T>{mean, invstd, a.running_mean, a.running_var, inv_rows,
                                               static_cast<double>(a.rows) / static_cast<double>(a.rows - 1),
                                               a.momentum, a.eps},
                     stream);
  } else {
    detail::launch_elementwise(kernels::BnEvalStats<T>{a.running_mean, a.running_var, a.eps, mean, invstd}, a.cols,
                               "cuda::batch_norm_forward", stream);
  }
  detail::launch_elementwise(kernels::BnNormalize<T>{a.x, a.cols, a.gamma, a.beta, mean, invstd, out}, a.rows * a.cols,
                             "cuda::batch_norm_forward", stream);
}

/// @brief Backward of batch_norm_forward from g (rows, cols) and the forward's `saved` statistics: dx, dgamma
/// and dbeta (each may be nullptr when not needed) accumulate their gradients.
template <class T>
void batch_norm_backward(const BatchNormArgs<T>& a, const T* saved, const T* g, T* dx, T* dgamma, T* dbeta,
                         cudaStream_t stream) {
  detail::check_batch_norm(a, "cuda::batch_norm_backward");
  if (a.cols == 0) return;
  const T* mean = saved;
  const T* invstd = saved + a.cols;
  DeviceBuffer<double> sums(static_cast<std::size_t>(2 * a.cols), stream);
  column_reduce<2>(a.rows, a.cols, kernels::GradTerms<T>{a.x, g, mean, invstd, a.cols},
                   kernels::StoreGradSums<T>{sums.data(), dgamma, dbeta, a.cols}, stream);
  if (dx == nullptr || a.rows == 0) return;
  detail::launch_elementwise(kernels::BnInputGrad<T>{a.x, g, a.cols, a.gamma, mean, invstd, sums.data(),
                                                     1.0 / static_cast<double>(a.rows), a.training, dx},
                             a.rows * a.cols, "cuda::batch_norm_backward", stream);
}

}  // namespace gas::cuda
