#pragma once
/// @brief The history op of GAS: `push_and_pull` writes a layer's in-batch rows into a history and returns
/// them stacked on the halo rows read back from it; `pull` reads rows as a constant (layer-wise inference);
/// `push_batch` writes a batch's rows chunk by chunk.
///
/// Gradients flow only into the in-batch rows: pulled rows are stale values from earlier steps, constants of
/// this step. The push is a side effect of the forward pass, not a recorded op, so it happens with gradients
/// off too (inside NoGrad, during evaluation). Every argument is checked before the store is touched, so a
/// failing call leaves the history as it was.

#include <concepts>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/loader/batch.hpp"
#include "gas/ops/device_ops.hpp"

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

/// @brief Backward of push_and_pull: the top rows of the gradient go to h; the pulled rows' part is dropped.
template <class T, class Backend>
void push_and_pull_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto gh = tape.grad_of(n.inputs[0]);  // (batch_size, width)
  const auto g = n.grad;                // (n_id.size(), width)
#pragma omp parallel for schedule(static) if (gh.rows() > 4096)
  for (std::int64_t i = 0; i < gh.rows(); ++i)
    for (std::int64_t j = 0; j < gh.cols(); ++j) gh(i, j) += g(i, j);
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
/// outside the store; the store is untouched then.
template <class T, class Backend, HistoryStore S>
  requires std::same_as<typename S::value_type, T> && std::same_as<Backend, host>
ag::Var<T, Backend> push_and_pull(S& store, ag::Var<T, Backend> h, const loader::Batch& batch) {
  GAS_CHECK(h.cols() == store.width(), shape_error,
            "h is (" << h.rows() << " x " << h.cols() << ") but the history is " << store.width() << " wide");
  GAS_CHECK(h.rows() == batch.batch_size, shape_error,
            "h is (" << h.rows() << " x " << h.cols() << ") but the batch has batch_size = " << batch.batch_size
                     << " in-batch nodes (n_id has " << batch.n_id.size() << ")");
  detail::check_batch_against("push_and_pull", batch, store.num_nodes());
  const auto in = h.value();  // (batch_size, width)
  detail::push_chunks(store, in, batch);

  auto& tape = h.tape();
  const auto total = static_cast<std::int64_t>(batch.n_id.size());
  auto [id, node] = tape.push("push_and_pull", total, h.cols(), {h});  // (n_id.size(), width)
  node.backward = &detail::push_and_pull_backward<T, Backend>;
  const auto out = node.value;
  detail::copy_rows<T>(out.data(), out.ld(), in.data(), in.ld(), in.rows(), in.cols());
  store.pull(batch.halo(), out.slice_rows(batch.batch_size, total));
  return {&tape, id};
}

/// @brief push_and_pull on a device tape: the same op, with the histories in host memory. The in-batch rows are
/// copied out (waiting for the layer) and pushed, the halo rows pulled into host memory and copied in, and the
/// backward pass adds the gradient's top rows to h on the device. Synchronous and staged through pageable memory:
/// the correct baseline that the overlapped pinned pipeline replaces. Same checks and errors as the host op.
template <class T, class Backend, HistoryStore S>
  requires std::same_as<typename S::value_type, T> && (!std::same_as<Backend, host>)
ag::Var<T, Backend> push_and_pull(S& store, ag::Var<T, Backend> h, const loader::Batch& batch) {
  GAS_CHECK(h.cols() == store.width(), shape_error,
            "h is (" << h.rows() << " x " << h.cols() << ") but the history is " << store.width() << " wide");
  GAS_CHECK(h.rows() == batch.batch_size, shape_error,
            "h is (" << h.rows() << " x " << h.cols() << ") but the batch has batch_size = " << batch.batch_size
                     << " in-batch nodes (n_id has " << batch.n_id.size() << ")");
  detail::check_batch_against("push_and_pull", batch, store.num_nodes());
  auto& tape = h.tape();
  const auto total = static_cast<std::int64_t>(batch.n_id.size());
  auto [id, node] = tape.push("push_and_pull", total, h.cols(), {h});  // (n_id.size(), width)
  node.backward = &ops::DeviceOps<Backend>::template push_and_pull_backward<T>;
  // The node's host staging tensor carries the batch rows out, then the halo rows in (its memory is reused).
  auto& staged = node.host_stage;
  staged.resize(batch.batch_size, h.cols());
  tape.exec().download(h.value(), staged.view());  // waits for the layer
  detail::push_chunks(store, MatrixView<const T>(staged.view()), batch);
  tape.exec().copy(h.value(), node.value.slice_rows(0, batch.batch_size));
  staged.resize(total - batch.batch_size, h.cols());
  store.pull(batch.halo(), staged.view());
  tape.exec().upload(MatrixView<const T>(staged.view()), node.value.slice_rows(batch.batch_size, total));
  return {&tape, id};
}

/// @brief History rows ids[i] as a constant of `tape` (no gradient): the input of a layer in layer-wise
/// inference, where a batch reads all of its rows, in-batch and halo, from the previous layer's history.
/// Result (ids.size(), width). Throws value_error naming the first id outside the store, before recording.
/// On a device tape the rows are pulled into host memory and copied over.
template <class T, class Backend, HistoryStore S>
  requires std::same_as<typename S::value_type, T>
ag::Var<T, Backend> pull(ag::Tape<T, Backend>& tape, S& store, std::span<const node_id> ids) {
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
