#pragma once
// Test-only helpers for the layer tests: PyG fixtures (tests/data/conv_*.npz, written by
// tools/make_conv_fixtures.py), graphs built from edge lists, random tensors and tolerant comparisons.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/io/zip.hpp"

#include "test_util.hpp"

namespace gas_test {

using Fixture = std::map<std::string, gas::io::NpyArray>;

/// The committed fixture tests/data/conv_<name>.npz.
inline Fixture load_fixture(const std::string& name) {
  const auto path = fixture_path("conv_" + name + ".npz");
  return gas::io::read_npz_arrays(path);
}

inline const gas::io::NpyArray& entry(const Fixture& f, const std::string& key) {
  const auto it = f.find(key);
  REQUIRE_MESSAGE(it != f.end(), "fixture has no array '" << key << "'");
  return it->second;
}

/// A fixture array as a (rows, cols) tensor: 1-D arrays become one row, (1, H, C) becomes (H, C).
template <class T>
gas::Tensor<T> fixture_tensor(const Fixture& f, const std::string& key) {
  const auto& a = entry(f, key);
  const auto& s = a.shape();
  const std::int64_t cols = s.empty() ? 1 : s.back();
  const std::int64_t rows = cols == 0 ? 0 : a.size() / cols;
  return gas::Tensor<T>(rows, cols, a.to_vector<T>());
}

/// The graph of edge_index ([source; target]) with optional weights, `rows` targets and `cols` sources: row i
/// of the CSR lists the sources of the edges into i. Duplicates are kept, as PyG keeps them.
inline gas::Graph fixture_graph(const Fixture& f, const std::string& prefix, gas::node_id rows, gas::node_id cols) {
  const auto ei = entry(f, prefix + "edge_index").to_vector<gas::node_id>();
  const std::size_t e = ei.size() / 2;
  const std::span<const gas::node_id> src(ei.data(), e), dst(ei.data() + e, e);
  std::vector<float> w;
  if (f.contains(prefix + "edge_weight")) w = entry(f, prefix + "edge_weight").to_vector<float>();
  return gas::csr_from_coo<gas::node_id, float>(rows, cols, dst, src, w, {.dedupe = false});
}

/// Copies each parameter's value from the fixture array named rename(parameter name), checking its size.
template <class T>
void load_parameters(const Fixture& f, const std::vector<gas::autograd::Parameter<T>*>& params,
                     const std::function<std::string(const std::string&)>& rename = {}) {
  for (auto* p : params) {
    const std::string key = rename ? rename(p->name) : p->name;
    const auto values = entry(f, key).to_vector<T>();
    REQUIRE_MESSAGE(
        static_cast<std::int64_t>(values.size()) == p->value.size(),
        key << ": fixture has " << values.size() << " values, parameter " << p->rows() << " x " << p->cols());
    std::copy(values.begin(), values.end(), p->value.values().begin());
  }
}

/// Max over elements of |a - b| / max(1, |b|).
template <class T>
double max_relative_error(gas::MatrixView<const T> a, const gas::Tensor<double>& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  double worst = 0;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    for (std::int64_t j = 0; j < a.cols(); ++j)
      worst = std::max(worst, std::abs(static_cast<double>(a(i, j)) - b(i, j)) / std::max(1.0, std::abs(b(i, j))));
  return worst;
}

/// Tolerance of a forward comparison with PyG's float64 output: tight in double, float rounding in float.
template <class T>
constexpr double pyg_tolerance() {
  return std::is_same_v<T, double> ? 1e-5 : 1e-4;
}

/// A (rows, cols) tensor of standard normal draws.
template <class T = double>
gas::Tensor<T> random_tensor(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  gas::Tensor<T> t(rows, cols);
  gas::Rng rng(seed);
  for (auto& x : t.values()) x = static_cast<T>(rng.normal());
  return t;
}

/// A random graph for gradient checks: `rows` targets over `cols` sources (rows <= cols), a self-loop on every
/// third target, the last target isolated, and random positive weights when `weighted`.
inline gas::Graph random_graph(gas::node_id rows, gas::node_id cols, std::uint64_t seed, bool weighted) {
  gas::Rng rng(seed);
  std::vector<gas::node_id> r, c;
  std::vector<float> w;
  for (gas::node_id i = 0; i + 1 < rows; ++i) {
    if (i % 3 == 0) {
      r.push_back(i);
      c.push_back(i);
    }
    const int extra = 1 + static_cast<int>(rng.below(3));
    for (int k = 0; k < extra; ++k) {
      r.push_back(i);
      c.push_back(static_cast<gas::node_id>(rng.below(static_cast<std::uint64_t>(cols))));
    }
  }
  if (weighted)
    for (std::size_t k = 0; k < r.size(); ++k) w.push_back(static_cast<float>(rng.uniform(0.2, 1.0)));
  return gas::csr_from_coo<gas::node_id, float>(rows, cols, r, c, w);
}

}  // namespace gas_test
