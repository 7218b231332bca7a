#pragma once
/// @brief gas-train-mpi's history policy: the models keep dist::ShardedStore histories (each rank its own rows), the
/// Trainer runs distributed over the MPI communicator (TrainerOptions::comm), and each run reports the rank's
/// collectives and every rank's peak memory. See docs/distributed.md.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <gas/gas.hpp>

#include "config.hpp"
#include "run.hpp"

namespace gas_train {

struct DistributedPolicy {
  using type = gas::dist::ShardedStore<gas::history::HostStore<float>>;
  static constexpr const char* default_store = "sharded host";
  static constexpr const char* default_io = "sync";
  /// The job's communicator (main_mpi.cpp sets it before anything runs).
  static inline gas::dist::Communicator* comm = nullptr;

  /// What the distributed Trainer cannot do yet is refused before any loading, naming the flag.
  static void check(const Config& c) {
    detail::StorePolicy<gas::host>::check(c);
    const auto refuse = [](bool bad, const char* what) {
      if (bad) throw gas::config_error(std::string(what) + " is not available with distributed training (gas-train-mpi) yet");
    };
    refuse(c.full, "--mode full");
    refuse(!c.checkpoint.empty(), "--checkpoint");
    refuse(!c.resume.empty(), "--resume");
    refuse(!c.save_predictions.empty(), "--save-predictions");
    refuse(!c.save_embeddings.empty(), "--save-embeddings");
  }
  template <class Model, class Options>
  static std::unique_ptr<Model> build(const Config&, std::int64_t n, const Options& o, std::uint64_t seed) {
    return std::make_unique<Model>(n, o, seed);  // unbound ShardedStores: the Trainer binds them to the partition
  }
  static void configure(gas::TrainerOptions& o) {
    o.comm = comm;
    comm->reset_stats();
  }
  static std::int32_t ranks() { return comm->size(); }
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

}  // namespace gas_train
