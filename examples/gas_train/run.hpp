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
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <gas/gas.hpp>

#include "config.hpp"
#include "progress.hpp"

namespace gas_train {

/// @brief What one run reports (metrics as fractions, as the Trainer returns them).
struct RunRecord {
  double test = 0;                    ///< test metric at the best validation epoch
  std::int32_t split = 0;             ///< the index of the split it trained on (among the protocol's splits)
  double val = 0;                     ///< best validation metric
  std::int32_t best_epoch = 0;        ///< 1-based (epochs completed), as in the log; 0 when none was evaluated
  double train_seconds = 0;           ///< the epochs' training steps
  double total_seconds = 0;           ///< the whole fit, preprocessing and evaluation included
  std::vector<double> epoch_seconds;  ///< per epoch, training steps only
  // The history pipeline's counters over the run (gas-train-cuda with a GPU store; zero otherwise).
  double bytes_moved = 0;             ///< bytes the pipeline queued host<->device and device<->device
  double copy_busy_ms = 0;            ///< time the two copy streams spent on its jobs
  double host_waits_per_step = 0;     ///< host waits / training steps
  double peak_device_mb = 0;          ///< peak device memory of the caching arena, MiB
  // Distributed training (gas-train-mpi; zero otherwise): this rank's collectives over the fit.
  double comm_bytes = 0;              ///< bytes this rank sent and received (training and evaluation)
  double comm_seconds = 0;            ///< time inside collectives, waiting for the slowest rank included
  double halo_bytes = 0;              ///< of comm_bytes, the history rows and ids of its pulls and answers
  double training_steps = 0;          ///< training steps of the fit
  std::vector<double> rank_peak_rss_mb;  ///< every rank's peak resident set at the end of the run, MiB
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
  std::int32_t ranks = 0;             ///< distributed ranks (gas-train-mpi), 0 for a single process
  bool interrupted = false;           ///< Ctrl-C ended the runs early (runs holds the completed ones)
  std::int32_t interrupted_run = -1;  ///< the run it stopped, and how many of its epochs were kept
  std::int32_t interrupted_epochs = 0;
};

/// @brief What the runs report as they go and leave behind, beyond the Summary: progress, a per-epoch hook (the
/// log), the runs a resumed checkpoint had completed, and the best run's predictions when asked for.
struct Outputs {
  Progress* progress = nullptr;
  std::function<void(std::int32_t run, const gas::EpochRecord&, const gas::TrainResult&)> on_epoch{};
  bool predictions = false;                         ///< keep the best run's Trainer::predict()
  std::optional<gas::Prediction<float>> best{};    ///< that prediction (best validation metric over runs)
  double best_val = -1;
  std::int32_t first_run = 0;                       ///< the first run trained now (--first-run, or a resumed one)
  std::vector<RunRecord> completed{};
  std::int32_t resumed_epochs = 0;                  ///< epochs of run first_run the checkpoint holds
  bool resume_loaded = false;
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
  static void configure(gas::TrainerOptions&) {}
  static std::int32_t ranks() { return 0; }
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
  static void configure(gas::TrainerOptions&) {}
  static std::int32_t ranks() { return 0; }
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
          .residual = *h.residual, .linear_head = *h.linear};
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
  o.shared_weights = *h.shared_weights, o.drop_input = *h.drop_input;
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
  o.dropout = *h.dropout, o.drop_input = *h.drop_input, o.batch_norm = *h.batch_norm, o.residual = *h.residual;
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
  if (!c.metric.empty()) o.metric = gas::train::parse_metric(c.metric);
  return o;
}

/// A completed run as the checkpoint's notes keep it (so a resumed gas-train reports every run).
inline std::string run_json(const RunRecord& r) {
  gas::JsonWriter j;
  j.add("split", r.split).add("test", r.test).add("val", r.val).add("best_epoch", r.best_epoch).add("train_seconds", r.train_seconds);
  j.add("total_seconds", r.total_seconds).add_array("epoch_seconds", r.epoch_seconds);
  return j.str();
}

inline std::string runs_json(const std::vector<RunRecord>& runs) {
  std::string out = "[";
  for (const auto& r : runs) out += (out.size() > 1 ? "," : "") + run_json(r);
  return out + "]";
}

inline std::vector<RunRecord> parse_runs(const std::string& text, const std::string& source) {
  std::vector<RunRecord> out;
  const auto root = gas::io::parse_json(text, source + " (completed runs)");
  if (!root.is_array()) throw gas::format_error(source + ": the completed runs are not a list");
  for (const auto& e : root.as_array()) {
    auto number = [&](const char* key) {
      const auto* v = e.find(key);
      if (v == nullptr) throw gas::format_error(source + ": a completed run has no '" + key + "'");
      return v->is_null() ? std::nan("") : v->as_double();
    };
    RunRecord& r = out.emplace_back();
    r.split = static_cast<std::int32_t>(number("split"));
    r.test = number("test");
    r.val = number("val");
    r.best_epoch = static_cast<std::int32_t>(number("best_epoch"));
    r.train_seconds = number("train_seconds");
    r.total_seconds = number("total_seconds");
    if (const auto* a = e.find("epoch_seconds"); a != nullptr && a->is_array())
      for (const auto& x : a->as_array()) r.epoch_seconds.push_back(x.is_null() ? std::nan("") : x.as_double());
  }
  return out;
}

/// The configuration a checkpoint of gas-train must match beyond the Trainer's own: the model and every
/// hyperparameter but the epoch count (which a resume may raise), and how the features are held.
inline std::map<std::string, std::string> checkpoint_meta(const gas::Dataset& data, const Config& c, const Hyper& h) {
  std::map<std::string, std::string> m;
  m["gas-train.model"] = std::string(name_of(c.model));
  const auto num = gas::exact_text;  // 0.6, not 0.59999999999999998
  m["gas-train.hyperparameters"] =
      "layers " + std::to_string(*h.layers) + " hidden " + std::to_string(*h.hidden) + " heads " +
      std::to_string(*h.heads) + "/" + std::to_string(*h.out_heads) + " dropout " + num(*h.dropout) + "/" +
      num(*h.input_dropout) + " alpha " + num(*h.alpha) + " theta " + num(*h.theta) + " batch_norm " +
      std::to_string(*h.batch_norm) + " residual " + std::to_string(*h.residual) + " parts " +
      std::to_string(*h.num_parts) + " batch " + std::to_string(*h.batch_size) + " max_steps " +
      std::to_string(*h.max_steps) + " row_normalize " + std::to_string(*h.row_normalize) + " standardize " +
      std::to_string(*h.standardize) + " linear " + std::to_string(*h.linear) + " drop_input " +
      std::to_string(*h.drop_input) + " shared_weights " + std::to_string(*h.shared_weights);
  m["gas-train.features"] = data.features.is_sparse() ? "sparse" : "dense";
  m["gas-train.split"] = resolve_split(c, data.name).text(c.runs);
  return m;
}

/// Trains `runs` fresh models built by make(seed); run r seeds its weights and its trainer with seed + r and trains
/// on split gas::split_of_run(protocol, r, splits) of data.splits (which hold the protocol's splits).
/// METIS keeps c.seed in every run: the reference partitions once and reuses the clusters across runs.
/// Starts at io.first_run (a resumed session), reports through `io` and stops at a Ctrl-C (summary.interrupted).
template <class Model, class Backend, class Policy, class Make>
std::vector<RunRecord> train_runs(const gas::Dataset& data, const Config& c, const Hyper& h, Make make, Outputs& io,
                                  Summary& summary) {
  std::vector<RunRecord> out = io.completed;
  const gas::SplitProtocol protocol = resolve_split(c, data.name);
  for (std::int32_t r = io.first_run; r < c.runs; ++r) {
    const std::uint64_t seed = c.seed + static_cast<std::uint64_t>(r);
    std::unique_ptr<Model> model = make(seed);  // models are built in place: optimizers point into them
    gas::TrainerOptions options = trainer_options(c, h, seed);
    options.split = gas::split_of_run(protocol, r, static_cast<std::int32_t>(data.splits.size()));
    options.patience = c.patience;
    options.checkpoint = c.checkpoint;
    options.checkpoint_every = c.checkpoint_every;
    if (!c.resume.empty() && r == io.first_run) options.resume = c.resume;
    options.checkpoint_meta = checkpoint_meta(data, c, h);
    options.checkpoint_info = {{"run", std::to_string(r)}, {"completed", runs_json(out)},
                               {"epochs", std::to_string(*h.epochs)}};
    options.stop = Interrupt::flag();
    Policy::configure(options);
    std::int32_t first_epoch = -1;  // known at the first callback: the resumed epochs come back in the result
    options.on_epoch = [&](const gas::EpochRecord& e, const gas::TrainResult& so_far) {
      if (first_epoch < 0) {
        first_epoch = so_far.resumed_epochs;
        if (io.progress != nullptr) io.progress->resumed(first_epoch);
      }
      if (io.progress != nullptr) io.progress->epoch(e, so_far);
      if (io.on_epoch) io.on_epoch(r, e, so_far);
    };
    double training_steps = 0;
    options.on_step = [&](std::int64_t done, std::int64_t steps) {
      training_steps += 1;
      if (io.progress != nullptr) io.progress->step(done, steps);
    };
    if (io.progress != nullptr) io.progress->start_run(r, 0);
    const std::int32_t options_split = options.split;
    gas::Trainer<Model, gas::partition::Metis> trainer(*model, gas::partition::Metis{.num_parts = *h.num_parts, .seed = c.seed},
                                                       std::move(options));
    const gas::TrainResult result = trainer.fit(data);
    if (io.progress != nullptr) io.progress->end_run();
    if (result.stopped) {  // Ctrl-C: the run is not complete; what it had is in its checkpoint
      summary.interrupted = true;
      summary.interrupted_run = r;
      summary.interrupted_epochs = static_cast<std::int32_t>(result.epochs.size());
      break;
    }
    RunRecord& rec = out.emplace_back();
    rec.split = options_split;
    rec.test = result.test_at_best_val;
    rec.val = result.best_val;
    rec.best_epoch = result.best_epoch + 1;
    rec.train_seconds = result.train_seconds;
    rec.total_seconds = result.total_seconds;
    for (const auto& e : result.epochs) rec.epoch_seconds.push_back(e.seconds);
    rec.training_steps = training_steps;
    Policy::collect(*model, rec);
    if (io.predictions && rec.val > io.best_val) {
      io.best_val = rec.val;
      io.best = trainer.predict();
    }
    if (!c.quiet)
      std::printf("run %d/%d%s: test %.2f  val %.2f  best epoch %d  training %.2f s (%.4f s/epoch), fit %.2f s%s\n",
                  r + 1, c.runs,
                  protocol.kind == gas::SplitProtocol::Kind::stored ? "" : (" (split " + std::to_string(rec.split) + ")").c_str(),
                  100 * rec.test, 100 * rec.val, rec.best_epoch, rec.train_seconds,
                  rec.train_seconds / static_cast<double>(std::max<std::size_t>(1, rec.epoch_seconds.size())),
                  rec.total_seconds,
                  result.early_stopped ? (" (early stop after " + std::to_string(result.epochs.size()) + " epochs)").c_str()
                                       : "");
    if (!c.quiet && (rec.bytes_moved > 0 || rec.peak_device_mb > 0))
      std::printf("  histories: %.3f GB moved, copy streams busy %.1f ms, %.2f host waits per step, peak device %.0f "
                  "MiB\n",
                  rec.bytes_moved / 1e9, rec.copy_busy_ms, rec.host_waits_per_step, rec.peak_device_mb);
  }
  return out;
}

/// The metric the runs report: --metric, else the dataset's published one.
inline std::string metric_name(const Config& c, const gas::Dataset& data) {
  return c.metric.empty() ? std::string(gas::train::to_string(gas::train::metric_for(data))) : c.metric;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace detail

/// @brief Throws config_error when `data` lacks what training needs before splits are chosen: targets, features.
inline void require_trainable(const gas::Dataset& data) {
  if (!data.has_targets())
    throw gas::config_error("dataset '" + data.name + "' has no targets (num_classes = " +
                            std::to_string(data.num_classes) + "): gas-train needs a labeled dataset");
  if (data.num_features() == 0)
    throw gas::config_error("dataset '" + data.name + "' has no node features: gas-train needs them");
}

/// @brief Reads where --resume continues (the run, the runs it completed) into `io`, once. Throws io_error /
/// format_error for an unreadable or damaged file, config_error when it holds more runs than --runs.
inline void load_resume(const Config& c, Outputs& io) {
  if (c.resume.empty() || io.resume_loaded) return;
  const auto ck = gas::train::Checkpoint::load(c.resume);
  io.first_run = static_cast<std::int32_t>(ck.info_int("app.run"));
  io.completed = detail::parse_runs(ck.info("app.completed"), ck.source());
  io.resumed_epochs = static_cast<std::int32_t>(ck.info_int("epochs"));
  const auto session_epochs = ck.info_int("app.epochs");
  // The session trains runs c.first_run..c.runs-1; the runs it completed before the checkpoint's come with it.
  if (io.first_run < c.first_run || io.first_run >= c.runs ||
      io.completed.size() != static_cast<std::size_t>(io.first_run - c.first_run))
    throw gas::config_error(ck.source() + ": the checkpoint is of run " + std::to_string(io.first_run + 1) + " (with " +
                            std::to_string(io.completed.size()) + " completed) but --runs is " + std::to_string(c.runs) +
                            (c.first_run > 0 ? " from --first-run " + std::to_string(c.first_run + 1) : std::string()));
  // Completed runs cannot be trained further: a different --epochs would leave runs of two lengths under one summary.
  const std::int32_t epochs = c.hyper.epochs.value_or(static_cast<std::int32_t>(session_epochs));
  if (!io.completed.empty() && epochs != session_epochs)
    throw gas::config_error(ck.source() + ": its " + std::to_string(io.completed.size()) + " completed run(s) trained " +
                            std::to_string(session_epochs) + " epochs; resuming with --epochs " + std::to_string(epochs) +
                            " would mix two lengths in one summary (resume with --epochs " +
                            std::to_string(session_epochs) + ", or lengthen single runs: --runs 1)");
  if (!io.completed.empty() && io.predictions)
    std::fprintf(stderr, "gas-train: note: runs 1-%zu finished before the checkpoint; --save-predictions and "
                         "--save-embeddings come from the best of the runs trained now\n", io.completed.size());
  io.resume_loaded = true;
}

/// @brief Trains c.model on `data` (its name selects the preset) c.runs times with hyperparameters `h`
/// (resolved) and summarizes; the models compute on `Backend` (gas::host, or gas::cuda::device under nvcc). Errors from
/// the models and the Trainer propagate (config_error for a dataset without labels or split, partition_error for
/// more parts than nodes, value_error for bad widths).
template <class Backend = gas::host, class Policy = detail::StorePolicy<Backend>>
Summary train(const gas::Dataset& data, const Config& c, const Hyper& h, Outputs* outputs = nullptr) {
  Outputs none;
  Outputs& io = outputs != nullptr ? *outputs : none;
  load_resume(c, io);
  using namespace gas::models;
  using Store = typename Policy::type;
  Policy::check(c);
  // Before any model is built (its widths come from the dataset): say what the dataset lacks.
  require_trainable(data);
  if (data.splits.empty())
    throw gas::config_error("dataset '" + data.name + "' has no train/val/test split; gas-train needs one (generate "
                            "some: --split per-class:train=20,val=30 or --split random:train=0.6,val=0.2)");
  Summary s;
  s.metric = detail::metric_name(c, data);
  const std::int64_t n = data.num_nodes();
  switch (c.model) {
    case ModelKind::gcn:
      s.runs = detail::train_runs<GCN<float, Backend, Store>, Backend, Policy>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<GCN<float, Backend, Store>>(c, n, detail::gcn_options(data, h), seed);
      }, io, s);
      break;
    case ModelKind::gat:
      s.runs = detail::train_runs<GAT<float, Backend, Store>, Backend, Policy>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<GAT<float, Backend, Store>>(c, n, detail::gat_options(data, h), seed);
      }, io, s);
      break;
    case ModelKind::appnp:
      s.runs = detail::train_runs<APPNP<float, Backend, Store>, Backend, Policy>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<APPNP<float, Backend, Store>>(c, n, detail::appnp_options(data, h), seed);
      }, io, s);
      break;
    case ModelKind::gcnii:
      s.runs = detail::train_runs<GCNII<float, Backend, Store>, Backend, Policy>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<GCNII<float, Backend, Store>>(c, n, detail::gcnii_options(data, h), seed);
      }, io, s);
      break;
    case ModelKind::gin:
      s.runs = detail::train_runs<GIN<float, Backend, Store>, Backend, Policy>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<GIN<float, Backend, Store>>(c, n, detail::gin_options(data, h), seed);
      }, io, s);
      break;
    case ModelKind::pna:
      s.runs = detail::train_runs<PNA<float, Backend, Store>, Backend, Policy>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<PNA<float, Backend, Store>>(c, n, detail::pna_options(data, h), seed);
      }, io, s);
      break;
    case ModelKind::pna_jk:
      s.runs = detail::train_runs<PNAJK<float, Backend, Store>, Backend, Policy>(data, c, h, [&](std::uint64_t seed) {
        return Policy::template build<PNAJK<float, Backend, Store>>(c, n, detail::pna_options(data, h), seed);
      }, io, s);
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
  const auto runs = static_cast<double>(std::max<std::size_t>(1, s.runs.size()));
  for (double t : tests) s.test_mean += t / runs;
  for (double t : tests) s.test_std += (t - s.test_mean) * (t - s.test_mean);
  s.test_std = s.runs.size() > 1 ? std::sqrt(s.test_std / (runs - 1)) : 0.0;
  s.val_mean = val_sum / runs;
  s.train_seconds = train_sum / runs;
  if (s.runs.empty()) {  // interrupted in the first run: nothing to summarize (null in the JSON)
    s.test_mean = s.test_std = s.val_mean = s.train_seconds = std::nan("");
  }
  s.epoch_seconds_median = detail::median(std::move(epochs));
  s.peak_rss_mb = peak_rss_mib();
  s.history_store = c.history_store.empty() ? Policy::default_store : c.history_store;
  s.history_io = c.history_io.empty() ? Policy::default_io : c.history_io;
  s.ranks = Policy::ranks();
  return s;
}

}  // namespace gas_train
