#pragma once
/// @brief `batch_bounds`: upper bounds on the size of any batch of `batch_size` clusters of a partitioned graph
/// (in-batch rows, ids with the halo, adjacency entries), so that a GPU pipeline can size its buffers once, before
/// the first step, and allocate nothing afterwards whatever clusters a batch draws.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::loader {

/// @brief Bounds on one batch: its in-batch rows, its n_id entries (rows plus halo) and its adjacency entries.
struct BatchBounds {
  std::int64_t rows = 0;
  std::int64_t ids = 0;
  std::int64_t nnz = 0;
};

/// @brief Bounds over every batch of `batch_size` distinct clusters of `graph`, whose cluster c is the id range
/// [ptr[c], ptr[c + 1]): the sums of the batch_size largest per-cluster sizes, halos (distinct out-of-cluster
/// neighbors) and entry counts, the halo capped so that ids <= num_nodes. A batch's halo is at most the sum of its
/// clusters' halos, so the bounds hold for every batch; O(nodes + edges). Throws value_error for batch_size < 1
/// or a ptr that does not cover the graph.
inline BatchBounds batch_bounds(const Graph& graph, std::span<const std::int64_t> ptr, std::int32_t batch_size) {
  GAS_CHECK(batch_size >= 1, value_error, "batch_size = " << batch_size << " must be at least 1");
  GAS_CHECK(!ptr.empty() && ptr.front() == 0 && ptr.back() == graph.rows(), value_error,
            "cluster offsets must run from 0 to the graph's " << graph.rows() << " rows");
  const auto parts = static_cast<std::int64_t>(ptr.size()) - 1;
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(parts)), halos(sizes.size()), entries(sizes.size());
  std::vector<std::int64_t> stamp(static_cast<std::size_t>(graph.cols()), -1);
  const auto indptr = graph.indptr();
  const auto indices = graph.indices();
  for (std::int64_t c = 0; c < parts; ++c) {
    const auto begin = ptr[static_cast<std::size_t>(c)], end = ptr[static_cast<std::size_t>(c) + 1];
    GAS_CHECK(begin <= end, value_error, "cluster offsets decrease at cluster " << c);
    std::int64_t halo = 0;
    for (std::int64_t v = begin; v < end; ++v)
      for (auto e = indptr[static_cast<std::size_t>(v)]; e < indptr[static_cast<std::size_t>(v) + 1]; ++e) {
        const node_id u = indices[static_cast<std::size_t>(e)];
        if ((u < begin || u >= end) && stamp[static_cast<std::size_t>(u)] != c) {
          stamp[static_cast<std::size_t>(u)] = c;
          ++halo;
        }
      }
    sizes[static_cast<std::size_t>(c)] = end - begin;
    halos[static_cast<std::size_t>(c)] = halo;
    entries[static_cast<std::size_t>(c)] = indptr[static_cast<std::size_t>(end)] - indptr[static_cast<std::size_t>(begin)];
  }
  const auto k = static_cast<std::size_t>(std::min<std::int64_t>(batch_size, parts));
  auto top = [k](std::vector<std::int64_t>& v) {
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end(), std::greater<>());
    std::int64_t s = 0;
    for (std::size_t i = 0; i < k; ++i) s += v[i];
    return s;
  };
  BatchBounds b;
  b.rows = top(sizes);
  b.ids = std::min<std::int64_t>(graph.cols(), b.rows + top(halos));
  b.nnz = top(entries);
  return b;
}

}  // namespace gas::loader
