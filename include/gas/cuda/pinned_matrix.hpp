#pragma once
/// @brief `PinnedMatrix<E>`: an owned (rows, cols) row-major matrix in pinned host memory, optionally mapped into
/// the device's address space, viewed through the memory-space views of gas/cuda/space.hpp.

#include <cstdint>
#include <type_traits>

#include "gas/core/check.hpp"
#include "gas/cuda/pinned.hpp"
#include "gas/cuda/space.hpp"

namespace gas::cuda {

/// @brief rows x cols elements of pinned (or mapped pinned) host memory; grows only (reserve), never shrinks, so
/// a pipeline that reserves its capacity up front allocates nothing afterwards.
template <class E>
class PinnedMatrix {
public:
  PinnedMatrix() = default;
  /// @brief A (rows, cols) matrix; mapped memory when `mapped` (kernels may then read it in place).
  PinnedMatrix(std::int64_t rows, std::int64_t cols, bool mapped = false) : mapped_(mapped) { resize(rows, cols); }

  /// @brief Makes room for `elements` without changing the shape; returns true when it had to allocate.
  bool reserve(std::int64_t elements) {
    GAS_CHECK(elements >= 0, shape_error, "negative capacity " << elements);
    if (static_cast<std::size_t>(elements) <= buffer_.size()) return false;
    buffer_ = PinnedBuffer<E>(static_cast<std::size_t>(elements), PinnedOptions{.mapped = mapped_});
    return true;
  }
  /// @brief Reshapes to (rows, cols), keeping no values; returns true when it had to allocate.
  bool resize(std::int64_t rows, std::int64_t cols) {
    GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "negative shape (" << rows << ", " << cols << ")");
    const bool grew = reserve(rows * cols);
    rows_ = rows;
    cols_ = cols;
    return grew;
  }

  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] std::size_t capacity() const { return buffer_.size(); }
  [[nodiscard]] std::size_t bytes() const { return buffer_.bytes(); }
  [[nodiscard]] bool mapped() const { return mapped_; }
  [[nodiscard]] E* data() { return buffer_.data(); }
  [[nodiscard]] const E* data() const { return buffer_.data(); }

  /// @brief The matrix as pinned memory (host element access, asynchronous copies).
  [[nodiscard]] PinnedView<E> view() { return {buffer_.data(), rows_, cols_}; }
  [[nodiscard]] PinnedView<const E> view() const { return {buffer_.data(), rows_, cols_}; }
  /// @brief The matrix as a kernel sees it (the device-side address of mapped memory); value_error unless mapped.
  [[nodiscard]] MappedView<const E> device_view() const {
    return {buffer_.device_pointer(), rows_, cols_};
  }

private:
  PinnedBuffer<E> buffer_;
  std::int64_t rows_ = 0, cols_ = 0;
  bool mapped_ = false;
};

}  // namespace gas::cuda
