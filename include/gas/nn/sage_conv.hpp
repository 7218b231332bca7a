#pragma once
/// @brief `SAGEConv`: out = lin_l(aggregate_j x_j) + lin_r(x_i), as PyG's SAGEConv (root weight, no
/// normalization, no projection).

#include <cstdint>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/module.hpp"
#include "gas/nn/product_order.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief GraphSAGE convolution; x (adj.cols(), in) -> (adj.rows(), out).
/// @tparam Aggr how neighbors are aggregated (ops::aggr::Mean as PyG's default; Sum uses edge weights, Mean, Max
/// and Min ignore them).
template <class T, class Backend = host, ops::aggr::Aggregation Aggr = ops::aggr::Mean>
struct SAGEConv : Module<T, Backend> {
  Linear<T, Backend> lin_l;  // "lin_l.weight" (out, in), "lin_l.bias" (1, out): on the aggregated neighbors
  Linear<T, Backend> lin_r;  // "lin_r.weight" (out, in), no bias: on the root

  /// @brief A convolution initialized as torch.nn.Linear (PyG's default for SAGEConv).
  SAGEConv(std::int64_t in, std::int64_t out, Rng& rng, bool bias = true)
      : lin_l(in, out, rng, {.bias = bias}), lin_r(in, out, rng, {.bias = false}) {
    this->register_module("lin_l", lin_l);
    this->register_module("lin_r", lin_r);
  }

  /// @brief GAS's call: the roots are the first adj.rows() rows of x. `adj` must outlive the backward pass.
  /// Throws shape_error naming the shapes.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, const GraphOf<Backend>& adj) {
    GAS_CHECK(adj.rows() <= adj.cols() && x.rows() == adj.cols(), shape_error,
              "SAGEConv got x (" << x.rows() << " x " << x.cols() << ") for adjacency (" << adj.rows() << " x "
                                 << adj.cols() << "): x needs adj.cols() rows, the roots being its first adj.rows()");
    return forward(tape, x, x.rows() == adj.rows() ? x : ops::slice_rows(x, 0, adj.rows()), adj);
  }

  /// @brief Bipartite call with separate root features x_dst (adj.rows(), in).
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x_src, autograd::Var<T, Backend> x_dst,
                              const GraphOf<Backend>& adj) {
    const std::int64_t in = lin_l.in_features(), out = lin_l.out_features();
    GAS_CHECK(x_src.rows() == adj.cols() && x_dst.rows() == adj.rows() && x_src.cols() == in && x_dst.cols() == in,
              shape_error,
              "SAGEConv (" << in << " -> " << out << ") got x_src (" << x_src.rows() << " x " << x_src.cols()
                           << ") and x_dst (" << x_dst.rows() << " x " << x_dst.cols() << ") for adjacency ("
                           << adj.rows() << " x " << adj.cols() << ")");
    autograd::Var<T, Backend> neighbors;
    constexpr bool linear_aggregation =
        Aggr::reduction == ops::aggr::Reduction::sum || Aggr::reduction == ops::aggr::Reduction::mean;
    if (linear_aggregation && transform_first(adj.rows(), adj.num_edges(), in, out, x_src.rows() * in)) {
      // A (x W^T) = (A x) W^T for sum and mean; the bias is added after aggregating, as PyG does.
      neighbors = ops::spmm<Aggr>(adj, ops::matmul(x_src, tape.param(lin_l.weight), false, true));
      if (lin_l.has_bias()) neighbors = ops::bias_add(neighbors, tape.param(lin_l.bias));
    } else {
      neighbors = lin_l.forward(tape, ops::spmm<Aggr>(adj, x_src));
    }
    return ops::add(neighbors, lin_r.forward(tape, x_dst));
  }
};

}  // namespace gas::nn
