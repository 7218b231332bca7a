// read_npz: both layouts on the real files (the figures of shared/data/README.md), on small fixtures, and on
// every kind of bad input, each failing with the right exception type and a message naming the file.
#include "gas/io/npz_dataset.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "io/hostile.hpp"
#include "io/io_test_util.hpp"
#include "io/npz_writer.hpp"
#include "test_util.hpp"

using gas::io::read_npz;
using gas_test::Bytes;
using gas_test::npy;

namespace {

struct Expected {
  const char* file;
  gas::node_id nodes;
  std::int64_t edges, directed_pairs;
  std::int64_t features;
  std::int32_t classes;
  std::size_t train, val, test;
  std::int64_t label_sum;
  double feature_sum;
};

std::size_t degree_sum(const gas::Graph& g) {
  std::size_t s = 0;
  for (gas::node_id v = 0; v < g.rows(); ++v) s += static_cast<std::size_t>(g.degree(v));
  return s;
}

bool symmetric(const gas::Graph& g) {
  for (gas::node_id v = 0; v < g.rows(); ++v)
    for (auto u : g.neighbors(v)) {
      const auto back = g.neighbors(u);
      if (!std::binary_search(back.begin(), back.end(), v)) return false;
    }
  return true;
}

/// A small heterophilous-layout archive: 4 nodes, 2 features, a path 0-1-2-3, 2 splits.
std::vector<std::pair<std::string, Bytes>> hetero_fixture() {
  return {
      {"node_features", npy<float>({4, 2}, {1, 0, 0, 1, 1, 1, 0, 0})},
      {"node_labels", npy<std::int64_t>({4}, {0, 1, 2, 1})},
      {"edges", npy<std::int64_t>({3, 2}, {0, 1, 1, 2, 2, 3})},
      {"train_masks", npy<bool>({2, 4}, {true, false, false, false, false, true, false, false})},
      {"val_masks", npy<bool>({2, 4}, {false, true, false, false, true, false, false, false})},
      {"test_masks", npy<bool>({2, 4}, {false, false, true, true, false, false, true, true})},
  };
}

/// Replaces (or adds) one array of a fixture.
std::vector<std::pair<std::string, Bytes>> with(std::vector<std::pair<std::string, Bytes>> arrays,
                                                const std::string& key, Bytes image) {
  for (auto& [k, v] : arrays)
    if (k == key) {
      v = std::move(image);
      return arrays;
    }
  arrays.emplace_back(key, std::move(image));
  return arrays;
}

std::vector<std::pair<std::string, Bytes>> without(std::vector<std::pair<std::string, Bytes>> arrays,
                                                   const std::string& key) {
  std::erase_if(arrays, [&](const auto& a) { return a.first == key; });
  return arrays;
}

/// A small gnn-benchmark-layout archive: 3 nodes, edges 0->1, 1->2, sparse features, labels.
std::vector<std::pair<std::string, Bytes>> benchmark_fixture() {
  return {
      {"adj_data", npy<float>({2}, {1, 1})},
      {"adj_indices", npy<std::int32_t>({2}, {1, 2})},
      {"adj_indptr", npy<std::int32_t>({4}, {0, 1, 2, 2})},
      {"adj_shape", npy<std::int64_t>({2}, {3, 3})},
      {"attr_data", npy<float>({3}, {1, 2, 3})},
      {"attr_indices", npy<std::int32_t>({3}, {0, 3, 1})},
      {"attr_indptr", npy<std::int32_t>({4}, {0, 2, 2, 3})},
      {"attr_shape", npy<std::int64_t>({2}, {3, 4})},
      {"labels", npy<std::int8_t>({3}, {0, 2, 1})},
  };
}

}  // namespace

TEST_CASE("npz: heterophilous-graphs files give the published figures") {
  const Expected all[] = {
      {"minesweeper", 10000, 78804, 39402, 7, 2, 5000, 2500, 2500, 2000, 10000.0},
      {"chameleon_filtered", 890, 17708, 8854, 2325, 5, 409, 287, 194, 1608, 9903.0},
      {"squirrel_filtered", 2223, 93996, 46998, 2089, 5, 1053, 718, 452, 3205, 32481.0},
      {"actor", 7600, 53318, 26659, 932, 5, 3648, 2432, 1520, 17902, 40977.0},
  };
  for (const auto& e : all) {
    const std::string relative = std::string("heterophilous/") + e.file + ".npz";
    if (gas_test::missing(relative)) continue;
    CAPTURE(e.file);
    const auto ds = read_npz(gas_test::data_dir() / relative);
    CHECK(ds.name == e.file);
    CHECK(ds.num_nodes() == e.nodes);
    CHECK(ds.num_edges() == e.edges);
    CHECK(symmetric(ds.graph));
    CHECK(degree_sum(ds.graph) == static_cast<std::size_t>(e.edges));
    CHECK(ds.num_features() == e.features);
    CHECK(ds.num_classes == e.classes);
    CHECK_FALSE(ds.is_multi_label());
    CHECK(std::accumulate(ds.labels.begin(), ds.labels.end(), std::int64_t{0}) == e.label_sum);
    double fsum = 0;
    const auto dense = ds.features.to_dense();  // bag-of-words files load sparse
    for (float f : dense.values()) fsum += f;
    CHECK(fsum == e.feature_sum);
    REQUIRE(ds.splits.size() == 10);
    CHECK(ds.splits[0].train.size() == e.train);
    CHECK(ds.splits[0].val.size() == e.val);
    CHECK(ds.splits[0].test.size() == e.test);
    CHECK(std::is_sorted(ds.splits[0].train.begin(), ds.splits[0].train.end()));

    // Without symmetrizing, the graph holds each file pair once (no self-loops or duplicates in these files).
    const auto raw = read_npz(gas_test::data_dir() / relative, {.symmetrize = false});
    CHECK(raw.num_edges() == e.directed_pairs);
  }
}

TEST_CASE("npz: gnn-benchmark Cora" * doctest::skip(gas_test::missing("gnn-benchmark/cora.npz"))) {
  const auto ds = read_npz(gas_test::data_dir() / "gnn-benchmark/cora.npz");
  CHECK(ds.name == "cora");
  CHECK(ds.num_nodes() == 2708);
  // 5429 stored entries; symmetrized, without self-loops and duplicates: 10556 (scipy: ((A + A.T) != 0).nnz).
  CHECK(ds.num_edges() == 10556);
  CHECK(symmetric(ds.graph));
  CHECK(ds.num_features() == 1433);
  CHECK(ds.num_classes == 7);
  CHECK(ds.splits.empty());
  CHECK(std::accumulate(ds.labels.begin(), ds.labels.end(), std::int64_t{0}) == 7206);
  double fsum = 0;
  std::size_t non_binary = 0;  // Cora's features are a binary bag of words
  const auto dense = ds.features.to_dense();
  for (float f : dense.values()) {
    non_binary += f != 0.0f && f != 1.0f;
    fsum += f;
  }
  CHECK(non_binary == 0);
  CHECK(fsum == 49216.0);
  CHECK(read_npz(gas_test::data_dir() / "gnn-benchmark/cora.npz", {.symmetrize = false}).num_edges() == 5429);
}

TEST_CASE("npz: heterophilous fixture, stored and deflated, with and without splits") {
  gas_test::TempDir dir;
  for (auto method : {gas_test::Method::stored, gas_test::Method::deflate}) {
    gas_test::write_npz(dir / "tiny.npz", hetero_fixture(), method);
    const auto ds = read_npz(dir / "tiny.npz");
    CHECK(ds.name == "tiny");
    CHECK(ds.num_nodes() == 4);
    CHECK(ds.num_edges() == 6);
    CHECK(ds.num_features() == 2);
    CHECK(ds.features(2, 1) == 1.0f);
    CHECK(ds.labels == std::vector<std::int32_t>{0, 1, 2, 1});
    CHECK(ds.num_classes == 3);
    REQUIRE(ds.splits.size() == 2);
    CHECK(ds.splits[0].train == std::vector<gas::node_id>{0});
    CHECK(ds.splits[0].val == std::vector<gas::node_id>{1});
    CHECK(ds.splits[0].test == std::vector<gas::node_id>{2, 3});
    CHECK(ds.splits[1].train == std::vector<gas::node_id>{1});
    CHECK(ds.splits[1].val == std::vector<gas::node_id>{0});
  }
  auto no_masks = without(without(without(hetero_fixture(), "train_masks"), "val_masks"), "test_masks");
  gas_test::write_npz(dir / "nosplit.npz", no_masks);
  CHECK(read_npz(dir / "nosplit.npz").splits.empty());
  // One-dimensional masks are one split; int32 edges and int8 labels convert like int64 ones.
  auto one = with(with(with(hetero_fixture(), "train_masks", npy<bool>({4}, {true, false, false, false})), "val_masks",
                       npy<bool>({4}, {false, true, false, false})),
                  "test_masks", npy<bool>({4}, {false, false, true, true}));
  one = with(with(one, "edges", npy<std::int32_t>({3, 2}, {0, 1, 1, 2, 2, 3})), "node_labels",
             npy<std::int8_t>({4}, {0, 1, 2, 1}));
  gas_test::write_npz(dir / "one.npz", one);
  const auto ds = read_npz(dir / "one.npz");
  REQUIRE(ds.splits.size() == 1);
  CHECK(ds.splits[0].test == std::vector<gas::node_id>{2, 3});
  CHECK(ds.num_edges() == 6);
}

TEST_CASE("npz: gnn-benchmark fixture with sparse, dense and no features") {
  gas_test::TempDir dir;
  gas_test::write_npz(dir / "bench.npz", benchmark_fixture(), gas_test::Method::stored);
  const auto ds = read_npz(dir / "bench.npz");
  CHECK(ds.num_nodes() == 3);
  CHECK(ds.num_edges() == 4);
  CHECK(ds.num_features() == 4);
  CHECK(ds.features(0, 0) == 1.0f);
  CHECK(ds.features(0, 3) == 2.0f);
  CHECK(ds.features(2, 1) == 3.0f);
  CHECK(ds.features(1, 1) == 0.0f);
  CHECK(ds.labels == std::vector<std::int32_t>{0, 2, 1});
  CHECK(ds.num_classes == 3);
  CHECK(ds.splits.empty());

  auto dense = benchmark_fixture();
  for (const char* k : {"attr_data", "attr_indices", "attr_indptr", "attr_shape"}) dense = without(dense, k);
  gas_test::write_npz(dir / "nofeat.npz", without(dense, "labels"));
  const auto bare = read_npz(dir / "nofeat.npz");
  CHECK(bare.num_features() == 0);
  CHECK(bare.features.rows() == 3);
  CHECK_FALSE(bare.has_targets());
  dense = with(dense, "attr_matrix", npy<double>({3, 2}, {1, 2, 3, 4, 5, 6}));
  gas_test::write_npz(dir / "dense.npz", dense);
  CHECK(read_npz(dir / "dense.npz").features(2, 1) == 6.0f);

  // An explicitly stored zero is not an edge.
  gas_test::write_npz(dir / "zero.npz", with(benchmark_fixture(), "adj_data", npy<float>({2}, {1, 0})));
  CHECK(read_npz(dir / "zero.npz").num_edges() == 2);
}

TEST_CASE("npz: bad input fails with the exception type and the file named") {
  gas_test::TempDir dir;
  auto expect = [&](const std::string& name, const std::vector<std::pair<std::string, Bytes>>& arrays,
                    std::initializer_list<std::string_view> needles) {
    CAPTURE(name);
    const auto path = dir / (name + ".npz");
    gas_test::write_npz(path, arrays);
    gas_test::check_throws_naming<gas::format_error>([&] { (void)read_npz(path); }, {path.string()}, name.c_str(),
                                                     __FILE__, __LINE__);
    gas_test::check_throws_naming<gas::format_error>([&] { (void)read_npz(path); }, needles, name.c_str(), __FILE__,
                                                     __LINE__);
  };
  const auto h = hetero_fixture();
  expect("edges3", with(h, "edges", npy<std::int64_t>({2, 3}, {0, 1, 2, 1, 2, 3})), {"'edges'", "(2, 3)", "(*, 2)"});
  expect("edges1d", with(h, "edges", npy<std::int64_t>({4}, {0, 1, 1, 2})), {"'edges'"});
  expect("edge_range", with(h, "edges", npy<std::int64_t>({2, 2}, {0, 1, 1, 4})), {"'edges'", "entry 3", "node 4"});
  expect("edge_negative", with(h, "edges", npy<std::int64_t>({2, 2}, {0, -1, 1, 2})), {"'edges'", "-1"});
  expect("edge_float", with(h, "edges", npy<float>({1, 2}, {0.5f, 1})), {"edges"});
  expect("mask_length", with(h, "val_masks", npy<bool>({2, 3}, {1, 0, 0, 0, 0, 0})), {"'val_masks'", "(2, 3)"});
  expect("mask_splits", with(h, "test_masks", npy<bool>({1, 4}, {0, 0, 1, 1})), {"'test_masks'", "1 splits"});
  expect("mask_missing", without(h, "test_masks"), {"test_masks"});
  expect("labels_length", with(h, "node_labels", npy<std::int64_t>({3}, {0, 1, 2})), {"'node_labels'", "(3,)"});
  expect("label_negative", with(h, "node_labels", npy<std::int64_t>({4}, {0, -1, 2, 1})),
         {"'node_labels'", "node 1", "-1"});
  expect("label_huge", with(h, "node_labels", npy<std::int64_t>({4}, {0, std::int64_t{1} << 40, 2, 1})),
         {"node_labels"});
  expect("label_string", with(h, "node_labels", gas_test::npy_bytes("|S1", {4}, Bytes{'a', 'b', 'c', 'd'})),
         {"'node_labels'", "|S1"});
  expect("nan_feature", with(h, "node_features", npy<float>({4, 2}, {1, 0, 0, std::nanf(""), 1, 1, 0, 0})),
         {"feature (1, 1)", "not finite"});
  expect("inf_feature",
         with(h, "node_features", npy<double>({4, 2}, {1, 0, 0, 0, 1e300, 1, 0, 0})),  // overflows float
         {"feature (2, 0)", "not finite"});
  expect("features_1d", with(h, "node_features", npy<float>({4}, {1, 2, 3, 4})), {"'node_features'"});
  expect("object", with(h, "node_labels", gas_test::npy_bytes("|O", {4}, Bytes(32, 0))), {"pickled"});
  expect("unknown", {{"foo", npy<int>({1}, {1})}, {"bar", npy<int>({1}, {1})}},
         {"unknown npz dataset layout", "foo", "bar"});

  const auto b = benchmark_fixture();
  expect("indptr_length", with(b, "adj_indptr", npy<std::int32_t>({3}, {0, 1, 2})), {"adj_indptr", "(3,)"});
  expect("indptr_end", with(b, "adj_indptr", npy<std::int32_t>({4}, {0, 1, 2, 3})), {"adj_indptr", "indptr"});
  expect("indptr_decreasing", with(b, "adj_indptr", npy<std::int32_t>({4}, {0, 2, 1, 2})), {"adj_indptr", "decreases"});
  expect("index_range", with(b, "adj_indices", npy<std::int32_t>({2}, {1, 3})), {"adj_indices", "entry 1"});
  expect("nonsquare", with(b, "adj_shape", npy<std::int64_t>({2}, {3, 4})), {"square"});
  expect("data_length", with(b, "adj_data", npy<float>({3}, {1, 1, 1})), {"adj_data"});
  expect("attr_rows", with(b, "attr_shape", npy<std::int64_t>({2}, {2, 4})), {"attr"});
  expect("attr_cols", with(b, "attr_indices", npy<std::int32_t>({3}, {0, 4, 1})), {"attr_indices"});
  expect("bench_label", with(b, "labels", npy<std::int8_t>({3}, {0, -2, 1})), {"'labels'", "-2"});
}

TEST_CASE("npz: missing, truncated and corrupt archives") {
  gas_test::TempDir dir;
  CHECK_THROWS_NAMING(gas::io_error, read_npz(dir / "absent.npz"), "absent.npz");
  gas_test::write_npz(dir / "good.npz", hetero_fixture());
  const auto bytes = gas::io::read_file(dir / "good.npz");
  for (std::size_t cut : {std::size_t{0}, std::size_t{10}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 30,
                          bytes.size() - 1}) {
    CAPTURE(cut);
    gas_test::write_file(dir / "cut.npz", Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
    CHECK_THROWS_NAMING(gas::format_error, read_npz(dir / "cut.npz"), "cut.npz");  // readable but malformed
  }
  gas_test::ZipWriter zip;
  for (const auto& [key, image] : hetero_fixture()) zip.add(key + ".npy", image, gas_test::Method::deflate);
  Bytes flipped = zip.finish();
  flipped[zip.data_offset(0) + 5] ^= 0xFF;  // inside the first entry's DEFLATE stream
  gas_test::write_file(dir / "flip.npz", flipped);
  CHECK_THROWS_NAMING(gas::format_error, read_npz(dir / "flip.npz"), "flip.npz");
}

// Hostile sizes (issue 16): the counts of an npz dataset (CSR shape and indptr, split count) are checked
// against the arrays that back them before anything of that size is allocated.
TEST_CASE("npz: declared counts beyond the arrays are refused fast and without allocating them") {
  gas_test::TempDir dir;
  // A CSR adjacency claiming 2^31 - 1 nodes with a 4-entry indptr.
  gas_test::write_npz(dir / "csr.npz", {{"adj_data", npy<float>({3}, {1, 1, 1})},
                                        {"adj_indices", npy<std::int32_t>({3}, {1, 2, 0})},
                                        {"adj_indptr", npy<std::int32_t>({4}, {0, 1, 2, 3})},
                                        {"adj_shape", npy<std::int64_t>({2}, {2147483647, 2147483647})}});
  CHECK_REFUSED_SMALL(read_npz(dir / "csr.npz"), "csr.npz", "adj_indptr");
  // 10^12 splits of a graph without nodes: (10^12, 0) masks hold no bytes at all.
  gas_test::write_npz(dir / "splits.npz", {{"node_features", npy<float>({0, 2}, {})},
                                           {"node_labels", npy<std::int64_t>({0}, {})},
                                           {"edges", npy<std::int64_t>({0, 2}, {})},
                                           {"train_masks", npy<bool>({1000000000000, 0}, {})},
                                           {"val_masks", npy<bool>({1000000000000, 0}, {})},
                                           {"test_masks", npy<bool>({1000000000000, 0}, {})}});
  CHECK_REFUSED_SMALL(read_npz(dir / "splits.npz"), "splits.npz", "train_masks", "1000000000000 splits");
}
