// Property tests of the graph transforms against naive references (std::map, dense matrices) on random
// graphs that contain isolated nodes, self-loops and duplicate edges, plus every bad-input error.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <utility>
#include <vector>

#include "gas/core/rng.hpp"
#include "gas/graph/transforms.hpp"

namespace {

/// Edges in input order; the last fifth of the nodes never appears, so those nodes are isolated.
template <class Index, class Weight>
struct Coo {
  Index n = 0;
  std::vector<Index> src, dst;
  std::vector<Weight> w;  // empty when unweighted
};

template <class Index, class Weight>
Coo<Index, Weight> random_coo(gas::Rng& rng, Index n, std::int64_t m, bool weighted) {
  Coo<Index, Weight> coo;
  coo.n = n;
  const auto active = static_cast<std::uint64_t>(std::max<Index>(1, n * 4 / 5));
  for (std::int64_t e = 0; e < m; ++e) {
    Index s, d;
    if (e > 0 && rng.bernoulli(0.1)) {  // a duplicate of the previous edge, maybe with another weight
      s = coo.src.back();
      d = coo.dst.back();
    } else {
      s = static_cast<Index>(rng.below(active));
      d = rng.bernoulli(0.1) ? s : static_cast<Index>(rng.below(active));
    }
    coo.src.push_back(s);
    coo.dst.push_back(d);
    if (weighted) coo.w.push_back(static_cast<Weight>(rng.uniform(0.25, 2.0)));
  }
  return coo;
}

/// CSR with rows sorted by (column, weight) and duplicates kept.
template <class Index, class Weight>
gas::Csr<Index, Weight> sorted_csr(const Coo<Index, Weight>& coo) {
  return gas::csr_from_coo<Index, Weight>(coo.n, coo.n, coo.src, coo.dst, coo.w,
                                          {.symmetrize = false, .dedupe = false, .drop_self_loops = false});
}

/// CSR whose rows keep the input order (unsorted), built without csr_from_coo.
template <class Index, class Weight>
gas::Csr<Index, Weight> raw_csr(const Coo<Index, Weight>& coo) {
  std::vector<std::int64_t> indptr(static_cast<std::size_t>(coo.n) + 1, 0);
  for (auto s : coo.src) ++indptr[static_cast<std::size_t>(s) + 1];
  std::partial_sum(indptr.begin(), indptr.end(), indptr.begin());
  std::vector<std::int64_t> cursor(indptr.begin(), indptr.end() - 1);
  std::vector<Index> indices(coo.src.size());
  std::vector<Weight> weights(coo.w.size());
  for (std::size_t e = 0; e < coo.src.size(); ++e) {
    const auto at = static_cast<std::size_t>(cursor[static_cast<std::size_t>(coo.src[e])]++);
    indices[at] = coo.dst[e];
    if (!coo.w.empty()) weights[at] = coo.w[e];
  }
  return {coo.n, coo.n, std::move(indptr), std::move(indices), std::move(weights)};
}

/// Dense (rows x cols) matrix with duplicates summed; unweighted entries count 1.
template <class Index, class Weight>
std::vector<double> dense(const gas::Csr<Index, Weight>& a) {
  std::vector<double> d(static_cast<std::size_t>(a.rows()) * static_cast<std::size_t>(a.cols()), 0.0);
  for (Index r = 0; r < a.rows(); ++r) {
    const auto cols = a.neighbors(r);
    const auto ws = a.edge_weights(r);
    for (std::size_t k = 0; k < cols.size(); ++k)
      d[static_cast<std::size_t>(r) * static_cast<std::size_t>(a.cols()) + static_cast<std::size_t>(cols[k])] +=
          ws.empty() ? 1.0 : static_cast<double>(ws[k]);
  }
  return d;
}

/// CSR from an ordered map of (row, col) -> weight.
template <class Index, class Weight>
gas::Csr<Index, Weight> from_map(Index rows, Index cols, const std::map<std::pair<Index, Index>, Weight>& entries,
                                 bool weighted) {
  std::vector<std::int64_t> indptr(static_cast<std::size_t>(rows) + 1, 0);
  std::vector<Index> indices;
  std::vector<Weight> weights;
  for (const auto& [rc, w] : entries) {
    ++indptr[static_cast<std::size_t>(rc.first) + 1];
    indices.push_back(rc.second);
    if (weighted) weights.push_back(w);
  }
  std::partial_sum(indptr.begin(), indptr.end(), indptr.begin());
  return {rows, cols, std::move(indptr), std::move(indices), std::move(weights)};
}

template <class Index, class Weight>
bool rows_strictly_sorted(const gas::Csr<Index, Weight>& a) {
  for (Index r = 0; r < a.rows(); ++r) {
    const auto cols = a.neighbors(r);
    if (std::adjacent_find(cols.begin(), cols.end(), [](Index x, Index y) { return x >= y; }) != cols.end())
      return false;
  }
  return true;
}

#define CSR_TYPES gas::Csr<std::int32_t, float>, gas::Csr<std::int64_t, double>

}  // namespace

TEST_CASE_TEMPLATE("transpose twice is the identity and matches the dense transpose", CsrT, CSR_TYPES) {
  using I = typename CsrT::index_type;
  using W = typename CsrT::weight_type;
  gas::Rng rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    const bool weighted = trial % 2 == 0;
    const auto n = static_cast<I>(1 + rng.below(40));
    const auto coo = random_coo<I, W>(rng, n, static_cast<std::int64_t>(rng.below(200)), weighted);
    const auto a = sorted_csr(coo);
    const auto t = gas::transpose(a);
    CHECK(gas::transpose(t) == a);
    CHECK(gas::transpose(gas::transpose(raw_csr(coo))) == a);
    const auto da = dense(a), dt = dense(t);
    for (I i = 0; i < n; ++i)
      for (I j = 0; j < n; ++j)
        CHECK(dt[static_cast<std::size_t>(j * n + i)] == doctest::Approx(da[static_cast<std::size_t>(i * n + j)]));
  }
  // A rectangular matrix swaps its shape.
  const gas::Csr<I, W> rect(2, 3, {0, 2, 3}, {0, 2, 1});
  const auto rt = gas::transpose(rect);
  CHECK(rt.rows() == 3);
  CHECK(rt.cols() == 2);
  CHECK(gas::transpose(rt) == rect);
}

TEST_CASE_TEMPLATE("symmetrize equals a std::map union of A and A^T with max-merged weights", CsrT, CSR_TYPES) {
  using I = typename CsrT::index_type;
  using W = typename CsrT::weight_type;
  gas::Rng rng(12);
  for (int trial = 0; trial < 30; ++trial) {
    const bool weighted = trial % 2 == 1;
    const auto n = static_cast<I>(1 + rng.below(50));
    const auto coo = random_coo<I, W>(rng, n, static_cast<std::int64_t>(rng.below(300)), weighted);
    std::map<std::pair<I, I>, W> expected;
    for (std::size_t e = 0; e < coo.src.size(); ++e) {
      const W w = weighted ? coo.w[e] : W{1};
      for (auto key : {std::pair{coo.src[e], coo.dst[e]}, std::pair{coo.dst[e], coo.src[e]}}) {
        auto [it, fresh] = expected.emplace(key, w);
        if (!fresh) it->second = std::max(it->second, w);
      }
    }
    const auto reference = from_map<I, W>(n, n, expected, weighted);
    for (const auto& a : {sorted_csr(coo), raw_csr(coo)}) {
      const auto s = gas::symmetrize(a);
      CHECK(s == reference);
      CHECK(gas::is_symmetric(s));
      CHECK(rows_strictly_sorted(s));
      CHECK(gas::symmetrize(s) == s);
    }
  }
}

TEST_CASE("is_symmetric checks structure, weights and multiplicity") {
  using Csr = gas::Csr<std::int32_t, float>;
  CHECK(gas::is_symmetric(Csr()));
  CHECK(gas::is_symmetric(Csr(3, 3, {0, 1, 2, 2}, {1, 0})));
  CHECK_FALSE(gas::is_symmetric(Csr(3, 3, {0, 1, 1, 1}, {1})));
  CHECK(gas::is_symmetric(Csr(2, 2, {0, 1, 2}, {1, 0}, {2.f, 2.f})));
  CHECK_FALSE(gas::is_symmetric(Csr(2, 2, {0, 1, 2}, {1, 0}, {2.f, 3.f})));
  CHECK_FALSE(gas::is_symmetric(Csr(2, 3, {0, 1, 2}, {1, 0})));
  // Unsorted rows and duplicates take the general path.
  CHECK(gas::is_symmetric(Csr(3, 3, {0, 2, 3, 4}, {2, 1, 0, 0})));
  CHECK(gas::is_symmetric(Csr(2, 2, {0, 2, 4}, {1, 1, 0, 0})));
  CHECK_FALSE(gas::is_symmetric(Csr(2, 2, {0, 2, 3}, {1, 1, 0})));
  CHECK_FALSE(gas::is_symmetric(Csr(2, 2, {0, 2, 4}, {1, 1, 0, 0}, {1.f, 2.f, 1.f, 3.f})));
}

TEST_CASE_TEMPLATE("self-loop transforms and degrees match references", CsrT, CSR_TYPES) {
  using I = typename CsrT::index_type;
  using W = typename CsrT::weight_type;
  gas::Rng rng(13);
  for (int trial = 0; trial < 20; ++trial) {
    const bool weighted = trial % 2 == 0;
    const auto n = static_cast<I>(1 + rng.below(40));
    const auto coo = random_coo<I, W>(rng, n, static_cast<std::int64_t>(rng.below(200)), weighted);
    for (const auto& a : {sorted_csr(coo), raw_csr(coo)}) {
      const bool loops = std::any_of(coo.src.begin(), coo.src.end(), [&, e = std::size_t{0}](I s) mutable {
        return s == coo.dst[e++];
      });
      CHECK(gas::has_self_loops(a) == loops);

      const auto without = gas::remove_self_loops(a);
      CHECK_FALSE(gas::has_self_loops(without));
      CHECK(without.has_weights() == (a.has_weights() && without.num_edges() > 0));  // no entries, no weights
      for (I r = 0; r < n; ++r) {  // same entries in the same order, loops dropped
        std::vector<std::pair<I, W>> expect, got;
        for (std::size_t k = 0; k < a.neighbors(r).size(); ++k)
          if (a.neighbors(r)[k] != r) expect.emplace_back(a.neighbors(r)[k], weighted ? a.edge_weights(r)[k] : W{1});
        for (std::size_t k = 0; k < without.neighbors(r).size(); ++k)
          got.emplace_back(without.neighbors(r)[k], weighted ? without.edge_weights(r)[k] : W{1});
        CHECK(got == expect);
      }

      for (W fill : {W{1}, W{3}}) {
        const auto with = gas::add_self_loops(a, fill);
        CHECK(with.has_weights() == (a.has_weights() || fill != W{1}));
        const auto da = dense(a), dw = dense(with);
        for (I r = 0; r < n; ++r) {
          const auto row = a.neighbors(r);
          const bool had = std::find(row.begin(), row.end(), r) != row.end();
          CHECK(with.degree(r) == a.degree(r) + (had ? 0 : 1));
          for (I c = 0; c < n; ++c) {
            const auto at = static_cast<std::size_t>(r * n + c);
            CHECK(dw[at] == doctest::Approx(da[at] + (r == c && !had ? static_cast<double>(fill) : 0.0)));
          }
        }
        if (rows_strictly_sorted(a)) CHECK(rows_strictly_sorted(with));
        CHECK(gas::add_self_loops(with, fill) == with);
      }

      const auto deg = gas::degrees(a);
      const auto wdeg = gas::weighted_degrees(a);
      const auto da = dense(a);
      REQUIRE(deg.size() == static_cast<std::size_t>(n));
      REQUIRE(wdeg.size() == static_cast<std::size_t>(n));
      for (I r = 0; r < n; ++r) {
        CHECK(deg[static_cast<std::size_t>(r)] == a.degree(r));
        double sum = 0;
        for (I c = 0; c < n; ++c) sum += da[static_cast<std::size_t>(r * n + c)];
        CHECK(static_cast<double>(wdeg[static_cast<std::size_t>(r)]) == doctest::Approx(sum));
      }
    }
  }
}

TEST_CASE_TEMPLATE("gcn_normalize matches a dense D^-1/2 (A + I) D^-1/2", CsrT, CSR_TYPES) {
  using I = typename CsrT::index_type;
  using W = typename CsrT::weight_type;
  gas::Rng rng(14);
  for (int trial = 0; trial < 30; ++trial) {
    const bool weighted = trial % 2 == 1;
    const auto n = static_cast<I>(1 + rng.below(40));
    auto coo = random_coo<I, W>(rng, n, static_cast<std::int64_t>(rng.below(200)), weighted);
    const auto active = std::max<I>(1, n * 4 / 5);
    for (const auto& a : {gas::symmetrize(sorted_csr(coo)), sorted_csr(coo), raw_csr(coo)}) {
      for (bool add_loops : {true, false}) {
        // Reference: dense A; with add_loops the diagonal is the last existing loop weight, or 1.
        auto ref = dense(a);
        if (add_loops) {
          for (I r = 0; r < n; ++r) {
            double loop = 1;
            for (std::size_t k = 0; k < a.neighbors(r).size(); ++k)
              if (a.neighbors(r)[k] == r) loop = a.has_weights() ? static_cast<double>(a.edge_weights(r)[k]) : 1.0;
            ref[static_cast<std::size_t>(r * n + r)] = loop;
          }
        }
        std::vector<double> dinv(static_cast<std::size_t>(n));
        for (I r = 0; r < n; ++r) {
          double deg = 0;
          for (I c = 0; c < n; ++c) deg += ref[static_cast<std::size_t>(r * n + c)];
          dinv[static_cast<std::size_t>(r)] = deg > 0 ? 1 / std::sqrt(deg) : 0;
        }
        for (I r = 0; r < n; ++r)
          for (I c = 0; c < n; ++c)
            ref[static_cast<std::size_t>(r * n + c)] *= dinv[static_cast<std::size_t>(r)] * dinv[static_cast<std::size_t>(c)];

        const auto g = gas::gcn_normalize(a, add_loops);
        CHECK(g.has_weights());
        for (auto w : g.weights()) CHECK(std::isfinite(static_cast<double>(w)));
        const auto dg = dense(g);
        for (std::size_t i = 0; i < dg.size(); ++i) CHECK(std::abs(dg[i] - ref[i]) < 1e-6);
        if (add_loops) {
          CHECK(gas::has_self_loops(g));
          for (I r = 0; r < n; ++r) {
            const auto row = g.neighbors(r);
            CHECK(std::count(row.begin(), row.end(), r) == 1);
          }
          for (I v = active; v < n; ++v) {  // isolated: only the loop, weight 1
            REQUIRE(g.degree(v) == 1);
            CHECK(g.neighbors(v)[0] == v);
            CHECK(g.edge_weights(v)[0] == W{1});
          }
          if (rows_strictly_sorted(a)) CHECK(rows_strictly_sorted(g));
        } else {
          CHECK(g.indices().size() == a.indices().size());
        }
      }
    }
  }
}

TEST_CASE("gcn_normalize gives 0, not inf or NaN, for entries that touch a node of degree 0") {
  // 0 -> 1 only: node 1 has an empty row, so without loops its degree is 0.
  const gas::Csr<std::int32_t, float> a(2, 2, {0, 1, 1}, {1});
  const auto g = gas::gcn_normalize(a, false);
  REQUIRE(g.num_edges() == 1);
  CHECK(g.weights()[0] == 0.f);
  const auto with = gas::gcn_normalize(a);
  CHECK(with.indices().size() == 3);
  for (auto w : with.weights()) CHECK(std::isfinite(w));
}

TEST_CASE("row_normalize divides rows by their sums and leaves zero rows alone") {
  gas::Rng rng(15);
  gas::Tensor<float> x(50, 7);
  for (std::int64_t i = 0; i < x.rows(); ++i)
    for (std::int64_t j = 0; j < x.cols(); ++j) x(i, j) = i % 5 == 0 ? 0.f : static_cast<float>(rng.uniform(0, 3));
  x(1, 0) = -1.f;  // a mixed-sign row still divides by its (non-zero) sum
  const gas::Tensor<float> before = x;
  gas::row_normalize(x);
  for (std::int64_t i = 0; i < x.rows(); ++i) {
    double sum = 0, out = 0;
    for (std::int64_t j = 0; j < x.cols(); ++j) sum += before(i, j);
    for (std::int64_t j = 0; j < x.cols(); ++j) {
      out += x(i, j);
      CHECK(x(i, j) == doctest::Approx(sum == 0 ? 0.0 : before(i, j) / sum).epsilon(1e-6));
    }
    CHECK(out == doctest::Approx(sum == 0 ? 0.0 : 1.0).epsilon(1e-5));
  }

  // A column block of a wider matrix: only the block changes and is normalized on its own.
  gas::Tensor<double> wide(4, 6, 1.0);
  gas::row_normalize(wide.view().slice_cols(2, 5));
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t j = 0; j < 6; ++j) CHECK(wide(i, j) == doctest::Approx(j >= 2 && j < 5 ? 1.0 / 3 : 1.0));
}

TEST_CASE_TEMPLATE("induced_subgraph matches a brute-force reference", CsrT, CSR_TYPES) {
  using I = typename CsrT::index_type;
  using W = typename CsrT::weight_type;
  gas::Rng rng(16);
  for (int trial = 0; trial < 30; ++trial) {
    const bool weighted = trial % 2 == 0;
    const auto n = static_cast<I>(1 + rng.below(50));
    const auto coo = random_coo<I, W>(rng, n, static_cast<std::int64_t>(rng.below(300)), weighted);
    const auto a = trial % 3 == 0 ? raw_csr(coo) : sorted_csr(coo);
    std::vector<I> nodes(static_cast<std::size_t>(n));
    std::iota(nodes.begin(), nodes.end(), I{0});
    rng.shuffle(nodes.begin(), nodes.end());
    nodes.resize(rng.below(static_cast<std::uint64_t>(n) + 1));

    std::vector<I> position(static_cast<std::size_t>(n), I{-1});
    for (std::size_t i = 0; i < nodes.size(); ++i) position[static_cast<std::size_t>(nodes[i])] = static_cast<I>(i);
    std::vector<std::int64_t> indptr{0};
    std::vector<I> indices;
    std::vector<W> weights;
    for (auto v : nodes) {
      std::vector<std::pair<I, W>> row;
      for (std::size_t k = 0; k < a.neighbors(v).size(); ++k) {
        const I p = position[static_cast<std::size_t>(a.neighbors(v)[k])];
        if (p >= 0) row.emplace_back(p, weighted ? a.edge_weights(v)[k] : W{0});
      }
      std::sort(row.begin(), row.end());
      for (auto [c, w] : row) {
        indices.push_back(c);
        if (weighted) weights.push_back(w);
      }
      indptr.push_back(static_cast<std::int64_t>(indices.size()));
    }
    const auto m = static_cast<I>(nodes.size());
    const gas::Csr<I, W> reference(m, m, std::move(indptr), std::move(indices), std::move(weights));
    CHECK(gas::induced_subgraph(a, nodes) == reference);
  }
  // Every node in order gives back a graph with sorted rows unchanged.
  gas::Rng rng2(17);
  const auto a = sorted_csr(random_coo<I, W>(rng2, I{30}, 100, true));
  std::vector<I> all(30);
  std::iota(all.begin(), all.end(), I{0});
  CHECK(gas::induced_subgraph(a, all) == a);
  CHECK(gas::induced_subgraph(a, std::span<const I>{}).rows() == 0);
}

TEST_CASE("transforms give the same result for 1 and 2 OpenMP threads") {
  gas::Rng rng(18);
  const auto coo = random_coo<std::int32_t, float>(rng, 20000, 200000, true);
  const auto a = raw_csr(coo);
  std::vector<std::int32_t> nodes(20000);
  std::iota(nodes.begin(), nodes.end(), 0);
  rng.shuffle(nodes.begin(), nodes.end());
  nodes.resize(9000);
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<gas::Csr<std::int32_t, float>> out;
    out.push_back(gas::transpose(a));
    out.push_back(gas::symmetrize(a));
    out.push_back(gas::gcn_normalize(gas::symmetrize(a)));
    out.push_back(gas::add_self_loops(a, 2.f));
    out.push_back(gas::remove_self_loops(a));
    out.push_back(gas::induced_subgraph(a, nodes));
    return std::pair{out, gas::weighted_degrees(a)};
  };
  const int saved = omp_get_max_threads();
  const auto one = run(1);
  const auto two = run(2);
  omp_set_num_threads(saved);
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
}

TEST_CASE("transforms reject bad inputs with typed errors") {
  using Csr = gas::Csr<std::int32_t, float>;
  const Csr rect(2, 3, {0, 1, 2}, {2, 0});
  CHECK_THROWS_AS(gas::symmetrize(rect), gas::shape_error);
  CHECK_THROWS_AS(gas::add_self_loops(rect), gas::shape_error);
  CHECK_THROWS_AS(gas::gcn_normalize(rect), gas::shape_error);
  CHECK_THROWS_AS(gas::gcn_normalize(rect, false), gas::shape_error);
  const std::vector<std::int32_t> first{0};
  CHECK_THROWS_AS(gas::induced_subgraph(rect, first), gas::shape_error);
  CHECK_FALSE(gas::is_symmetric(rect));
  CHECK_FALSE(gas::has_self_loops(rect));  // needs no square shape
  CHECK(gas::remove_self_loops(rect) == rect);

  const Csr square(5, 5, {0, 1, 2, 3, 4, 5}, {1, 2, 3, 4, 0});
  const std::vector<std::int32_t> repeated{0, 3, 1, 3};
  const std::vector<std::int32_t> too_big{0, 7};
  const std::vector<std::int32_t> negative{-2};
  CHECK_THROWS_WITH_AS(gas::induced_subgraph(square, repeated), doctest::Contains("node id 3 appears twice"),
                       gas::value_error);
  CHECK_THROWS_WITH_AS(gas::induced_subgraph(square, too_big), doctest::Contains("node id 7"), gas::value_error);
  CHECK_THROWS_WITH_AS(gas::induced_subgraph(square, negative), doctest::Contains("node id -2"), gas::value_error);
}

TEST_CASE("first_negative finds a signed feature, dense or sparse; standardize_columns centres and scales columns") {
  gas::Tensor<float> x(3, 2, 0.0f);
  x(0, 0) = 1, x(1, 0) = 2, x(2, 0) = 3, x(0, 1) = 5, x(1, 1) = 5, x(2, 1) = 5;
  gas::Features f(x);
  CHECK_FALSE(gas::first_negative(f).has_value());
  f.dense()(2, 1) = -0.5f;
  REQUIRE(gas::first_negative(f).has_value());
  CHECK(*gas::first_negative(f) == std::pair<std::int64_t, std::int64_t>{2, 1});
  gas::Features sparse = gas::make_features(f.to_dense(), gas::SparseFeatures::always);
  REQUIRE(sparse.is_sparse());
  CHECK(*gas::first_negative(sparse) == std::pair<std::int64_t, std::int64_t>{2, 1});

  gas::Features g(x);  // column 0: 1, 2, 3 (mean 2, population sd sqrt(2/3)); column 1 constant: all 0
  gas::standardize_columns(g);
  const auto& d = g.dense();
  CHECK(d(0, 0) == doctest::Approx(-1.0 / std::sqrt(2.0 / 3.0)));
  CHECK(d(1, 0) == doctest::Approx(0.0));
  CHECK(d(2, 0) == doctest::Approx(1.0 / std::sqrt(2.0 / 3.0)));
  CHECK(d(1, 1) == 0.0f);
  gas::Features s2 = gas::make_features(x, gas::SparseFeatures::always);
  gas::standardize_columns(s2);  // sparse input comes out dense, with the same values
  CHECK_FALSE(s2.is_sparse());
  CHECK(s2.dense()(2, 0) == d(2, 0));
}
