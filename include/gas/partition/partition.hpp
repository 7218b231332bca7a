#pragma once
/// @brief What every partitioner returns: a node permutation that makes each cluster one contiguous id
/// range, the cluster pointer, and the quality figures; plus the `Partitioner` concept.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::partition {

/// @brief A partition of the nodes into `num_parts()` clusters, as a relabeling.
///
/// New ids number the nodes cluster by cluster: cluster c owns new ids [ptr[c], ptr[c + 1]). Within a
/// cluster, nodes keep their original relative order, so the result is deterministic for a given assignment.
struct Partition {
  std::vector<node_id> perm;      ///< (num_nodes) perm[new_id] = original id
  std::vector<node_id> inverse;   ///< (num_nodes) inverse[original id] = new_id
  std::vector<std::int64_t> ptr;  ///< (num_parts + 1) cluster offsets in new ids
  double seconds = 0;             ///< wall time the partitioner took

  [[nodiscard]] std::int32_t num_parts() const { return static_cast<std::int32_t>(ptr.size()) - 1; }
  [[nodiscard]] node_id num_nodes() const { return static_cast<node_id>(perm.size()); }
  /// @brief Number of nodes in cluster c.
  [[nodiscard]] std::int64_t size(std::int32_t c) const {
    return ptr[static_cast<std::size_t>(c) + 1] - ptr[static_cast<std::size_t>(c)];
  }
};

/// @brief Checks a requested part count against a graph; every partitioner calls it first, so all three
/// refuse the same inputs with the same words. `who` names the partitioner in the message.
inline void check_part_count(const char* who, const Graph& graph, std::int32_t num_parts) {
  const std::int64_t n = graph.rows();
  const std::string prefix = std::string("gas::partition::") + who + "::partition: ";
  if (num_parts < 1) throw partition_error(prefix + "num_parts = " + std::to_string(num_parts) + " must be at least 1");
  if (n == 0)
    throw partition_error(prefix + "the graph has no nodes, so it cannot be split into " + std::to_string(num_parts) +
                          " parts");
  if (num_parts > n)
    throw partition_error(prefix + "num_parts = " + std::to_string(num_parts) + " exceeds the graph's " +
                          std::to_string(n) + " nodes");
}

/// @brief Builds a Partition from a cluster id per node (part[v] in [0, num_parts)); empty clusters are kept.
inline Partition from_assignment(std::span<const std::int32_t> part, std::int32_t num_parts) {
  GAS_CHECK(num_parts >= 1, partition_error, "num_parts = " << num_parts << " must be at least 1");
  Partition p;
  p.ptr.assign(static_cast<std::size_t>(num_parts) + 1, 0);
  for (std::size_t v = 0; v < part.size(); ++v) {
    GAS_CHECK(part[v] >= 0 && part[v] < num_parts, partition_error,
              "node " << v << " assigned to part " << part[v] << " outside [0, " << num_parts << ")");
    ++p.ptr[static_cast<std::size_t>(part[v]) + 1];
  }
  for (std::size_t c = 1; c < p.ptr.size(); ++c) p.ptr[c] += p.ptr[c - 1];
  p.perm.resize(part.size());
  p.inverse.resize(part.size());
  std::vector<std::int64_t> cursor(p.ptr.begin(), p.ptr.end() - 1);
  for (std::size_t v = 0; v < part.size(); ++v) {  // ascending original ids: stable within a cluster
    const auto at = cursor[static_cast<std::size_t>(part[v])]++;
    p.perm[static_cast<std::size_t>(at)] = static_cast<node_id>(v);
    p.inverse[v] = static_cast<node_id>(at);
  }
  return p;
}

/// @brief Quality of a partition of a graph.
struct Stats {
  std::int32_t parts = 0;
  std::int64_t edge_cut = 0;       ///< stored (directed) entries whose endpoints lie in different clusters, / 2
  double edge_cut_fraction = 0;    ///< edge_cut / (stored entries / 2); 0 for an edgeless graph
  std::int64_t largest_part = 0;   ///< nodes in the largest cluster
  std::int64_t smallest_part = 0;  ///< nodes in the smallest cluster
  double imbalance = 0;            ///< largest_part / (nodes / parts); 1 is perfect balance
};

/// @brief Edge cut and balance of `p` on `graph` (in original ids). For a symmetric graph the edge cut counts
/// each cut undirected edge once.
inline Stats stats(const Graph& graph, const Partition& p) {
  GAS_CHECK(graph.rows() == p.num_nodes(), shape_error,
            "graph has " << graph.rows() << " nodes but the partition covers " << p.num_nodes());
  Stats s;
  s.parts = p.num_parts();
  std::int64_t cut = 0;
  // Cluster of each original node, so the edge loop is one lookup per endpoint.
  std::vector<std::int32_t> cluster(static_cast<std::size_t>(graph.rows()));
  for (std::int32_t c = 0; c < p.num_parts(); ++c)
    for (auto i = p.ptr[static_cast<std::size_t>(c)]; i < p.ptr[static_cast<std::size_t>(c) + 1]; ++i)
      cluster[static_cast<std::size_t>(p.perm[static_cast<std::size_t>(i)])] = c;
#pragma omp parallel for reduction(+ : cut) schedule(static)
  for (node_id v = 0; v < graph.rows(); ++v)
    for (auto w : graph.neighbors(v)) cut += cluster[static_cast<std::size_t>(v)] != cluster[static_cast<std::size_t>(w)];
  s.edge_cut = cut / 2;
  s.edge_cut_fraction = graph.num_edges() > 0 ? static_cast<double>(cut) / static_cast<double>(graph.num_edges()) : 0.0;
  s.largest_part = 0;
  s.smallest_part = p.num_parts() > 0 ? p.size(0) : 0;
  for (std::int32_t c = 0; c < p.num_parts(); ++c) {
    s.largest_part = std::max(s.largest_part, p.size(c));
    s.smallest_part = std::min(s.smallest_part, p.size(c));
  }
  s.imbalance = graph.rows() > 0 ? static_cast<double>(s.largest_part) * p.num_parts() / graph.rows() : 0.0;
  return s;
}

/// @brief A partitioner: a value (its configuration, including the number of parts) whose `partition(graph)`
/// returns a Partition of the graph's nodes.
template <class P>
concept Partitioner = requires(const P& p, const Graph& graph) {
  { p.partition(graph) } -> std::same_as<Partition>;
};

}  // namespace gas::partition
