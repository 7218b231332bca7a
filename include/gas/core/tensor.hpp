#pragma once
/// @brief Row-major dense matrices on the host: an owning `Tensor` and non-owning `MatrixView`s.
///
/// Node rows are contiguous (row-major) so that a history row or a feature row copies as one block.
/// Views carry a leading dimension so that a column block of a wider matrix is a view too.

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/fwd.hpp"

namespace gas {

template <class T>
inline constexpr bool dependent_false = false;

/// @brief Non-owning view of a row-major (rows, cols) matrix with leading dimension `ld` >= cols.
template <class T>
class MatrixView {
public:
  using value_type = std::remove_const_t<T>;

  MatrixView() = default;
  MatrixView(T* data, std::int64_t rows, std::int64_t cols) : MatrixView(data, rows, cols, cols) {}
  MatrixView(T* data, std::int64_t rows, std::int64_t cols, std::int64_t ld)
      : data_(data), rows_(rows), cols_(cols), ld_(ld) {
    GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "negative shape (" << rows << ", " << cols << ")");
    GAS_CHECK(ld >= cols, shape_error, "leading dimension " << ld << " < cols " << cols);
  }
  /// @brief A view of const elements from a view of mutable ones.
  /// (A template, so that a const view declares no conversion to itself at all: nvcc warns about one even when
  /// a requires-clause disables it.)
  template <class U = T>
    requires(!std::is_const_v<U>)
  operator MatrixView<const U>() const {
    return {data_, rows_, cols_, ld_};
  }

  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] std::int64_t ld() const { return ld_; }
  [[nodiscard]] T* data() const { return data_; }
  [[nodiscard]] bool contiguous() const { return ld_ == cols_ || rows_ <= 1; }

  /// @brief Element (i, j); unchecked, for inner loops.
  T& operator()(std::int64_t i, std::int64_t j) const { return data_[i * ld_ + j]; }

  /// @brief Row i as a span; checked.
  [[nodiscard]] std::span<T> row(std::int64_t i) const {
    GAS_CHECK(i >= 0 && i < rows_, shape_error, "row " << i << " out of range [0, " << rows_ << ")");
    return {data_ + i * ld_, static_cast<std::size_t>(cols_)};
  }

  /// @brief Rows [begin, end) as a view; checked.
  [[nodiscard]] MatrixView slice_rows(std::int64_t begin, std::int64_t end) const {
    GAS_CHECK(0 <= begin && begin <= end && end <= rows_, shape_error,
              "row range [" << begin << ", " << end << ") outside [0, " << rows_ << ")");
    return {data_ + begin * ld_, end - begin, cols_, ld_};
  }

  /// @brief Columns [begin, end) as a view; checked.
  [[nodiscard]] MatrixView slice_cols(std::int64_t begin, std::int64_t end) const {
    GAS_CHECK(0 <= begin && begin <= end && end <= cols_, shape_error,
              "column range [" << begin << ", " << end << ") outside [0, " << cols_ << ")");
    return {data_ + begin, rows_, end - begin, ld_};
  }

private:
  T* data_ = nullptr;
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  std::int64_t ld_ = 0;
};

/// @brief Owning row-major (rows, cols) matrix; the primary template exists only for its backends.
/// @tparam T element type (arithmetic).
/// @tparam Backend where the storage lives (`gas::host`; device backends live under gas/cuda/).
template <class T, class Backend>
class Tensor {
  static_assert(dependent_false<Backend>, "gas::Tensor: no specialization for this backend");
};

/// @brief Host tensor: contiguous row-major storage in a std::vector.
template <class T>
class Tensor<T, host> {
  static_assert(std::is_arithmetic_v<T>, "gas::Tensor holds arithmetic elements");

public:
  using value_type = T;
  using backend = host;

  Tensor() = default;
  /// @brief A (rows, cols) tensor filled with `value`.
  Tensor(std::int64_t rows, std::int64_t cols, T value = T{}) : rows_(rows), cols_(cols) {
    GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "negative shape (" << rows << ", " << cols << ")");
    storage_.assign(static_cast<std::size_t>(rows * cols), value);
  }
  /// @brief Takes ownership of `values`, which must hold rows * cols elements in row-major order.
  Tensor(std::int64_t rows, std::int64_t cols, std::vector<T> values) : rows_(rows), cols_(cols) {
    GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "negative shape (" << rows << ", " << cols << ")");
    GAS_CHECK(static_cast<std::int64_t>(values.size()) == rows * cols, shape_error,
              values.size() << " values for shape (" << rows << ", " << cols << ")");
    storage_ = std::move(values);
  }
  /// @brief Copies a view (any leading dimension) into a new contiguous tensor.
  explicit Tensor(MatrixView<const T> from) : Tensor(from.rows(), from.cols()) {
    for (std::int64_t i = 0; i < rows_; ++i)
      for (std::int64_t j = 0; j < cols_; ++j) storage_[static_cast<std::size_t>(i * cols_ + j)] = from(i, j);
  }

  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] std::int64_t size() const { return rows_ * cols_; }
  [[nodiscard]] bool empty() const { return storage_.empty(); }
  /// @brief Elements the allocation holds (resize within it allocates nothing).
  [[nodiscard]] std::int64_t capacity() const { return static_cast<std::int64_t>(storage_.capacity()); }
  [[nodiscard]] T* data() { return storage_.data(); }
  [[nodiscard]] const T* data() const { return storage_.data(); }
  [[nodiscard]] std::span<T> values() { return storage_; }
  [[nodiscard]] std::span<const T> values() const { return storage_; }

  T& operator()(std::int64_t i, std::int64_t j) { return storage_[static_cast<std::size_t>(i * cols_ + j)]; }
  const T& operator()(std::int64_t i, std::int64_t j) const {
    return storage_[static_cast<std::size_t>(i * cols_ + j)];
  }

  [[nodiscard]] MatrixView<T> view() { return {storage_.data(), rows_, cols_}; }
  [[nodiscard]] MatrixView<const T> view() const { return {storage_.data(), rows_, cols_}; }
  operator MatrixView<T>() { return view(); }
  operator MatrixView<const T>() const { return view(); }

  [[nodiscard]] std::span<T> row(std::int64_t i) { return view().row(i); }
  [[nodiscard]] std::span<const T> row(std::int64_t i) const { return view().row(i); }
  [[nodiscard]] MatrixView<T> slice_rows(std::int64_t b, std::int64_t e) { return view().slice_rows(b, e); }
  [[nodiscard]] MatrixView<const T> slice_rows(std::int64_t b, std::int64_t e) const {
    return view().slice_rows(b, e);
  }

  /// @brief Reshapes to (rows, cols), keeping no values; reuses the allocation when it is large enough.
  void resize(std::int64_t rows, std::int64_t cols) {
    GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "negative shape (" << rows << ", " << cols << ")");
    rows_ = rows;
    cols_ = cols;
    const auto n = static_cast<std::size_t>(rows * cols);
    // Growing past the allocation: drop the old values first (vector::resize would copy them into the new block,
    // for nothing), and leave an eighth of slack, since batches of a training run differ a little in size.
    if (n > storage_.capacity()) {
      std::vector<T>().swap(storage_);
      storage_.reserve(n + n / 8);
    }
    storage_.resize(n);
  }
  void fill(T value) { std::fill(storage_.begin(), storage_.end(), value); }

  friend bool operator==(const Tensor& a, const Tensor& b) {
    return a.rows_ == b.rows_ && a.cols_ == b.cols_ && a.storage_ == b.storage_;
  }

private:
  std::vector<T> storage_;
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
};

}  // namespace gas
