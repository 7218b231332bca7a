#pragma once
/// @brief `GCN2Conv`: GCNII's initial-residual, identity-mapped convolution, as PyG's GCN2Conv(normalize=False).
///
/// z = (1 - alpha) A_hat x + alpha x0; shared weights: out = (1 - beta) z + beta z W1; separate weights:
/// out = (1 - beta) p + beta p W1 + (1 - beta) q + beta q W2 with p = (1 - alpha) A_hat x, q = alpha x0;
/// beta = log(theta / layer + 1). There is no bias, as in PyG.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/init.hpp"
#include "gas/nn/module.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief Hyperparameters of a `GCN2Conv` (PyG's names).
struct GCN2Options {
  std::int64_t channels = 0;
  double alpha = 0.1;          ///< weight of the initial residual x0
  double theta = 0.5;          ///< with `layer`, sets beta = log(theta / layer + 1)
  std::int64_t layer = 1;      ///< 1-based depth of this layer
  bool shared_weights = true;  ///< one weight for both terms, or W1 for A_hat x and W2 for x0
};

/// @brief GCNII convolution; x (adj.cols(), C) and x0 (>= adj.rows(), C) -> (adj.rows(), C).
template <class T, class Backend = host>
struct GCN2Conv : Module<T, Backend> {
  GCN2Options options;
  double beta = 1;
  autograd::Parameter<T, Backend> weight1;  // "weight1" (C, C), glorot; out = ... z W1 (PyG's layout: x @ W)
  autograd::Parameter<T, Backend> weight2;  // "weight2" (C, C), glorot; (0, 0) with shared weights

  /// @brief A convolution initialized as PyG (glorot). Throws value_error for channels, layer or theta <= 0.
  GCN2Conv(GCN2Options opts, Rng& rng) : options(opts) {
    GAS_CHECK(opts.channels > 0 && opts.layer > 0 && opts.theta > 0, value_error,
              "GCN2Conv needs channels, layer and theta > 0, got " << opts.channels << ", " << opts.layer << ", "
                                                                   << opts.theta);
    beta = std::log(opts.theta / static_cast<double>(opts.layer) + 1.0);
    weight1 = make_parameter<T, Backend>("weight1", opts.channels, opts.channels);
    glorot_(weight1.value, rng);
    if (!opts.shared_weights) {
      weight2 = make_parameter<T, Backend>("weight2", opts.channels, opts.channels);
      glorot_(weight2.value, rng);
    }
    this->register_parameter("weight1", weight1);
    if (!opts.shared_weights) this->register_parameter("weight2", weight2);
  }

  /// @brief x (adj.cols(), C), x0 (at least adj.rows() rows; its first adj.rows() are used, as PyG's
  /// x_0[:rows]) -> (adj.rows(), C). `adj` (pre-normalized) must outlive the backward pass. Throws shape_error
  /// naming the shapes.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, autograd::Var<T, Backend> x0,
                              const GraphOf<Backend>& adj) {
    const std::int64_t c = options.channels;
    GAS_CHECK(x.rows() == adj.cols() && x.cols() == c && x0.rows() >= adj.rows() && x0.cols() == c, shape_error,
              "GCN2Conv (" << c << " channels) got x (" << x.rows() << " x " << x.cols() << ") and x0 (" << x0.rows()
                           << " x " << x0.cols() << ") for adjacency (" << adj.rows() << " x " << adj.cols()
                           << "): x needs adj.cols() rows, x0 at least adj.rows()");
    const T a = static_cast<T>(options.alpha), b = static_cast<T>(beta);
    auto p = ops::scale(ops::spmm<ops::aggr::Sum>(adj, x), T{1} - a);  // (rows, C)
    auto q = ops::scale(x0.rows() == adj.rows() ? x0 : ops::slice_rows(x0, 0, adj.rows()), a);
    if (options.shared_weights) {
      auto z = ops::add(p, q);
      return ops::add_scaled(z, T{1} - b, ops::matmul(z, tape.param(weight1)), b);
    }
    return ops::add(ops::add_scaled(p, T{1} - b, ops::matmul(p, tape.param(weight1)), b),
                    ops::add_scaled(q, T{1} - b, ops::matmul(q, tape.param(weight2)), b));
  }
};

}  // namespace gas::nn
