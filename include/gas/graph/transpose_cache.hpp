#pragma once
/// @brief `CsrTranspose`: the stable transposed index of a CSR pattern, and the cache through which a `Csr` builds it
/// once and shares it (the backward passes of spmm and the edge ops read it; a 64-layer GCNII reads it 64 times
/// per step for one graph).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gas {

/// @brief The transpose of a (rows x cols) CSR pattern: column j's entries are [offsets[j], offsets[j + 1]), in
/// ascending row order; for each, its row and its position in the CSR arrays (to read its weight or per-edge values).
template <class Index>
struct CsrTranspose {
  std::vector<std::int64_t> offsets;  // (cols + 2): the first cols + 1 are the offsets
  std::vector<Index> rows;            // (E)
  std::vector<std::int64_t> edges;    // (E)
};

namespace detail {

/// @brief Entries below which the transpose is built on one thread: starting threads costs more.
inline constexpr std::int64_t transpose_parallel_entries = std::int64_t{1} << 16;

/// @brief Builds the transpose of the pattern into `out`, reusing its capacity.
///
/// A stable counting sort in which each thread owns a range of columns: every thread scans all entries in CSR
/// order (a cheap sequential read) and counts, then places, only those in its range. No atomics, no sorting, and
/// each column lists its entries in CSR order, so the index is the same for every thread count.
template <class Index>
void build_transpose(std::int64_t rows, std::int64_t cols, std::span<const std::int64_t> indptr,
                     std::span<const Index> indices, CsrTranspose<Index>& out) {
  const auto edges = static_cast<std::int64_t>(indices.size());
  out.offsets.assign(static_cast<std::size_t>(cols) + 2, 0);
  out.rows.resize(static_cast<std::size_t>(edges));
  out.edges.resize(static_cast<std::size_t>(edges));
  std::int64_t* off = out.offsets.data();
  Index* row_of = out.rows.data();
  std::int64_t* edge_of = out.edges.data();
  const std::int64_t* ptr = indptr.data();
  const Index* col = indices.data();
  // Counts land two slots up, so that after the prefix sum off[c + 1] is column c's start, and after the scatter
  // (which advances it) its end: off[0..cols] are then the final offsets, with no cursor array.
#pragma omp parallel if (edges > transpose_parallel_entries)
  {
    std::int64_t first = 0, last = cols;  // this thread's columns
#ifdef _OPENMP
    const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    first = cols * t / threads;
    last = cols * (t + 1) / threads;
#endif
    for (std::int64_t e = 0; e < edges; ++e)
      if (col[e] >= first && col[e] < last) ++off[col[e] + 2];
#pragma omp barrier
#pragma omp single
    for (std::int64_t c = 1; c < cols + 2; ++c) off[c] += off[c - 1];
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t e = ptr[r]; e < ptr[r + 1]; ++e) {
        const std::int64_t c = col[e];
        if (c < first || c >= last) continue;
        const std::int64_t at = off[c + 1]++;
        row_of[at] = static_cast<Index>(r);
        edge_of[at] = e;
      }
  }
}

/// @brief A Csr's cached transpose. It holds no state a copy could share: a copy starts empty, an assignment empties
/// it (keeping its buffers, so a loader that rebuilds its batch graph in place rebuilds the index without
/// allocating), a move takes a valid index along with the arrays it was built from. The key (shape, array addresses and
/// sizes) guards against anything else. Several threads may ask at once: the first builds, under a lock.
template <class Index>
class TransposeCache {
public:
  TransposeCache() = default;
  TransposeCache(const TransposeCache&) noexcept {}
  TransposeCache(TransposeCache&& other) noexcept {
    const std::lock_guard lock(other.mutex_);
    take(other);
  }
  TransposeCache& operator=(const TransposeCache& other) noexcept {
    if (this != &other) {
      const std::lock_guard lock(mutex_);
      valid_ = false;
    }
    return *this;
  }
  TransposeCache& operator=(TransposeCache&& other) noexcept {
    if (this != &other) {
      const std::scoped_lock lock(mutex_, other.mutex_);
      if (other.valid_) take(other);
      else valid_ = false;  // keep this buffer: `*this = Csr()` and a batch graph rebuilt in place then reuse it
    }
    return *this;
  }
  ~TransposeCache() = default;
  /// @brief A cache says nothing about the matrix's value: all compare equal.
  friend bool operator==(const TransposeCache&, const TransposeCache&) { return true; }

  /// @brief The transpose of the pattern (rows, cols, indptr, indices), built on the first call for this pattern.
  std::shared_ptr<const CsrTranspose<Index>> get(std::int64_t rows, std::int64_t cols,
                                                 std::span<const std::int64_t> indptr,
                                                 std::span<const Index> indices) const {
    const Key key{rows, cols, indptr.data(), indices.data(), indices.size()};
    const std::lock_guard lock(mutex_);
    if (valid_ && key_ == key) return data_;
    // Rebuild in place unless a caller still holds the old index.
    if (data_ == nullptr || data_.use_count() > 1) data_ = std::make_shared<CsrTranspose<Index>>();
    valid_ = false;
    build_transpose(rows, cols, indptr, indices, *data_);
    key_ = key;
    valid_ = true;
    return data_;
  }

private:
  struct Key {
    std::int64_t rows = 0, cols = 0;
    const std::int64_t* indptr = nullptr;
    const Index* indices = nullptr;
    std::size_t entries = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };

  // Swaps the index and its buffers with other's (both locked): this one is valid for the arrays that moved in,
  // other keeps a spare buffer and is invalid.
  void take(TransposeCache& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(key_, other.key_);
    valid_ = other.valid_;
    other.valid_ = false;
  }

  mutable std::mutex mutex_;
  mutable std::shared_ptr<CsrTranspose<Index>> data_;
  mutable Key key_;
  mutable bool valid_ = false;
};

}  // namespace detail
}  // namespace gas
