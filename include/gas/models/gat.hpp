#pragma once
/// @brief `GAT`: the reference's graph attention network as a GAS model (PyGAS's GAT).
///
/// Layer order, as the reference: per hidden layer: dropout -> GATConv(hidden, heads, concat) on (x, x[:rows])
/// -> ELU -> push/pull (history width hidden * heads); last layer: dropout -> GATConv(out, out_heads, mean).
/// Every convolution also drops attention coefficients with the same probability (PyGAS passes `dropout` to
/// GATConv). Self-loops must already be in the graph: the caller adds them to the WHOLE graph before
/// partitioning (graph/transforms.hpp, add_self_loops), so every batch row keeps its own loop; GATConv reads
/// only the structure of the adjacency, never its weights.

#include <concepts>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/models/scalable_gnn.hpp"
#include "gas/nn/gat_conv.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::models {

/// @brief Sizes and switches of a GAT (PyGAS's GAT arguments).
struct GATModelOptions {
  std::int64_t in = 0;         ///< input feature width
  std::int64_t hidden = 8;     ///< features per head in the hidden layers
  std::int64_t heads = 8;      ///< heads of the hidden layers (concatenated: histories are hidden * heads wide)
  std::int64_t out = 0;        ///< output width (classes)
  std::int64_t out_heads = 1;  ///< heads of the last layer (averaged)
  std::int32_t layers = 2;     ///< attention convolutions (>= 1)
  double dropout = 0.6;        ///< dropout before every convolution and on the attention coefficients
};

/// @brief The reference's GAT as a GAS model: `layers - 1` histories of width hidden * heads.
/// @tparam T compute type, float or double.
/// @tparam Backend where it computes (`gas::host`).
/// @tparam Store the history store (history::HostStore<T> by default).
///
/// Built in place and never moved: optimizers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `convs.l.lin_src.weight`, `convs.l.att_src`, `convs.l.att_dst`, `convs.l.bias`.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
class GAT : public ScalableGNN<GAT<T, Backend, Store>, Config<T, Backend, Store>> {
  using Base = ScalableGNN<GAT<T, Backend, Store>, Config<T, Backend, Store>>;

public:
  using var = autograd::Var<T, Backend>;
  using context = typename Base::context;

  /// @brief A GAT for a graph of `num_nodes` nodes (self-loops included), initialized from Rng(seed) layer by
  /// layer, with zero-filled histories Store(num_nodes, hidden * heads). Throws value_error for layers < 1,
  /// non-positive sizes or a dropout outside [0, 1).
  /// With `make`, histories make(layer, num_nodes, width) instead (a MappedStore per layer, say); a store made
  /// with another shape is a shape_error.
  template <class... MakeStore>
    requires(sizeof...(MakeStore) <= 1)
  GAT(std::int64_t num_nodes, const GATModelOptions& options, std::uint64_t seed = 0, MakeStore&&... make)
      : Base(num_nodes, widths(options), std::forward<MakeStore>(make)...), options_(options) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const GATModelOptions& options() const { return options_; }

  /// @brief Layer ctx.layer() on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Dropout (mask dropout_seed(seed, layer, 0)), the attention convolution on (x, x[:rows]) (attention dropout
  /// dropout_seed(seed, layer, 1)), then ELU for hidden layers. Throws shape_error for inputs of the wrong shape.
  var forward_layer(var x, context& ctx) {
    x = ctx.dropout(x, options_.dropout, 0);
    var h = convs_[static_cast<std::size_t>(ctx.layer())].forward(ctx.tape(), x, ctx.adj(), ctx.training(),
                                                                  ctx.dropout_seed(1));
    return ctx.last() ? h : ops::elu(h);
  }

private:
  static Widths widths(const GATModelOptions& o) {
    GAS_CHECK(o.layers >= 1, value_error, "layers = " << o.layers << " must be at least 1");
    GAS_CHECK(o.in > 0 && o.hidden > 0 && o.heads > 0 && o.out > 0 && o.out_heads > 0, value_error,
              "sizes in = " << o.in << ", hidden = " << o.hidden << ", heads = " << o.heads << ", out = " << o.out
                            << ", out_heads = " << o.out_heads << " must be positive");
    GAS_CHECK(o.dropout >= 0 && o.dropout < 1, value_error, "dropout = " << o.dropout << " must lie in [0, 1)");
    return {.in = o.in, .hidden = o.hidden * o.heads, .out = o.out, .layers = o.layers};
  }

  /// Builds and registers the convolutions; the reference decays every convolution but the last.
  void build(std::uint64_t seed) {
    const auto& o = options_;
    Rng rng(seed);
    for (std::int32_t l = 0; l < o.layers; ++l) {
      const bool last = l + 1 == o.layers;
      convs_.emplace_back(nn::GATOptions{.in = l == 0 ? o.in : o.hidden * o.heads,
                                         .out = last ? o.out : o.hidden,
                                         .heads = last ? o.out_heads : o.heads,
                                         .concat = !last,
                                         .dropout = o.dropout},
                          rng);
    }
    // Every convolution, the last included, is in the reference's `reg` group (PyGAS gat.py: reg_modules = convs,
    // no nonreg modules), unlike GCN, whose last convolution is not decayed.
    this->register_module("convs", convs_);
  }

  GATModelOptions options_;
  nn::ModuleList<nn::GATConv<T, Backend>> convs_;  // (layers)
};

}  // namespace gas::models
