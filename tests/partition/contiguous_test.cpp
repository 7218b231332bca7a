// Tests of the Contiguous partitioner: identity permutation, balanced id ranges, edge cases.
#include <doctest/doctest.h>

#include <cstdint>

#include "gas/partition/contiguous.hpp"
#include "io/io_test_util.hpp"
#include "partition/partition_test_util.hpp"

using gas::partition::Contiguous;

static_assert(gas::partition::Partitioner<Contiguous>);

TEST_CASE("Contiguous: identity permutation and ranges [c n / k, (c + 1) n / k)") {
  const auto g = gas_test::components_and_isolated();
  for (std::int32_t k : {1, 2, 3, 4, 7, 10}) {
    CAPTURE(k);
    const auto p = Contiguous{.num_parts = k}.partition(g);
    gas_test::check_valid(p, 10, k);
    for (gas::node_id i = 0; i < 10; ++i) CHECK(p.perm[static_cast<std::size_t>(i)] == i);
    for (std::int32_t c = 0; c <= k; ++c) CHECK(p.ptr[static_cast<std::size_t>(c)] == c * 10 / k);
    const auto s = gas::partition::stats(g, p);
    CHECK(s.largest_part - s.smallest_part <= 1);
  }
  const auto p = Contiguous{.num_parts = 3}.partition(g);
  CHECK(p.ptr == std::vector<std::int64_t>{0, 3, 6, 10});
}

TEST_CASE("Contiguous: keeps components whole when they are id ranges") {
  const auto g = gas_test::three_cliques();
  CHECK(gas::partition::stats(g, Contiguous{.num_parts = 3}.partition(g)).edge_cut == 0);
}

TEST_CASE("Contiguous: edge cases throw partition_error naming the numbers") {
  const auto g = gas_test::components_and_isolated();
  CHECK_THROWS_NAMING(gas::partition_error, Contiguous{.num_parts = 0}.partition(g), "num_parts = 0");
  CHECK_THROWS_NAMING(gas::partition_error, Contiguous{.num_parts = 11}.partition(g), "num_parts = 11", "10 nodes");
  CHECK_THROWS_NAMING(gas::partition_error, Contiguous{.num_parts = 2}.partition(gas::Graph()), "no nodes");
}
