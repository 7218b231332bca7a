#pragma once
/// @brief `HostStore<T>`: a history table in ordinary host memory, and the row-copy kernels that every dense
/// host-side store (this one, the memory-mapped one) shares.
///
/// Rows are contiguous (row-major), so a gathered row is one memcpy and a chunk of consecutive rows is one
/// block; the copies split over OpenMP threads because one core cannot saturate memory bandwidth.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gas/core/tensor.hpp"
#include "gas/history/concept.hpp"

namespace gas::history {

namespace detail {

/// @brief Below this many bytes a copy runs on the calling thread: waking a team costs more than it saves.
inline constexpr std::size_t parallel_copy_bytes = std::size_t{1} << 18;

/// @brief memcpy of one block, split into one contiguous piece per thread when it is large.
inline void block_copy(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  if (bytes < parallel_copy_bytes) {
    std::memcpy(dst, src, bytes);
    return;
  }
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  // Pieces of whole 4 KiB pages, so that no two threads write the same cache line or page.
  constexpr std::size_t page = 4096;
  const auto pages = static_cast<std::int64_t>((bytes + page - 1) / page);
#pragma omp parallel
  {
#ifdef _OPENMP
    const auto threads = static_cast<std::int64_t>(omp_get_num_threads());
    const auto t = static_cast<std::int64_t>(omp_get_thread_num());
#else
    const std::int64_t threads = 1, t = 0;
#endif
    const auto begin = std::min(bytes, static_cast<std::size_t>(pages * t / threads) * page);
    const auto end = std::min(bytes, static_cast<std::size_t>(pages * (t + 1) / threads) * page);
    if (end > begin) std::memcpy(d + begin, s + begin, end - begin);
  }
}

/// @brief Copies `rows` rows of `width` elements between two row-major layouts with leading dimensions
/// `dst_ld` and `src_ld`; one block when both are dense.
template <class T>
void copy_rows(T* dst, std::int64_t dst_ld, const T* src, std::int64_t src_ld, std::int64_t rows,
               std::int64_t width) {
  if (rows == 0 || width == 0) return;
  if ((dst_ld == width && src_ld == width) || rows == 1) {
    block_copy(dst, src, static_cast<std::size_t>(rows * width) * sizeof(T));
    return;
  }
  const auto bytes = static_cast<std::size_t>(width) * sizeof(T);
#pragma omp parallel for schedule(static) if (static_cast<std::size_t>(rows) * bytes >= parallel_copy_bytes)
  for (std::int64_t i = 0; i < rows; ++i) std::memcpy(dst + i * dst_ld, src + i * src_ld, bytes);
}

/// @brief How many rows ahead a gather or scatter prefetches: random rows miss every cache, and a row copy is too
/// short for the hardware prefetcher to learn the pattern; eight rows in flight hide most of the latency.
inline constexpr std::int64_t prefetch_distance = 8;

/// @brief Prefetches the cache lines of `bytes` bytes at `p`, for reading or (Write) for writing.
template <bool Write>
inline void prefetch_row(const void* p, std::size_t bytes) {
  const auto* c = static_cast<const char*>(p);
  for (std::size_t k = 0; k < bytes; k += 64) __builtin_prefetch(c + k, Write ? 1 : 0);
}

/// @brief out row i = table row ids[i], for a dense (?, width) row-major table; ids already checked.
template <class T>
void gather_rows(const T* table, std::int64_t width, std::span<const node_id> ids, MatrixView<T> out) {
  const auto n = static_cast<std::int64_t>(ids.size());
  if (n == 0 || width == 0) return;
  const auto bytes = static_cast<std::size_t>(width) * sizeof(T);
  T* dst = out.data();
  const std::int64_t ld = out.ld();
#pragma omp parallel for schedule(static) if (static_cast<std::size_t>(n) * bytes >= parallel_copy_bytes)
  for (std::int64_t i = 0; i < n; ++i) {
    if (i + prefetch_distance < n)
      prefetch_row<false>(table + std::int64_t{ids[static_cast<std::size_t>(i + prefetch_distance)]} * width, bytes);
    std::memcpy(dst + i * ld, table + std::int64_t{ids[static_cast<std::size_t>(i)]} * width, bytes);
  }
}

/// @brief table row ids[i] = rows row i, for a dense (?, width) row-major table; ids already checked.
template <class T>
void scatter_rows(T* table, std::int64_t width, std::span<const node_id> ids, MatrixView<const T> rows) {
  const auto n = static_cast<std::int64_t>(ids.size());
  if (n == 0 || width == 0) return;
  const auto bytes = static_cast<std::size_t>(width) * sizeof(T);
  const T* src = rows.data();
  const std::int64_t ld = rows.ld();
#pragma omp parallel for schedule(static) if (static_cast<std::size_t>(n) * bytes >= parallel_copy_bytes)
  for (std::int64_t i = 0; i < n; ++i) {
    if (i + prefetch_distance < n)
      prefetch_row<true>(table + std::int64_t{ids[static_cast<std::size_t>(i + prefetch_distance)]} * width, bytes);
    std::memcpy(table + std::int64_t{ids[static_cast<std::size_t>(i)]} * width, src + i * ld, bytes);
  }
}

/// @brief Sets all `count` elements at `data` to `value`, in parallel when large.
template <class E>
void parallel_fill(E* data, std::int64_t count, E value) {
  constexpr std::int64_t block = 1 << 16;
  const std::int64_t blocks = (count + block - 1) / block;
#pragma omp parallel for schedule(static) if (blocks > 4)
  for (std::int64_t b = 0; b < blocks; ++b)
    std::fill(data + b * block, data + std::min(count, (b + 1) * block), value);
}

}  // namespace detail

/// @brief A dense (num_nodes, width) history in host memory; the default store and the reference for others.
/// @tparam T element type, float or double; also the compute type.
///
/// Pushes write each row once with memcpy; the ids of one push are expected to be distinct (a batch's are): with
/// a repeated id, which of its rows lands in the table is unspecified.
template <class T>
class HostStore {
public:
  using value_type = T;

  HostStore() = default;
  /// @brief A (num_nodes, width) table with every value `value`.
  HostStore(std::int64_t num_nodes, std::int64_t width, T value = T{0}) {
    detail::check_table_shape(name(), num_nodes, width);
    table_.resize(num_nodes, width);
    fill(value);
  }

  /// @brief The store's name in messages: "gas::history::HostStore<float>".
  [[nodiscard]] static std::string name() {
    return std::string("gas::history::HostStore<") + detail::dtype_name<T>() + ">";
  }
  [[nodiscard]] std::int64_t num_nodes() const { return table_.rows(); }
  [[nodiscard]] std::int64_t width() const { return table_.cols(); }
  /// @brief Bytes the table occupies.
  [[nodiscard]] std::size_t bytes() const { return static_cast<std::size_t>(table_.size()) * sizeof(T); }
  /// @brief The whole table, for inspection and checkpoints.
  [[nodiscard]] MatrixView<const T> table() const { return table_.view(); }

  /// @brief out row i = history row ids[i]. `out` is (ids.size(), width).
  void pull(std::span<const node_id> ids, MatrixView<T> out) const {
    detail::check_rows_call(&name, "pull", "out", ids, out.rows(), out.cols(), num_nodes(), width());
    detail::gather_rows<T>(table_.data(), width(), ids, out);
  }
  /// @brief History row ids[i] = rows row i. `rows` is (ids.size(), width).
  void push(std::span<const node_id> ids, MatrixView<const T> rows) {
    detail::check_rows_call(&name, "push", "rows", ids, rows.rows(), rows.cols(), num_nodes(), width());
    detail::scatter_rows<T>(table_.data(), width(), ids, rows);
  }
  /// @brief out = history rows [offset, offset + out.rows()).
  void pull_chunk(node_id offset, MatrixView<T> out) const {
    detail::check_chunk_call(&name, "pull_chunk", "out", offset, out.rows(), out.cols(), num_nodes(), width());
    detail::copy_rows<T>(out.data(), out.ld(), table_.data() + std::int64_t{offset} * width(), width(), out.rows(),
                         width());
  }
  /// @brief History rows [offset, offset + rows.rows()) = rows.
  void push_chunk(node_id offset, MatrixView<const T> rows) {
    detail::check_chunk_call(&name, "push_chunk", "rows", offset, rows.rows(), rows.cols(), num_nodes(), width());
    detail::copy_rows<T>(table_.data() + std::int64_t{offset} * width(), width(), rows.data(), rows.ld(), rows.rows(),
                         width());
  }
  /// @brief Sets every value of the table.
  void fill(T value) { detail::parallel_fill(table_.data(), table_.size(), value); }

private:
  Tensor<T, host> table_;  // (num_nodes, width)
};

}  // namespace gas::history
