#pragma once
/// @brief `GCNII`: the reference's GCNII (deep GCN with initial residual and identity mapping) as a GAS model.
///
/// Layer order, as the reference: [input dropout] -> x0 = ReLU(Linear(x)) on every n_id row -> dropout -> per
/// layer i = 1 .. L: GCN2Conv(alpha, theta, layer i, shared or separate weights) on (x, x0[:rows]) ->
/// [BatchNorm] -> [residual x[:rows]] -> ReLU -> push/pull (all but the last; histories `hidden` wide) ->
/// dropout -> ... -> after the last: dropout -> Linear(hidden, out). Mapped onto ScalableGNN's layers: layer 0
/// also runs the input stage, layer l > 0 starts with the dropout after the previous push/pull, and the last
/// also runs the head. The adjacency is normalized over the whole graph beforehand (graph/transforms.hpp,
/// gcn_normalize). Layer 0 keeps x0 in the context's slot 0 and layers l > 0 read their batch's rows of it back
/// (models/layer_context.hpp).

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
#include "gas/loader/eval_loader.hpp"
#include "gas/models/scalable_gnn.hpp"
#include "gas/nn/batch_norm.hpp"
#include "gas/nn/gcn2_conv.hpp"
#include "gas/nn/linear.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::models {

/// @brief Sizes and switches of a GCNII model (PyGAS's GCNII arguments).
struct GCNIIOptions {
  std::int64_t in = 0;         ///< input feature width
  std::int64_t hidden = 64;    ///< width of every convolution and of the histories
  std::int64_t out = 0;        ///< output width (classes)
  std::int32_t layers = 2;     ///< GCN2Conv layers (>= 1)
  double alpha = 0.1;          ///< weight of the initial residual x0, in [0, 1]
  double theta = 0.5;          ///< beta_i = log(theta / i + 1), > 0
  bool shared_weights = true;  ///< one weight per convolution, or separate weights for A_hat x and x0
  double dropout = 0.5;        ///< dropout before every convolution and before the head
  bool drop_input = true;      ///< also drop the input features (with `dropout`)
  bool batch_norm = false;     ///< BatchNorm after every convolution
  bool residual = false;       ///< add the layer's (batch) input rows after the norm
};

/// @brief The reference's GCNII as a GAS model: `layers - 1` histories of width `hidden`.
/// @tparam T compute type, float or double.
/// @tparam Backend where it computes (`gas::host`).
/// @tparam Store the history store (history::HostStore<T> by default).
///
/// Built in place and never moved: optimizers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `lins.0.weight`, `lins.0.bias`, `lins.1.*`, `convs.l.weight1` (`convs.l.weight2`),
/// `bns.l.weight`, `bns.l.bias`.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
class GCNII : public ScalableGNN<GCNII<T, Backend, Store>, Config<T, Backend, Store>> {
  using Base = ScalableGNN<GCNII<T, Backend, Store>, Config<T, Backend, Store>>;

public:
  using var = autograd::Var<T, Backend>;
  using context = typename Base::context;

  /// @brief A GCNII model for a graph of `num_nodes` nodes, initialized from Rng(seed) (the Linears, then the
  /// convolutions, as PyTorch registers them), with zero-filled histories Store(num_nodes, hidden). Throws
  /// value_error for layers < 1, non-positive widths, alpha outside [0, 1], theta <= 0 or a dropout outside
  /// [0, 1).
  /// With `make`, histories make(layer, num_nodes, width) instead (a MappedStore per layer, say); a store made
  /// with another shape is a shape_error.
  template <class... MakeStore>
    requires(sizeof...(MakeStore) <= 1)
  GCNII(std::int64_t num_nodes, const GCNIIOptions& options, std::uint64_t seed = 0, MakeStore&&... make)
      : Base(num_nodes, widths(options), std::forward<MakeStore>(make)...), options_(options) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const GCNIIOptions& options() const { return options_; }

  /// @brief Layer ctx.layer() on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Layer 0 starts with the input stage (dropout mask dropout_seed(seed, 0, 0) when drop_input, x0 =
  /// ReLU(Linear(x)) kept in slot 0 for the later layers, dropout (seed, 0, 1)); layer l > 0 with the dropout
  /// after the previous push/pull (seed, l, 0). Then GCN2Conv with x0, [BatchNorm], [residual], ReLU; the last
  /// layer ends with dropout (seed, l, 2) and the Linear head. Throws value_error for a layer l > 0 without
  /// layer 0 before it, shape_error for inputs of the wrong shape.
  var forward_layer(var x, context& ctx) {
    auto& tape = ctx.tape();
    var x0;
    if (ctx.first()) {
      if (options_.drop_input) x = ctx.dropout(x, options_.dropout, 0);
      x0 = ctx.keep(0, ops::relu(lins_[0].forward(tape, x)));  // (n_id.size(), hidden)
      x = ctx.dropout(x0, options_.dropout, 1);
    } else {
      x0 = ctx.kept(0);  // (batch_size, hidden)
      x = ctx.dropout(x, options_.dropout, 0);
    }
    var h = convs_[static_cast<std::size_t>(ctx.layer())].forward(tape, x, x0, ctx.adj());  // (batch_size, hidden)
    if (options_.batch_norm) h = bns_[static_cast<std::size_t>(ctx.layer())].forward(tape, h, ctx.training());
    if (options_.residual) h = ops::add(h, ctx.targets(x));
    h = ops::relu(h);
    if (ctx.last()) h = lins_[1].forward(tape, ctx.dropout(h, options_.dropout, 2));  // (batch_size, out)
    return h;
  }

private:
  static Widths widths(const GCNIIOptions& o) {
    GAS_CHECK(o.layers >= 1, value_error, "layers = " << o.layers << " must be at least 1");
    GAS_CHECK(o.in > 0 && o.hidden > 0 && o.out > 0, value_error,
              "widths in = " << o.in << ", hidden = " << o.hidden << ", out = " << o.out << " must be positive");
    GAS_CHECK(o.alpha >= 0 && o.alpha <= 1, value_error, "alpha = " << o.alpha << " must lie in [0, 1]");
    GAS_CHECK(o.theta > 0, value_error, "theta = " << o.theta << " must be positive");
    GAS_CHECK(o.dropout >= 0 && o.dropout < 1, value_error, "dropout = " << o.dropout << " must lie in [0, 1)");
    return {.in = o.in, .hidden = o.hidden, .out = o.out, .layers = o.layers};
  }

  /// Builds and registers the layers in PyTorch's order; the reference decays the convolutions and the norms
  /// (`reg_modules`), not the Linears (`nonreg_modules`).
  void build(std::uint64_t seed) {
    const auto& o = options_;
    Rng rng(seed);
    lins_.emplace_back(o.in, o.hidden, rng);
    lins_.emplace_back(o.hidden, o.out, rng);
    for (std::int32_t l = 0; l < o.layers; ++l)
      convs_.emplace_back(nn::GCN2Options{.channels = o.hidden,
                                          .alpha = o.alpha,
                                          .theta = o.theta,
                                          .layer = l + 1,
                                          .shared_weights = o.shared_weights},
                          rng);
    if (o.batch_norm)
      for (std::int32_t l = 0; l < o.layers; ++l) bns_.emplace_back(o.hidden);
    this->register_module("lins", lins_, nn::Decay::nonreg);
    this->register_module("convs", convs_);
    this->register_module("bns", bns_);
  }

  GCNIIOptions options_;
  nn::ModuleList<nn::Linear<T, Backend>> lins_;     // (2): input stage and head
  nn::ModuleList<nn::GCN2Conv<T, Backend>> convs_;  // (layers)
  nn::ModuleList<nn::BatchNorm<T, Backend>> bns_;   // (layers) or none
};

}  // namespace gas::models
