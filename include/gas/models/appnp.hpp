#pragma once
/// @brief `APPNP`: the reference's APPNP (predict, then propagate with personalised PageRank) as a GAS model.
///
/// Layer order, as the reference: dropout -> Linear(in, hidden) -> ReLU -> dropout -> Linear(hidden, out) on
/// every n_id row of the batch; x0 = those rows; then K steps x <- (1 - alpha) A_hat x + alpha x0[:rows], with
/// a push/pull after each of the first K - 1 (histories are `out` wide). Mapped onto ScalableGNN's layers: K
/// layers; layer 0 = the MLP and the first step; layer k = step k + 1. The adjacency is normalised over the
/// whole graph beforehand (graph/transforms.hpp, gcn_normalise). Layers k > 0 read the x0 that layer 0
/// recorded (models/initial_residual.hpp), so layer-wise inference is this file's, not ScalableGNN's.

#include <concepts>
#include <cstdint>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/loader/eval_loader.hpp"
#include "gas/models/initial_residual.hpp"
#include "gas/models/scalable_gnn.hpp"
#include "gas/nn/appnp.hpp"
#include "gas/nn/linear.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::models {

/// @brief Sizes and switches of an APPNP model (PyGAS's APPNP arguments).
struct APPNPOptions {
  std::int64_t in = 0;       ///< input feature width
  std::int64_t hidden = 64;  ///< width of the MLP's hidden layer
  std::int64_t out = 0;      ///< output width (classes), also the histories' width
  std::int32_t K = 10;       ///< propagation steps (>= 1): K layers, K - 1 histories
  double alpha = 0.1;        ///< teleport probability, in [0, 1]
  double dropout = 0.5;      ///< dropout before each Linear
};

/// @brief The reference's APPNP as a GAS model: `K - 1` histories of width `out`.
/// @tparam T compute type, float or double.
/// @tparam Backend where it computes (`gas::host`).
/// @tparam Store the history store (history::HostStore<T> by default).
///
/// Built in place and never moved: optimisers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `lins.0.weight`, `lins.0.bias`, `lins.1.weight`, `lins.1.bias`.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
class APPNP : public ScalableGNN<APPNP<T, Backend, Store>, T, Backend, Store> {
  using Base = ScalableGNN<APPNP<T, Backend, Store>, T, Backend, Store>;

public:
  using var = ag::Var<T, Backend>;

  /// @brief An APPNP model for a graph of `num_nodes` nodes, initialised from Rng(seed) (lins.0, then lins.1),
  /// with zero-filled histories Store(num_nodes, out). Throws value_error for K < 1, non-positive widths, alpha
  /// outside [0, 1] or a dropout outside [0, 1).
  APPNP(std::int64_t num_nodes, const APPNPOptions& options, std::uint64_t seed = 0)
    requires std::constructible_from<Store, std::int64_t, std::int64_t>
      : Base(num_nodes, checked(options).out, options.K), options_(options), prop_(options.K, options.alpha) {
    build(seed);
  }

  /// @brief As above with histories make(layer, num_nodes, out). Throws also shape_error when a store made has
  /// another shape.
  template <class MakeStore>
    requires std::invocable<MakeStore&, std::int32_t, std::int64_t, std::int64_t>
  APPNP(std::int64_t num_nodes, const APPNPOptions& options, std::uint64_t seed, MakeStore&& make)
      : Base(num_nodes, checked(options).out, options.K, make), options_(options), prop_(options.K, options.alpha) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const APPNPOptions& options() const { return options_; }
  /// @brief Width of layer 0's input (the features).
  [[nodiscard]] std::int64_t in_features() const { return options_.in; }
  /// @brief Width of the output (the classes).
  [[nodiscard]] std::int64_t out_features() const { return options_.out; }

  /// @brief Layer `layer` on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out).
  ///
  /// Layer 0 runs the MLP on every row of x (dropout masks dropout_seed(seed, 0, 0) and (seed, 0, 1)), records
  /// its output as x0 and takes the first propagation step; layer k > 0 takes step k + 1 with the x0 recorded
  /// by layer 0 of the same pass on the same tape. `adj` must outlive the backward pass. Throws value_error for
  /// a layer outside [0, K) or a layer k > 0 without layer 0 before it, shape_error for inputs of the wrong
  /// shape.
  var forward_layer(std::int32_t layer, ag::Tape<T, Backend>& tape, var x, const GraphOf<Backend>& adj, bool training,
                    std::uint64_t seed) {
    GAS_CHECK(layer >= 0 && layer < options_.K, value_error, "layer " << layer << " outside [0, " << options_.K << ")");
    if (layer == 0) {
      x = ops::dropout(x, options_.dropout, dropout_seed(seed, 0, 0), training);
      x = ops::relu(lins_[0].forward(tape, x));  // (n_id.size(), hidden)
      x = ops::dropout(x, options_.dropout, dropout_seed(seed, 0, 1), training);
      x = lins_[1].forward(tape, x);  // (n_id.size(), out)
      x0_.set(tape, x);
      return prop_.step(x, x, adj);  // x0 = x: step() uses its first adj.rows() rows
    }
    return prop_.step(x, x0_.get(tape, layer, adj.rows()), adj);
  }

  /// @brief Every trainable parameter: lins.0's, then lins.1's.
  std::vector<ag::Parameter<T, Backend>*> parameters() {
    auto out = lins_[0].parameters();
    for (auto* p : lins_[1].parameters()) out.push_back(p);
    return out;
  }

  /// @brief The reference's `reg_modules` (the weight-decayed group): the first Linear.
  std::vector<ag::Parameter<T, Backend>*> reg_parameters() { return lins_[0].parameters(); }

  /// @brief The reference's `nonreg_modules`: the second Linear.
  std::vector<ag::Parameter<T, Backend>*> nonreg_parameters() { return lins_[1].parameters(); }

private:
  friend Base;  // Base::inference / fill_histories run layerwise_driver()
  /// The layer-wise inference driver ScalableGNN uses instead of its own (see the file comment).
  auto& layerwise_driver() { return x0_; }
  static const APPNPOptions& checked(const APPNPOptions& o) {
    GAS_CHECK(o.K >= 1, value_error, "K = " << o.K << " must be at least 1");
    GAS_CHECK(o.in > 0 && o.hidden > 0 && o.out > 0, value_error,
              "widths in = " << o.in << ", hidden = " << o.hidden << ", out = " << o.out << " must be positive");
    GAS_CHECK(o.alpha >= 0 && o.alpha <= 1, value_error, "alpha = " << o.alpha << " must lie in [0, 1]");
    GAS_CHECK(o.dropout >= 0 && o.dropout < 1, value_error, "dropout = " << o.dropout << " must lie in [0, 1)");
    return o;
  }

  /// Builds the MLP in place (a reserved vector: parameter addresses never move afterwards).
  void build(std::uint64_t seed) {
    Rng rng(seed);
    lins_.reserve(2);
    lins_.emplace_back(options_.in, options_.hidden, rng, nn::LinearOptions{}, "lins.0");
    lins_.emplace_back(options_.hidden, options_.out, rng, nn::LinearOptions{}, "lins.1");
  }

  APPNPOptions options_;
  std::vector<nn::Linear<T, Backend>> lins_;  // (2): the MLP
  nn::APPNP<T, Backend> prop_;                // one propagation step per layer
  InitialResidual<T, Backend> x0_;            // x0 of the pass in progress; inference's x0 table
};

}  // namespace gas::models
