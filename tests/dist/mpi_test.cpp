// The distributed collectives and the sharded history under real MPI processes: run as
// `mpirun -np P test_dist_mpi [SBM_SPEC PARTS BATCH HIDDEN]` (meson's test dist_mpi uses P = 2 and a 1500-node SBM;
// the arguments measure a larger graph, docs/distributed.md). Its own main: doctest's would run on every rank and
// interleave. Prints one line per rank and exits 1 on the first failed check (MPI_Abort ends the others, so a
// failure never leaves a rank waiting).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "gas/dist/mpi_comm.hpp"
#include "gas/dist/scale_model.hpp"
#include "gas/dist/sharded_store.hpp"
#include "gas/gen/sbm.hpp"
#include "gas/history/host_store.hpp"
#include "gas/loader/train_loader.hpp"
#include "gas/partition/metis.hpp"
#include "gas/partition/permute.hpp"

namespace {

void require(bool ok, const char* what, int rank) {
  if (ok) return;
  std::fprintf(stderr, "rank %d: check failed: %s\n", rank, what);
  gas::dist::abort_job(1);
}

float value_of(gas::node_id v, std::int64_t f) { return static_cast<float>(v) * 8.0f + static_cast<float>(f) * 0.5f; }

}  // namespace

int main(int argc, char** argv) {
  gas::dist::MpiSession session(argc, argv);
  gas::dist::MpiComm comm;
  const int r = comm.rank(), p = comm.size();
  try {
    // The rank-ordered sum: the same bits on every rank.
    std::vector<float> v{1e8f * static_cast<float>(r % 2 == 0 ? 1 : -1), 0.1f * static_cast<float>(r + 1)};
    comm.allreduce_sum(std::span<float>(v));
    float e0 = 0, e1 = 0;
    for (int k = 0; k < p; ++k) {
      e0 += 1e8f * static_cast<float>(k % 2 == 0 ? 1 : -1);
      e1 += 0.1f * static_cast<float>(k + 1);
    }
    require(v[0] == e0 && v[1] == e1, "allreduce_sum equals the rank-ordered sum", r);

    // One epoch of halo pulls of a sharded history: the owners' rows, and the bytes the scale model counts.
    const bool custom = argc >= 5;
    const auto data = gas::gen::sbm(gas::gen::parse_sbm(custom ? argv[1] : "nodes=1500,classes=3,features=4,degree=6,seed=7"));
    const auto part = gas::partition::Metis{.num_parts = custom ? std::atoi(argv[2]) : 12, .seed = 1}.partition(data.graph);
    const gas::Graph g = gas::partition::permute(data.graph, part);
    const gas::dist::ScaleInputs in{.hidden = custom ? std::atoll(argv[4]) : 16, .layers = 2, .parameters = 0,
                                    .batch_size = custom ? std::atoi(argv[3]) : 2, .seed = 3};
    const gas::dist::Ownership own(part.ptr, p);
    gas::dist::ShardedStore<gas::history::HostStore<float>> store(comm, own,
                                                                  gas::history::HostStore<float>(own.size(r), in.hidden));
    std::vector<gas::node_id> ids;
    for (gas::node_id u = store.begin(); u < store.end(); ++u) ids.push_back(u);
    gas::Tensor<float> rows(static_cast<std::int64_t>(ids.size()), in.hidden);
    for (std::int64_t i = 0; i < rows.rows(); ++i)
      for (std::int64_t f = 0; f < in.hidden; ++f) rows(i, f) = value_of(ids[static_cast<std::size_t>(i)], f);
    store.push(ids, rows.view());
    comm.barrier();
    comm.reset_stats();
    gas::loader::TrainLoader loader(g, part.ptr, {.batch_size = in.batch_size, .seed = in.seed, .background = false,
                                                  .first_part = own.first_part(r), .end_part = own.end_part(r)});
    loader.start_epoch(0);
    double pull_seconds = 0, measured = 0;
    for (gas::loader::Batch b; loader.next(b);) {
      const std::vector<gas::node_id> halo(b.halo().begin(), b.halo().end());
      gas::Tensor<float> out(static_cast<std::int64_t>(halo.size()), in.hidden);
      comm.barrier();  // time the exchange, not the batch building of slower ranks
      const double t0 = MPI_Wtime();
      const auto before = comm.stats();
      store.pull(halo, out.view());
      pull_seconds += MPI_Wtime() - t0;
      measured += static_cast<double>(comm.stats().bytes_sent - before.bytes_sent + comm.stats().bytes_recv -
                                      before.bytes_recv);
      for (std::int64_t i = 0; i < out.rows(); ++i)
        for (std::int64_t f = 0; f < in.hidden; ++f)
          require(out(i, f) == value_of(halo[static_cast<std::size_t>(i)], f), "a pulled row is its owner's row", r);
    }
    const auto model = gas::dist::scale_model(g, part.ptr, p, in).per_rank[static_cast<std::size_t>(r)];
    const double modelled = (model.halo_bytes_per_step + model.served_bytes_per_step) * static_cast<double>(model.steps);
    require(store.exchange_stats().remote_rows == model.remote_rows, "remote rows equal the model's", r);
    require(measured == modelled, "exchanged bytes equal the model's", r);
    std::printf("rank %d of %d: ok (%lld remote rows, %.0f bytes exchanged in %lld steps: %.0f per step, model %.0f; "
                "history %lld bytes; pulls %.3f s)\n",
                r, p, static_cast<long long>(model.remote_rows), measured, static_cast<long long>(model.steps),
                measured / static_cast<double>(std::max<std::int64_t>(model.steps, 1)),
                model.halo_bytes_per_step + model.served_bytes_per_step, static_cast<long long>(model.history_bytes),
                pull_seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", r, e.what());
    gas::dist::abort_job(1);
  }
  return 0;
}
