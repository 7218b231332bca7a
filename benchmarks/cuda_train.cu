// GAS training epochs on the GPU against the host, side by side in one run: the same gas::Trainer, model, seed,
// partition and batches, with Backend = gas::host and gas::cuda::device.
//
//   bench_cuda_train [--nodes N] [--features F] [--classes C] [--hidden H] [--layers L] [--parts P] [--batch-size B]
//                    [--epochs E] [--mode gas|full] [--json FILE]
//
// Defaults: a GCN (2 layers, hidden 256) with GAS on an SBM graph of 200,000 nodes (degree 20, 128 features,
// 16 classes), 100 METIS parts, 10 per batch, 5 epochs, evaluation (layer-wise inference) only after the last
// epoch, whose time is not counted. Reported per backend: the median epoch time of the training steps, the total
// fit time, and the test accuracy (the two must agree closely: a device result that learns differently is a bug,
// which makes the exit status 1). The device path today copies each batch's adjacency and the history rows
// synchronously (docs/cuda.md): this measures the baseline the overlapped pipeline is to beat.
//
// Exit status: 0 done, 1 an error or a disagreement, 2 a bad flag, 77 no GPU (skipped).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <gas/gas.hpp>

#include "bench_util.hpp"

namespace {

struct Args {
  std::int64_t nodes = 200000, features = 128, classes = 16, hidden = 256;
  std::int32_t layers = 2, parts = 100, batch_size = 10, epochs = 5;
  bool full = false;
  std::string json;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) throw gas::config_error("flag '" + std::string(flag) + "' needs a value");
    const std::string value = argv[++i];
    if (flag == "--json") {
      a.json = value;
      continue;
    }
    if (flag == "--mode") {
      if (value != "gas" && value != "full") throw gas::config_error("--mode takes gas or full, got '" + value + "'");
      a.full = value == "full";
      continue;
    }
    std::int64_t v = 0;
    try {
      v = std::stoll(value);
    } catch (const std::exception&) {
      throw gas::config_error("flag '" + std::string(flag) + "' needs an integer, got '" + value + "'");
    }
    if (v < 1) throw gas::config_error("flag '" + std::string(flag) + "' needs a positive value, got " + value);
    if (flag == "--nodes") a.nodes = v;
    else if (flag == "--features") a.features = v;
    else if (flag == "--classes") a.classes = v;
    else if (flag == "--hidden") a.hidden = v;
    else if (flag == "--layers") a.layers = static_cast<std::int32_t>(v);
    else if (flag == "--parts") a.parts = static_cast<std::int32_t>(v);
    else if (flag == "--batch-size") a.batch_size = static_cast<std::int32_t>(v);
    else if (flag == "--epochs") a.epochs = static_cast<std::int32_t>(v);
    else throw gas::config_error("unknown flag '" + std::string(flag) + "'");
  }
  return a;
}

struct Run {
  double epoch_median = 0, fit_seconds = 0, test = 0;
};

template <class Backend>
Run fit(const gas::Dataset& data, const Args& a) {
  using Model = gas::models::GCN<float, Backend>;
  Model model(data.num_nodes(), {.in = a.features, .hidden = a.hidden, .out = a.classes, .layers = a.layers}, 1);
  gas::TrainerOptions o{.batch_size = a.batch_size, .epochs = a.epochs, .seed = 3};
  o.mode = a.full ? gas::TrainerOptions::Mode::full : gas::TrainerOptions::Mode::gas;
  o.eval_every = a.epochs;
  gas::Trainer<Model, gas::partition::Metis, gas::history::HostStore<float>> trainer(
      model, {.num_parts = a.parts, .seed = 1}, o);
  const auto r = trainer.fit(data);
  std::vector<double> seconds;
  for (const auto& e : r.epochs) seconds.push_back(e.seconds);
  return {gas_bench::median(seconds), r.total_seconds, r.epochs.back().test};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    if (!gas::cuda::available()) {
      std::puts("no GPU: skipped");
      return 77;
    }
    const auto data = gas::gen::sbm({.nodes = a.nodes, .classes = static_cast<std::int32_t>(a.classes),
                                     .features = a.features, .degree = 20, .homophily = 0.8, .noise = 1.0, .seed = 1});
    std::printf("sbm: %lld nodes, %lld entries, %lld features, %lld classes; GCN %d layers, hidden %lld; %s, %d parts, "
                "batch %d, %d epochs\n",
                static_cast<long long>(data.num_nodes()), static_cast<long long>(data.graph.num_edges()),
                static_cast<long long>(a.features), static_cast<long long>(a.classes), a.layers,
                static_cast<long long>(a.hidden), a.full ? "full" : "gas", a.parts, a.batch_size, a.epochs);
    const Run host = fit<gas::host>(data, a);
    std::printf("host:   %.4f s/epoch (median), fit %.2f s, test %.4f\n", host.epoch_median, host.fit_seconds,
                host.test);
    const Run dev = fit<gas::cuda::device>(data, a);
    std::printf("device: %.4f s/epoch (median), fit %.2f s, test %.4f\n", dev.epoch_median, dev.fit_seconds,
                dev.test);
    const double speedup = host.epoch_median / dev.epoch_median;
    std::printf("device speed-up per epoch: %.2fx\n", speedup);
    if (!a.json.empty()) {
      gas::JsonWriter j;
      j.add("nodes", data.num_nodes()).add("entries", data.graph.num_edges()).add("features", a.features);
      j.add("hidden", a.hidden).add("layers", a.layers).add("mode", a.full ? "full" : "gas");
      j.add("parts", a.parts).add("batch_size", a.batch_size).add("epochs", a.epochs);
      j.add("host_epoch_seconds", host.epoch_median).add("device_epoch_seconds", dev.epoch_median);
      j.add("host_test", host.test).add("device_test", dev.test).add("speedup", speedup);
      j.save(a.json);
    }
    if (!(std::abs(host.test - dev.test) <= 0.02)) {
      std::fprintf(stderr, "bench_cuda_train: host and device test accuracy differ: %.4f vs %.4f\n", host.test,
                   dev.test);
      return 1;
    }
    return 0;
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "bench_cuda_train: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_train: %s\n", e.what());
    return 1;
  }
}
