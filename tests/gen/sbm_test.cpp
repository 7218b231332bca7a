// Tests of the stochastic block model generator and of the key=value parser that configures generators.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gas/gen/params.hpp"
#include "gas/gen/sbm.hpp"
#include "gas/graph/transforms.hpp"

namespace {

/// Fraction of directed edges whose endpoints share a label.
double edge_homophily(const gas::Dataset& d) {
  std::int64_t same = 0;
  for (gas::node_id v = 0; v < d.num_nodes(); ++v)
    for (auto u : d.graph.neighbors(v)) same += d.labels[static_cast<std::size_t>(u)] == d.labels[static_cast<std::size_t>(v)];
  return static_cast<double>(same) / static_cast<double>(d.num_edges());
}

/// Accuracy of the nearest class mean (means taken over training nodes) on the test nodes of `x`.
double nearest_mean_accuracy(const gas::Dataset& d, const gas::Tensor<float>& x) {
  const auto k = static_cast<std::size_t>(d.num_classes);
  const auto f = static_cast<std::size_t>(x.cols());
  std::vector<double> mean(k * f, 0.0), count(k, 0.0);
  for (auto v : d.splits[0].train) {
    const auto c = static_cast<std::size_t>(d.labels[static_cast<std::size_t>(v)]);
    count[c] += 1;
    for (std::size_t j = 0; j < f; ++j) mean[c * f + j] += x(v, static_cast<std::int64_t>(j));
  }
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < f; ++j) mean[c * f + j] /= count[c];
  std::int64_t right = 0;
  for (auto v : d.splits[0].test) {
    std::size_t best = 0;
    double best_dist = 1e300;
    for (std::size_t c = 0; c < k; ++c) {
      double dist = 0;
      for (std::size_t j = 0; j < f; ++j) {
        const double diff = x(v, static_cast<std::int64_t>(j)) - mean[c * f + j];
        dist += diff * diff;
      }
      if (dist < best_dist) best_dist = dist, best = c;
    }
    right += static_cast<std::int32_t>(best) == d.labels[static_cast<std::size_t>(v)];
  }
  return static_cast<double>(right) / static_cast<double>(d.splits[0].test.size());
}

bool same_dataset(const gas::Dataset& a, const gas::Dataset& b) {
  if (a.splits.size() != b.splits.size()) return false;
  for (std::size_t s = 0; s < a.splits.size(); ++s)
    if (a.splits[s].train != b.splits[s].train || a.splits[s].val != b.splits[s].val ||
        a.splits[s].test != b.splits[s].test)
      return false;
  return a.name == b.name && a.graph == b.graph && a.features == b.features && a.labels == b.labels &&
         a.num_classes == b.num_classes;
}

}  // namespace

TEST_CASE("sbm has the configured sizes, a valid graph and one stratified split") {
  const gas::gen::SbmConfig config{.nodes = 20000, .classes = 5, .features = 16, .degree = 12, .homophily = 0.7,
                                   .seed = 3};
  const auto d = gas::gen::sbm(config);
  CHECK_NOTHROW(d.validate("sbm"));
  CHECK(d.name == "sbm");
  CHECK(d.num_nodes() == 20000);
  CHECK(d.num_features() == 16);
  CHECK(d.num_classes == 5);
  CHECK_FALSE(d.is_multi_label());
  REQUIRE(d.labels.size() == 20000);

  CHECK(gas::is_symmetric(d.graph));
  CHECK_FALSE(gas::has_self_loops(d.graph));
  CHECK(gas::symmetrize(d.graph) == d.graph);  // sorted rows, no duplicates
  const double mean_degree = static_cast<double>(d.num_edges()) / d.num_nodes();
  CHECK(mean_degree == doctest::Approx(12).epsilon(0.02));

  std::vector<std::int64_t> class_size(5, 0);
  for (auto c : d.labels) ++class_size[static_cast<std::size_t>(c)];
  CHECK(*std::max_element(class_size.begin(), class_size.end()) -
            *std::min_element(class_size.begin(), class_size.end()) <=
        1);

  REQUIRE(d.splits.size() == 1);
  const auto& s = d.splits[0];
  std::vector<int> seen(20000, 0);
  std::vector<std::int64_t> train_per_class(5, 0), val_per_class(5, 0);
  for (auto* part : {&s.train, &s.val, &s.test}) {
    CHECK(std::is_sorted(part->begin(), part->end()));
    for (auto v : *part) ++seen[static_cast<std::size_t>(v)];
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int x) { return x == 1; }));  // disjoint and covering
  for (auto v : s.train) ++train_per_class[static_cast<std::size_t>(d.labels[static_cast<std::size_t>(v)])];
  for (auto v : s.val) ++val_per_class[static_cast<std::size_t>(d.labels[static_cast<std::size_t>(v)])];
  for (std::size_t c = 0; c < 5; ++c) {
    CHECK(train_per_class[c] == std::llround(0.6 * static_cast<double>(class_size[c])));
    CHECK(val_per_class[c] == std::llround(0.2 * static_cast<double>(class_size[c])));
  }
}

TEST_CASE("sbm edge homophily is close to the configured value") {
  for (double h : {0.0, 0.3, 0.8, 1.0}) {
    CAPTURE(h);
    const auto d = gas::gen::sbm({.nodes = 20000, .classes = 6, .features = 0, .degree = 10, .homophily = h, .seed = 5});
    CHECK(std::abs(edge_homophily(d) - h) < 0.03);
  }
  // A single class has nowhere else to send edges.
  const auto one = gas::gen::sbm({.nodes = 500, .classes = 1, .features = 2, .degree = 4, .homophily = 0.2});
  CHECK(edge_homophily(one) == 1.0);
}

TEST_CASE("sbm features carry the class, and neighborhood averaging sharpens it") {
  const auto d = gas::gen::sbm({.nodes = 8000, .classes = 8, .features = 32, .degree = 10, .homophily = 0.8, .seed = 7});
  const double raw = nearest_mean_accuracy(d, d.features.dense());
  // One round of mean aggregation over the closed neighborhood, as a GCN layer does.
  gas::Tensor<float> agg(d.num_nodes(), d.num_features());
  for (gas::node_id v = 0; v < d.num_nodes(); ++v) {
    const auto nbrs = d.graph.neighbors(v);
    for (std::int64_t j = 0; j < d.num_features(); ++j) {
      double sum = d.features(v, j);
      for (auto u : nbrs) sum += d.features(u, j);
      agg(v, j) = static_cast<float>(sum / static_cast<double>(nbrs.size() + 1));
    }
  }
  const double smoothed = nearest_mean_accuracy(d, agg);
  CAPTURE(raw);
  CAPTURE(smoothed);
  CHECK(raw > 1.5 / 8);        // better than chance
  CHECK(smoothed > raw + 0.2);  // the graph helps
  CHECK(smoothed > 0.75);

  // Without noise every node sits on its class centroid.
  const auto clean = gas::gen::sbm({.nodes = 200, .classes = 4, .features = 8, .degree = 3, .noise = 0});
  for (gas::node_id v = 1; v < clean.num_nodes(); ++v)
    for (gas::node_id u = 0; u < v; ++u) {
      const bool same_row = std::equal(clean.features.dense().row(v).begin(), clean.features.dense().row(v).end(),
                                       clean.features.dense().row(u).begin());
      CHECK(same_row == (clean.labels[static_cast<std::size_t>(u)] == clean.labels[static_cast<std::size_t>(v)]));
    }
}

TEST_CASE("sbm is deterministic per seed and independent of the thread count") {
  const gas::gen::SbmConfig config{.nodes = 30000, .classes = 7, .features = 8, .degree = 8, .seed = 42};
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = gas::gen::sbm(config);
  omp_set_num_threads(2);
  const auto two = gas::gen::sbm(config);
  omp_set_num_threads(saved);
  CHECK(same_dataset(one, two));
  CHECK(same_dataset(one, gas::gen::sbm(config)));

  auto other = config;
  other.seed = 43;
  const auto three = gas::gen::sbm(other);
  CHECK_FALSE(one.graph == three.graph);
  CHECK_FALSE(one.features == three.features);
  CHECK_FALSE(one.labels == three.labels);
  CHECK_FALSE(one.splits[0].train == three.splits[0].train);
}

TEST_CASE("sbm handles the edges of its parameter ranges") {
  const auto single = gas::gen::sbm({.nodes = 1, .classes = 1, .features = 3, .degree = 0});
  CHECK(single.num_nodes() == 1);
  CHECK(single.num_edges() == 0);
  CHECK(single.splits[0].train.size() == 1);
  CHECK_NOTHROW(single.validate("sbm"));

  // Classes of three nodes with train = 0.1 still get one training node each.
  const auto small = gas::gen::sbm({.nodes = 30, .classes = 10, .features = 2, .degree = 2, .train = 0.1, .val = 0.4});
  CHECK(small.splits[0].train.size() == 10);
  CHECK(small.splits[0].val.size() == 10);  // round(0.4 * 3) = 1 per class
  CHECK(small.splits[0].test.size() == 10);

  const auto no_train = gas::gen::sbm({.nodes = 100, .classes = 4, .features = 0, .degree = 2, .train = 0, .val = 1});
  CHECK(no_train.splits[0].train.empty());
  CHECK(no_train.splits[0].val.size() == 100);
  CHECK(no_train.features.rows() == 100);
  CHECK(no_train.features.cols() == 0);

  const auto all_classes = gas::gen::sbm({.nodes = 16, .classes = 16, .features = 1, .degree = 3, .homophily = 1});
  CHECK(all_classes.num_edges() == 0);  // every intra-class edge would be a self-loop
  CHECK_NOTHROW(all_classes.validate("sbm"));

  CHECK_THROWS_AS(gas::gen::sbm({.nodes = 0}), gas::config_error);
  CHECK_THROWS_AS(gas::gen::sbm({.nodes = 10, .classes = 11}), gas::config_error);
}

TEST_CASE("parse_sbm reads every key and rejects bad specs with config_error") {
  const auto defaults = gas::gen::parse_sbm("");
  CHECK(defaults.nodes == 10000);
  CHECK(defaults.classes == 8);
  CHECK(defaults.homophily == 0.8);

  const auto c = gas::gen::parse_sbm(
      " nodes = 1e5, classes=4,features=+12,degree=3.5,homophily=0.25,noise=2,train=0.5,val=0.25,seed=18446744073709551615,");
  CHECK(c.nodes == 100000);
  CHECK(c.classes == 4);
  CHECK(c.features == 12);
  CHECK(c.degree == 3.5);
  CHECK(c.homophily == 0.25);
  CHECK(c.noise == 2);
  CHECK(c.train == 0.5);
  CHECK(c.val == 0.25);
  CHECK(c.seed == 18446744073709551615ull);

  using doctest::Contains;
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=10,color=red"), Contains("unknown key 'color'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=10,classes"), Contains("'classes' is not of the form key=value"),
                       gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("=3"), Contains("empty key"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("seed=1,seed=2"), Contains("key 'seed' given twice"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=abc"), Contains("value 'abc' of key 'nodes'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=12.5"), Contains("value '12.5' of key 'nodes'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("degree=1x"), Contains("value '1x' of key 'degree'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("noise=nan"), Contains("value 'nan' of key 'noise'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("seed=-1"), Contains("value '-1' of key 'seed'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("classes=5000000000"), Contains("'5000000000' of key 'classes'"),
                       gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=99999999999999999999"), Contains("key 'nodes'"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=0"), Contains("nodes=0"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=3000000000"), Contains("nodes=3000000000"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=10,classes=0"), Contains("classes=0"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=10,classes=11"), Contains("classes=11"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("features=-1"), Contains("features=-1"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("nodes=50,degree=50"), Contains("degree=50"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("degree=-1"), Contains("degree=-1"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("homophily=1.5"), Contains("homophily=1.5"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("noise=-0.5"), Contains("noise=-0.5"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("train=1.2"), Contains("train=1.2"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("val=-0.1"), Contains("val=-0.1"), gas::config_error);
  CHECK_THROWS_WITH_AS(gas::gen::parse_sbm("train=0.7,val=0.4"), Contains("exceeds 1"), gas::config_error);
}

TEST_CASE("Params parses typed values and keeps raw text") {
  const gas::gen::Params p("test", "a=1, b = -2.5e3 ,c=0x1,d=1e3,e=", {"a", "b", "c", "d", "e", "f"});
  CHECK(p.what() == "test");
  CHECK(p.has("a"));
  CHECK_FALSE(p.has("f"));
  CHECK(p.get_int64("a") == 1);
  CHECK(p.get_uint64("a") == 1u);
  CHECK(p.get_double("a") == 1.0);
  CHECK(p.get_double("b") == -2500.0);
  CHECK(p.get_int64("b") == -2500);  // an integral value in scientific notation
  CHECK_THROWS_AS((void)p.get_uint64("b"), gas::config_error);
  CHECK_THROWS_AS((void)p.get_int64("c"), gas::config_error);
  CHECK(p.get_int64("d") == 1000);
  CHECK(p.raw("c") == "0x1");
  CHECK(p.raw("e") == "");
  CHECK_THROWS_AS((void)p.get_double("e"), gas::config_error);
  CHECK_FALSE(p.get_int64("f").has_value());

  std::int32_t narrow = 7;
  p.read("f", narrow);  // absent: unchanged
  CHECK(narrow == 7);
  p.read("d", narrow);
  CHECK(narrow == 1000);
  std::int8_t tiny = 0;
  CHECK_THROWS_WITH_AS(p.read("d", tiny), doctest::Contains("out of range [-128, 127]"), gas::config_error);
}
