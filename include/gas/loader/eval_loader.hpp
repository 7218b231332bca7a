#pragma once
/// @brief `EvalLoader`: the batches of layer-wise inference, consecutive groups of clusters, built once.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/loader/batch.hpp"

namespace gas::loader {

/// @brief The batches of clusters {0..b-1}, {b..2b-1}, ... (the last may be short), built at construction
/// (in parallel over batches) and reused by every evaluation pass.
///
/// Since consecutive clusters are adjacent id ranges, each batch's in-batch nodes form a single chunk. The
/// loader owns its batches and keeps no reference to the graph.
class EvalLoader {
public:
  /// @brief Builds every batch of `graph` (clusters already contiguous) with cluster pointer `ptr`.
  /// Throws value_error for batch_size < 1, shape_error / value_error for a bad `ptr`.
  /// Only clusters [first_part, end_part) get batches when end_part >= 0 (one rank's own parts in distributed
  /// training); value_error when that is not a non-empty range of the clusters.
  EvalLoader(const Graph& graph, std::vector<std::int64_t> ptr, std::int32_t batch_size = 1, std::int32_t first_part = 0,
             std::int32_t end_part = -1)
      : ptr_(std::move(ptr)), batch_size_(batch_size) {
    GAS_CHECK(batch_size >= 1, value_error, "batch_size = " << batch_size << " must be at least 1");
    validate_ptr(graph, ptr_);
    GAS_CHECK(ptr_.size() - 1 <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), value_error,
              "num_parts = " << ptr_.size() - 1 << " does not fit 32-bit cluster ids");
    if (end_part < 0) end_part = num_parts();
    GAS_CHECK(0 <= first_part && first_part < end_part && end_part <= num_parts(), value_error,
              "clusters [" << first_part << ", " << end_part << ") are not a non-empty range of the " << num_parts()
                           << " clusters");
    std::vector<std::int32_t> order(static_cast<std::size_t>(end_part - first_part));
    for (std::size_t c = 0; c < order.size(); ++c) order[c] = first_part + static_cast<std::int32_t>(c);
    const auto parts = static_cast<std::int64_t>(order.size());
    detail::build_groups(graph, ptr_, order, batch_size, (parts + batch_size - 1) / batch_size, batches_);
  }

  /// @brief Number of clusters.
  [[nodiscard]] std::int32_t num_parts() const { return static_cast<std::int32_t>(ptr_.size()) - 1; }
  /// @brief Clusters per batch (the last batch may have fewer).
  [[nodiscard]] std::int32_t batch_size() const { return batch_size_; }
  /// @brief The cluster pointer the batches were cut with.
  [[nodiscard]] std::span<const std::int64_t> ptr() const { return ptr_; }

  /// @brief Number of batches, ceil(num_parts / batch_size).
  [[nodiscard]] std::size_t size() const { return batches_.size(); }
  /// @brief Batch i (clusters [i * batch_size, min((i + 1) * batch_size, num_parts))).
  [[nodiscard]] const Batch& operator[](std::size_t i) const { return batches_[i]; }
  /// @brief All batches, in cluster order.
  [[nodiscard]] std::span<const Batch> batches() const { return batches_; }
  /// @brief Iterator to the first batch, for range-for.
  [[nodiscard]] auto begin() const { return batches_.begin(); }
  /// @brief Iterator past the last batch.
  [[nodiscard]] auto end() const { return batches_.end(); }

private:
  std::vector<std::int64_t> ptr_;
  std::int32_t batch_size_;
  std::vector<Batch> batches_;
};

}  // namespace gas::loader
