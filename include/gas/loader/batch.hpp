#pragma once
/// @brief `Batch`: the subgraph one GAS step works on (in-batch clusters plus their 1-hop halo), and
/// `build_batch`, which cuts it out of a graph whose clusters are contiguous id ranges.
///
/// The semantics follow the reference exactly. In-batch ids are the chosen clusters' ranges in the order the
/// clusters are given; the halo is every neighbor of an in-batch node that is not itself in the batch,
/// numbered batch_size, batch_size + 1, ... in first-seen order (rows in batch order, each row's neighbors in
/// stored order). The adjacency is bipartite: one row per in-batch node with its full neighborhood, columns
/// relabeled to positions in n_id, weights and neighbor order kept. Building costs O(edges of the batch)
/// plus O(clusters in the batch), thanks to a reusable node-indexed workspace that is reset entry by entry.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <span>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::loader {

/// @brief A contiguous run of in-batch nodes: global ids [offset, offset + count), the unit of history copies.
struct Chunk {
  node_id offset = 0;
  node_id count = 0;

  friend bool operator==(const Chunk&, const Chunk&) = default;
};

/// @brief The subgraph of one step: n_id = [in-batch ids ; halo ids] and the bipartite adjacency over it.
///
/// Chunks are maximal: consecutive clusters in batch order whose id ranges touch (cluster c followed by
/// c + 1, or an empty cluster between them) share one chunk, and empty clusters contribute none. Copies of
/// batch rows into a history are therefore as few and as long as possible; chunk k covers batch rows
/// [sum of the earlier counts, + count) and the counts sum to batch_size.
struct Batch {
  std::vector<node_id> n_id;           ///< (batch_size + num_halo) in-batch ids in cluster order, then halo ids in first-seen order
  node_id batch_size = 0;              ///< in-batch nodes: the first batch_size entries of n_id
  std::vector<Chunk> chunks;           ///< maximal contiguous in-batch ranges, in batch order
  Graph adj;                           ///< (batch_size x n_id.size()) rows = in-batch nodes, columns = positions in n_id
  std::vector<std::int32_t> clusters;  ///< cluster ids of this batch, in batch order

  /// @brief Number of halo nodes (out-of-batch neighbors), n_id.size() - batch_size.
  [[nodiscard]] node_id num_halo() const { return static_cast<node_id>(n_id.size()) - batch_size; }
  /// @brief The halo ids, n_id[batch_size, n_id.size()).
  [[nodiscard]] std::span<const node_id> halo() const {
    return std::span<const node_id>(n_id).subspan(static_cast<std::size_t>(batch_size));
  }

  friend bool operator==(const Batch&, const Batch&) = default;
};

class BatchWorkspace;

namespace detail {
inline void build_batch_into(const Graph& graph, std::span<const std::int64_t> ptr, std::span<const std::int32_t> clusters,
                      BatchWorkspace& ws, Batch& out, bool check_ptr);
}  // namespace detail

/// @brief Scratch state reused across batches, so that building one costs O(its edges), not O(nodes).
///
/// Holds a node-indexed position map (every entry -1 between batches: a build resets only the entries it set)
/// and a cluster-indexed stamp for duplicate detection. The first build on a graph sizes it, in O(nodes) once.
/// One workspace serves one thread at a time.
class BatchWorkspace {
public:
  BatchWorkspace() = default;

private:
  friend void detail::build_batch_into(const Graph&, std::span<const std::int64_t>, std::span<const std::int32_t>,
                                       BatchWorkspace&, Batch&, bool);

  std::vector<node_id> position_;             // (num_nodes) position in the current n_id, -1 when absent
  std::vector<std::uint64_t> cluster_stamp_;  // (num_parts) build number that last took the cluster
  std::uint64_t generation_ = 0;
};

/// @brief Checks that `ptr` is a cluster pointer of `graph`: at least one cluster, ptr[0] = 0, non-decreasing,
/// ptr.back() = number of nodes, and the graph square. Throws shape_error / value_error naming the bad entry.
inline void validate_ptr(const Graph& graph, std::span<const std::int64_t> ptr) {
  GAS_CHECK(graph.rows() == graph.cols(), shape_error,
            "the graph must be square, got (" << graph.rows() << " x " << graph.cols() << ")");
  GAS_CHECK(ptr.size() >= 2, shape_error,
            "cluster pointer has " << ptr.size() << " entries; it needs num_parts + 1 >= 2");
  GAS_CHECK(ptr.front() == 0, value_error, "cluster pointer starts at ptr[0] = " << ptr.front() << ", expected 0");
  for (std::size_t c = 0; c + 1 < ptr.size(); ++c)
    GAS_CHECK(ptr[c] <= ptr[c + 1], value_error,
              "cluster pointer decreases at cluster " << c << " (ptr[" << c << "] = " << ptr[c] << " > ptr[" << c + 1
                                                      << "] = " << ptr[c + 1] << ")");
  GAS_CHECK(ptr.back() == graph.rows(), shape_error,
            "cluster pointer ends at ptr[" << ptr.size() - 1 << "] = " << ptr.back() << " but the graph has "
                                           << graph.rows() << " nodes");
}

namespace detail {

/// @brief The core of build_batch; loaders that validated `ptr` once pass check_ptr = false and pay only an
/// O(1) check that the graph still has ptr.back() nodes (it catches a graph replaced behind a loader's back).
inline void build_batch_into(const Graph& graph, std::span<const std::int64_t> ptr,
                             std::span<const std::int32_t> clusters, BatchWorkspace& ws, Batch& out, bool check_ptr) {
  if (check_ptr) {
    validate_ptr(graph, ptr);
  } else {
    GAS_CHECK(!ptr.empty() && graph.rows() == graph.cols() && ptr.back() == graph.rows(), shape_error,
              "the graph has " << graph.rows() << " x " << graph.cols() << " nodes but the cluster pointer covers "
                               << (ptr.empty() ? 0 : ptr.back()));
  }
  const auto num_parts = static_cast<std::int64_t>(ptr.size()) - 1;
  const auto n = static_cast<std::size_t>(graph.rows());
  if (ws.position_.size() != n) ws.position_.assign(n, node_id{-1});
  if (ws.cluster_stamp_.size() < static_cast<std::size_t>(num_parts))
    ws.cluster_stamp_.resize(static_cast<std::size_t>(num_parts), 0);
  const std::uint64_t stamp = ++ws.generation_;

  std::int64_t batch_nodes = 0, batch_edges = 0;
  const auto indptr = graph.indptr();
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    const std::int32_t c = clusters[i];
    GAS_CHECK(c >= 0 && c < num_parts, value_error,
              "cluster id " << c << " at position " << i << " out of range [0, " << num_parts << ")");
    auto& seen = ws.cluster_stamp_[static_cast<std::size_t>(c)];
    GAS_CHECK(seen != stamp, value_error, "cluster " << c << " appears twice in the group (again at position " << i << ")");
    seen = stamp;
    const auto begin = ptr[static_cast<std::size_t>(c)], end = ptr[static_cast<std::size_t>(c) + 1];
    batch_nodes += end - begin;
    batch_edges += indptr[static_cast<std::size_t>(end)] - indptr[static_cast<std::size_t>(begin)];
  }

  // Reuse the output's storage: a loader hands the caller's previous batch back in here.
  auto parts = std::move(out.adj).release();
  std::vector<std::int64_t> row_ptr = std::move(parts.indptr);
  std::vector<node_id> cols = std::move(parts.indices);
  std::vector<float> vals = std::move(parts.weights);
  row_ptr.clear();
  cols.clear();
  vals.clear();
  out.n_id.clear();
  out.chunks.clear();
  out.clusters.assign(clusters.begin(), clusters.end());
  out.batch_size = static_cast<node_id>(batch_nodes);
  out.adj = Graph();
  row_ptr.reserve(static_cast<std::size_t>(batch_nodes) + 1);
  cols.reserve(static_cast<std::size_t>(batch_edges));
  const bool weighted = graph.has_weights();
  if (weighted) vals.reserve(static_cast<std::size_t>(batch_edges));

  auto& position = ws.position_;
  auto& n_id = out.n_id;
  // Every position set below belongs to a node in n_id, so resetting those (even when unwinding) restores
  // the all -1 invariant without touching the rest of the map.
  struct Reset {
    std::vector<node_id>& position;
    const std::vector<node_id>& n_id;
    ~Reset() {
      for (auto v : n_id) position[static_cast<std::size_t>(v)] = -1;
    }
  } reset{position, n_id};

  for (const std::int32_t c : clusters) {
    const auto begin = static_cast<node_id>(ptr[static_cast<std::size_t>(c)]);
    const auto end = static_cast<node_id>(ptr[static_cast<std::size_t>(c) + 1]);
    if (begin == end) continue;
    if (!out.chunks.empty() && out.chunks.back().offset + out.chunks.back().count == begin)
      out.chunks.back().count += end - begin;
    else
      out.chunks.push_back({begin, static_cast<node_id>(end - begin)});
    for (node_id v = begin; v < end; ++v) {
      position[static_cast<std::size_t>(v)] = static_cast<node_id>(n_id.size());
      n_id.push_back(v);
    }
  }

  const auto indices = graph.indices();
  const auto weights = graph.weights();
  row_ptr.push_back(0);
  // n_id grows while the rows are scanned, so rows are addressed by index, never by iterator.
  for (node_id i = 0; i < out.batch_size; ++i) {
    const auto v = static_cast<std::size_t>(n_id[static_cast<std::size_t>(i)]);
    for (auto k = static_cast<std::size_t>(indptr[v]); k < static_cast<std::size_t>(indptr[v + 1]); ++k) {
      const node_id u = indices[k];
      node_id p = position[static_cast<std::size_t>(u)];
      if (p < 0) {
        p = static_cast<node_id>(n_id.size());
        position[static_cast<std::size_t>(u)] = p;
        n_id.push_back(u);
      }
      cols.push_back(p);
      if (weighted) vals.push_back(weights[k]);
    }
    row_ptr.push_back(static_cast<std::int64_t>(cols.size()));
  }
  out.adj = Graph(out.batch_size, static_cast<node_id>(n_id.size()), std::move(row_ptr), std::move(cols),
                  std::move(vals));
}

}  // namespace detail

/// @brief Builds the batch of `clusters` (in that order) from `graph`, whose cluster c is the id range
/// [ptr[c], ptr[c + 1]). Throws value_error for a cluster id out of range or repeated, shape_error / value_error
/// for a `ptr` that does not describe the graph (see validate_ptr).
inline Batch build_batch(const Graph& graph, std::span<const std::int64_t> ptr, std::span<const std::int32_t> clusters,
                         BatchWorkspace& ws) {
  Batch out;
  detail::build_batch_into(graph, ptr, clusters, ws, out, true);
  return out;
}

/// @brief As build_batch, but into `out`, reusing its storage (no allocation once capacities have grown).
inline void build_batch(const Graph& graph, std::span<const std::int64_t> ptr, std::span<const std::int32_t> clusters,
                        BatchWorkspace& ws, Batch& out) {
  detail::build_batch_into(graph, ptr, clusters, ws, out, true);
}

namespace detail {

/// @brief Builds batch k of `out` (resized to `steps`) from clusters order[k * group, (k + 1) * group), in
/// parallel over batches with one workspace per thread; rethrows the first exception a thread raised.
inline void build_groups(const Graph& graph, std::span<const std::int64_t> ptr, std::span<const std::int32_t> order,
                         std::int64_t group, std::int64_t steps, std::vector<Batch>& out) {
  out.resize(static_cast<std::size_t>(steps));
  std::exception_ptr error;
#pragma omp parallel
  {
    BatchWorkspace ws;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t k = 0; k < steps; ++k) {
      try {
        const auto first = static_cast<std::size_t>(k * group);
        const auto count = std::min(static_cast<std::size_t>(group), order.size() - first);
        build_batch_into(graph, ptr, order.subspan(first, count), ws, out[static_cast<std::size_t>(k)], false);
      } catch (...) {
#pragma omp critical(gas_loader_build_groups)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace detail

}  // namespace gas::loader
