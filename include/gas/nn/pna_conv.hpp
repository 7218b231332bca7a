#pragma once
/// @brief `PNAConv`: principal neighborhood aggregation, as PyG's PNAConv with one tower, one pre- and one
/// post-layer, no edge features and divide_input=False.
///
/// PyG's message is m_ij = pre([x_i, x_j]) = a_i + c_j with a = x W_i^T + b (the target's half) and c = x W_j^T
/// (the source's half). Every aggregator PNA uses commutes with adding a per-target constant, so
/// mean_j m_ij = a_i + mean_j c_j, max_j m_ij = a_i + max_j c_j, sum_j m_ij = deg_i (a_i + mean_j c_j); the
/// layer computes these from node-level spmm and never materializes the (E, F) messages. Empty rows give 0
/// under every aggregator, as in PyG. The aggregated (rows, |A| F) block is repeated once per degree scaler,
/// concatenated after x_i, and passed through post (to `out`) and lin (out -> out). Edge weights are ignored.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/module.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief The aggregators a PNAConv concatenates, in order (PyG's `aggregators` list as a type).
template <ops::aggr::Aggregation... A>
struct Aggregators {};

/// @brief Degree scalers of PNA; deg is a target's in-degree (its row length), clamped to 1 where PyG does.
enum class Scaler {
  identity,        ///< x
  amplification,   ///< x log(deg + 1) / avg_log
  attenuation,     ///< x avg_log / log(max(deg, 1) + 1)
  linear,          ///< x deg / avg_lin
  inverse_linear,  ///< x avg_lin / max(deg, 1)
};

/// @brief Averages over all nodes of a graph's in-degree statistics, as PyG's DegreeScalerAggregation derives
/// them from the degree histogram.
struct DegreeStatistics {
  double avg_log = 0;  ///< mean of log(deg + 1)
  double avg_lin = 0;  ///< mean of deg
};

/// @brief The degree statistics of a whole graph (rows are targets; isolated nodes count with degree 0).
/// Compute them once on the full graph, not per batch, as PyG's `deg` histogram is.
inline DegreeStatistics degree_statistics(const Graph& graph) {
  DegreeStatistics s;
  for (node_id i = 0; i < graph.rows(); ++i) {
    const auto d = static_cast<double>(graph.degree(i));
    s.avg_log += std::log(d + 1.0);
    s.avg_lin += d;
  }
  if (graph.rows() > 0) {
    s.avg_log /= static_cast<double>(graph.rows());
    s.avg_lin /= static_cast<double>(graph.rows());
  }
  return s;
}

/// @brief Sizes, scalers and degree statistics of a `PNAConv`.
struct PNAOptions {
  std::int64_t in = 0;
  std::int64_t out = 0;
  std::vector<Scaler> scalers = {Scaler::identity, Scaler::amplification, Scaler::attenuation};
  DegreeStatistics degrees{};  ///< of the whole graph (degree_statistics)
};

/// @brief Only `Aggregators<...>` lists configure a PNAConv.
template <class T, class Backend = host, class Aggrs = Aggregators<ops::aggr::Sum, ops::aggr::Mean, ops::aggr::Max>>
struct PNAConv {
  static_assert(dependent_false<Aggrs>, "PNAConv: the aggregators are given as nn::Aggregators<ops::aggr::...>");
};

/// @brief PNA convolution; x (adj.cols(), in), targets its first adj.rows() rows -> (adj.rows(), out).
/// @tparam A the aggregators, concatenated in this order (PyG: sum, mean, max).
template <class T, class Backend, ops::aggr::Aggregation... A>
struct PNAConv<T, Backend, Aggregators<A...>> : Module<T, Backend> {
  static_assert(sizeof...(A) > 0, "PNAConv needs at least one aggregator");

  PNAOptions options;
  Linear<T, Backend> pre;   // "pre_nns.0.0" (in, 2 in): the first `in` columns act on x_i, the rest on x_j
  Linear<T, Backend> post;  // "post_nns.0.0" (out, (1 + |A| |scalers|) in)
  Linear<T, Backend> lin;   // "lin" (out, out)

  /// @brief A convolution initialized as torch.nn.Linear (PyG's default). Throws value_error for
  /// non-positive sizes, no scaler, or a degree average a chosen scaler would divide by that is not positive.
  PNAConv(PNAOptions opts, Rng& rng)
      : options(std::move(opts)),
        pre(2 * options.in, options.in, rng),
        post(options.in * (1 + static_cast<std::int64_t>(sizeof...(A) * options.scalers.size())), options.out, rng),
        lin(options.out, options.out, rng) {
    this->register_module("pre_nns.0.0", pre);
    this->register_module("post_nns.0.0", post);
    this->register_module("lin", lin);
    GAS_CHECK(!options.scalers.empty(), value_error, "PNAConv needs at least one scaler");
    for (auto s : options.scalers) {
      if (s == Scaler::amplification || s == Scaler::attenuation)
        GAS_CHECK(options.degrees.avg_log > 0, value_error,
                  "amplification and attenuation need avg_log > 0, got " << options.degrees.avg_log);
      if (s == Scaler::linear || s == Scaler::inverse_linear)
        GAS_CHECK(options.degrees.avg_lin > 0, value_error,
                  "linear scalers need avg_lin > 0, got " << options.degrees.avg_lin);
    }
  }

  /// @brief x (adj.cols(), in) -> (adj.rows(), out); the targets are x's first adj.rows() rows. `adj` must
  /// outlive the backward pass. Throws shape_error naming the shapes.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, const GraphOf<Backend>& adj) {
    using Var = autograd::Var<T, Backend>;
    const std::int64_t in = options.in, rows = adj.rows();
    GAS_CHECK(x.rows() == adj.cols() && rows <= adj.cols() && x.cols() == in, shape_error,
              "PNAConv (" << in << " -> " << options.out << ") got x (" << x.rows() << " x " << x.cols()
                          << ") for adjacency (" << adj.rows() << " x " << adj.cols()
                          << "): x needs adj.cols() rows and " << in << " columns, the targets being its first rows");
    auto deg = [&](std::int64_t i) { return static_cast<double>(adj.degree(static_cast<node_id>(i))); };
    auto factors = [&](auto f) { return detail::row_constant(tape, rows, f); };  // (rows, 1) constant

    auto x_dst = x.rows() == rows ? x : ops::slice_rows(x, 0, rows);
    auto w = tape.param(pre.weight);  // (in, 2 in)
    auto a = ops::bias_add(ops::matmul(x_dst, ops::slice_cols(w, 0, in), false, true), tape.param(pre.bias));
    auto c = ops::matmul(x, ops::slice_cols(w, in, 2 * in), false, true);  // (cols, in)
    auto a_present = ops::mul_rows(a, factors([&](std::int64_t i) { return deg(i) > 0 ? 1.0 : 0.0; }));

    Var mean;  // a_i + mean_j c_j, shared by the mean and sum aggregators
    auto get_mean = [&] {
      if (mean.id() < 0) mean = ops::add(a_present, ops::spmm<ops::aggr::Mean>(adj, c));
      return mean;
    };
    aggregated_.clear();  // members, so that steady-state steps reuse their capacity
    parts_.clear();
    auto aggregate = [&]<class Aggr>() {
      constexpr auto r = Aggr::reduction;
      if constexpr (r == ops::aggr::Reduction::mean) aggregated_.push_back(get_mean());
      else if constexpr (r == ops::aggr::Reduction::sum) aggregated_.push_back(ops::mul_rows(get_mean(), factors(deg)));
      else aggregated_.push_back(ops::add(a_present, ops::spmm<Aggr>(adj, c)));
    };
    (aggregate.template operator()<A>(), ...);
    auto agg = aggregated_.size() == 1 ? aggregated_.front() : ops::concat_cols(std::span<const Var>(aggregated_));

    parts_.push_back(x_dst);
    for (auto s : options.scalers) {
      if (s == Scaler::identity) parts_.push_back(agg);
      else parts_.push_back(ops::mul_rows(agg, factors([&](std::int64_t i) { return scaler_factor(s, deg(i)); })));
    }
    auto h = ops::concat_cols(std::span<const Var>(parts_));  // (rows, (1 + |A| |scalers|) in)
    return lin.forward(tape, post.forward(tape, h));
  }

private:
  /// @brief The factor scaler `s` applies to a target of in-degree `deg` (PyG 2.3.1's formulas).
  [[nodiscard]] double scaler_factor(Scaler s, double deg) const {
    const double avg_log = options.degrees.avg_log, avg_lin = options.degrees.avg_lin;
    switch (s) {
      case Scaler::identity: return 1.0;
      case Scaler::amplification: return std::log(deg + 1.0) / avg_log;
      case Scaler::attenuation: return avg_log / std::log(std::max(deg, 1.0) + 1.0);
      case Scaler::linear: return deg / avg_lin;
      case Scaler::inverse_linear: return avg_lin / std::max(deg, 1.0);
    }
    return 1.0;
  }

  std::vector<autograd::Var<T, Backend>> aggregated_;  // (rows, in) per aggregator, of the call in progress
  std::vector<autograd::Var<T, Backend>> parts_;       // x_i and the scaled blocks, of the call in progress
};

}  // namespace gas::nn
