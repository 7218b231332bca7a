// build_batch: the reference batch semantics (in-batch order, halo in first-seen order, full bipartite rows,
// chunks), checked against a brute-force std::set reference on random graphs and cluster layouts, and the
// errors for bad inputs.

#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/core/rng.hpp>
#include <gas/loader/batch.hpp>

#include "io/io_test_util.hpp"
#include "loader/loader_test_util.hpp"

using gas::node_id;
using gas::loader::Batch;
using gas::loader::BatchWorkspace;
using gas::loader::build_batch;

namespace {

/// A random group of `count` distinct clusters out of `parts`, in random order.
std::vector<std::int32_t> random_group(std::int32_t parts, std::int32_t count, gas::Rng& rng) {
  std::vector<std::int32_t> all(static_cast<std::size_t>(parts));
  std::iota(all.begin(), all.end(), 0);
  rng.shuffle(all.begin(), all.end());
  all.resize(static_cast<std::size_t>(count));
  return all;
}

/// Many random groups of every size on one graph and pointer, all through one workspace.
void check_random_groups(const gas::Graph& g, const std::vector<std::int64_t>& ptr, std::uint64_t seed) {
  const auto parts = static_cast<std::int32_t>(ptr.size()) - 1;
  gas::Rng rng(seed, 3);
  BatchWorkspace ws;
  Batch reused;
  for (int trial = 0; trial < 30; ++trial) {
    const auto count = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(parts)) + 1);
    const auto group = random_group(parts, count, rng);
    const auto b = build_batch(g, ptr, group, ws);
    gas_test::check_batch(g, ptr, group, b);
    build_batch(g, ptr, group, ws, reused);  // into a recycled batch: same result
    CHECK(reused == b);
  }
}

}  // namespace

TEST_CASE("build_batch matches the reference on a hand-made graph") {
  // 0 - 1 - 2 | 3 - 4 | 5 (isolated) ; clusters {0,1}, {2,3}, {4,5}; rows deliberately unsorted.
  //   row 0: 1        row 1: 2, 0, 1 (self-loop)   row 2: 1, 3
  //   row 3: 4, 2     row 4: 3                     row 5: (none)
  const gas::Graph g(6, 6, {0, 1, 4, 6, 8, 9, 9}, {1, 2, 0, 1, 1, 3, 4, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const std::vector<std::int64_t> ptr{0, 2, 4, 6};
  BatchWorkspace ws;

  const std::vector<std::int32_t> group{2, 0};
  const Batch b = build_batch(g, ptr, group, ws);
  CHECK(b.batch_size == 4);
  CHECK(b.n_id == std::vector<node_id>{4, 5, 0, 1, 3, 2});  // halo: 3 (seen in row 4), then 2 (row 1)
  CHECK(b.num_halo() == 2);
  CHECK(b.chunks == std::vector<gas::loader::Chunk>{{4, 2}, {0, 2}});
  CHECK(b.clusters == group);
  CHECK(b.adj.rows() == 4);
  CHECK(b.adj.cols() == 6);
  CHECK(std::vector<std::int64_t>(b.adj.indptr().begin(), b.adj.indptr().end()) == std::vector<std::int64_t>{0, 1, 1, 2, 5});
  CHECK(std::vector<node_id>(b.adj.indices().begin(), b.adj.indices().end()) == std::vector<node_id>{4, 3, 5, 2, 3});
  CHECK(std::vector<float>(b.adj.weights().begin(), b.adj.weights().end()) == std::vector<float>{9, 1, 2, 3, 4});
  gas_test::check_batch(g, ptr, group, b);

  // Consecutive clusters merge into one chunk; a whole-graph batch has no halo.
  const std::vector<std::int32_t> all{0, 1, 2};
  const Batch whole = build_batch(g, ptr, all, ws);
  CHECK(whole.chunks == std::vector<gas::loader::Chunk>{{0, 6}});
  CHECK(whole.num_halo() == 0);
  CHECK(whole.n_id == std::vector<node_id>{0, 1, 2, 3, 4, 5});
  gas_test::check_batch(g, ptr, all, whole);

  // An empty group is an empty batch.
  const Batch none = build_batch(g, ptr, std::vector<std::int32_t>{}, ws);
  CHECK(none.batch_size == 0);
  CHECK(none.n_id.empty());
  CHECK(none.adj.rows() == 0);
}

TEST_CASE("build_batch: chunks merge across empty clusters and skip them") {
  const gas::Graph g(4, 4, {0, 1, 2, 3, 4}, {1, 0, 3, 2});
  const std::vector<std::int64_t> ptr{0, 2, 2, 4};  // cluster 1 is empty
  BatchWorkspace ws;
  for (const auto& group : {std::vector<std::int32_t>{0, 1, 2}, std::vector<std::int32_t>{0, 2},
                            std::vector<std::int32_t>{1}, std::vector<std::int32_t>{2, 1, 0}}) {
    const Batch b = build_batch(g, ptr, group, ws);
    gas_test::check_batch(g, ptr, group, b);
  }
  CHECK(build_batch(g, ptr, std::vector<std::int32_t>{0, 1, 2}, ws).chunks == std::vector<gas::loader::Chunk>{{0, 4}});
  CHECK(build_batch(g, ptr, std::vector<std::int32_t>{2, 1, 0}, ws).chunks ==
        std::vector<gas::loader::Chunk>{{2, 2}, {0, 2}});
  CHECK(build_batch(g, ptr, std::vector<std::int32_t>{1}, ws).chunks.empty());
}

TEST_CASE("build_batch matches the reference on messy random graphs and several layouts") {
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    CAPTURE(seed);
    const bool weighted = seed % 2 == 0;
    const auto g = gas_test::messy_graph(400, 5, seed, weighted);
    SUBCASE("random sizes with empty clusters") { check_random_groups(g, gas_test::random_ptr(400, 37, seed), seed); }
    SUBCASE("even ranges") { check_random_groups(g, gas_test::even_ptr(400, 16), seed); }
    SUBCASE("one cluster") { check_random_groups(g, gas_test::even_ptr(400, 1), seed); }
    SUBCASE("one node per cluster") { check_random_groups(g, gas_test::even_ptr(400, 400), seed); }
  }
}

TEST_CASE("build_batch matches the reference on relabeled SBM graphs") {
  for (std::uint64_t seed = 0; seed < 3; ++seed) {
    CAPTURE(seed);
    const auto [g, ptr] = gas_test::clustered_sbm(2000, 24, seed);
    check_random_groups(g, ptr, seed);
  }
}

TEST_CASE("one workspace serves graphs of different sizes and survives a failed build") {
  BatchWorkspace ws;
  const auto big = gas_test::messy_graph(300, 4, 1, true);
  const auto small = gas_test::messy_graph(50, 4, 2, false);
  const auto big_ptr = gas_test::even_ptr(300, 10), small_ptr = gas_test::even_ptr(50, 5);
  const std::vector<std::int32_t> group{3, 1};
  const Batch first = build_batch(big, big_ptr, group, ws);
  gas_test::check_batch(small, small_ptr, group, build_batch(small, small_ptr, group, ws));
  CHECK_THROWS_AS(build_batch(big, big_ptr, std::vector<std::int32_t>{1, 1}, ws), gas::value_error);
  CHECK(build_batch(big, big_ptr, group, ws) == first);  // state left clean: same batch again
  BatchWorkspace fresh;
  CHECK(build_batch(big, big_ptr, group, fresh) == first);
}

TEST_CASE("build_batch rejects bad clusters and pointers with typed errors naming the value") {
  const auto g = gas_test::messy_graph(20, 3, 7, false);
  const auto ptr = gas_test::even_ptr(20, 4);
  BatchWorkspace ws;
  using V = std::vector<std::int32_t>;
  using P = std::vector<std::int64_t>;
  CHECK_THROWS_NAMING(gas::value_error, build_batch(g, ptr, V{0, 4}, ws), "build_batch_into", "cluster id 4",
                      "[0, 4)");
  CHECK_THROWS_NAMING(gas::value_error, build_batch(g, ptr, V{-1}, ws), "cluster id -1");
  CHECK_THROWS_NAMING(gas::value_error, build_batch(g, ptr, V{2, 0, 2}, ws), "cluster 2 appears twice", "position 2");
  CHECK_THROWS_NAMING(gas::shape_error, build_batch(g, P{0, 10, 19}, V{0}, ws), "ptr[2] = 19", "20 nodes");
  CHECK_THROWS_NAMING(gas::shape_error, build_batch(g, P{0, 10, 21}, V{0}, ws), "ptr[2] = 21");
  CHECK_THROWS_NAMING(gas::value_error, build_batch(g, P{1, 10, 20}, V{0}, ws), "ptr[0] = 1");
  CHECK_THROWS_NAMING(gas::value_error, build_batch(g, P{0, 12, 8, 20}, V{0}, ws), "cluster 1", "12 > ptr[2] = 8");
  CHECK_THROWS_NAMING(gas::shape_error, build_batch(g, P{0}, V{}, ws), "1 entries");
  CHECK_THROWS_NAMING(gas::shape_error, build_batch(g, P{}, V{}, ws), "0 entries");
  const gas::Graph rect(2, 3, {0, 1, 1}, {2});
  CHECK_THROWS_NAMING(gas::shape_error, build_batch(rect, P{0, 2}, V{0}, ws), "square", "(2 x 3)");
  // After all those failures the workspace still builds correct batches.
  gas_test::check_batch(g, ptr, V{3, 1}, build_batch(g, ptr, V{3, 1}, ws));
}
