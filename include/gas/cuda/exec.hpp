#pragma once
/// @brief `Exec<gas::cuda::device>`: the stream a device tape's ops run on, the cuBLAS handle its products use,
/// and the strided copies, fills and host transfers the tape needs. Compiles with any C++ compiler that sees the
/// CUDA headers; the ops' kernels themselves need nvcc (gas/cuda/ops.cuh).

#include <cuda_runtime.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/gemm.hpp"

namespace gas {

/// @brief The device context: one stream (the legacy default stream unless given) and a cuBLAS handle bound to it,
/// created on first use so that a tape can be built, and fail with cuda_error, only where work is queued.
///
/// Every transfer and kernel of a tape goes to this stream, so they run in the order the ops were recorded; reading
/// a value on the host (download, autograd::to_host) waits for the stream.
template <>
class Exec<cuda::device> {
public:
  explicit Exec(cudaStream_t stream = nullptr) : stream_(stream) {}

  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  /// @brief Makes later work run on `stream`; the caller orders it after the work already queued.
  void set_stream(cudaStream_t stream) {
    stream_ = stream;
    if (blas_) blas_->set_stream(stream);
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
  /// @brief to(i, j) += value, through a round trip to the host (once per backward pass, for the loss seed).
  template <class T>
  void add_to_element(MatrixView<T> to, std::int64_t i, std::int64_t j, T value) const {
    GAS_CHECK(0 <= i && i < to.rows() && 0 <= j && j < to.cols(), shape_error,
              "element (" << i << ", " << j << ") outside (" << to.rows() << " x " << to.cols() << ")");
    T current{};
    MatrixView<T> one(to.data() + i * to.ld() + j, 1, 1);
    download(MatrixView<const T>(one), MatrixView<T>(&current, 1, 1));
    current += value;
    upload(MatrixView<const T>(&current, 1, 1), one);
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

  cudaStream_t stream_ = nullptr;
  std::optional<cuda::BlasHandle> blas_;
};

}  // namespace gas
