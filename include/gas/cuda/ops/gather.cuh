#pragma once
/// @brief Device implementations of the row gathers and scatters (gas/ops/gather.hpp).
///
/// The host index is uploaded into the node (row 0 of aux_ids) when the op is recorded, so the caller's span may
/// change afterwards and the attributes' span is used for its size only. The scatter-add goes through the inverse of
/// the index, as on the host: a stable radix sort groups the positions by target (row 1 of aux_ids), each target row
/// then sums its sources in increasing position order; the group pointers and the sort's scratch live in aux_index.
/// A warm tape reuses all of it: a step allocates nothing.

#include <cstddef>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/gather.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/gather.hpp"
#include "gas/ops/impl.hpp"

namespace gas::cuda::detail {

/// @brief Queues a copy of the host index into row 0 of node.aux_ids (pageable memory is staged before the copy
/// call returns, so the caller's span may change afterwards).
template <class T>
void upload_ids(autograd::Tape<T, device>& tape, autograd::Node<T, device>& node, std::span<const node_id> index) {
  const auto n = static_cast<std::int64_t>(index.size());
  tape.exec().upload(MatrixView<const node_id>(index.data(), 1, n), node.aux_ids.view().slice_rows(0, 1));
}

/// @brief Inverts the index in row 0 of node.aux_ids over `targets` rows: the position order goes to row 1, the
/// group pointers (targets + 1) to the front of node.aux_index, whose remainder is the sort's scratch. Returns the
/// group pointers.
template <class T>
const std::int64_t* invert_saved_index(autograd::Tape<T, device>& tape, autograd::Node<T, device>& node, std::int64_t targets) {
  const std::int64_t n = node.aux_ids.cols();
  const std::size_t scratch_bytes = invert_index_scratch_bytes(n, targets);
  const auto scratch_words = static_cast<std::int64_t>((scratch_bytes + sizeof(std::int64_t) - 1) / sizeof(std::int64_t));
  node.aux_index.resize(1, targets + 1 + scratch_words);
  std::int64_t* ptr = node.aux_index.data();
  invert_index_into(node.aux_ids.data(), n, targets, ptr, node.aux_ids.data() + n, ptr + targets + 1, scratch_bytes,
                    tape.exec().stream());
  return ptr;
}

}  // namespace gas::cuda::detail

namespace gas::ops {

/// @brief x[index]. The index goes to row 0 of aux_ids; when a backward pass may follow, aux_ids gets a second row
/// for the inverse's position order, which the backward pass fills.
template <>
struct Impl<GatherRows, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const GatherRows& a) {
    const auto x = tape.node(node.inputs[0]).value;
    const auto n = static_cast<std::int64_t>(a.index.size());
    node.aux_ids.resize(node.requires_grad ? 2 : 1, n);
    cuda::detail::upload_ids(tape, node, a.index);
    cuda::gather_rows(x.data(), x.rows(), x.cols(), node.aux_ids.data(), n, node.value.data(), false,
                      tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const GatherRows& a) {
    auto gx = tape.grad_of(node.inputs[0]);
    const auto n = static_cast<std::int64_t>(a.index.size());
    GAS_CHECK(node.aux_ids.rows() == 2 && node.aux_ids.cols() == n, value_error,
              "gather_rows: the node was recorded without a gradient, so it kept no room for its backward pass");
    const std::int64_t* ptr = cuda::detail::invert_saved_index(tape, node, gx.rows());
    cuda::scatter_add_rows(node.grad.data(), node.grad.rows(), node.grad.cols(), ptr, node.aux_ids.data() + n, n,
                           gx.rows(), gx.data(), true, tape.exec().stream());
  }
};

/// @brief (num_rows, width): the rows of x summed by target index; the index stays in aux_ids row 0 for the
/// backward pass (a gather), the inverse is built in aux_ids row 1 and aux_index.
template <>
struct Impl<ScatterAddRows, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const ScatterAddRows& a) {
    const auto x = tape.node(node.inputs[0]).value;
    const auto n = static_cast<std::int64_t>(a.index.size());
    node.aux_ids.resize(2, n);
    cuda::detail::upload_ids(tape, node, a.index);
    const std::int64_t* ptr = cuda::detail::invert_saved_index(tape, node, node.value.rows());
    cuda::scatter_add_rows(x.data(), x.rows(), x.cols(), ptr, node.aux_ids.data() + n, n, node.value.rows(),
                           node.value.data(), false, tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const ScatterAddRows& a) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::gather_rows(node.grad.data(), node.grad.rows(), node.grad.cols(), node.aux_ids.data(),
                      static_cast<std::int64_t>(a.index.size()), gx.data(), true, tape.exec().stream());
  }
};

}  // namespace gas::ops
