#pragma once
/// @brief `Contiguous`: clusters are consecutive id ranges, for graphs whose ids already follow locality
/// (road networks, space-filling-curve orders) and as the identity baseline.

#include <chrono>
#include <cstdint>
#include <numeric>

#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/partition/partition.hpp"

namespace gas::partition {

/// @brief Partitioner whose cluster c is the id range [c * n / k, (c + 1) * n / k); the permutation is the
/// identity and sizes differ by at most one.
///
/// num_parts < 1, num_parts > nodes and the empty graph throw partition_error.
struct Contiguous {
  std::int32_t num_parts = 2;

  /// @brief Partitions the nodes of `graph` (its edges are not read).
  [[nodiscard]] Partition partition(const Graph& graph) const {
    const auto start = std::chrono::steady_clock::now();
    check_part_count("Contiguous", graph, num_parts);
    const std::int64_t n = graph.rows();
    Partition p;
    p.perm.resize(static_cast<std::size_t>(n));
    std::iota(p.perm.begin(), p.perm.end(), node_id{0});
    p.inverse = p.perm;
    p.ptr.resize(static_cast<std::size_t>(num_parts) + 1);
    for (std::int64_t c = 0; c <= num_parts; ++c) p.ptr[static_cast<std::size_t>(c)] = c * n / num_parts;
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
  }
};

}  // namespace gas::partition
