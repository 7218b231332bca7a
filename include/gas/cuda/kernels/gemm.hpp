#pragma once
/// @brief Dense matrix products on the device through cuBLAS: row-major C = alpha op(A) op(B) + beta C, and the
/// strided accumulation dst += src of two row-major views (cuBLAS geam).
///
/// cuBLAS is column-major. A row-major (r, c) matrix with leading dimension ld is, read column-major, its
/// transpose; so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T, i.e. cuBLAS is called with A and B
/// swapped and m and n swapped, and nothing is copied or transposed in memory. Links -lcublas only.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "gas/core/check.hpp"
#include "gas/cuda/device.hpp"
#include "gas/cuda/error.hpp"

namespace gas::cuda {

namespace detail {
[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw cuda_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                   cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ")");
}
}  // namespace detail

}  // namespace gas::cuda

/// @brief Wraps a cuBLAS call; throws gas::cuda_error with the call text, location and status on failure.
#define GAS_CUBLAS_CHECK(call)                                                              \
  do {                                                                                      \
    const cublasStatus_t gas_cublas_status_ = (call);                                       \
    if (gas_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                        \
      ::gas::cuda::detail::throw_cublas_error(gas_cublas_status_, #call, __FILE__, __LINE__); \
  } while (false)

namespace gas::cuda {

/// @brief An owned cuBLAS handle bound to one stream (RAII, movable, not copyable).
class BlasHandle {
public:
  /// @brief Creates a handle on the current device whose calls run on `stream`; throws cuda_error without a GPU.
  explicit BlasHandle(cudaStream_t stream) {
    GAS_CUBLAS_CHECK(cublasCreate(&handle_));
    try {
      GAS_CUBLAS_CHECK(cublasSetStream(handle_, stream));
      // Full fp32 products: TF32 tensor cores would miss the host reference by ~1e-3.
      GAS_CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_PEDANTIC_MATH));
    } catch (...) {
      (void)cublasDestroy(handle_);
      throw;
    }
  }
  /// @brief Destroys the handle; never throws.
  ~BlasHandle() {
    if (handle_ != nullptr) (void)cublasDestroy(handle_);
  }
  BlasHandle(const BlasHandle&) = delete;
  BlasHandle& operator=(const BlasHandle&) = delete;
  /// @brief Takes the handle over; `other` is left holding none.
  BlasHandle(BlasHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  /// @brief Destroys the held handle, then takes `other`'s over.
  BlasHandle& operator=(BlasHandle&& other) noexcept {
    if (this != &other) {
      if (handle_ != nullptr) (void)cublasDestroy(handle_);
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }

  /// @brief Re-binds later calls to `stream`.
  void set_stream(cudaStream_t stream) { GAS_CUBLAS_CHECK(cublasSetStream(handle_, stream)); }
  /// @brief The raw handle.
  [[nodiscard]] cublasHandle_t get() const { return handle_; }

private:
  cublasHandle_t handle_ = nullptr;
};

/// @brief Shapes of a row-major product C (m, n) = op(A) op(B); `ld*` are row strides in elements.
struct GemmShape {
  std::int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  std::int64_t lda = 0, ldb = 0, ldc = 0;
};

/// @brief Throws shape_error / value_error, naming the sizes, unless the shape is a valid row-major product
/// that cuBLAS's 32-bit sizes can express.
inline void check_gemm(const GemmShape& s) {
  GAS_CHECK(s.m >= 0 && s.n >= 0 && s.k >= 0, shape_error,
            "cuda::gemm: negative size (m " << s.m << ", n " << s.n << ", k " << s.k << ")");
  const std::int64_t a_cols = s.trans_a ? s.m : s.k, b_cols = s.trans_b ? s.k : s.n;
  GAS_CHECK(s.lda >= std::max<std::int64_t>(1, a_cols), shape_error,
            "cuda::gemm: A is (" << (s.trans_a ? s.k : s.m) << " x " << a_cols << ") with row stride " << s.lda);
  GAS_CHECK(s.ldb >= std::max<std::int64_t>(1, b_cols), shape_error,
            "cuda::gemm: B is (" << (s.trans_b ? s.n : s.k) << " x " << b_cols << ") with row stride " << s.ldb);
  GAS_CHECK(s.ldc >= std::max<std::int64_t>(1, s.n), shape_error,
            "cuda::gemm: C is (" << s.m << " x " << s.n << ") with row stride " << s.ldc);
  constexpr std::int64_t int_max = 2147483647;
  GAS_CHECK(s.m <= int_max && s.n <= int_max && s.k <= int_max && s.lda <= int_max && s.ldb <= int_max &&
                s.ldc <= int_max,
            value_error, "cuda::gemm: sizes (m " << s.m << ", n " << s.n << ", k " << s.k << ") exceed cuBLAS's int");
}

/// @brief C = alpha op(A) op(B) + beta C for row-major device matrices, on the handle's stream.
/// A is (m, k) (stored (k, m) when trans_a), B is (k, n) (stored (n, k) when trans_b), C is (m, n). With beta = 0,
/// C is not read. Throws shape_error for inconsistent sizes or strides, cuda_error when cuBLAS fails.
template <class T>
void gemm(const BlasHandle& handle, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "cuda::gemm computes in float or double");
  check_gemm(s);
  if (s.m == 0 || s.n == 0) return;
  const cublasOperation_t op_a = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const auto m = static_cast<int>(s.m), n = static_cast<int>(s.n), k = static_cast<int>(s.k);
  const auto lda = static_cast<int>(s.lda), ldb = static_cast<int>(s.ldb), ldc = static_cast<int>(s.ldc);
  // C^T (n, m) = op(B)^T (n, k) op(A)^T (k, m), in cuBLAS's column-major reading of the same memory.
  if constexpr (std::is_same_v<T, float>)
    GAS_CUBLAS_CHECK(cublasSgemm(handle.get(), op_b, op_a, n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
  else
    GAS_CUBLAS_CHECK(cublasDgemm(handle.get(), op_b, op_a, n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

/// @brief dst(i, j) += src(i, j) for (rows, cols) row-major device views whose rows are src_ld and dst_ld elements
/// apart, the backward pass of concatenations and slices: one cuBLAS geam in place (dst = 1 src + 1 dst) on the
/// handle's stream. Both products are exact, so each element is the host's sum. The two views must not overlap.
/// Throws shape_error for a negative shape or a leading dimension below cols (before using the handle), value_error
/// beyond cuBLAS's int sizes, cuda_error when cuBLAS fails.
template <class T>
void add_strided(const T* src, std::int64_t src_ld, std::int64_t rows, std::int64_t cols, T* dst, std::int64_t dst_ld,
                 cublasHandle_t handle) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "cuda::add_strided adds float or double");
  GAS_CHECK(rows >= 0 && cols >= 0 && src_ld >= cols && dst_ld >= cols, shape_error,
            "cuda::add_strided: (" << rows << " x " << cols << ") with leading dimensions " << src_ld << " and "
                                   << dst_ld);
  constexpr std::int64_t int_max = 2147483647;
  GAS_CHECK(rows <= int_max && src_ld <= int_max && dst_ld <= int_max, value_error,
            "cuda::add_strided: " << rows << " rows or leading dimensions " << src_ld << ", " << dst_ld
                                  << " exceed cuBLAS's int");
  if (rows == 0 || cols == 0) return;
  // Column-major, a row-major (rows, cols) view with row stride ld is a (cols, rows) matrix with leading dimension ld.
  const auto m = static_cast<int>(cols), n = static_cast<int>(rows);
  const auto lda = static_cast<int>(src_ld), ldc = static_cast<int>(dst_ld);
  const T one{1};
  if constexpr (std::is_same_v<T, float>)
    GAS_CUBLAS_CHECK(cublasSgeam(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, &one, src, lda, &one, dst, ldc, dst, ldc));
  else
    GAS_CUBLAS_CHECK(cublasDgeam(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, &one, src, lda, &one, dst, ldc, dst, ldc));
}

}  // namespace gas::cuda
