#pragma once
/// @brief Device implementation of the history op push_and_pull (gas/history/push_and_pull.hpp), with the
/// histories in host memory.
///
/// The in-batch rows are copied out (waiting for the layer) and pushed, the halo rows pulled into host memory and
/// copied in, and the backward pass adds the gradient's top rows to h on the device. Synchronous and staged through
/// pageable memory (the node's host_stage, whose memory a warm tape reuses): the correct baseline that the
/// overlapped pinned pipeline replaces.

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/elementwise.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/push_and_pull.hpp"
#include "gas/loader/batch.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief push_and_pull on a device tape; see the file comment.
template <>
struct Impl<history::PushAndPull, cuda::device> {
  template <class T, history::HistoryStore S>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const history::PushAndPull&,
                      S& store, const loader::Batch& batch) {
    const MatrixView<const T> h = tape.node(node.inputs[0]).value;  // (batch_size, width)
    const std::int64_t total = node.value.rows();
    // The node's host staging tensor carries the batch rows out, then the halo rows in (its memory is reused).
    auto& staged = node.host_stage;
    staged.resize(batch.batch_size, h.cols());
    tape.exec().download(h, staged.view());  // waits for the layer
    history::detail::push_chunks(store, MatrixView<const T>(staged.view()), batch);
    tape.exec().copy(h, node.value.slice_rows(0, batch.batch_size));
    staged.resize(total - batch.batch_size, h.cols());
    store.pull(batch.halo(), staged.view());
    tape.exec().upload(MatrixView<const T>(staged.view()), node.value.slice_rows(batch.batch_size, total));
  }
  /// h's gradient += the top batch_size rows of the result's gradient (the pulled rows are constants); both are
  /// contiguous, so the rows are one block of elements.
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                       const history::PushAndPull&) {
    auto gh = tape.grad_of(node.inputs[0]);  // (batch_size, width)
    cuda::add_into(node.grad.data(), gh.data(), gh.rows() * gh.cols(), tape.exec().stream());
  }
};

}  // namespace gas::ops
