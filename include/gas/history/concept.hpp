#pragma once
/// @brief The `HistoryStore` concept: a (num_nodes, width) table of historical embeddings that batches pull
/// rows from and push rows into, and the argument checks every store shares.
///
/// A store computes in `value_type` (float or double) whatever it keeps in memory (fp16, a mapped file, a
/// device buffer), so layers never see the storage format. Every call checks both dimensions of its
/// arguments: the reference checked only row counts, and a model with a wider output head silently wrote
/// garbage into its histories.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>

#include "gas/core/error.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::history {

/// @brief A history table: `num_nodes()` rows of `width()` values of `value_type` (float or double), with
/// gathers (`pull`), scatters (`push`), contiguous block copies (`pull_chunk`, `push_chunk`) and `fill`.
///
/// `pull(ids, out)` writes history row ids[i] into out row i; `push(ids, rows)` writes rows row i into history
/// row ids[i]; `pull_chunk(offset, out)` / `push_chunk(offset, rows)` copy history rows
/// [offset, offset + rows()) in one block. Every call throws shape_error when a view's width is not width() or
/// the counts disagree, and value_error when an id or chunk falls outside [0, num_nodes()).
template <class S>
concept HistoryStore = requires(S& store, const S& cs, std::span<const node_id> ids, node_id offset,
                                MatrixView<typename S::value_type> out,
                                MatrixView<const typename S::value_type> rows, typename S::value_type value) {
  requires std::same_as<typename S::value_type, float> || std::same_as<typename S::value_type, double>;
  { cs.num_nodes() } -> std::convertible_to<std::int64_t>;
  { cs.width() } -> std::convertible_to<std::int64_t>;
  { store.pull(ids, out) } -> std::same_as<void>;
  { store.push(ids, rows) } -> std::same_as<void>;
  { store.pull_chunk(offset, out) } -> std::same_as<void>;
  { store.push_chunk(offset, rows) } -> std::same_as<void>;
  { store.fill(value) } -> std::same_as<void>;
};

namespace detail {

/// @brief "float" or "double", for store names in messages.
template <class T>
constexpr const char* dtype_name() {
  if constexpr (std::is_same_v<T, float>)
    return "float";
  else if constexpr (std::is_same_v<T, double>)
    return "double";
  else
    static_assert(dependent_false<T>, "history stores compute in float or double");
}

// The checks below take the store's name as a callable returning std::string, called only when a check fails:
// a passing call must not allocate (steps allocate nothing in the steady state).

/// @brief Throws shape_error "store::op: <what> has W columns but the history is W' wide" unless cols == width.
template <class Name>
void check_width(const Name& store, const char* op, const char* what, std::int64_t cols, std::int64_t width) {
  if (cols != width) [[unlikely]]
    throw shape_error(store() + "::" + op + ": " + what + " has " + std::to_string(cols) +
                      " columns but the history is " + std::to_string(width) + " wide");
}

/// @brief Throws shape_error unless the view has as many rows as there are ids.
template <class Name>
void check_count(const Name& store, const char* op, const char* what, std::size_t ids, std::int64_t rows) {
  if (static_cast<std::int64_t>(ids) != rows) [[unlikely]]
    throw shape_error(store() + "::" + op + ": " + std::to_string(ids) + " ids but " + what + " has " +
                      std::to_string(rows) + " rows");
}

/// @brief Throws value_error naming the first id outside [0, num_nodes) and its position.
///
/// The common case (all ids valid) costs one min/max pass, parallel for long lists; only a failing list is
/// scanned again to name the first bad entry.
template <class Name>
void check_ids(const Name& store, const char* op, std::span<const node_id> ids, std::int64_t num_nodes) {
  const auto n = static_cast<std::int64_t>(ids.size());
  node_id lo = 0, hi = 0;
  if (n > 0) lo = hi = ids[0];
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi) if (n > 65536)
  for (std::int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, ids[static_cast<std::size_t>(i)]);
    hi = std::max(hi, ids[static_cast<std::size_t>(i)]);
  }
  if (lo >= 0 && hi < num_nodes) [[likely]]
    return;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= num_nodes)
      throw value_error(store() + "::" + op + ": id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                        " outside [0, " + std::to_string(num_nodes) + ")");
}

/// @brief Throws value_error unless rows [offset, offset + count) lie inside [0, num_nodes).
template <class Name>
void check_chunk(const Name& store, const char* op, std::int64_t offset, std::int64_t count, std::int64_t num_nodes) {
  if (offset < 0 || offset > num_nodes || count > num_nodes - offset) [[unlikely]]
    throw value_error(store() + "::" + op + ": chunk [" + std::to_string(offset) + ", " +
                      std::to_string(offset + count) + ") outside [0, " + std::to_string(num_nodes) + ")");
}

/// @brief All checks of a gather or scatter: width, count, id range.
template <class Name>
void check_rows_call(const Name& store, const char* op, const char* what, std::span<const node_id> ids,
                     std::int64_t rows, std::int64_t cols, std::int64_t num_nodes, std::int64_t width) {
  check_width(store, op, what, cols, width);
  check_count(store, op, what, ids.size(), rows);
  check_ids(store, op, ids, num_nodes);
}

/// @brief All checks of a chunk copy: width and range.
template <class Name>
void check_chunk_call(const Name& store, const char* op, const char* what, std::int64_t offset, std::int64_t rows,
                      std::int64_t cols, std::int64_t num_nodes, std::int64_t width) {
  check_width(store, op, what, cols, width);
  check_chunk(store, op, offset, rows, num_nodes);
}

/// @brief The most values a store's table may hold: 2^59, so that its size in bytes for elements of up to 8 bytes
/// (and a file's header beside it) cannot overflow the 64-bit sizes computed from the shape.
inline constexpr std::int64_t max_table_values = std::int64_t{1} << 59;

/// @brief Checks a table shape given to a store's constructor: 0 <= num_nodes <= node_id's maximum, width >= 0,
/// and num_nodes x width at most max_table_values.
inline void check_table_shape(const std::string& store, std::int64_t num_nodes, std::int64_t width) {
  if (num_nodes < 0 || width < 0 || num_nodes > std::int64_t{std::numeric_limits<node_id>::max()}) [[unlikely]]
    throw value_error(store + ": table shape (" + std::to_string(num_nodes) + ", " + std::to_string(width) +
                      ") needs 0 <= num_nodes <= " + std::to_string(std::numeric_limits<node_id>::max()) +
                      " and width >= 0");
  if (num_nodes > 0 && width > max_table_values / num_nodes) [[unlikely]]
    throw value_error(store + ": table shape (" + std::to_string(num_nodes) + ", " + std::to_string(width) +
                      ") holds more than 2^59 values: num_nodes x width x the element size would overflow the "
                      "64-bit sizes computed from it");
}

}  // namespace detail

}  // namespace gas::history
