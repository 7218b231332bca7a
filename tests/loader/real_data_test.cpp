// The loaders on real graphs: Cora and the NY road network, METIS-partitioned, every batch of an epoch
// checked against the brute-force reference (halo, full rows, chunks), every node exactly once per epoch.

#include <doctest/doctest.h>

#include <vector>

#include <gas/gas.hpp>

#include "loader/loader_test_util.hpp"
#include "test_util.hpp"

namespace {

/// One training epoch and the whole evaluation pass over a METIS partition of `graph`, all checked.
void check_epoch(const gas::Graph& original, std::int32_t parts, std::int32_t batch_size) {
  namespace part = gas::partition;
  const auto p = part::Metis{.num_parts = parts, .seed = 3}.partition(original);
  const gas::Graph graph = part::permute(gas::gcn_normalize(original), p);

  gas::loader::TrainLoader loader(graph, p.ptr, {.batch_size = batch_size, .seed = 7});
  loader.start_epoch(0);
  std::vector<int> seen(static_cast<std::size_t>(graph.rows()), 0);
  std::int64_t steps = 0;
  for (gas::loader::Batch batch; loader.next(batch); ++steps) {
    gas_test::check_batch(graph, p.ptr, batch.clusters, batch);
    for (gas::node_id i = 0; i < batch.batch_size; ++i) ++seen[static_cast<std::size_t>(batch.n_id[static_cast<std::size_t>(i)])];
  }
  CHECK(steps == loader.steps_per_epoch());
  CHECK(std::count(seen.begin(), seen.end(), 1) == graph.rows());  // every node in exactly one batch

  gas::loader::EvalLoader eval(graph, p.ptr, batch_size);
  gas::node_id covered = 0;
  for (const auto& batch : eval) {
    gas_test::check_batch(graph, p.ptr, batch.clusters, batch);
    CHECK(batch.chunks.size() <= 1);  // consecutive clusters form one range
    covered += batch.batch_size;
  }
  CHECK(covered == graph.rows());
}

}  // namespace

TEST_CASE("loaders on Cora, 40 METIS parts, 10 per batch" * doctest::skip(gas_test::missing("planetoid/cora"))) {
  const auto cora = gas::io::load("planetoid:" + (gas_test::data_dir() / "planetoid/cora").string());
  check_epoch(cora.graph, 40, 10);
}

TEST_CASE("loaders on the NY road graph, 64 METIS parts, 8 per batch" *
          doctest::skip(gas_test::missing("road/NY.gr.xz"))) {
  const auto ny = gas::io::read_dimacs(gas_test::data_dir() / "road/NY.gr.xz");
  check_epoch(ny.graph, 64, 8);
}
