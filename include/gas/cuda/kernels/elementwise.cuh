#pragma once
/// @brief Elementwise activations (relu, elu, leaky_relu, sigmoid, tanh, exp, log) and their backwards, bias add, and
/// gradient accumulation on the device, matching ops/activation.hpp and ops::bias_add.
///
/// Each activation is a policy struct with device `value` and `grad` (the input gradient contribution from
/// x, y and the upstream g), as on the host; detail::launch_elementwise (common.cuh) runs any of them over a flat array.
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
struct UnaryForward {
  Op op;
  const T* x;
  T* y;
  __device__ void operator()(std::int64_t e) const { y[e] = op.value(x[e]); }
};

template <class T, class Op>
struct UnaryBackward {
  Op op;
  const T* x;
  const T* y;
  const T* g;
  T* gx;
  __device__ void operator()(std::int64_t e) const { gx[e] += op.grad(x[e], y[e], g[e]); }
};

// out (rows, cols) = x + bias broadcast over rows.
template <class T>
struct BiasAdd {
  const T* x;
  const T* bias;
  std::int64_t cols;
  T* out;
  __device__ void operator()(std::int64_t e) const { out[e] = x[e] + bias[e % cols]; }
};

template <class T>
struct AddInto {
  const T* g;
  T* gx;
  __device__ void operator()(std::int64_t e) const { gx[e] += g[e]; }
};

}  // namespace kernels
}  // namespace v0

/// @brief y = op(x) elementwise over n contiguous device elements (y may alias x).
template <class T, class Op>
void activation_forward(const Op& op, const T* x, T* y, std::int64_t n, cudaStream_t stream) {
  detail::launch_elementwise(kernels::UnaryForward<T, Op>{op, x, y}, n, "cuda::activation_forward", stream);
}

/// @brief gx += d op / dx applied to g, from the forward's input x and output y (n contiguous elements each).
template <class T, class Op>
void activation_backward(const Op& op, const T* x, const T* y, const T* g, T* gx, std::int64_t n, cudaStream_t stream) {
  detail::launch_elementwise(kernels::UnaryBackward<T, Op>{op, x, y, g, gx}, n, "cuda::activation_backward", stream);
}

/// @brief out (rows, cols) = x + bias with a (1, cols) bias. Its backward is add_into for x and column_sums
/// (kernels/reduce.cuh) for the bias. Throws shape_error naming the shapes when bias_cols != cols.
template <class T>
void bias_add(const T* x, std::int64_t rows, std::int64_t cols, const T* bias, std::int64_t bias_cols, T* out,
              cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && bias_cols == cols, shape_error,
            "cuda::bias_add: bias (1 x " << bias_cols << ") does not broadcast over x (" << rows << " x " << cols
                                         << ")");
  detail::launch_elementwise(kernels::BiasAdd<T>{x, bias, cols, out}, rows * cols, "cuda::bias_add", stream);
}

/// @brief gx += g over n contiguous elements (the gradient of an identity branch: bias add, residuals).
template <class T>
void add_into(const T* g, T* gx, std::int64_t n, cudaStream_t stream) {
  detail::launch_elementwise(kernels::AddInto<T>{g, gx}, n, "cuda::add_into", stream);
}

}  // namespace gas::cuda
