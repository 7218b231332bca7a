#pragma once
/// @brief The last step every reader shares: COO edges from a file become the dataset's graph.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::io {

/// @brief Checks that a node count read from `source` is non-negative and fits `node_id`.
inline node_id checked_node_count(std::string_view source, std::int64_t n) {
  if (n < 0) throw format_error(std::string(source) + ": negative node count " + std::to_string(n));
  if (n > std::numeric_limits<node_id>::max())
    throw format_error(std::string(source) + ": " + std::to_string(n) + " nodes exceed the 32-bit node id range");
  return static_cast<node_id>(n);
}

/// @brief Builds the dataset graph from COO edges read from `source`, applying the load options
/// (symmetrize, drop self-loops) and always deduplicating. An endpoint outside [0, n) raises
/// format_error naming `source` and the edge.
inline Graph build_graph(std::string_view source, node_id n, std::span<const node_id> src,
                         std::span<const node_id> dst, const LoadOptions& options) {
  try {
    return csr_from_coo<node_id, float>(
        n, n, src, dst, {},
        {.symmetrize = options.symmetrize, .dedupe = true, .drop_self_loops = options.remove_self_loops});
  } catch (const value_error& e) {
    throw format_error(std::string(source) + ": " + e.what());
  } catch (const shape_error& e) {
    throw format_error(std::string(source) + ": " + e.what());
  }
}

}  // namespace gas::io
