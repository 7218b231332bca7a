#pragma once
/// @brief `GCN`: the reference's GCN backbone as a GAS model (Kipf and Welling's graph convolutional network with
/// the options of PyGAS: input dropout, batch norm, residual connections, linear input/output heads).
///
/// Layer order, as the reference: [input dropout] -> [Linear, ReLU, dropout: input head] -> per hidden layer:
/// conv (A_hat (X W) + b), [BatchNorm], [residual], ReLU, push/pull, dropout -> last conv -> [BatchNorm,
/// residual, ReLU, dropout, Linear: output head]. The adjacency is normalized over the whole graph beforehand
/// (graph/transforms.hpp, gcn_normalize), so every batch row is exact.

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
#include "gas/nn/batch_norm.hpp"
#include "gas/nn/gcn_conv.hpp"
#include "gas/nn/linear.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::models {

/// @brief Sizes and switches of a GCN (PyGAS's GCN arguments).
struct GCNOptions {
  std::int64_t in = 0;        ///< input feature width
  std::int64_t hidden = 16;   ///< width of the hidden layers and of the histories
  std::int64_t out = 0;       ///< output width (classes)
  std::int32_t layers = 2;    ///< graph convolutions (>= 1)
  double dropout = 0.5;       ///< dropout before every convolution but the first (and inside the heads)
  double input_dropout = 0;   ///< dropout on the input features (the reference's drop_input uses `dropout`)
  bool batch_norm = false;    ///< BatchNorm after every convolution but the last (all of them with linear_head)
  bool residual = false;      ///< add the layer's (batch) input rows when the widths agree
  bool linear_head = false;   ///< Linear(in, hidden) + ReLU before the first conv, Linear(hidden, out) after the last
};

/// @brief The reference's GCN as a GAS model: `num_layers - 1` histories of width `hidden`.
/// @tparam T compute type, float or double.
/// @tparam Backend where it computes (`gas::host`).
/// @tparam Store the history store (history::HostStore<T> by default).
///
/// Built in place and never moved: optimizers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `lins.k.weight`, `convs.l.lin.weight`, `convs.l.bias`, `bns.l.weight`, ...
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
class GCN : public ScalableGNN<GCN<T, Backend, Store>, Config<T, Backend, Store>> {
  using Base = ScalableGNN<GCN<T, Backend, Store>, Config<T, Backend, Store>>;

public:
  using var = autograd::Var<T, Backend>;
  using context = typename Base::context;

  /// @brief A GCN for a graph of `num_nodes` nodes, initialized from Rng(seed) (heads, then convolutions, as
  /// PyTorch registers them), with zero-filled HostStore-style histories Store(num_nodes, hidden).
  /// Throws value_error for layers < 1, non-positive widths or a dropout outside [0, 1).
  /// With `make`, histories make(layer, num_nodes, width) instead (a MappedStore per layer, say); a store made
  /// with another shape is a shape_error.
  template <class... MakeStore>
    requires(sizeof...(MakeStore) <= 1)
  GCN(std::int64_t num_nodes, const GCNOptions& options, std::uint64_t seed = 0, MakeStore&&... make)
      : Base(num_nodes, widths(options), std::forward<MakeStore>(make)...), options_(options) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const GCNOptions& options() const { return options_; }

  /// @brief Layer ctx.layer() on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Starts with the dropout that precedes the layer's convolution (input dropout and the input head for
  /// layer 0, the hidden dropout after the previous push/pull otherwise) and ends with the post-processing of
  /// its output (BatchNorm, residual, ReLU for hidden layers; the output head after the last). Dropout masks are
  /// seeded by dropout_seed(seed, layer, slot). Throws shape_error for inputs of the wrong shape.
  var forward_layer(var x, context& ctx) {
    auto& tape = ctx.tape();
    if (ctx.first()) {
      x = ctx.dropout(x, options_.input_dropout, 0);
      if (options_.linear_head) x = ctx.dropout(ops::relu(lins_[0].forward(tape, x)), options_.dropout, 1);
    } else {
      x = ctx.dropout(x, options_.dropout, 0);
    }
    var h = convs_[static_cast<std::size_t>(ctx.layer())].forward(tape, x, ctx.adj());  // (batch_size, out_l)
    if (!ctx.last() || options_.linear_head) {
      if (options_.batch_norm) h = bns_[static_cast<std::size_t>(ctx.layer())].forward(tape, h, ctx.training());
      if (options_.residual && h.cols() == x.cols()) h = ops::add(h, ctx.targets(x));
      h = ops::relu(h);
    }
    if (ctx.last() && options_.linear_head) h = lins_[1].forward(tape, ctx.dropout(h, options_.dropout, 2));
    return h;  // (batch_size, out_l)
  }

private:
  static Widths widths(const GCNOptions& o) {
    GAS_CHECK(o.layers >= 1, value_error, "layers = " << o.layers << " must be at least 1");
    GAS_CHECK(o.in > 0 && o.hidden > 0 && o.out > 0, value_error,
              "widths in = " << o.in << ", hidden = " << o.hidden << ", out = " << o.out << " must be positive");
    GAS_CHECK(o.dropout >= 0 && o.dropout < 1 && o.input_dropout >= 0 && o.input_dropout < 1, value_error,
              "dropout = " << o.dropout << " and input_dropout = " << o.input_dropout << " must lie in [0, 1)");
    return {.in = o.in, .hidden = o.hidden, .out = o.out, .layers = o.layers};
  }

  /// Builds and registers the layers in PyTorch's order (heads, convolutions, norms) and the reference's
  /// weight-decay groups: `reg_modules` are the convolutions (but the last, without heads) and the norms,
  /// `nonreg_modules` the heads, or the last convolution without heads.
  void build(std::uint64_t seed) {
    const auto& o = options_;
    Rng rng(seed);
    if (o.linear_head) {
      lins_.emplace_back(o.in, o.hidden, rng);
      lins_.emplace_back(o.hidden, o.out, rng);
    }
    for (std::int32_t l = 0; l < o.layers; ++l)
      convs_.emplace_back(l == 0 && !o.linear_head ? o.in : o.hidden,
                          l == o.layers - 1 && !o.linear_head ? o.out : o.hidden, rng);
    if (o.batch_norm)
      for (std::int32_t l = 0; l < (o.linear_head ? o.layers : o.layers - 1); ++l) bns_.emplace_back(o.hidden);
    this->register_module("lins", lins_, nn::Decay::nonreg);
    this->register_module("convs", convs_);
    this->register_module("bns", bns_);
    if (!o.linear_head) convs_.back().set_decay(nn::Decay::nonreg);
  }

  GCNOptions options_;
  nn::ModuleList<nn::Linear<T, Backend>> lins_;    // input and output heads, or none
  nn::ModuleList<nn::GCNConv<T, Backend>> convs_;  // (layers)
  nn::ModuleList<nn::BatchNorm<T, Backend>> bns_;  // one per conv followed by ReLU, or none
};

}  // namespace gas::models
