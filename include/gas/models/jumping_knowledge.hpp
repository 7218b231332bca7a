#pragma once
/// @brief `JumpingKnowledge`: the per-layer representations that a jumping-knowledge head concatenates (PNA_JK),
/// and the layer-wise inference driver such models need.
///
/// A JK model's last layer reads the in-batch rows of every earlier representation: representation 0 is the
/// input stage's output, representation k > 0 the output of layer k - 1. ScalableGNN's forward_layer carries one
/// input, so, as models/initial_residual.hpp does for x0, the representations live here:
/// - within one training (or full-graph) pass, ScalableGNN runs every layer on the same tape, so each layer
///   records its in-batch rows (`record`) and the last one concatenates them (`concatenate`); gradients flow
///   through every recorded representation, as in the reference's `xs` list;
/// - layer-wise inference runs layer 0 over every batch before layer 1 of any, so the records of a batch are
///   gone when its last layer runs. But representation k > 0 is exactly what layer k - 1 pushed into history
///   k - 1 (the value a layer returns is the value pushed), so the driver below pulls the batch's rows of it
///   back from the histories; only representation 0, which no history holds, is kept in one (num_nodes, width)
///   table, filled during layer 0. PyGAS keeps the whole list per batch instead (`state['xs']`).

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/host_store.hpp"
#include "gas/history/push_and_pull.hpp"
#include "gas/loader/batch.hpp"
#include "gas/loader/eval_loader.hpp"
#include "gas/models/scalable_gnn.hpp"
#include "gas/ops/concat.hpp"

namespace gas::models {

/// @brief The representations of the pass in progress plus the all-node table of representation 0 during
/// layer-wise inference (see the file comment). A model holds one by value.
template <class T, class Backend = host>
class JumpingKnowledge {
public:
  using var = ag::Var<T, Backend>;

  /// @brief Starts a pass on `tape`: forgets every representation recorded before. Layer 0 calls it first.
  void begin(ag::Tape<T, Backend>& tape) {
    tape_ = &tape;
    std::fill(ids_.begin(), ids_.end(), -1);
  }

  /// @brief Records representation `k` (its in-batch rows, in batch order) computed on `tape`. A record on
  /// another tape than the pass's starts a new pass.
  void record(ag::Tape<T, Backend>& tape, std::int32_t k, var rows) {
    GAS_CHECK(k >= 0, value_error, "representation " << k << " must be non-negative");
    if (tape_ != &tape) begin(tape);
    if (ids_.size() <= static_cast<std::size_t>(k)) ids_.resize(static_cast<std::size_t>(k) + 1, -1);
    ids_[static_cast<std::size_t>(k)] = rows.id();
  }

  /// @brief The representation recorded as `k` on `tape`. Throws value_error when none was recorded there in
  /// this pass or it does not have `rows` rows (the last layer called without the earlier ones, say). A tape
  /// reset followed by as many new nodes is not detected: call layers in pass order.
  var get(ag::Tape<T, Backend>& tape, std::int32_t k, std::int64_t rows) const {
    const bool known = tape_ == &tape && k >= 0 && static_cast<std::size_t>(k) < ids_.size();
    const int id = known ? ids_[static_cast<std::size_t>(k)] : -1;
    GAS_CHECK(id >= 0 && id < tape.size() && tape.node(id).value.rows() == rows, value_error,
              "representation " << k << " (" << rows
                                << " rows) was not recorded in this pass on this tape; run the layers in order");
    return var{&tape, id};
  }

  /// @brief [representation 0, ..., representation `layer`, h]: the (rows, sum of widths) input of the head of
  /// the last layer `layer`, whose own output rows are h (rows, width). Throws as get().
  var concatenate(ag::Tape<T, Backend>& tape, std::int32_t layer, var h) {
    parts_.clear();  // a member, so that steady-state steps reuse its capacity
    for (std::int32_t k = 0; k <= layer; ++k) parts_.push_back(get(tape, k, h.rows()));
    parts_.push_back(h);
    return ops::concat_cols(std::span<const var>(parts_));
  }

  /// @brief Layer-wise exact inference of `model` (a ScalableGNN whose forward_layer(0) calls begin() and
  /// records representation 0, whose hidden layers l record representation l + 1 = their output, and whose last
  /// layer calls concatenate()): layer 0 over every batch, keeping representation 0 in the table; hidden layers
  /// from the previous history; before the last layer, the batch's representations are pulled from the table and
  /// the histories. Writes the last layer into *out, or stops after the hidden layers when out is null. Throws
  /// shape_error when the features or the loader's graph do not fit the model.
  template <class Model, class F>
    requires std::floating_point<F>
  void run_layerwise(Model& model, MatrixView<const F> features, const loader::EvalLoader& loader,
                     Tensor<T, Backend>* out) {
    const std::int64_t n = model.num_nodes();
    GAS_CHECK(features.rows() == n && features.cols() == model.in_features(), shape_error,
              "features are (" << features.rows() << " x " << features.cols() << ") but the model needs (" << n
                               << " x " << model.in_features() << "): " << n
                               << " nodes, in_features = " << model.in_features());
    const auto ptr = loader.ptr();
    GAS_CHECK(ptr.back() == n, shape_error,
              "the loader's graph has " << ptr.back() << " nodes but the model's histories have " << n);
    const std::int32_t num_layers = model.num_layers();
    const std::int32_t layers = out != nullptr ? num_layers : num_layers - 1;
    auto histories = model.histories();
    auto& tape = tape_inference_;
    const ag::NoGrad<T, Backend> no_grad(tape);
    for (std::int32_t l = 0; l < layers; ++l) {
      for (const loader::Batch& batch : loader) {
        GAS_CHECK(batch.adj.rows() == batch.batch_size &&
                      batch.adj.cols() == static_cast<std::int64_t>(batch.n_id.size()),
                  shape_error,
                  "the batch adjacency is (" << batch.adj.rows() << " x " << batch.adj.cols() << ") but the batch has "
                                             << batch.batch_size << " in-batch nodes and " << batch.n_id.size()
                                             << " ids in n_id");
        tape.reset();
        const std::span<const node_id> ids(batch.n_id);
        const auto own = ids.first(static_cast<std::size_t>(batch.batch_size));
        var x;
        if (l == 0) {
          x = gather_features(tape, features, ids);  // (n_id.size(), in)
        } else {
          x = history::pull(tape, histories[static_cast<std::size_t>(l) - 1], ids);  // (n_id.size(), width)
        }
        if (l > 0 && l + 1 == num_layers) {  // the head: every representation of the batch's rows
          begin(tape);
          record(tape, 0, history::pull(tape, table_, own));  // (batch_size, width)
          for (std::int32_t k = 1; k <= l; ++k)
            record(tape, k, history::pull(tape, histories[static_cast<std::size_t>(k) - 1], own));
        }
        var h = model.forward_layer(l, tape, x, batch_graph_(tape, batch.adj), false, 0);  // (batch_size, out_l)
        if (l == 0 && num_layers > 1) {
          const var rep = get(tape, 0, batch.batch_size);
          if (table_.num_nodes() != n || table_.width() != rep.cols()) table_ = history::HostStore<T>(n, rep.cols());
          detail::push_rows(table_, tape, rep.value(), batch);
        }
        const std::int64_t cols = l + 1 < num_layers ? model.history_width() : model.out_features();
        GAS_CHECK(h.rows() == batch.batch_size && h.cols() == cols, shape_error,
                  "forward_layer(" << l << ") returned (" << h.rows() << " x " << h.cols() << ") for a batch of "
                                   << batch.batch_size << " rows; expected (" << batch.batch_size << " x " << cols
                                   << ")");
        if (l + 1 < num_layers) {
          detail::push_rows(histories[static_cast<std::size_t>(l)], tape, h.value(), batch);
        } else {
          detail::write_rows(tape, h.value(), batch, n, *out);
        }
      }
    }
    tape.reset();
    tape_ = nullptr;
    std::fill(ids_.begin(), ids_.end(), -1);
  }

private:
  ag::Tape<T, Backend>* tape_ = nullptr;  // the tape of the pass in progress
  std::vector<int> ids_;                  // representation k's node on that tape, -1 when not recorded
  std::vector<var> parts_;                // the head's concatenation inputs, of the call in progress
  history::HostStore<T> table_;           // (num_nodes, width) representation 0 of every node, during inference
  ag::Tape<T, Backend> tape_inference_;   // layer-wise inference's, reused batch after batch
  detail::BackendGraph<Backend> batch_graph_;  // the current batch's adjacency on the backend
};

}  // namespace gas::models
