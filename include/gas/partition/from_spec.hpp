#pragma once
/// @brief Runtime choice of partitioner: the one place where a string such as "metis:40" becomes a type.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "gas/core/error.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/partition/contiguous.hpp"
#include "gas/partition/metis.hpp"
#include "gas/partition/partition.hpp"
#include "gas/partition/random.hpp"

namespace gas::partition {

/// @brief Partitions `graph` as `spec` says: `metis:K` (k-way), `metis-rb:K` (recursive bisection),
/// `random:K` or `contiguous:K`; `seed` feeds the seeded ones. Throws config_error for an unknown kind or
/// a K that is not a positive integer, and partition_error from the partitioner itself.
inline Partition partition_from_spec(std::string_view spec, const Graph& graph, std::uint64_t seed = 0) {
  const auto colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view count = colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  std::int32_t k = 0;
  const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), k);
  if (count.empty() || ec != std::errc{} || end != count.data() + count.size() || k < 1)
    throw config_error("partition spec '" + std::string(spec) + "': expected KIND:K with K a positive integer");
  if (kind == "metis") return Metis{.num_parts = k, .seed = seed}.partition(graph);
  if (kind == "metis-rb") return Metis{.num_parts = k, .recursive = true, .seed = seed}.partition(graph);
  if (kind == "random") return Random{.num_parts = k, .seed = seed}.partition(graph);
  if (kind == "contiguous") return Contiguous{.num_parts = k}.partition(graph);
  throw config_error("partition spec '" + std::string(spec) + "': unknown partitioner '" + std::string(kind) +
                     "' (expected metis, metis-rb, random or contiguous)");
}

}  // namespace gas::partition
