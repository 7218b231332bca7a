#pragma once
/// @brief `Metis`: edge-cut-minimizing partitions by libmetis 5.1 (k-way or recursive bisection).
///
/// METIS sees the graph's structure only: edge weights are ignored, as in the reference, whose weights are
/// floats (normalized adjacencies) that METIS's integer weights could not carry faithfully. METIS needs a
/// structurally symmetric graph without self-loops; loops are dropped from a copy, an asymmetric graph is
/// rejected. Its idx_t is 32 bits on Debian, so a graph with 2^31 or more stored entries is rejected with a
/// pointer to `Random`.

#include <metis.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/graph/transforms.hpp"
#include "gas/partition/partition.hpp"

namespace gas::partition {

namespace detail {

/// @brief Serializes METIS calls: GKlib keeps its random state in globals, so two concurrent calls would
/// race and lose determinism.
inline std::mutex& metis_mutex() {
  static std::mutex m;
  return m;
}

/// @brief The name of a METIS return code, for error messages.
inline std::string metis_status_name(int status) {
  switch (status) {
    case METIS_OK: return "METIS_OK";
    case METIS_ERROR_INPUT: return "METIS_ERROR_INPUT";
    case METIS_ERROR_MEMORY: return "METIS_ERROR_MEMORY";
    case METIS_ERROR: return "METIS_ERROR";
    default: return "unknown METIS status " + std::to_string(status);
  }
}

/// @brief Throws partition_error unless `nodes` and `entries` (stored directed edges) fit METIS's idx_t.
inline void check_metis_size(std::int64_t nodes, std::int64_t entries) {
  constexpr auto limit = static_cast<std::int64_t>(std::numeric_limits<idx_t>::max());
  GAS_CHECK(nodes <= limit && entries <= limit, partition_error,
            "graph with " << nodes << " nodes and " << entries << " stored entries exceeds METIS's "
                          << sizeof(idx_t) * 8 << "-bit idx_t (at most " << limit
                          << "); use gas::partition::Random for graphs this large");
}

/// @brief Folds a 64-bit seed to the non-negative int METIS_OPTION_SEED takes; the same seed always gives
/// the same value, and both halves of the seed matter.
inline idx_t metis_seed(std::uint64_t seed) {
  return static_cast<idx_t>((seed ^ (seed >> 32)) & 0x7fffffffu);
}

/// @brief The imbalance tolerance as METIS's ufactor (allowed load imbalance in thousandths above 1).
inline idx_t metis_ufactor(double imbalance) {
  return static_cast<idx_t>(std::lround((imbalance - 1.0) * 1000.0));
}

}  // namespace detail

/// @brief Partitioner by libmetis: few cut edges and near-equal cluster sizes, for graphs up to 2^31 entries.
///
/// Outcomes at the edges: num_parts < 1, num_parts > nodes and the empty graph throw partition_error;
/// num_parts == 1 puts every node in one cluster without calling METIS. Isolated nodes and disconnected graphs
/// are fine. METIS may leave a cluster empty (it can on tiny or edgeless graphs when num_parts is close to the
/// node count); the empty cluster is kept, so `num_parts()` always equals the request.
struct Metis {
  std::int32_t num_parts = 2;
  bool recursive = false;   ///< recursive bisection (METIS_PartGraphRecursive) instead of k-way
  std::uint64_t seed = 0;   ///< METIS's random seed; the same seed gives the same partition
  double imbalance = 1.03;  ///< largest cluster at most this times the average (METIS ufactor 30)

  /// @brief Partitions `graph` (structurally symmetric; weights ignored, self-loops dropped).
  [[nodiscard]] Partition partition(const Graph& graph) const {
    const auto start = std::chrono::steady_clock::now();
    check_part_count("Metis", graph, num_parts);
    const std::int64_t n = graph.rows();
    GAS_CHECK(std::isfinite(imbalance) && imbalance >= 1.0, partition_error,
              "imbalance = " << imbalance << " must be a finite number of at least 1");
    GAS_CHECK(graph.rows() == graph.cols(), partition_error,
              "adjacency is not square (" << graph.rows() << " x " << graph.cols() << ")");

    std::vector<std::int32_t> part(static_cast<std::size_t>(n), 0);
    if (num_parts > 1) {
      // METIS reads structure only: a weightless, loop-free view decides symmetry the way METIS sees it.
      const bool copy = graph.has_weights() || has_self_loops(graph);
      const Graph structure =
          copy ? remove_self_loops(Graph(graph.rows(), graph.cols(),
                                         std::vector<std::int64_t>(graph.indptr().begin(), graph.indptr().end()),
                                         std::vector<node_id>(graph.indices().begin(), graph.indices().end())))
               : Graph();
      const Graph& g = copy ? structure : graph;
      GAS_CHECK(is_symmetric(g), partition_error,
                "METIS needs a symmetric graph, and this one has an edge (u, v) without (v, u); symmetrize it first "
                "(gas::symmetrize)");
      detail::check_metis_size(n, g.num_edges());

      std::vector<idx_t> xadj(g.indptr().begin(), g.indptr().end());
      std::vector<idx_t> adjncy(g.indices().begin(), g.indices().end());
      idx_t nvtxs = static_cast<idx_t>(n), ncon = 1, nparts = num_parts, objval = 0;
      idx_t options[METIS_NOPTIONS];
      METIS_SetDefaultOptions(options);
      options[METIS_OPTION_NUMBERING] = 0;
      options[METIS_OPTION_SEED] = detail::metis_seed(seed);
      options[METIS_OPTION_UFACTOR] = detail::metis_ufactor(imbalance);
      std::vector<idx_t> where(static_cast<std::size_t>(n), 0);
      int status = METIS_ERROR;
      {
        const std::lock_guard lock(detail::metis_mutex());
        auto* call = recursive ? &METIS_PartGraphRecursive : &METIS_PartGraphKway;
        status = call(&nvtxs, &ncon, xadj.data(), adjncy.data(), nullptr, nullptr, nullptr, &nparts, nullptr, nullptr,
                      options, &objval, where.data());
      }
      GAS_CHECK(status == METIS_OK, partition_error,
                (recursive ? "METIS_PartGraphRecursive" : "METIS_PartGraphKway")
                    << " failed with " << detail::metis_status_name(status) << " (" << n << " nodes, " << num_parts
                    << " parts)");
      for (std::size_t v = 0; v < where.size(); ++v) part[v] = static_cast<std::int32_t>(where[v]);
    }
    Partition p = from_assignment(part, num_parts);
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
  }
};

}  // namespace gas::partition
