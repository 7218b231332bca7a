#pragma once
/// @brief `InitialResidual`: the x0 of models whose every layer reads the output of their input stage (APPNP's
/// teleport term, GCNII's initial residual), and the layer-wise inference driver such models need.
///
/// ScalableGNN's forward_layer(l, tape, x, adj, ...) carries one input, x. A model with an initial residual
/// computes x0 in layer 0 (over every n_id row of the batch) and its later layers read x0's in-batch rows.
/// Within one training (or full-graph) pass that is simple: ScalableGNN::forward and forward_full run layer 0
/// first on the same tape, so layer 0 records x0 here and layers l > 0 read it back. Layer-wise inference
/// runs layer 0 over every batch before layer 1 of any, so the x0 of one batch is gone when its layer 1 runs;
/// ScalableGNN's driver has no place to keep it (its run_layerwise is private and forward_layer sees no batch
/// ids). The model therefore hands the base this object as its `layerwise_driver()`, whose run_layerwise() below
/// keeps x0 for every node in one (num_nodes, width) table, as PyGAS keeps a per-batch `state['x_0']`.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/host_store.hpp"
#include "gas/history/push_and_pull.hpp"
#include "gas/loader/batch.hpp"
#include "gas/loader/eval_loader.hpp"
#include "gas/models/scalable_gnn.hpp"

namespace gas::models {

/// @brief The x0 of the pass in progress plus the all-node x0 table of layer-wise inference (see the file
/// comment). A model holds one by value.
template <class T, class Backend = host>
class InitialResidual {
public:
  using var = ag::Var<T, Backend>;

  /// @brief Records x0 (n_id.size() or more rows in batch order; in-batch rows first) computed by layer 0 on
  /// `tape`; later layers of the same pass read it with get().
  void set(ag::Tape<T, Backend>& tape, var x0) {
    tape_ = &tape;
    id_ = x0.id();
  }

  /// @brief The x0 recorded on `tape` for layer `layer`, which needs at least `rows` rows. Throws value_error
  /// when layer 0 has not run on this tape in this pass (forward_layer(l > 0) called on its own) or recorded
  /// fewer rows. A tape reset followed by as many new nodes is not detected: call layers in pass order.
  var get(ag::Tape<T, Backend>& tape, std::int32_t layer, std::int64_t rows) const {
    GAS_CHECK(tape_ == &tape && id_ >= 0 && id_ < tape.size() && tape.node(id_).value.rows() >= rows, value_error,
              "layer " << layer << " needs x0 (at least " << rows
                       << " rows) from layer 0 of the same pass on the same tape; run the layers in order");
    return var{&tape, id_};
  }

  /// @brief Layer-wise exact inference of `model` (a ScalableGNN whose forward_layer(0) calls set() on this
  /// object and whose later layers call get()): layer 0 over every batch, pushing its output into history 0 and
  /// its x0 in-batch rows into the x0 table; layer l > 0 reads its inputs from history l - 1 and x0 from the
  /// table. Writes the last layer into *out, or stops after the hidden layers when out is null. Throws
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
    const ag::NoGrad<T, Backend> no_grad(tape_inference_);
    for (std::int32_t l = 0; l < layers; ++l) {
      for (const loader::Batch& batch : loader) {
        GAS_CHECK(batch.adj.rows() == batch.batch_size &&
                      batch.adj.cols() == static_cast<std::int64_t>(batch.n_id.size()),
                  shape_error,
                  "the batch adjacency is (" << batch.adj.rows() << " x " << batch.adj.cols() << ") but the batch has "
                                             << batch.batch_size << " in-batch nodes and " << batch.n_id.size()
                                             << " ids in n_id");
        auto& tape = tape_inference_;
        tape.reset();
        const std::span<const node_id> ids(batch.n_id);
        var x;
        if (l == 0) {
          x = gather_features(tape, features, ids);  // (n_id.size(), in)
        } else {
          x = history::pull(tape, histories[static_cast<std::size_t>(l) - 1], ids);  // (n_id.size(), width)
          set(tape, history::pull(tape, table_, ids.first(static_cast<std::size_t>(batch.batch_size))));
        }
        var h = model.forward_layer(l, tape, x, batch_graph_(tape, batch.adj), false, 0);  // (batch_size, out_l)
        if (l == 0) {
          const var x0 = get(tape, 0, batch.batch_size);
          if (table_.num_nodes() != n || table_.width() != x0.cols()) table_ = history::HostStore<T>(n, x0.cols());
          detail::push_rows(table_, tape, x0.value().slice_rows(0, batch.batch_size), batch);
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
    tape_inference_.reset();
    tape_ = nullptr;
    id_ = -1;
  }

private:
  ag::Tape<T, Backend>* tape_ = nullptr;  // the tape x0 was recorded on
  int id_ = -1;                           // x0's node on that tape
  history::HostStore<T> table_;           // (num_nodes, width) x0 of every node, during layer-wise inference
  ag::Tape<T, Backend> tape_inference_;   // layer-wise inference's, reused batch after batch
  detail::BackendGraph<Backend> batch_graph_;  // the current batch's adjacency on the backend
};

}  // namespace gas::models
