#pragma once
/// @brief `Dataset`: what every reader and generator returns (graph, features, targets, splits, name).

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/features.hpp"

namespace gas {

/// @brief Node id type of datasets: 32 bits covers every public node-property graph, and halves index traffic.
using node_id = std::int32_t;

/// @brief The graph type of datasets: symmetric adjacency, rows sorted, optional edge weights.
using Graph = Csr<node_id, float>;

/// @brief The host backend's ops aggregate over a `Graph`.
template <>
struct backend_graph<host> {
  using type = Graph;
};

/// @brief One train/validation/test split as sorted node id lists.
struct Split {
  std::vector<node_id> train;
  std::vector<node_id> val;
  std::vector<node_id> test;
};

/// @brief A node-property dataset: a graph, float features, single- or multi-label targets and splits.
///
/// Single-label targets live in `labels` (-1 marks an unlabeled node); multi-label targets live in
/// `multi_labels` as a 0/1 (nodes, classes) matrix. A graph without features has a (nodes, 0) feature
/// matrix; one without targets has num_classes == 0 and no splits. Features are dense or sparse (graph/features.hpp;
/// readers keep bag-of-words features sparse, LoadOptions::sparse_features).
struct Dataset {
  std::string name;
  Graph graph;
  Features features;                     // (num_nodes, num_features), dense or sparse
  std::vector<std::int32_t> labels;      // (num_nodes) or empty
  Tensor<std::uint8_t> multi_labels;     // (num_nodes, num_classes) or empty
  std::int32_t num_classes = 0;
  std::vector<Split> splits;

  [[nodiscard]] node_id num_nodes() const { return graph.rows(); }
  /// @brief Directed edges stored in the graph (an undirected edge counts twice).
  [[nodiscard]] std::int64_t num_edges() const { return graph.num_edges(); }
  [[nodiscard]] std::int64_t num_features() const { return features.cols(); }
  [[nodiscard]] bool is_multi_label() const { return !multi_labels.empty(); }
  [[nodiscard]] bool has_targets() const { return num_classes > 0; }

  /// @brief Checks every cross-field invariant; `source` (a file or spec) is named in the message.
  /// Throws format_error: a dataset that fails this came from bad input, not from a caller's mistake.
  void validate(std::string_view source) const {
    const auto n = static_cast<std::int64_t>(num_nodes());
    auto fail = [&](const std::string& what) { throw format_error(std::string(source) + ": " + what); };
    if (graph.rows() != graph.cols())
      fail("adjacency is not square (" + std::to_string(graph.rows()) + " x " + std::to_string(graph.cols()) + ")");
    if (features.rows() != n)
      fail("features have " + std::to_string(features.rows()) + " rows for " + std::to_string(n) + " nodes");
    if (!features.is_sparse()) {  // sparse rows check their values when they are built
      const Tensor<float>& x = features.dense();
      for (std::int64_t i = 0; i < x.rows(); ++i)
        for (std::int64_t j = 0; j < x.cols(); ++j)
          if (!std::isfinite(x(i, j)))
            fail("feature (" + std::to_string(i) + ", " + std::to_string(j) + ") is not finite");
    }
    if (num_classes < 0) fail("negative number of classes");
    if (!labels.empty()) {
      if (static_cast<std::int64_t>(labels.size()) != n)
        fail(std::to_string(labels.size()) + " labels for " + std::to_string(n) + " nodes");
      for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] < -1 || labels[i] >= num_classes)
          fail("label " + std::to_string(labels[i]) + " of node " + std::to_string(i) + " outside [0, " +
               std::to_string(num_classes) + ")");
    }
    if (!multi_labels.empty()) {
      if (multi_labels.rows() != n || multi_labels.cols() != num_classes)
        fail("multi-label matrix is " + std::to_string(multi_labels.rows()) + " x " +
             std::to_string(multi_labels.cols()) + ", expected " + std::to_string(n) + " x " +
             std::to_string(num_classes));
      for (auto v : multi_labels.values())
        if (v > 1) fail("multi-label entry " + std::to_string(v) + " is not 0 or 1");
    }
    if (!labels.empty() && !multi_labels.empty()) fail("both single- and multi-label targets are set");
    for (std::size_t s = 0; s < splits.size(); ++s)
      for (auto* part : {&splits[s].train, &splits[s].val, &splits[s].test})
        for (auto v : *part)
          if (v < 0 || v >= n)
            fail("split " + std::to_string(s) + " names node " + std::to_string(v) + " outside [0, " +
                 std::to_string(n) + ")");
  }
};

/// @brief How readers post-process the graph they load.
struct LoadOptions {
  bool symmetrize = true;         ///< add the reverse of every edge
  bool remove_self_loops = true;  ///< drop (v, v) edges
  /// Keep the features in CSR: `automatic` when under 10 % of them are non-zero (bag-of-words), `always`, `never`.
  SparseFeatures sparse_features = SparseFeatures::automatic;
};

}  // namespace gas
