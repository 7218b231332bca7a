// Tests of the shared partition result: from_assignment, stats, and the Partitioner concept.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "gas/partition/contiguous.hpp"
#include "gas/partition/metis.hpp"
#include "gas/partition/partition.hpp"
#include "gas/partition/random.hpp"
#include "io/io_test_util.hpp"
#include "partition/partition_test_util.hpp"

namespace {

struct WrongReturn {
  std::vector<std::int32_t> partition(const gas::Graph&) const { return {}; }
};
struct NonConstPartition {
  gas::partition::Partition partition(const gas::Graph&) { return {}; }
};
struct Custom {
  gas::partition::Partition partition(const gas::Graph& g) const {
    return gas::partition::from_assignment(std::vector<std::int32_t>(static_cast<std::size_t>(g.rows()), 0), 1);
  }
};

}  // namespace

static_assert(gas::partition::Partitioner<gas::partition::Metis>);
static_assert(gas::partition::Partitioner<gas::partition::Random>);
static_assert(gas::partition::Partitioner<gas::partition::Contiguous>);
static_assert(gas::partition::Partitioner<Custom>);
static_assert(!gas::partition::Partitioner<int>);
static_assert(!gas::partition::Partitioner<WrongReturn>);
static_assert(!gas::partition::Partitioner<NonConstPartition>);

TEST_CASE("from_assignment: clusters in order, original order within, empty clusters kept") {
  const std::vector<std::int32_t> part{2, 0, 2, 1, 0, 2};
  const auto p = gas::partition::from_assignment(part, 4);
  gas_test::check_valid(p, 6, 4);
  CHECK(p.perm == std::vector<gas::node_id>{1, 4, 3, 0, 2, 5});
  CHECK(p.inverse == std::vector<gas::node_id>{3, 0, 4, 2, 1, 5});
  CHECK(p.ptr == std::vector<std::int64_t>{0, 2, 3, 6, 6});
  CHECK(p.size(3) == 0);
  CHECK(p.num_parts() == 4);
  CHECK(p.num_nodes() == 6);
}

TEST_CASE("from_assignment: bad part counts and ids throw partition_error") {
  const std::vector<std::int32_t> part{0, 1, 3};
  CHECK_THROWS_NAMING(gas::partition_error, gas::partition::from_assignment(part, 3), "node 2", "part 3");
  CHECK_THROWS_NAMING(gas::partition_error, gas::partition::from_assignment(std::vector<std::int32_t>{-1}, 2),
                      "part -1");
  CHECK_THROWS_NAMING(gas::partition_error, gas::partition::from_assignment(part, 0), "num_parts = 0");
  const auto none = gas::partition::from_assignment(std::vector<std::int32_t>{}, 2);
  CHECK(none.num_nodes() == 0);
  CHECK(none.ptr == std::vector<std::int64_t>{0, 0, 0});
}

TEST_CASE("stats: edge cut counts undirected cut edges once; imbalance is largest over average") {
  // Path 0-1-2-3-4-5 split {0,1,2} {3,4,5}: one cut edge of five.
  const auto g = gas_test::undirected(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}});
  const auto half = gas::partition::from_assignment(std::vector<std::int32_t>{0, 0, 0, 1, 1, 1}, 2);
  auto s = gas::partition::stats(g, half);
  CHECK(s.parts == 2);
  CHECK(s.edge_cut == 1);
  CHECK(s.edge_cut_fraction == doctest::Approx(0.2));
  CHECK(s.largest_part == 3);
  CHECK(s.smallest_part == 3);
  CHECK(s.imbalance == doctest::Approx(1.0));
  // Alternating: every edge is cut; sizes 4 and 2.
  const auto odd = gas::partition::from_assignment(std::vector<std::int32_t>{0, 1, 0, 1, 0, 0}, 2);
  s = gas::partition::stats(g, odd);
  CHECK(s.edge_cut == 4);
  CHECK(s.largest_part == 4);
  CHECK(s.smallest_part == 2);
  CHECK(s.imbalance == doctest::Approx(4.0 / 3.0));
  const auto edgeless = gas_test::undirected(4, {});
  CHECK(gas::partition::stats(edgeless, gas::partition::Contiguous{.num_parts = 2}.partition(edgeless))
            .edge_cut_fraction == 0);
  CHECK_THROWS_NAMING(gas::shape_error, gas::partition::stats(edgeless, half), "4 nodes", "covers 6");
}
