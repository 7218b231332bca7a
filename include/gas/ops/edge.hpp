#pragma once
/// @brief Per-edge ops: gather node rows onto edges, softmax over each row's edges, aggregation weighted by
/// per-edge, per-head coefficients (GAT), and the reduction of per-edge messages into their rows (message passing).
///
/// Edge e is the e-th stored entry of the CSR adjacency (row(e) = destination, col(e) = source), so per-edge
/// tensors are (E, ...) in CSR order and a row's edges are contiguous. As in spmm, every pass is a loop in
/// which one thread owns each output row; gradients that flow against the edges (to the source nodes) go
/// through the stable transposed index, never through atomics, so results do not depend on the thread count.
/// Every op keeps a pointer to `adj`: the graph must outlive the backward pass. `adj` is the backend's graph
/// (GraphOf<Backend>): a Graph on the host, a cuda::DeviceCsr built with its transpose on the device.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/device_ops.hpp"
#include "gas/ops/host/edge.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::ops {

namespace detail {

template <class T, class Backend>
void gather_edge_src_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const int ix = n.inputs[0];
  if (!tape.node(ix).requires_grad) return;
  const auto& adj = *static_cast<const Graph*>(n.refs[0]);
  const MatrixView<const T> g = n.grad;  // (E, width)
  auto gx = tape.grad_of(ix);            // (adj.cols, width)
  const std::int64_t width = g.cols();
  const auto t = transpose_index(adj, n.aux_index, true);
#pragma omp parallel for schedule(dynamic, graph_chunk) if (adj.num_edges() * width > graph_parallel_work)
  for (std::int64_t j = 0; j < adj.cols(); ++j) {
    T* __restrict out = &gx(j, 0);
    for (std::int64_t p = t.offsets[j]; p < t.offsets[j + 1]; ++p) {
      const T* __restrict ge = &g(t.edges[p], 0);
      for (std::int64_t f = 0; f < width; ++f) out[f] += ge[f];
    }
  }
}

template <class T, class Backend>
void gather_edge_dst_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const int ix = n.inputs[0];
  if (!tape.node(ix).requires_grad) return;
  const auto& adj = *static_cast<const Graph*>(n.refs[0]);
  const MatrixView<const T> g = n.grad;  // (E, width)
  auto gx = tape.grad_of(ix);            // (adj.rows, width)
  const std::int64_t width = g.cols();
  const auto indptr = adj.indptr();
#pragma omp parallel for schedule(dynamic, graph_chunk) if (adj.num_edges() * width > graph_parallel_work)
  for (std::int64_t i = 0; i < adj.rows(); ++i) {
    T* __restrict out = &gx(i, 0);
    for (std::int64_t e = indptr[static_cast<std::size_t>(i)]; e < indptr[static_cast<std::size_t>(i) + 1]; ++e) {
      const T* __restrict ge = &g(e, 0);
      for (std::int64_t f = 0; f < width; ++f) out[f] += ge[f];
    }
  }
}

template <class T, class Backend>
void edge_softmax_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const int is = n.inputs[0];
  if (!tape.node(is).requires_grad) return;
  const auto& adj = *static_cast<const Graph*>(n.refs[0]);
  const MatrixView<const T> g = n.grad, a = n.value;  // (E, heads)
  auto gs = tape.grad_of(is);
  const std::int64_t heads = a.cols();
  const auto indptr = adj.indptr();
  // d s_e = a_e (g_e - sum_e' a_e' g_e') over the edges e' of e's row, per head.
#pragma omp parallel for schedule(dynamic, graph_chunk) if (adj.num_edges() * heads > graph_parallel_work)
  for (std::int64_t i = 0; i < adj.rows(); ++i) {
    const auto b = indptr[static_cast<std::size_t>(i)], end = indptr[static_cast<std::size_t>(i) + 1];
    for (std::int64_t h = 0; h < heads; ++h) {
      T dot = 0;
      for (auto e = b; e < end; ++e) dot += a(e, h) * g(e, h);
      for (auto e = b; e < end; ++e) gs(e, h) += a(e, h) * (g(e, h) - dot);
    }
  }
}

template <class T, class Backend>
void spmm_edge_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const int ia = n.inputs[0], ix = n.inputs[1];
  const auto& adj = *static_cast<const Graph*>(n.refs[0]);
  const MatrixView<const T> g = n.grad;                    // (adj.rows, heads * F)
  const MatrixView<const T> alpha = tape.node(ia).value;   // (E, heads)
  const MatrixView<const T> x = tape.node(ix).value;       // (adj.cols, heads * F)
  const std::int64_t heads = alpha.cols(), width = g.cols(), per_head = width / heads;
  const auto indptr = adj.indptr();
  const auto indices = adj.indices();
  const bool parallel = adj.num_edges() * width > graph_parallel_work;
  if (tape.node(ia).requires_grad) {
    // d alpha_e[h] = <g_row(e), x_col(e)> over head h's F columns; edge e belongs to its row's thread.
    auto ga = tape.grad_of(ia);
#pragma omp parallel for schedule(dynamic, graph_chunk) if (parallel)
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
    const auto t = transpose_index(adj, n.aux_index, true);
#pragma omp parallel for schedule(dynamic, graph_chunk) if (parallel)
    for (std::int64_t j = 0; j < adj.cols(); ++j) {
      T* __restrict out = &gx(j, 0);
      for (std::int64_t p = t.offsets[j]; p < t.offsets[j + 1]; ++p) {
        const T* __restrict gr = &g(t.rows[p], 0);
        const std::int64_t e = t.edges[p];
        for (std::int64_t h = 0; h < heads; ++h) {
          const T s = alpha(e, h);
          for (std::int64_t f = h * per_head; f < (h + 1) * per_head; ++f) out[f] += s * gr[f];
        }
      }
    }
  }
}

}  // namespace detail

/// @brief Row e of the (E, x.cols()) result is x[col(e)]: each edge's source features; x has adj.cols() rows.
/// Throws shape_error naming both shapes otherwise. `adj` must outlive the backward pass.
template <class T, class Backend>
ag::Var<T, Backend> gather_edge_src(const GraphOf<Backend>& adj, ag::Var<T, Backend> x) {
  GAS_CHECK(adj.cols() == x.rows(), shape_error,
            "adjacency (" << adj.rows() << " x " << adj.cols() << ") cannot gather source rows of (" << x.rows()
                          << " x " << x.cols() << "): adj.cols() must equal x.rows()");
  auto [id, node] = x.tape().push("gather_edge_src", adj.num_edges(), x.cols(), {x});
  node.refs[0] = &adj;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::gather_edge_src(x.tape(), node);
  } else {
    node.backward = &detail::gather_edge_src_backward<T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
    const auto indptr = adj.indptr();
    const auto indices = adj.indices();
    const std::int64_t width = in.cols();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i)
      for (std::int64_t e = indptr[static_cast<std::size_t>(i)]; e < indptr[static_cast<std::size_t>(i) + 1]; ++e)
        std::copy_n(&in(indices[static_cast<std::size_t>(e)], 0), width, &out(e, 0));
  }
  return {&x.tape(), id};
}

/// @brief Row e of the (E, x.cols()) result is x[row(e)]: each edge's destination features; x has adj.rows()
/// rows. Throws shape_error naming both shapes otherwise. `adj` must outlive the backward pass.
template <class T, class Backend>
ag::Var<T, Backend> gather_edge_dst(const GraphOf<Backend>& adj, ag::Var<T, Backend> x) {
  GAS_CHECK(adj.rows() == x.rows(), shape_error,
            "adjacency (" << adj.rows() << " x " << adj.cols() << ") cannot gather destination rows of ("
                          << x.rows() << " x " << x.cols() << "): adj.rows() must equal x.rows()");
  auto [id, node] = x.tape().push("gather_edge_dst", adj.num_edges(), x.cols(), {x});
  node.refs[0] = &adj;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::gather_edge_dst(x.tape(), node);
  } else {
    node.backward = &detail::gather_edge_dst_backward<T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
    const auto indptr = adj.indptr();
    const std::int64_t width = in.cols();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i)
      for (std::int64_t e = indptr[static_cast<std::size_t>(i)]; e < indptr[static_cast<std::size_t>(i) + 1]; ++e)
        std::copy_n(&in(i, 0), width, &out(e, 0));
  }
  return {&x.tape(), id};
}

/// @brief Softmax of (E, heads) edge scores over each row's edges, per head (column): alpha_e[h] =
/// exp(s_e[h] - m) / sum_e' exp(s_e'[h] - m) with m the row's maximum, so large scores cannot overflow. A row
/// without edges has no entries to produce. Throws shape_error unless scores has adj.num_edges() rows.
/// `adj` must outlive the backward pass.
template <class T, class Backend>
ag::Var<T, Backend> edge_softmax(const GraphOf<Backend>& adj, ag::Var<T, Backend> scores) {
  GAS_CHECK(scores.rows() == adj.num_edges(), shape_error,
            "scores (" << scores.rows() << " x " << scores.cols() << ") need one row per edge of the adjacency ("
                       << adj.rows() << " x " << adj.cols() << ", " << adj.num_edges() << " edges)");
  auto [id, node] = scores.tape().push("edge_softmax", scores.rows(), scores.cols(), {scores});
  node.refs[0] = &adj;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::edge_softmax(scores.tape(), node);
  } else {
    node.backward = &detail::edge_softmax_backward<T, Backend>;
    const auto s = scores.value();
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
  return {&scores.tape(), id};
}

/// @brief Multi-head attention aggregation: with alpha (E, heads) and x (adj.cols(), heads * F), the result is
/// (adj.rows(), heads * F) with out_i[h F + f] = sum_e alpha_e[h] x_col(e)[h F + f]; gradients reach both alpha
/// and x. Throws shape_error naming the shapes unless alpha has one row per edge, x has adj.cols() rows and
/// heads (>= 1) divides x.cols(). `adj` must outlive the backward pass.
template <class T, class Backend>
ag::Var<T, Backend> spmm_edge(const GraphOf<Backend>& adj, ag::Var<T, Backend> alpha, ag::Var<T, Backend> x) {
  GAS_CHECK(alpha.rows() == adj.num_edges() && alpha.cols() >= 1, shape_error,
            "alpha (" << alpha.rows() << " x " << alpha.cols() << ") needs one row per edge of the adjacency ("
                      << adj.rows() << " x " << adj.cols() << ", " << adj.num_edges() << " edges) and a head");
  GAS_CHECK(adj.cols() == x.rows() && x.cols() % alpha.cols() == 0, shape_error,
            "adjacency (" << adj.rows() << " x " << adj.cols() << ") with alpha (" << alpha.rows() << " x "
                          << alpha.cols() << ") cannot aggregate features (" << x.rows() << " x " << x.cols()
                          << "): x needs adj.cols() rows and a multiple of the " << alpha.cols() << " heads in columns");
  auto [id, node] = x.tape().push("spmm_edge", adj.rows(), x.cols(), {alpha, x});
  node.refs[0] = &adj;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::spmm_edge(x.tape(), node);
  } else {
    node.backward = &detail::spmm_edge_backward<T, Backend>;
    const auto a = alpha.value();  // (E, heads)
    const auto in = x.value();     // (adj.cols, heads * F)
    const auto out = node.value;   // (adj.rows, heads * F)
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
  return {&x.tape(), id};
}

/// @brief Reduces per-edge messages into their rows: `messages` is (adj.num_edges(), d), one row per edge in CSR
/// order (e.g. gather_edge_src(adj, x) transformed edge by edge); the result is (adj.rows(), d) with row i the
/// reduction A over the messages of row i's edges. Sum adds them (edge weights are not applied: a message that
/// should be weighted carries its weight already); Mean divides by the row's degree; Max / Min take the elementwise
/// extreme, and the gradient reaches the winning edge only (the first one on ties). An empty row gives 0 under
/// every policy. So aggregate_edges<A>(adj, gather_edge_src(adj, x)) is spmm<A>(adj, x) for an unweighted graph.
/// The backward pass needs no transpose and no atomics: each edge reads its own row's gradient. `adj` must
/// outlive the backward pass. Throws shape_error naming the shapes unless messages has one row per edge.
/// @tparam A an aggregation policy (aggr::Sum, Mean, Max, Min or a user tag naming one of their reductions).
template <aggr::Aggregation A, class T, class Backend>
ag::Var<T, Backend> aggregate_edges(const GraphOf<Backend>& adj, ag::Var<T, Backend> messages) {
  GAS_CHECK(messages.rows() == adj.num_edges(), shape_error,
            "messages (" << messages.rows() << " x " << messages.cols() << ") need one row per edge of the adjacency ("
                         << adj.rows() << " x " << adj.cols() << ", " << adj.num_edges() << " edges)");
  return record(AggregateEdges<A, Backend>{.adj = &adj}, adj.rows(), messages.cols(), {messages});
}

}  // namespace gas::ops
