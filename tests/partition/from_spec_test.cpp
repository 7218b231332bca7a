#include <doctest/doctest.h>

#include "gas/gen/sbm.hpp"
#include "gas/partition/from_spec.hpp"
#include "io/io_test_util.hpp"

TEST_CASE("partition_from_spec maps each kind to its partitioner") {
  const auto data = gas::gen::sbm({.nodes = 400, .classes = 4, .features = 0, .seed = 1});
  for (const char* spec : {"metis:8", "metis-rb:8", "random:8", "contiguous:8"}) {
    const auto p = gas::partition::partition_from_spec(spec, data.graph, 3);
    CHECK_MESSAGE(p.num_parts() == 8, spec);
    CHECK(p.num_nodes() == 400);
  }
  // The seed reaches the seeded partitioners.
  const auto a = gas::partition::partition_from_spec("random:8", data.graph, 1);
  const auto b = gas::partition::partition_from_spec("random:8", data.graph, 2);
  CHECK(a.perm != b.perm);
  const auto contiguous = gas::partition::partition_from_spec("contiguous:4", data.graph);
  CHECK(contiguous.ptr == std::vector<std::int64_t>{0, 100, 200, 300, 400});
}

TEST_CASE("bad partition specs are config errors naming the spec") {
  const auto data = gas::gen::sbm({.nodes = 50, .classes = 2, .features = 0});
  using gas::partition::partition_from_spec;
  CHECK_THROWS_NAMING(gas::config_error, partition_from_spec("kahip:4", data.graph), "kahip");
  CHECK_THROWS_NAMING(gas::config_error, partition_from_spec("metis", data.graph), "'metis'", "positive integer");
  CHECK_THROWS_NAMING(gas::config_error, partition_from_spec("metis:0", data.graph), "metis:0");
  CHECK_THROWS_NAMING(gas::config_error, partition_from_spec("metis:4x", data.graph), "metis:4x");
  CHECK_THROWS_NAMING(gas::config_error, partition_from_spec("random:-3", data.graph), "random:-3");
  CHECK_THROWS_NAMING(gas::partition_error, partition_from_spec("metis:51", data.graph), "51");
}
