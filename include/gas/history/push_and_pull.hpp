#pragma once
/// @brief The history op of GAS: `push_and_pull` writes a layer's in-batch rows into a history and returns
/// them stacked on the halo rows read back from it; `pull` reads rows as a constant (layer-wise inference);
/// `push_batch` writes a batch's rows chunk by chunk.
///
/// Gradients flow only into the in-batch rows: pulled rows are stale values from earlier steps, constants of
/// this step. The push is a side effect of the forward pass, not a recorded op, so it happens with gradients
/// off too (inside NoGrad, during evaluation). Every argument is checked before the store is touched, so a
/// failing call leaves the history as it was. push_and_pull is recorded like every op (ops::record): its host
/// implementation is at the end of this file, the device one in gas/cuda/history/push_and_pull.cuh.

#include <concepts>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/loader/batch.hpp"
#include "gas/ops/impl.hpp"

namespace gas::history {

namespace detail {

/// @brief Checks that `batch`'s chunks tile its batch_size rows and that its chunks and halo ids lie inside a
/// store of `num_nodes` rows; `op` names the caller.
inline void check_batch_against(const char* op, const loader::Batch& batch, std::int64_t num_nodes) {
  auto who = [op] { return std::string("gas::history::") + op; };
  std::int64_t covered = 0;
  for (const auto& chunk : batch.chunks) {
    if (chunk.count < 0) [[unlikely]]
      throw value_error(who() + ": chunk at " + std::to_string(chunk.offset) + " has negative count " +
                        std::to_string(chunk.count));
    check_chunk(who, "push", chunk.offset, chunk.count, num_nodes);
    covered += chunk.count;
  }
  if (covered != batch.batch_size || static_cast<std::int64_t>(batch.n_id.size()) < batch.batch_size) [[unlikely]]
    throw value_error(who() + ": the batch's chunks cover " + std::to_string(covered) + " rows and n_id has " +
                      std::to_string(batch.n_id.size()) + " ids, but batch_size = " + std::to_string(batch.batch_size));
  check_ids(who, "pull", batch.halo(), num_nodes);
}

/// @brief push_batch without the checks, which the caller has made.
template <HistoryStore S>
void push_chunks(S& store, MatrixView<const typename S::value_type> rows, const loader::Batch& batch) {
  std::int64_t begin = 0;
  for (const auto& chunk : batch.chunks) {
    store.push_chunk(chunk.offset, rows.slice_rows(begin, begin + chunk.count));
    begin += chunk.count;
  }
}

}  // namespace detail

/// @brief The attributes of push_and_pull's node: none besides its name. The history and the batch reach the
/// forward pass as arguments (Impl<PushAndPull, Backend>::forward(tape, node, attrs, store, batch)); the backward
/// pass needs neither.
struct PushAndPull {
  static constexpr const char* name = "push_and_pull";
};

/// @brief Writes the in-batch rows of `batch` (`rows` row i is node n_id[i], i < batch_size) into `store`, one
/// block copy per chunk. `rows` is (batch_size, width). Throws shape_error naming both shapes when they
/// disagree, value_error when the batch does not fit the store.
template <HistoryStore S>
void push_batch(S& store, MatrixView<const typename S::value_type> rows, const loader::Batch& batch) {
  GAS_CHECK(rows.rows() == batch.batch_size && rows.cols() == store.width(), shape_error,
            "rows are (" << rows.rows() << " x " << rows.cols() << ") but the batch has " << batch.batch_size
                         << " in-batch nodes and the history is " << store.width() << " wide");
  detail::check_batch_against("push_batch", batch, store.num_nodes());
  detail::push_chunks(store, rows, batch);
}

/// @brief GAS's history op: pushes h (the layer's rows for the in-batch nodes, in batch order) into `store` and
/// returns [h ; store rows of the halo ids], one row per entry of batch.n_id.
///
/// h is (batch.batch_size, width); the result is (batch.n_id.size(), width). The backward pass adds the top
/// batch_size rows of the result's gradient to h; the pulled rows are constants. The push happens whatever the
/// tape's grad mode. Nothing is kept from `batch` for the backward pass. Throws shape_error naming both shapes
/// when h's width is not the store's or its row count not batch_size, value_error when the batch's ids fall
/// outside the store; the store is untouched then. On a device tape the histories stay in host memory: the op
/// copies the batch rows out (waiting for the layer), pushes them, pulls the halo rows and copies them in
/// (gas/cuda/history/push_and_pull.cuh).
template <class T, class Backend, HistoryStore S>
  requires std::same_as<typename S::value_type, T>
autograd::Var<T, Backend> push_and_pull(S& store, autograd::Var<T, Backend> h, const loader::Batch& batch) {
  GAS_CHECK(h.cols() == store.width(), shape_error,
            "h is (" << h.rows() << " x " << h.cols() << ") but the history is " << store.width() << " wide");
  GAS_CHECK(h.rows() == batch.batch_size, shape_error,
            "h is (" << h.rows() << " x " << h.cols() << ") but the batch has batch_size = " << batch.batch_size
                     << " in-batch nodes (n_id has " << batch.n_id.size() << ")");
  detail::check_batch_against("push_and_pull", batch, store.num_nodes());
  const auto total = static_cast<std::int64_t>(batch.n_id.size());
  return ops::record(PushAndPull{}, total, h.cols(), {h}, store, batch);  // (n_id.size(), width)
}

/// @brief History rows ids[i] as a constant of `tape` (no gradient): the input of a layer in layer-wise
/// inference, where a batch reads all of its rows, in-batch and halo, from the previous layer's history.
/// Result (ids.size(), width). Throws value_error naming the first id outside the store, before recording.
/// On a device tape the rows are pulled into host memory and copied over.
template <class T, class Backend, HistoryStore S>
  requires std::same_as<typename S::value_type, T>
autograd::Var<T, Backend> pull(autograd::Tape<T, Backend>& tape, S& store, std::span<const node_id> ids) {
  detail::check_ids([] { return std::string("gas::history::pull"); }, "pull", ids, store.num_nodes());
  auto [id, node] = tape.push("history_pull", static_cast<std::int64_t>(ids.size()), store.width());
  if constexpr (on_host<Backend>) {
    store.pull(ids, node.value);
  } else {
    node.host_stage.resize(node.value.rows(), node.value.cols());
    store.pull(ids, node.host_stage.view());
    tape.exec().upload(MatrixView<const T>(node.host_stage.view()), node.value);
  }
  return {&tape, id};
}

}  // namespace gas::history

namespace gas::ops {

/// @brief push_and_pull on the host: the batch rows go to the history and to the top of the result, the halo rows
/// are pulled below them; the backward pass adds the top rows of the gradient to h.
template <>
struct Impl<history::PushAndPull, host> {
  template <class T, history::HistoryStore S>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const history::PushAndPull&, S& store,
                      const loader::Batch& batch) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;  // (batch_size, width)
    history::detail::push_chunks(store, in, batch);
    const auto out = node.value;
    history::detail::copy_rows<T>(out.data(), out.ld(), in.data(), in.ld(), in.rows(), in.cols());
    store.pull(batch.halo(), out.slice_rows(batch.batch_size, out.rows()));
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const history::PushAndPull&) {
    auto gh = tape.grad_of(n.inputs[0]);  // (batch_size, width)
    const auto g = n.grad;                // (n_id.size(), width)
#pragma omp parallel for schedule(static) if (gh.rows() > 4096)
    for (std::int64_t i = 0; i < gh.rows(); ++i)
      for (std::int64_t j = 0; j < gh.cols(); ++j) gh(i, j) += g(i, j);
  }
};

}  // namespace gas::ops
