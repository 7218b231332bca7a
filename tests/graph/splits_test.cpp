#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gas/graph/splits.hpp"
#include "gas/io/load.hpp"
#include "io/io_test_util.hpp"
#include "test_util.hpp"

using gas::node_id;
using gas::Split;
using gas::SplitProtocol;

namespace {

/// Three classes of 10, 12 and 7 nodes interleaved, and 3 unlabeled nodes.
gas::Dataset labeled() {
  gas::Dataset d;
  d.name = "three";
  const std::vector<int> sizes{10, 12, 7};
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < sizes[static_cast<std::size_t>(c)]; ++k) d.labels.push_back(c);
  d.labels.insert(d.labels.end(), {-1, -1, -1});
  gas::Rng rng(5);
  rng.shuffle(d.labels.begin(), d.labels.end());
  const auto n = static_cast<node_id>(d.labels.size());
  d.graph = gas::Graph(n, n, std::vector<std::int64_t>(static_cast<std::size_t>(n) + 1, 0), {}, {});
  d.features = gas::Tensor<float>(n, 1, 1.0f);
  d.num_classes = 3;
  return d;
}

std::map<int, int> per_class(const gas::Dataset& d, const std::vector<node_id>& ids) {
  std::map<int, int> out;
  for (node_id v : ids) ++out[d.labels[static_cast<std::size_t>(v)]];
  return out;
}

bool same(const Split& a, const Split& b) { return a.train == b.train && a.val == b.val && a.test == b.test; }

}  // namespace

TEST_CASE("parse_split_protocol reads every form and spells it back") {
  CHECK(gas::parse_split_protocol("3").kind == SplitProtocol::Kind::stored);
  CHECK(gas::parse_split_protocol("3").index == 3);
  CHECK(gas::parse_split_protocol("all").kind == SplitProtocol::Kind::all);
  const auto pc = gas::parse_split_protocol("per-class:train=20,val=30,count=10,seed=7");
  CHECK(pc.kind == SplitProtocol::Kind::per_class);
  CHECK(pc.train_per_class == 20);
  CHECK(pc.val_per_class == 30);
  CHECK(pc.count == 10);
  CHECK(pc.seed == 7);
  CHECK(pc.text() == "per-class:train=20,val=30,count=10,seed=7");
  const auto r = gas::parse_split_protocol("random:val=0.2,train=0.6");
  CHECK(r.kind == SplitProtocol::Kind::random);
  CHECK(r.train_fraction == 0.6);
  CHECK(!r.count);
  CHECK(r.text() == "random:train=0.6,val=0.2,seed=0");
  CHECK(r.text(4) == "random:train=0.6,val=0.2,count=4,seed=0");
  CHECK(gas::parse_split_protocol(gas::parse_split_protocol("7").text()).index == 7);

  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("every"), "--split 'every'", "not a split protocol");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("per-class:train=20"), "needs both train= and val=");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("per-class:train=20,val=x"), "val='x'");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("per-class:train=0,val=30"), "at least 1 node");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("per-class:train=-2,val=30"), "node count");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("random:train=0.7,val=0.4"), "exceeds 1");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("random:train=1.5,val=0.1"), "fraction in (0, 1)");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("random:train=0.5,val=0.1,folds=3"),
                      "unknown key 'folds'");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("random:train=0.5,val=0.1,count=0"), "count");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("random:train"), "not key=value");
  CHECK_THROWS_NAMING(gas::config_error, gas::parse_split_protocol("99999999999"), "out of range");
}

TEST_CASE("per-class splits: exact counts per class, disjoint sets covering the labeled nodes, deterministic") {
  const auto d = labeled();
  const auto splits = gas::per_class_splits(d, 2, 3, 4, 11);
  REQUIRE(splits.size() == 4);
  for (const Split& s : splits) {
    CHECK(per_class(d, s.train) == std::map<int, int>{{0, 2}, {1, 2}, {2, 2}});
    CHECK(per_class(d, s.val) == std::map<int, int>{{0, 3}, {1, 3}, {2, 3}});
    CHECK(per_class(d, s.test) == std::map<int, int>{{0, 5}, {1, 7}, {2, 2}});  // the rest; unlabeled in no set
    std::set<node_id> all(s.train.begin(), s.train.end());
    all.insert(s.val.begin(), s.val.end());
    all.insert(s.test.begin(), s.test.end());
    CHECK(all.size() == s.train.size() + s.val.size() + s.test.size());
    CHECK(std::is_sorted(s.train.begin(), s.train.end()));
    CHECK(std::is_sorted(s.test.begin(), s.test.end()));
  }
  CHECK(!same(splits[0], splits[1]));  // each split draws its own permutation
  // Split k depends on (seed, k) only: more splits, the same first ones; another seed, other splits.
  const auto more = gas::per_class_splits(d, 2, 3, 6, 11);
  for (std::size_t k = 0; k < 4; ++k) CHECK(same(splits[k], more[k]));
  CHECK(!same(splits[0], gas::per_class_splits(d, 2, 3, 1, 12)[0]));

  CHECK_THROWS_NAMING(gas::config_error, gas::per_class_splits(d, 4, 4, 1, 0), "class 2 has 7 nodes", "train 4 + val 4");
  gas::Dataset multi = d;
  multi.labels.clear();
  multi.multi_labels = gas::Tensor<std::uint8_t>(d.num_nodes(), 3);
  CHECK_THROWS_NAMING(gas::config_error, gas::per_class_splits(multi, 2, 3, 1, 0), "single-label");
}

TEST_CASE("random splits: stratified shares per class; unstratified for multi-label data") {
  const auto d = labeled();
  const auto s = gas::random_splits(d, 0.5, 0.2, 2, 3);
  REQUIRE(s.size() == 2);
  // round(0.5 n) train and round(0.2 n) validation nodes of each class (n = 10, 12, 7).
  CHECK(per_class(d, s[0].train) == std::map<int, int>{{0, 5}, {1, 6}, {2, 4}});
  CHECK(per_class(d, s[0].val) == std::map<int, int>{{0, 2}, {1, 2}, {2, 1}});
  CHECK(per_class(d, s[0].test) == std::map<int, int>{{0, 3}, {1, 4}, {2, 2}});
  CHECK(same(s[1], gas::random_splits(d, 0.5, 0.2, 2, 3)[1]));
  CHECK_THROWS_NAMING(gas::config_error, gas::random_splits(d, 0.05, 0.2, 1, 0), "class 2 has 7 nodes",
                      "no training node");
  CHECK_THROWS_NAMING(gas::config_error, gas::random_splits(d, 0.9, 0.2, 1, 0), "sum <= 1");

  gas::Dataset multi = d;
  multi.labels.clear();
  multi.multi_labels = gas::Tensor<std::uint8_t>(d.num_nodes(), 3);
  const auto m = gas::random_splits(multi, 0.5, 0.25, 1, 0);
  CHECK(m[0].train.size() + m[0].val.size() + m[0].test.size() == static_cast<std::size_t>(d.num_nodes()));
  CHECK(m[0].train.size() == 16);  // round(0.5 * 32)
}

TEST_CASE("make_splits and split_of_run: stored splits are checked, generated ones default to one per run") {
  auto d = labeled();
  CHECK_THROWS_NAMING(gas::config_error, gas::make_splits(d, gas::parse_split_protocol("0"), 1), "no stored split",
                      "per-class:train=20,val=30");
  CHECK_THROWS_NAMING(gas::config_error, gas::make_splits(d, gas::parse_split_protocol("all"), 1), "no stored split");
  d.splits = gas::per_class_splits(d, 1, 1, 3, 0);
  CHECK(gas::make_splits(d, gas::parse_split_protocol("all"), 10).size() == 3);
  CHECK(gas::make_splits(d, gas::parse_split_protocol("2"), 1).size() == 3);
  CHECK_THROWS_NAMING(gas::config_error, gas::make_splits(d, gas::parse_split_protocol("3"), 1), "has 3 stored split(s)",
                      "split 3 does not exist");
  CHECK(gas::make_splits(d, gas::parse_split_protocol("per-class:train=2,val=3"), 5).size() == 5);
  CHECK(gas::make_splits(d, gas::parse_split_protocol("per-class:train=2,val=3,count=2"), 5).size() == 2);

  const auto all = gas::parse_split_protocol("all");
  CHECK(gas::split_of_run(all, 0, 3) == 0);
  CHECK(gas::split_of_run(all, 4, 3) == 1);
  CHECK(gas::split_of_run(gas::parse_split_protocol("2"), 7, 3) == 2);
}

TEST_CASE("per-class 20/30 splits of Amazon-Photo, as the reference's benchmark draws them" *
          doctest::skip(gas_test::missing("gnn-benchmark/amazon_electronics_photo.npz"))) {
  const auto d = gas::io::load("npz:" + (gas_test::data_dir() / "gnn-benchmark/amazon_electronics_photo.npz").string());
  REQUIRE(d.num_classes == 8);
  const auto splits = gas::make_splits(d, gas::parse_split_protocol("per-class:train=20,val=30"), 10);
  REQUIRE(splits.size() == 10);
  for (const auto& s : splits) {
    CHECK(s.train.size() == 160);
    CHECK(s.val.size() == 240);
    CHECK(s.test.size() == 7650 - 400);
  }
}
