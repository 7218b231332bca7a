// Tests of the Random partitioner: balance, seeded determinism, and every edge case's outcome.
#include <doctest/doctest.h>

#include <cstdint>

#include "gas/gen/sbm.hpp"
#include "gas/partition/random.hpp"
#include "io/io_test_util.hpp"
#include "partition/partition_test_util.hpp"

using gas::partition::Random;

static_assert(gas::partition::Partitioner<Random>);

TEST_CASE("Random: valid partitions whose sizes differ by at most one") {
  const auto data = gas::gen::sbm({.nodes = 1001, .classes = 4, .features = 0});
  for (std::int32_t k : {1, 2, 3, 10, 64, 1001}) {
    CAPTURE(k);
    const auto p = Random{.num_parts = k, .seed = 11}.partition(data.graph);
    gas_test::check_valid(p, 1001, k);
    const auto s = gas::partition::stats(data.graph, p);
    CHECK(s.largest_part - s.smallest_part <= 1);
    CHECK(s.largest_part == (1001 + k - 1) / k);
  }
}

TEST_CASE("Random: same seed, same partition; another seed, another partition") {
  const auto data = gas::gen::sbm({.nodes = 500, .classes = 4, .features = 0});
  const auto a = Random{.num_parts = 8, .seed = 1}.partition(data.graph);
  const auto b = Random{.num_parts = 8, .seed = 1}.partition(data.graph);
  const auto c = Random{.num_parts = 8, .seed = 2}.partition(data.graph);
  CHECK(a.perm == b.perm);
  CHECK(a.ptr == b.ptr);
  CHECK(a.perm != c.perm);
}

TEST_CASE("Random: cuts about 1 - 1/k of the edges") {
  const auto data = gas::gen::sbm({.nodes = 5000, .classes = 5, .features = 0, .degree = 20});
  const auto s = gas::partition::stats(data.graph, Random{.num_parts = 4}.partition(data.graph));
  CHECK(s.edge_cut_fraction == doctest::Approx(0.75).epsilon(0.05));
}

TEST_CASE("Random: isolated nodes and several components") {
  const auto g = gas_test::components_and_isolated();
  gas_test::check_valid(Random{.num_parts = 10}.partition(g), 10, 10);
  gas_test::check_valid(Random{.num_parts = 3}.partition(g), 10, 3);
  const auto one = Random{.num_parts = 1}.partition(g);
  for (gas::node_id i = 0; i < 10; ++i) CHECK(one.perm[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("Random: edge cases throw partition_error naming the numbers") {
  const auto g = gas_test::components_and_isolated();
  CHECK_THROWS_NAMING(gas::partition_error, Random{.num_parts = 0}.partition(g), "num_parts = 0", "at least 1");
  CHECK_THROWS_NAMING(gas::partition_error, Random{.num_parts = 11}.partition(g), "num_parts = 11", "10 nodes",
                      "Random::partition");
  CHECK_THROWS_NAMING(gas::partition_error, Random{.num_parts = 1}.partition(gas::Graph()), "no nodes");
}
