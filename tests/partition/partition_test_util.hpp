#pragma once
// Property checks shared by the partitioner tests: a Partition is a valid relabeling, and small graphs with
// awkward shapes (isolated nodes, several components).

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/partition/partition.hpp"

namespace gas_test {

/// Checks every invariant of a Partition of n nodes into k clusters: ptr starts at 0, ends at n and never
/// decreases; perm is a bijection and inverse its inverse (so every node is in exactly one cluster); within a
/// cluster original ids ascend.
inline void check_valid(const gas::partition::Partition& p, std::int64_t n, std::int32_t k) {
  REQUIRE(p.num_parts() == k);
  REQUIRE(p.num_nodes() == n);
  REQUIRE(static_cast<std::int64_t>(p.inverse.size()) == n);
  CHECK(p.ptr.front() == 0);
  CHECK(p.ptr.back() == n);
  bool monotone = true;
  for (std::size_t c = 0; c + 1 < p.ptr.size(); ++c) monotone = monotone && p.ptr[c] <= p.ptr[c + 1];
  CHECK(monotone);
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  bool in_range = true, inverse_ok = true;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto v = p.perm[static_cast<std::size_t>(i)];
    if (v < 0 || v >= n) {
      in_range = false;
      continue;
    }
    ++seen[static_cast<std::size_t>(v)];
    inverse_ok = inverse_ok && p.inverse[static_cast<std::size_t>(v)] == i;
  }
  CHECK(in_range);
  CHECK(inverse_ok);
  bool once = true;
  for (int s : seen) once = once && s == 1;
  CHECK(once);
  bool ascending = true;
  for (std::int32_t c = 0; c < p.num_parts(); ++c)
    for (auto i = p.ptr[static_cast<std::size_t>(c)] + 1; i < p.ptr[static_cast<std::size_t>(c) + 1]; ++i)
      ascending = ascending && p.perm[static_cast<std::size_t>(i - 1)] < p.perm[static_cast<std::size_t>(i)];
  CHECK(ascending);
}

/// A symmetric graph from undirected edges.
inline gas::Graph undirected(gas::node_id n, const std::vector<std::pair<gas::node_id, gas::node_id>>& edges) {
  std::vector<gas::node_id> src, dst;
  for (auto [u, v] : edges) {
    src.push_back(u);
    dst.push_back(v);
  }
  return gas::csr_from_coo<gas::node_id, float>(n, n, src, dst, {.symmetrize = true});
}

/// 10 nodes: a triangle {0, 1, 2}, a path 4-5-6, and isolated nodes 3, 7, 8, 9.
inline gas::Graph components_and_isolated() { return undirected(10, {{0, 1}, {1, 2}, {2, 0}, {4, 5}, {5, 6}}); }

/// Three 5-cliques, each a component: a partition into 3 that follows them cuts nothing.
inline gas::Graph three_cliques() {
  std::vector<std::pair<gas::node_id, gas::node_id>> edges;
  for (gas::node_id b : {0, 5, 10})
    for (gas::node_id u = 0; u < 5; ++u)
      for (gas::node_id v = u + 1; v < 5; ++v) edges.emplace_back(b + u, b + v);
  return undirected(15, edges);
}

}  // namespace gas_test
