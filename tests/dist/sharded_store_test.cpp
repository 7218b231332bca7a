#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <mutex>
#include <vector>

#include "gas/core/rng.hpp"
#include "gas/dist/comm.hpp"
#include "gas/dist/ownership.hpp"
#include "gas/dist/scale_model.hpp"
#include "gas/dist/sharded_store.hpp"
#include "gas/dist/thread_comm.hpp"
#include "gas/gen/sbm.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/loader/train_loader.hpp"
#include "gas/partition/metis.hpp"
#include "gas/partition/permute.hpp"

namespace {

using Store = gas::dist::ShardedStore<gas::history::HostStore<float>>;
static_assert(gas::history::HistoryStore<Store>);

float value_of(gas::node_id v, std::int64_t f) { return static_cast<float>(v) * 8.0f + static_cast<float>(f) * 0.5f; }

/// This rank's rows of the reference table: row v = value_of(v, .).
void fill_own(Store& store) {
  std::vector<gas::node_id> ids;
  for (gas::node_id v = store.begin(); v < store.end(); ++v) ids.push_back(v);
  gas::Tensor<float> rows(static_cast<std::int64_t>(ids.size()), store.width());
  for (std::int64_t i = 0; i < rows.rows(); ++i)
    for (std::int64_t f = 0; f < rows.cols(); ++f) rows(i, f) = value_of(ids[static_cast<std::size_t>(i)], f);
  store.push(ids, rows.view());
}

void check_rows(const std::vector<gas::node_id>& ids, const gas::Tensor<float>& out) {
  for (std::int64_t i = 0; i < out.rows(); ++i)
    for (std::int64_t f = 0; f < out.cols(); ++f) REQUIRE(out(i, f) == value_of(ids[static_cast<std::size_t>(i)], f));
}

}  // namespace

TEST_CASE("ShardedStore: pulls of any ids return the owners' rows on 1 to 4 ranks") {
  const std::vector<std::int64_t> ptr{0, 10, 25, 25, 40, 64, 70, 90, 100};
  for (int p = 1; p <= 4; ++p) {
    const gas::dist::Ownership own(ptr, p);
    gas::dist::run_threads(p, [&](gas::dist::Communicator& comm) {
      Store store(comm, own, gas::history::HostStore<float>(own.size(comm.rank()), 5));
      fill_own(store);
      comm.barrier();  // every rank's rows are in before anyone pulls
      gas::Rng rng(static_cast<std::uint64_t>(comm.rank()) + 1);
      for (int round = 0; round < 3; ++round) {
        std::vector<gas::node_id> ids(static_cast<std::size_t>(round * 7 + comm.rank() * 3));  // sizes differ by rank
        for (auto& v : ids) v = static_cast<gas::node_id>(rng.below(100));
        gas::Tensor<float> out(static_cast<std::int64_t>(ids.size()), 5);
        store.pull(ids, out.view());
        check_rows(ids, out);
      }
      CHECK(store.exchange_stats().pulls == 3);
      if (p == 1) CHECK(store.exchange_stats().remote_rows == 0);
    });
  }
}

TEST_CASE("ShardedStore: a rank pushes only its own rows; shapes are checked as any store's") {
  const std::vector<std::int64_t> ptr{0, 10, 20};
  const gas::dist::Ownership own(ptr, 2);
  gas::dist::run_threads(2, [&](gas::dist::Communicator& comm) {
    Store store(comm, own, gas::history::HostStore<float>(10, 3));
    gas::Tensor<float> row(1, 3);
    const gas::node_id foreign = comm.rank() == 0 ? 15 : 2;
    const std::vector<gas::node_id> ids{foreign};
    CHECK_THROWS_WITH_AS(store.push(ids, row.view()), doctest::Contains("belongs to rank"), gas::value_error);
    CHECK_THROWS_AS(store.push_chunk(comm.rank() == 0 ? 8 : 9, gas::Tensor<float>(3, 3).view()), gas::value_error);
    gas::Tensor<float> wide(1, 4);
    CHECK_THROWS_AS(store.push(std::vector<gas::node_id>{store.begin()}, wide.view()), gas::shape_error);
  });
  gas::dist::SelfComm self;
  CHECK_THROWS_AS(Store(self, own, gas::history::HostStore<float>(10, 3)), gas::value_error);  // 1 rank, 2 shares
  const gas::dist::Ownership one(ptr, 1);
  CHECK_THROWS_AS(Store(self, one, gas::history::HostStore<float>(10, 3)), gas::shape_error);   // 10 rows, owns 20
}

TEST_CASE("ShardedStore: one epoch of halo pulls moves the bytes the scale model counts") {
  const auto data = gas::gen::sbm(gas::gen::parse_sbm("nodes=1500,classes=3,features=4,degree=6,seed=7"));
  const auto part = gas::partition::Metis{.num_parts = 12, .seed = 1}.partition(data.graph);
  const gas::Graph g = gas::partition::permute(data.graph, part);
  const gas::dist::ScaleInputs in{.hidden = 16, .layers = 2, .parameters = 0, .batch_size = 2, .seed = 3};
  for (int p : {1, 2, 4}) {
    const auto model = gas::dist::scale_model(g, part.ptr, p, in);
    const gas::dist::Ownership own(part.ptr, p);
    std::vector<double> measured(static_cast<std::size_t>(p));
    std::vector<std::int64_t> remote(static_cast<std::size_t>(p));
    gas::dist::run_threads(p, [&](gas::dist::Communicator& comm) {
      const int r = comm.rank();
      Store store(comm, own, gas::history::HostStore<float>(own.size(r), in.hidden));
      fill_own(store);
      comm.barrier();
      comm.reset_stats();
      gas::loader::TrainLoader loader(g, part.ptr, {.batch_size = in.batch_size, .seed = in.seed, .background = false,
                                                    .first_part = own.first_part(r), .end_part = own.end_part(r)});
      loader.start_epoch(0);
      for (gas::loader::Batch b; loader.next(b);) {
        const std::vector<gas::node_id> halo(b.halo().begin(), b.halo().end());
        gas::Tensor<float> out(static_cast<std::int64_t>(halo.size()), in.hidden);
        store.pull(halo, out.view());
        check_rows(halo, out);
      }
      measured[static_cast<std::size_t>(r)] = static_cast<double>(comm.stats().bytes_sent + comm.stats().bytes_recv);
      remote[static_cast<std::size_t>(r)] = store.exchange_stats().remote_rows;
    });
    for (int r = 0; r < p; ++r) {
      const auto& m = model.per_rank[static_cast<std::size_t>(r)];
      CHECK(remote[static_cast<std::size_t>(r)] == m.remote_rows);
      const double modelled = (m.halo_bytes_per_step + m.served_bytes_per_step) * static_cast<double>(m.steps);
      CHECK(measured[static_cast<std::size_t>(r)] == doctest::Approx(modelled).epsilon(1e-9));
    }
  }
}

TEST_CASE("ShardedStore: a pull sees every rank's pushes of the same step (staleness: never older than the owner's newest)") {
  const std::vector<std::int64_t> ptr{0, 30, 60, 90};
  const gas::dist::Ownership own(ptr, 3);
  gas::dist::run_threads(3, [&](gas::dist::Communicator& comm) {
    Store store(comm, own, gas::history::HostStore<float>(30, 2));
    std::vector<gas::node_id> mine, all;
    for (gas::node_id v = store.begin(); v < store.end(); ++v) mine.push_back(v);
    for (gas::node_id v = 0; v < 90; ++v) all.push_back(v);
    for (int step = 1; step <= 3; ++step) {
      // A training step: push this layer's own rows, then pull (the pull is the collective that orders them).
      store.push(mine, gas::Tensor<float>(30, 2, static_cast<float>(step)).view());
      gas::Tensor<float> out(90, 2);
      store.pull(all, out.view());
      for (std::int64_t i = 0; i < 90; ++i) REQUIRE(out(i, 1) == static_cast<float>(step));
    }
  });
}
