#pragma once
/// @brief `Exec<gas::cuda::device>`: the stream a device tape's ops run on, the cuBLAS handle its products use,
/// and the strided copies, fills and host transfers the tape needs. Compiles with any C++ compiler that sees the
/// CUDA headers; the ops' kernels themselves need nvcc (gas/cuda/ops.cuh).

#include <cuda_runtime.h>

#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/gemm.hpp"

namespace gas {

/// @brief The device context: one stream (the legacy default stream unless given) and a cuBLAS handle bound to it,
/// created on first use so that a tape can be built, and fail with cuda_error, only where work is queued.
///
/// Every transfer and kernel of a tape goes to this stream, so they run in the order the ops were recorded; reading
/// a value on the host (download, autograd::to_host) waits for the stream. Nothing else here waits: a backward pass's
/// seed (add_to_element) is queued like the rest.
template <>
class Exec<cuda::device> {
public:
  explicit Exec(cudaStream_t stream = nullptr) : stream_(stream) {}

  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  /// @brief Makes later work run on `stream`; the caller orders it after the work already queued.
  void set_stream(cudaStream_t stream) {
    stream_ = stream;
    if (blas_) blas_->set_stream(stream);
    one_float_.set_stream(stream);
    one_double_.set_stream(stream);
  }
  /// @brief The cuBLAS handle on this stream; throws cuda_error when cuBLAS cannot start (no GPU).
  cuda::BlasHandle& blas() {
    if (!blas_) blas_.emplace(stream_);
    return *blas_;
  }

  /// @brief Queues to = from between device views (same shape, any leading dimensions).
  template <class T>
  void copy(MatrixView<const T> from, MatrixView<T> to) const {
    detail::check_same_shape(from, to, "Exec<cuda::device>::copy");
    copy2d(from, to, cudaMemcpyDeviceToDevice);
  }
  /// @brief Queues a copy of the host view `host_from` into the device view `to`. Pageable host memory is staged
  /// before this returns, so `host_from` may change afterwards; pinned memory must stay until the stream reaches it.
  template <class T>
  void upload(MatrixView<const T> host_from, MatrixView<T> to) const {
    detail::check_same_shape(host_from, to, "Exec<cuda::device>::upload");
    copy2d(host_from, to, cudaMemcpyHostToDevice);
  }
  /// @brief Copies the device view `from` into the host view `host_to` and waits for it (and all earlier work).
  template <class T>
  void download(MatrixView<const T> from, MatrixView<T> host_to) const {
    detail::check_same_shape(from, host_to, "Exec<cuda::device>::download");
    copy2d(from, host_to, cudaMemcpyDeviceToHost);
    synchronize();
  }
  /// @brief Queues setting every element of the device view `to` to `value` (zero by a memset; other values by
  /// an upload of a staged host copy, which is for initialization, not for a step).
  template <class T>
  void fill(MatrixView<T> to, T value) const {
    if (to.rows() == 0 || to.cols() == 0) return;
    if (value == T{0}) {
      GAS_CUDA_CHECK(cudaMemset2DAsync(to.data(), static_cast<std::size_t>(to.ld()) * sizeof(T), 0,
                                       static_cast<std::size_t>(to.cols()) * sizeof(T),
                                       static_cast<std::size_t>(to.rows()), stream_));
      return;
    }
    std::vector<T> staged(static_cast<std::size_t>(to.rows() * to.cols()), value);
    upload(MatrixView<const T>(staged.data(), to.rows(), to.cols()), to);
  }
  /// @brief Queues to(i, j) += value on the stream without waiting (the loss seed of a backward pass), with the bits
  /// of the host's `to(i, j) += value`: a 1 x 1 x 1 cuBLAS product to(i, j) = value * 1 * 1 + 1 * to(i, j). Its
  /// product 1 * 1, value * 1 and 1 * to(i, j) are exact, so the one rounding is that of value + to(i, j), whatever
  /// order or fused multiply-add cuBLAS uses (the handle's pedantic math mode rules out reduced-precision products).
  /// One corner differs: a zero value may leave -0 where the host gives +0 (cuBLAS may skip a product whose alpha is
  /// 0). The first call for a T allocates the device 1 and uploads it; later calls allocate nothing.
  template <class T>
  void add_to_element(MatrixView<T> to, std::int64_t i, std::int64_t j, T value) {
    GAS_CHECK(0 <= i && i < to.rows() && 0 <= j && j < to.cols(), shape_error,
              "element (" << i << ", " << j << ") outside (" << to.rows() << " x " << to.cols() << ")");
    const T* one = device_one<T>();
    const cuda::GemmShape scalar{.m = 1, .n = 1, .k = 1, .lda = 1, .ldb = 1, .ldc = 1};
    cuda::gemm(blas(), scalar, value, one, one, T{1}, to.data() + i * to.ld() + j);
  }
  /// @brief Waits for everything queued on the stream.
  void synchronize() const { GAS_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

private:
  template <class T>
  void copy2d(MatrixView<const T> from, MatrixView<T> to, cudaMemcpyKind kind) const {
    if (from.rows() == 0 || from.cols() == 0) return;
    GAS_CUDA_CHECK(cudaMemcpy2DAsync(to.data(), static_cast<std::size_t>(to.ld()) * sizeof(T), from.data(),
                                     static_cast<std::size_t>(from.ld()) * sizeof(T),
                                     static_cast<std::size_t>(from.cols()) * sizeof(T),
                                     static_cast<std::size_t>(from.rows()), kind, stream_));
  }

  // A device 1 of type T, the operands A and B of add_to_element's product. cuBLAS reads A and B from device memory
  // (only alpha and beta may come from the host), and a 1 made per call would be an allocation and an upload in every
  // backward pass; so it is made once, at the first use, and kept. Its source is a static, alive whenever the stream
  // reaches the copy.
  template <class T>
  const T* device_one() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "add_to_element computes in float or double");
    cuda::DeviceBuffer<T>& one = [this]() -> cuda::DeviceBuffer<T>& {
      if constexpr (std::is_same_v<T, float>) return one_float_;
      else return one_double_;
    }();
    if (one.empty()) {
      static constexpr T host_one{1};
      one = cuda::DeviceBuffer<T>(1, stream_);
      one.copy_from(std::span<const T>(&host_one, 1));
    }
    return one.data();
  }

  cudaStream_t stream_ = nullptr;
  std::optional<cuda::BlasHandle> blas_;
  cuda::DeviceBuffer<float> one_float_;    // (1): add_to_element's device 1 for float, made at its first use
  cuda::DeviceBuffer<double> one_double_;  // (1): the same for double
};

}  // namespace gas
