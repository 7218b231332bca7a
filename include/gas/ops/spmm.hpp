#pragma once
/// @brief `spmm<A>(adj, x)`: sparse (adjacency) times dense (node features) under an aggregation policy. Host:
/// gas/ops/host/spmm.hpp (row-parallel, no atomics, bit-identical for every thread count); device:
/// gas/cuda/ops/spmm.cuh.

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/spmm.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief Aggregates neighbors' feature rows: out_i = A_{j in N(i)} x_j under the policy `A`, shape
/// (adj.rows(), x.cols()); `adj` is (rows x cols) with x (cols, width), so a bipartite batch adjacency works.
///
/// Sum: out_i = sum_e w_e x_col(e) (w_e = 1 for an unweighted graph; a GCN-normalized graph gives A_hat X).
/// Mean: (1 / deg_i) sum_e x_col(e), ignoring weights. Max / Min: elementwise over the neighbors, ignoring
/// weights; the gradient reaches the chosen neighbor only (the first one on ties). An empty row gives 0
/// under every policy. `adj` is a Graph on the host, a cuda::DeviceCsr on the device (built with its transpose
/// when a backward pass follows); it must outlive the backward pass (the tape keeps a pointer to it). Throws
/// shape_error naming both shapes when adj.cols() != x.rows().
/// @tparam A an aggregation policy (aggr::Sum, Mean, Max, Min or a user tag naming one of their reductions).
template <aggr::Aggregation A, class T, class Backend>
autograd::Var<T, Backend> spmm(const GraphOf<Backend>& adj, autograd::Var<T, Backend> x) {
  GAS_CHECK(adj.cols() == x.rows(), shape_error,
            "adjacency (" << adj.rows() << " x " << adj.cols() << ") cannot aggregate features (" << x.rows()
                          << " x " << x.cols() << "): adj.cols() must equal x.rows()");
  return record(Spmm<A, Backend>{.adj = &adj}, adj.rows(), x.cols(), {x});
}

}  // namespace gas::ops
