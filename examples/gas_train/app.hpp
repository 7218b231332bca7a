#pragma once
/// @brief The gas-train program, generic over where the models compute: main.cpp instantiates it for the host,
/// main_cuda.cu (gas-train-cuda, built when nvcc and cuBLAS are found) for the GPU.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <exception>
#include <string>
#include <vector>

#include <gas/gas.hpp>

#include "config.hpp"
#include "run.hpp"

namespace gas_train {

/// Where the models compute, for the report.
template <class Backend>
constexpr const char* device_name() {
  return gas::on_host<Backend> ? "host" : "gpu";
}

inline std::string describe(const gas_train::Hyper& h, gas_train::ModelKind model) {
  using gas_train::ModelKind;
  char line[512];
  std::snprintf(line, sizeof line, "%s %d %s, hidden %lld, dropout %.2f", std::string(name_of(model)).c_str(),
                *h.layers, model == ModelKind::appnp ? "steps" : "layers", static_cast<long long>(*h.hidden),
                *h.dropout);
  std::string out = line;
  if (model == ModelKind::gat)
    out += ", heads " + std::to_string(*h.heads) + " / " + std::to_string(*h.out_heads);
  char clip[32] = "none";
  if (*h.grad_clip > 0) std::snprintf(clip, sizeof clip, "%g", *h.grad_clip);
  std::snprintf(line, sizeof line,
                "; %d epochs, lr %g, weight decay %g / %g, clip %s; %d parts, batch %d", *h.epochs, *h.lr,
                *h.reg_weight_decay, *h.nonreg_weight_decay, clip, *h.num_parts, *h.batch_size);
  return out + line;
}

/// Softmax rows (or a sigmoid per entry for multi-label data): the class probabilities --save-predictions writes.
inline gas::Tensor<float> probabilities(const gas::Tensor<float>& logits, bool multi_label) {
  gas::Tensor<float> p(logits.rows(), logits.cols());
  for (std::int64_t i = 0; i < logits.rows(); ++i) {
    float top = -std::numeric_limits<float>::infinity();
    for (std::int64_t j = 0; j < logits.cols(); ++j) top = std::max(top, logits(i, j));
    double sum = 0;
    for (std::int64_t j = 0; j < logits.cols(); ++j) {
      const double x = logits(i, j);
      p(i, j) = static_cast<float>(multi_label ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x - top));
      sum += p(i, j);
    }
    if (!multi_label)
      for (std::int64_t j = 0; j < logits.cols(); ++j) p(i, j) = static_cast<float>(p(i, j) / sum);
  }
  return p;
}

inline gas::JsonWriter hyper_json(const gas_train::Hyper& h) {
  gas::JsonWriter j;
  j.add("layers", *h.layers).add("hidden", *h.hidden).add("heads", *h.heads).add("out_heads", *h.out_heads);
  j.add("dropout", *h.dropout).add("input_dropout", *h.input_dropout).add("alpha", *h.alpha).add("theta", *h.theta);
  j.add("batch_norm", *h.batch_norm).add("residual", *h.residual).add("epochs", *h.epochs).add("lr", *h.lr);
  j.add("reg_weight_decay", *h.reg_weight_decay).add("nonreg_weight_decay", *h.nonreg_weight_decay);
  j.add("grad_clip", *h.grad_clip).add("num_parts", *h.num_parts).add("batch_size", *h.batch_size);
  j.add("max_steps", *h.max_steps).add("row_normalize", *h.row_normalize).add("standardize", *h.standardize);
  j.add("linear", *h.linear).add("drop_input", *h.drop_input).add("shared_weights", *h.shared_weights);
  return j;
}

/// The whole program on `Backend`, its histories kept as `Policy` says (run.hpp's StorePolicy; gas-train-mpi's
/// DistributedPolicy): parses the command line, trains and reports; returns the exit status.
template <class Backend, class Policy = gas_train::detail::StorePolicy<Backend>>
int run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per run as it finishes, also into a log file
  bool help = false;
  const gas_train::Config config = gas_train::parse_args(argc, argv, &help);
  if (help) {
    std::fputs(gas_train::usage().c_str(), stdout);
    return 0;
  }
  // From here a Ctrl-C stops the training loop at its next step check instead of killing the process.
  gas_train::Interrupt::install();
  Policy::check(config);  // a store this program lacks fails before any loading
  gas::Dataset data = gas::io::load(config.dataset, {.sparse_features = config.sparse_features});
  gas_train::require_trainable(data);  // what the dataset lacks is said before anything else is asked of it
  const gas_train::Hyper h = gas_train::resolve(config, data.name);
  if (*h.row_normalize) {
    // Dividing by a row sum is meaningless for signed features (the sum can be 0 or negative): refuse, don't guess.
    if (const auto neg = gas::first_negative(data.features))
      throw gas::config_error("row normalisation (--row-normalize true" +
                              std::string(config.preset.empty() ? "" : ", or the preset") + ") needs non-negative "
                              "features, but feature (" + std::to_string(neg->first) + ", " +
                              std::to_string(neg->second) + ") of '" + data.name + "' is negative; pass "
                              "--row-normalize false (or --standardize true for signed features)");
    gas::row_normalize(data.features);
  }
  if (*h.standardize) gas::standardize_columns(data.features);
  // The splits the runs use: the stored ones, or those the protocol generates (one per run unless count= says).
  const gas::SplitProtocol protocol = gas_train::resolve_split(config, data.name);
  data.splits = gas::make_splits(data, protocol, config.runs);
  std::printf("dataset %s: %lld nodes, %lld edges, %lld features%s, %lld classes\n", data.name.c_str(),
              static_cast<long long>(data.num_nodes()), static_cast<long long>(data.graph.num_edges()),
              static_cast<long long>(data.num_features()), data.features.is_sparse() ? " (sparse)" : "",
              static_cast<long long>(data.num_classes));
  std::printf("%s mode on the %s: %s%s\n", config.full ? "full" : "gas", device_name<Backend>(),
              describe(h, config.model).c_str(), config.preset.empty() ? "" : " (preset paper)");
  const std::string split_text = protocol.text(config.runs);
  const std::int32_t first_split = gas::split_of_run(protocol, 0, static_cast<std::int32_t>(data.splits.size()));
  const auto& first = data.splits[static_cast<std::size_t>(first_split)];
  // Which nodes train and score, when there is a choice (several splits, or generated ones).
  if (protocol.kind != gas::SplitProtocol::Kind::stored || data.splits.size() > 1)
    std::printf("split %s: %zu split%s%s; run 1 uses split %d: %zu train, %zu val, %zu test nodes; metric %s\n",
              split_text.c_str(), data.splits.size(), data.splits.size() == 1 ? "" : "s",
              protocol.kind == gas::SplitProtocol::Kind::stored ? "" : ", run r on split r mod their count", first_split,
              first.train.size(), first.val.size(), first.test.size(), gas_train::detail::metric_name(config, data).c_str());
  if (!config.history_store.empty() || !config.history_io.empty() || !gas::on_host<Backend>)
    std::printf("histories: %s store, %s I/O\n",
                config.history_store.empty() ? (gas::on_host<Backend> ? "host" : "zero-copy") : config.history_store.c_str(),
                config.history_io.empty() ? (gas::on_host<Backend> ? "sync" : "overlapped") : config.history_io.c_str());

  // Progress on stderr, the per-epoch log (and the records the plot draws), the best run's predictions.
  const std::string metric = gas_train::detail::metric_name(config, data);
  gas_train::Progress progress(!config.quiet, config.log_every == 0 && gas_train::stderr_is_terminal(),
                               config.log_every, config.runs, *h.epochs, metric.c_str());
  gas_train::Outputs outputs;
  outputs.progress = &progress;
  outputs.predictions = !config.save_predictions.empty() || !config.save_embeddings.empty();
  outputs.first_run = config.first_run;
  gas_train::load_resume(config, outputs);
  std::vector<gas::train::LogRecord> records;
  if (!config.resume.empty() && !config.log.empty() && std::filesystem::exists(config.log)) {
    // Keep what the checkpoint holds (runs before it, and its run's epochs up to it): the epochs logged after the
    // checkpoint are trained again, and logged again, with the same values.
    for (auto& r : gas::train::read_log(config.log))
      if (r.run < outputs.first_run || (r.run == outputs.first_run && r.epoch <= outputs.resumed_epochs))
        records.push_back(std::move(r));
  }
  if (!config.log.empty()) (void)gas::train::log_format_of(config.log);  // a bad name fails before training
  // The log is (re)written from the first finished epoch on: a resume the Trainer refuses (another configuration)
  // leaves an existing log as it was.
  std::optional<gas::train::LogWriter> log;
  const std::string mode = config.full ? "full" : "gas";
  outputs.on_epoch = [&](std::int32_t run, const gas::EpochRecord& e, const gas::TrainResult& so_far) {
    if (!log && !config.log.empty()) {
      log.emplace(config.log);
      for (const auto& kept : records) log->write(kept);
    }
    gas::train::LogRecord r;
    r.run = run, r.epoch = e.epoch + 1, r.loss = e.loss, r.seconds = e.seconds, r.lr = e.lr;
    r.train = 100 * e.train, r.val = 100 * e.val, r.test = 100 * e.test, r.best_val = 100 * so_far.best_val;
    r.dataset = data.name, r.model = std::string(name_of(config.model)), r.mode = mode, r.metric = metric;
    if (log) log->write(r);
    records.push_back(std::move(r));
  };

  const gas_train::Summary s = gas_train::train<Backend, Policy>(data, config, h, &outputs);
  if (s.interrupted)
    std::printf("interrupted in run %d after %d epochs%s\n", s.interrupted_run + 1, s.interrupted_epochs,
                config.checkpoint.empty() ? " (no --checkpoint: nothing saved to resume from)"
                                          : ("; resume with --resume " + config.checkpoint).c_str());
  if (!s.runs.empty())
    std::printf("%s %s (%s, %zu run%s): test %s %.2f +- %.2f, val %.2f; %.4f s/epoch (median), %.2f s training per "
                "run, peak RSS %.0f MiB\n",
                data.name.c_str(), std::string(name_of(config.model)).c_str(), config.full ? "full" : "gas",
                s.runs.size(), s.runs.size() == 1 ? "" : "s", s.metric.c_str(), s.test_mean, s.test_std, s.val_mean, s.epoch_seconds_median,
                s.train_seconds, s.peak_rss_mb);

  if (outputs.best) {
    if (!config.save_predictions.empty()) {
      const auto probs = gas_train::probabilities(outputs.best->logits, data.is_multi_label());
      gas::io::write_npy<float>(config.save_predictions, std::span<const float>(probs.data(), static_cast<std::size_t>(probs.size())),
                                {probs.rows(), probs.cols()});
    }
    if (!config.save_embeddings.empty()) {
      const auto& emb = outputs.best->embeddings;
      if (emb.size() == 0)
        std::fprintf(stderr, "gas-train: --save-embeddings: a one-layer model has no hidden layer; nothing written\n");
      else
        gas::io::write_npy<float>(config.save_embeddings, std::span<const float>(emb.data(), static_cast<std::size_t>(emb.size())),
                                  {emb.rows(), emb.cols()});
    }
  }
  if (!config.plot.empty() && !records.empty())
    gas::train::write_svg(config.plot, {gas::train::PlotLog{.name = "", .records = records}});
  if (!config.json.empty()) {
    std::vector<double> tests, vals, best_epochs, train_seconds, epoch_medians, bytes, busy, waits, peak, splits;
    for (const auto& r : s.runs) {
      splits.push_back(r.split);
      bytes.push_back(r.bytes_moved);
      busy.push_back(r.copy_busy_ms);
      waits.push_back(r.host_waits_per_step);
      peak.push_back(r.peak_device_mb);
      tests.push_back(100 * r.test);
      vals.push_back(100 * r.val);
      best_epochs.push_back(r.best_epoch);
      train_seconds.push_back(r.train_seconds);
      epoch_medians.push_back(gas_train::detail::median(r.epoch_seconds));
    }
    gas::JsonWriter j;
    j.add("dataset", data.name).add("spec", config.dataset).add("model", name_of(config.model));
    j.add("mode", config.full ? "full" : "gas").add("preset", config.preset.empty() ? "none" : config.preset);
    j.add("device", device_name<Backend>());
    j.add("history_store", s.history_store).add("history_io", s.history_io);
    j.add("runs", static_cast<std::int64_t>(s.runs.size())).add("runs_asked", config.runs).add("first_run", config.first_run + 1).add("seed", config.seed).add("metric", s.metric);
    // The split protocol, how many splits it gave, and the split each run trained on (an index among them).
    j.add("split", split_text).add("splits", static_cast<std::int64_t>(data.splits.size())).add_array("run_split", splits);
    j.add("test_mean", s.test_mean).add("test_std", s.test_std).add("val_mean", s.val_mean);
    j.add("epochs", *h.epochs).add("epoch_seconds_median", s.epoch_seconds_median);
    j.add("train_seconds", s.train_seconds).add("peak_rss_mb", s.peak_rss_mb);
    j.add_array("test", tests).add_array("val", vals).add_array("best_epoch", best_epochs);
    j.add_array("run_train_seconds", train_seconds).add_array("run_epoch_seconds_median", epoch_medians);
    // The history pipeline per run (zero on the host): bytes queued, copy-stream busy time (ms), host waits per
    // training step, peak device memory of the caching arena (MiB).
    j.add_array("run_history_bytes", bytes).add_array("run_copy_busy_ms", busy);
    j.add_array("run_host_waits_per_step", waits).add_array("run_peak_device_mb", peak);
    if (s.ranks > 0) {
      // Distributed: this rank's (rank 0's) collectives per run, and every rank's peak memory.
      std::vector<double> comm_bytes, comm_seconds, halo, per_step, gradient_step, rank_peak;
      for (const auto& r : s.runs) {
        comm_bytes.push_back(r.comm_bytes);
        comm_seconds.push_back(r.comm_seconds);
        halo.push_back(r.training_steps > 0 ? r.halo_bytes / r.training_steps : 0);
        per_step.push_back(r.training_steps > 0 ? r.comm_bytes / r.training_steps : 0);
        if (rank_peak.size() < r.rank_peak_rss_mb.size()) rank_peak.resize(r.rank_peak_rss_mb.size(), 0.0);
        for (std::size_t k = 0; k < r.rank_peak_rss_mb.size(); ++k)  // the peak over the runs, per rank
          rank_peak[k] = std::max(rank_peak[k], r.rank_peak_rss_mb[k]);
      }
      j.add("ranks", s.ranks).add_array("run_comm_bytes", comm_bytes).add_array("run_comm_seconds", comm_seconds);
      j.add_array("run_comm_bytes_per_step", per_step).add_array("run_halo_bytes_per_step", halo);
      j.add_array("rank_peak_rss_mb", rank_peak);
    }
    j.add("interrupted", s.interrupted);
    if (s.interrupted) j.add("interrupted_run", s.interrupted_run + 1).add("interrupted_epochs", s.interrupted_epochs);
    if (!config.checkpoint.empty()) j.add("checkpoint", config.checkpoint);
    if (!config.log.empty()) j.add("log", config.log);
    j.add_object("hyperparameters", hyper_json(h));
    j.save(config.json);
  }
  return s.interrupted ? 130 : 0;  // 128 + SIGINT, as a shell reports a process the signal ended
}

/// main() of gas-train on `Backend`: runs the program and maps errors to the exit status (2 for a configuration
/// error, 1 for any other) with a one-line message naming the error's kind.
template <class Backend, class Policy = gas_train::detail::StorePolicy<Backend>>
int main_on(int argc, char** argv) {
  try {
    return run<Backend, Policy>(argc, argv);
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "gas-train: config_error: %s\n", e.what());
    if (argc <= 1) std::fputs(gas_train::usage().c_str(), stderr);
    return 2;
  } catch (const gas::error& e) {
    std::fprintf(stderr, "gas-train: %s: %s\n", gas::kind_of(e), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gas-train: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace gas_train
