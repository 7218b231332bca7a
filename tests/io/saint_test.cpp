// read_saint: GraphSAINT folders written here as fixtures (adj_full.npz as scipy.sparse.save_npz writes it,
// feats.npy, class_map.json, role.json), single- and multi-label, and every kind of bad input.
#include "gas/io/saint.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "io/hostile.hpp"
#include "io/io_test_util.hpp"
#include "io/npz_writer.hpp"
#include "test_util.hpp"

using gas::io::read_saint;
using gas_test::Bytes;
using gas_test::npy;

namespace {

/// The parts of a GraphSAINT folder; defaults describe a 5-node ring with 3 features and 3 classes.
struct SaintFixture {
  std::vector<std::pair<std::string, Bytes>> adj = {
      {"indices", npy<std::int32_t>({10}, {1, 4, 0, 2, 1, 3, 2, 4, 0, 3})},
      {"indptr", npy<std::int32_t>({6}, {0, 2, 4, 6, 8, 10})},
      {"format", gas_test::npy_string("csr")},
      {"shape", npy<std::int64_t>({2}, {5, 5})},
      {"data", npy<float>({10}, std::vector<float>(10, 1.0f))},
  };
  Bytes feats = npy<float>({5, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
  std::string class_map = R"({"3": 0, "0": 2, "1": 1, "4": 1, "2": 0})";
  std::string role = R"({"tr": [3, 0], "va": [1], "te": [4, 2]})";

  void write(const std::filesystem::path& dir) const {
    gas_test::write_npz(dir / "adj_full.npz", adj);
    gas_test::write_file(dir / "feats.npy", feats);
    gas_test::write_file(dir / "class_map.json", class_map);
    gas_test::write_file(dir / "role.json", role);
  }
};

std::vector<std::pair<std::string, Bytes>> replace(std::vector<std::pair<std::string, Bytes>> arrays,
                                                   const std::string& key, Bytes image) {
  for (auto& [k, v] : arrays)
    if (k == key) v = std::move(image);
  return arrays;
}

}  // namespace

TEST_CASE("saint: single-label folder") {
  gas_test::TempDir tmp;
  const auto dir = tmp / "ring";
  SaintFixture{}.write(dir);
  const auto ds = read_saint(dir);
  CHECK(ds.name == "ring");
  CHECK(ds.num_nodes() == 5);
  CHECK(ds.num_edges() == 10);
  CHECK(ds.num_features() == 3);
  CHECK(ds.features(4, 2) == 14.0f);
  CHECK(ds.labels == std::vector<std::int32_t>{2, 1, 0, 0, 1});
  CHECK(ds.num_classes == 3);
  CHECK_FALSE(ds.is_multi_label());
  REQUIRE(ds.splits.size() == 1);
  CHECK(ds.splits[0].train == std::vector<gas::node_id>{0, 3});
  CHECK(ds.splits[0].val == std::vector<gas::node_id>{1});
  CHECK(ds.splits[0].test == std::vector<gas::node_id>{2, 4});
  // A trailing separator does not change the name.
  CHECK(read_saint(dir.string() + "/").name == "ring");
}

TEST_CASE("saint: multi-label folder") {
  gas_test::TempDir tmp;
  SaintFixture f;
  f.class_map = R"({"0": [1, 0, 1, 0], "2": [0, 0, 0, 1], "1": [0, 1, 0, 0], "4": [1, 1, 1, 1], "3": [0, 0, 0, 0]})";
  f.write(tmp / "multi");
  const auto ds = read_saint(tmp / "multi");
  CHECK(ds.is_multi_label());
  CHECK(ds.labels.empty());
  CHECK(ds.num_classes == 4);
  REQUIRE(ds.multi_labels.rows() == 5);
  REQUIRE(ds.multi_labels.cols() == 4);
  const std::vector<std::uint8_t> expected{1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1};
  CHECK(std::vector<std::uint8_t>(ds.multi_labels.values().begin(), ds.multi_labels.values().end()) == expected);
}

TEST_CASE("saint: a larger multi-label class_map read through JSON events") {
  // 20000 nodes x 50 classes, keys in reverse order: the matrix is filled from the events directly.
  const int n = 20000, c = 50;
  gas_test::TempDir tmp;
  SaintFixture f;
  std::vector<std::int32_t> ptr(n + 1);
  std::vector<std::int32_t> idx;
  for (int v = 0; v < n; ++v) {
    for (int u : {(v + n - 1) % n, (v + 1) % n}) idx.push_back(u);
    std::sort(idx.end() - 2, idx.end());
    ptr[static_cast<std::size_t>(v) + 1] = static_cast<std::int32_t>(idx.size());
  }
  f.adj = {{"indices", npy<std::int32_t>({static_cast<std::int64_t>(idx.size())}, idx)},
           {"indptr", npy<std::int32_t>({n + 1}, ptr)},
           {"format", gas_test::npy_string("csr")},
           {"shape", npy<std::int64_t>({2}, {n, n})},
           {"data", npy<float>({static_cast<std::int64_t>(idx.size())}, std::vector<float>(idx.size(), 1.0f))}};
  f.feats = npy<float>({n, 1}, std::vector<float>(n, 0.5f));
  std::string cm = "{";
  std::int64_t ones = 0;
  for (int v = n - 1; v >= 0; --v) {
    cm += "\"" + std::to_string(v) + "\": [";
    for (int j = 0; j < c; ++j) {
      const bool bit = (v + j) % 7 == 0;
      ones += bit;
      cm += std::string(j ? "," : "") + (bit ? "1" : "0");
    }
    cm += v ? "], " : "]";
  }
  cm += "}";
  f.class_map = cm;
  f.role = R"({"tr": [0, 1], "va": [2], "te": [3]})";
  f.write(tmp / "big");
  const auto ds = read_saint(tmp / "big");
  CHECK(ds.num_nodes() == n);
  CHECK(ds.num_edges() == 2 * n);
  CHECK(ds.num_classes == c);
  std::int64_t sum = 0;
  for (auto b : ds.multi_labels.values()) sum += b;
  CHECK(sum == ones);
  CHECK(ds.multi_labels(7, 0) == 1);
  CHECK(ds.multi_labels(7, 1) == 0);
}

TEST_CASE("saint: CSC and COO adjacency files are read too; other formats are refused") {
  gas_test::TempDir tmp;
  SaintFixture csc;  // the ring is symmetric, so its CSC arrays equal its CSR arrays
  csc.adj = replace(csc.adj, "format", gas_test::npy_string("csc"));
  csc.write(tmp / "csc");
  CHECK(read_saint(tmp / "csc").num_edges() == 10);

  // A directed 3-cycle in CSC form without symmetrizing: column j lists the rows i of edges (i, j).
  SaintFixture directed;
  directed.adj = {{"indices", npy<std::int32_t>({3}, {2, 0, 1})},
                  {"indptr", npy<std::int32_t>({4}, {0, 1, 2, 3})},
                  {"format", gas_test::npy_string("csc")},
                  {"shape", npy<std::int64_t>({2}, {3, 3})},
                  {"data", npy<float>({3}, {1, 1, 1})}};
  directed.feats = npy<float>({3, 1}, {1, 2, 3});
  directed.class_map = R"({"0": 0, "1": 1, "2": 0})";
  directed.role = R"({"tr": [0], "va": [1], "te": [2]})";
  directed.write(tmp / "dcsc");
  const auto g = read_saint(tmp / "dcsc", {.symmetrize = false}).graph;
  REQUIRE(g.num_edges() == 3);
  CHECK(g.neighbors(0)[0] == 1);  // edge (0, 1) sits in column 1
  CHECK(g.neighbors(2)[0] == 0);

  SaintFixture coo = directed;
  coo.adj = {{"row", npy<std::int64_t>({3}, {0, 1, 2})},
             {"col", npy<std::int64_t>({3}, {1, 2, 0})},
             {"format", gas_test::npy_string("coo")},
             {"shape", npy<std::int64_t>({2}, {3, 3})},
             {"data", npy<float>({3}, {1, 1, 1})}};
  coo.write(tmp / "coo");
  const auto h = read_saint(tmp / "coo", {.symmetrize = false}).graph;
  CHECK(h == g);

  SaintFixture bsr;
  bsr.adj = replace(bsr.adj, "format", gas_test::npy_string("bsr"));
  bsr.write(tmp / "bsr");
  CHECK_THROWS_NAMING(gas::format_error, read_saint(tmp / "bsr"), "adj_full.npz", "'bsr'");
}

TEST_CASE("saint: missing folder and files are io errors naming them") {
  gas_test::TempDir tmp;
  CHECK_THROWS_NAMING(gas::io_error, read_saint(tmp / "nowhere"), "nowhere");
  for (const char* file : {"adj_full.npz", "feats.npy", "class_map.json", "role.json"}) {
    CAPTURE(file);
    const auto dir = tmp / (std::string("no_") + file);
    SaintFixture{}.write(dir);
    std::filesystem::remove(dir / file);
    CHECK_THROWS_NAMING(gas::io_error, read_saint(dir), file);
  }
}

TEST_CASE("saint: bad class_map.json") {
  gas_test::TempDir tmp;
  int case_id = 0;
  auto expect = [&](const std::string& class_map, std::initializer_list<std::string_view> needles) {
    CAPTURE(class_map);
    SaintFixture f;
    f.class_map = class_map;
    const auto dir = tmp / ("c" + std::to_string(case_id++));
    f.write(dir);
    gas_test::check_throws_naming<gas::format_error>([&] { (void)read_saint(dir); }, {"class_map.json"},
                                                     class_map.c_str(), __FILE__, __LINE__);
    gas_test::check_throws_naming<gas::format_error>([&] { (void)read_saint(dir); }, needles, class_map.c_str(),
                                                     __FILE__, __LINE__);
  };
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1})", {"node 2 has no entry", "1 of 5"});
  expect(R"({})", {"node 0 has no entry", "5 of 5"});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "2": 0, "3": 1})", {"node 3 appears twice"});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "x": 0})", {"\"x\"", "not a node id"});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "-2": 0})", {"\"-2\""});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "5": 0})", {"\"5\"", "outside"});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "2": -1})", {"node 2", "-1"});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "2": 1.5})", {"node 2", "1.5"});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "2": "a"})", {"node 2", "string"});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "2": null})", {"node 2", "null"});
  expect(R"({"3": [1, 0], "0": [0, 1], "1": [1, 1], "4": [0, 0], "2": 1})", {"mixes"});
  expect(R"({"3": [1, 0], "0": [0, 1], "1": [1, 1], "4": [0, 0], "2": [1]})", {"node 2", "1 labels", "2"});
  expect(R"({"3": [1, 0], "0": [0, 1], "1": [1, 1], "4": [0, 0], "2": [1, 0, 1]})", {"node 2", "more than 2"});
  expect(R"({"3": [1, 0], "0": [0, 1], "1": [1, 2], "4": [0, 0], "2": [1, 0]})", {"node 1", "entry 2"});
  expect(R"({"3": [], "0": [0, 1], "1": [1, 1], "4": [0, 0], "2": [1, 0]})", {"node 3", "empty"});
  expect(R"({"3": [[1]], "0": 2, "1": 1, "4": 1, "2": 0})", {"nested"});
  expect(R"({"3": {"a": 1}, "0": 2, "1": 1, "4": 1, "2": 0})", {"node 3", "object"});
  expect(R"([0, 2, 1, 0, 1])", {"top level"});
  expect(R"(7)", {"top level"});
  // Malformed JSON: the parser's error, with the byte offset.
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "2": 0)", {"byte "});
  expect(R"({"3": 0 "0": 2})", {"byte 8"});
  expect(R"({"3": 0, "0": 2, "1": 1, "4": 1, "2": 0,})", {"byte "});
  expect("", {"empty document"});
  // Structure is checked as events arrive, so a deep document fails at its second level, long before the
  // parser's depth limit (role.json, read as a DOM, tests that limit below).
  expect(R"({"3": )" + std::string(600, '[') + std::string(600, ']') + "}", {"nested array in node 3"});
}

TEST_CASE("saint: bad role.json, features and adjacency") {
  gas_test::TempDir tmp;
  int case_id = 0;
  auto expect = [&](const SaintFixture& f, std::string_view file, std::initializer_list<std::string_view> needles) {
    const auto dir = tmp / ("r" + std::to_string(case_id++));
    f.write(dir);
    CAPTURE(case_id);
    gas_test::check_throws_naming<gas::format_error>([&] { (void)read_saint(dir); }, {file}, "read_saint", __FILE__,
                                                     __LINE__);
    gas_test::check_throws_naming<gas::format_error>([&] { (void)read_saint(dir); }, needles, "read_saint", __FILE__,
                                                     __LINE__);
  };
  auto role = [](std::string text) {
    SaintFixture f;
    f.role = std::move(text);
    return f;
  };
  expect(role(R"({"tr": [0], "va": [1]})"), "role.json", {"\"te\""});
  expect(role(R"({"tr": [0], "va": [1], "te": [5]})"), "role.json", {"\"te\" entry 0"});
  expect(role(R"({"tr": [0, -1], "va": [1], "te": [2]})"), "role.json", {"\"tr\" entry 1"});
  expect(role(R"({"tr": [0, 0], "va": [1], "te": [2]})"), "role.json", {"twice"});
  expect(role(R"({"tr": "0", "va": [1], "te": [2]})"), "role.json", {"\"tr\"", "a string"});
  expect(role(R"([[0], [1], [2]])"), "role.json", {"top level"});
  expect(role(R"({"tr": [0], "va": [1], "te": [2])"), "role.json", {"byte "});
  expect(role(std::string(1000, '[')), "role.json", {"nesting"});

  SaintFixture rows;
  rows.feats = npy<float>({4, 3}, std::vector<float>(12, 0.0f));
  expect(rows, "feats.npy", {"(4, 3)", "5 nodes"});
  SaintFixture nan;
  nan.feats = npy<float>({5, 1}, {0, 1, std::nanf(""), 3, 4});
  expect(nan, "feats.npy", {"feature (2, 0)", "not finite"});
  SaintFixture inf;
  inf.feats = npy<float>({5, 1}, {0, 1, 2, INFINITY, 4});
  expect(inf, "feats.npy", {"feature (3, 0)"});
  SaintFixture obj;
  obj.feats = gas_test::npy_bytes("|O", {5}, Bytes(40, 0));
  expect(obj, "feats.npy", {"pickled"});

  SaintFixture range;
  range.adj = replace(range.adj, "indices", npy<std::int32_t>({10}, {1, 4, 0, 2, 1, 3, 2, 7, 0, 3}));
  expect(range, "adj_full.npz", {"indices", "entry 7"});
  SaintFixture square;
  square.adj = replace(square.adj, "shape", npy<std::int64_t>({2}, {5, 6}));
  expect(square, "adj_full.npz", {"square"});
  SaintFixture fmt;
  fmt.adj = replace(fmt.adj, "format", npy<std::int32_t>({1}, {0}));
  expect(fmt, "adj_full.npz", {"'format'"});
  SaintFixture no_indptr;
  no_indptr.adj.erase(no_indptr.adj.begin() + 1);
  expect(no_indptr, "adj_full.npz", {"indptr"});
}

// Hostile sizes (issue 16): a COO shape is backed by no bytes, so a tiny adj_full.npz could declare 2^31 - 1
// nodes; beyond two per entry they are capped by read_limits().max_isolated_nodes before the graph is built.
TEST_CASE("saint: a COO adjacency declaring far more nodes than entries is refused fast") {
  gas_test::TempDir tmp;
  SaintFixture coo;
  coo.adj = {{"row", npy<std::int64_t>({1}, {0})},
             {"col", npy<std::int64_t>({1}, {1})},
             {"format", gas_test::npy_string("coo")},
             {"shape", npy<std::int64_t>({2}, {2147483647, 2147483647})}};
  coo.write(tmp / "wide");
  CHECK_REFUSED_SMALL(read_saint(tmp / "wide"), "adj_full.npz", "isolated nodes", "max_isolated_nodes");
}
