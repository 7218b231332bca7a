#pragma once
/// @brief Elementwise arithmetic on the device, matching ops/arithmetic.hpp, ops/scalar.hpp and the backward
/// passes of ops/reduce.hpp: linear combinations, products, affine maps, per-row factors, division by a
/// device scalar, and broadcasts of a scalar, a row or a column into a matrix.
///
/// Every launcher runs a functor over the flat (rows * cols) elements of contiguous row-major matrices through
/// detail::launch_elementwise (common.cuh); the element (i, j) is e = i * cols + j. Products are rounded on their own (mul_rn) before any add,
/// so nvcc cannot fuse them into an FMA and each element rounds exactly as the host loop does: these ops equal
/// the host bit for bit.

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/elementwise.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/cuda/kernels/reduce.cuh"

namespace gas::cuda {

/// @brief Which index of a broadcast vector meets the element (i, j): one scalar, the column j of a (1, cols)
/// row, or the row i of a (rows, 1) column.
enum class Broadcast { scalar, row, column };

inline namespace v0 {
namespace kernels {

/// @brief a * b rounded to T on its own (no FMA contraction with a following add), as on the host.
template <class T>
__device__ inline T mul_rn(T a, T b) {
  if constexpr (std::is_same_v<T, float>) return __fmul_rn(a, b);
  else return __dmul_rn(a, b);
}

// out = alpha x + beta y.
template <class T>
struct LinearCombination {
  T alpha;
  const T* x;
  T beta;
  const T* y;
  T* out;
  __device__ void operator()(std::int64_t e) const { out[e] = mul_rn(alpha, x[e]) + mul_rn(beta, y[e]); }
};

// y += alpha x.
template <class T>
struct Axpy {
  T alpha;
  const T* x;
  T* y;
  __device__ void operator()(std::int64_t e) const { y[e] += mul_rn(alpha, x[e]); }
};

// out (+)= x y.
template <class T>
struct Hadamard {
  const T* x;
  const T* y;
  T* out;
  bool accumulate;
  __device__ void operator()(std::int64_t e) const {
    const T p = mul_rn(x[e], y[e]);
    out[e] = accumulate ? out[e] + p : p;
  }
};

// out = factor x + offset.
template <class T>
struct Affine {
  T factor;
  const T* x;
  T offset;
  T* out;
  __device__ void operator()(std::int64_t e) const { out[e] = mul_rn(factor, x[e]) + offset; }
};

// out(i, j) (+)= f[i] x(i, j).
template <class T>
struct ScaleRows {
  const T* f;
  const T* x;
  std::int64_t cols;
  T* out;
  bool accumulate;
  __device__ void operator()(std::int64_t e) const {
    const T p = mul_rn(f[e / cols], x[e]);
    out[e] = accumulate ? out[e] + p : p;
  }
};

// out (+)= x / s[0].
template <class T>
struct DivideByScalar {
  const T* x;
  const T* s;
  T* out;
  bool accumulate;
  __device__ void operator()(std::int64_t e) const {
    const T q = x[e] / s[0];
    out[e] = accumulate ? out[e] + q : q;
  }
};

// out(i, j) += factor v[index of (i, j)].
template <class T>
struct AddBroadcast {
  const T* v;
  Broadcast how;
  T factor;
  std::int64_t cols;
  T* out;
  __device__ void operator()(std::int64_t e) const {
    const std::int64_t k = how == Broadcast::scalar ? 0 : (how == Broadcast::row ? e % cols : e / cols);
    out[e] += mul_rn(v[k], factor);
  }
};

// sum of g(e) y(e) in double (the divisor's gradient of a quotient y = x / s).
template <class T>
struct QuotientTerm {
  const T* g;
  const T* y;
  __device__ double operator()(std::int64_t e) const { return static_cast<double>(g[e]) * static_cast<double>(y[e]); }
};

// gs[0] += T(-total / s[0]).
template <class T>
struct AddDivisorGrad {
  const T* s;
  T* gs;
  __device__ void operator()(double total) const {
    gs[0] += static_cast<T>(-total / static_cast<double>(s[0]));
  }
};

}  // namespace kernels
}  // namespace v0

namespace detail {
inline void check_arith_shape(std::int64_t rows, std::int64_t cols, const char* what) {
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error, what << ": negative shape (" << rows << ", " << cols << ")");
}
}  // namespace detail

/// @brief out = alpha x + beta y over n contiguous elements (ops::add, sub, add_scaled).
template <class T>
void linear_combination(T alpha, const T* x, T beta, const T* y, T* out, std::int64_t n, cudaStream_t stream) {
  detail::launch_elementwise(kernels::LinearCombination<T>{alpha, x, beta, y, out}, n, "cuda::linear_combination",
                           stream);
}

/// @brief y += alpha x over n contiguous elements (the backward of linear combinations and affine maps).
template <class T>
void axpy(T alpha, const T* x, T* y, std::int64_t n, cudaStream_t stream) {
  detail::launch_elementwise(kernels::Axpy<T>{alpha, x, y}, n, "cuda::axpy", stream);
}

/// @brief out = x y (or out += x y when `accumulate`) over n contiguous elements (ops::mul and its backward).
template <class T>
void hadamard(const T* x, const T* y, T* out, bool accumulate, std::int64_t n, cudaStream_t stream) {
  detail::launch_elementwise(kernels::Hadamard<T>{x, y, out, accumulate}, n, "cuda::hadamard", stream);
}

/// @brief out = factor x + offset over n contiguous elements (ops::scale, ops::add_scalar).
template <class T>
void affine(T factor, const T* x, T offset, T* out, std::int64_t n, cudaStream_t stream) {
  detail::launch_elementwise(kernels::Affine<T>{factor, x, offset, out}, n, "cuda::affine", stream);
}

/// @brief out(i, j) = f[i] x(i, j) (or += when `accumulate`) for contiguous (rows, cols) x and out and a device
/// array f of rows factors (ops::scale_rows, ops::mul_rows and their backward). Throws shape_error for a
/// negative shape.
template <class T>
void scale_rows(const T* f, const T* x, std::int64_t rows, std::int64_t cols, T* out, bool accumulate,
                cudaStream_t stream) {
  detail::check_arith_shape(rows, cols, "cuda::scale_rows");
  detail::launch_elementwise(kernels::ScaleRows<T>{f, x, cols, out, accumulate}, rows * cols, "cuda::scale_rows",
                           stream);
}

/// @brief out = x / s[0] (or += when `accumulate`) over n contiguous elements, with the divisor a 1 x 1 device
/// value read by the kernel, so nothing waits for it (ops::div_by_scalar and its backward).
template <class T>
void divide_by_scalar(const T* x, const T* s, T* out, bool accumulate, std::int64_t n, cudaStream_t stream) {
  detail::launch_elementwise(kernels::DivideByScalar<T>{x, s, out, accumulate}, n, "cuda::divide_by_scalar", stream);
}

/// @brief gs[0] += -sum(g .* y) / s[0] for n contiguous elements of g and y, summed in double and
/// deterministically: the divisor's gradient of y = x / s (ops::div_by_scalar). The divisor stays on the device.
template <class T>
void add_divisor_grad(const T* g, const T* y, const T* s, T* gs, std::int64_t n, cudaStream_t stream) {
  total_reduce(n, kernels::QuotientTerm<T>{g, y}, kernels::AddDivisorGrad<T>{s, gs}, stream);
}

/// @brief out(i, j) += factor v[k] for the contiguous (rows, cols) out, with k = 0, j or i as `how` says (v a
/// 1 x 1, (1, cols) or (rows, 1) device value): the backward of ops::sum_all, mean_all, sum_rows, sum_cols and
/// their means. Throws shape_error for a negative shape.
template <class T>
void add_broadcast(const T* v, Broadcast how, T factor, T* out, std::int64_t rows, std::int64_t cols,
                   cudaStream_t stream) {
  detail::check_arith_shape(rows, cols, "cuda::add_broadcast");
  detail::launch_elementwise(kernels::AddBroadcast<T>{v, how, factor, cols, out}, rows * cols, "cuda::add_broadcast",
                           stream);
}

}  // namespace gas::cuda
