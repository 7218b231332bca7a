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

/// @brief Feature rows ids[i] of `features` as a constant (ids.size(), features.cols()) of `tape`, converted to T.
/// Throws value_error naming the first id outside [0, features.rows()).
template <class T, class Backend, class F>
  requires std::floating_point<F>
autograd::Var<T, Backend> gather_features(autograd::Tape<T, Backend>& tape, MatrixView<const F> features,
                                    std::span<const node_id> ids) {
  const auto bad = ops::detail::first_out_of_range(ids, features.rows());
  GAS_CHECK(bad == ids.size(), value_error,
            "id " << (bad < ids.size() ? ids[bad] : 0) << " at position " << bad << " outside [0, "
                  << features.rows() << "), the rows of the features (" << features.rows() << " x "
                  << features.cols() << ")");
  const auto n = static_cast<std::int64_t>(ids.size());
  const std::int64_t cols = features.cols();
  auto [id, node] = tape.push("features", n, cols);  // (ids.size(), cols)
  // On the device the rows are gathered on the host, where the features live, into the node's staging tensor (its
  // memory reused step after step), and copied over in one transfer.
  if constexpr (!on_host<Backend>) node.host_stage.resize(n, cols);
  const MatrixView<T> out = on_host<Backend> ? node.value : node.host_stage.view();
  if (cols > 0) {
#pragma omp parallel for schedule(static) if (n * cols > (std::int64_t{1} << 16))
    for (std::int64_t i = 0; i < n; ++i) {
      const F* src = &features(ids[static_cast<std::size_t>(i)], 0);
      T* dst = &out(i, 0);
      for (std::int64_t j = 0; j < cols; ++j) dst[j] = static_cast<T>(src[j]);
    }
  }
  if constexpr (!on_host<Backend>) tape.exec().upload(MatrixView<const T>(out), node.value);
  return {&tape, id};
}

namespace detail {

/// @brief A host graph in the backend's form: the graph itself on the host; on the device a copy (with its
/// transpose, for the backward passes) kept until the next call replaces it, so that it outlives the backward pass
/// of the step that asked for it (a batch's adjacency, the whole graph of full-batch training).
template <class Backend>
class BackendGraph {
public:
  template <class T>
  const GraphOf<Backend>& operator()(autograd::Tape<T, Backend>& tape, const Graph& graph) {
    if constexpr (on_host<Backend>) {
      (void)tape;
      return graph;
    } else {
      return device_.emplace(graph, tape.exec().stream());
    }
  }

private:
  std::conditional_t<on_host<Backend>, std::monostate, std::optional<GraphOf<Backend>>> device_{};
};

/// @brief history::push_batch of rows of a tape of any backend (a device tape's rows are copied out first).
template <class T, class Backend, history::HistoryStore S>
void push_rows(S& store, autograd::Tape<T, Backend>& tape, MatrixView<const T> rows, const loader::Batch& batch) {
  if constexpr (on_host<Backend>) {
    (void)tape;
    history::push_batch(store, rows, batch);
  } else {
    history::push_batch(store, MatrixView<const T>(tape.to_host(rows).view()), batch);
  }
}

/// @brief Copies a batch's output rows (batch order, on the tape's backend) into `out` (num_nodes rows, same
/// backend) chunk by chunk, after checking that the chunks lie in [0, n) and cover the batch.
template <class T, class Backend>
void write_rows(autograd::Tape<T, Backend>& tape, MatrixView<const T> rows, const loader::Batch& batch, std::int64_t n,
                Tensor<T, Backend>& out) {
  std::int64_t covered = 0;
  for (const auto& chunk : batch.chunks) {
    GAS_CHECK(chunk.count >= 0 && chunk.offset >= 0 && chunk.offset + chunk.count <= n, value_error,
              "chunk [" << chunk.offset << ", " << chunk.offset + chunk.count << ") outside [0, " << n << ")");
    covered += chunk.count;
  }
  GAS_CHECK(covered == batch.batch_size, value_error,
            "the batch's chunks cover " << covered << " rows but batch_size = " << batch.batch_size);
  std::int64_t begin = 0;
  for (const auto& chunk : batch.chunks) {
    tape.exec().copy(rows.slice_rows(begin, begin + chunk.count),
                     out.view().slice_rows(chunk.offset, chunk.offset + chunk.count));
    begin += chunk.count;
  }
}

}  // namespace detail

/// @brief The base of GAS models (CRTP): the parameter registry, histories of the hidden layers, and the one
/// driver (batch forward pass, full-graph pass, layer-wise inference), generic over the model's layers and the
/// history store.
/// @tparam Derived the model; it provides `forward_layer(x, ctx)` (see the file comment) and registers its
/// layers; it may declare `traits` and hide `in_features()` / `out_features()`.
/// @tparam C the configuration bundle, `Config<T, Backend, Store>`: where the model computes (on the device,
/// each batch's adjacency is copied there and histories stay in host memory, read and written through
/// synchronous copies; the overlapped pipeline is the next step) and how it keeps its histories.
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
  /// Pushes happen in every mode, under NoGrad too. `features` is (num_nodes(), in_features()); `batch` and its
  /// adjacency must outlive the backward pass. Throws shape_error when features or batch do not fit the model,
  /// value_error when the batch's ids fall outside it.
  template <class F>
    requires std::floating_point<F>
  var forward(tape_type& tape, MatrixView<const F> features, const loader::Batch& batch, bool training,
              std::uint64_t seed) {
    check_features(features);
    check_batch(batch);
    var x = gather_features(tape, features, std::span<const node_id>(batch.n_id));  // (n_id.size(), in)
    const GraphOf<backend_type>& adj = batch_graph_(tape, batch.adj);
    state_.begin_pass(tape);
    for (std::int32_t l = 0; l + 1 < num_layers(); ++l) {
      var h = layer(l, tape, x, adj, training, seed);                                 // (batch_size, width)
      x = history::push_and_pull(histories_[static_cast<std::size_t>(l)], h, batch);  // (n_id.size(), width)
    }
    return layer(num_layers() - 1, tape, x, adj, training, seed);  // (batch_size, out)
  }

  /// @brief forward() with the features given as a tensor.
  template <class F>
    requires std::floating_point<F>
  var forward(tape_type& tape, const Tensor<F, host>& features, const loader::Batch& batch, bool training,
              std::uint64_t seed) {
    return forward(tape, features.view(), batch, training, seed);
  }

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
  /// node, in the (permuted) id order of the graph the loader was built from, in evaluation mode.
  ///
  /// Layer 0 runs every batch of `loader` on its gathered feature rows and pushes the batch rows into history 0;
  /// layer l > 0 reads all of a batch's input rows (in-batch and halo) from history l - 1 and pushes into history
  /// l; the last layer writes its rows into the result. Every layer thus sees exact inputs, so the result equals
  /// the full-graph forward pass up to rounding, while memory stays at one batch (one reused tape). As a side
  /// effect every history then holds exact embeddings (the reference refreshes them this way after each epoch).
  /// Throws shape_error when the features or the loader's graph do not have num_nodes() rows.
  template <class F>
    requires std::floating_point<F>
  Tensor<value_type, backend_type> inference(MatrixView<const F> features, const loader::EvalLoader& loader) {
    Tensor<value_type, backend_type> out(num_nodes_, derived().out_features());  // (num_nodes, out)
    layerwise(features, loader, &out);
    return out;
  }

  /// @brief inference() with the features given as a tensor.
  template <class F>
    requires std::floating_point<F>
  Tensor<value_type, backend_type> inference(const Tensor<F, host>& features, const loader::EvalLoader& loader) {
    return inference(features.view(), loader);
  }

  /// @brief Fills every history with exact embeddings (layer-wise inference without the last layer): what
  /// training starts from. Same arguments and errors as inference().
  template <class F>
    requires std::floating_point<F>
  void fill_histories(MatrixView<const F> features, const loader::EvalLoader& loader) {
    layerwise(features, loader, nullptr);
  }

  /// @brief fill_histories() with the features given as a tensor.
  template <class F>
    requires std::floating_point<F>
  void fill_histories(const Tensor<F, host>& features, const loader::EvalLoader& loader) {
    layerwise(features.view(), loader, nullptr);
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
  void check_features(MatrixView<const F> features) {
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
  void layerwise(MatrixView<const F> features, const loader::EvalLoader& loader,
                 Tensor<value_type, backend_type>* out) {
    check_features(features);
    const auto ptr = loader.ptr();
    GAS_CHECK(ptr.back() == num_nodes_, shape_error,
              "the loader's graph has " << ptr.back() << " nodes but the model's histories have " << num_nodes_);
    auto& tape = tape_;
    const autograd::NoGrad<value_type, backend_type> no_grad(tape);
    state_.histories = histories_;
    const std::int32_t layers = out != nullptr ? num_layers() : num_layers() - 1;
    for (std::int32_t l = 0; l < layers; ++l) {
      for (const loader::Batch& batch : loader) {
        check_batch(batch);
        tape.reset();
        const std::span<const node_id> ids(batch.n_id);
        state_.begin_batch(tape, ids.first(static_cast<std::size_t>(batch.batch_size)));
        var x = l == 0 ? gather_features(tape, features, ids)
                       : history::pull(tape, histories_[static_cast<std::size_t>(l) - 1], ids);  // (n_id.size(), in_l)
        var h = layer(l, tape, x, batch_graph_(tape, batch.adj), false, 0);  // (batch_size, out_l)
        store_kept(tape, batch);
        if (l + 1 < num_layers())
          detail::push_rows(histories_[static_cast<std::size_t>(l)], tape, h.value(), batch);
        else
          detail::write_rows(tape, h.value(), batch, num_nodes_, *out);
      }
    }
    tape.reset();
    state_.begin_pass(tape);  // nothing recorded on the reset tape stays reachable
  }

  /// Pushes the in-batch rows of the values kept in this batch (not those pulled back) into their tables.
  void store_kept(tape_type& tape, const loader::Batch& batch) {
    for (std::size_t slot = 0; slot < state_.fresh.size(); ++slot) {
      const int id = state_.fresh[slot];
      if (id < 0) continue;
      if (state_.tables.size() <= slot) state_.tables.resize(slot + 1);
      auto& table = state_.tables[slot];
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
  detail::BackendGraph<backend_type> batch_graph_;  // the current batch's adjacency on the backend
  detail::PassState<value_type, backend_type, store_type> state_;  // what the context's hooks read
};

}  // namespace gas::models
