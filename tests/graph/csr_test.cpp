#include <doctest/doctest.h>

#include <map>
#include <set>
#include <tuple>
#include <vector>

#include <omp.h>

#include "gas/core/rng.hpp"
#include "gas/graph/csr.hpp"

namespace {

using Edges = std::map<std::pair<long, long>, float>;

/// Reference: a std::map applying the same rules as csr_from_coo.
Edges reference(const std::vector<int>& src, const std::vector<int>& dst, const std::vector<float>& w,
                gas::CooOptions o) {
  Edges out;
  auto put = [&](long s, long d, float x) {
    if (o.drop_self_loops && s == d) return;
    auto [it, fresh] = out.emplace(std::pair{s, d}, x);
    if (!fresh) it->second = std::max(it->second, x);
  };
  for (std::size_t e = 0; e < src.size(); ++e) {
    put(src[e], dst[e], w.empty() ? 1.f : w[e]);
    if (o.symmetrize) put(dst[e], src[e], w.empty() ? 1.f : w[e]);
  }
  return out;
}

template <class Index>
Edges edges_of(const gas::Csr<Index, float>& a) {
  Edges out;
  for (Index r = 0; r < a.rows(); ++r) {
    auto nb = a.neighbors(r);
    auto w = a.edge_weights(r);
    for (std::size_t k = 0; k < nb.size(); ++k) out[{r, nb[k]}] = w.empty() ? 1.f : w[k];
  }
  return out;
}

}  // namespace

TEST_CASE("csr_from_coo sorts, dedupes, symmetrizes and drops loops like a reference") {
  gas::Rng rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 1 + static_cast<int>(rng.below(60));
    const int m = static_cast<int>(rng.below(300));
    std::vector<int> src(m), dst(m);
    std::vector<float> w(m);
    for (int e = 0; e < m; ++e) {
      src[e] = static_cast<int>(rng.below(n));
      dst[e] = rng.bernoulli(0.1) ? src[e] : static_cast<int>(rng.below(n));  // some self-loops
      w[e] = static_cast<float>(rng.below(5));
    }
    for (bool sym : {false, true})
      for (bool loops : {false, true})
        for (bool weighted : {false, true}) {
          const gas::CooOptions o{.symmetrize = sym, .dedupe = true, .drop_self_loops = loops};
          const std::vector<float> weights = weighted ? w : std::vector<float>{};
          auto a = gas::csr_from_coo<int, float>(n, n, src, dst, weights, o);
          CHECK(edges_of(a) == reference(src, dst, weights, o));
          for (int r = 0; r < n; ++r) {
            auto nb = a.neighbors(r);
            CHECK(std::is_sorted(nb.begin(), nb.end()));
            CHECK(std::adjacent_find(nb.begin(), nb.end()) == nb.end());
          }
        }
  }
}

TEST_CASE("csr_from_coo keeps duplicates when asked and works with 64-bit ids") {
  std::vector<std::int64_t> src{0, 0, 2, 2}, dst{1, 1, 0, 2};
  auto a = gas::csr_from_coo<std::int64_t, double>(3, 3, src, dst, {.dedupe = false});
  CHECK(a.num_edges() == 4);
  CHECK(a.degree(0) == 2);
  auto b = gas::csr_from_coo<std::int64_t, double>(3, 3, src, dst, {});
  CHECK(b.num_edges() == 3);
  CHECK(b.indptr().back() == 3);
}

TEST_CASE("csr_from_coo does not depend on the thread count") {
  gas::Rng rng(11);
  const int n = 5000, m = 60000;
  std::vector<int> src(m), dst(m);
  std::vector<float> w(m);
  for (int e = 0; e < m; ++e) {
    src[e] = static_cast<int>(rng.below(n));
    dst[e] = static_cast<int>(rng.below(n));
    w[e] = static_cast<float>(rng.uniform());
  }
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  auto one = gas::csr_from_coo<int, float>(n, n, src, dst, w, {.symmetrize = true});
  omp_set_num_threads(4);
  auto four = gas::csr_from_coo<int, float>(n, n, src, dst, w, {.symmetrize = true});
  omp_set_num_threads(threads);
  CHECK(one == four);
}

TEST_CASE("bad COO and CSR input raises typed errors naming the problem") {
  std::vector<int> src{0, 5}, dst{1, 0};
  try {
    (void)gas::csr_from_coo<int, float>(3, 3, src, dst);
    FAIL("expected value_error");
  } catch (const gas::value_error& e) {
    CHECK(std::string(e.what()).find("edge 1 (5, 0)") != std::string::npos);
  }
  std::vector<int> neg{-1};
  std::vector<int> zero{0};
  CHECK_THROWS_AS(((void)gas::csr_from_coo<int, float>(3, 3, neg, zero)), gas::value_error);
  CHECK_THROWS_AS(((void)gas::csr_from_coo<int, float>(3, 3, src, zero)), gas::shape_error);
  CHECK_THROWS_AS(((void)gas::csr_from_coo<int, float>(3, 4, zero, zero, {.symmetrize = true})), gas::shape_error);

  CHECK_THROWS_AS((gas::Csr<int, float>(2, 2, {0, 1}, {0})), gas::shape_error);        // indptr too short
  CHECK_THROWS_AS((gas::Csr<int, float>(2, 2, {0, 3, 2}, {0, 1})), gas::value_error);  // decreasing
  CHECK_THROWS_AS((gas::Csr<int, float>(2, 2, {0, 1, 2}, {0, 2})), gas::value_error);  // column out of range
  CHECK_THROWS_AS((gas::Csr<int, float>(2, 2, {1, 1, 2}, {0, 1})), gas::value_error);  // indptr[0] != 0
  CHECK_THROWS_AS((gas::Csr<int, float>(2, 2, {0, 1, 2}, {0, 1}, {1.f})), gas::shape_error);
  gas::Csr<int, float> ok(2, 2, {0, 1, 2}, {1, 0});
  CHECK_THROWS_AS(ok.set_weights({1.f, 2.f, 3.f}), gas::shape_error);
}

TEST_CASE("empty and edgeless graphs are valid") {
  gas::Csr<int, float> empty;
  CHECK(empty.rows() == 0);
  CHECK(empty.num_edges() == 0);
  std::vector<int> none;
  auto isolated = gas::csr_from_coo<int, float>(4, 4, none, none);
  CHECK(isolated.rows() == 4);
  CHECK(isolated.num_edges() == 0);
  CHECK(isolated.degree(3) == 0);
}
