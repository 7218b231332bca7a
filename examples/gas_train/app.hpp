#pragma once
/// @brief The gas-train program, generic over where the models compute: main.cpp instantiates it for the host,
/// main_cuda.cu (gas-train-cuda, built when nvcc and cuBLAS are found) for the GPU.

#include <cstdio>
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
  std::snprintf(line, sizeof line,
                "; %d epochs, lr %g, weight decay %g / %g, clip %s; %d parts, batch %d", *h.epochs, *h.lr,
                *h.reg_weight_decay, *h.nonreg_weight_decay,
                *h.grad_clip > 0 ? std::to_string(*h.grad_clip).c_str() : "none", *h.num_parts, *h.batch_size);
  return out + line;
}

inline gas::JsonWriter hyper_json(const gas_train::Hyper& h) {
  gas::JsonWriter j;
  j.add("layers", *h.layers).add("hidden", *h.hidden).add("heads", *h.heads).add("out_heads", *h.out_heads);
  j.add("dropout", *h.dropout).add("input_dropout", *h.input_dropout).add("alpha", *h.alpha).add("theta", *h.theta);
  j.add("batch_norm", *h.batch_norm).add("residual", *h.residual).add("epochs", *h.epochs).add("lr", *h.lr);
  j.add("reg_weight_decay", *h.reg_weight_decay).add("nonreg_weight_decay", *h.nonreg_weight_decay);
  j.add("grad_clip", *h.grad_clip).add("num_parts", *h.num_parts).add("batch_size", *h.batch_size);
  j.add("max_steps", *h.max_steps).add("row_normalize", *h.row_normalize);
  return j;
}

/// The error's kind as the library names its types, most specific first.
inline const char* kind_of(const gas::error& e) {
  if (dynamic_cast<const gas::format_error*>(&e) != nullptr) return "format_error";
  if (dynamic_cast<const gas::io_error*>(&e) != nullptr) return "io_error";
  if (dynamic_cast<const gas::shape_error*>(&e) != nullptr) return "shape_error";
  if (dynamic_cast<const gas::value_error*>(&e) != nullptr) return "value_error";
  if (dynamic_cast<const gas::partition_error*>(&e) != nullptr) return "partition_error";
  if (dynamic_cast<const gas::cuda_error*>(&e) != nullptr) return "cuda_error";
  if (dynamic_cast<const gas::not_compiled*>(&e) != nullptr) return "not_compiled";
  return "error";
}

/// The whole program on `Backend`: parses the command line, trains and reports; returns the exit status.
template <class Backend>
int run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per run as it finishes, also into a log file
  bool help = false;
  const gas_train::Config config = gas_train::parse_args(argc, argv, &help);
  if (help) {
    std::fputs(gas_train::usage().c_str(), stdout);
    return 0;
  }
  gas_train::detail::StorePolicy<Backend>::check(config);  // a store this program lacks fails before any loading
  gas::Dataset data = gas::io::load(config.dataset, {.sparse_features = config.sparse_features});
  const gas_train::Hyper h = gas_train::resolve(config, data.name);
  if (*h.row_normalize) gas::row_normalize(data.features);
  std::printf("dataset %s: %lld nodes, %lld edges, %lld features%s, %lld classes\n", data.name.c_str(),
              static_cast<long long>(data.num_nodes()), static_cast<long long>(data.graph.num_edges()),
              static_cast<long long>(data.num_features()), data.features.is_sparse() ? " (sparse)" : "",
              static_cast<long long>(data.num_classes));
  std::printf("%s mode on the %s: %s%s\n", config.full ? "full" : "gas", device_name<Backend>(),
              describe(h, config.model).c_str(), config.preset.empty() ? "" : " (preset paper)");
  if (!config.history_store.empty() || !config.history_io.empty() || !gas::on_host<Backend>)
    std::printf("histories: %s store, %s I/O\n",
                config.history_store.empty() ? (gas::on_host<Backend> ? "host" : "zero-copy") : config.history_store.c_str(),
                config.history_io.empty() ? (gas::on_host<Backend> ? "sync" : "overlapped") : config.history_io.c_str());

  const gas_train::Summary s = gas_train::train<Backend>(data, config, h);
  std::printf("%s %s (%s, %d runs): test %s %.2f +- %.2f, val %.2f; %.4f s/epoch (median), %.2f s training per "
              "run, peak RSS %.0f MiB\n",
              data.name.c_str(), std::string(name_of(config.model)).c_str(), config.full ? "full" : "gas",
              config.runs, s.metric.c_str(), s.test_mean, s.test_std, s.val_mean, s.epoch_seconds_median,
              s.train_seconds, s.peak_rss_mb);

  if (!config.json.empty()) {
    std::vector<double> tests, vals, best_epochs, train_seconds, epoch_medians, bytes, busy, waits, peak;
    for (const auto& r : s.runs) {
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
    j.add("runs", config.runs).add("seed", config.seed).add("metric", s.metric);
    j.add("test_mean", s.test_mean).add("test_std", s.test_std).add("val_mean", s.val_mean);
    j.add("epochs", *h.epochs).add("epoch_seconds_median", s.epoch_seconds_median);
    j.add("train_seconds", s.train_seconds).add("peak_rss_mb", s.peak_rss_mb);
    j.add_array("test", tests).add_array("val", vals).add_array("best_epoch", best_epochs);
    j.add_array("run_train_seconds", train_seconds).add_array("run_epoch_seconds_median", epoch_medians);
    // The history pipeline per run (zero on the host): bytes queued, copy-stream busy time (ms), host waits per
    // training step, peak device memory of the caching arena (MiB).
    j.add_array("run_history_bytes", bytes).add_array("run_copy_busy_ms", busy);
    j.add_array("run_host_waits_per_step", waits).add_array("run_peak_device_mb", peak);
    j.add_object("hyperparameters", hyper_json(h));
    j.save(config.json);
  }
  return 0;
}

/// main() of gas-train on `Backend`: runs the program and maps errors to the exit status (2 for a configuration
/// error, 1 for any other) with a one-line message naming the error's kind.
template <class Backend>
int main_on(int argc, char** argv) {
  try {
    return run<Backend>(argc, argv);
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "gas-train: config_error: %s\n", e.what());
    if (argc <= 1) std::fputs(gas_train::usage().c_str(), stderr);
    return 2;
  } catch (const gas::error& e) {
    std::fprintf(stderr, "gas-train: %s: %s\n", kind_of(e), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gas-train: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace gas_train
