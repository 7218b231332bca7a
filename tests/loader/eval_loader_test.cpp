// EvalLoader: consecutive groups of clusters, one chunk per batch, exact batches, built once, bad arguments.

#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/loader/eval_loader.hpp>

#include "io/io_test_util.hpp"
#include "loader/loader_test_util.hpp"

using gas::loader::EvalLoader;

TEST_CASE("EvalLoader batches are consecutive cluster groups covering every node once") {
  const auto g = gas_test::messy_graph(900, 5, 2, true);
  for (const auto& ptr : {gas_test::random_ptr(900, 17, 2), gas_test::even_ptr(900, 17), gas_test::even_ptr(900, 1)}) {
    const auto parts = static_cast<std::int32_t>(ptr.size()) - 1;
    for (std::int32_t batch_size : {1, 3, 17, 40}) {
      CAPTURE(parts);
      CAPTURE(batch_size);
      const EvalLoader loader(g, ptr, batch_size);
      CHECK(loader.num_parts() == parts);
      CHECK(loader.batch_size() == batch_size);
      REQUIRE(loader.size() == static_cast<std::size_t>((parts + batch_size - 1) / batch_size));
      std::int32_t next_cluster = 0;
      gas::node_id next_node = 0;
      for (const auto& b : loader) {
        std::vector<std::int32_t> expected(static_cast<std::size_t>(std::min(batch_size, parts - next_cluster)));
        std::iota(expected.begin(), expected.end(), next_cluster);
        CHECK(b.clusters == expected);
        gas_test::check_batch(g, ptr, expected, b);
        // Consecutive clusters are one id range, hence one chunk (none when every cluster is empty).
        if (b.batch_size > 0) {
          REQUIRE(b.chunks.size() == 1);
          CHECK(b.chunks[0].offset == next_node);
        } else {
          CHECK(b.chunks.empty());
        }
        next_cluster += static_cast<std::int32_t>(expected.size());
        next_node += b.batch_size;
      }
      CHECK(next_cluster == parts);
      CHECK(next_node == g.rows());
    }
  }
}

TEST_CASE("EvalLoader on a relabeled SBM graph matches build_batch") {
  const auto [g, ptr] = gas_test::clustered_sbm(5000, 20, 3);
  const EvalLoader loader(g, ptr, 6);
  REQUIRE(loader.size() == 4);
  gas::loader::BatchWorkspace ws;
  for (std::size_t i = 0; i < loader.size(); ++i) {
    std::vector<std::int32_t> group;
    for (auto c = static_cast<std::int32_t>(6 * i); c < std::min<std::int32_t>(20, static_cast<std::int32_t>(6 * i + 6)); ++c)
      group.push_back(c);
    CHECK(loader[i] == gas::loader::build_batch(g, ptr, group, ws));
    CHECK(&loader.batches()[i] == &loader[i]);
  }
}

TEST_CASE("EvalLoader rejects bad arguments with typed errors") {
  const auto g = gas_test::messy_graph(10, 2, 1, false);
  CHECK_THROWS_NAMING(gas::value_error, EvalLoader(g, {0, 5, 10}, 0), "EvalLoader", "batch_size = 0");
  CHECK_THROWS_NAMING(gas::shape_error, EvalLoader(g, {0, 5, 11}, 1), "ptr[2] = 11", "10 nodes");
  CHECK_THROWS_NAMING(gas::value_error, EvalLoader(g, {0, 6, 5, 10}, 1), "cluster 1");
  CHECK_THROWS_NAMING(gas::value_error, EvalLoader(g, {2, 10}, 1), "ptr[0] = 2");
}
