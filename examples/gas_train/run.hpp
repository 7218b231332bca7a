#pragma once
/// @brief gas-train's runs: builds the chosen model from resolved hyperparameters, trains it `runs` times with
/// gas::Trainer (METIS partitions; histories in host memory, or on the GPU path in the store --history-store names)
/// and summarizes the runs as the reference reports them.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gas/gas.hpp>

#include "config.hpp"

namespace gas_train {

/// @brief What one run reports (metrics as fractions, as the Trainer returns them).
struct RunRecord {
  double test = 0;                    ///< test metric at the best validation epoch
  double val = 0;                     ///< best validation metric
  std::int32_t best_epoch = -1;
  double train_seconds = 0;           ///< the epochs' training steps
  double total_seconds = 0;           ///< the whole fit, preprocessing and evaluation included
  std::vector<double> epoch_seconds;  ///< per epoch, training steps only
  // The history pipeline's counters over the run (gas-train-cuda with a GPU store; zero otherwise).
  double bytes_moved = 0;             ///< bytes the pipeline queued host<->device and device<->device
  double copy_busy_ms = 0;            ///< time the two copy streams spent on its jobs
  double host_waits_per_step = 0;     ///< host waits / training steps
  double peak_device_mb = 0;          ///< peak device memory of the caching arena, MiB
};

/// @brief The runs of one configuration and their summary (metrics in percent).
struct Summary {
  std::string metric;                 ///< accuracy or micro_f1
  std::vector<RunRecord> runs;
  double test_mean = 0, test_std = 0, val_mean = 0;  ///< percent; std is the sample standard deviation
  double epoch_seconds_median = 0;    ///< over every epoch of every run
  double train_seconds = 0;           ///< mean over runs of a run's training time
  double peak_rss_mb = 0;             ///< the process's peak resident set, MiB
  std::string history_store;          ///< the store the histories lived in
  std::string history_io;             ///< sync or overlapped
};

/// @brief Peak resident set size of this process in MiB (Linux reports ru_maxrss in KiB).
inline double peak_rss_mib() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return std::nan("");
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

namespace detail {

/// How a backend keeps its histories: on the host a HostStore (moved synchronously, the only choice); on the GPU a
/// gas::cuda::AnyStore of the kind --history-store names (one model instantiation whatever the kind), moved by
/// the overlapped pipeline unless --history-io sync asks for the synchronous oracle.
template <class Backend>
struct StorePolicy {
  using type = gas::history::HostStore<float>;
  static constexpr const char* default_store = "host";
  static constexpr const char* default_io = "sync";
  static void check(const Config& c) {
    if (!c.history_store.empty() && c.history_store != "host")
      throw gas::config_error("--history-store " + c.history_store +
                              " needs gas-train-cuda: gas-train keeps histories in host memory (host)");
    if (!c.history_io.empty() && c.history_io != "sync")
      throw gas::config_error("--history-io " + c.history_io + " needs gas-train-cuda: gas-train moves histories "
                              "synchronously (sync)");
  }
  template <class Model, class Options>
  static std::unique_ptr<Model> build(const Config&, std::int64_t n, const Options& o, std::uint64_t seed) {
    return std::make_unique<Model>(n, o, seed);
  }
  template <class Model>
  static void collect(Model&, RunRecord&) {}
};

#if defined(__CUDACC__)
template <>
struct StorePolicy<gas::cuda::device> {
  using type = gas::cuda::AnyStore;
  // Zero-copy until a GPU run of bench_cuda_pipeline (gather part) says otherwise: no CPU work and no staging copy
  // per pull, only the gathered rows cross the bus (docs/performance.md).
  static constexpr const char* default_store = "zero-copy";
  static constexpr const char* default_io = "overlapped";
  static void check(const Config& c) {
    if (!c.history_store.empty()) (void)gas::cuda::store_kind_from(c.history_store);
  }
  template <class Model, class Options>
  static std::unique_ptr<Model> build(const Config& c, std::int64_t n, const Options& o, std::uint64_t seed) {
    const auto kind = gas::cuda::store_kind_from(c.history_store.empty() ? default_store : c.history_store);
    // A mapped store's files go to a fresh folder of the temporary directory, one file per history.
    const auto dir = std::filesystem::temp_directory_path() / ("gas-train-" + std::to_string(::getpid()));
    auto model = std::make_unique<Model>(n, o, seed, [kind, dir](std::int32_t l, std::int64_t rows, std::int64_t w) {
      return gas::cuda::AnyStore(kind, rows, w, l, dir);
    });
    model->io().set_options({.timing = true});
    gas::cuda::default_arena().reset_peak();
    return model;
  }
  template <class Model>
  static void collect(Model& model, RunRecord& rec) {
    model.drain_histories();
    const auto& st = model.io().stats();
    rec.bytes_moved = static_cast<double>(st.bytes_h2d + st.bytes_d2h + st.bytes_d2d);
    rec.copy_busy_ms = st.h2d_busy_ms + st.d2h_busy_ms;
    rec.host_waits_per_step = st.steps > 0 ? static_cast<double>(st.host_waits) / static_cast<double>(st.steps) : 0;
    rec.peak_device_mb = static_cast<double>(gas::cuda::default_arena().stats().peak_bytes_in_use) / (1 << 20);
  }
};
#endif

template <class Backend>
using Store = typename StorePolicy<Backend>::type;

inline gas::models::GCNOptions gcn_options(const gas::Dataset& d, const Hyper& h) {
  return {.in = d.num_features(), .hidden = *h.hidden, .out = d.num_classes, .layers = *h.layers,
          .dropout = *h.dropout, .input_dropout = *h.input_dropout, .batch_norm = *h.batch_norm,
          .residual = *h.residual};
}

inline gas::models::GATModelOptions gat_options(const gas::Dataset& d, const Hyper& h) {
  return {.in = d.num_features(), .hidden = *h.hidden, .heads = *h.heads, .out = d.num_classes,
          .out_heads = *h.out_heads, .layers = *h.layers, .dropout = *h.dropout};
}

inline gas::models::APPNPOptions appnp_options(const gas::Dataset& d, const Hyper& h) {
  return {.in = d.num_features(), .hidden = *h.hidden, .out = d.num_classes, .K = *h.layers, .alpha = *h.alpha,
          .dropout = *h.dropout};
}

inline gas::models::GCNIIOptions gcnii_options(const gas::Dataset& d, const Hyper& h) {
  gas::models::GCNIIOptions o;
  o.in = d.num_features(), o.hidden = *h.hidden, o.out = d.num_classes, o.layers = *h.layers;
  o.alpha = *h.alpha, o.theta = *h.theta, o.dropout = *h.dropout;
  o.batch_norm = *h.batch_norm, o.residual = *h.residual;
  return o;
}

inline gas::models::GINOptions gin_options(const gas::Dataset& d, const Hyper& h) {
  gas::models::GINOptions o;
  o.in = d.num_features(), o.hidden = *h.hidden, o.out = d.num_classes, o.layers = *h.layers;
  o.dropout = *h.dropout, o.batch_norm = *h.batch_norm, o.residual = *h.residual;
  return o;
}

/// PNA's degree scalers need avg_log over the WHOLE graph (never a batch): computed here from the raw graph the
/// model trains on (PNA declares traits.gcn_norm = false, so the Trainer passes the graph as loaded).
inline gas::models::PNAModelOptions pna_options(const gas::Dataset& d, const Hyper& h) {
  gas::models::PNAModelOptions o;
  o.in = d.num_features(), o.hidden = *h.hidden, o.out = d.num_classes, o.layers = *h.layers;
  o.degrees = gas::nn::degree_statistics(d.graph);
  o.dropout = *h.dropout, o.batch_norm = *h.batch_norm, o.residual = *h.residual;
  return o;
}

inline gas::TrainerOptions trainer_options(const Config& c, const Hyper& h, std::uint64_t seed) {
  gas::TrainerOptions o;
  if (!c.history_io.empty())
    o.history_io = c.history_io == "sync" ? gas::models::HistoryIO::sync : gas::models::HistoryIO::overlapped;
  o.batch_size = *h.batch_size;
  o.max_steps = *h.max_steps;
  o.epochs = *h.epochs;
  o.lr = *h.lr;
  o.reg_weight_decay = *h.reg_weight_decay;
  o.nonreg_weight_decay = *h.nonreg_weight_decay;
  if (*h.grad_clip > 0) o.grad_clip = *h.grad_clip;
  o.seed = seed;
  o.mode = c.full ? gas::TrainerOptions::Mode::full : gas::TrainerOptions::Mode::gas;
  return o;
}

/// Trains `runs` fresh models built by make(seed); run r seeds its weights and its trainer with seed + r.
/// METIS keeps c.seed in every run: the reference partitions once and reuses the clusters across runs.
template <class Model, class Backend, class Make>
std::vector<RunRecord> train_runs(const gas::Dataset& data, const Config& c, const Hyper& h, Make make) {
  std::vector<RunRecord> out;
  for (std::int32_t r = 0; r < c.runs; ++r) {
    const std::uint64_t seed = c.seed + static_cast<std::uint64_t>(r);
    std::unique_ptr<Model> model = make(seed);  // models are built in place: optimizers point into them
    gas::Trainer<Model, gas::partition::Metis> trainer(
        *model, gas::partition::Metis{.num_parts = *h.num_parts, .seed = c.seed}, trainer_options(c, h, seed));
    const gas::TrainResult result = trainer.fit(data);
    RunRecord& rec = out.emplace_back();
    rec.test = result.test_at_best_val;
    rec.val = result.best_val;
    rec.best_epoch = result.best_epoch;
    rec.train_seconds = result.train_seconds;
    rec.total_seconds = result.total_seconds;
    for (const auto& e : result.epochs) rec.epoch_seconds.push_back(e.seconds);
    StorePolicy<Backend>::collect(*model, rec);
    if (!c.quiet)
      std::printf("run %d/%d: test %.2f  val %.2f  best epoch %d  training %.2f s (%.4f s/epoch), fit %.2f s\n",
                  r + 1, c.runs, 100 * rec.test, 100 * rec.val, rec.best_epoch, rec.train_seconds,
                  rec.train_seconds / static_cast<double>(std::max<std::size_t>(1, rec.epoch_seconds.size())),
                  rec.total_seconds);
    if (!c.quiet && (rec.bytes_moved > 0 || rec.peak_device_mb > 0))
      std::printf("  histories: %.3f GB moved, copy streams busy %.1f ms, %.2f host waits per step, peak device %.0f "
                  "MiB\n",
                  rec.bytes_moved / 1e9, rec.copy_busy_ms, rec.host_waits_per_step, rec.peak_device_mb);
  }
  return out;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace detail

/// @brief Trains c.model on `data` (its name selects the preset) c.runs times with hyperparameters `h`
/// (resolved) and summarizes; the models compute on `Backend` (gas::host, or gas::cuda::device under nvcc). Errors from
/// the models and the Trainer propagate (config_error for a dataset without labels or split, partition_error for
/// more parts than nodes, value_error for bad widths).
template <class Backend = gas::host>
Summary train(const gas::Dataset& data, const Config& c, const Hyper& h) {
  using namespace gas::models;
  using Policy = detail::StorePolicy<Backend>;
  using Store = detail::Store<Backend>;
  Policy::check(c);
  // Before any model is built (its widths come from the dataset): say what the dataset lacks.
  if (!data.has_targets())
    throw gas::config_error("dataset '" + data.name + "' has no targets (num_classes = " +
                            std::to_string(data.num_classes) + "): gas-train needs a labeled dataset");
  if (data.num_features() == 0)
    throw gas::config_error("dataset '" + data.name + "' has no node features: gas-train needs them");
  if (data.splits.empty())
    throw gas::config_error("dataset '" + data.name + "' has no train/val/test split; gas-train needs one");
  Summary s;
  s.metric = std::string(gas::train::to_string(gas::train::metric_for(data)));
  const std::int64_t n = data.num_nodes();
  switch (c.model) {
    case ModelKind::gcn:
      s.runs = detail::train_runs<GCN<float, Backend, Store>, Backend>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<GCN<float, Backend, Store>>(c, n, detail::gcn_options(data, h), seed);
      });
      break;
    case ModelKind::gat:
      s.runs = detail::train_runs<GAT<float, Backend, Store>, Backend>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<GAT<float, Backend, Store>>(c, n, detail::gat_options(data, h), seed);
      });
      break;
    case ModelKind::appnp:
      s.runs = detail::train_runs<APPNP<float, Backend, Store>, Backend>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<APPNP<float, Backend, Store>>(c, n, detail::appnp_options(data, h), seed);
      });
      break;
    case ModelKind::gcnii:
      s.runs = detail::train_runs<GCNII<float, Backend, Store>, Backend>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<GCNII<float, Backend, Store>>(c, n, detail::gcnii_options(data, h), seed);
      });
      break;
    case ModelKind::gin:
      s.runs = detail::train_runs<GIN<float, Backend, Store>, Backend>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<GIN<float, Backend, Store>>(c, n, detail::gin_options(data, h), seed);
      });
      break;
    case ModelKind::pna:
      s.runs = detail::train_runs<PNA<float, Backend, Store>, Backend>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<PNA<float, Backend, Store>>(c, n, detail::pna_options(data, h), seed);
      });
      break;
    case ModelKind::pna_jk:
      s.runs = detail::train_runs<PNAJK<float, Backend, Store>, Backend>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<PNAJK<float, Backend, Store>>(c, n, detail::pna_options(data, h), seed);
      });
      break;
  }
  std::vector<double> tests, epochs;
  double val_sum = 0, train_sum = 0;
  for (const auto& r : s.runs) {
    tests.push_back(100 * r.test);
    val_sum += 100 * r.val;
    train_sum += r.train_seconds;
    epochs.insert(epochs.end(), r.epoch_seconds.begin(), r.epoch_seconds.end());
  }
  const auto runs = static_cast<double>(s.runs.size());
  for (double t : tests) s.test_mean += t / runs;
  for (double t : tests) s.test_std += (t - s.test_mean) * (t - s.test_mean);
  s.test_std = s.runs.size() > 1 ? std::sqrt(s.test_std / (runs - 1)) : 0.0;
  s.val_mean = val_sum / runs;
  s.train_seconds = train_sum / runs;
  s.epoch_seconds_median = detail::median(std::move(epochs));
  s.peak_rss_mb = peak_rss_mib();
  s.history_store = c.history_store.empty() ? Policy::default_store : c.history_store;
  s.history_io = c.history_io.empty() ? Policy::default_io : c.history_io;
  return s;
}

}  // namespace gas_train
