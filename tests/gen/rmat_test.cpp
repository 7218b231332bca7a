// Tests of the R-MAT power-law generator: shape, graph invariants, skew, relabeling, determinism, parsing.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "gas/gen/rmat.hpp"
#include "gas/graph/transforms.hpp"

TEST_CASE("rmat builds a symmetric power-law graph without loops or duplicates") {
  const auto d = gas::gen::rmat({.scale = 14, .seed = 1});
  CHECK(d.name == "rmat");
  CHECK(d.num_nodes() == 1 << 14);
  CHECK(d.features.rows() == 1 << 14);
  CHECK(d.num_features() == 0);
  CHECK(d.labels.empty());
  CHECK_FALSE(d.has_targets());
  CHECK(d.splits.empty());
  CHECK_NOTHROW(d.validate("rmat"));

  CHECK(gas::is_symmetric(d.graph));
  CHECK_FALSE(gas::has_self_loops(d.graph));
  CHECK(gas::symmetrize(d.graph) == d.graph);  // sorted rows, no duplicates
  // 8 * 2^14 drawn edges, each stored twice unless it was a loop or a repeat.
  CHECK(d.num_edges() <= 2 * 8 * (1 << 14));
  CHECK(d.num_edges() > 8 * (1 << 14));

  const auto deg = gas::degrees(d.graph);
  const double mean = static_cast<double>(d.num_edges()) / d.num_nodes();
  const auto max = *std::max_element(deg.begin(), deg.end());
  CAPTURE(mean);
  CAPTURE(max);
  CHECK(static_cast<double>(max) > 20 * mean);
  CHECK(std::count(deg.begin(), deg.end(), 0) > 0);  // the tail of a power law: some nodes get no edge

  // Relabeling spreads the hubs over the ids: raw R-MAT would give the lower half of the ids
  // a + b = 0.76 of the edge endpoints.
  const auto half = deg.size() / 2;
  const double low = std::accumulate(deg.begin(), deg.begin() + static_cast<std::ptrdiff_t>(half), 0.0);
  const double high = std::accumulate(deg.begin() + static_cast<std::ptrdiff_t>(half), deg.end(), 0.0);
  CHECK(low / high == doctest::Approx(1.0).epsilon(0.2));
}

TEST_CASE("rmat draws the requested number of edges") {
  const auto d = gas::gen::rmat({.scale = 10, .edges = 300, .a = 0.25, .b = 0.25, .c = 0.25, .seed = 4});
  CHECK(d.num_nodes() == 1024);
  CHECK(d.num_edges() <= 600);
  CHECK(d.num_edges() >= 550);  // uniform quadrants: few repeats among 300 edges on 1024 nodes
  const auto empty = gas::gen::rmat({.scale = 3, .edges = 0});
  CHECK(empty.num_nodes() == 8);
  const auto tiny = gas::gen::rmat({.scale = 1, .edges = 5});
  CHECK(tiny.num_nodes() == 2);
  CHECK(tiny.num_edges() <= 2);
}

TEST_CASE("rmat is deterministic per seed and independent of the thread count") {
  const gas::gen::RmatConfig config{.scale = 15, .edges = 200000, .seed = 9};
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = gas::gen::rmat(config);
  omp_set_num_threads(2);
  const auto two = gas::gen::rmat(config);
  omp_set_num_threads(saved);
  CHECK(one.graph == two.graph);
  CHECK(gas::gen::rmat(config).graph == one.graph);
  auto other = config;
  other.seed = 10;
  CHECK_FALSE(gas::gen::rmat(other).graph == one.graph);
}

TEST_CASE("parse_rmat reads every key and rejects bad specs with config_error") {
  const auto defaults = gas::gen::parse_rmat("");
  CHECK(defaults.scale == 16);
  CHECK(defaults.edges == 0);
  CHECK(defaults.a == 0.57);
  const auto r = gas::gen::parse_rmat("scale=10,edges=1e4,a=0.45,b=0.15,c=0.2,seed=3");
  CHECK(r.scale == 10);
  CHECK(r.edges == 10000);
  CHECK(r.a == 0.45);
  CHECK(r.b == 0.15);
  CHECK(r.c == 0.2);
  CHECK(r.seed == 3);

  using doctest::Contains;
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("scale=0"), Contains("scale=0"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("scale=31"), Contains("scale=31"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("scale=ten"), Contains("value 'ten' of key 'scale'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("edges=-5"), Contains("edges=-5"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("a=-0.1"), Contains("a=-0.1"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("b=-1"), Contains("b=-1"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("c=-1"), Contains("c=-1"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("a=0.5,b=0.3,c=0.2"), Contains("must be below 1"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("d=0.1"), Contains("unknown key 'd'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("scale"), Contains("not of the form key=value"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_rmat("a=0.1,a=0.2"), Contains("given twice"), gas::config_error);
  CHECK_THROWS_AS(gas::gen::rmat({.scale = 40}), gas::config_error);
}
