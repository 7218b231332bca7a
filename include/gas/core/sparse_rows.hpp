#pragma once
/// @brief `SparseRowsView`: a (rows, cols) matrix in CSR by reference, in whatever memory its pointers address (the
/// host for Dataset features, the backend's for a sparse tape value).

#include <algorithm>
#include <cstdint>

namespace gas {

/// @brief A read-only view of a (rows, cols) sparse matrix in CSR: row i's entries are positions
/// [indptr[i], indptr[i + 1]) of `indices` (columns, ascending) and `values`.
template <class F>
struct SparseRowsView {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  const std::int64_t* indptr = nullptr;  // (rows + 1)
  const std::int32_t* indices = nullptr;  // (nnz)
  const F* values = nullptr;              // (nnz)

  [[nodiscard]] std::int64_t nnz() const { return rows > 0 ? indptr[rows] - indptr[0] : 0; }
  /// @brief Writes row i densely into dst[0, cols), converted to T (zeros elsewhere).
  template <class T>
  void copy_row(std::int64_t i, T* dst) const {
    std::fill_n(dst, cols, T{0});
    for (std::int64_t k = indptr[i]; k < indptr[i + 1]; ++k) dst[indices[k]] = static_cast<T>(values[k]);
  }
};

}  // namespace gas
