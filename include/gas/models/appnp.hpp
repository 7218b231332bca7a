#pragma once
/// @brief `APPNP`: the reference's APPNP (predict, then propagate with personalised PageRank) as a GAS model.
///
/// Layer order, as the reference: dropout -> Linear(in, hidden) -> ReLU -> dropout -> Linear(hidden, out) on
/// every n_id row of the batch; x0 = those rows; then K steps x <- (1 - alpha) A_hat x + alpha x0[:rows], with
/// a push/pull after each of the first K - 1 (histories are `out` wide). Mapped onto ScalableGNN's layers: K
/// layers; layer 0 = the MLP and the first step; layer k = step k + 1. The adjacency is normalized over the
/// whole graph beforehand (graph/transforms.hpp, gcn_normalize). Layer 0 keeps x0 in the context's slot 0 and
/// layers k > 0 read their batch's rows of it back (models/layer_context.hpp), in training and in layer-wise
/// inference alike.

#include <concepts>
#include <cstdint>
#include <utility>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/loader/eval_loader.hpp"
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
/// Built in place and never moved: optimizers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `lins.0.weight`, `lins.0.bias`, `lins.1.weight`, `lins.1.bias`.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
class APPNP : public ScalableGNN<APPNP<T, Backend, Store>, Config<T, Backend, Store>> {
  using Base = ScalableGNN<APPNP<T, Backend, Store>, Config<T, Backend, Store>>;

public:
  using var = autograd::Var<T, Backend>;
  using context = typename Base::context;

  /// @brief An APPNP model for a graph of `num_nodes` nodes, initialized from Rng(seed) (lins.0, then lins.1),
  /// with zero-filled histories Store(num_nodes, out). Throws value_error for K < 1, non-positive widths, alpha
  /// outside [0, 1] or a dropout outside [0, 1).
  /// With `make`, histories make(layer, num_nodes, width) instead (a MappedStore per layer, say); a store made
  /// with another shape is a shape_error.
  template <class... MakeStore>
    requires(sizeof...(MakeStore) <= 1)
  APPNP(std::int64_t num_nodes, const APPNPOptions& options, std::uint64_t seed = 0, MakeStore&&... make)
      : Base(num_nodes, widths(options), std::forward<MakeStore>(make)...),
        options_(options),
        prop_(options.K, options.alpha) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const APPNPOptions& options() const { return options_; }

  /// @brief Layer ctx.layer() on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out).
  ///
  /// Layer 0 runs the MLP on every row of x (dropout masks dropout_seed(seed, 0, 0) and (seed, 0, 1)), keeps
  /// its output as x0 (slot 0) and takes the first propagation step; layer k > 0 takes step k + 1 with the
  /// x0 rows of its batch. Throws value_error for a layer k > 0 without layer 0 before it, shape_error for
  /// inputs of the wrong shape.
  var forward_layer(var x, context& ctx) {
    if (!ctx.first()) return prop_.step(x, ctx.kept(0), ctx.adj());
    x = ctx.dropout(x, options_.dropout, 0);
    x = ops::relu(lins_[0].forward(ctx.tape(), x));                             // (n_id.size(), hidden)
    x = lins_[1].forward(ctx.tape(), ctx.dropout(x, options_.dropout, 1));     // (n_id.size(), out)
    return prop_.step(x, ctx.keep(0, x), ctx.adj());  // x0 = x: step() uses its first adj.rows() rows
  }

private:
  static Widths widths(const APPNPOptions& o) {
    GAS_CHECK(o.K >= 1, value_error, "K = " << o.K << " must be at least 1");
    GAS_CHECK(o.in > 0 && o.hidden > 0 && o.out > 0, value_error,
              "widths in = " << o.in << ", hidden = " << o.hidden << ", out = " << o.out << " must be positive");
    GAS_CHECK(o.alpha >= 0 && o.alpha <= 1, value_error, "alpha = " << o.alpha << " must lie in [0, 1]");
    GAS_CHECK(o.dropout >= 0 && o.dropout < 1, value_error, "dropout = " << o.dropout << " must lie in [0, 1)");
    return {.in = o.in, .hidden = o.out, .out = o.out, .layers = static_cast<std::int32_t>(o.K)};
  }

  /// Builds and registers the MLP: the reference decays lins.0 and not lins.1.
  void build(std::uint64_t seed) {
    Rng rng(seed);
    lins_.emplace_back(options_.in, options_.hidden, rng);
    lins_.emplace_back(options_.hidden, options_.out, rng).set_decay(nn::Decay::nonreg);
    this->register_module("lins", lins_);
  }

  APPNPOptions options_;
  nn::ModuleList<nn::Linear<T, Backend>> lins_;  // (2): the MLP
  nn::APPNP<T, Backend> prop_;                   // one propagation step per layer
};

}  // namespace gas::models
