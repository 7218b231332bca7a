#pragma once
/// @brief Host implementations of the per-edge ops (gas/ops/edge.hpp): `Impl<GatherEdgeSrc<host>, host>`,
/// `Impl<GatherEdgeDst<host>, host>`, `Impl<EdgeSoftmax<host>, host>`, `Impl<SpmmEdge<host>, host>`,
/// `Impl<AggregateEdges<A, host>, host>`.
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
#include "gas/ops/host/spmm.hpp"

namespace gas::ops {

/// @brief Row e of the result is x[col(e)]; the backward pass sums each source row's edges through the graph's
/// cached transposed index.
template <>
struct Impl<GatherEdgeSrc<host>, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const GatherEdgeSrc<host>& attrs) {
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const auto out = node.value;
    const auto indptr = adj.indptr();
    const auto indices = adj.indices();
    const std::int64_t width = in.cols();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i)
      for (std::int64_t e = indptr[static_cast<std::size_t>(i)]; e < indptr[static_cast<std::size_t>(i) + 1]; ++e)
        std::copy_n(&in(indices[static_cast<std::size_t>(e)], 0), width, &out(e, 0));
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const GatherEdgeSrc<host>& attrs) {
    const int ix = n.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> g = n.grad;  // (E, width)
    auto gx = tape.grad_of(ix);            // (adj.cols, width)
    const std::int64_t width = g.cols();
    const auto t = adj.transposed_index();
    const std::int64_t ldg = g.ld();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t j = 0; j < adj.cols(); ++j) {
      const std::int64_t b = t->offsets[static_cast<std::size_t>(j)];
      const std::int64_t* edges = t->edges.data() + b;
      const auto entry = [&](std::int64_t k) -> detail::Entry<T> { return {g.data() + edges[k] * ldg, T{1}}; };
      detail::sum_entries<T, false, true>(entry, t->offsets[static_cast<std::size_t>(j) + 1] - b, &gx(j, 0), width);
    }
  }
};

/// @brief Row e of the result is x[row(e)]; the backward pass sums each row's own edges.
template <>
struct Impl<GatherEdgeDst<host>, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const GatherEdgeDst<host>& attrs) {
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const auto out = node.value;
    const auto indptr = adj.indptr();
    const std::int64_t width = in.cols();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i)
      for (std::int64_t e = indptr[static_cast<std::size_t>(i)]; e < indptr[static_cast<std::size_t>(i) + 1]; ++e)
        std::copy_n(&in(i, 0), width, &out(e, 0));
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const GatherEdgeDst<host>& attrs) {
    const int ix = n.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> g = n.grad;  // (E, width)
    auto gx = tape.grad_of(ix);            // (adj.rows, width)
    const std::int64_t width = g.cols();
    const auto indptr = adj.indptr();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i) {
      T* __restrict out = &gx(i, 0);
      for (std::int64_t e = indptr[static_cast<std::size_t>(i)]; e < indptr[static_cast<std::size_t>(i) + 1]; ++e) {
        const T* __restrict ge = &g(e, 0);
        for (std::int64_t f = 0; f < width; ++f) out[f] += ge[f];
      }
    }
  }
};

/// @brief Softmax of the scores over each row's edges, per head, shifted by the row's maximum.
template <>
struct Impl<EdgeSoftmax<host>, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const EdgeSoftmax<host>& attrs) {
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> s = tape.node(node.inputs[0]).value;
    const auto a = node.value;
    const std::int64_t heads = s.cols();
    const auto indptr = adj.indptr();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * heads > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i) {
      const auto b = indptr[static_cast<std::size_t>(i)], end = indptr[static_cast<std::size_t>(i) + 1];
      if (b == end) continue;
      for (std::int64_t h = 0; h < heads; ++h) {
        T m = s(b, h);
        for (auto e = b + 1; e < end; ++e) m = std::max(m, s(e, h));
        T sum = 0;
        for (auto e = b; e < end; ++e) {
          a(e, h) = std::exp(s(e, h) - m);
          sum += a(e, h);
        }
        const T inv = T{1} / sum;  // sum >= 1: the maximum contributes exp(0)
        for (auto e = b; e < end; ++e) a(e, h) *= inv;
      }
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const EdgeSoftmax<host>& attrs) {
    const int is = n.inputs[0];
    if (!tape.node(is).requires_grad) return;
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> g = n.grad, a = n.value;  // (E, heads)
    auto gs = tape.grad_of(is);
    const std::int64_t heads = a.cols();
    const auto indptr = adj.indptr();
    // d s_e = a_e (g_e - sum_e' a_e' g_e') over the edges e' of e's row, per head.
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * heads > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i) {
      const auto b = indptr[static_cast<std::size_t>(i)], end = indptr[static_cast<std::size_t>(i) + 1];
      for (std::int64_t h = 0; h < heads; ++h) {
        T dot = 0;
        for (auto e = b; e < end; ++e) dot += a(e, h) * g(e, h);
        for (auto e = b; e < end; ++e) gs(e, h) += a(e, h) * (g(e, h) - dot);
      }
    }
  }
};

/// @brief Multi-head aggregation: out_i[h F + f] = sum_e alpha_e[h] x_col(e)[h F + f]; x's gradient flows against
/// the edges through the graph's cached transposed index.
template <>
struct Impl<SpmmEdge<host>, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const SpmmEdge<host>& attrs) {
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> a = tape.node(node.inputs[0]).value;   // (E, heads)
    const MatrixView<const T> in = tape.node(node.inputs[1]).value;  // (adj.cols, heads * F)
    const auto out = node.value;                                      // (adj.rows, heads * F)
    const std::int64_t heads = a.cols(), width = in.cols(), per_head = width / heads;
    const auto indptr = adj.indptr();
    const auto indices = adj.indices();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i) {
      T* __restrict o = &out(i, 0);
      std::fill_n(o, width, T{0});
      for (std::int64_t e = indptr[static_cast<std::size_t>(i)]; e < indptr[static_cast<std::size_t>(i) + 1]; ++e) {
        const T* __restrict xj = &in(indices[static_cast<std::size_t>(e)], 0);
        for (std::int64_t h = 0; h < heads; ++h) {
          const T s = a(e, h);
          for (std::int64_t f = h * per_head; f < (h + 1) * per_head; ++f) o[f] += s * xj[f];
        }
      }
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const SpmmEdge<host>& attrs) {
    const int ia = n.inputs[0], ix = n.inputs[1];
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> g = n.grad;                   // (adj.rows, heads * F)
    const MatrixView<const T> alpha = tape.node(ia).value;  // (E, heads)
    const MatrixView<const T> x = tape.node(ix).value;      // (adj.cols, heads * F)
    const std::int64_t heads = alpha.cols(), width = g.cols(), per_head = width / heads;
    const auto indptr = adj.indptr();
    const auto indices = adj.indices();
    const bool parallel = adj.num_edges() * width > detail::graph_parallel_work;
    if (tape.node(ia).requires_grad) {
      // d alpha_e[h] = <g_row(e), x_col(e)> over head h's F columns; edge e belongs to its row's thread.
      auto ga = tape.grad_of(ia);
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (parallel)
      for (std::int64_t i = 0; i < adj.rows(); ++i)
        for (std::int64_t e = indptr[static_cast<std::size_t>(i)]; e < indptr[static_cast<std::size_t>(i) + 1]; ++e) {
          const T* __restrict gi = &g(i, 0);
          const T* __restrict xj = &x(indices[static_cast<std::size_t>(e)], 0);
          for (std::int64_t h = 0; h < heads; ++h) {
            T dot = 0;
            for (std::int64_t f = h * per_head; f < (h + 1) * per_head; ++f) dot += gi[f] * xj[f];
            ga(e, h) += dot;
          }
        }
    }
    if (tape.node(ix).requires_grad) {
      // d x_j[h F + f] = sum over entries (r, j) of alpha_e[h] g_r[h F + f], through the transposed index.
      auto gx = tape.grad_of(ix);
      const auto t = adj.transposed_index();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (parallel)
      for (std::int64_t j = 0; j < adj.cols(); ++j) {
        T* __restrict out = &gx(j, 0);
        for (std::int64_t p = t->offsets[static_cast<std::size_t>(j)]; p < t->offsets[static_cast<std::size_t>(j) + 1];
             ++p) {
          const T* __restrict gr = &g(t->rows[static_cast<std::size_t>(p)], 0);
          const std::int64_t e = t->edges[static_cast<std::size_t>(p)];
          for (std::int64_t h = 0; h < heads; ++h) {
            const T s = alpha(e, h);
            for (std::int64_t f = h * per_head; f < (h + 1) * per_head; ++f) out[f] += s * gr[f];
          }
        }
      }
    }
  }
};

/// @brief aggregate_edges on the host: row i reduces the message rows of its edges, which are contiguous (rows
/// [indptr[i], indptr[i + 1]) of the messages), with spmm's row kernels, so aggregating gathered source rows gives
/// spmm's bits. Max and min save the winning edge per element in aux_index (rows, width) when a backward pass may
/// follow. The backward pass needs no transpose: each edge belongs to one row, so the thread owning row i writes
/// the gradients of row i's edges only.
template <aggr::Aggregation A>
struct Impl<AggregateEdges<A, host>, host> {
  static constexpr aggr::Reduction reduction = A::reduction;
  static constexpr bool extreme = aggr::is_extreme(reduction);

  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const AggregateEdges<A, host>& attrs) {
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
      const T* messages = m.data() + b * ldm;  // the row's messages are rows [b, b + deg) of m
      std::int64_t* winners = save_arg ? arg + i * width : nullptr;
      detail::reduce_row<reduction, T, false>(nullptr, nullptr, deg, messages, ldm, &out(i, 0), winners, width, b);
    }
  }

  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const AggregateEdges<A, host>& attrs) {
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
