#pragma once
/// @brief `PNAJK` (the reference's PNA_JK): PNA with jumping knowledge, as a GAS model.
///
/// Layer order, as the reference: [input dropout] -> x = ReLU([BatchNorm](Linear(in, hidden)(x))) on every n_id
/// row; representation 0 = x's in-batch rows -> per layer l: PNA conv (hidden -> hidden), [BatchNorm],
/// [residual], ReLU = representation l + 1, then push/pull and dropout (all but the last) -> the head:
/// concatenate the layers + 1 representations, dropout, Linear((layers + 1) hidden, out). Mapped onto
/// ScalableGNN's layers: layer 0 also runs the input stage, layer l > 0 starts with the dropout after the
/// previous push/pull, the last also runs the head. As in the reference, there is no dropout between the input
/// stage and the first convolution.
///
/// The head reads every representation's in-batch rows (models/jumping_knowledge.hpp): within a pass they are
/// the values recorded on the tape (gradients flow through all of them); in layer-wise inference representation
/// k > 0 is pulled back from history k - 1 and representation 0 from a table kept by this model, so inference()
/// and fill_histories() are this file's, not ScalableGNN's. Graph and degrees as for PNA (models/pna.hpp): the
/// raw graph (`needs_gcn_norm = false`) and `options.degrees` of the whole graph.

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
#include "gas/models/jumping_knowledge.hpp"
#include "gas/models/pna.hpp"
#include "gas/models/scalable_gnn.hpp"
#include "gas/nn/batch_norm.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/pna_branch_conv.hpp"
#include "gas/nn/pna_conv.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::models {

/// @brief The reference's PNA_JK as a GAS model: `layers - 1` histories of width `hidden`.
/// @tparam T compute type, float or double.
/// @tparam Backend where it computes (`gas::host`).
/// @tparam Store the history store (history::HostStore<T> by default).
/// @tparam Conv the convolution, a PNAConvolution (`nn::PNABranchConv` with sum, mean and max by default).
///
/// Options are PNA's (PNAModelOptions). Built in place and never moved: optimisers hold pointers to its
/// parameters. Parameters are named as the reference's state_dict: `lins.0.0.weight` (input Linear),
/// `lins.0.1.weight` (its BatchNorm), `lins.1.weight` (head), `convs.l.*`, `bns.l.*`.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>,
          PNAConvolution<T, Backend> Conv = nn::PNABranchConv<T, Backend>>
  requires std::same_as<typename Store::value_type, T>
class PNAJK : public ScalableGNN<PNAJK<T, Backend, Store, Conv>, T, Backend, Store> {
  using Base = ScalableGNN<PNAJK<T, Backend, Store, Conv>, T, Backend, Store>;

public:
  using var = ag::Var<T, Backend>;
  using conv_type = Conv;

  /// @brief PNA aggregates the raw graph: Trainer must not GCN-normalise it (train/trainer.hpp).
  static constexpr bool needs_gcn_norm = false;

  /// @brief A PNA_JK for a graph of `num_nodes` nodes, initialised from Rng(seed) (the Linears, then the
  /// convolutions, as PyTorch registers them), with zero-filled histories Store(num_nodes, hidden). Throws
  /// value_error for layers < 1, non-positive widths, a dropout outside [0, 1), and what the convolution refuses.
  PNAJK(std::int64_t num_nodes, const PNAModelOptions& options, std::uint64_t seed = 0)
    requires std::constructible_from<Store, std::int64_t, std::int64_t>
      : Base(num_nodes, detail::checked_pna_options(options).hidden, options.layers), options_(options) {
    build(seed);
  }

  /// @brief As above with histories make(layer, num_nodes, hidden). Throws also shape_error when a store made
  /// has another shape.
  template <class MakeStore>
    requires std::invocable<MakeStore&, std::int32_t, std::int64_t, std::int64_t>
  PNAJK(std::int64_t num_nodes, const PNAModelOptions& options, std::uint64_t seed, MakeStore&& make)
      : Base(num_nodes, detail::checked_pna_options(options).hidden, options.layers, make), options_(options) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const PNAModelOptions& options() const { return options_; }
  /// @brief Width of layer 0's input (the features).
  [[nodiscard]] std::int64_t in_features() const { return options_.in; }
  /// @brief Width of the output (the classes).
  [[nodiscard]] std::int64_t out_features() const { return options_.out; }

  /// @brief Layer `layer` on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Layer 0 starts with the input stage (dropout mask dropout_seed(seed, 0, 0) when drop_input, Linear,
  /// [BatchNorm], ReLU over every n_id row; its in-batch rows are representation 0); layer l > 0 with the
  /// dropout after the previous push/pull (seed, l, 0). Then the convolution, [BatchNorm], [residual], ReLU:
  /// representation l + 1, returned by hidden layers. The last layer concatenates representations 0 .. layers
  /// of its rows, drops (seed, l, 2) and applies the head. `adj` must outlive the backward pass. Throws
  /// value_error for a layer outside [0, layers) or a last layer without the earlier layers of its pass,
  /// shape_error for inputs of the wrong shape.
  var forward_layer(std::int32_t layer, ag::Tape<T, Backend>& tape, var x, const GraphOf<Backend>& adj, bool training,
                    std::uint64_t seed) {
    const std::int32_t last = options_.layers - 1;
    GAS_CHECK(layer >= 0 && layer <= last, value_error,
              "layer " << layer << " outside [0, " << options_.layers << ")");
    if (layer == 0) {
      if (options_.drop_input) x = ops::dropout(x, options_.dropout, dropout_seed(seed, 0, 0), training);
      x = lins_[0].forward(tape, x);  // (n_id.size(), hidden)
      if (options_.batch_norm) x = input_bn_.forward(tape, x, training);
      x = ops::relu(x);
      jk_.begin(tape);
      jk_.record(tape, 0, x.rows() == adj.rows() ? x : ops::slice_rows(x, 0, adj.rows()));
    } else {
      x = ops::dropout(x, options_.dropout, dropout_seed(seed, layer, 0), training);
    }
    var h = convs_[static_cast<std::size_t>(layer)].forward(tape, x, adj);  // (batch_size, hidden)
    if (options_.batch_norm) h = bns_[static_cast<std::size_t>(layer)].forward(tape, h, training);
    if (options_.residual) h = ops::add(h, ops::slice_rows(x, 0, h.rows()));
    h = ops::relu(h);
    if (layer < last) {
      jk_.record(tape, layer + 1, h);
      return h;
    }
    h = jk_.concatenate(tape, layer, h);  // (batch_size, (layers + 1) hidden)
    h = ops::dropout(h, options_.dropout, dropout_seed(seed, layer, 2), training);
    return lins_[1].forward(tape, h);  // (batch_size, out)
  }

  /// @brief Every trainable parameter: the input stage's and the head's, the convolutions', the batch norms'.
  std::vector<ag::Parameter<T, Backend>*> parameters() {
    auto out = nonreg_parameters();
    append(out, reg_parameters());
    return out;
  }

  /// @brief The reference's `reg_modules` (the weight-decayed group): the convolutions and their batch norms.
  std::vector<ag::Parameter<T, Backend>*> reg_parameters() {
    std::vector<ag::Parameter<T, Backend>*> out;
    for (auto& conv : convs_) append(out, conv.parameters());
    for (auto& bn : bns_) append(out, bn.parameters());
    return out;
  }

  /// @brief The reference's `nonreg_modules` (its `lins`): the input Linear with its batch norm, and the head.
  std::vector<ag::Parameter<T, Backend>*> nonreg_parameters() {
    auto out = lins_[0].parameters();
    if (options_.batch_norm) append(out, input_bn_.parameters());
    append(out, lins_[1].parameters());
    return out;
  }

private:
  friend Base;  // Base::inference / fill_histories run layerwise_driver()
  /// The layer-wise inference driver ScalableGNN uses instead of its own (see the file comment).
  auto& layerwise_driver() { return jk_; }
  static void append(std::vector<ag::Parameter<T, Backend>*>& out, const std::vector<ag::Parameter<T, Backend>*>& in) {
    out.insert(out.end(), in.begin(), in.end());
  }

  /// Builds the layers in place (reserved vectors: parameter addresses never move afterwards).
  void build(std::uint64_t seed) {
    const auto& o = options_;
    Rng rng(seed);
    lins_.reserve(2);
    lins_.emplace_back(o.in, o.hidden, rng, nn::LinearOptions{}, "lins.0.0");
    if (o.batch_norm) input_bn_ = nn::BatchNorm<T, Backend>(o.hidden, 0.1, 1e-5, "lins.0.1");
    lins_.emplace_back((o.layers + 1) * o.hidden, o.out, rng, nn::LinearOptions{}, "lins.1");
    convs_.reserve(static_cast<std::size_t>(o.layers));
    for (std::int32_t l = 0; l < o.layers; ++l) {
      auto& conv = convs_.emplace_back(
          nn::PNAOptions{.in = o.hidden, .out = o.hidden, .scalers = o.scalers, .degrees = o.degrees}, rng);
      for (auto* p : conv.parameters()) p->name = "convs." + std::to_string(l) + "." + p->name;
    }
    if (o.batch_norm) {
      bns_.reserve(static_cast<std::size_t>(o.layers));
      for (std::int32_t l = 0; l < o.layers; ++l) bns_.emplace_back(o.hidden, 0.1, 1e-5, "bns." + std::to_string(l));
    }
  }

  PNAModelOptions options_;
  std::vector<nn::Linear<T, Backend>> lins_;    // (2): input stage and head
  nn::BatchNorm<T, Backend> input_bn_;          // the input stage's, with batch_norm
  std::vector<Conv> convs_;                     // (layers)
  std::vector<nn::BatchNorm<T, Backend>> bns_;  // (layers) or none
  JumpingKnowledge<T, Backend> jk_;             // the representations of the pass in progress; inference's table
};

/// @brief The reference's name for PNAJK.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>,
          PNAConvolution<T, Backend> Conv = nn::PNABranchConv<T, Backend>>
  requires std::same_as<typename Store::value_type, T>
using PNA_JK = PNAJK<T, Backend, Store, Conv>;

}  // namespace gas::models
