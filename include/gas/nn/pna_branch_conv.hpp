#pragma once
/// @brief `PNABranchConv`: the PNA convolution of the GAS reference (PyGAS's own PNAConv), a sum of one branch
/// per (aggregator, scaler) pair plus a root term:
///
///     out_i = sum_{(a, s)} post_{a,s}( s(deg_i) * a_{j in N(i)} ReLU(pre_{a,s}(x_j)) ) + lin(x_i)
///
/// Unlike PyG's PNAConv (`nn::PNAConv`: one pre-layer on [x_i, x_j], the aggregated blocks concatenated and
/// mixed by one post-layer), every branch here has its own pre- and post-Linear and the branches are summed.
/// The scaler multiplies the aggregated rows before post (REFERENCE.md's order), so a node without neighbors
/// gets post's bias from every branch, whatever the scaler. PyGAS's pna.py scales after post instead; with its
/// attenuation avg_log / (log(deg + 1) + 1e-5) that would multiply post's bias by about 1e5 for such a node.
///
/// deg_i is row i's number of entries in the adjacency: in a GAS batch every in-batch row holds its full
/// neighborhood, so it is the node's degree in the whole graph. avg_log (the mean of log(deg + 1) over the
/// whole graph) comes in through `PNAOptions::degrees` (`nn::degree_statistics` of the whole graph), never
/// from a batch. Sum aggregation uses edge weights when the graph has them (mean, max and min ignore them);
/// the reference runs PNA on the raw, unweighted graph without self-loops.

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/module.hpp"
#include "gas/nn/pna_conv.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief Only `Aggregators<...>` lists configure a PNABranchConv.
template <class T, class Backend = host, class Aggrs = Aggregators<ops::aggr::Sum, ops::aggr::Mean, ops::aggr::Max>>
struct PNABranchConv {
  static_assert(dependent_false<Aggrs>, "PNABranchConv: the aggregators are given as nn::Aggregators<ops::aggr::...>");
};

/// @brief The reference's PNA convolution; x (adj.cols(), in), targets its first adj.rows() rows ->
/// (adj.rows(), out).
/// @tparam A the aggregators; branch k = a * |scalers| + s pairs aggregator a with scaler s (itertools.product).
///
/// Scalers: identity, amplification log(deg + 1) / avg_log, attenuation avg_log / (log(deg + 1) + 1e-5); the
/// reference knows no others, so the linear scalers are refused.
template <class T, class Backend, ops::aggr::Aggregation... A>
struct PNABranchConv<T, Backend, Aggregators<A...>> : Module<T, Backend> {
  static_assert(sizeof...(A) > 0, "PNABranchConv needs at least one aggregator");

  /// @brief The reference's guard on attenuation's denominator.
  static constexpr double attenuation_eps = 1e-5;

  PNAOptions options;
  ModuleList<Linear<T, Backend>> pre;   // "pre_lins.k" (out, in), one per branch
  ModuleList<Linear<T, Backend>> post;  // "post_lins.k" (out, out), one per branch
  Linear<T, Backend> lin;                // "lin" (out, in): the root term

  /// @brief A convolution initialized as torch.nn.Linear from `rng` (pre-layers, post-layers, lin: PyTorch's
  /// registration order). Throws value_error for non-positive sizes, no scaler, a linear scaler, or
  /// avg_log <= 0 with amplification or attenuation.
  PNABranchConv(PNAOptions opts, Rng& rng)
      // lin draws from rng after every branch layer (PyTorch's order): its initializer builds them first.
      : options(checked(std::move(opts))), lin((build_branches(rng), options.in), options.out, rng) {
    this->register_module("pre_lins", pre);
    this->register_module("post_lins", post);
    this->register_module("lin", lin);
  }

  /// @brief Number of branches: |aggregators| |scalers|.
  [[nodiscard]] std::size_t branches() const { return sizeof...(A) * options.scalers.size(); }

  /// @brief x (adj.cols(), in) -> (adj.rows(), out); the targets are x's first adj.rows() rows. `adj` must
  /// outlive the backward pass. Throws shape_error naming the shapes.
  ///
  /// The branches share their products: the pre-layers run as one (|branches| out, in) weight, each aggregator
  /// aggregates its branches' columns at once, and sum_k post_k(m_k) is one product of the concatenated m_k with
  /// the post-layers' weights side by side (plus the sum of their biases). Three matrix products instead of
  /// 2 |branches| + 1, the same function.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, const GraphOf<Backend>& adj) {
    using Var = autograd::Var<T, Backend>;
    const std::int64_t rows = adj.rows(), out = options.out;
    GAS_CHECK(x.rows() == adj.cols() && rows <= adj.cols() && x.cols() == options.in, shape_error,
              "PNABranchConv (" << options.in << " -> " << out << ") got x (" << x.rows() << " x " << x.cols()
                                << ") for adjacency (" << adj.rows() << " x " << adj.cols()
                                << "): x needs adj.cols() rows and " << options.in
                                << " columns, the targets being its first rows");
    const std::size_t k = branches();
    const auto scalers = static_cast<std::int64_t>(options.scalers.size());
    const double avg_log = options.degrees.avg_log;
    auto log_degree = [&](std::int64_t i) {
      return std::log(static_cast<double>(adj.degree(static_cast<node_id>(i))) + 1.0);
    };
    // Per-row factors are shared by every aggregator's branch with that scaler: built once per call.
    Var amplification, attenuation;  // (rows, 1) constants
    auto factor = [&](Scaler s) {
      if (s == Scaler::amplification) {
        if (amplification.id() < 0)
          amplification = detail::row_constant(tape, rows, [&](std::int64_t i) { return log_degree(i) / avg_log; });
        return amplification;
      }
      if (attenuation.id() < 0)
        attenuation = detail::row_constant(
            tape, rows, [&](std::int64_t i) { return avg_log / (log_degree(i) + attenuation_eps); });
      return attenuation;
    };
    auto joined = [](std::vector<Var>& parts, bool by_rows) {
      if (parts.size() == 1) return parts.front();
      const std::span<const Var> all(parts);
      return by_rows ? ops::concat_rows(all) : ops::concat_cols(all);
    };

    weights_.clear();  // members, so that steady-state steps reuse their capacity
    biases_.clear();
    for (auto& l : pre) {
      weights_.push_back(tape.param(l.weight));
      biases_.push_back(tape.param(l.bias));
    }
    auto h = ops::matmul(x, joined(weights_, true), false, true);  // (cols, k out)
    h = ops::relu(ops::bias_add(h, joined(biases_, false)));

    bool scaled = false;
    for (auto s : options.scalers) scaled = scaled || s != Scaler::identity;
    blocks_.clear();
    std::int64_t a = 0;
    auto aggregate = [&]<class Aggr>() {
      const std::int64_t width = scalers * out;
      auto m = ops::spmm<Aggr>(adj, sizeof...(A) == 1 ? h : ops::slice_cols(h, a * width, (a + 1) * width));
      if (!scaled) {  // (rows, |scalers| out), already in branch order
        blocks_.push_back(m);
      } else {
        for (std::int64_t s = 0; s < scalers; ++s) {
          auto block = scalers == 1 ? m : ops::slice_cols(m, s * out, (s + 1) * out);  // (rows, out)
          const Scaler scaler = options.scalers[static_cast<std::size_t>(s)];
          blocks_.push_back(scaler == Scaler::identity ? block : ops::mul_rows(block, factor(scaler)));
        }
      }
      ++a;
    };
    (aggregate.template operator()<A>(), ...);
    auto m = joined(blocks_, false);  // (rows, k out)

    weights_.clear();
    for (auto& l : post) weights_.push_back(tape.param(l.weight));
    auto y = ops::matmul(m, joined(weights_, false), false, true);  // (rows, out)
    auto bias = tape.param(post.front().bias);                      // (1, out)
    for (std::size_t b = 1; b < k; ++b) bias = ops::add(bias, tape.param(post[b].bias));
    y = ops::bias_add(y, bias);
    auto x_dst = x.rows() == rows ? x : ops::slice_rows(x, 0, rows);
    return ops::add(y, lin.forward(tape, x_dst));
  }

private:
  static PNAOptions checked(PNAOptions options) {
    GAS_CHECK(options.in > 0 && options.out > 0, value_error,
              "PNABranchConv needs positive sizes, got in " << options.in << ", out " << options.out);
    GAS_CHECK(!options.scalers.empty(), value_error, "PNABranchConv needs at least one scaler");
    for (auto s : options.scalers) {
      GAS_CHECK(s == Scaler::identity || s == Scaler::amplification || s == Scaler::attenuation, value_error,
                "PNABranchConv knows the identity, amplification and attenuation scalers (as the reference), not "
                "the linear ones");
      if (s != Scaler::identity)
        GAS_CHECK(options.degrees.avg_log > 0, value_error,
                  "amplification and attenuation need avg_log > 0 (the whole graph's mean of log(deg + 1)), got "
                      << options.degrees.avg_log);
    }
    return options;
  }

  void build_branches(Rng& rng) {
    for (std::size_t b = 0; b < branches(); ++b) pre.emplace_back(options.in, options.out, rng);
    for (std::size_t b = 0; b < branches(); ++b) post.emplace_back(options.out, options.out, rng);
  }

  std::vector<autograd::Var<T, Backend>> weights_;  // the pre- or post-layers' weights, of the call in progress
  std::vector<autograd::Var<T, Backend>> biases_;   // the pre-layers' biases, of the call in progress
  std::vector<autograd::Var<T, Backend>> blocks_;   // the aggregated (and scaled) branches, of the call in progress
};

}  // namespace gas::nn
