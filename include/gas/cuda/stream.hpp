#pragma once
/// @brief `Stream`: an owned, non-blocking CUDA stream (RAII, movable, not copyable).

#include <cuda_runtime.h>

#include <utility>

#include "gas/cuda/device.hpp"
#include "gas/cuda/error.hpp"

namespace gas::cuda {

/// @brief Settings of a new stream.
struct StreamOptions {
  /// @brief CUDA priority; lower numbers run first. 0 is the default; see cudaDeviceGetStreamPriorityRange.
  int priority = 0;
};

/// @brief An owned non-blocking stream on the device that was current at construction.
/// Non-blocking because the legacy default stream must never serialize gas's compute and copy
/// streams behind one another (a stray synchronous cudaMemcpy elsewhere would otherwise stall them).
class Stream {
public:
  /// @brief Creates a non-blocking stream with default priority; throws cuda_error without a GPU.
  Stream() : Stream(StreamOptions{}) {}
  /// @brief Creates a non-blocking stream with the given options on the current device.
  explicit Stream(StreamOptions options) : device_(current_device()) {
    GAS_CUDA_CHECK(cudaStreamCreateWithPriority(&stream_, cudaStreamNonBlocking, options.priority));
  }
  /// @brief Waits for the queued work, then destroys the stream; never throws.
  ~Stream() { reset(); }

  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  /// @brief Takes the stream over; `other` is left holding none.
  Stream(Stream&& other) noexcept
      : stream_(std::exchange(other.stream_, nullptr)), device_(std::exchange(other.device_, -1)) {}
  /// @brief Destroys the held stream, then takes `other`'s over.
  Stream& operator=(Stream&& other) noexcept {
    if (this != &other) {
      reset();
      stream_ = std::exchange(other.stream_, nullptr);
      device_ = std::exchange(other.device_, -1);
    }
    return *this;
  }

  /// @brief The raw handle; nullptr (the legacy default stream) after a move, so don't use a moved-from Stream.
  [[nodiscard]] cudaStream_t get() const { return stream_; }
  /// @brief The device the stream belongs to (-1 after a move).
  [[nodiscard]] int device_id() const { return device_; }
  /// @brief Blocks the calling host thread until all work queued so far has finished.
  void synchronize() const { GAS_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  /// @brief True when all queued work has finished; never blocks.
  [[nodiscard]] bool query() const {
    const cudaError_t status = cudaStreamQuery(stream_);
    if (status == cudaErrorNotReady) {
      // "Not ready" is an answer, not a failure: drop it from the last-error slot, unless an older error sits there.
      if (cudaPeekAtLastError() == cudaErrorNotReady) (void)cudaGetLastError();
      return false;
    }
    GAS_CUDA_CHECK(status);
    return true;
  }

private:
  void reset() noexcept {
    if (stream_ == nullptr) return;
    // Drain first: the runtime may hand this handle to the next new stream, and a caching arena keys
    // freed blocks by handle, so work still running here must not look like that new stream's past.
    detail::ignore(cudaStreamSynchronize(stream_));
    detail::ignore(cudaStreamDestroy(std::exchange(stream_, nullptr)));
  }

  cudaStream_t stream_ = nullptr;
  int device_ = -1;
};

}  // namespace gas::cuda
