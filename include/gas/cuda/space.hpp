#pragma once
/// @brief Memory spaces in the types: `SpaceView<T, Space>` is a row-major (rows, cols) view that says whether its
/// memory is pageable host memory, pinned host memory, mapped (zero-copy) pinned memory or device memory, and
/// `copy_async` is the one asynchronous copy between views, which accepts only the spaces a DMA engine can serve.
///
/// Why types and not run-time checks: the two mistakes of an overlapped pipeline are a host loop over device memory
/// (a fault on a GPU, silent on our CPU emulation when memory is not protected) and a pageable buffer handed to an
/// asynchronous copy (CUDA then stages it synchronously, and the overlap is gone without a word). Both are now
/// compile errors: a device view has no element access, and copy_async does not accept a pageable view.
/// MatrixView stays the element-access view of host code; `host()` converts a host-accessible SpaceView to it.

#include <cuda_runtime.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/error.hpp"

namespace gas::cuda {

/// @brief Ordinary (pageable) host memory: the host reads it; asynchronous copies must not be given it.
struct pageable_space {
  static constexpr bool host_access = true, device_access = false, dma = false;
  static constexpr const char* name = "pageable host";
};
/// @brief Page-locked host memory (cudaHostAlloc): the host reads it and the copy engines move it asynchronously.
struct pinned_space {
  static constexpr bool host_access = true, device_access = false, dma = true;
  static constexpr const char* name = "pinned host";
};
/// @brief Pinned host memory mapped into the device's address space: kernels read it over the bus (zero-copy).
struct mapped_space {
  static constexpr bool host_access = true, device_access = true, dma = true;
  static constexpr const char* name = "mapped pinned host";
};
/// @brief Device memory: kernels and copies only; the host never dereferences it.
struct device_space {
  static constexpr bool host_access = false, device_access = true, dma = true;
  static constexpr const char* name = "device";
};

/// @brief One of the four spaces.
template <class S>
concept MemorySpace = std::same_as<S, pageable_space> || std::same_as<S, pinned_space> ||
                      std::same_as<S, mapped_space> || std::same_as<S, device_space>;

/// @brief A non-owning row-major (rows, cols) view with leading dimension ld() in memory space `Space`.
/// Element access exists only for host-accessible spaces, so a host loop over device memory does not compile.
template <class T, MemorySpace Space>
class SpaceView {
public:
  using value_type = T;
  using space = Space;

  SpaceView() = default;
  /// @brief rows x cols elements from `data`, rows `ld` apart (ld defaults to cols).
  SpaceView(T* data, std::int64_t rows, std::int64_t cols, std::int64_t ld = -1)
      : data_(data), rows_(rows), cols_(cols), ld_(ld < 0 ? cols : ld) {}
  /// @brief A const view of the same memory.
  template <class U = T>
    requires(!std::is_const_v<U>)
  operator SpaceView<const U, Space>() const {
    return {data_, rows_, cols_, ld_};
  }

  [[nodiscard]] T* data() const { return data_; }
  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] std::int64_t ld() const { return ld_; }
  [[nodiscard]] bool contiguous() const { return ld_ == cols_ || rows_ <= 1; }
  /// @brief Rows [begin, end); unchecked beyond debug builds, as MatrixView::slice_rows.
  [[nodiscard]] SpaceView slice_rows(std::int64_t begin, std::int64_t end) const {
    return {data_ + begin * ld_, end - begin, cols_, ld_};
  }
  /// @brief Element (i, j): host-accessible spaces only.
  T& operator()(std::int64_t i, std::int64_t j) const
    requires(Space::host_access)
  {
    return data_[i * ld_ + j];
  }
  /// @brief The host view of host-accessible memory (what host code and history stores take).
  [[nodiscard]] MatrixView<T> host() const
    requires(Space::host_access)
  {
    return {data_, rows_, cols_, ld_};
  }

private:
  T* data_ = nullptr;
  std::int64_t rows_ = 0, cols_ = 0, ld_ = 0;
};

template <class T>
using PageableView = SpaceView<T, pageable_space>;
template <class T>
using PinnedView = SpaceView<T, pinned_space>;
template <class T>
using MappedView = SpaceView<T, mapped_space>;
template <class T>
using DeviceView = SpaceView<T, device_space>;

/// @brief The device view of a device tensor's memory (tensors and tape values are device memory on this backend).
template <class T>
DeviceView<T> device_view(MatrixView<T> device_memory) {
  return {device_memory.data(), device_memory.rows(), device_memory.cols(), device_memory.ld()};
}

namespace detail {
template <class From, class To>
constexpr cudaMemcpyKind copy_kind() {
  if constexpr (std::same_as<From, device_space> && std::same_as<To, device_space>)
    return cudaMemcpyDeviceToDevice;
  else if constexpr (std::same_as<From, device_space>)
    return cudaMemcpyDeviceToHost;
  else if constexpr (std::same_as<To, device_space>)
    return cudaMemcpyHostToDevice;
  else
    return cudaMemcpyHostToHost;
}
}  // namespace detail

/// @brief Whether copy_async may move data from space From to space To: both must be DMA-capable (pinned, mapped or
/// device). A pageable buffer would make CUDA stage it synchronously and silently end the overlap.
template <class From, class To>
concept AsyncCopyable = MemorySpace<From> && MemorySpace<To> && From::dma && To::dma;

/// @brief Queues `to = from` on `stream` (same shape; any leading dimensions; one 2-D copy). Returns at once; the
/// source must stay unchanged and the destination unread until the stream reaches the copy (order it with events).
/// Throws shape_error naming both shapes when they differ.
template <class T, class From, class To>
  requires AsyncCopyable<From, To>
void copy_async(SpaceView<const T, From> from, SpaceView<T, To> to, cudaStream_t stream) {
  GAS_CHECK(from.rows() == to.rows() && from.cols() == to.cols(), shape_error,
            "copy_async from " << From::name << " (" << from.rows() << " x " << from.cols() << ") to " << To::name
                               << " (" << to.rows() << " x " << to.cols() << ")");
  if (from.rows() == 0 || from.cols() == 0) return;
  GAS_CUDA_CHECK(cudaMemcpy2DAsync(to.data(), static_cast<std::size_t>(to.ld()) * sizeof(T), from.data(),
                                   static_cast<std::size_t>(from.ld()) * sizeof(T),
                                   static_cast<std::size_t>(from.cols()) * sizeof(T),
                                   static_cast<std::size_t>(from.rows()), detail::copy_kind<From, To>(), stream));
}

/// @brief copy_async from a non-const view.
template <class T, class From, class To>
  requires AsyncCopyable<From, To> && (!std::is_const_v<T>)
void copy_async(SpaceView<T, From> from, SpaceView<T, To> to, cudaStream_t stream) {
  copy_async(SpaceView<const T, From>(from), to, stream);
}

/// @brief Whether a kernel may read memory of space S (device memory, or mapped pinned memory over the bus).
template <class S>
concept DeviceReadable = MemorySpace<S> && S::device_access;

}  // namespace gas::cuda
