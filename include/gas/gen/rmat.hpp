#pragma once
/// @brief R-MAT power-law graphs (Chakrabarti, Zhan and Faloutsos, 2004) for scaling experiments.
///
/// Edges are drawn in fixed-size blocks, each from its own stream keyed by (seed, block), so a seed gives the
/// same graph for every OpenMP thread count.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/gen/params.hpp"

namespace gas::gen {

/// @brief Parameters of `rmat`; the field names are the keys `parse_rmat` accepts.
struct RmatConfig {
  std::int32_t scale = 16;  ///< the graph has 2^scale nodes
  std::int64_t edges = 0;   ///< undirected edges to draw; 0 means 8 * 2^scale
  double a = 0.57, b = 0.19, c = 0.19;  ///< quadrant probabilities; d = 1 - a - b - c
  std::uint64_t seed = 0;
};

/// @brief Checks every field's range; throws config_error naming the field and its value.
inline void validate(const RmatConfig& r) {
  GAS_CHECK(r.scale >= 1 && r.scale <= 30, config_error, "rmat: scale=" << r.scale << " outside [1, 30]");
  GAS_CHECK(r.edges >= 0, config_error, "rmat: edges=" << r.edges << " is negative");
  GAS_CHECK(r.a >= 0, config_error, "rmat: a=" << r.a << " is negative");
  GAS_CHECK(r.b >= 0, config_error, "rmat: b=" << r.b << " is negative");
  GAS_CHECK(r.c >= 0, config_error, "rmat: c=" << r.c << " is negative");
  GAS_CHECK(r.a + r.b + r.c < 1, config_error,
            "rmat: a=" << r.a << " + b=" << r.b << " + c=" << r.c << " must be below 1 (d = 1 - a - b - c > 0)");
}

/// @brief Parses "scale=...,edges=...,a=...,b=...,c=...,seed=..." (missing keys keep their default) and
/// validates the result; throws config_error.
inline RmatConfig parse_rmat(std::string_view kv) {
  using R = RmatConfig;
  const auto r = parse_fields<R>("rmat", kv, field("scale", &R::scale), field("edges", &R::edges), field("a", &R::a),
                                 field("b", &R::b), field("c", &R::c), field("seed", &R::seed));
  validate(r);
  return r;
}

namespace detail {

/// @brief Purposes of the random streams of `rmat`.
enum rmat_stream : std::uint64_t { rmat_permutation = 1, rmat_edges };

/// @brief Edges drawn per random stream: large enough to amortize seeding, small enough to balance threads.
inline constexpr std::int64_t rmat_block = 4096;

}  // namespace detail

/// @brief Generates an R-MAT graph (name "rmat") with 2^scale nodes, symmetrized, deduplicated and without
/// self-loops; features are (nodes, 0) and there are no targets or splits.
///
/// Each edge descends `scale` levels of the adjacency matrix, choosing the quadrant (top-left, top-right,
/// bottom-left, bottom-right) with probabilities (a, b, c, d). Node ids are then relabeled by a random
/// permutation, because raw R-MAT ids put the high-degree nodes at small ids, which would flatter
/// contiguous partitioning and caches. Duplicates and self-loops are dropped, so the graph has somewhat fewer
/// than 2 * edges directed edges.
inline Dataset rmat(const RmatConfig& config) {
  validate(config);
  const auto n = static_cast<node_id>(std::int64_t{1} << config.scale);
  const std::int64_t m = config.edges > 0 ? config.edges : std::int64_t{8} << config.scale;
  const std::uint64_t seed = config.seed;

  std::vector<node_id> relabel(static_cast<std::size_t>(n));
  std::iota(relabel.begin(), relabel.end(), node_id{0});
  Rng(seed, detail::rmat_permutation).shuffle(relabel.begin(), relabel.end());

  // Cumulative quadrant thresholds: a draw below ab picks the top row half, and so on.
  const double ab = config.a + config.b, abc = ab + config.c;
  std::vector<node_id> src(static_cast<std::size_t>(m)), dst(static_cast<std::size_t>(m));
  const std::int64_t blocks = (m + detail::rmat_block - 1) / detail::rmat_block;
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    Rng rng(counter_hash(seed, detail::rmat_edges, static_cast<std::uint64_t>(blk)));
    const std::int64_t end = std::min(m, (blk + 1) * detail::rmat_block);
    for (std::int64_t e = blk * detail::rmat_block; e < end; ++e) {
      std::uint32_t u = 0, v = 0;
      for (std::int32_t level = 0; level < config.scale; ++level) {
        const double r = rng.uniform();
        const auto down = static_cast<std::uint32_t>(r >= ab);
        const auto right = static_cast<std::uint32_t>(r >= abc || (r >= config.a && r < ab));
        u = (u << 1) | down;
        v = (v << 1) | right;
      }
      src[static_cast<std::size_t>(e)] = relabel[u];
      dst[static_cast<std::size_t>(e)] = relabel[v];
    }
  }

  Dataset data;
  data.name = "rmat";
  data.graph = csr_from_coo<node_id, float>(n, n, std::span<const node_id>(src), std::span<const node_id>(dst), {},
                                            {.symmetrize = true, .dedupe = true, .drop_self_loops = true});
  data.features = Tensor<float>(n, 0);  // (nodes, 0)
  return data;
}

}  // namespace gas::gen
