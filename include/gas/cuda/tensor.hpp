#pragma once
/// @brief `Tensor<T, gas::cuda::device>`: the device specialization of gas::Tensor, a row-major (rows, cols) matrix in
/// arena memory, with explicit transfers to and from host tensors. The device kernels (cuda/kernels/) take its
/// data(), and a device `autograd::Tape` keeps its values in such tensors.

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>
#include <vector>

#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"

namespace gas {

/// @brief Device tensor: contiguous row-major storage in a cuda::DeviceBuffer from the current device's arena.
///
/// Transfers run on the tensor's stream: from_host() and copy_from() return once the copy is queued (the host
/// tensor must stay alive and unchanged until the stream reaches it); to_host() waits for its copy. Moving keeps
/// the memory; copying is explicit (clone()), since a hidden device copy is a cost a user should see.
template <class T>
class Tensor<T, cuda::device> {
  static_assert(std::is_arithmetic_v<T>, "gas::Tensor holds arithmetic elements");

public:
  using value_type = T;
  using backend = cuda::device;

  Tensor() = default;
  /// @brief A (rows, cols) tensor with uninitialized elements on `stream` (fill_zero() to clear it). Throws
  /// shape_error for a negative shape, cuda_error when the device cannot provide the memory.
  Tensor(std::int64_t rows, std::int64_t cols, cudaStream_t stream = nullptr)
      : storage_(checked_size(rows, cols), stream), rows_(rows), cols_(cols) {}

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  /// @brief A device copy of `host`, queued on `stream`.
  static Tensor from_host(const Tensor<T, host>& h, cudaStream_t stream = nullptr) {
    Tensor t(h.rows(), h.cols(), stream);
    t.copy_from(h);
    return t;
  }

  /// @brief Queues a copy of `h` into this tensor. Throws shape_error naming both shapes when they differ.
  void copy_from(const Tensor<T, host>& h) {
    GAS_CHECK(h.rows() == rows_ && h.cols() == cols_, shape_error,
              "host tensor (" << h.rows() << " x " << h.cols() << ") into device tensor (" << rows_ << " x "
                              << cols_ << ")");
    // The logical size, not the buffer's: after a shrinking resize() the buffer is larger than the tensor.
    if (bytes() > 0)
      GAS_CUDA_CHECK(cudaMemcpyAsync(data(), h.data(), bytes(), cudaMemcpyHostToDevice, storage_.stream()));
  }

  /// @brief A host copy; waits for the copy (and everything queued before it on the stream).
  [[nodiscard]] Tensor<T, host> to_host() const {
    Tensor<T, host> h(rows_, cols_);
    if (bytes() == 0) return h;
    GAS_CUDA_CHECK(cudaMemcpyAsync(h.data(), data(), bytes(), cudaMemcpyDeviceToHost, storage_.stream()));
    GAS_CUDA_CHECK(cudaStreamSynchronize(storage_.stream()));
    return h;
  }

  /// @brief A device copy of this tensor on the same stream.
  [[nodiscard]] Tensor clone() const {
    Tensor t(rows_, cols_, storage_.stream());
    if (bytes() > 0)
      GAS_CUDA_CHECK(cudaMemcpyAsync(t.data(), data(), bytes(), cudaMemcpyDeviceToDevice, storage_.stream()));
    return t;
  }

  /// @brief Reshapes to (rows, cols), keeping no values; reuses the memory when it is large enough, so a training
  /// step that sees the same shapes again allocates nothing.
  void resize(std::int64_t rows, std::int64_t cols) {
    const std::size_t n = checked_size(rows, cols);
    if (n > storage_.size()) storage_ = cuda::DeviceBuffer<T>(n, storage_.stream());
    rows_ = rows;
    cols_ = cols;
  }

  /// @brief Sets every element to zero (queued on the stream).
  void fill_zero() {
    if (size() > 0) GAS_CUDA_CHECK(cudaMemsetAsync(data(), 0, bytes(), storage_.stream()));
  }
  /// @brief Sets every element to `value`: a memset for zero, else an upload of a staged host copy (for
  /// initialization; pageable memory is staged before the call returns).
  void fill(T value) {
    if (value == T{0} || size() == 0) return fill_zero();
    const std::vector<T> staged(static_cast<std::size_t>(size()), value);
    GAS_CUDA_CHECK(cudaMemcpyAsync(data(), staged.data(), bytes(), cudaMemcpyHostToDevice, storage_.stream()));
  }

  /// @brief A view of the device memory (rows are cols() apart); not dereferenceable on the host.
  [[nodiscard]] MatrixView<T> view() { return {data(), rows_, cols_}; }
  [[nodiscard]] MatrixView<const T> view() const { return {data(), rows_, cols_}; }
  operator MatrixView<T>() { return view(); }
  operator MatrixView<const T>() const { return view(); }

  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] std::int64_t size() const { return rows_ * cols_; }
  /// @brief Elements the allocation holds (resize within it allocates nothing).
  [[nodiscard]] std::int64_t capacity() const { return static_cast<std::int64_t>(storage_.size()); }
  [[nodiscard]] std::size_t bytes() const { return static_cast<std::size_t>(size()) * sizeof(T); }
  /// @brief Device pointer to element (0, 0); rows are cols() apart.
  [[nodiscard]] T* data() { return storage_.data(); }
  [[nodiscard]] const T* data() const { return storage_.data(); }
  [[nodiscard]] cudaStream_t stream() const { return storage_.stream(); }
  /// @brief Makes later transfers and clears run on `stream` (the caller orders it after earlier work).
  void set_stream(cudaStream_t stream) { storage_.set_stream(stream); }

private:
  static std::size_t checked_size(std::int64_t rows, std::int64_t cols) {
    GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "negative shape (" << rows << ", " << cols << ")");
    return static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  }

  cuda::DeviceBuffer<T> storage_;
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
};

}  // namespace gas
