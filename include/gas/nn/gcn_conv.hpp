#pragma once
/// @brief `GCNConv`: A_hat (X W) + b over a pre-normalized adjacency, as PyG's GCNConv(normalize=False).
///
/// GAS normalizes the whole graph once (self-loops, D^-1/2 A D^-1/2; see graph/transforms.hpp) before cutting
/// batches, so every batch row keeps its exact weights; the convolution itself only multiplies.

#include <cstdint>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/init.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/product_order.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief Graph convolution out = A_hat (x W^T) + b with A_hat's weights given (PyG: normalize=False).
template <class T, class Backend = host>
struct GCNConv : Module<T, Backend> {
  Linear<T, Backend> lin;          // "lin.weight" (out, in), glorot, no bias
  autograd::Parameter<T, Backend> bias;  // "bias" (1, out), zeros; (0, 0) without a bias

  /// @brief A convolution from `in` to `out` features, initialized as PyG (glorot weight, zero bias).
  GCNConv(std::int64_t in, std::int64_t out, Rng& rng, bool with_bias = true)
      : lin(in, out, rng, {.bias = false, .weight_init = WeightInit::glorot}) {
    this->register_module("lin", lin);
    if (with_bias) this->register_parameter("bias", bias = make_parameter<T, Backend>("bias", 1, out));
  }

  /// @brief x (adj.cols(), in) -> (adj.rows(), out); `adj` may be a bipartite batch [batch x n_id] and must
  /// outlive the backward pass. Multiplies by W on whichever side of the aggregation costs less (nn::transform_first;
  /// the result is the same up to rounding; a sparse x is always transformed first). Throws shape_error naming the shapes.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, const GraphOf<Backend>& adj) {
    GAS_CHECK(x.rows() == adj.cols() && x.cols() == lin.in_features(), shape_error,
              "GCNConv (" << lin.in_features() << " -> " << lin.out_features() << ") got x (" << x.rows() << " x "
                          << x.cols() << ") for adjacency (" << adj.rows() << " x " << adj.cols()
                          << "): x needs adj.cols() rows and " << lin.in_features() << " columns");
    // A sparse x (sparse features) costs nnz x out to transform; aggregating it would make it dense first.
    const bool first = x.is_sparse() || transform_first(adj.rows(), adj.num_edges(), lin.in_features(),
                                                        lin.out_features(), x.nnz());
    auto h = first ? ops::spmm<ops::aggr::Sum>(adj, lin.forward(tape, x))
                   : lin.forward(tape, ops::spmm<ops::aggr::Sum>(adj, x));  // (rows, out)
    return bias.value.size() > 0 ? ops::bias_add(h, tape.param(bias)) : h;
  }
};

}  // namespace gas::nn
