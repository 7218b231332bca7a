#pragma once
/// @brief Page-locked ("pinned") host memory: `PinnedBuffer<T>` and the standard allocator `PinnedAllocator<T>`.
///
/// Pinned memory is what makes host<->device copies asynchronous and full-speed; the history tables
/// that stay on the host live in it so that pulls and pushes overlap with compute.

#include <cuda_runtime.h>

#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/cuda/device.hpp"
#include "gas/cuda/error.hpp"

namespace gas::cuda {

/// @brief Settings of a pinned allocation (cudaHostAlloc flags).
struct PinnedOptions {
  /// @brief Pinned for every CUDA context, not only the current one: safe with several devices, costs nothing.
  bool portable = true;
  /// @brief Also mapped into the device address space, so kernels can read it in place (zero-copy gathers).
  bool mapped = false;
  /// @brief Write-combined: faster host writes and PCIe reads, very slow host reads. For upload-only staging.
  bool write_combined = false;
};

namespace detail {
inline unsigned pinned_flags(PinnedOptions options) {
  unsigned flags = cudaHostAllocDefault;
  if (options.portable) flags |= cudaHostAllocPortable;
  if (options.mapped) flags |= cudaHostAllocMapped;
  if (options.write_combined) flags |= cudaHostAllocWriteCombined;
  return flags;
}

inline void* pinned_alloc(std::size_t count, std::size_t element_bytes, PinnedOptions options) {
  GAS_CHECK(count <= std::numeric_limits<std::size_t>::max() / element_bytes, value_error,
            count << " elements of " << element_bytes << " bytes overflow size_t");
  void* ptr = nullptr;
  GAS_CUDA_CHECK(cudaHostAlloc(&ptr, count * element_bytes, pinned_flags(options)));
  return ptr;
}
}  // namespace detail

/// @brief `size()` elements of pinned host memory, owned; uninitialized.
/// @tparam T element type; trivial, since the memory comes from cudaHostAlloc and no constructor runs.
template <class T>
class PinnedBuffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_default_constructible_v<T>,
                "gas::cuda::PinnedBuffer holds trivial elements (no constructor runs on cudaHostAlloc memory)");

public:
  using value_type = T;

  /// @brief An empty buffer; makes no CUDA call.
  PinnedBuffer() = default;
  /// @brief `count` uninitialized elements (no CUDA call when 0); throws cuda_error when pinning fails.
  explicit PinnedBuffer(std::size_t count, PinnedOptions options = {})
      : data_(count == 0 ? nullptr : static_cast<T*>(detail::pinned_alloc(count, sizeof(T), options))),
        size_(count), mapped_(options.mapped) {}
  /// @brief Unpins and frees; never throws.
  ~PinnedBuffer() { reset(); }

  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  /// @brief Takes the memory over; `other` is left empty.
  PinnedBuffer(PinnedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
        mapped_(std::exchange(other.mapped_, false)) {}
  /// @brief Frees the held memory, then takes `other`'s over.
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      mapped_ = std::exchange(other.mapped_, false);
    }
    return *this;
  }

  /// @brief Host pointer to the first element (nullptr when empty).
  [[nodiscard]] T* data() { return data_; }
  /// @brief Host pointer to the first element (nullptr when empty).
  [[nodiscard]] const T* data() const { return data_; }
  /// @brief Number of elements.
  [[nodiscard]] std::size_t size() const { return size_; }
  /// @brief Number of bytes the elements take.
  [[nodiscard]] std::size_t bytes() const { return size_ * sizeof(T); }
  /// @brief True when the buffer holds no elements.
  [[nodiscard]] bool empty() const { return size_ == 0; }
  /// @brief The elements as a span.
  [[nodiscard]] std::span<T> span() { return {data_, size_}; }
  /// @brief The elements as a span.
  [[nodiscard]] std::span<const T> span() const { return {data_, size_}; }
  /// @brief Element i; unchecked, for inner loops.
  T& operator[](std::size_t i) { return data_[i]; }
  /// @brief Element i; unchecked, for inner loops.
  const T& operator[](std::size_t i) const { return data_[i]; }
  /// @brief First element, for range-for and algorithms.
  [[nodiscard]] T* begin() { return data_; }
  /// @brief One past the last element.
  [[nodiscard]] T* end() { return data_ + size_; }
  /// @brief First element, for range-for and algorithms.
  [[nodiscard]] const T* begin() const { return data_; }
  /// @brief One past the last element.
  [[nodiscard]] const T* end() const { return data_ + size_; }

  /// @brief The device-side address of mapped memory, for zero-copy kernels; value_error unless
  /// allocated with `PinnedOptions{.mapped = true}`.
  [[nodiscard]] T* device_pointer() const {
    GAS_CHECK(mapped_, value_error, "the buffer was not allocated with PinnedOptions{.mapped = true}");
    if (data_ == nullptr) return nullptr;
    void* device = nullptr;
    GAS_CUDA_CHECK(cudaHostGetDevicePointer(&device, data_, 0));
    return static_cast<T*>(device);
  }

private:
  void reset() noexcept {
    if (data_ != nullptr) detail::ignore(cudaFreeHost(std::exchange(data_, nullptr)));
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
};

/// @brief A stateless standard allocator of portable pinned host memory, for `std::vector` and friends.
/// Allocation failure throws cuda_error (a std::exception, as containers expect).
template <class T>
class PinnedAllocator {
public:
  using value_type = T;
  /// @brief Stateless: any instance frees what any other allocated.
  using is_always_equal = std::true_type;

  /// @brief A stateless allocator.
  PinnedAllocator() noexcept = default;
  /// @brief Rebinding copy from an allocator of another element type.
  template <class U>
  PinnedAllocator(const PinnedAllocator<U>&) noexcept {}  // implicit: containers convert when they rebind

  /// @brief Pinned storage for `n` elements; cuda_error when the driver refuses.
  [[nodiscard]] T* allocate(std::size_t n) {
    // cudaHostAlloc returns page-aligned memory, which covers every alignment a T can ask for here.
    static_assert(alignof(T) <= 4096, "gas::cuda::PinnedAllocator: alignment above a page");
    if (n == 0) return nullptr;
    return static_cast<T*>(detail::pinned_alloc(n, sizeof(T), PinnedOptions{}));
  }
  /// @brief Frees storage from `allocate`; never throws.
  void deallocate(T* ptr, std::size_t) noexcept {
    if (ptr != nullptr) detail::ignore(cudaFreeHost(ptr));
  }
};

/// @brief All pinned allocators are interchangeable, whatever their element types.
template <class T, class U>
bool operator==(const PinnedAllocator<T>&, const PinnedAllocator<U>&) noexcept {
  return true;
}

/// @brief A std::vector in pinned host memory: async copies from and to it overlap with compute.
template <class T>
using PinnedVector = std::vector<T, PinnedAllocator<T>>;

}  // namespace gas::cuda
