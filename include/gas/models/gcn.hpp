#pragma once
/// @brief `GCN`: the reference's GCN backbone as a GAS model (Kipf and Welling's graph convolutional network with
/// the options of PyGAS: input dropout, batch norm, residual connections, linear input/output heads).
///
/// Layer order, as the reference: [input dropout] -> [Linear, ReLU, dropout: input head] -> per hidden layer:
/// conv (A_hat (X W) + b), [BatchNorm], [residual], ReLU, push/pull, dropout -> last conv -> [BatchNorm,
/// residual, ReLU, dropout, Linear: output head]. The adjacency is normalised over the whole graph beforehand
/// (graph/transforms.hpp, gcn_normalise), so every batch row is exact.

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
/// Built in place and never moved: optimisers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `lins.k.weight`, `convs.l.lin.weight`, `convs.l.bias`, `bns.l.weight`, ...
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
class GCN : public ScalableGNN<GCN<T, Backend, Store>, T, Backend, Store> {
  using Base = ScalableGNN<GCN<T, Backend, Store>, T, Backend, Store>;

public:
  using var = ag::Var<T, Backend>;

  /// @brief A GCN for a graph of `num_nodes` nodes, initialised from Rng(seed) (heads, then convolutions, as
  /// PyTorch registers them), with zero-filled HostStore-style histories Store(num_nodes, hidden).
  /// Throws value_error for layers < 1, non-positive widths or a dropout outside [0, 1).
  GCN(std::int64_t num_nodes, const GCNOptions& options, std::uint64_t seed = 0)
    requires std::constructible_from<Store, std::int64_t, std::int64_t>
      : Base(num_nodes, checked(options).hidden, options.layers), options_(options) {
    build(seed);
  }

  /// @brief As above with histories make(layer, num_nodes, hidden) (a MappedStore per layer, say). Throws also
  /// shape_error when a store made has another shape.
  template <class MakeStore>
    requires std::invocable<MakeStore&, std::int32_t, std::int64_t, std::int64_t>
  GCN(std::int64_t num_nodes, const GCNOptions& options, std::uint64_t seed, MakeStore&& make)
      : Base(num_nodes, checked(options).hidden, options.layers, make), options_(options) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const GCNOptions& options() const { return options_; }
  /// @brief Width of layer 0's input (the features).
  [[nodiscard]] std::int64_t in_features() const { return options_.in; }
  /// @brief Width of the output (the classes).
  [[nodiscard]] std::int64_t out_features() const { return options_.out; }

  /// @brief Layer `layer` on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Starts with the dropout that precedes the layer's convolution (input dropout and the input head for
  /// layer 0, the hidden dropout after the previous push/pull otherwise) and ends with the post-processing of
  /// its output (BatchNorm, residual, ReLU for hidden layers; the output head after the last). Dropout masks are
  /// seeded by dropout_seed(seed, layer, slot). `adj` must outlive the backward pass. Throws value_error for a
  /// layer outside [0, layers), shape_error for inputs of the wrong shape.
  var forward_layer(std::int32_t layer, ag::Tape<T, Backend>& tape, var x, const GraphOf<Backend>& adj, bool training,
                    std::uint64_t seed) {
    const std::int32_t last = options_.layers - 1;
    GAS_CHECK(layer >= 0 && layer <= last, value_error,
              "layer " << layer << " outside [0, " << options_.layers << ")");
    if (layer == 0) {
      x = ops::dropout(x, options_.input_dropout, dropout_seed(seed, 0, 0), training);
      if (options_.linear_head) {
        x = ops::relu(lins_[0].forward(tape, x));  // (n_id.size(), hidden)
        x = ops::dropout(x, options_.dropout, dropout_seed(seed, 0, 1), training);
      }
    } else {
      x = ops::dropout(x, options_.dropout, dropout_seed(seed, layer, 0), training);
    }
    var h = convs_[static_cast<std::size_t>(layer)].forward(tape, x, adj);  // (batch_size, out_l)
    if (layer < last || options_.linear_head) {
      if (options_.batch_norm) h = bns_[static_cast<std::size_t>(layer)].forward(tape, h, training);
      if (options_.residual && h.cols() == x.cols()) h = ops::add(h, ops::slice_rows(x, 0, h.rows()));
      h = ops::relu(h);
    }
    if (layer == last && options_.linear_head) {
      h = ops::dropout(h, options_.dropout, dropout_seed(seed, layer, 2), training);
      h = lins_[1].forward(tape, h);  // (batch_size, out)
    }
    return h;
  }

  /// @brief Every trainable parameter: the heads', the convolutions', the batch norms' (in that order).
  std::vector<ag::Parameter<T, Backend>*> parameters() {
    std::vector<ag::Parameter<T, Backend>*> out;
    for (auto& lin : lins_) append(out, lin.parameters());
    for (auto& conv : convs_) append(out, conv.parameters());
    for (auto& bn : bns_) append(out, bn.parameters());
    return out;
  }

  /// @brief The reference's `reg_modules` (the weight-decayed group): every convolution but the last, and the
  /// batch norms; with linear heads, every convolution and the batch norms.
  std::vector<ag::Parameter<T, Backend>*> reg_parameters() {
    std::vector<ag::Parameter<T, Backend>*> out;
    const std::size_t convs = options_.linear_head ? convs_.size() : convs_.size() - 1;
    for (std::size_t l = 0; l < convs; ++l) append(out, convs_[l].parameters());
    for (auto& bn : bns_) append(out, bn.parameters());
    return out;
  }

  /// @brief The reference's `nonreg_modules`: the last convolution, or the linear heads when there are heads.
  std::vector<ag::Parameter<T, Backend>*> nonreg_parameters() {
    std::vector<ag::Parameter<T, Backend>*> out;
    if (options_.linear_head) {
      for (auto& lin : lins_) append(out, lin.parameters());
    } else {
      append(out, convs_.back().parameters());
    }
    return out;
  }

private:
  static const GCNOptions& checked(const GCNOptions& o) {
    GAS_CHECK(o.layers >= 1, value_error, "layers = " << o.layers << " must be at least 1");
    GAS_CHECK(o.in > 0 && o.hidden > 0 && o.out > 0, value_error,
              "widths in = " << o.in << ", hidden = " << o.hidden << ", out = " << o.out << " must be positive");
    GAS_CHECK(o.dropout >= 0 && o.dropout < 1 && o.input_dropout >= 0 && o.input_dropout < 1, value_error,
              "dropout = " << o.dropout << " and input_dropout = " << o.input_dropout << " must lie in [0, 1)");
    return o;
  }

  static void append(std::vector<ag::Parameter<T, Backend>*>& out, const std::vector<ag::Parameter<T, Backend>*>& in) {
    out.insert(out.end(), in.begin(), in.end());
  }

  /// Builds the layers in place (reserved vectors: parameter addresses never move afterwards).
  void build(std::uint64_t seed) {
    const auto& o = options_;
    Rng rng(seed);
    if (o.linear_head) {
      lins_.reserve(2);
      lins_.emplace_back(o.in, o.hidden, rng, nn::LinearOptions{}, "lins.0");
      lins_.emplace_back(o.hidden, o.out, rng, nn::LinearOptions{}, "lins.1");
    }
    convs_.reserve(static_cast<std::size_t>(o.layers));
    for (std::int32_t l = 0; l < o.layers; ++l) {
      const std::int64_t in = l == 0 && !o.linear_head ? o.in : o.hidden;
      const std::int64_t out = l == o.layers - 1 && !o.linear_head ? o.out : o.hidden;
      auto& conv = convs_.emplace_back(in, out, rng);
      for (auto* p : conv.parameters()) p->name = "convs." + std::to_string(l) + "." + p->name;
    }
    if (o.batch_norm) {
      const std::int32_t norms = o.linear_head ? o.layers : o.layers - 1;
      bns_.reserve(static_cast<std::size_t>(norms));
      for (std::int32_t l = 0; l < norms; ++l) bns_.emplace_back(o.hidden, 0.1, 1e-5, "bns." + std::to_string(l));
    }
  }

  GCNOptions options_;
  std::vector<nn::Linear<T, Backend>> lins_;      // input and output heads, or none
  std::vector<nn::GCNConv<T, Backend>> convs_;    // (layers)
  std::vector<nn::BatchNorm<T, Backend>> bns_;    // one per conv followed by ReLU, or none
};

}  // namespace gas::models
