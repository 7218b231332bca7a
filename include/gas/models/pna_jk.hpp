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
/// The head reads every representation's in-batch rows (models/jumping_knowledge.hpp): layer 0 keeps
/// representation 0 in the context's slot 0, and representation k > 0 is the context's output(k - 1); within a
/// pass they are the values on the tape (gradients flow through all of them), in layer-wise inference rows
/// pulled back from the slot's table and from the histories. Graph and degrees as for PNA (models/pna.hpp): the
/// raw graph (`traits.gcn_norm = false`) and `options.degrees` of the whole graph.

#include <concepts>
#include <cstdint>
#include <optional>
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
/// Options are PNA's (PNAModelOptions). Built in place and never moved: optimizers hold pointers to its
/// parameters. Parameters are named as the reference's state_dict: `lins.0.0.weight` (input Linear),
/// `lins.0.1.weight` (its BatchNorm), `lins.1.weight` (head), `convs.l.*`, `bns.l.*`.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>,
          PNAConvolution<T, Backend> Conv = nn::PNABranchConv<T, Backend>>
  requires std::same_as<typename Store::value_type, T>
class PNAJK : public ScalableGNN<PNAJK<T, Backend, Store, Conv>, Config<T, Backend, Store>> {
  using Base = ScalableGNN<PNAJK<T, Backend, Store, Conv>, Config<T, Backend, Store>>;

public:
  using var = autograd::Var<T, Backend>;
  using conv_type = Conv;
  using context = typename Base::context;

  /// @brief PNA aggregates the raw graph: the Trainer must not GCN-normalize it (train/trainer.hpp).
  static constexpr ModelTraits traits{.gcn_norm = false};

  /// @brief A PNA_JK for a graph of `num_nodes` nodes, initialized from Rng(seed) (the Linears, then the
  /// convolutions, as PyTorch registers them), with zero-filled histories Store(num_nodes, hidden). Throws
  /// value_error for layers < 1, non-positive widths, a dropout outside [0, 1), and what the convolution refuses.
  /// With `make`, histories make(layer, num_nodes, width) instead (a MappedStore per layer, say); a store made
  /// with another shape is a shape_error.
  template <class... MakeStore>
    requires(sizeof...(MakeStore) <= 1)
  PNAJK(std::int64_t num_nodes, const PNAModelOptions& options, std::uint64_t seed = 0, MakeStore&&... make)
      : Base(num_nodes, detail::pna_widths(options), std::forward<MakeStore>(make)...), options_(options) {
    build(seed);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const PNAModelOptions& options() const { return options_; }

  /// @brief Layer ctx.layer() on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Layer 0 starts with the input stage (dropout mask dropout_seed(seed, 0, 0) when drop_input, Linear,
  /// [BatchNorm], ReLU over every n_id row, kept in slot 0 as representation 0); layer l > 0 with the dropout
  /// after the previous push/pull (seed, l, 0). Then the convolution, [BatchNorm], [residual], ReLU:
  /// representation l + 1, returned by hidden layers. The last layer concatenates representations 0 .. layers
  /// of its rows, drops (seed, l, 2) and applies the head. Throws value_error for a last layer without the
  /// earlier layers of its pass, shape_error for inputs of the wrong shape.
  var forward_layer(var x, context& ctx) {
    auto& tape = ctx.tape();
    if (ctx.first()) {
      if (options_.drop_input) x = ctx.dropout(x, options_.dropout, 0);
      x = lins_[0].forward(tape, x);  // (n_id.size(), hidden)
      if (options_.batch_norm) x = input_bn_->forward(tape, x, ctx.training());
      x = ctx.keep(0, ops::relu(x));
    } else {
      x = ctx.dropout(x, options_.dropout, 0);
    }
    var h = convs_[static_cast<std::size_t>(ctx.layer())].forward(tape, x, ctx.adj());  // (batch_size, hidden)
    if (options_.batch_norm) h = bns_[static_cast<std::size_t>(ctx.layer())].forward(tape, h, ctx.training());
    if (options_.residual) h = ops::add(h, ctx.targets(x));
    h = ops::relu(h);
    if (!ctx.last()) return h;
    h = jk_.concatenate(ctx, h);                                        // (batch_size, (layers + 1) hidden)
    return lins_[1].forward(tape, ctx.dropout(h, options_.dropout, 2));  // (batch_size, out)
  }

private:
  /// Builds the layers in PyTorch's order and registers them under the reference's names (`lins.0.0`,
  /// `lins.0.1`, `lins.1`, `convs.l.*`, `bns.l.*`) and groups: the reference decays the convolutions and their
  /// norms (`reg_modules`), not its `lins` (`nonreg_modules`).
  void build(std::uint64_t seed) {
    const auto& o = options_;
    Rng rng(seed);
    lins_.emplace_back(o.in, o.hidden, rng);
    lins_.emplace_back((o.layers + 1) * o.hidden, o.out, rng);
    for (std::int32_t l = 0; l < o.layers; ++l)
      convs_.emplace_back(nn::PNAOptions{.in = o.hidden, .out = o.hidden, .scalers = o.scalers, .degrees = o.degrees},
                          rng);
    if (o.batch_norm)
      for (std::int32_t l = 0; l < o.layers; ++l) bns_.emplace_back(o.hidden);
    this->register_module("lins.0.0", lins_[0], nn::Decay::nonreg);
    if (o.batch_norm) this->register_module("lins.0.1", input_bn_.emplace(o.hidden), nn::Decay::nonreg);
    this->register_module("lins.1", lins_[1], nn::Decay::nonreg);
    this->register_module("convs", convs_);
    this->register_module("bns", bns_);
  }

  PNAModelOptions options_;
  nn::ModuleList<nn::Linear<T, Backend>> lins_;    // (2): input stage and head; registered one by one (build)
  std::optional<nn::BatchNorm<T, Backend>> input_bn_;  // the input stage's, with batch_norm
  nn::ModuleList<Conv> convs_;                     // (layers)
  nn::ModuleList<nn::BatchNorm<T, Backend>> bns_;  // (layers) or none
  JumpingKnowledge<T, Backend> jk_;                // the head's concatenation
};

/// @brief The reference's name for PNAJK.
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>,
          PNAConvolution<T, Backend> Conv = nn::PNABranchConv<T, Backend>>
  requires std::same_as<typename Store::value_type, T>
using PNA_JK = PNAJK<T, Backend, Store, Conv>;

}  // namespace gas::models
