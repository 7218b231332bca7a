#pragma once
/// @brief Elementwise activations (relu, elu, leaky_relu, sigmoid, tanh, exp, log) and their backwards, bias add, and
/// gradient accumulation on the device, matching ops/activation.hpp and ops::bias_add.
///
/// Each activation is a policy struct with device `value` and `grad` (the input gradient contribution from
/// x, y and the upstream g), as on the host; one grid-stride kernel runs any of them over a flat array.
/// Exact ops (relu, leaky_relu, bias add) equal the host bit for bit; the transcendental ones differ by the
/// device math library's ulps.

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"

namespace gas::cuda {

/// @brief Device activation policies; each is a small struct of its attributes.
namespace act {

/// @brief max(x, 0); the gradient at 0 is 0, as in PyTorch.
struct Relu {
  template <class T>
  __device__ T value(T x) const { return x > T{0} ? x : T{0}; }
  template <class T>
  __device__ T grad(T x, T, T g) const { return x > T{0} ? g : T{0}; }
};

/// @brief x > 0 ? x : alpha (e^x - 1).
struct Elu {
  double alpha = 1.0;
  template <class T>
  __device__ T value(T x) const { return x > T{0} ? x : static_cast<T>(alpha) * kernels::dexpm1(x); }
  template <class T>
  __device__ T grad(T x, T, T g) const { return g * (x > T{0} ? T{1} : static_cast<T>(alpha) * kernels::dexp(x)); }
};

/// @brief x > 0 ? x : slope x.
struct LeakyRelu {
  double slope = 0.01;
  template <class T>
  __device__ T value(T x) const { return x > T{0} ? x : static_cast<T>(slope) * x; }
  template <class T>
  __device__ T grad(T x, T, T g) const { return g * (x > T{0} ? T{1} : static_cast<T>(slope)); }
};

/// @brief 1 / (1 + e^-x), without overflow on either side.
struct Sigmoid {
  template <class T>
  __device__ T value(T x) const {
    if (x >= T{0}) return T{1} / (T{1} + kernels::dexp(-x));
    const T e = kernels::dexp(x);
    return e / (T{1} + e);
  }
  template <class T>
  __device__ T grad(T, T y, T g) const { return g * (y * (T{1} - y)); }
};

/// @brief Hyperbolic tangent; the gradient from the output, 1 - y^2.
struct Tanh {
  template <class T>
  __device__ T value(T x) const { return kernels::dtanh(x); }
  template <class T>
  __device__ T grad(T, T y, T g) const { return g * (T{1} - y * y); }
};

/// @brief e^x; the gradient from the output, y.
struct Exp {
  template <class T>
  __device__ T value(T x) const { return kernels::dexp(x); }
  template <class T>
  __device__ T grad(T, T y, T g) const { return g * y; }
};

/// @brief Natural logarithm (the op checks its input positive first); the gradient is 1 / x.
struct Log {
  template <class T>
  __device__ T value(T x) const {
    if constexpr (std::is_same_v<T, float>) return ::logf(x);
    else return ::log(x);
  }
  template <class T>
  __device__ T grad(T x, T, T g) const { return g * (T{1} / x); }
};

}  // namespace act

inline namespace v0 {
namespace kernels {

template <class T, class Op>
__global__ void unary_forward(Op op, const T* __restrict__ x, T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    y[i] = op.value(x[i]);
}

template <class T, class Op>
__global__ void unary_backward(Op op, const T* __restrict__ x, const T* __restrict__ y, const T* __restrict__ g,
                               T* __restrict__ gx, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    gx[i] += op.grad(x[i], y[i], g[i]);
}

// out (rows, cols) = x + bias broadcast over rows.
template <class T>
__global__ void bias_add(const T* __restrict__ x, const T* __restrict__ bias, std::int64_t rows, std::int64_t cols,
                         T* __restrict__ out) {
  const std::int64_t n = rows * cols;
  for (std::int64_t i = global_thread(); i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    out[i] = x[i] + bias[i % cols];
}

template <class T>
__global__ void add_into(const T* __restrict__ g, T* __restrict__ gx, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) gx[i] += g[i];
}

}  // namespace kernels
}  // namespace v0

namespace detail {
/// @brief Grid of a grid-stride loop over n elements: enough blocks to fill a large GPU, capped so that huge
/// arrays reuse threads instead of launching millions of blocks.
inline unsigned stride_grid(std::int64_t n) {
  constexpr std::int64_t cap = 65536;
  return static_cast<unsigned>(std::min(blocks_for(n), cap));
}
inline void check_size(std::int64_t n, const char* what) {
  GAS_CHECK(n >= 0, value_error, what << ": negative element count " << n);
}
}  // namespace detail

/// @brief y = op(x) elementwise over n contiguous device elements (y may alias x).
template <class T, class Op>
void activation_forward(const Op& op, const T* x, T* y, std::int64_t n, cudaStream_t stream) {
  detail::check_size(n, "cuda::activation_forward");
  if (n == 0) return;
  kernels::unary_forward<T, Op><<<detail::stride_grid(n), block_threads, 0, stream>>>(op, x, y, n);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief gx += d op / dx applied to g, from the forward's input x and output y (n contiguous elements each).
template <class T, class Op>
void activation_backward(const Op& op, const T* x, const T* y, const T* g, T* gx, std::int64_t n, cudaStream_t stream) {
  detail::check_size(n, "cuda::activation_backward");
  if (n == 0) return;
  kernels::unary_backward<T, Op><<<detail::stride_grid(n), block_threads, 0, stream>>>(op, x, y, g, gx, n);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief out (rows, cols) = x + bias with a (1, cols) bias. Its backward is add_into for x and column_sums
/// (kernels/reduce.cuh) for the bias. Throws shape_error naming the shapes when bias_cols != cols.
template <class T>
void bias_add(const T* x, std::int64_t rows, std::int64_t cols, const T* bias, std::int64_t bias_cols, T* out,
              cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && bias_cols == cols, shape_error,
            "cuda::bias_add: bias (1 x " << bias_cols << ") does not broadcast over x (" << rows << " x " << cols
                                         << ")");
  if (rows * cols == 0) return;
  kernels::bias_add<T><<<detail::stride_grid(rows * cols), block_threads, 0, stream>>>(x, bias, rows, cols, out);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief gx += g over n contiguous elements (the gradient of an identity branch: bias add, residuals).
template <class T>
void add_into(const T* g, T* gx, std::int64_t n, cudaStream_t stream) {
  detail::check_size(n, "cuda::add_into");
  if (n == 0) return;
  kernels::add_into<T><<<detail::stride_grid(n), block_threads, 0, stream>>>(g, gx, n);
  GAS_CUDA_CHECK_LAUNCH();
}

}  // namespace gas::cuda
