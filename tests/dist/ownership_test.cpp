#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "gas/dist/ownership.hpp"
#include "gas/dist/scale_model.hpp"
#include "gas/gen/sbm.hpp"
#include "gas/loader/train_loader.hpp"
#include "gas/partition/metis.hpp"
#include "gas/partition/permute.hpp"

TEST_CASE("Ownership gives each rank a contiguous run of whole parts and finds every node's owner") {
  const std::vector<std::int64_t> ptr{0, 3, 3, 7, 10, 12, 20};  // 6 parts, one empty
  const gas::dist::Ownership own(ptr, 4);
  CHECK(own.ranks() == 4);
  CHECK(own.num_parts() == 6);
  CHECK(own.num_nodes() == 20);
  // floor(6 r / 4): parts [0,1) [1,3) [3,4) [4,6)
  CHECK(own.first_part(0) == 0);
  CHECK(own.end_part(0) == 1);
  CHECK(own.first_part(1) == 1);
  CHECK(own.end_part(1) == 3);
  CHECK(own.end_part(3) == 6);
  CHECK(own.begin(1) == 3);
  CHECK(own.end(1) == 7);
  CHECK(own.size(3) == 10);
  std::int64_t covered = 0;
  for (int r = 0; r < 4; ++r) covered += own.size(r);
  CHECK(covered == 20);
  for (gas::node_id v = 0; v < 20; ++v) {
    const int r = own.owner(v);
    CHECK(own.begin(r) <= v);
    CHECK(v < own.end(r));
  }
  CHECK(gas::dist::Ownership(ptr, 1).size(0) == 20);
}

TEST_CASE("Ownership refuses more ranks than parts and bad pointers, naming them") {
  const std::vector<std::int64_t> ptr{0, 5, 9};
  CHECK_THROWS_WITH_AS(gas::dist::Ownership(ptr, 3), doctest::Contains("3 ranks for 2 parts"), gas::value_error);
  CHECK_THROWS_AS(gas::dist::Ownership(ptr, 0), gas::value_error);
  CHECK_THROWS_AS(gas::dist::Ownership(std::vector<std::int64_t>{0}, 1), gas::shape_error);
  CHECK_THROWS_WITH_AS(gas::dist::Ownership(std::vector<std::int64_t>{0, 5, 4}, 1), doctest::Contains("decreases"),
                       gas::value_error);
}

TEST_CASE("TrainLoader over a range of parts yields only those parts, each once per epoch") {
  const auto data = gas::gen::sbm(gas::gen::parse_sbm("nodes=600,classes=3,features=4,seed=4"));
  const auto p = gas::partition::Metis{.num_parts = 12, .seed = 1}.partition(data.graph);
  const gas::Graph g = gas::partition::permute(data.graph, p);
  gas::loader::TrainLoader loader(g, p.ptr, {.batch_size = 2, .background = false, .first_part = 4, .end_part = 9});
  CHECK(loader.steps_per_epoch() == 3);
  loader.start_epoch(1);
  std::vector<int> seen(12, 0);
  for (gas::loader::Batch b; loader.next(b);)
    for (const auto c : b.clusters) seen[static_cast<std::size_t>(c)] += 1;
  for (int c = 0; c < 12; ++c) CHECK(seen[static_cast<std::size_t>(c)] == (c >= 4 && c < 9 ? 1 : 0));
  CHECK_THROWS_AS(gas::loader::TrainLoader(g, p.ptr, {.first_part = 5, .end_part = 5}), gas::value_error);
  CHECK_THROWS_AS(gas::loader::TrainLoader(g, p.ptr, {.first_part = 0, .end_part = 13}), gas::value_error);
}

TEST_CASE("the scale model counts one rank as exchanging nothing and P ranks as sharing the history memory") {
  const auto data = gas::gen::sbm(gas::gen::parse_sbm("nodes=2000,classes=4,features=8,degree=8,seed=2"));
  const auto p = gas::partition::Metis{.num_parts = 16, .seed = 1}.partition(data.graph);
  const gas::Graph g = gas::partition::permute(data.graph, p);
  const gas::dist::ScaleInputs in{.hidden = 32, .layers = 3, .parameters = 1000, .batch_size = 2};
  const auto one = gas::dist::scale_model(g, p.ptr, 1, in);
  REQUIRE(one.per_rank.size() == 1);
  CHECK(one.per_rank[0].remote_rows == 0);
  CHECK(one.max_bytes_per_step() == 0);
  CHECK(one.per_rank[0].history_bytes == 2000 * 32 * 2 * 4);
  CHECK(one.per_rank[0].steps == 8);
  const auto four = gas::dist::scale_model(g, p.ptr, 4, in);
  std::int64_t memory = 0, remote = 0, served = 0;
  for (const auto& r : four.per_rank) {
    memory += r.history_bytes;
    remote += r.remote_rows;
    CHECK(r.steps == 2);
    CHECK(r.remote_rows <= r.halo_rows);
    CHECK(r.gradient_bytes_per_step == 1000.0 * 4 * 2 * 3);
    served += static_cast<std::int64_t>(r.served_bytes_per_step * static_cast<double>(r.steps) + 0.5);
  }
  CHECK(memory == one.per_rank[0].history_bytes);  // the tables are split, not copied
  CHECK(four.max_history_bytes() < one.per_rank[0].history_bytes / 3);
  CHECK(remote > 0);
  // Every requested row is served by some rank: the two sides of the exchange agree.
  CHECK(served == static_cast<std::int64_t>(static_cast<double>(remote) * 2 * (4 + 32 * 4)));
}
