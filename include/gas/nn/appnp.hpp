#pragma once
/// @brief `APPNP`: personalised-PageRank propagation x <- (1 - alpha) A_hat x + alpha x0, K times, as PyG's
/// APPNP(normalize=False) over a pre-normalized adjacency.
///
/// GAS pushes and pulls histories between the steps, so a step is a call of its own (`step`); `forward` runs
/// all K on one square graph (full-batch training and tests).

#include <cstdint>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/nn/module.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief APPNP propagation with K steps and teleport probability alpha; no parameters.
template <class T, class Backend = host>
struct APPNP : Module<T, Backend> {
  std::int64_t K = 1;
  double alpha = 0.1;

  /// @brief Throws value_error for K < 0 or alpha outside [0, 1].
  APPNP(std::int64_t k, double alpha_) : K(k), alpha(alpha_) {
    GAS_CHECK(K >= 0 && alpha >= 0 && alpha <= 1, value_error,
              "APPNP needs K >= 0 and alpha in [0, 1], got K " << K << ", alpha " << alpha);
  }

  /// @brief One step: x (adj.cols(), F), x0 (at least adj.rows() rows, F; its first adj.rows() are used) ->
  /// (1 - alpha) A_hat x + alpha x0 (adj.rows(), F). `adj` must outlive the backward pass. Throws shape_error
  /// naming the shapes.
  autograd::Var<T, Backend> step(autograd::Var<T, Backend> x, autograd::Var<T, Backend> x0, const GraphOf<Backend>& adj) const {
    GAS_CHECK(x.rows() == adj.cols() && x0.rows() >= adj.rows() && x0.cols() == x.cols(), shape_error,
              "APPNP got x (" << x.rows() << " x " << x.cols() << ") and x0 (" << x0.rows() << " x " << x0.cols()
                              << ") for adjacency (" << adj.rows() << " x " << adj.cols()
                              << "): x needs adj.cols() rows, x0 at least adj.rows() and x's width");
    auto root = x0.rows() == adj.rows() ? x0 : ops::slice_rows(x0, 0, adj.rows());
    return ops::add_scaled(ops::spmm<ops::aggr::Sum>(adj, x), static_cast<T>(1 - alpha), root, static_cast<T>(alpha));
  }

  /// @brief K steps from x0 = x on a square adjacency: x (n, F) -> (n, F). Throws shape_error otherwise.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>&, autograd::Var<T, Backend> x, const GraphOf<Backend>& adj) const {
    GAS_CHECK(adj.rows() == adj.cols(), shape_error,
              "APPNP forward runs K steps on a square adjacency, got (" << adj.rows() << " x " << adj.cols()
                                                                        << "); call step() between history exchanges");
    auto h = x;
    for (std::int64_t k = 0; k < K; ++k) h = step(h, x, adj);
    return h;
  }
};

}  // namespace gas::nn
