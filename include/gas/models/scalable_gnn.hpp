#pragma once
/// @brief `ScalableGNN`: the CRTP base of GAS models. It owns one history per hidden layer, registers the
/// model's parameters (it is an nn::Module), and runs the one driver every model shares, in three modes: the
/// training forward pass over a batch (layer, push/pull, layer, ...), the full-graph pass, and layer-wise exact
/// inference over every node.
///
/// A model derives from `ScalableGNN<Model, Config<T, Backend, Store>>` and writes one layer at a time:
/// `forward_layer(x, ctx)` maps the (ctx.adj().cols(), in_l) input rows of a batch (in-batch rows first, then
/// halo rows) to the (ctx.adj().rows(), out_l) outputs of its in-batch rows, pre- and post-processing included.
/// Whatever the reference applies between a layer's push/pull and the next convolution (GCN's dropout) is the
/// *start* of the next layer's `forward_layer`, so that the same per-layer code serves training (inputs = [batch
/// rows ; pulled halo rows]) and layer-wise inference (inputs = all rows pulled from the previous history). State
/// a layer reads across layers (x0, jumping-knowledge rows) goes through the context's hooks
/// (models/layer_context.hpp). The model declares its `traits` (gcn_norm, regularization) in one ModelTraits.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <optional>
#include <variant>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/history/push_and_pull.hpp"
#include "gas/loader/batch.hpp"
#include "gas/loader/eval_loader.hpp"
#include "gas/models/history_io.hpp"
#include "gas/models/layer_context.hpp"
#include "gas/nn/module.hpp"
#include "gas/ops/gather.hpp"

namespace gas::models {

/// @brief What the Trainer needs to know of a model, declared in one place: `static constexpr ModelTraits traits{
/// .gcn_norm = false };`. A misspelt field does not compile (designated initializers), and the Trainer checks
/// the declaration against the model (a model with `regularization` must have `regularization_loss(tape)`, and
/// one without must not).
struct ModelTraits {
  bool gcn_norm = true;         ///< the Trainer GCN-normalizes the graph (self-loops, D^-1/2 A D^-1/2) first
  bool regularization = false;  ///< the model adds regularization_loss(tape) to every training loss
};

/// @brief The configuration bundle of a model: compute type, backend and history store in one type, so that a
/// model written once as `template <class C> class M : public ScalableGNN<M<C>, C>` runs as M<Config<float>> on
/// the host and M<Config<float, gas::cuda::device>> on the GPU.
/// @tparam T float or double; @tparam Backend `gas::host` or `gas::cuda::device`; @tparam Store the history store.
template <class T = float, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
struct Config {
  using value_type = T;
  using backend_type = Backend;
  using store_type = Store;
  using var = autograd::Var<T, Backend>;
  using tape_type = autograd::Tape<T, Backend>;
  using graph_type = GraphOf<Backend>;
};

/// @brief The widths of a model: its input features, its hidden layers (and histories), its output, and the
/// number of layers.
struct Widths {
  std::int64_t in = 0;
  std::int64_t hidden = 0;
  std::int64_t out = 0;
  std::int32_t layers = 1;
};


/// @brief The base of GAS models (CRTP): the parameter registry, histories of the hidden layers, and the one
/// driver (batch forward pass, full-graph pass, layer-wise inference), generic over the model's layers and the
/// history store.
/// @tparam Derived the model; it provides `forward_layer(x, ctx)` (see the file comment) and registers its
/// layers; it may declare `traits` and hide `in_features()` / `out_features()`.
/// @tparam C the configuration bundle, `Config<T, Backend, Store>`: where the model computes and how it keeps its
/// histories. The store decides how they move (models/history_io.hpp): host stores through synchronous copies,
/// GPU stores (cuda::PinnedStore, DeviceStore, Staged<S>) through the overlapped pipeline of
/// gas/cuda/models/history_io.cuh, or synchronously when set_history_io(HistoryIO::sync) asks for the oracle.
///
/// History l (l = 0 .. num_layers - 2) holds the output of layer l for every node. A model holds its layers and
/// its histories by value, so it is neither copied nor moved: optimizers keep pointers to its parameters.
template <class Derived, class C>
class ScalableGNN : public nn::Module<typename C::value_type, typename C::backend_type> {
public:
  using config_type = C;
  using value_type = typename C::value_type;
  using backend_type = typename C::backend_type;
  using store_type = typename C::store_type;
  using var = autograd::Var<value_type, backend_type>;
  using tape_type = autograd::Tape<value_type, backend_type>;
  using context = LayerContext<value_type, backend_type, store_type>;

  /// @brief The defaults: the graph is GCN-normalized, no regularization loss. A model hides them with its own.
  static constexpr ModelTraits traits{};

  /// @brief Number of layers (convolutions); num_layers() - 1 histories.
  [[nodiscard]] std::int32_t num_layers() const { return widths_.layers; }
  /// @brief Rows of every history: the nodes of the (permuted) graph the model was built for.
  [[nodiscard]] std::int64_t num_nodes() const { return num_nodes_; }
  /// @brief Width of every history (the hidden layers' output width).
  [[nodiscard]] std::int64_t history_width() const { return widths_.hidden; }
  /// @brief Width of layer 0's input (the features).
  [[nodiscard]] std::int64_t in_features() const { return widths_.in; }
  /// @brief Width of the last layer's output (the classes).
  [[nodiscard]] std::int64_t out_features() const { return widths_.out; }
  /// @brief The histories, one per hidden layer (history l holds layer l's output rows).
  [[nodiscard]] std::span<store_type> histories() { return histories_; }
  /// @brief The histories, read-only.
  [[nodiscard]] std::span<const store_type> histories() const { return histories_; }

  /// @brief GAS's training (or evaluation) forward pass over one batch: (batch_size, out_features()) outputs of
  /// the batch's in-batch nodes, in batch order.
  ///
  /// Gathers the features of every n_id row (a constant: layer 0 is exact), runs layer 0 on the bipartite
  /// batch adjacency, then for each hidden layer l pushes its batch rows into history l and continues with
  /// [batch rows ; halo rows pulled from history l] (history::push_and_pull: gradients reach the batch rows only).
  /// Pushes happen in every mode, under NoGrad too. `features` is (num_nodes(), in_features()), dense or sparse (any FeatureSource: a MatrixView, a Tensor, a Dataset's Features); `batch` and its
  /// adjacency must outlive the backward pass. Throws shape_error when features or batch do not fit the model,
  /// value_error when the batch's ids fall outside it.
  template <FeatureSource X>
  var forward(tape_type& tape, const X& source, const loader::Batch& batch, bool training, std::uint64_t seed) {
    const auto features = as_feature_view(source);
    check_features(features);
    check_batch(batch);
    auto in = io_.begin_forward(tape, features, batch, histories());  // x (n_id.size(), in) and the adjacency
    var x = in.x;
    const GraphOf<backend_type>& adj = *in.adj;
    state_.begin_pass(tape);
    for (std::int32_t l = 0; l + 1 < num_layers(); ++l) {
      var h = layer(l, tape, x, adj, training, seed);               // (batch_size, width)
      x = io_.push_and_pull(tape, l, histories(), h, batch);        // (n_id.size(), width)
    }
    return layer(num_layers() - 1, tape, x, adj, training, seed);  // (batch_size, out)
  }

  /// @brief How histories and batch inputs move (HistoryIO::sync on the host; on the GPU with a GPU store,
  /// overlapped unless set_history_io(HistoryIO::sync) chose the synchronous oracle).
  [[nodiscard]] HistoryIO history_io() const { return io_.mode(); }
  /// @brief Chooses how histories move; throws config_error for overlapped on a model that cannot (host
  /// backend, or a host store on the device). Drains queued history copies first.
  void set_history_io(HistoryIO mode) {
    io_.drain();
    io_.set_mode(mode);
  }
  /// @brief The model's IO object (the GPU pipeline's counters and options live there).
  [[nodiscard]] auto& io() { return io_; }
  /// @brief Sizes the IO's buffers for every batch within `bounds` (loader::batch_bounds), so that no step
  /// allocates afterwards. Optional: without it buffers grow on first need.
  void reserve_io(const loader::BatchBounds& bounds) { io_.reserve(bounds, in_features_of(), histories()); }
  /// @brief Prefetch: queues `batch`'s inputs (features, adjacency) while the GPU still works on the current
  /// step; the next forward() over the same batch uses them. A no-op on the synchronous path.
  template <FeatureSource X>
  void stage(const X& source, const loader::Batch& batch) {
    const auto features = as_feature_view(source);
    check_features(features);
    check_batch(batch);
    io_.stage(features, batch, histories());
  }
  /// @brief Marks the end of a training step (after the optimizer): batch buffers of the step may be recycled.
  void end_step(tape_type& tape) { io_.end_step(tape); }
  /// @brief Waits for every queued history copy (host reads of a store drain on their own too).
  void drain_histories() { io_.drain(); }

  /// @brief The whole-graph forward pass without histories (the full-batch baseline): x (n, in_features()) over a
  /// square adjacency `adj` (n x n), normalized as for training, -> (n, out_features()).
  ///
  /// Runs the same forward_layer code as forward(), so on a single partition (n_id = 0 .. n - 1) the two give
  /// the same bits, dropout masks included. `adj` must outlive the backward pass. Throws shape_error when x and
  /// adj disagree.
  var forward_full(tape_type& tape, var x, const GraphOf<backend_type>& adj, bool training, std::uint64_t seed) {
    GAS_CHECK(adj.rows() == adj.cols() && x.rows() == adj.rows(), shape_error,
              "x is (" << x.rows() << " x " << x.cols() << ") for adjacency (" << adj.rows() << " x " << adj.cols()
                       << "): the adjacency must be square with one row per row of x");
    GAS_CHECK(x.cols() == derived().in_features(), shape_error,
              "x is (" << x.rows() << " x " << x.cols() << ") but the model takes in_features = "
                       << derived().in_features());
    state_.begin_pass(tape);
    for (std::int32_t l = 0; l < num_layers(); ++l) x = layer(l, tape, x, adj, training, seed);
    return x;
  }

  /// @brief One layer on its own, as the drivers run it: x (adj.cols(), in_l) -> (adj.rows(), out_l), checked.
  /// Layer 0 starts a new pass; a later layer reads what the earlier layers of the pass on the same tape kept.
  /// For tests and custom drivers. Throws value_error for a layer outside
  /// [0, num_layers()) or one whose hooks find nothing kept (an earlier layer skipped), shape_error as forward().
  var run_layer(std::int32_t l, tape_type& tape, var x, const GraphOf<backend_type>& adj, bool training,
                std::uint64_t seed) {
    GAS_CHECK(l >= 0 && l < num_layers(), value_error, "layer " << l << " outside [0, " << num_layers() << ")");
    if (l == 0 || state_.layerwise) state_.begin_pass(tape);
    return layer(l, tape, x, adj, training, seed);
  }

  /// @brief Layer-wise exact inference ("mini_inference"): the (num_nodes(), out_features()) outputs of every
  /// node, in the (permuted) id order of the graph the loader was built from, in evaluation mode, in host memory
  /// on either backend (on the GPU the rows stream out batch by batch, so device memory stays at one batch).
  ///
  /// Layer 0 runs every batch of `loader` on its gathered feature rows and pushes the batch rows into history 0;
  /// layer l > 0 reads all of a batch's input rows (in-batch and halo) from history l - 1 and pushes into history
  /// l; the last layer writes its rows into the result. Every layer thus sees exact inputs, so the result equals
  /// the full-graph forward pass up to rounding, while memory stays at one batch (one reused tape). As a side
  /// effect every history then holds exact embeddings (the reference refreshes them this way after each epoch).
  /// Throws shape_error when the features or the loader's graph do not have num_nodes() rows.
  template <FeatureSource X>
  Tensor<value_type, host> inference(const X& features, const loader::EvalLoader& loader) {
    Tensor<value_type, host> out(num_nodes_, derived().out_features());  // (num_nodes, out), host memory
    layerwise(as_feature_view(features), loader, &out);
    return out;
  }

  /// @brief Fills every history with exact embeddings (layer-wise inference without the last layer): what
  /// training starts from. Same arguments and errors as inference().
  template <FeatureSource X>
  void fill_histories(const X& features, const loader::EvalLoader& loader) {
    layerwise(as_feature_view(features), loader, nullptr);
  }

protected:
  /// @brief Histories Store(num_nodes, widths.hidden), one per hidden layer (widths.layers - 1 of them),
  /// zero-filled. Throws value_error for layers < 1 or a negative size.
  ScalableGNN(std::int64_t num_nodes, const Widths& widths)
    requires std::constructible_from<store_type, std::int64_t, std::int64_t>
      : ScalableGNN(num_nodes, widths,
                    [](std::int32_t, std::int64_t n, std::int64_t w) { return store_type(n, w); }) {}

  /// @brief Histories make(l, num_nodes, widths.hidden) for l = 0 .. layers - 2 (a file per layer for
  /// MappedStore, say). Throws value_error for layers < 1 or a negative size, shape_error naming the layer when
  /// a store made is not (num_nodes x hidden).
  template <class MakeStore>
    requires std::invocable<MakeStore&, std::int32_t, std::int64_t, std::int64_t> &&
             std::same_as<std::invoke_result_t<MakeStore&, std::int32_t, std::int64_t, std::int64_t>, store_type>
  ScalableGNN(std::int64_t num_nodes, const Widths& widths, MakeStore&& make) : num_nodes_(num_nodes), widths_(widths) {
    GAS_CHECK(widths.layers >= 1, value_error, "num_layers = " << widths.layers << " must be at least 1");
    GAS_CHECK(num_nodes >= 0 && widths.hidden >= 0, value_error,
              "histories of shape (" << num_nodes << " x " << widths.hidden << ") need non-negative sizes");
    histories_.reserve(static_cast<std::size_t>(widths.layers - 1));
    for (std::int32_t l = 0; l + 1 < widths.layers; ++l) {
      store_type& s = histories_.emplace_back(make(l, num_nodes, widths.hidden));
      GAS_CHECK(s.num_nodes() == num_nodes && s.width() == widths.hidden, shape_error,
                "history " << l << " is (" << s.num_nodes() << " x " << s.width() << ") but the model needs ("
                           << num_nodes << " x " << widths.hidden << "): " << num_nodes << " nodes, hidden width "
                           << widths.hidden);
    }
  }

  ~ScalableGNN() = default;

private:
  Derived& derived() { return static_cast<Derived&>(*this); }

  /// Runs layer l and checks the shape the model returned: (adj.rows(), width) for hidden layers, (adj.rows(),
  /// out_features()) for the last; a model whose hidden output is not history-wide would corrupt the histories.
  /// Records a hidden layer's output for the context's output(k).
  var layer(std::int32_t l, tape_type& tape, var x, const GraphOf<backend_type>& adj, bool training,
            std::uint64_t seed) {
    context ctx(tape, adj, l, num_layers(), training, seed, state_);
    var h = derived().forward_layer(x, ctx);
    const std::int64_t cols = l + 1 < num_layers() ? widths_.hidden : derived().out_features();
    GAS_CHECK(h.rows() == adj.rows() && h.cols() == cols, shape_error,
              "forward_layer(" << l << ") returned (" << h.rows() << " x " << h.cols() << ") for a batch of "
                               << adj.rows() << " rows; expected (" << adj.rows() << " x " << cols << ")"
                               << (l + 1 < num_layers() ? ", the history width" : ", the output width"));
    if (!state_.layerwise && state_.tape == &tape) state_.set(state_.outputs, l, h.id());
    return h;
  }

  template <class F>
  void check_features(FeatureView<F> features) {
    GAS_CHECK(features.rows() == num_nodes_ && features.cols() == derived().in_features(), shape_error,
              "features are (" << features.rows() << " x " << features.cols() << ") but the model needs ("
                               << num_nodes_ << " x " << derived().in_features() << "): " << num_nodes_
                               << " nodes, in_features = " << derived().in_features());
  }

  void check_batch(const loader::Batch& batch) const {
    GAS_CHECK(batch.adj.rows() == batch.batch_size &&
                  batch.adj.cols() == static_cast<std::int64_t>(batch.n_id.size()),
              shape_error,
              "the batch adjacency is (" << batch.adj.rows() << " x " << batch.adj.cols() << ") but the batch has "
                                         << batch.batch_size << " in-batch nodes and " << batch.n_id.size()
                                         << " ids in n_id");
  }

  /// Layer-wise inference; writes the last layer into *out, or stops after the hidden layers when out is null.
  /// After each batch, the in-batch rows of every value a layer kept go to that slot's per-node table.
  template <class F>
  void layerwise(FeatureView<F> features, const loader::EvalLoader& loader, Tensor<value_type, host>* out) {
    check_features(features);
    const auto ptr = loader.ptr();
    GAS_CHECK(ptr.back() == num_nodes_, shape_error,
              "the loader's graph has " << ptr.back() << " nodes but the model's histories have " << num_nodes_);
    for (const loader::Batch& batch : loader) check_batch(batch);  // before anything is queued
    auto& tape = tape_;
    const autograd::NoGrad<value_type, backend_type> no_grad(tape);
    state_.histories = histories_;
    const std::int32_t layers = out != nullptr ? num_layers() : num_layers() - 1;
    io_.begin_layerwise(loader.batches());
    for (std::int32_t l = 0; l < layers; ++l) {
      for (std::size_t k = 0; k < loader.size(); ++k) {
        const loader::Batch& batch = loader[k];
        tape.reset();
        const std::span<const node_id> ids(batch.n_id);
        state_.begin_batch(tape, ids.first(static_cast<std::size_t>(batch.batch_size)));
        auto in = io_.layer_input(tape, l, features, k, batch, histories());  // (n_id.size(), in_l)
        var h = layer(l, tape, in.x, *in.adj, false, 0);                      // (batch_size, out_l)
        store_kept(tape, batch);
        if (l + 1 < num_layers())
          io_.push_layer(tape, l, histories(), h, batch);
        else
          io_.write_output(tape, h, batch, *out);
      }
    }
    io_.end_layerwise(out);
    tape.reset();
    state_.begin_pass(tape);  // nothing recorded on the reset tape stays reachable
  }

  std::int64_t in_features_of() { return derived().in_features(); }

  /// Pushes the in-batch rows of the values kept in this batch (not those pulled back) into their tables.
  void store_kept(tape_type& tape, const loader::Batch& batch) {
    for (std::size_t slot = 0; slot < state_.fresh.size(); ++slot) {
      const int id = state_.fresh[slot];
      if (id < 0) continue;
      if (state_.tables.size() <= slot) state_.tables.resize(slot + 1);
      auto& table = state_.tables[slot];
      tape.materialize(id);  // a kept value that is rows of the features read in place (Tape::push_rows)
      const auto rows = tape.node(id).value.slice_rows(0, batch.batch_size);
      if (table.num_nodes() != num_nodes_ || table.width() != rows.cols())
        table = history::HostStore<value_type>(num_nodes_, rows.cols());
      detail::push_rows(table, tape, MatrixView<const value_type>(rows), batch);
    }
  }

  std::int64_t num_nodes_;
  Widths widths_;
  std::vector<store_type> histories_;  // (num_layers - 1) tables of (num_nodes, width)
  tape_type tape_;                     // layer-wise inference's, reused batch after batch
  typename HistoryIOFor<value_type, backend_type, store_type>::type io_;  // inputs and history copies
  detail::PassState<value_type, backend_type, store_type> state_;  // what the context's hooks read
};

}  // namespace gas::models
