// TrainLoader: epochs cover every cluster once in a seeded shuffle, the three build modes yield identical
// batches, max_steps and oversized batch_size behave, the background worker stops promptly and passes its
// exceptions on, and bad arguments raise typed errors.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <optional>
#include <set>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/core/rng.hpp>
#include <gas/loader/train_loader.hpp>

#include "io/io_test_util.hpp"
#include "loader/loader_test_util.hpp"

using gas::loader::Batch;
using gas::loader::TrainLoader;
using gas::loader::TrainLoaderOptions;

namespace {

struct Mode {
  const char* name;
  bool background;
  bool precompute;
};
constexpr Mode modes[] = {{"background", true, false}, {"foreground", false, false}, {"precompute", false, true}};

/// Every batch of one epoch, taken through one reused Batch (as a training loop would) and copied out.
std::vector<Batch> epoch_batches(TrainLoader& loader, std::int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> out;
  for (Batch b; loader.next(b);) out.push_back(b);
  return out;
}

}  // namespace

TEST_CASE("each epoch covers every cluster once, in Rng(seed, epoch) order, with exact batches") {
  const auto [g, ptr] = gas_test::clustered_sbm(3000, 23, 4);
  for (const auto& mode : modes) {
    CAPTURE(mode.name);
    TrainLoader loader(g, ptr, {.batch_size = 5, .seed = 11, .background = mode.background, .precompute = mode.precompute});
    CHECK(loader.num_parts() == 23);
    CHECK(loader.steps_per_epoch() == 5);  // ceil(23 / 5), the last batch has 3 clusters
    CHECK(loader.epoch() == -1);
    std::vector<std::vector<std::int32_t>> orders;
    for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
      const auto batches = epoch_batches(loader, epoch);
      CHECK(loader.epoch() == epoch);
      REQUIRE(batches.size() == 5);
      std::vector<std::int32_t> expected(23);
      std::iota(expected.begin(), expected.end(), 0);
      gas::Rng(11, static_cast<std::uint64_t>(epoch)).shuffle(expected.begin(), expected.end());
      CHECK(std::vector<std::int32_t>(loader.order().begin(), loader.order().end()) == expected);
      std::vector<std::int32_t> seen;
      for (std::size_t k = 0; k < batches.size(); ++k) {
        CHECK(batches[k].clusters.size() == (k + 1 < batches.size() ? 5u : 3u));
        gas_test::check_batch(g, ptr, batches[k].clusters, batches[k]);
        seen.insert(seen.end(), batches[k].clusters.begin(), batches[k].clusters.end());
      }
      CHECK(seen == expected);  // groups are consecutive slices of the order: every cluster exactly once
      orders.push_back(seen);
      Batch after;
      CHECK_FALSE(loader.next(after));  // the epoch stays over
    }
    CHECK(orders[0] != orders[1]);
    CHECK(orders[1] != orders[2]);
  }
}

TEST_CASE("background, foreground and precompute yield the same batches for the same seed") {
  const auto g = gas_test::messy_graph(1500, 6, 3, true);
  const auto ptr = gas_test::random_ptr(1500, 41, 3);
  std::vector<std::vector<Batch>> per_mode;
  for (const auto& mode : modes) {
    TrainLoader loader(g, ptr, {.batch_size = 4, .seed = 99, .background = mode.background, .precompute = mode.precompute});
    std::vector<Batch> all;
    for (std::int64_t epoch : {0, 1, 7}) {
      auto batches = epoch_batches(loader, epoch);
      all.insert(all.end(), batches.begin(), batches.end());
    }
    per_mode.push_back(std::move(all));
  }
  REQUIRE(per_mode[0].size() == 3 * 11);
  CHECK(per_mode[0] == per_mode[1]);
  CHECK(per_mode[0] == per_mode[2]);
  // A different seed gives a different epoch.
  TrainLoader other(g, ptr, {.batch_size = 4, .seed = 100});
  CHECK(epoch_batches(other, 0) != std::vector<Batch>(per_mode[0].begin(), per_mode[0].begin() + 11));
}

TEST_CASE("max_steps truncates an epoch; batch_size above num_parts gives one batch") {
  const auto [g, ptr] = gas_test::clustered_sbm(800, 10, 1);
  for (const auto& mode : modes) {
    CAPTURE(mode.name);
    TrainLoader truncated(g, ptr, {.batch_size = 3, .max_steps = 2, .background = mode.background, .precompute = mode.precompute});
    CHECK(truncated.steps_per_epoch() == 2);
    const auto batches = epoch_batches(truncated, 0);
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].clusters == std::vector<std::int32_t>(truncated.order().begin(), truncated.order().begin() + 3));
    CHECK(batches[1].clusters == std::vector<std::int32_t>(truncated.order().begin() + 3, truncated.order().begin() + 6));

    TrainLoader loose(g, ptr, {.batch_size = 3, .max_steps = 100, .background = mode.background, .precompute = mode.precompute});
    CHECK(loose.steps_per_epoch() == 4);  // a limit above ceil(10 / 3) changes nothing
    CHECK(epoch_batches(loose, 0).size() == 4);

    TrainLoader whole(g, ptr, {.batch_size = 64, .background = mode.background, .precompute = mode.precompute});
    CHECK(whole.steps_per_epoch() == 1);
    const auto one = epoch_batches(whole, 5);
    REQUIRE(one.size() == 1);
    CHECK(one[0].batch_size == g.rows());
    CHECK(one[0].num_halo() == 0);
    CHECK(std::set<std::int32_t>(one[0].clusters.begin(), one[0].clusters.end()).size() == 10);
    gas_test::check_batch(g, ptr, one[0].clusters, one[0]);
  }
}

TEST_CASE("restarting an epoch midway starts it afresh") {
  const auto [g, ptr] = gas_test::clustered_sbm(1000, 12, 2);
  for (const auto& mode : modes) {
    CAPTURE(mode.name);
    TrainLoader loader(g, ptr, {.batch_size = 2, .seed = 5, .background = mode.background, .precompute = mode.precompute});
    const auto full = epoch_batches(loader, 3);
    loader.start_epoch(1);
    Batch b;
    REQUIRE(loader.next(b));
    REQUIRE(loader.next(b));
    CHECK(epoch_batches(loader, 3) == full);
  }
}

TEST_CASE("destroying a background loader mid-epoch returns promptly") {
  const auto [g, ptr] = gas_test::clustered_sbm(200000, 64, 6);
  using clock = std::chrono::steady_clock;
  for (int taken : {0, 1, 3}) {
    CAPTURE(taken);
    std::optional<TrainLoader> loader(std::in_place, g, ptr, TrainLoaderOptions{.batch_size = 2, .seed = 1});
    loader->start_epoch(0);
    Batch b;
    for (int k = 0; k < taken; ++k) REQUIRE(loader->next(b));
    const auto start = clock::now();
    loader.reset();
    // One batch here takes a few milliseconds to build; a hang or a full-epoch drain would take far longer.
    CHECK(std::chrono::duration<double>(clock::now() - start).count() < 2.0);
  }
  // Never started, and started twice without taking anything.
  { TrainLoader idle(g, ptr, {.batch_size = 2}); }
  {
    TrainLoader twice(g, ptr, {.batch_size = 2});
    twice.start_epoch(0);
    twice.start_epoch(1);
  }
}

TEST_CASE("an exception while building is rethrown to the caller and ends the epoch") {
  // The loader keeps a reference to the graph; replacing the graph by a smaller one makes every build fail
  // (the cluster pointer no longer covers it), in the worker thread when building in the background.
  const auto original = gas_test::messy_graph(300, 4, 8, false);
  const auto ptr = gas_test::even_ptr(300, 6);
  for (const auto& mode : modes) {
    CAPTURE(mode.name);
    gas::Graph g = original;
    TrainLoader loader(g, ptr, {.batch_size = 2, .background = mode.background, .precompute = mode.precompute});
    g = gas_test::messy_graph(200, 4, 9, false);
    Batch b;
    if (mode.precompute) {
      CHECK_THROWS_NAMING(gas::shape_error, loader.start_epoch(0), "200 x 200 nodes", "covers 300");
    } else {
      loader.start_epoch(0);
      CHECK_THROWS_NAMING(gas::shape_error, loader.next(b), "200 x 200 nodes", "covers 300");
    }
    CHECK_FALSE(loader.next(b));
    g = original;  // with the right graph back, the next epoch is whole again
    CHECK(epoch_batches(loader, 1).size() == 3);
  }
}

TEST_CASE("TrainLoader rejects bad arguments with typed errors") {
  const auto g = gas_test::messy_graph(30, 3, 1, false);
  const auto ptr = gas_test::even_ptr(30, 3);
  CHECK_THROWS_NAMING(gas::value_error, TrainLoader(g, ptr, {.batch_size = 0}), "TrainLoader", "batch_size = 0");
  CHECK_THROWS_NAMING(gas::value_error, TrainLoader(g, ptr, {.max_steps = -2}), "max_steps = -2");
  CHECK_THROWS_NAMING(gas::shape_error, TrainLoader(g, {0, 10, 29}, {}), "ptr[2] = 29", "30 nodes");
  CHECK_THROWS_NAMING(gas::value_error, TrainLoader(g, {0, 20, 10, 30}, {}), "ptr[1] = 20 > ptr[2] = 10");
  CHECK_THROWS_NAMING(gas::shape_error, TrainLoader(g, {0}, {}), "1 entries");
  TrainLoader loader(g, ptr, {});
  Batch b;
  CHECK_THROWS_NAMING(gas::value_error, loader.next(b), "start_epoch");
  CHECK_THROWS_NAMING(gas::value_error, loader.start_epoch(-1), "epoch = -1");
}
