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

/// @brief A parsed partition spec `KIND:K`.
struct PartitionSpec {
  std::string kind;         ///< metis, metis-rb, random or contiguous
  std::int32_t parts = 0;   ///< number of clusters K
};

/// @brief Parses `metis:K` (k-way), `metis-rb:K` (recursive bisection), `random:K` or `contiguous:K`.
/// Throws config_error naming the spec for an unknown kind or a K that is not a positive integer.
inline PartitionSpec parse_partition_spec(std::string_view spec) {
  const auto colon = spec.find(':');
  PartitionSpec out{std::string(spec.substr(0, colon)), 0};
  const std::string_view count = colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), out.parts);
  if (count.empty() || ec != std::errc{} || end != count.data() + count.size() || out.parts < 1)
    throw config_error("partition spec '" + std::string(spec) + "': expected KIND:K with K a positive integer");
  if (out.kind != "metis" && out.kind != "metis-rb" && out.kind != "random" && out.kind != "contiguous")
    throw config_error("partition spec '" + std::string(spec) + "': unknown partitioner '" + out.kind +
                       "' (expected metis, metis-rb, random or contiguous)");
  return out;
}

/// @brief Partitions `graph` as `spec` says (see parse_partition_spec); `seed` feeds the seeded partitioners.
/// Throws config_error for a bad spec and partition_error from the partitioner itself.
inline Partition partition_from_spec(std::string_view spec, const Graph& graph, std::uint64_t seed = 0) {
  const PartitionSpec s = parse_partition_spec(spec);
  if (s.kind == "metis") return Metis{.num_parts = s.parts, .seed = seed}.partition(graph);
  if (s.kind == "metis-rb") return Metis{.num_parts = s.parts, .recursive = true, .seed = seed}.partition(graph);
  if (s.kind == "random") return Random{.num_parts = s.parts, .seed = seed}.partition(graph);
  return Contiguous{.num_parts = s.parts}.partition(graph);
}

}  // namespace gas::partition
