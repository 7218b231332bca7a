#pragma once
/// @brief `ScalableGNN`: the CRTP base of GAS models. It owns one history per hidden layer and runs the two
/// drivers every model shares: the training forward pass over a batch (layer, push/pull, layer, ...) and
/// layer-wise exact inference over every node.
///
/// A model derives from `ScalableGNN<Model, T, Backend, Store>` and writes one layer at a time:
/// `forward_layer(l, tape, x, adj, training, seed)` maps the (adj.cols(), in_l) input rows of a batch (in-batch
/// rows first, then halo rows) to the (adj.rows(), out_l) outputs of its in-batch rows, pre- and
/// post-processing included. Whatever the reference applies between a layer's push/pull and the next
/// convolution (GCN's dropout) is the *start* of the next layer's `forward_layer`, so that the same per-layer
/// code serves training (inputs = [batch rows ; pulled halo rows]) and layer-wise inference (inputs = all rows
/// pulled from the previous history). The model also provides `in_features()` (the width of layer 0's input)
/// and `out_features()` (the width of the last layer's output).

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
#include "gas/ops/gather.hpp"

namespace gas::models {

namespace detail {

/// @brief The counter_hash stream of model dropout seeds ("mdrp"), distinct from the masks' own stream.
inline constexpr std::uint64_t dropout_seed_stream = 0x6d647270;

}  // namespace detail

/// @brief The seed of dropout number `slot` of layer `layer` in a forward pass seeded with `seed`.
///
/// It depends on (seed, layer, slot) only, never on the batch: with one partition a GAS step draws the same
/// masks as the full-graph forward pass, which is what makes the two bit-identical.
inline std::uint64_t dropout_seed(std::uint64_t seed, std::int32_t layer, std::int32_t slot) {
  return counter_hash(seed, detail::dropout_seed_stream,
                      static_cast<std::uint64_t>(layer) * 16u + static_cast<std::uint64_t>(slot));
}

/// @brief Feature rows ids[i] of `features` as a constant (ids.size(), features.cols()) of `tape`, converted to T.
/// Throws value_error naming the first id outside [0, features.rows()).
template <class T, class Backend, class F>
  requires std::floating_point<F>
ag::Var<T, Backend> gather_features(ag::Tape<T, Backend>& tape, MatrixView<const F> features,
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
  const GraphOf<Backend>& operator()(ag::Tape<T, Backend>& tape, const Graph& graph) {
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
void push_rows(S& store, ag::Tape<T, Backend>& tape, MatrixView<const T> rows, const loader::Batch& batch) {
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
void write_rows(ag::Tape<T, Backend>& tape, MatrixView<const T> rows, const loader::Batch& batch, std::int64_t n,
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

/// @brief The base of GAS models (CRTP): histories of the hidden layers, the batch forward pass and layer-wise
/// inference, generic over the model's layers and the history store.
/// @tparam Derived the model; it provides forward_layer, in_features and out_features (see the file comment).
/// @tparam T compute type, float or double.
/// @tparam Backend where the model computes: `gas::host`, or `gas::cuda::device` (nvcc), where each batch's adjacency is
/// copied to the device and histories stay in host memory, read and written through synchronous copies (the
/// overlapped pipeline is the next step).
/// @tparam Store the history store, a history::HistoryStore computing in T.
///
/// History l (l = 0 .. num_layers - 2) holds the output of layer l for every node. A model holds its layers and
/// its histories by value, so it is neither copied nor moved: optimisers keep pointers to its parameters.
template <class Derived, class T, class Backend = host, history::HistoryStore Store = history::HostStore<T>>
  requires std::same_as<typename Store::value_type, T>
class ScalableGNN {
public:
  using value_type = T;
  using backend_type = Backend;
  using store_type = Store;
  using var = ag::Var<T, Backend>;

  ScalableGNN(const ScalableGNN&) = delete;
  ScalableGNN& operator=(const ScalableGNN&) = delete;

  /// @brief Number of layers (convolutions); num_layers() - 1 histories.
  [[nodiscard]] std::int32_t num_layers() const { return num_layers_; }
  /// @brief Rows of every history: the nodes of the (permuted) graph the model was built for.
  [[nodiscard]] std::int64_t num_nodes() const { return num_nodes_; }
  /// @brief Width of every history (the hidden layers' output width).
  [[nodiscard]] std::int64_t history_width() const { return width_; }
  /// @brief The histories, one per hidden layer (history l holds layer l's output rows).
  [[nodiscard]] std::span<Store> histories() { return histories_; }
  /// @brief The histories, read-only.
  [[nodiscard]] std::span<const Store> histories() const { return histories_; }

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
  var forward(ag::Tape<T, Backend>& tape, MatrixView<const F> features, const loader::Batch& batch, bool training,
              std::uint64_t seed) {
    check_features(features);
    check_batch(batch);
    var x = gather_features(tape, features, std::span<const node_id>(batch.n_id));  // (n_id.size(), in)
    const GraphOf<Backend>& adj = batch_graph_(tape, batch.adj);
    for (std::int32_t l = 0; l + 1 < num_layers_; ++l) {
      var h = layer(l, tape, x, adj, training, seed);                                 // (batch_size, width)
      x = history::push_and_pull(histories_[static_cast<std::size_t>(l)], h, batch);  // (n_id.size(), width)
    }
    return layer(num_layers_ - 1, tape, x, adj, training, seed);  // (batch_size, out)
  }

  /// @brief forward() with the features given as a tensor.
  template <class F>
    requires std::floating_point<F>
  var forward(ag::Tape<T, Backend>& tape, const Tensor<F, host>& features, const loader::Batch& batch,
              bool training, std::uint64_t seed) {
    return forward(tape, features.view(), batch, training, seed);
  }

  /// @brief The whole-graph forward pass without histories (the full-batch baseline): x (n, in_features()) over a
  /// square adjacency `adj` (n x n), normalised as for training, -> (n, out_features()).
  ///
  /// Runs the same forward_layer code as forward(), so on a single partition (n_id = 0 .. n - 1) the two give
  /// the same bits, dropout masks included. `adj` must outlive the backward pass. Throws shape_error when x and
  /// adj disagree.
  var forward_full(ag::Tape<T, Backend>& tape, var x, const GraphOf<Backend>& adj, bool training,
                   std::uint64_t seed) {
    GAS_CHECK(adj.rows() == adj.cols() && x.rows() == adj.rows(), shape_error,
              "x is (" << x.rows() << " x " << x.cols() << ") for adjacency (" << adj.rows() << " x " << adj.cols()
                       << "): the adjacency must be square with one row per row of x");
    GAS_CHECK(x.cols() == derived().in_features(), shape_error,
              "x is (" << x.rows() << " x " << x.cols() << ") but the model takes in_features = "
                       << derived().in_features());
    for (std::int32_t l = 0; l < num_layers_; ++l) x = layer(l, tape, x, adj, training, seed);
    return x;
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
  Tensor<T, Backend> inference(MatrixView<const F> features, const loader::EvalLoader& loader) {
    Tensor<T, Backend> out(num_nodes_, derived().out_features());  // (num_nodes, out)
    layerwise(features, loader, &out);
    return out;
  }

  /// @brief inference() with the features given as a tensor.
  template <class F>
    requires std::floating_point<F>
  Tensor<T, Backend> inference(const Tensor<F, host>& features, const loader::EvalLoader& loader) {
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
  /// @brief Histories Store(num_nodes, width), one per hidden layer (num_layers - 1 of them), zero-filled.
  /// Throws value_error for num_layers < 1 or a negative size.
  ScalableGNN(std::int64_t num_nodes, std::int64_t width, std::int32_t num_layers)
    requires std::constructible_from<Store, std::int64_t, std::int64_t>
      : ScalableGNN(num_nodes, width, num_layers,
                    [](std::int32_t, std::int64_t n, std::int64_t w) { return Store(n, w); }) {}

  /// @brief Histories make(l, num_nodes, width) for l = 0 .. num_layers - 2 (a file per layer for MappedStore,
  /// say). Throws value_error for num_layers < 1 or a negative size, shape_error naming the layer when a store
  /// made is not (num_nodes x width).
  template <class MakeStore>
    requires std::invocable<MakeStore&, std::int32_t, std::int64_t, std::int64_t> &&
             std::same_as<std::invoke_result_t<MakeStore&, std::int32_t, std::int64_t, std::int64_t>, Store>
  ScalableGNN(std::int64_t num_nodes, std::int64_t width, std::int32_t num_layers, MakeStore&& make)
      : num_nodes_(num_nodes), width_(width), num_layers_(num_layers) {
    GAS_CHECK(num_layers >= 1, value_error, "num_layers = " << num_layers << " must be at least 1");
    GAS_CHECK(num_nodes >= 0 && width >= 0, value_error,
              "histories of shape (" << num_nodes << " x " << width << ") need non-negative sizes");
    histories_.reserve(static_cast<std::size_t>(num_layers - 1));
    for (std::int32_t l = 0; l + 1 < num_layers; ++l) {
      Store& s = histories_.emplace_back(make(l, num_nodes, width));
      GAS_CHECK(s.num_nodes() == num_nodes && s.width() == width, shape_error,
                "history " << l << " is (" << s.num_nodes() << " x " << s.width() << ") but the model needs ("
                           << num_nodes << " x " << width << "): " << num_nodes << " nodes, hidden width " << width);
    }
  }

  ~ScalableGNN() = default;

private:
  Derived& derived() { return static_cast<Derived&>(*this); }

  /// Runs layer l and checks the shape the model returned: (adj.rows(), width) for hidden layers, (adj.rows(),
  /// out_features()) for the last; a model whose hidden output is not history-wide would corrupt the histories.
  var layer(std::int32_t l, ag::Tape<T, Backend>& tape, var x, const GraphOf<Backend>& adj, bool training,
            std::uint64_t seed) {
    var h = derived().forward_layer(l, tape, x, adj, training, seed);
    const std::int64_t cols = l + 1 < num_layers_ ? width_ : derived().out_features();
    GAS_CHECK(h.rows() == adj.rows() && h.cols() == cols, shape_error,
              "forward_layer(" << l << ") returned (" << h.rows() << " x " << h.cols() << ") for a batch of "
                               << adj.rows() << " rows; expected (" << adj.rows() << " x " << cols << ")"
                               << (l + 1 < num_layers_ ? ", the history width" : ", the output width"));
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

  /// Layer-wise inference through the model's own driver when it has one: a model whose later layers read
  /// state of layer 0 across batches (APPNP's and GCNII's x0, PNA_JK's representations) declares a private
  /// `layerwise_driver()` returning an object with `run_layerwise(model, features, loader, out)` and befriends
  /// this base (models/initial_residual.hpp, models/jumping_knowledge.hpp). Otherwise the base's driver below.
  template <class F>
  void layerwise(MatrixView<const F> features, const loader::EvalLoader& loader, Tensor<T, Backend>* out) {
    if constexpr (requires(Derived& d) { d.layerwise_driver(); })
      derived().layerwise_driver().run_layerwise(derived(), features, loader, out);
    else
      run_layerwise(features, loader, out);
  }

  /// Layer-wise inference; writes the last layer into *out, or stops after the hidden layers when out is null.
  template <class F>
  void run_layerwise(MatrixView<const F> features, const loader::EvalLoader& loader, Tensor<T, Backend>* out) {
    check_features(features);
    const auto ptr = loader.ptr();
    GAS_CHECK(ptr.back() == num_nodes_, shape_error,
              "the loader's graph has " << ptr.back() << " nodes but the model's histories have " << num_nodes_);
    auto& tape = tape_;
    const ag::NoGrad<T, Backend> no_grad(tape);
    const std::int32_t layers = out != nullptr ? num_layers_ : num_layers_ - 1;
    for (std::int32_t l = 0; l < layers; ++l) {
      for (const loader::Batch& batch : loader) {
        check_batch(batch);
        tape.reset();
        const std::span<const node_id> ids(batch.n_id);
        var x = l == 0 ? gather_features(tape, features, ids)
                       : history::pull(tape, histories_[static_cast<std::size_t>(l) - 1], ids);  // (n_id.size(), in_l)
        var h = layer(l, tape, x, batch_graph_(tape, batch.adj), false, 0);  // (batch_size, out_l)
        if (l + 1 < num_layers_)
          detail::push_rows(histories_[static_cast<std::size_t>(l)], tape, h.value(), batch);
        else
          detail::write_rows(tape, h.value(), batch, num_nodes_, *out);
      }
    }
    tape.reset();
  }

  std::int64_t num_nodes_;
  std::int64_t width_;
  std::int32_t num_layers_;
  std::vector<Store> histories_;  // (num_layers - 1) tables of (num_nodes, width)
  ag::Tape<T, Backend> tape_;     // layer-wise inference's, reused batch after batch
  detail::BackendGraph<Backend> batch_graph_;  // the current batch's adjacency on the backend
};

}  // namespace gas::models
