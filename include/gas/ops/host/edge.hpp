#pragma once
/// @brief Host implementations of the per-edge ops (gas/ops/edge.hpp).
///
/// Edge e is the e-th stored entry of the CSR adjacency (row(e) = destination, col(e) = source), so per-edge tensors
/// are (E, ...) in CSR order and a row's edges are contiguous. As in spmm, every pass is a loop in which one thread
/// owns each output row; gradients that flow against the edges (to the source nodes) go through the stable
/// transposed index, never through atomics, so results do not depend on the thread count.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::ops {

/// @brief aggregate_edges on the host: row i reduces the message rows of its edges, which are contiguous (rows
/// [indptr[i], indptr[i + 1]) of the messages), with spmm's row kernels, so aggregating gathered source rows gives
/// spmm's bits. Max and min save the winning edge per element in aux_index (rows, width) when a backward pass may
/// follow. The backward pass needs no transpose: each edge belongs to one row, so the thread owning row i writes
/// the gradients of row i's edges only.
template <aggr::Aggregation A>
struct Impl<AggregateEdges<A, host>, host> {
  static constexpr aggr::Reduction reduction = A::reduction;
  static constexpr bool extreme = reduction == aggr::Reduction::max || reduction == aggr::Reduction::min;

  template <class T>
  static void forward(ag::Tape<T, host>& tape, ag::Node<T, host>& node, const AggregateEdges<A, host>& attrs) {
    const Graph& adj = *attrs.adj;
    const auto m = tape.node(node.inputs[0]).value;  // (E, width)
    const auto out = node.value;                      // (adj.rows, width)
    const std::int64_t width = m.cols(), ldm = m.ld();
    const auto indptr = adj.indptr();
    const bool save_arg = extreme && node.requires_grad;
    if (save_arg) node.aux_index.resize(adj.rows(), width);  // (rows, width): winning edge, -1 for none
    std::int64_t* arg = node.aux_index.data();
    if (width == 0) return;
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i) {
      const auto b = indptr[static_cast<std::size_t>(i)];
      const std::int64_t deg = indptr[static_cast<std::size_t>(i) + 1] - b;
      const T* first = m.data() + b * ldm;  // the row's first message
      T* o = &out(i, 0);
      if constexpr (reduction == aggr::Reduction::sum) {
        detail::sum_rows<T, false, false>(nullptr, nullptr, deg, first, ldm, o, width);
      } else if constexpr (reduction == aggr::Reduction::mean) {
        detail::sum_rows<T, false, false>(nullptr, nullptr, deg, first, ldm, o, width);
        if (deg > 0) {
          const T scale = T{1} / static_cast<T>(deg);
          for (std::int64_t f = 0; f < width; ++f) o[f] *= scale;
        }
      } else {
        constexpr bool is_max = reduction == aggr::Reduction::max;
        if (save_arg) detail::extreme_rows<T, is_max, true, false>(nullptr, deg, first, ldm, o, arg + i * width, width, b);
        else detail::extreme_rows<T, is_max, false, false>(nullptr, deg, first, ldm, o, nullptr, width, b);
      }
    }
  }

  template <class T>
  static void backward(ag::Tape<T, host>& tape, ag::Node<T, host>& node, const AggregateEdges<A, host>& attrs) {
    const int im = node.inputs[0];
    if (!tape.node(im).requires_grad) return;
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> g = node.grad;  // (adj.rows, width)
    auto gm = tape.grad_of(im);               // (E, width)
    const std::int64_t width = g.cols();
    if (width == 0) return;
    const auto indptr = adj.indptr();
    const std::int64_t* arg = node.aux_index.data();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i) {
      const auto b = indptr[static_cast<std::size_t>(i)], end = indptr[static_cast<std::size_t>(i) + 1];
      const T* __restrict gi = &g(i, 0);
      if constexpr (extreme) {
        for (std::int64_t f = 0; f < width; ++f) {
          const std::int64_t e = arg[i * width + f];
          if (e >= 0) gm(e, f) += gi[f];
        }
      } else {
        T s = T{1};
        if constexpr (reduction == aggr::Reduction::mean)
          if (end > b) s = T{1} / static_cast<T>(end - b);
        for (auto e = b; e < end; ++e) {
          T* __restrict ge = &gm(e, 0);
          for (std::int64_t f = 0; f < width; ++f) ge[f] += s * gi[f];
        }
      }
    }
  }
};

}  // namespace gas::ops
