#pragma once
// Test-only helpers shared by the op tests: seeded random tensors and random (possibly bipartite) graphs, so
// that every op test draws the same inputs on every machine.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/reduce.hpp"

namespace gas_test {

/// A (rows, cols) tensor of independent uniform draws in [lo, hi), the same for the same seed everywhere.
template <class T>
gas::Tensor<T> random_tensor(std::int64_t rows, std::int64_t cols, std::uint64_t seed, double lo = -1.0,
                             double hi = 1.0) {
  gas::Tensor<T> t(rows, cols);
  gas::Rng rng(seed, 0x74656e73);  // own stream: a graph and a tensor drawn with one seed are unrelated
  for (auto& x : t.values()) x = static_cast<T>(rng.uniform(lo, hi));
  return t;
}

/// A random (rows x cols) sparse matrix, bipartite when rows != cols, rows sorted and without duplicates.
/// Each row draws about `avg_degree` distinct neighbors (uniform in [0, 2 avg_degree]) from [0, cols), except
/// every seventh row (i % 7 == 6), which is isolated: it has no entries at all, not even a self loop, so ops
/// meet empty rows. `self_loops` adds (i, i) to every other row with i < min(rows, cols). `weighted` gives
/// every entry a weight in [0.1, 1); otherwise the matrix has no weights (all 1).
inline gas::Graph random_graph(gas::node_id rows, gas::node_id cols, double avg_degree, std::uint64_t seed,
                               bool weighted, bool self_loops) {
  gas::Rng rng(seed, 0x67726170);
  std::vector<gas::node_id> src, dst;
  std::vector<float> weights;
  const auto max_degree = static_cast<std::uint64_t>(std::floor(2.0 * avg_degree));
  for (gas::node_id i = 0; i < rows; ++i) {
    if (i % 7 == 6) continue;
    auto add = [&](gas::node_id j) {
      src.push_back(i);
      dst.push_back(j);
      if (weighted) weights.push_back(static_cast<float>(rng.uniform(0.1, 1.0)));
    };
    if (self_loops && i < cols) add(i);
    const auto degree = cols > 0 ? rng.below(max_degree + 1) : 0;
    for (std::uint64_t k = 0; k < degree; ++k) add(static_cast<gas::node_id>(rng.below(static_cast<std::uint64_t>(cols))));
  }
  return gas::csr_from_coo<gas::node_id, float>(rows, cols, std::span<const gas::node_id>(src),
                                                std::span<const gas::node_id>(dst), std::span<const float>(weights));
}

/// A scalar loss sum_ij w_ij v_ij with fixed random weights w in [0.5, 1.5): unlike sum_all, every element of v
/// gets its own upstream gradient, so a backward that mixes up elements fails the gradient check.
template <class T, class Backend>
gas::autograd::Var<T, Backend> weighted_sum(gas::autograd::Var<T, Backend> v, std::uint64_t seed = 99) {
  const auto w = random_tensor<T>(v.rows(), v.cols(), seed, 0.5, 1.5);
  return gas::ops::sum_all(gas::ops::mul(v, v.tape().constant(w.view())));
}

/// The largest |a(i, j) - b(i, j)| of two matrices (Tensors or MatrixViews), or infinity when the shapes differ.
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    for (std::int64_t j = 0; j < a.cols(); ++j)
      worst = std::max(worst, std::abs(static_cast<double>(a(i, j)) - static_cast<double>(b(i, j))));
  return worst;
}

}  // namespace gas_test
