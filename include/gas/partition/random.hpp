#pragma once
/// @brief `Random`: balanced, seeded random clusters, for graphs too large for METIS (e.g. ogbn-papers100M).

#include <chrono>
#include <cstdint>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/partition/partition.hpp"

namespace gas::partition {

/// @brief Partitioner that deals the nodes into `num_parts` clusters at random, sizes differing by at most one.
///
/// It reads only the node count, so it costs O(nodes) for any graph and cuts about (1 - 1/num_parts) of the
/// edges. The assignment depends on the seed alone, identically on every platform and thread count.
/// num_parts < 1, num_parts > nodes and the empty graph throw partition_error.
struct Random {
  std::int32_t num_parts = 2;
  std::uint64_t seed = 0;  ///< the same seed gives the same partition

  /// @brief Partitions the nodes of `graph` (its edges are not read).
  [[nodiscard]] Partition partition(const Graph& graph) const {
    const auto start = std::chrono::steady_clock::now();
    check_part_count("Random", graph, num_parts);
    const std::int64_t n = graph.rows();
    // Cluster ids dealt round-robin are balanced by construction; shuffling them keeps the sizes.
    std::vector<std::int32_t> part(static_cast<std::size_t>(n));
    for (std::int64_t v = 0; v < n; ++v) part[static_cast<std::size_t>(v)] = static_cast<std::int32_t>(v % num_parts);
    Rng rng(seed);
    rng.shuffle(part.begin(), part.end());
    Partition p = from_assignment(part, num_parts);
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
  }
};

}  // namespace gas::partition
