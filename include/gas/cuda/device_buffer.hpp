#pragma once
/// @brief `DeviceBuffer<T>`: an RAII array of device memory taken from a `CachingArena` for one stream.

#include <cuda_runtime.h>

#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/cuda/arena.hpp"
#include "gas/cuda/error.hpp"

namespace gas::cuda {

/// @brief `size()` elements of device memory, owned; returned to its arena on the buffer's stream.
/// The elements are uninitialized. Copies run on the buffer's stream, so they are ordered with the
/// kernels queued there and never with the legacy default stream.
/// @tparam T element type; trivially copyable, because elements move between host and device as bytes.
template <class T>
class DeviceBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "gas::cuda::DeviceBuffer holds trivially copyable elements");

public:
  using value_type = T;

  /// @brief An empty buffer; makes no CUDA call.
  DeviceBuffer() = default;
  /// @brief `count` elements for `stream` (a stream of the current device) from that device's default
  /// arena; no CUDA call when `count` is 0.
  explicit DeviceBuffer(std::size_t count, cudaStream_t stream = nullptr) : size_(count), stream_(stream) {
    if (count == 0) return;
    arena_ = &default_arena();
    data_ = static_cast<T*>(arena_->allocate(checked_bytes(count), stream));
  }
  /// @brief `count` elements for `stream` (a stream of the arena's device) from `arena`, which must outlive the buffer.
  DeviceBuffer(std::size_t count, cudaStream_t stream, CachingArena& arena)
      : data_(static_cast<T*>(arena.allocate(checked_bytes(count), stream))), size_(count), stream_(stream),
        arena_(&arena) {}
  /// @brief Returns the memory to the arena on `stream()`; never throws.
  ~DeviceBuffer() { reset(); }

  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  /// @brief Takes the memory over; `other` is left empty.
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
        stream_(std::exchange(other.stream_, nullptr)), arena_(std::exchange(other.arena_, nullptr)) {}
  /// @brief Returns the held memory, then takes `other`'s over.
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      stream_ = std::exchange(other.stream_, nullptr);
      arena_ = std::exchange(other.arena_, nullptr);
    }
    return *this;
  }

  /// @brief Device pointer to the first element (nullptr when empty).
  [[nodiscard]] T* data() { return data_; }
  /// @brief Device pointer to the first element (nullptr when empty).
  [[nodiscard]] const T* data() const { return data_; }
  /// @brief Number of elements.
  [[nodiscard]] std::size_t size() const { return size_; }
  /// @brief Number of bytes the elements take (the arena may hold a few more).
  [[nodiscard]] std::size_t bytes() const { return size_ * sizeof(T); }
  /// @brief True when the buffer holds no elements.
  [[nodiscard]] bool empty() const { return size_ == 0; }
  /// @brief The stream the copies run on and the memory is returned on.
  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  /// @brief The arena the memory came from (nullptr when nothing was allocated).
  [[nodiscard]] CachingArena* arena() const { return arena_; }

  /// @brief Moves the buffer to `stream`: later copies and the final free use it. The caller must first
  /// order the old stream's work on this buffer before `stream` (e.g. with an Event).
  void set_stream(cudaStream_t stream) { stream_ = stream; }

  /// @brief Queues a copy of `host` (exactly size() elements) into the buffer on `stream()`.
  /// `host` must stay alive and unchanged until the stream reaches the copy (pageable memory returns
  /// only once it is staged; pinned memory returns at once).
  void copy_from(std::span<const T> host) {
    GAS_CHECK(host.size() == size_, shape_error, host.size() << " host elements for a buffer of " << size_);
    if (size_ == 0) return;
    GAS_CUDA_CHECK(cudaMemcpyAsync(data_, host.data(), bytes(), cudaMemcpyHostToDevice, stream_));
  }
  /// @brief Queues a copy of the buffer into `host` (exactly size() elements) on `stream()`; synchronize
  /// the stream before reading `host`.
  void copy_to(std::span<T> host) const {
    GAS_CHECK(host.size() == size_, shape_error, host.size() << " host elements for a buffer of " << size_);
    if (size_ == 0) return;
    GAS_CUDA_CHECK(cudaMemcpyAsync(host.data(), data_, bytes(), cudaMemcpyDeviceToHost, stream_));
  }
  /// @brief The elements as a host vector; waits for `stream()` (a debugging and testing aid, not for a step).
  [[nodiscard]] std::vector<T> to_host() const {
    std::vector<T> host(size_);
    copy_to(host);
    if (size_ != 0) GAS_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return host;
  }
  /// @brief Queues setting every byte to zero on `stream()`.
  void fill_zero() {
    if (size_ != 0) GAS_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes(), stream_));
  }

private:
  static std::size_t checked_bytes(std::size_t count) {
    GAS_CHECK(count <= std::numeric_limits<std::size_t>::max() / sizeof(T), value_error,
              count << " elements of " << sizeof(T) << " bytes overflow size_t");
    return count * sizeof(T);
  }

  void reset() noexcept {
    if (data_ == nullptr) return;
    try {
      arena_->deallocate(std::exchange(data_, nullptr), stream_);
    } catch (...) {
      // A destructor must not throw; the block stays counted in use, which the arena's stats reveal.
    }
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  cudaStream_t stream_ = nullptr;
  CachingArena* arena_ = nullptr;
};

}  // namespace gas::cuda
