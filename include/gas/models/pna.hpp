#pragma once
/// @brief `PNA`: the reference's principal neighborhood aggregation network as a GAS model (PyGAS's PNA).
///
/// Layer order, as the reference: [input dropout] -> per hidden layer: PNA conv, [BatchNorm], [residual when
/// the widths agree], ReLU, push/pull, dropout -> last conv (hidden -> out), nothing after it. Mapped onto
/// ScalableGNN's layers: layer 0 starts with the input dropout, layer l > 0 with the dropout after the previous
/// push/pull. The convolution is a policy: `nn::PNABranchConv` (the reference's, the default) or PyG's
/// `nn::PNAConv`; the aggregators are part of its type (`nn::PNABranchConv<T, B, nn::Aggregators<ops::aggr::Mean,
/// ops::aggr::Max>>`), the scalers are options.
///
/// The graph: PNA aggregates the raw neighbors (the reference runs it with neither self-loops nor
/// normalization), so the model declares `traits.gcn_norm = false` and takes the graph as the dataset holds it.
/// Degrees: in a GAS batch each in-batch row holds its whole neighborhood, so a row's entry count is the node's
/// degree in the whole graph, and the convolution reads it from the batch adjacency. The scalers' average
/// avg_log (mean over ALL nodes of log(deg + 1), PyGAS's `deg` argument) cannot come from a batch: the caller
/// computes it once on the whole graph, `options.degrees = nn::degree_statistics(data.graph)` (permuting the
/// graph leaves it unchanged), before building the model.
///
/// Where REFERENCE.md is silent this follows PyGAS's pna.py: its argument defaults (dropout 0, drop_input,
/// no batch norm, no residual), batch norms on the hidden layers only, and its weight-decay groups. The default
/// scalers are REFERENCE.md's three; the reference's own configurations mostly use mean (and max) with identity
/// and amplification, which is nn::PNABranchConv<T, B, nn::Aggregators<ops::aggr::Mean>> with those two scalers.

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
#include "gas/nn/pna_branch_conv.hpp"
#include "gas/nn/pna_conv.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::models {

/// @brief What the PNA models need of their convolution: built from nn::PNAOptions and an Rng, a forward over
/// (x, adj) and its parameters (`nn::PNABranchConv` and `nn::PNAConv` both qualify).
template <class C, class T, class Backend>
concept PNAConvolution = std::constructible_from<C, nn::PNAOptions, Rng&> &&
                         requires(C& conv, autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, const GraphOf<Backend>& adj) {
                           { conv.forward(tape, x, adj) } -> std::same_as<autograd::Var<T, Backend>>;
                         } && std::derived_from<C, nn::Module<T, Backend>>;

/// @brief Sizes and switches of PNA and PNAJK (PyGAS's PNA / PNA_JK arguments; the aggregators are the
/// convolution's type).
struct PNAModelOptions {
  std::int64_t in = 0;       ///< input feature width
  std::int64_t hidden = 64;  ///< width of the hidden layers and of the histories
  std::int64_t out = 0;      ///< output width (classes)
  std::int32_t layers = 2;   ///< PNA convolutions (>= 1)
  std::vector<nn::Scaler> scalers = {nn::Scaler::identity, nn::Scaler::amplification, nn::Scaler::attenuation};
  nn::DegreeStatistics degrees{};  ///< of the WHOLE graph: nn::degree_statistics(graph), never of a batch
  double dropout = 0.0;            ///< dropout after every push/pull (and on the input with drop_input)
  bool drop_input = true;          ///< also drop the input features (with `dropout`)
  bool batch_norm = false;         ///< BatchNorm after every hidden convolution
  bool residual = false;           ///< add the layer's (batch) input rows when the widths agree
};

namespace detail {

/// @brief Throws value_error for options no PNA model accepts (the convolution checks scalers and degrees).
inline Widths pna_widths(const PNAModelOptions& o) {
  GAS_CHECK(o.layers >= 1, value_error, "layers = " << o.layers << " must be at least 1");
  GAS_CHECK(o.in > 0 && o.hidden > 0 && o.out > 0, value_error,
            "widths in = " << o.in << ", hidden = " << o.hidden << ", out = " << o.out << " must be positive");
  GAS_CHECK(o.dropout >= 0 && o.dropout < 1, value_error, "dropout = " << o.dropout << " must lie in [0, 1)");
  return {.in = o.in, .hidden = o.hidden, .out = o.out, .layers = o.layers};
}

}  // namespace detail

/// @brief The reference's PNA as a GAS model: `layers - 1` histories of width `hidden`.
/// @tparam T compute type, float or double.
/// @tparam Backend where it computes (`gas::host`).
/// @tparam Store the history store (history::HostStore<T> by default).
/// @tparam Conv the convolution, a PNAConvolution (`nn::PNABranchConv` with sum, mean and max by default).
///
/// Built in place and never moved: optimizers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `convs.l.pre_lins.k.weight`, `convs.l.post_lins.k.bias`, `convs.l.lin.weight`,
/// `bns.l.weight`, ...
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>,
          PNAConvolution<T, Backend> Conv = nn::PNABranchConv<T, Backend>>
  requires std::same_as<typename Store::value_type, T>
class PNA : public ScalableGNN<PNA<T, Backend, Store, Conv>, Config<T, Backend, Store>> {
  using Base = ScalableGNN<PNA<T, Backend, Store, Conv>, Config<T, Backend, Store>>;

public:
  using var = autograd::Var<T, Backend>;
  using conv_type = Conv;
  using context = typename Base::context;

  /// @brief PNA aggregates the raw graph: the Trainer must not GCN-normalize it (train/trainer.hpp).
  static constexpr ModelTraits traits{.gcn_norm = false};

  /// @brief A PNA for a graph of `num_nodes` nodes, initialized from Rng(seed) (convolutions in order), with
  /// zero-filled histories Store(num_nodes, hidden). Throws value_error for layers < 1, non-positive widths, a
  /// dropout outside [0, 1), and what the convolution refuses (no scaler, avg_log <= 0 with a degree scaler).
  /// With `make`, histories make(layer, num_nodes, width) instead (a MappedStore per layer, say); a store made
  /// with another shape is a shape_error.
  template <class... MakeStore>
    requires(sizeof...(MakeStore) <= 1)
  PNA(std::int64_t num_nodes, const PNAModelOptions& options, std::uint64_t seed = 0, MakeStore&&... make)
      : Base(num_nodes, detail::pna_widths(options), std::forward<MakeStore>(make)...), options_(options) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const PNAModelOptions& options() const { return options_; }
  /// @brief Convolution `l` (for inspection and tests). Throws value_error for l outside [0, layers).
  [[nodiscard]] Conv& conv(std::int32_t l) {
    GAS_CHECK(l >= 0 && l < options_.layers, value_error, "layer " << l << " outside [0, " << options_.layers << ")");
    return convs_[static_cast<std::size_t>(l)];
  }

  /// @brief Layer ctx.layer() on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Starts with the dropout that precedes the convolution (the input dropout, mask dropout_seed(seed, 0, 0),
  /// for layer 0 when drop_input; the hidden dropout (seed, layer, 0) after the previous push/pull otherwise),
  /// then the convolution on the raw batch adjacency; hidden layers end with [BatchNorm], [residual], ReLU.
  /// Throws shape_error for inputs of the wrong shape.
  var forward_layer(var x, context& ctx) {
    if (!ctx.first() || options_.drop_input) x = ctx.dropout(x, options_.dropout, 0);
    var h = convs_[static_cast<std::size_t>(ctx.layer())].forward(ctx.tape(), x, ctx.adj());  // (batch_size, out_l)
    if (!ctx.last()) {
      if (options_.batch_norm) h = bns_[static_cast<std::size_t>(ctx.layer())].forward(ctx.tape(), h, ctx.training());
      if (options_.residual && h.cols() == x.cols()) h = ops::add(h, ctx.targets(x));
      h = ops::relu(h);
    }
    return h;
  }

private:
  /// Builds and registers the layers (convolutions, then norms: the reference's order); the reference decays
  /// every convolution but the last, and the norms.
  void build(std::uint64_t seed) {
    const auto& o = options_;
    Rng rng(seed);
    for (std::int32_t l = 0; l < o.layers; ++l)
      convs_.emplace_back(nn::PNAOptions{.in = l == 0 ? o.in : o.hidden,
                                         .out = l + 1 == o.layers ? o.out : o.hidden,
                                         .scalers = o.scalers,
                                         .degrees = o.degrees},
                          rng);
    if (o.batch_norm)
      for (std::int32_t l = 0; l + 1 < o.layers; ++l) bns_.emplace_back(o.hidden);
    this->register_module("convs", convs_);
    this->register_module("bns", bns_);
    convs_.back().set_decay(nn::Decay::nonreg);
  }

  PNAModelOptions options_;
  nn::ModuleList<Conv> convs_;                     // (layers)
  nn::ModuleList<nn::BatchNorm<T, Backend>> bns_;  // (layers - 1) or none
};

}  // namespace gas::models
