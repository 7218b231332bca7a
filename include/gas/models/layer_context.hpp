#pragma once
/// @brief What a model's `forward_layer(x, ctx)` receives besides its input rows: `LayerContext` (the tape, the
/// batch adjacency, the layer, the mode, the seed) and the two hooks for state a layer reads across layers:
/// `keep`/`kept` (a per-node value computed by one layer and read by later ones: APPNP's and GCNII's x0,
/// jumping knowledge's first representation) and `output(k)` (the in-batch rows of layer k's output: the
/// jumping-knowledge representations).
///
/// Why hooks rather than members of the model: one forward_layer serves three drivers, and only the driver
/// knows where such a value lives. In a training (or full-graph) pass every layer runs on one tape, so a kept
/// value or a layer's output is a node of that tape and gradients flow through it. Layer-wise inference runs
/// layer 0 over every batch before layer 1 of any, so the driver stores each kept value's in-batch rows in a
/// per-node table (host memory, one per slot) and a later layer pulls its batch's rows back; a layer's output
/// is exactly what the driver pushed into that layer's history, so it is pulled from there and costs nothing.

#include <cstdint>
#include <span>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/history/push_and_pull.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/dropout.hpp"

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

namespace detail {

/// @brief The driver's side of the hooks: what a pass or a layer-wise batch has recorded so far.
template <class T, class Backend, history::HistoryStore Store>
struct PassState {
  bool layerwise = false;              // layer-wise inference (tables, histories) or a pass on one tape
  autograd::Tape<T, Backend>* tape = nullptr;
  std::vector<int> kept;               // slot -> node on the tape, this pass (or this batch), -1 when none
  std::vector<int> fresh;              // slot -> node a keep() of this batch recorded (not pulled back), or -1
  std::vector<int> outputs;            // layer -> its output's node on the tape (a pass), -1 when none
  std::vector<int> pulled;             // layer -> its output rows pulled from its history (this batch)
  std::vector<history::HostStore<T>> tables;  // slot -> per-node table of layer-wise inference
  std::span<Store> histories;          // the model's, for output(k) in layer-wise inference
  std::span<const node_id> own;        // the batch's in-batch ids (layer-wise inference)

  /// Starts a pass on `t` (training or full graph): forgets what an earlier pass recorded.
  void begin_pass(autograd::Tape<T, Backend>& t) {
    layerwise = false;
    tape = &t;
    kept.assign(kept.size(), -1);
    outputs.assign(outputs.size(), -1);
  }
  /// Starts one batch of layer-wise inference on `t`.
  void begin_batch(autograd::Tape<T, Backend>& t, std::span<const node_id> own_ids) {
    layerwise = true;
    tape = &t;
    own = own_ids;
    kept.assign(kept.size(), -1);
    fresh.assign(fresh.size(), -1);
    pulled.assign(pulled.size(), -1);
  }
  static void set(std::vector<int>& v, std::int32_t k, int id) {
    if (v.size() <= static_cast<std::size_t>(k)) v.resize(static_cast<std::size_t>(k) + 1, -1);
    v[static_cast<std::size_t>(k)] = id;
  }
  static int get(const std::vector<int>& v, std::int32_t k) {
    return k >= 0 && static_cast<std::size_t>(k) < v.size() ? v[static_cast<std::size_t>(k)] : -1;
  }
};

}  // namespace detail

/// @brief The context of one layer call: where it runs, what it may read (see the file comment).
/// @tparam T compute type; @tparam Backend where it computes; @tparam Store the model's history store.
template <class T, class Backend, history::HistoryStore Store>
class LayerContext {
public:
  using var = autograd::Var<T, Backend>;

  LayerContext(autograd::Tape<T, Backend>& tape, const GraphOf<Backend>& adj, std::int32_t layer, std::int32_t layers,
               bool training, std::uint64_t seed, detail::PassState<T, Backend, Store>& state)
      : tape_(tape), adj_(adj), layer_(layer), layers_(layers), training_(training), seed_(seed), state_(state) {}

  /// @brief The tape the layer records on.
  [[nodiscard]] autograd::Tape<T, Backend>& tape() const { return tape_; }
  /// @brief The batch adjacency (adj.rows() in-batch targets x adj.cols() input rows), or the whole graph.
  [[nodiscard]] const GraphOf<Backend>& adj() const { return adj_; }
  /// @brief This layer's index in [0, layers()).
  [[nodiscard]] std::int32_t layer() const { return layer_; }
  /// @brief The model's number of layers.
  [[nodiscard]] std::int32_t layers() const { return layers_; }
  /// @brief Whether this is the first layer (which reads the features) or the last (which returns the output).
  [[nodiscard]] bool first() const { return layer_ == 0; }
  [[nodiscard]] bool last() const { return layer_ + 1 == layers_; }
  /// @brief Training mode (dropout, batch statistics) or evaluation.
  [[nodiscard]] bool training() const { return training_; }
  /// @brief The pass's seed (0 in layer-wise inference): derive this layer's own draws from it.
  [[nodiscard]] std::uint64_t seed() const { return seed_; }
  /// @brief The seed of dropout number `slot` of this layer (models::dropout_seed(seed, layer, slot)).
  [[nodiscard]] std::uint64_t dropout_seed(std::int32_t slot) const {
    return models::dropout_seed(seed_, layer_, slot);
  }
  /// @brief ops::dropout(x, p) with this layer's mask number `slot`, in training only.
  [[nodiscard]] var dropout(var x, double p, std::int32_t slot) const {
    return ops::dropout(x, p, dropout_seed(slot), training_);
  }
  /// @brief The first adj().rows() rows of x (x itself when it has no more): a layer's targets in [batch ; halo].
  [[nodiscard]] var targets(var x) const { return x.rows() == adj_.rows() ? x : ops::slice_rows(x, 0, adj_.rows()); }

  /// @brief Keeps `value` (its first adj().rows() rows are the in-batch rows) under `slot` for later layers of
  /// this pass, which read it with kept(slot). Returns value. Throws value_error for a negative slot or a value
  /// with fewer rows than the batch.
  var keep(std::int32_t slot, var value) {
    if (state_.tape != &tape_) state_.begin_pass(tape_);  // a layer run alone on another tape (run_layer)
    GAS_CHECK(slot >= 0, value_error, "keep: slot " << slot << " must be non-negative");
    GAS_CHECK(value.rows() >= adj_.rows(), value_error,
              "keep: layer " << layer_ << " keeps " << value.rows() << " rows under slot " << slot
                             << ", fewer than the batch's " << adj_.rows());
    state_.set(state_.kept, slot, value.id());
    state_.set(state_.fresh, slot, value.id());
    return value;
  }

  /// @brief The in-batch rows (adj().rows(), width) of the value kept under `slot` by this or an earlier layer of
  /// the pass. Throws value_error when no layer kept one (layers run out of order, or a typo in the slot).
  [[nodiscard]] var kept(std::int32_t slot) const {
    const int id = state_.tape == &tape_ ? state_.get(state_.kept, slot) : -1;  // a pass on another tape: none
    if (id >= 0) return targets(var{&tape_, id});
    const bool stored = state_.layerwise && slot >= 0 && static_cast<std::size_t>(slot) < state_.tables.size() &&
                        state_.tables[static_cast<std::size_t>(slot)].num_nodes() > 0;
    GAS_CHECK(stored, value_error,
              "layer " << layer_ << " reads slot " << slot
                       << ", which no earlier layer of this pass kept; run the layers in order and keep() it first");
    var rows = history::pull(tape_, state_.tables[static_cast<std::size_t>(slot)], state_.own);
    state_.set(state_.kept, slot, rows.id());
    return rows;
  }

  /// @brief The in-batch rows (adj().rows(), width) of the output of layer k < layer(): on the tape in a pass (with
  /// gradients), pulled from history k in layer-wise inference (where it is exact). Throws value_error otherwise.
  [[nodiscard]] var output(std::int32_t k) const {
    GAS_CHECK(k >= 0 && k < layer_ && k + 1 < layers_, value_error,
              "layer " << layer_ << " reads the output of layer " << k << "; only earlier hidden layers' are kept");
    if (!state_.layerwise) {
      const int id = state_.tape == &tape_ ? state_.get(state_.outputs, k) : -1;
      GAS_CHECK(id >= 0, value_error, "layer " << k << " has not run in this pass; run the layers in order");
      return var{&tape_, id};
    }
    int id = state_.get(state_.pulled, k);
    if (id < 0) {
      id = history::pull(tape_, state_.histories[static_cast<std::size_t>(k)], state_.own).id();
      state_.set(state_.pulled, k, id);
    }
    return var{&tape_, id};
  }

private:
  autograd::Tape<T, Backend>& tape_;
  const GraphOf<Backend>& adj_;
  std::int32_t layer_;
  std::int32_t layers_;
  bool training_;
  std::uint64_t seed_;
  detail::PassState<T, Backend, Store>& state_;
};

}  // namespace gas::models
