#pragma once
// Shared helpers for the loader tests: random graphs with the awkward cases (unsorted rows, repeated neighbors,
// self-loops, isolated nodes, weights), cluster layouts, relabeling by a partition, and the brute-force
// reference a Batch is compared with.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include <gas/core/rng.hpp>
#include <gas/graph/dataset.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/loader/batch.hpp>
#include <gas/partition/partition.hpp>

namespace gas_test {

/// A directed random graph built straight from CSR arrays, so rows keep a random (unsorted) order with repeated
/// neighbors and self-loops; about `isolated` of the nodes have no out-edges.
inline gas::Graph messy_graph(gas::node_id n, double avg_degree, std::uint64_t seed, bool weighted,
                              double isolated = 0.2) {
  gas::Rng rng(seed, 17);
  std::vector<std::int64_t> indptr{0};
  std::vector<gas::node_id> indices;
  std::vector<float> weights;
  for (gas::node_id v = 0; v < n; ++v) {
    const auto degree = rng.bernoulli(isolated) ? 0 : rng.below(static_cast<std::uint64_t>(2 * avg_degree) + 1);
    for (std::uint64_t k = 0; k < degree; ++k) {
      const auto u = rng.bernoulli(0.05) ? v : static_cast<gas::node_id>(rng.below(static_cast<std::uint64_t>(n)));
      indices.push_back(u);
      if (weighted) weights.push_back(static_cast<float>(rng.uniform(0.1, 2.0)));
    }
    indptr.push_back(static_cast<std::int64_t>(indices.size()));
  }
  return gas::Graph(n, n, std::move(indptr), std::move(indices), std::move(weights));
}

/// The graph with node v renamed p.inverse[v], each row's neighbors kept in their stored order.
inline gas::Graph relabel(const gas::Graph& g, const gas::partition::Partition& p) {
  std::vector<std::int64_t> indptr{0};
  std::vector<gas::node_id> indices;
  std::vector<float> weights;
  for (gas::node_id i = 0; i < g.rows(); ++i) {
    const auto v = p.perm[static_cast<std::size_t>(i)];
    for (auto u : g.neighbors(v)) indices.push_back(p.inverse[static_cast<std::size_t>(u)]);
    for (auto w : g.edge_weights(v)) weights.push_back(w);
    indptr.push_back(static_cast<std::int64_t>(indices.size()));
  }
  return gas::Graph(g.rows(), g.cols(), std::move(indptr), std::move(indices), std::move(weights));
}

/// A cluster pointer of `parts` clusters over n nodes with random sizes; some clusters are empty.
inline std::vector<std::int64_t> random_ptr(std::int64_t n, std::int32_t parts, std::uint64_t seed) {
  gas::Rng rng(seed, 23);
  std::vector<std::int64_t> cuts{0, n};
  for (std::int32_t c = 1; c < parts; ++c) cuts.push_back(static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n) + 1)));
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

/// Equal contiguous ranges: cluster c = [c * n / parts, (c + 1) * n / parts).
inline std::vector<std::int64_t> even_ptr(std::int64_t n, std::int32_t parts) {
  std::vector<std::int64_t> ptr;
  for (std::int32_t c = 0; c <= parts; ++c) ptr.push_back(n * c / parts);
  return ptr;
}

/// An SBM graph relabeled so that a random assignment into `parts` clusters is contiguous; returns the graph
/// and its cluster pointer.
inline std::pair<gas::Graph, std::vector<std::int64_t>> clustered_sbm(std::int64_t nodes, std::int32_t parts,
                                                                      std::uint64_t seed) {
  const auto data = gas::gen::sbm({.nodes = nodes, .classes = 4, .features = 0, .degree = 6, .seed = seed});
  std::vector<std::int32_t> part(static_cast<std::size_t>(nodes));
  gas::Rng rng(seed, 29);
  for (auto& c : part) c = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(parts)));
  const auto p = gas::partition::from_assignment(part, parts);
  return {relabel(data.graph, p), p.ptr};
}

/// Checks every promise a Batch makes against a brute-force reference built with std::set.
inline void check_batch(const gas::Graph& g, std::span<const std::int64_t> ptr, std::span<const std::int32_t> clusters,
                        const gas::loader::Batch& b) {
  using gas::node_id;
  CHECK(std::vector<std::int32_t>(clusters.begin(), clusters.end()) == b.clusters);
  // In-batch ids: the clusters' ranges concatenated in the given order.
  std::vector<node_id> in_batch;
  for (auto c : clusters)
    for (auto v = ptr[static_cast<std::size_t>(c)]; v < ptr[static_cast<std::size_t>(c) + 1]; ++v)
      in_batch.push_back(static_cast<node_id>(v));
  REQUIRE(b.batch_size == static_cast<node_id>(in_batch.size()));
  REQUIRE(b.n_id.size() >= in_batch.size());
  CHECK(std::vector<node_id>(b.n_id.begin(), b.n_id.begin() + b.batch_size) == in_batch);
  // Chunks: expanding them in order gives the in-batch ids; none is empty; touching chunks were merged.
  std::vector<node_id> expanded;
  for (std::size_t k = 0; k < b.chunks.size(); ++k) {
    const auto& ch = b.chunks[k];
    CHECK(ch.count > 0);
    if (k > 0) CHECK(b.chunks[k - 1].offset + b.chunks[k - 1].count != ch.offset);
    for (node_id v = ch.offset; v < ch.offset + ch.count; ++v) expanded.push_back(v);
  }
  CHECK(expanded == in_batch);
  // Halo: exactly the out-of-batch 1-hop neighbors, each once, in first-seen order.
  const std::set<node_id> batch_set(in_batch.begin(), in_batch.end());
  std::vector<node_id> halo_ref;
  std::set<node_id> halo_set;
  for (auto v : in_batch)
    for (auto u : g.neighbors(v))
      if (!batch_set.count(u) && halo_set.insert(u).second) halo_ref.push_back(u);
  CHECK(std::vector<node_id>(b.halo().begin(), b.halo().end()) == halo_ref);
  CHECK(b.num_halo() == static_cast<node_id>(halo_ref.size()));
  // Rows: the full neighborhood of each in-batch node, same order, same weights.
  REQUIRE(b.adj.rows() == b.batch_size);
  REQUIRE(b.adj.cols() == static_cast<node_id>(b.n_id.size()));
  CHECK(b.adj.has_weights() == g.has_weights());
  for (node_id i = 0; i < b.batch_size; ++i) {
    const auto v = b.n_id[static_cast<std::size_t>(i)];
    std::vector<node_id> mapped;
    for (auto col : b.adj.neighbors(i)) mapped.push_back(b.n_id[static_cast<std::size_t>(col)]);
    const auto ref = g.neighbors(v);
    CHECK(mapped == std::vector<node_id>(ref.begin(), ref.end()));
    const auto w = b.adj.edge_weights(i), w_ref = g.edge_weights(v);
    CHECK(std::vector<float>(w.begin(), w.end()) == std::vector<float>(w_ref.begin(), w_ref.end()));
  }
}

}  // namespace gas_test
