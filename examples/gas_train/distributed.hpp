#pragma once
/// @brief The history policies of gas-train-mpi and gas-train-cuda-mpi: the models keep sharded histories (each rank
/// its own rows), the Trainer runs distributed over the job's communicator (TrainerOptions::comm), and each run
/// reports the rank's collectives and every rank's peak memory. See docs/distributed.md.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gas/gas.hpp>
#if defined(__CUDACC__)
#include <gas/dist/sharded_device_store.cuh>
#endif

#include "config.hpp"
#include "run.hpp"

namespace gas_train {

/// The job's communicator (main_mpi.cpp and main_cuda_mpi.cu set it before anything runs) and what the policies of
/// both programs share.
struct Ranks {
  static inline gas::dist::Communicator* comm = nullptr;

  /// What the distributed Trainer cannot do yet is refused before any loading, naming the flag.
  static void refuse_unsupported(const Config& c) {
    const auto refuse = [](bool bad, const char* what) {
      if (bad) throw gas::config_error(std::string(what) + " is not available with distributed training yet");
    };
    refuse(c.full, "--mode full");
    refuse(!c.checkpoint.empty(), "--checkpoint");
    refuse(!c.resume.empty(), "--resume");
    refuse(!c.save_predictions.empty(), "--save-predictions");
    refuse(!c.save_embeddings.empty(), "--save-embeddings");
  }
  static void configure(gas::TrainerOptions& o) {
    o.comm = comm;
    comm->reset_stats();
  }
  static std::int32_t ranks() { return comm->size(); }
  /// The rank's collectives, its histories' exchanges and every rank's peak memory.
  template <class Model>
  static void collect(Model& model, RunRecord& rec) {
    const auto& st = comm->stats();
    rec.comm_bytes = static_cast<double>(st.bytes_sent + st.bytes_recv);
    rec.comm_seconds = st.seconds;
    for (const auto& h : model.histories()) {
      const auto& x = h.exchange_stats();
      rec.halo_bytes += static_cast<double>(x.remote_rows + x.served_rows) * (4.0 + 4.0 * static_cast<double>(h.width()));
    }
    std::vector<double> peak(static_cast<std::size_t>(comm->size()));
    const double mine = peak_rss_mib();
    comm->allgather(std::as_bytes(std::span<const double>(&mine, 1)), std::as_writable_bytes(std::span<double>(peak)));
    rec.rank_peak_rss_mb = peak;
  }
};

/// gas-train-mpi: host models whose histories are sharded HostStores.
struct DistributedPolicy : Ranks {
  using type = gas::dist::ShardedStore<gas::history::HostStore<float>>;
  static constexpr const char* default_store = "sharded host";
  static constexpr const char* default_io = "sync";

  static void check(const Config& c) {
    detail::StorePolicy<gas::host>::check(c);
    refuse_unsupported(c);
  }
  template <class Model, class Options>
  static std::unique_ptr<Model> build(const Config&, std::int64_t n, const Options& o, std::uint64_t seed) {
    return std::make_unique<Model>(n, o, seed);  // unbound ShardedStores: the Trainer binds them to the partition
  }
};

#if defined(__CUDACC__)
/// gas-train-cuda-mpi: device models whose histories are sharded GPU stores of the kind --history-store names,
/// moved by the overlapped pipeline (or the synchronous oracle, --history-io sync).
struct DeviceDistributedPolicy : Ranks {
  using Device = detail::StorePolicy<gas::cuda::device>;
  using type = gas::dist::ShardedDeviceStore<gas::cuda::AnyStore>;
  static constexpr const char* default_store = Device::default_store;
  static constexpr const char* default_io = Device::default_io;

  static void check(const Config& c) {
    Device::check(c);
    refuse_unsupported(c);
  }
  template <class Model, class Options>
  static std::unique_ptr<Model> build(const Config& c, std::int64_t n, const Options& o, std::uint64_t seed) {
    const auto kind = gas::cuda::store_kind_from(c.history_store.empty() ? default_store : c.history_store);
    const auto dir = std::filesystem::temp_directory_path() / ("gas-train-" + std::to_string(::getpid()));
    // Unbound stores: the Trainer binds them to the partition, which makes each rank's rows of the chosen kind.
    auto model = std::make_unique<Model>(n, o, seed, [kind, dir](std::int32_t l, std::int64_t rows, std::int64_t w) {
      return type(rows, w, [kind, dir, l](std::int64_t r, std::int64_t width) {
        return gas::cuda::AnyStore(kind, r, width, l, dir);
      });
    });
    model->io().set_options({.timing = true});
    gas::cuda::default_arena().reset_peak();
    return model;
  }
  template <class Model>
  static void collect(Model& model, RunRecord& rec) {
    Device::collect(model, rec);
    Ranks::collect(model, rec);
  }
};
#endif

/// The body of both distributed programs: runs gas-train's `run` on this rank; rank 0 alone prints. An error ends
/// the whole job (MPI_Abort) with exit status 1, or 2 for a configuration error, so no rank waits forever in a
/// collective.
template <class Backend, class Policy>
int run_rank(int argc, char** argv, const char* program, gas::dist::Communicator& comm,
             void (*abort_job)(int)) {
  Ranks::comm = &comm;
  // Only rank 0 speaks; the others would print the same lines.
  if (comm.rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
  int status = 0;
  try {
    status = run<Backend, Policy>(argc, argv);
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "%s (rank %d): config_error: %s\n", program, comm.rank(), e.what());
    status = 2;
  } catch (const gas::error& e) {
    std::fprintf(stderr, "%s (rank %d): %s: %s\n", program, comm.rank(), gas::kind_of(e), e.what());
    status = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s (rank %d): error: %s\n", program, comm.rank(), e.what());
    status = 1;
  }
  // When every rank fails alike (a configuration error), rank 0's abort comes first and ends the others: OpenMPI
  // 4.1's mpirun can crash when all ranks abort at the same moment.
  if (status == 1 || status == 2) {
    if (comm.rank() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    abort_job(status);
  }
  return status;
}

}  // namespace gas_train
