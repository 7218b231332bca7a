#pragma once
/// @brief `GIN`: the reference's GAS+GIN example (PyGAS's examples/train_gin.py) as a GAS model, with its
/// Lipschitz regularizer as a compile-time policy.
///
/// Layer order, as the reference: x = ReLU(Linear(in, hidden)(x)) on every n_id row -> per layer: GINConv
/// (identity network, trainable eps: (1 + eps) x_i + sum_j x_j) -> MLP [Linear, BatchNorm, ReLU, Linear, ReLU]
/// -> skip (+ x[:rows]) -> push/pull, dropout (all but the last) -> after the last: dropout, Linear(hidden,
/// out). The reference's example has no dropout; PyGAS's models/gin.py puts it where `dropout` acts here (0 by
/// default). Mapped onto ScalableGNN's layers: layer 0 also runs the input Linear, layer l > 0 starts with the
/// dropout after the previous push/pull, the last also runs the head. The MLP is GINConv's network here (the
/// reference applies it after a GINConv with an identity network: the same function).
///
/// Deviation: the reference's BatchNorm keeps no running statistics (batch statistics in evaluation too), so
/// its layer-wise inference depends on how nodes are batched. Ours is torch's default BatchNorm1d (running
/// statistics in evaluation), which makes layer-wise inference equal the full-graph pass.
///
/// The graph: GIN sums the raw neighbors (`traits.gcn_norm = false`); the sum uses edge weights when the graph
/// has them, so pass an unweighted graph to match the reference.
///
/// The regularizer `Reg` (nn/regularizer.hpp):
/// - nn::reg::None: nothing.
/// - nn::reg::NoisePerturbation (the reference's): in training, each hidden layer l with 0 < l < layers - 1 adds
///   mean_v || mlp(h)_v - mlp(h + sigma N(0, I))_v ||_2 / (layers - 1) (h: the MLP's input rows of the batch)
///   to a penalty the model keeps for the pass; `regularization_loss(tape)` returns it after the forward, and
///   the caller adds it to the loss with weight 1 (the policy's `weight` scales it). Layer 0 reads exact
///   features and the last layer is left out, as in the reference. The noise of layer l is drawn from
///   counter_hash(seed, "ginn", l), with `seed` the forward's, so a step can be replayed.
/// - nn::reg::SpectralNorm: every MLP Linear is spectrally normalized (Linear<T, B, SpectralNorm>); no penalty.

#include <cmath>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
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
#include "gas/nn/gin_conv.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/regularizer.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::models {

namespace detail {

/// @brief The counter_hash stream of GIN's perturbation seeds ("ginn"), one seed per layer.
inline constexpr std::uint64_t gin_noise_stream = 0x67696e6e;

}  // namespace detail

/// @brief The MLP of the reference's GIN layers: Linear - [BatchNorm] - ReLU - Linear - ReLU, width to width.
/// Parameters named as the reference's Sequential: `<name>.0.*` (Linear), `<name>.1.*` (BatchNorm), then
/// `<name>.3.*` (`<name>.2.*` without the norm).
/// @tparam Reg the weight policy of both Linears (nn::reg::None, or nn::reg::SpectralNorm to bound their Lipschitz
/// constants).
template <class T, class Backend = host, nn::reg::Regularizer<T, Backend> Reg = nn::reg::None>
struct GINMLP : nn::Module<T, Backend> {
  nn::Linear<T, Backend, Reg> lin0;              // (width, width)
  std::optional<nn::BatchNorm<T, Backend>> bn;  // (width), with batch_norm
  nn::Linear<T, Backend, Reg> lin1;              // (width, width)
  bool batch_norm = false;

  /// @brief Layers initialized from `rng` (lin0, then lin1), registered as the reference's Sequential; each
  /// Linear gets its own copy of `reg`. Throws value_error for width <= 0.
  GINMLP(std::int64_t width, bool batch_norm_, Rng& rng, const Reg& reg = {})
      : lin0(width, width, rng, nn::LinearOptions{}, reg),
        lin1(width, width, rng, nn::LinearOptions{}, reg),
        batch_norm(batch_norm_) {
    this->register_module("0", lin0);
    if (batch_norm) this->register_module("1", bn.emplace(width));
    this->register_module(batch_norm ? "3" : "2", lin1);
  }

  /// @brief x (rows, width) -> (rows, width); `training` selects batch statistics and goes to the weight
  /// policy. Nothing here draws: `seed` is unused (GINConv's Network interface).
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, bool training, std::uint64_t) {
    x = lin0.forward(tape, x, training);
    if (batch_norm) x = bn->forward(tape, x, training);
    x = ops::relu(x);
    return ops::relu(lin1.forward(tape, x, training));
  }
};

/// @brief Sizes and switches of a GIN (the reference's example; dropout as PyGAS's models/gin.py).
struct GINOptions {
  std::int64_t in = 0;       ///< input feature width
  std::int64_t hidden = 64;  ///< width of every layer and of the histories
  std::int64_t out = 0;      ///< output width (classes)
  std::int32_t layers = 4;   ///< GIN convolutions (>= 1)
  double dropout = 0.0;      ///< dropout after every push/pull and before the head
  bool batch_norm = true;    ///< BatchNorm inside every MLP, after its first Linear
  bool residual = true;      ///< the skip connection: add the layer's (batch) input rows to the MLP's output
  bool train_eps = true;     ///< train every convolution's eps
  double eps = 0.0;          ///< initial eps
};

/// @brief The reference's GIN as a GAS model: `layers - 1` histories of width `hidden`.
/// @tparam T compute type, float or double.
/// @tparam Backend where it computes (`gas::host`).
/// @tparam Store the history store (history::HostStore<T> by default).
/// @tparam Reg the Lipschitz regularizer: nn::reg::None, nn::reg::NoisePerturbation (a penalty, see
/// regularization_loss) or nn::reg::SpectralNorm (on the MLPs' Linears); see the file comment.
///
/// Built in place and never moved: optimizers hold pointers to its parameters. Parameters are named as the
/// reference's state_dict: `lins.0.weight`, `lins.1.weight`, `convs.l.eps`, `mlps.l.0.weight`, ...
template <class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>,
          nn::reg::Regularizer<T, Backend> Reg = nn::reg::None>
  requires std::same_as<typename Store::value_type, T>
class GIN : public ScalableGNN<GIN<T, Backend, Store, Reg>, Config<T, Backend, Store>> {
  using Base = ScalableGNN<GIN<T, Backend, Store, Reg>, Config<T, Backend, Store>>;
  using NetReg = std::conditional_t<Reg::reparametrizes, Reg, nn::reg::None>;
  using ConvReg = std::conditional_t<Reg::penalizes, Reg, nn::reg::None>;

public:
  using var = autograd::Var<T, Backend>;
  using regularizer_type = Reg;
  using net_type = GINMLP<T, Backend, NetReg>;
  using conv_type = nn::GINConv<T, Backend, net_type, ConvReg>;
  using context = typename Base::context;

  /// @brief GIN sums the raw neighbors, so the Trainer must not GCN-normalize the graph; a penalizing `Reg`
  /// adds regularization_loss(tape) to the loss.
  static constexpr ModelTraits traits{.gcn_norm = false, .regularization = Reg::penalizes};

  /// @brief A GIN for a graph of `num_nodes` nodes, initialized from Rng(seed) (the Linears, then the MLPs, as
  /// PyTorch registers them), with zero-filled histories Store(num_nodes, hidden); `regularizer` holds the
  /// policy's settings (NoisePerturbation's sigma and weight, SpectralNorm's iterations), copied into every layer
  /// that applies it. Throws value_error for layers < 1, non-positive widths, a dropout outside [0, 1) or a
  /// non-finite eps.
  GIN(std::int64_t num_nodes, const GINOptions& options, std::uint64_t seed = 0, const Reg& regularizer = {})
    requires std::constructible_from<Store, std::int64_t, std::int64_t>
      : Base(num_nodes, widths(options)), options_(options) {
    build(seed, regularizer);
  }

  /// @brief As above with histories make(layer, num_nodes, hidden). Throws also shape_error when a store made
  /// has another shape.
  template <class MakeStore>
    requires std::invocable<MakeStore&, std::int32_t, std::int64_t, std::int64_t>
  GIN(std::int64_t num_nodes, const GINOptions& options, std::uint64_t seed, MakeStore&& make,
      const Reg& regularizer = {})
      : Base(num_nodes, widths(options), make), options_(options) {
    build(seed, regularizer);
  }

  /// @brief The options the model was built with.
  [[nodiscard]] const GINOptions& options() const { return options_; }
  /// @brief Convolution `l` with its MLP (for inspection and tests). Throws value_error for l outside
  /// [0, layers).
  [[nodiscard]] conv_type& conv(std::int32_t l) {
    GAS_CHECK(l >= 0 && l < options_.layers, value_error, "layer " << l << " outside [0, " << options_.layers << ")");
    return convs_[static_cast<std::size_t>(l)];
  }

  /// @brief Layer ctx.layer() on a batch: x (adj.cols(), in_l), rows in n_id order, -> (adj.rows(), out_l).
  ///
  /// Layer 0 starts with the input Linear and ReLU over every n_id row; layer l > 0 with the dropout after the
  /// previous push/pull (mask dropout_seed(seed, l, 0)). Then GINConv with its MLP on the raw batch adjacency,
  /// [skip]; the last layer ends with dropout (seed, l, 2) and the head. In training under a penalizing `Reg`,
  /// hidden layers 0 < l < layers - 1 add their share of the penalty (see regularization_loss). Throws
  /// shape_error for inputs of the wrong shape.
  var forward_layer(var x, context& ctx) {
    auto& tape = ctx.tape();
    const std::int32_t layer = ctx.layer();
    auto& conv = convs_[static_cast<std::size_t>(layer)];
    if (ctx.first()) {
      penalty_tape_ = nullptr;  // every pass starts here: a penalty of an earlier pass is never returned
      penalty_id_ = -1;
      x = ops::relu(lins_[0].forward(tape, x));  // (n_id.size(), hidden)
    } else {
      x = ctx.dropout(x, options_.dropout, 0);
    }
    var h = conv.forward(tape, x, ctx.adj(), ctx.training(), ctx.dropout_seed(1));  // (batch_size, hidden)
    if constexpr (Reg::penalizes) {
      if (ctx.training() && layer > 0 && !ctx.last()) {
        const auto noise_seed = counter_hash(ctx.seed(), detail::gin_noise_stream, static_cast<std::uint64_t>(layer));
        if (auto r = conv.regularization(tape, true, noise_seed)) {
          const T share = T{1} / static_cast<T>(options_.layers - 1);
          const var total = penalty_tape_ == &tape && penalty_id_ >= 0
                                ? ops::add_scaled(var{&tape, penalty_id_}, T{1}, *r, share)
                                : ops::scale(*r, share);
          penalty_tape_ = &tape;
          penalty_id_ = total.id();
        }
      }
    }
    if (options_.residual) h = ops::add(h, ctx.targets(x));
    if (ctx.last()) h = lins_[1].forward(tape, ctx.dropout(h, options_.dropout, 2));  // (batch_size, out)
    return h;
  }

  /// @brief The (1, 1) Lipschitz penalty of the last forward pass on `tape` (forward or forward_full), to be
  /// added to the loss with weight 1; nothing when `Reg` does not penalize, in evaluation, with fewer than three
  /// layers (no hidden layer but the first), or for an empty batch. Call it after the forward and before the
  /// tape's next reset: a reset followed by a pass that did not start at layer 0 is not detected.
  [[nodiscard]] std::optional<var> regularization_loss(autograd::Tape<T, Backend>& tape) const
    requires Reg::penalizes
  {
    if (penalty_tape_ != &tape || penalty_id_ < 0 || penalty_id_ >= tape.size()) return std::nullopt;
    return var{&tape, penalty_id_};
  }

private:
  static Widths widths(const GINOptions& o) {
    GAS_CHECK(o.layers >= 1, value_error, "layers = " << o.layers << " must be at least 1");
    GAS_CHECK(o.in > 0 && o.hidden > 0 && o.out > 0, value_error,
              "widths in = " << o.in << ", hidden = " << o.hidden << ", out = " << o.out << " must be positive");
    GAS_CHECK(o.dropout >= 0 && o.dropout < 1, value_error, "dropout = " << o.dropout << " must lie in [0, 1)");
    GAS_CHECK(std::isfinite(o.eps), value_error, "eps = " << o.eps << " must be finite");
    return {.in = o.in, .hidden = o.hidden, .out = o.out, .layers = o.layers};
  }

  /// Builds the layers in PyTorch's order (the Linears, then the MLPs) and registers them under the reference's
  /// names (`lins.k`, `convs.l.eps`, `mlps.l.k`) and groups: the Linears are `nonreg_modules`; the convolutions'
  /// eps and MLPs are the message-passing layers the reference's GAS models decay (`reg_modules`).
  void build(std::uint64_t seed, const Reg& regularizer) {
    const auto& o = options_;
    Rng rng(seed);
    lins_.emplace_back(o.in, o.hidden, rng);
    lins_.emplace_back(o.hidden, o.out, rng);
    NetReg net_reg{};
    ConvReg conv_reg{};
    if constexpr (Reg::reparametrizes) net_reg = regularizer;
    if constexpr (Reg::penalizes) conv_reg = regularizer;
    for (std::int32_t l = 0; l < o.layers; ++l)
      convs_.emplace_back(nn::GINConvOptions{.eps = o.eps, .train_eps = o.train_eps}, conv_reg, o.hidden,
                          o.batch_norm, rng, net_reg);
    this->register_module("lins", lins_, nn::Decay::nonreg);
    if (o.train_eps)
      for (std::int32_t l = 0; l < o.layers; ++l)
        this->register_parameter("convs." + std::to_string(l) + ".eps", convs_[static_cast<std::size_t>(l)].eps);
    for (std::int32_t l = 0; l < o.layers; ++l)
      this->register_module("mlps." + std::to_string(l), convs_[static_cast<std::size_t>(l)].nn);
  }

  GINOptions options_;
  nn::ModuleList<nn::Linear<T, Backend>> lins_;  // (2): input Linear and head
  nn::ModuleList<conv_type> convs_;              // (layers), each with its MLP; registered by parts (build)
  autograd::Tape<T, Backend>* penalty_tape_ = nullptr;  // the tape of the pass whose penalty is kept
  int penalty_id_ = -1;                           // the penalty's node on it, -1 for none
};

}  // namespace gas::models
