#pragma once
/// @brief `GATConv`: multi-head graph attention, as PyG's GATConv with self-loops already in the graph.
///
/// GAS adds self-loops to the graph once, before batching, and runs the convolution with
/// add_self_loops=False on (x, x[:batch]); the attention of edge (i <- j) in head h is
/// softmax_j(leaky_relu(a_src[h] . (W x_j)[h] + a_dst[h] . (W x_i)[h])), the messages are alpha (W x_j)[h],
/// and the heads are concatenated or averaged. Edge weights are ignored, as in PyG.

#include <cstdint>
#include <span>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/init.hpp"
#include "gas/nn/module.hpp"
#include "gas/nn/linear.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/dropout.hpp"
#include "gas/ops/edge.hpp"
#include "gas/ops/matmul.hpp"

namespace gas::nn {

/// @brief Sizes and switches of a `GATConv` (PyG's names and defaults).
struct GATOptions {
  std::int64_t in = 0;
  std::int64_t out = 0;  ///< features per head
  std::int64_t heads = 1;
  bool concat = true;  ///< concatenate the heads (heads * out columns) or average them (out)
  double negative_slope = 0.2;
  double dropout = 0.0;  ///< dropout on the attention coefficients, in training only
  bool bias = true;
};

/// @brief Graph attention convolution; x (adj.cols(), in) -> (adj.rows(), heads * out or out).
template <class T, class Backend = host>
struct GATConv : Module<T, Backend> {
  GATOptions options;
  Linear<T, Backend> lin_src;         // "lin_src.weight" (heads * out, in), glorot; PyG's lin_dst is the same module
  autograd::Parameter<T, Backend> att_src;  // "att_src" (heads, out): PyG's (1, heads, out)
  autograd::Parameter<T, Backend> att_dst;  // "att_dst" (heads, out)
  autograd::Parameter<T, Backend> bias;     // "bias" (1, heads * out) when concatenating, (1, out) when averaging

  /// @brief A convolution initialized as PyG (glorot weights and attention vectors, zero bias). Throws
  /// value_error for non-positive sizes or a dropout outside [0, 1).
  GATConv(GATOptions opts, Rng& rng)
      : options(opts),
        lin_src(opts.in, opts.heads * opts.out, rng, {.bias = false, .weight_init = WeightInit::glorot}) {
    GAS_CHECK(opts.heads > 0 && opts.out > 0, value_error,
              "GATConv needs positive heads and out, got heads " << opts.heads << ", out " << opts.out);
    GAS_CHECK(opts.dropout >= 0 && opts.dropout < 1, value_error,
              "attention dropout " << opts.dropout << " outside [0, 1)");
    att_src = make_parameter<T, Backend>("att_src", opts.heads, opts.out);
    att_dst = make_parameter<T, Backend>("att_dst", opts.heads, opts.out);
    glorot_(att_src.value, rng);
    glorot_(att_dst.value, rng);
    if (opts.bias) bias = make_parameter<T, Backend>("bias", 1, opts.concat ? opts.heads * opts.out : opts.out);
    this->register_module("lin_src", lin_src);
    this->register_parameter("att_src", att_src);
    this->register_parameter("att_dst", att_dst);
    if (opts.bias) this->register_parameter("bias", bias);
  }

  /// @brief Output width: heads * out when concatenating, out when averaging.
  [[nodiscard]] std::int64_t out_features() const { return options.concat ? options.heads * options.out : options.out; }

  /// @brief GAS's call: targets are the first adj.rows() rows of x (the batch of [batch ; halo]), so their
  /// projections are a view of the sources'. `seed` draws the attention dropout mask in training. `adj` must
  /// outlive the backward pass. Throws shape_error naming the shapes.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, const GraphOf<Backend>& adj,
                              bool training = false, std::uint64_t seed = 0) {
    check_source(x, adj);
    GAS_CHECK(adj.rows() <= adj.cols(), shape_error,
              "GATConv on x alone takes the targets as x's first rows, but adjacency ("
                  << adj.rows() << " x " << adj.cols() << ") has more rows than columns; pass (x_src, x_dst)");
    auto h_src = lin_src.forward(tape, x);  // (cols, heads * out)
    return attend(tape, h_src, ops::slice_rows(h_src, 0, adj.rows()), adj, training, seed);
  }

  /// @brief Bipartite call with separate target features x_dst (adj.rows(), in), projected by the same weight
  /// (PyG's lin_dst is lin_src for an integer in_channels).
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x_src, autograd::Var<T, Backend> x_dst,
                              const GraphOf<Backend>& adj, bool training = false, std::uint64_t seed = 0) {
    check_source(x_src, adj);
    GAS_CHECK(x_dst.rows() == adj.rows() && x_dst.cols() == options.in, shape_error,
              "GATConv targets x_dst (" << x_dst.rows() << " x " << x_dst.cols() << ") need adj.rows() = " << adj.rows()
                                        << " rows and " << options.in << " columns");
    return attend(tape, lin_src.forward(tape, x_src), lin_src.forward(tape, x_dst), adj, training, seed);
  }

private:
  using Var = autograd::Var<T, Backend>;

  std::vector<Var> parts_;  // per-head scores of the call in progress

  void check_source(Var x, const GraphOf<Backend>& adj) const {
    GAS_CHECK(x.rows() == adj.cols() && x.cols() == options.in, shape_error,
              "GATConv (" << options.in << " -> " << options.heads << " x " << options.out << ") got x (" << x.rows()
                          << " x " << x.cols() << ") for adjacency (" << adj.rows() << " x " << adj.cols()
                          << "): x needs adj.cols() rows and " << options.in << " columns");
  }

  /// @brief Per-head scores h[:, head] . att[head]: (n, heads).
  Var head_scores(autograd::Tape<T, Backend>& tape, Var h, autograd::Parameter<T, Backend>& att) {
    const std::int64_t c = options.out;
    auto a = tape.param(att);  // (heads, out)
    if (options.heads == 1) return ops::matmul(h, a, false, true);
    parts_.clear();  // a member, so that steady-state steps reuse its capacity
    for (std::int64_t k = 0; k < options.heads; ++k)
      parts_.push_back(ops::matmul(ops::slice_cols(h, k * c, (k + 1) * c), ops::slice_rows(a, k, k + 1), false, true));
    return ops::concat_cols(std::span<const Var>(parts_));
  }

  Var attend(autograd::Tape<T, Backend>& tape, Var h_src, Var h_dst, const GraphOf<Backend>& adj, bool training, std::uint64_t seed) {
    auto scores = ops::add(ops::gather_edge_src(adj, head_scores(tape, h_src, att_src)),
                           ops::gather_edge_dst(adj, head_scores(tape, h_dst, att_dst)));  // (E, heads)
    auto alpha = ops::edge_softmax(adj, ops::leaky_relu(scores, options.negative_slope));
    alpha = ops::dropout(alpha, options.dropout, seed, training);
    auto out = ops::spmm_edge(adj, alpha, h_src);  // (rows, heads * out)
    if (!options.concat && options.heads > 1) {
      const std::int64_t c = options.out;
      auto mean = ops::slice_cols(out, 0, c);
      for (std::int64_t k = 1; k < options.heads; ++k) mean = ops::add(mean, ops::slice_cols(out, k * c, (k + 1) * c));
      out = ops::scale(mean, static_cast<T>(1.0 / static_cast<double>(options.heads)));
    }
    return bias.value.size() > 0 ? ops::bias_add(out, tape.param(bias)) : out;
  }
};

}  // namespace gas::nn
