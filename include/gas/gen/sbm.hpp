#pragma once
/// @brief Stochastic block model with class-correlated Gaussian features: gas's built-in default dataset.
///
/// Every random draw comes from a stream keyed by (seed, purpose, block or node), never from a generator
/// shared between threads, so a seed gives the same dataset for every OpenMP thread count.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/gen/params.hpp"

namespace gas::gen {

/// @brief Parameters of `sbm`; the field names are the keys `parse_sbm` accepts.
struct SbmConfig {
  std::int64_t nodes = 10000;
  std::int32_t classes = 8;
  std::int64_t features = 64;
  double degree = 10;       ///< average degree before duplicates and self-loops are removed
  double homophily = 0.8;   ///< fraction of edges whose endpoints share a class
  double noise = 1.0;       ///< standard deviation of the feature noise around the class centroid
  double train = 0.6;       ///< fraction of each class in the training split
  double val = 0.2;         ///< fraction of each class in the validation split; the rest is test
  std::uint64_t seed = 0;
};

/// @brief Checks every field's range; throws config_error naming the field and its value.
inline void validate(const SbmConfig& c) {
  GAS_CHECK(c.nodes >= 1 && c.nodes <= std::numeric_limits<node_id>::max(), config_error,
            "sbm: nodes=" << c.nodes << " outside [1, " << std::numeric_limits<node_id>::max() << "]");
  GAS_CHECK(c.classes >= 1 && c.classes <= c.nodes, config_error,
            "sbm: classes=" << c.classes << " outside [1, nodes=" << c.nodes << "]");
  GAS_CHECK(c.features >= 0, config_error, "sbm: features=" << c.features << " is negative");
  GAS_CHECK(c.degree >= 0 && c.degree < static_cast<double>(c.nodes), config_error,
            "sbm: degree=" << c.degree << " outside [0, nodes=" << c.nodes << ")");
  GAS_CHECK(c.homophily >= 0 && c.homophily <= 1, config_error, "sbm: homophily=" << c.homophily << " outside [0, 1]");
  GAS_CHECK(c.noise >= 0, config_error, "sbm: noise=" << c.noise << " is negative");
  GAS_CHECK(c.train >= 0 && c.train <= 1, config_error, "sbm: train=" << c.train << " outside [0, 1]");
  GAS_CHECK(c.val >= 0 && c.val <= 1, config_error, "sbm: val=" << c.val << " outside [0, 1]");
  GAS_CHECK(c.train + c.val <= 1 + 1e-12, config_error,
            "sbm: train=" << c.train << " plus val=" << c.val << " exceeds 1");
}

/// @brief Parses "nodes=...,classes=...,..." (keys as the SbmConfig fields, missing keys keep their default)
/// and validates the result; throws config_error.
inline SbmConfig parse_sbm(std::string_view kv) {
  using S = SbmConfig;
  const auto c = parse_fields<S>("sbm", kv, field("nodes", &S::nodes), field("classes", &S::classes),
                                 field("features", &S::features), field("degree", &S::degree),
                                 field("homophily", &S::homophily), field("noise", &S::noise),
                                 field("train", &S::train), field("val", &S::val), field("seed", &S::seed));
  validate(c);
  return c;
}

namespace detail {

/// @brief Purposes of the random streams, so that changing one part (e.g. features) leaves the others alone.
enum sbm_stream : std::uint64_t { sbm_labels = 1, sbm_edges, sbm_centroids, sbm_features, sbm_splits };

/// @brief Edges drawn per random stream: large enough to amortize seeding, small enough to balance threads.
inline constexpr std::int64_t edge_block = 4096;

}  // namespace detail

/// @brief Generates a stochastic-block-model dataset (name "sbm") with one stratified split.
///
/// Classes are balanced (class sizes differ by at most one) and assigned to nodes at random. Each of
/// round(nodes * degree / 2) undirected edges takes a uniform source and, with probability `homophily`, a
/// uniform target from the source's class, otherwise a uniform target from the other classes (with a single
/// class every edge is inside it). The graph is symmetrized, deduplicated and free of self-loops. Features are
/// centroid[class] + noise * N(0, 1), where centroid entries are N(0, 1 / features), so centroids have about unit
/// norm and `noise` sets how far a single node's features are from telling its class: at the default noise an
/// MLP sees little, while averaging over neighbors of the same class recovers the centroid. The split holds,
/// per class, round(train * size) training nodes (at least one when train > 0), round(val * size) validation
/// nodes and the rest as test nodes.
inline Dataset sbm(const SbmConfig& config) {
  validate(config);
  const auto n = static_cast<node_id>(config.nodes);
  const std::int32_t k = config.classes;
  const std::uint64_t seed = config.seed;

  // Balanced classes: node v starts in class v mod k, then a shuffle scatters the classes over the ids.
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (node_id v = 0; v < n; ++v) labels[static_cast<std::size_t>(v)] = v % k;
  Rng(seed, detail::sbm_labels).shuffle(labels.begin(), labels.end());

  // Nodes grouped by class (ascending ids within a class): class c owns by_class[offset[c], offset[c + 1]).
  std::vector<std::int64_t> offset(static_cast<std::size_t>(k) + 1, 0);
  for (auto c : labels) ++offset[static_cast<std::size_t>(c) + 1];
  for (std::size_t c = 1; c < offset.size(); ++c) offset[c] += offset[c - 1];
  std::vector<node_id> by_class(static_cast<std::size_t>(n));
  {
    std::vector<std::int64_t> cursor(offset.begin(), offset.end() - 1);
    for (node_id v = 0; v < n; ++v)
      by_class[static_cast<std::size_t>(cursor[static_cast<std::size_t>(labels[static_cast<std::size_t>(v)])]++)] = v;
  }

  const auto m = static_cast<std::int64_t>(std::llround(static_cast<double>(n) * config.degree / 2));
  std::vector<node_id> src(static_cast<std::size_t>(m)), dst(static_cast<std::size_t>(m));
  const std::int64_t blocks = (m + detail::edge_block - 1) / detail::edge_block;
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t b = 0; b < blocks; ++b) {
    Rng rng(counter_hash(seed, detail::sbm_edges, static_cast<std::uint64_t>(b)));
    const std::int64_t end = std::min(m, (b + 1) * detail::edge_block);
    for (std::int64_t e = b * detail::edge_block; e < end; ++e) {
      const auto s = static_cast<node_id>(rng.below(static_cast<std::uint64_t>(n)));
      const auto c = static_cast<std::size_t>(labels[static_cast<std::size_t>(s)]);
      const std::int64_t first = offset[c], size = offset[c + 1] - offset[c];
      std::int64_t at = 0;
      if (k == 1 || rng.uniform() < config.homophily) {
        at = first + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(size)));
      } else {
        // A uniform position among the n - size nodes of other classes, skipping over class c's block.
        at = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - size)));
        if (at >= first) at += size;
      }
      src[static_cast<std::size_t>(e)] = s;
      dst[static_cast<std::size_t>(e)] = by_class[static_cast<std::size_t>(at)];
    }
  }

  Dataset data;
  data.name = "sbm";
  data.graph = csr_from_coo<node_id, float>(n, n, std::span<const node_id>(src), std::span<const node_id>(dst), {},
                                            {.symmetrize = true, .dedupe = true, .drop_self_loops = true});
  src = {};
  dst = {};

  const std::int64_t f = config.features;
  std::vector<double> centroids(static_cast<std::size_t>(k * f));  // (classes, features)
  {
    Rng rng(seed, detail::sbm_centroids);
    const double scale = f > 0 ? 1.0 / std::sqrt(static_cast<double>(f)) : 0.0;
    for (auto& x : centroids) x = scale * rng.normal();
  }
  Tensor<float> features(n, f);  // (nodes, features)
#pragma omp parallel for schedule(static)
  for (node_id v = 0; v < n; ++v) {
    Rng rng(counter_hash(seed, detail::sbm_features, static_cast<std::uint64_t>(v)));
    const double* centroid = centroids.data() + labels[static_cast<std::size_t>(v)] * f;
    for (std::int64_t j = 0; j < f; ++j)
      features(v, j) = static_cast<float>(centroid[j] + config.noise * rng.normal());
  }
  data.features = std::move(features);

  Split split;
  for (std::int32_t c = 0; c < k; ++c) {
    const auto first = by_class.begin() + offset[static_cast<std::size_t>(c)];
    const auto last = by_class.begin() + offset[static_cast<std::size_t>(c) + 1];
    std::vector<node_id> members(first, last);
    Rng(counter_hash(seed, detail::sbm_splits, static_cast<std::uint64_t>(c))).shuffle(members.begin(), members.end());
    const auto size = static_cast<std::int64_t>(members.size());
    std::int64_t train = std::min<std::int64_t>(size, std::llround(config.train * static_cast<double>(size)));
    if (config.train > 0 && train == 0) train = std::min<std::int64_t>(size, 1);
    const std::int64_t val = std::min<std::int64_t>(size - train, std::llround(config.val * static_cast<double>(size)));
    split.train.insert(split.train.end(), members.begin(), members.begin() + train);
    split.val.insert(split.val.end(), members.begin() + train, members.begin() + train + val);
    split.test.insert(split.test.end(), members.begin() + train + val, members.end());
  }
  for (auto* part : {&split.train, &split.val, &split.test}) std::sort(part->begin(), part->end());

  data.labels = std::move(labels);
  data.num_classes = k;
  data.splits.push_back(std::move(split));
  return data;
}

}  // namespace gas::gen
