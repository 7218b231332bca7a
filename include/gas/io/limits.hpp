#pragma once
/// @brief `gas::io::read_limits()`: the bounds that keep a corrupt or hostile file from making a reader allocate
/// memory its content does not justify (issue 16, docs/reliability.md "Fuzzing").
///
/// Every size a file declares is checked against the bytes that back it before anything is allocated, so most
/// lies fail at once with a format_error. What remains are sizes that honest files may legitimately declare
/// without backing bytes: a compressed entry inflating a thousandfold, an xz stream asking for a large
/// dictionary, a graph with isolated nodes. Those are capped here, by limits generous for every public dataset
/// the readers support; a reader that hits one throws a format_error naming the limit and how to raise it.
/// The limits are process-wide: set them before reading (they are not synchronised with readers running in
/// other threads).

#include <cstdint>
#include <string>

namespace gas::io {

/// @brief Process-wide limits of the file readers; change them through `read_limits()`.
struct ReadLimits {
  /// Largest size one zip/npz entry may inflate to (DEFLATE reaches 1032:1, so a 4 MiB entry can claim 4 GiB).
  std::uint64_t max_inflated_bytes = std::uint64_t{4} << 30;
  /// Largest memory the xz decoder may use (its dictionary, declared by the stream's header; `xz -9` needs 65 MiB).
  std::uint64_t max_xz_memory = std::uint64_t{1} << 30;
  /// Longest line a text reader accepts (a line has no bound of its own in a compressed file).
  std::uint64_t max_line_bytes = std::uint64_t{1} << 28;
  /// Nodes a graph file may declare beyond the two endpoints per edge it lists (isolated nodes: the `N` of a
  /// DIMACS header, the largest id of an edge list); each costs memory that no byte of the file stands for.
  std::int64_t max_isolated_nodes = std::int64_t{1} << 24;
};

/// @brief The limits every reader consults; e.g. `gas::io::read_limits().max_inflated_bytes = 16ull << 30;`.
inline ReadLimits& read_limits() {
  static ReadLimits limits;
  return limits;
}

/// @brief Raises (or lowers) the largest size one zip/npz entry may inflate to; see ReadLimits.
inline void set_max_inflated_bytes(std::uint64_t bytes) { read_limits().max_inflated_bytes = bytes; }

namespace detail {

/// @brief " (the limit gas::io::read_limits().FIELD = VALUE; raise it to read larger files)", for messages.
inline std::string limit_hint(const char* field, std::uint64_t value) {
  return std::string(" (the limit gas::io::read_limits().") + field + " = " + std::to_string(value) +
         "; raise it to read such files)";
}

/// @brief "K isolated nodes (the limit ...)" when a graph of `nodes` nodes and `edges` edges has more than
/// read_limits().max_isolated_nodes beyond the two endpoints per edge, else "": what the graph readers refuse.
inline std::string excess_isolated_nodes(std::int64_t nodes, std::int64_t edges) {
  const std::int64_t isolated = edges >= nodes ? 0 : nodes - 2 * edges;  // edges < nodes: no overflow
  if (isolated <= read_limits().max_isolated_nodes) return {};
  return std::to_string(isolated) + " isolated nodes" +
         limit_hint("max_isolated_nodes", static_cast<std::uint64_t>(read_limits().max_isolated_nodes));
}

}  // namespace detail

}  // namespace gas::io
