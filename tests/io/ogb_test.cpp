// OGB raw folders: fixtures written here with zlib (as OGB ships them: .csv.gz), every figure and value
// of the result, the split-folder rule, and every bad input the reader must name.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gas/io/ogb.hpp"
#include "io/hostile.hpp"
#include "io/io_test_util.hpp"
#include "test_util.hpp"

namespace {

using Files = std::map<std::string, std::string>;  // path under the dataset root -> uncompressed text

// A 6-node citation graph laid out as ogbn-arxiv: directed edges (one listed both ways), 3 features,
// one unlabeled node ('nan'), a time split, and the files the reader must ignore.
Files arxiv_like() {
  return {
      {"raw/edge.csv.gz", "0,1\n1,2\n3,0\n4,5\n2,0\n5,4\n"},
      {"raw/node-feat.csv.gz",
       "0.5,-1.25,3e-2\n1,2,3\n-0.001,0,0\n4.5,4.5,4.5\n1e-7,-2e3,0.1\n7,8,9\n"},
      {"raw/node-label.csv.gz", "3\n0\nnan\n1\n3\n2\n"},
      {"raw/num-node-list.csv.gz", "6\n"},
      {"raw/num-edge-list.csv.gz", "6\n"},
      {"raw/node_year.csv.gz", "2013\n2014\n2015\n2016\n2017\n2018\n"},
      {"split/time/train.csv.gz", "0\n3\n1\n"},
      {"split/time/valid.csv.gz", "4\n"},
      {"split/time/test.csv.gz", "5\n2\n"},
      {"mapping/nodeidx2paperid.csv.gz", "node idx,paper id\n0,9657784\n"},
  };
}

// ogbn-proteins' shape: multi-label 0/1 columns, no node features, a 'species' split.
Files proteins_like() {
  return {
      {"raw/edge.csv.gz", "0,1\n1,2\n2,3\n"},
      {"raw/node-label.csv.gz", "0,1,1\n1,0,0\n0,0,0\n1,1,1\n"},
      {"raw/num-node-list.csv.gz", "4\n"},
      {"raw/num-edge-list.csv.gz", "3\n"},
      {"raw/edge-feat.csv.gz", "0.1,0.2\n0.3,0.4\n0.5,0.6\n"},
      {"split/species/train.csv.gz", "0\n1\n"},
      {"split/species/valid.csv.gz", "2\n"},
      {"split/species/test.csv.gz", "3\n"},
  };
}

std::filesystem::path write_dataset(const gas_test::TempDir& tmp, const std::string& name, const Files& files) {
  const auto root = tmp / name;
  std::filesystem::create_directories(root);
  for (const auto& [rel, text] : files) gas_test::write_gz(root / rel, text);
  return root;
}

std::vector<gas::node_id> neighbors(const gas::Dataset& d, gas::node_id v) {
  auto n = d.graph.neighbors(v);
  return {n.begin(), n.end()};
}

void check_arxiv_like(const gas::Dataset& d) {
  CHECK(d.name == "ogbn_arxiv");
  REQUIRE(d.num_nodes() == 6);
  CHECK(d.num_edges() == 10);  // {0-1, 1-2, 0-3, 4-5, 0-2}, both directions
  CHECK(neighbors(d, 0) == std::vector<gas::node_id>{1, 2, 3});
  CHECK(neighbors(d, 1) == std::vector<gas::node_id>{0, 2});
  CHECK(neighbors(d, 2) == std::vector<gas::node_id>{0, 1});
  CHECK(neighbors(d, 3) == std::vector<gas::node_id>{0});
  CHECK(neighbors(d, 4) == std::vector<gas::node_id>{5});
  CHECK(neighbors(d, 5) == std::vector<gas::node_id>{4});
  REQUIRE(d.num_features() == 3);
  const std::vector<float> feat{0.5f, -1.25f, 3e-2f, 1, 2, 3, -0.001f, 0, 0, 4.5f, 4.5f, 4.5f, 1e-7f, -2e3f, 0.1f, 7, 8, 9};
  CHECK(std::vector<float>(d.features.dense().values().begin(), d.features.dense().values().end()) == feat);
  CHECK(d.labels == std::vector<std::int32_t>{3, 0, -1, 1, 3, 2});
  CHECK(d.num_classes == 4);
  CHECK_FALSE(d.is_multi_label());
  REQUIRE(d.splits.size() == 1);
  CHECK(d.splits[0].train == std::vector<gas::node_id>{0, 1, 3});
  CHECK(d.splits[0].val == std::vector<gas::node_id>{4});
  CHECK(d.splits[0].test == std::vector<gas::node_id>{2, 5});
}

}  // namespace

TEST_CASE("read_ogb: an ogbn-arxiv-like folder, every figure and value") {
  gas_test::TempDir tmp;
  const auto root = write_dataset(tmp, "ogbn_arxiv", arxiv_like());
  check_arxiv_like(gas::io::read_ogb(root));
  SUBCASE("the root with a trailing separator") { check_arxiv_like(gas::io::read_ogb(root.string() + "/")); }
  SUBCASE("the raw folder itself") { check_arxiv_like(gas::io::read_ogb(root / "raw")); }
  SUBCASE("without symmetrizing, the edges as listed") {
    const auto d = gas::io::read_ogb(root, {.symmetrize = false});
    CHECK(d.num_edges() == 6);
    CHECK(neighbors(d, 0) == std::vector<gas::node_id>{1});
    CHECK(neighbors(d, 3) == std::vector<gas::node_id>{0});
  }
}

TEST_CASE("read_ogb: uncompressed .csv files are read too") {
  gas_test::TempDir tmp;
  const auto root = tmp / "ogbn_arxiv";
  for (const auto& [rel, text] : arxiv_like()) gas_test::write_file(root / rel.substr(0, rel.size() - 3), text);
  check_arxiv_like(gas::io::read_ogb(root));
}

TEST_CASE("read_ogb: multi-label targets, no features (ogbn-proteins' shape)") {
  gas_test::TempDir tmp;
  const auto d = gas::io::read_ogb(write_dataset(tmp, "ogbn_proteins", proteins_like()));
  CHECK(d.name == "ogbn_proteins");
  CHECK(d.num_nodes() == 4);
  CHECK(d.num_edges() == 6);
  CHECK(d.features.rows() == 4);
  CHECK(d.num_features() == 0);
  CHECK(d.labels.empty());
  REQUIRE(d.is_multi_label());
  CHECK(d.num_classes == 3);
  CHECK(d.multi_labels.rows() == 4);
  const std::vector<std::uint8_t> ml{0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1};
  CHECK(std::vector<std::uint8_t>(d.multi_labels.values().begin(), d.multi_labels.values().end()) == ml);
  REQUIRE(d.splits.size() == 1);
  CHECK(d.splits[0].train == std::vector<gas::node_id>{0, 1});
  CHECK(d.splits[0].val == std::vector<gas::node_id>{2});
  CHECK(d.splits[0].test == std::vector<gas::node_id>{3});
}

TEST_CASE("read_ogb: which split folder is used") {
  gas_test::TempDir tmp;
  auto files = arxiv_like();
  SUBCASE("no split folder: no splits") {
    for (auto it = files.begin(); it != files.end();)
      it = it->first.starts_with("split/") ? files.erase(it) : std::next(it);
    const auto d = gas::io::read_ogb(write_dataset(tmp, "ogbn_arxiv", files));
    CHECK(d.splits.empty());
    CHECK(d.num_classes == 4);
  }
  SUBCASE("an empty split folder: no splits") {
    for (auto it = files.begin(); it != files.end();)
      it = it->first.starts_with("split/") ? files.erase(it) : std::next(it);
    const auto root = write_dataset(tmp, "ogbn_arxiv", files);
    std::filesystem::create_directories(root / "split");
    CHECK(gas::io::read_ogb(root).splits.empty());
  }
  SUBCASE("the only folder, whatever its name") {
    Files renamed;
    for (auto& [rel, text] : files)
      renamed[rel.starts_with("split/time/") ? "split/mine/" + rel.substr(11) : rel] = text;
    const auto d = gas::io::read_ogb(write_dataset(tmp, "ogbn_arxiv", renamed));
    REQUIRE(d.splits.size() == 1);
    CHECK(d.splits[0].val == std::vector<gas::node_id>{4});
  }
  SUBCASE("several folders: the OGB one") {
    files["split/random/train.csv.gz"] = "5\n";
    files["split/random/valid.csv.gz"] = "0\n";
    files["split/random/test.csv.gz"] = "1\n";
    const auto d = gas::io::read_ogb(write_dataset(tmp, "ogbn_arxiv", files));
    REQUIRE(d.splits.size() == 1);
    CHECK(d.splits[0].train == std::vector<gas::node_id>{0, 1, 3});
  }
  SUBCASE("several folders, none known: ambiguous") {
    Files renamed;
    for (auto& [rel, text] : files) {
      renamed[rel.starts_with("split/time/") ? "split/a/" + rel.substr(11) : rel] = text;
      if (rel.starts_with("split/time/")) renamed["split/b/" + rel.substr(11)] = text;
    }
    const auto root = write_dataset(tmp, "ogbn_arxiv", renamed);
    CHECK_THROWS_NAMING(gas::format_error, gas::io::read_ogb(root), (root / "split").string(), "a, b");
  }
}

TEST_CASE("read_ogb: missing folders and required files are io_errors naming them") {
  gas_test::TempDir tmp;
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_ogb(tmp / "nowhere"), (tmp / "nowhere").string());
  std::filesystem::create_directories(tmp / "not_ogb");
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_ogb(tmp / "not_ogb"), (tmp / "not_ogb").string());
  for (std::string required : {"raw/edge.csv.gz", "raw/num-node-list.csv.gz", "raw/num-edge-list.csv.gz",
                               "raw/node-label.csv.gz", "split/time/valid.csv.gz"}) {
    CAPTURE(required);
    auto files = arxiv_like();
    files.erase(required);
    const auto root = write_dataset(tmp, std::string("missing_") + std::to_string(files.size()) + "_" +
                                             std::filesystem::path(required).stem().stem().string(),
                                    files);
    CHECK_THROWS_NAMING(gas::io_error, gas::io::read_ogb(root), (root / required).string());
  }
  // ogbn-mag's heterogeneous layout has raw/relations/ instead of raw/edge.csv.gz.
  auto files = arxiv_like();
  files.erase("raw/edge.csv.gz");
  files["raw/relations/paper___cites___paper/edge.csv.gz"] = "0,1\n";
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_ogb(write_dataset(tmp, "ogbn_mag", files)), "heterogeneous");
}

TEST_CASE("read_ogb: bad content is a format_error naming file and line") {
  struct Case {
    const char* file;
    const char* text;
    const char* where;  // ":line:" or "" for whole-file problems
    const char* says;
  };
  const Case cases[] = {
      {"raw/node-feat.csv.gz", "1,2,3\n1,2\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n", ":2:", "2 columns, but line 1 has 3"},
      {"raw/node-feat.csv.gz", "1,2,3\n1,2,3\n1,2,3\n1,2,3,4\n1,2,3\n1,2,3\n", ":4:", "4 columns, but line 1 has 3"},
      {"raw/node-feat.csv.gz", "1,2,3\n1,nan,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n", ":2:", "finite"},
      {"raw/node-feat.csv.gz", "1,2,3\n1,2,3\n1,2,inf\n1,2,3\n1,2,3\n1,2,3\n", ":3:", "finite"},
      {"raw/node-feat.csv.gz", "1,2,3\n1,2,3\n1,2,x\n1,2,3\n1,2,3\n1,2,3\n", ":3:", "feature 'x'"},
      {"raw/node-feat.csv.gz", "1,2,3\n1,2,3\n1,2,3\n", "", "3 feature rows for 6 nodes"},
      {"raw/node-feat.csv.gz", "1\n2\n3\n4\n5\n6\n7\n", ":7:", "more feature rows than the 6 nodes"},
      {"raw/node-feat.csv.gz", "1\n2\n\n4\n5\n6\n", ":3:", "empty line"},
      {"raw/node-label.csv.gz", "3\n0\n-2\n1\n3\n2\n", ":3:", "negative label -2"},
      {"raw/node-label.csv.gz", "3\n0\n1.5\n1\n3\n2\n", ":3:", "not an integer"},
      {"raw/node-label.csv.gz", "3\n0\ncat\n1\n3\n2\n", ":3:", "label 'cat'"},
      {"raw/node-label.csv.gz", "3\n0\n1\n1,0\n3\n2\n", ":4:", "2 columns, but line 1 has 1"},
      {"raw/node-label.csv.gz", "3\n0\n1\n1\n3\n", "", "5 label rows for 6 nodes"},
      {"raw/node-label.csv.gz", "0,1\n1,0\n1,2\n0,0\n1,1\n0,1\n", ":3:", "multi-label entry 2"},
      {"raw/edge.csv.gz", "0,1\n1,2\n3,0\n4,6\n2,0\n5,4\n", ":4:", "node id 6 outside [0, 6)"},
      {"raw/edge.csv.gz", "0,1\n1,2\n-3,0\n4,5\n2,0\n5,4\n", ":3:", "node id -3 outside [0, 6)"},
      {"raw/edge.csv.gz", "0,1\n1,2\n3 0\n4,5\n2,0\n5,4\n", ":3:", "expected 'src,dst'"},
      {"raw/edge.csv.gz", "0,1\n1,2\n3,x\n4,5\n2,0\n5,4\n", ":3:", "node id 'x'"},
      {"raw/edge.csv.gz", "0,1\n1,2,7\n3,0\n4,5\n2,0\n5,4\n", ":2:", "expected 'src,dst'"},
      {"raw/edge.csv.gz", "0,1\n1,2\n3,0\n4,5\n2,0\n", "", "5 edges, but num-edge-list announces 6"},
      {"raw/edge.csv.gz", "0,1\n1,2\n3,0\n4,5\n2,0\n5,4\n1,3\n", ":7:", "more edges than the 6"},
      {"raw/num-node-list.csv.gz", "6\n7\n", ":2:", "several graphs"},
      {"raw/num-node-list.csv.gz", "-6\n", ":1:", "negative node count -6"},
      {"raw/num-node-list.csv.gz", "", "", "empty"},
      {"raw/num-edge-list.csv.gz", "six\n", ":1:", "edge count 'six'"},
      {"split/time/train.csv.gz", "0\n6\n", ":2:", "node id 6 outside [0, 6)"},
      {"split/time/test.csv.gz", "5\n-1\n", ":2:", "node id -1 outside [0, 6)"},
      {"split/time/valid.csv.gz", "4\n4\n", "", "node 4 is listed twice"},
  };
  gas_test::TempDir tmp;
  int k = 0;
  for (const auto& c : cases) {
    const std::string file = c.file, text = c.text;
    CAPTURE(file);
    CAPTURE(text);
    auto files = arxiv_like();
    files[c.file] = c.text;
    const auto root = write_dataset(tmp, "case" + std::to_string(k++), files);
    CHECK_THROWS_NAMING(gas::format_error, gas::io::read_ogb(root), (root / c.file).string() + c.where, c.says);
  }
}

TEST_CASE("read_ogb: a truncated or corrupt edge file is an io_error naming it") {
  gas_test::TempDir tmp;
  auto files = arxiv_like();
  std::string edges;
  for (int i = 0; i < 3000; ++i) edges += std::to_string(i % 6) + "," + std::to_string((i * 5 + 1) % 6) + "\n";
  files["raw/edge.csv.gz"] = edges;
  files["raw/num-edge-list.csv.gz"] = "3000\n";
  const auto root = write_dataset(tmp, "ogbn_arxiv", files);
  CHECK(gas::io::read_ogb(root).num_nodes() == 6);
  const std::string gz = gas_test::slurp(root / "raw/edge.csv.gz");
  gas_test::write_file(root / "raw/edge.csv.gz", gz.substr(0, gz.size() / 2));
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_ogb(root), (root / "raw/edge.csv.gz").string(),
                      "truncated");
  auto bad = gz;
  bad[gz.size() / 2] = static_cast<char>(bad[gz.size() / 2] ^ 0x33);
  gas_test::write_file(root / "raw/edge.csv.gz", bad);
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_ogb(root), (root / "raw/edge.csv.gz").string());
}

// Hostile sizes (issue 16): the node and edge counts of the count files are proven by the label and edge
// files before anything of their size is allocated.
TEST_CASE("read_ogb: counts beyond the files are refused fast and without allocating them") {
  gas_test::TempDir tmp;
  auto files = arxiv_like();
  for (auto& [rel, text] : files) {
    if (rel == "raw/num-node-list.csv.gz") text = "2147483647\n";
    if (rel == "raw/edge.csv.gz") text = "0,1\n";
    if (rel == "raw/num-edge-list.csv.gz") text = "1000000000000\n";
  }
  CHECK_REFUSED_SMALL(gas::io::read_ogb(write_dataset(tmp, "nodes", files)), "node-label", "6 label rows for 2147483647");
  for (auto& [rel, text] : files)
    if (rel == "raw/num-node-list.csv.gz") text = "6\n";
  CHECK_REFUSED_SMALL(gas::io::read_ogb(write_dataset(tmp, "edges", files)), "edge.csv", "1000000000000");
}
