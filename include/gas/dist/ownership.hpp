#pragma once
/// @brief `Ownership`: which rank of a distributed run owns which nodes. With P ranks over a partition of K parts
/// (clusters are contiguous id ranges after partition::permute), rank r owns the contiguous range of parts
/// [K r / P, K (r + 1) / P), hence a contiguous range of node ids; it trains the batches of its own parts and holds
/// the history rows of its own nodes only.
///
/// Why whole parts in contiguous ranges: a part is the unit of a batch, so every batch of a rank is its own and its
/// pushes never leave it; contiguous ranges make "who owns node v" one binary search over P + 1 bounds, and a rank's
/// rows one block of every history table.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::dist {

/// @brief The owner of every node: rank r owns parts [first_part(r), first_part(r + 1)) and nodes
/// [begin(r), end(r)). Built from a cluster pointer (num_parts + 1 entries, as Partition::ptr).
class Ownership {
public:
  Ownership() = default;

  /// @brief Splits the parts of `ptr` over `ranks` ranks, each a contiguous run of floor or ceil(K / P) parts.
  /// Throws value_error for ranks < 1 or more ranks than parts, shape_error for a pointer with fewer than 2
  /// entries, value_error for one that does not start at 0 or decreases.
  Ownership(std::span<const std::int64_t> ptr, int ranks) {
    GAS_CHECK(ptr.size() >= 2, shape_error, "cluster pointer has " << ptr.size() << " entries; it needs parts + 1 >= 2");
    GAS_CHECK(ptr.front() == 0, value_error, "cluster pointer starts at " << ptr.front() << ", expected 0");
    for (std::size_t c = 0; c + 1 < ptr.size(); ++c)
      GAS_CHECK(ptr[c] <= ptr[c + 1], value_error, "cluster pointer decreases at part " << c);
    const auto parts = static_cast<std::int64_t>(ptr.size()) - 1;
    GAS_CHECK(ranks >= 1 && ranks <= parts, value_error,
              ranks << " ranks for " << parts << " parts: every rank needs at least one part (use more parts, "
                    << "--num-parts, or fewer ranks)");
    parts_.resize(static_cast<std::size_t>(ranks) + 1);
    nodes_.resize(static_cast<std::size_t>(ranks) + 1);
    for (int r = 0; r <= ranks; ++r) {
      parts_[static_cast<std::size_t>(r)] = parts * r / ranks;
      nodes_[static_cast<std::size_t>(r)] = ptr[static_cast<std::size_t>(parts_[static_cast<std::size_t>(r)])];
    }
  }

  [[nodiscard]] int ranks() const { return static_cast<int>(nodes_.size()) - 1; }
  [[nodiscard]] std::int64_t num_nodes() const { return nodes_.empty() ? 0 : nodes_.back(); }
  [[nodiscard]] std::int64_t num_parts() const { return parts_.empty() ? 0 : parts_.back(); }
  /// @brief First node id of rank r, and one past its last.
  [[nodiscard]] node_id begin(int r) const { return static_cast<node_id>(nodes_.at(static_cast<std::size_t>(r))); }
  [[nodiscard]] node_id end(int r) const { return static_cast<node_id>(nodes_.at(static_cast<std::size_t>(r) + 1)); }
  [[nodiscard]] std::int64_t size(int r) const { return end(r) - begin(r); }
  /// @brief First part of rank r, and one past its last.
  [[nodiscard]] std::int32_t first_part(int r) const {
    return static_cast<std::int32_t>(parts_.at(static_cast<std::size_t>(r)));
  }
  [[nodiscard]] std::int32_t end_part(int r) const {
    return static_cast<std::int32_t>(parts_.at(static_cast<std::size_t>(r) + 1));
  }
  /// @brief The rank owning node v (0 <= v < num_nodes(); a rank owning no node is never returned).
  [[nodiscard]] int owner(node_id v) const {
    const auto it = std::upper_bound(nodes_.begin(), nodes_.end(), static_cast<std::int64_t>(v));
    return static_cast<int>(it - nodes_.begin()) - 1;
  }

  friend bool operator==(const Ownership&, const Ownership&) = default;

private:
  std::vector<std::int64_t> parts_;  // (ranks + 1) first part of each rank
  std::vector<std::int64_t> nodes_;  // (ranks + 1) first node of each rank
};

}  // namespace gas::dist
