#pragma once
/// @brief Per-edge ops: gather node rows onto edges, softmax over each row's edges, aggregation weighted by
/// per-edge, per-head coefficients (GAT), and the reduction of per-edge messages into their rows (message passing).
///
/// Edge e is the e-th stored entry of the CSR adjacency (row(e) = destination, col(e) = source), so per-edge
/// tensors are (E, ...) in CSR order and a row's edges are contiguous. Every op keeps a pointer to `adj` in its
/// attributes: the graph must outlive the backward pass. `adj` is the backend's graph (GraphOf<Backend>): a Graph on
/// the host, a cuda::DeviceCsr built with its transpose on the device. Host: gas/ops/host/edge.hpp; device:
/// gas/cuda/ops/edge.cuh.

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/edge.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::ops {

/// @brief Row e of the (E, x.cols()) result is x[col(e)]: each edge's source features; x has adj.cols() rows.
/// Throws shape_error naming both shapes otherwise. `adj` must outlive the backward pass.
template <class T, class Backend>
autograd::Var<T, Backend> gather_edge_src(const GraphOf<Backend>& adj, autograd::Var<T, Backend> x) {
  GAS_CHECK(adj.cols() == x.rows(), shape_error,
            "adjacency (" << adj.rows() << " x " << adj.cols() << ") cannot gather source rows of (" << x.rows()
                          << " x " << x.cols() << "): adj.cols() must equal x.rows()");
  return record(GatherEdgeSrc<Backend>{.adj = &adj}, adj.num_edges(), x.cols(), {x});
}

/// @brief Row e of the (E, x.cols()) result is x[row(e)]: each edge's destination features; x has adj.rows()
/// rows. Throws shape_error naming both shapes otherwise. `adj` must outlive the backward pass.
template <class T, class Backend>
autograd::Var<T, Backend> gather_edge_dst(const GraphOf<Backend>& adj, autograd::Var<T, Backend> x) {
  GAS_CHECK(adj.rows() == x.rows(), shape_error,
            "adjacency (" << adj.rows() << " x " << adj.cols() << ") cannot gather destination rows of ("
                          << x.rows() << " x " << x.cols() << "): adj.rows() must equal x.rows()");
  return record(GatherEdgeDst<Backend>{.adj = &adj}, adj.num_edges(), x.cols(), {x});
}

/// @brief Softmax of (E, heads) edge scores over each row's edges, per head (column): alpha_e[h] =
/// exp(s_e[h] - m) / sum_e' exp(s_e'[h] - m) with m the row's maximum, so large scores cannot overflow. A row
/// without edges has no entries to produce. Throws shape_error unless scores has adj.num_edges() rows.
/// `adj` must outlive the backward pass.
template <class T, class Backend>
autograd::Var<T, Backend> edge_softmax(const GraphOf<Backend>& adj, autograd::Var<T, Backend> scores) {
  GAS_CHECK(scores.rows() == adj.num_edges(), shape_error,
            "scores (" << scores.rows() << " x " << scores.cols() << ") need one row per edge of the adjacency ("
                       << adj.rows() << " x " << adj.cols() << ", " << adj.num_edges() << " edges)");
  return record(EdgeSoftmax<Backend>{.adj = &adj}, scores.rows(), scores.cols(), {scores});
}

/// @brief Multi-head attention aggregation: with alpha (E, heads) and x (adj.cols(), heads * F), the result is
/// (adj.rows(), heads * F) with out_i[h F + f] = sum_e alpha_e[h] x_col(e)[h F + f]; gradients reach both alpha
/// and x. Throws shape_error naming the shapes unless alpha has one row per edge, x has adj.cols() rows and
/// heads (>= 1) divides x.cols(). `adj` must outlive the backward pass.
template <class T, class Backend>
autograd::Var<T, Backend> spmm_edge(const GraphOf<Backend>& adj, autograd::Var<T, Backend> alpha, autograd::Var<T, Backend> x) {
  GAS_CHECK(alpha.rows() == adj.num_edges() && alpha.cols() >= 1, shape_error,
            "alpha (" << alpha.rows() << " x " << alpha.cols() << ") needs one row per edge of the adjacency ("
                      << adj.rows() << " x " << adj.cols() << ", " << adj.num_edges() << " edges) and a head");
  GAS_CHECK(adj.cols() == x.rows() && x.cols() % alpha.cols() == 0, shape_error,
            "adjacency (" << adj.rows() << " x " << adj.cols() << ") with alpha (" << alpha.rows() << " x "
                          << alpha.cols() << ") cannot aggregate features (" << x.rows() << " x " << x.cols()
                          << "): x needs adj.cols() rows and a multiple of the " << alpha.cols() << " heads in columns");
  return record(SpmmEdge<Backend>{.adj = &adj}, adj.rows(), x.cols(), {alpha, x});
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
autograd::Var<T, Backend> aggregate_edges(const GraphOf<Backend>& adj, autograd::Var<T, Backend> messages) {
  GAS_CHECK(messages.rows() == adj.num_edges(), shape_error,
            "messages (" << messages.rows() << " x " << messages.cols() << ") need one row per edge of the adjacency ("
                         << adj.rows() << " x " << adj.cols() << ", " << adj.num_edges() << " edges)");
  return record(AggregateEdges<A, Backend>{.adj = &adj}, adj.rows(), messages.cols(), {messages});
}

}  // namespace gas::ops
