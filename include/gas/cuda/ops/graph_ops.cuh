#pragma once
/// @brief Device implementations of the graph ops of the tape (see gas/ops/device_ops.hpp for the contract):
/// spmm under every aggregation, the per-edge ops of attention (edge gathers, edge softmax, spmm_edge), row gathers
/// and scatters by an index, and concatenations and slices.
///
/// Graph ops keep a pointer to their `DeviceCsr` in node.refs[0], as the host ops keep one to their Graph: the
/// graph must outlive the backward pass. Host index lists are uploaded into the node (aux_ids) when the op is
/// recorded, so the caller's span may change afterwards. Saved state (max/min arguments, inverted indices and their
/// scratch) lives in the node's aux tensors, which a warm tape reuses: a step allocates nothing.

#include <cstddef>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/edge.cuh"
#include "gas/cuda/kernels/edge_softmax.cuh"
#include "gas/cuda/kernels/gather.cuh"
#include "gas/cuda/kernels/spmm.cuh"
#include "gas/cuda/kernels/strided.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/aggregation.hpp"

namespace gas::cuda::tape_ops {

/// @brief spmm, edge ops, row gathers / scatters, concatenations and slices on device values.
struct GraphOps {
  template <class T>
  using Tape = ag::Tape<T, device>;
  template <class T>
  using Node = ag::Node<T, device>;

  // ---- spmm ------------------------------------------------------------------------------------------------

  /// @brief node.value = spmm<R>(adj, x) with adj in refs[0]; max and min save each element's winning neighbour
  /// in aux_ids (rows, width) when a backward pass may follow.
  template <aggr::Reduction R, class T>
  static void spmm(Tape<T>& tape, Node<T>& node) {
    const DeviceCsr& adj = graph_csr(node);
    const auto x = tape.node(node.inputs[0]).value;
    node_id* arg = nullptr;
    if constexpr (R == aggr::Reduction::max || R == aggr::Reduction::min) {
      if (node.requires_grad) {
        node.aux_ids.resize(adj.rows(), x.cols());
        arg = node.aux_ids.data();
      }
    }
    cuda::spmm_forward<R>(adj.view(), x.data(), x.rows(), x.cols(), node.value.data(), arg, tape.exec().stream());
    node.backward = &spmm_backward<R, T>;
  }
  template <aggr::Reduction R, class T>
  static void spmm_backward(Tape<T>& tape, Node<T>& node) {
    const int ix = node.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    const DeviceCsr& adj = graph_csr(node);
    auto gx = tape.grad_of(ix);
    constexpr bool extreme = R == aggr::Reduction::max || R == aggr::Reduction::min;
    cuda::spmm_backward<R>(adj.view(), node.grad.data(), node.grad.rows(), node.grad.cols(),
                           extreme ? node.aux_ids.data() : nullptr, gx.data(), gx.rows(), tape.exec().stream());
  }

  // ---- edge ops --------------------------------------------------------------------------------------------

  /// @brief node.value (E, width): row e is x[col(e)].
  template <class T>
  static void gather_edge_src(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::gather_edge_src_forward(graph_csr(node).view(), x.data(), x.rows(), x.cols(), node.value.data(),
                                  tape.exec().stream());
    node.backward = &gather_edge_src_backward<T>;
  }
  template <class T>
  static void gather_edge_src_backward(Tape<T>& tape, Node<T>& node) {
    const int ix = node.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    auto gx = tape.grad_of(ix);
    cuda::gather_edge_src_backward(graph_csr(node).view(), node.grad.data(), node.grad.rows(), node.grad.cols(),
                                   gx.data(), gx.rows(), tape.exec().stream());
  }

  /// @brief node.value (E, width): row e is x[row(e)].
  template <class T>
  static void gather_edge_dst(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::gather_edge_dst_forward(graph_csr(node).view(), x.data(), x.rows(), x.cols(), node.value.data(),
                                  tape.exec().stream());
    node.backward = &gather_edge_dst_backward<T>;
  }
  template <class T>
  static void gather_edge_dst_backward(Tape<T>& tape, Node<T>& node) {
    const int ix = node.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    auto gx = tape.grad_of(ix);
    cuda::gather_edge_dst_backward(graph_csr(node).view(), node.grad.data(), node.grad.rows(), node.grad.cols(),
                                   gx.data(), gx.rows(), tape.exec().stream());
  }

  /// @brief node.value (E, heads) = softmax of the scores over each row's edges, per head.
  template <class T>
  static void edge_softmax(Tape<T>& tape, Node<T>& node) {
    const auto s = tape.node(node.inputs[0]).value;
    // The launcher wants a head; scores without columns have nothing to compute, as on the host.
    if (s.cols() > 0)
      cuda::edge_softmax_forward(graph_csr(node).view(), s.data(), s.rows(), s.cols(), node.value.data(),
                                 tape.exec().stream());
    node.backward = &edge_softmax_backward<T>;
  }
  template <class T>
  static void edge_softmax_backward(Tape<T>& tape, Node<T>& node) {
    const int is = node.inputs[0];
    if (!tape.node(is).requires_grad) return;
    auto gs = tape.grad_of(is);
    if (gs.cols() > 0)
      cuda::edge_softmax_backward(graph_csr(node).view(), node.value.data(), node.grad.data(), node.value.rows(),
                                  node.value.cols(), gs.data(), tape.exec().stream());
  }

  /// @brief node.value (adj.rows, heads F) = per-head attention aggregation of x (inputs[1]) by alpha (inputs[0]).
  template <class T>
  static void spmm_edge(Tape<T>& tape, Node<T>& node) {
    const auto alpha = tape.node(node.inputs[0]).value;
    const auto x = tape.node(node.inputs[1]).value;
    cuda::spmm_edge_forward(graph_csr(node).view(), alpha.data(), alpha.rows(), alpha.cols(), x.data(), x.rows(),
                            x.cols(), node.value.data(), tape.exec().stream());
    node.backward = &spmm_edge_backward<T>;
  }
  template <class T>
  static void spmm_edge_backward(Tape<T>& tape, Node<T>& node) {
    const int ia = node.inputs[0], ix = node.inputs[1];
    const auto adj = graph_csr(node).view();
    const auto g = node.grad;
    const auto alpha = tape.node(ia).value;
    const auto x = tape.node(ix).value;
    const cudaStream_t stream = tape.exec().stream();
    if (tape.node(ia).requires_grad) {
      auto ga = tape.grad_of(ia);
      cuda::spmm_edge_backward_alpha(adj, g.data(), g.rows(), x.data(), x.rows(), g.cols(), ga.data(), ga.rows(),
                                     ga.cols(), stream);
    }
    if (tape.node(ix).requires_grad) {
      auto gx = tape.grad_of(ix);
      cuda::spmm_edge_backward_x(adj, alpha.data(), alpha.rows(), alpha.cols(), g.data(), g.rows(), g.cols(),
                                 gx.data(), gx.rows(), stream);
    }
  }

  // ---- row gathers and scatters ----------------------------------------------------------------------------

  /// @brief node.value = x[index]. The index is uploaded into row 0 of aux_ids; when a backward pass may follow,
  /// aux_ids gets a second row for the inverse's position order, which the backward pass fills.
  template <class T>
  static void gather_rows(Tape<T>& tape, Node<T>& node, std::span<const node_id> index) {
    const auto x = tape.node(node.inputs[0]).value;
    const auto n = static_cast<std::int64_t>(index.size());
    node.aux_ids.resize(node.requires_grad ? 2 : 1, n);
    graph_upload_ids(tape, node, index);
    cuda::gather_rows(x.data(), x.rows(), x.cols(), node.aux_ids.data(), n, node.value.data(), false,
                      tape.exec().stream());
    node.backward = &gather_rows_backward<T>;
  }
  template <class T>
  static void gather_rows_backward(Tape<T>& tape, Node<T>& node) {
    auto gx = tape.grad_of(node.inputs[0]);
    const std::int64_t n = node.ints[0];
    GAS_CHECK(node.aux_ids.rows() == 2 && node.aux_ids.cols() == n, value_error,
              "gather_rows: the node was recorded without a gradient, so it kept no room for its backward pass");
    // The scatter-add of the gradient goes through the inverse of the index, as on the host: grouped positions,
    // each target row summing its sources in increasing position order.
    const std::int64_t* ptr = graph_invert_saved_index(tape, node, gx.rows());
    cuda::scatter_add_rows(node.grad.data(), node.grad.rows(), node.grad.cols(), ptr, node.aux_ids.data() + n, n,
                           gx.rows(), gx.data(), true, tape.exec().stream());
  }

  /// @brief node.value (num_rows, width) = the rows of x summed by target index; the index stays in aux_ids row 0
  /// for the backward pass (a gather), the inverse is built in aux_ids row 1 and aux_index.
  template <class T>
  static void scatter_add_rows(Tape<T>& tape, Node<T>& node, std::span<const node_id> index) {
    const auto x = tape.node(node.inputs[0]).value;
    const auto n = static_cast<std::int64_t>(index.size());
    node.aux_ids.resize(2, n);
    graph_upload_ids(tape, node, index);
    const std::int64_t* ptr = graph_invert_saved_index(tape, node, node.value.rows());
    cuda::scatter_add_rows(x.data(), x.rows(), x.cols(), ptr, node.aux_ids.data() + n, n, node.value.rows(),
                           node.value.data(), false, tape.exec().stream());
    node.backward = &scatter_add_rows_backward<T>;
  }
  template <class T>
  static void scatter_add_rows_backward(Tape<T>& tape, Node<T>& node) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::gather_rows(node.grad.data(), node.grad.rows(), node.grad.cols(), node.aux_ids.data(), node.ints[0],
                      gx.data(), true, tape.exec().stream());
  }

  // ---- concatenations and slices ---------------------------------------------------------------------------

  /// @brief node.value = the parts (node.host_inputs, any number) stacked along rows or columns; each part is one
  /// 2D copy into its block.
  template <bool along_rows, class T>
  static void concat_parts(Tape<T>& tape, Node<T>& node) {
    const auto out = node.value;
    std::int64_t offset = 0;
    for (const int in : node.host_inputs) {
      const MatrixView<const T> part = tape.node(in).value;
      const auto dst = along_rows ? out.slice_rows(offset, offset + part.rows())
                                  : out.slice_cols(offset, offset + part.cols());
      tape.exec().copy(part, dst);
      offset += along_rows ? part.rows() : part.cols();
    }
    node.backward = &concat_parts_backward<along_rows, T>;
  }
  template <bool along_rows, class T>
  static void concat_parts_backward(Tape<T>& tape, Node<T>& node) {
    const auto g = node.grad;
    std::int64_t offset = 0;
    for (const int in : node.host_inputs) {
      const auto& part = tape.node(in);
      const std::int64_t rows = part.value.rows(), cols = part.value.cols();
      if (part.requires_grad) {
        auto gp = tape.grad_of(in);
        const auto src = along_rows ? g.slice_rows(offset, offset + rows) : g.slice_cols(offset, offset + cols);
        cuda::add_strided(src.data(), src.ld(), rows, cols, gp.data(), gp.ld(), tape.exec().stream());
      }
      offset += along_rows ? rows : cols;
    }
  }

  /// @brief Rows [ints[1], ...) of x: the value is already a view (rows of a contiguous value are contiguous);
  /// only the backward pass is the device's.
  template <class T>
  static void slice_rows(Tape<T>&, Node<T>& node) {
    node.backward = &graph_slice_backward<T>;
  }

  /// @brief Columns [begin, end) of x copied into the node's contiguous value (a 2D copy).
  template <class T>
  static void slice_cols(Tape<T>& tape, Node<T>& node) {
    const MatrixView<const T> x = tape.node(node.inputs[0]).value;
    const std::int64_t begin = node.ints[1];
    tape.exec().copy(x.slice_cols(begin, begin + node.value.cols()), node.value);
    node.backward = &graph_slice_backward<T>;
  }

  /// @brief gx's block (rows when ints[0] != 0, else columns, from ints[1]) += the slice's gradient.
  template <class T>
  static void graph_slice_backward(Tape<T>& tape, Node<T>& node) {
    auto gx = tape.grad_of(node.inputs[0]);
    const bool along_rows = node.ints[0] != 0;
    const std::int64_t begin = node.ints[1];
    const auto g = node.grad;
    const auto dst = along_rows ? gx.slice_rows(begin, begin + g.rows()) : gx.slice_cols(begin, begin + g.cols());
    cuda::add_strided(g.data(), g.ld(), g.rows(), g.cols(), dst.data(), dst.ld(), tape.exec().stream());
  }

private:
  /// @brief The device graph a graph op recorded in refs[0].
  template <class T>
  static const DeviceCsr& graph_csr(const Node<T>& node) {
    GAS_CHECK(node.refs[0] != nullptr, value_error, "op '" << node.op << "' recorded no graph");
    return *static_cast<const DeviceCsr*>(node.refs[0]);
  }

  /// @brief Queues a copy of the host index into row 0 of node.aux_ids (pageable memory is staged before the copy
  /// call returns, so the caller's span may change afterwards).
  template <class T>
  static void graph_upload_ids(Tape<T>& tape, Node<T>& node, std::span<const node_id> index) {
    const auto n = static_cast<std::int64_t>(index.size());
    tape.exec().upload(MatrixView<const node_id>(index.data(), 1, n), node.aux_ids.view().slice_rows(0, 1));
  }

  /// @brief Inverts the index in row 0 of node.aux_ids over `targets` rows: the position order goes to row 1,
  /// the group pointers (targets + 1) to the front of node.aux_index, whose remainder is the sort's scratch.
  /// Returns the group pointers.
  template <class T>
  static const std::int64_t* graph_invert_saved_index(Tape<T>& tape, Node<T>& node, std::int64_t targets) {
    const std::int64_t n = node.aux_ids.cols();
    const std::size_t scratch_bytes = cuda::invert_index_scratch_bytes(n, targets);
    const auto scratch_words = static_cast<std::int64_t>((scratch_bytes + sizeof(std::int64_t) - 1) / sizeof(std::int64_t));
    node.aux_index.resize(1, targets + 1 + scratch_words);
    std::int64_t* ptr = node.aux_index.data();
    cuda::invert_index_into(node.aux_ids.data(), n, targets, ptr, node.aux_ids.data() + n, ptr + targets + 1,
                            scratch_bytes, tape.exec().stream());
    return ptr;
  }
};

}  // namespace gas::cuda::tape_ops
