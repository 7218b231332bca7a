#pragma once
/// @brief `GCNII`: the reference's GCNII (deep GCN with initial residual and identity mapping) as a GAS model.
///
/// Layer order, as the reference: [input dropout] -> x0 = ReLU(Linear(x)) on every n_id row -> dropout -> per
/// layer i = 1 .. L: GCN2Conv(alpha, theta, layer i, shared or separate weights) on (x, x0[:rows]) ->
/// [BatchNorm] -> [residual x[:rows]] -> ReLU -> push/pull (all but the last; histories `hidden` wide) ->
/// dropout -> ... -> after the last: dropout -> Linear(hidden, out). Mapped onto ScalableGNN's layers: layer 0
/// also runs the input stage, layer l > 0 starts with the dropout after the previous push/pull, and the last
/// also runs the head. The adjacency is normalised over the whole graph beforehand (graph/transforms.hpp,
/// gcn_normalise). Layers l > 0 read the x0 that layer 0 recorded (models/initial_residual.hpp), so layer-wise
/// inference is this file's, not ScalableGNN's.

#include <concepts>
#include <cstdint>
#include <string>
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
/// Built in place and never moved: optimisers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `lins.0.weight`, `lins.0.bias`, `lins.1.*`, `convs.l.weight1` (`convs.l.weight2`),
/// `bns.l.weight`, `bns.l.bias`.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
class GCNII : public ScalableGNN<GCNII<T, Backend, Store>, T, Backend, Store> {
  using Base = ScalableGNN<GCNII<T, Backend, Store>, T, Backend, Store>;

public:
  using var = ag::Var<T, Backend>;

  /// @brief A GCNII model for a graph of `num_nodes` nodes, initialised from Rng(seed) (the Linears, then the
  /// convolutions, as PyTorch registers them), with zero-filled histories Store(num_nodes, hidden). Throws
  /// value_error for layers < 1, non-positive widths, alpha outside [0, 1], theta <= 0 or a dropout outside
  /// [0, 1).
  GCNII(std::int64_t num_nodes, const GCNIIOptions& options, std::uint64_t seed = 0)
    requires std::constructible_from<Store, std::int64_t, std::int64_t>
      : Base(num_nodes, checked(options).hidden, options.layers), options_(options) {
    build(seed);
  }

  /// @brief As above with histories make(layer, num_nodes, hidden). Throws also shape_error when a store made
  /// has another shape.
  template <class MakeStore>
    requires std::invocable<MakeStore&, std::int32_t, std::int64_t, std::int64_t>
  GCNII(std::int64_t num_nodes, const GCNIIOptions& options, std::uint64_t seed, MakeStore&& make)
      : Base(num_nodes, checked(options).hidden, options.layers, make), options_(options) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const GCNIIOptions& options() const { return options_; }
  /// @brief Width of layer 0's input (the features).
  [[nodiscard]] std::int64_t in_features() const { return options_.in; }
  /// @brief Width of the output (the classes).
  [[nodiscard]] std::int64_t out_features() const { return options_.out; }

  /// @brief Layer `layer` on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Layer 0 starts with the input stage (dropout mask dropout_seed(seed, 0, 0) when drop_input, x0 =
  /// ReLU(Linear(x)) recorded for the later layers, dropout (seed, 0, 1)); layer l > 0 with the dropout after
  /// the previous push/pull (seed, l, 0). Then GCN2Conv with x0, [BatchNorm], [residual], ReLU; the last layer
  /// ends with dropout (seed, l, 2) and the Linear head. `adj` must outlive the backward pass. Throws
  /// value_error for a layer outside [0, layers) or a layer l > 0 without layer 0 before it, shape_error for
  /// inputs of the wrong shape.
  var forward_layer(std::int32_t layer, ag::Tape<T, Backend>& tape, var x, const GraphOf<Backend>& adj, bool training,
                    std::uint64_t seed) {
    const std::int32_t last = options_.layers - 1;
    GAS_CHECK(layer >= 0 && layer <= last, value_error,
              "layer " << layer << " outside [0, " << options_.layers << ")");
    var x0;
    if (layer == 0) {
      if (options_.drop_input) x = ops::dropout(x, options_.dropout, dropout_seed(seed, 0, 0), training);
      x0 = ops::relu(lins_[0].forward(tape, x));  // (n_id.size(), hidden)
      x0_.set(tape, x0);
      x = ops::dropout(x0, options_.dropout, dropout_seed(seed, 0, 1), training);
    } else {
      x0 = x0_.get(tape, layer, adj.rows());
      x = ops::dropout(x, options_.dropout, dropout_seed(seed, layer, 0), training);
    }
    var h = convs_[static_cast<std::size_t>(layer)].forward(tape, x, x0, adj);  // (batch_size, hidden)
    if (options_.batch_norm) h = bns_[static_cast<std::size_t>(layer)].forward(tape, h, training);
    if (options_.residual) h = ops::add(h, ops::slice_rows(x, 0, h.rows()));
    h = ops::relu(h);
    if (layer == last) {
      h = ops::dropout(h, options_.dropout, dropout_seed(seed, layer, 2), training);
      h = lins_[1].forward(tape, h);  // (batch_size, out)
    }
    return h;
  }

  /// @brief Every trainable parameter: the Linears', the convolutions', the batch norms' (in that order).
  std::vector<ag::Parameter<T, Backend>*> parameters() {
    auto out = nonreg_parameters();
    append(out, reg_parameters());
    return out;
  }

  /// @brief The reference's `reg_modules` (the weight-decayed group): the convolutions and the batch norms.
  std::vector<ag::Parameter<T, Backend>*> reg_parameters() {
    std::vector<ag::Parameter<T, Backend>*> out;
    for (auto& conv : convs_) append(out, conv.parameters());
    for (auto& bn : bns_) append(out, bn.parameters());
    return out;
  }

  /// @brief The reference's `nonreg_modules`: the input and output Linears.
  std::vector<ag::Parameter<T, Backend>*> nonreg_parameters() {
    auto out = lins_[0].parameters();
    append(out, lins_[1].parameters());
    return out;
  }

private:
  friend Base;  // Base::inference / fill_histories run layerwise_driver()
  /// The layer-wise inference driver ScalableGNN uses instead of its own (see the file comment).
  auto& layerwise_driver() { return x0_; }
  static const GCNIIOptions& checked(const GCNIIOptions& o) {
    GAS_CHECK(o.layers >= 1, value_error, "layers = " << o.layers << " must be at least 1");
    GAS_CHECK(o.in > 0 && o.hidden > 0 && o.out > 0, value_error,
              "widths in = " << o.in << ", hidden = " << o.hidden << ", out = " << o.out << " must be positive");
    GAS_CHECK(o.alpha >= 0 && o.alpha <= 1, value_error, "alpha = " << o.alpha << " must lie in [0, 1]");
    GAS_CHECK(o.theta > 0, value_error, "theta = " << o.theta << " must be positive");
    GAS_CHECK(o.dropout >= 0 && o.dropout < 1, value_error, "dropout = " << o.dropout << " must lie in [0, 1)");
    return o;
  }

  static void append(std::vector<ag::Parameter<T, Backend>*>& out, const std::vector<ag::Parameter<T, Backend>*>& in) {
    out.insert(out.end(), in.begin(), in.end());
  }

  /// Builds the layers in place (reserved vectors: parameter addresses never move afterwards).
  void build(std::uint64_t seed) {
    const auto& o = options_;
    Rng rng(seed);
    lins_.reserve(2);
    lins_.emplace_back(o.in, o.hidden, rng, nn::LinearOptions{}, "lins.0");
    lins_.emplace_back(o.hidden, o.out, rng, nn::LinearOptions{}, "lins.1");
    convs_.reserve(static_cast<std::size_t>(o.layers));
    for (std::int32_t l = 0; l < o.layers; ++l) {
      auto& conv = convs_.emplace_back(nn::GCN2Options{.channels = o.hidden,
                                                       .alpha = o.alpha,
                                                       .theta = o.theta,
                                                       .layer = l + 1,
                                                       .shared_weights = o.shared_weights},
                                       rng);
      for (auto* p : conv.parameters()) p->name = "convs." + std::to_string(l) + "." + p->name;
    }
    if (o.batch_norm) {
      bns_.reserve(static_cast<std::size_t>(o.layers));
      for (std::int32_t l = 0; l < o.layers; ++l) bns_.emplace_back(o.hidden, 0.1, 1e-5, "bns." + std::to_string(l));
    }
  }

  GCNIIOptions options_;
  std::vector<nn::Linear<T, Backend>> lins_;      // (2): input stage and head
  std::vector<nn::GCN2Conv<T, Backend>> convs_;   // (layers)
  std::vector<nn::BatchNorm<T, Backend>> bns_;    // (layers) or none
  InitialResidual<T, Backend> x0_;                // x0 of the pass in progress; inference's x0 table
};

}  // namespace gas::models
