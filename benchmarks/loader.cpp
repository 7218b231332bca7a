// Loader benchmark: GAS batches on the NE road graph (1.5 M nodes) cut into 1024 clusters, 16 per step.
//
//   bench_loader [DATA_DIR] [--json FILE] [--epochs N]     (DATA_DIR defaults to ../shared/data)
//
// For METIS and Random partitions side by side: batch sizes (in-batch nodes, halo nodes, edges), then
// TrainLoader throughput in background, foreground and precompute modes, and EvalLoader construction time.
// Throughput is measured twice: with an empty consumer (pure build speed), and with a consumer that sleeps as
// long as a foreground build takes, standing in for a training step: there background mode should hide the
// builds (epoch time near the consumer's time alone) while foreground pays both. The graph is GCN-normalized
// first, as training would use it, so batches carry edge weights. Epoch times are medians over the epochs.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gas/gas.hpp>
#include <gas/loader/eval_loader.hpp>
#include <gas/loader/train_loader.hpp>
#include <gas/partition/metis.hpp>
#include <gas/partition/permute.hpp>
#include <gas/partition/random.hpp>

#include "bench_util.hpp"

namespace {

constexpr std::int32_t num_parts = 1024;
constexpr std::int32_t clusters_per_step = 16;

/// Median seconds per epoch of `loader`, whose consumer sleeps `work` per batch.
double epoch_seconds(gas::loader::TrainLoader& loader, int epochs, std::chrono::duration<double> work) {
  std::vector<double> t;
  gas::loader::Batch b;
  for (int e = 0; e < epochs; ++e) {
    gas_bench::Stopwatch watch;
    loader.start_epoch(e);
    while (loader.next(b))
      if (work.count() > 0) std::this_thread::sleep_for(work);
    t.push_back(watch.seconds());
  }
  return gas_bench::median(t);
}

struct Sizes {
  double mean_batch = 0, mean_halo = 0, mean_edges = 0;
  std::int64_t max_halo = 0, max_batch = 0;
};

/// Batch shapes over one epoch (seed 0), the same batches every mode yields.
Sizes batch_sizes(const gas::Graph& g, const std::vector<std::int64_t>& ptr) {
  gas::loader::TrainLoader loader(g, ptr, {.batch_size = clusters_per_step, .background = false});
  loader.start_epoch(0);
  Sizes s;
  std::int64_t steps = 0;
  for (gas::loader::Batch b; loader.next(b); ++steps) {
    s.mean_batch += b.batch_size;
    s.mean_halo += b.num_halo();
    s.mean_edges += static_cast<double>(b.adj.num_edges());
    s.max_halo = std::max<std::int64_t>(s.max_halo, b.num_halo());
    s.max_batch = std::max<std::int64_t>(s.max_batch, b.batch_size);
  }
  s.mean_batch /= static_cast<double>(steps);
  s.mean_halo /= static_cast<double>(steps);
  s.mean_edges /= static_cast<double>(steps);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = "../shared/data";
  std::string json_path;
  int epochs = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (arg == "--epochs" && i + 1 < argc) epochs = std::max(1, std::stoi(argv[++i]));
    else dir = arg;
  }
  const auto file = dir / "road" / "NE.gr.xz";
  if (!std::filesystem::exists(file)) {
    std::printf("bench_loader skipped: %s is absent\n", file.string().c_str());
    return 0;
  }
  try {
    const auto data = gas::io::read_dimacs(file);
    const gas::Graph normalized = gas::gcn_normalize(data.graph);
    std::printf("NE: %d nodes, %lld edges (GCN-normalized, with self-loops); %d clusters, %d per step, "
                "%d threads, median of %d epochs\n",
                normalized.rows(), static_cast<long long>(normalized.num_edges()), num_parts, clusters_per_step,
                static_cast<int>(std::thread::hardware_concurrency()), epochs);
    gas::JsonWriter report;
    report.add("nodes", normalized.rows()).add("edges", normalized.num_edges()).add("num_parts", num_parts);
    report.add("clusters_per_step", clusters_per_step).add("epochs", epochs);

    std::printf("\n%-7s %7s %8s %8s %9s %9s %9s %8s\n", "", "part_s", "cut_%", "batch", "halo", "halo_max",
                "edges", "halo/b");
    struct Case {
      const char* name;
      gas::Graph graph;
      std::vector<std::int64_t> ptr;
    };
    std::vector<Case> cases;
    for (const char* name : {"METIS", "Random"}) {
      const gas::partition::Partition p = std::string(name) == "METIS"
                                              ? gas::partition::Metis{.num_parts = num_parts}.partition(data.graph)
                                              : gas::partition::Random{.num_parts = num_parts}.partition(data.graph);
      const auto stats = gas::partition::stats(data.graph, p);
      Case c{name, gas::partition::permute(normalized, p), p.ptr};
      const Sizes s = batch_sizes(c.graph, c.ptr);
      std::printf("%-7s %7.2f %8.2f %8.0f %9.0f %9lld %9.0f %8.2f\n", name, p.seconds, 100 * stats.edge_cut_fraction,
                  s.mean_batch, s.mean_halo, static_cast<long long>(s.max_halo), s.mean_edges, s.mean_halo / s.mean_batch);
      gas::JsonWriter entry;
      entry.add("partition_seconds", p.seconds).add("edge_cut_fraction", stats.edge_cut_fraction);
      entry.add("mean_batch_nodes", s.mean_batch).add("max_batch_nodes", s.max_batch);
      entry.add("mean_halo_nodes", s.mean_halo).add("max_halo_nodes", s.max_halo).add("mean_batch_edges", s.mean_edges);
      report.add_object(std::string(name) + "_batches", entry);
      cases.push_back(std::move(c));
    }

    std::printf("\nbatches per second (64 steps per epoch); 'busy' = consumer sleeps one foreground build per step\n");
    std::printf("%-7s %-11s %10s %10s %10s %10s\n", "", "mode", "idle_b/s", "epoch_ms", "busy_ms", "work_ms");
    for (auto& c : cases) {
      gas::JsonWriter entry;
      double build_s = 0;  // a foreground build, measured first; it sets the simulated work
      for (const char* mode : {"foreground", "background", "precompute"}) {
        const bool background = std::string(mode) == "background", precompute = std::string(mode) == "precompute";
        gas::loader::TrainLoader loader(c.graph, c.ptr, {.batch_size = clusters_per_step, .background = background,
                                                         .precompute = precompute});
        const double idle = epoch_seconds(loader, epochs, std::chrono::duration<double>(0));
        const double steps = static_cast<double>(loader.steps_per_epoch());
        if (!background && !precompute) build_s = idle / steps;
        const double busy = epoch_seconds(loader, epochs, std::chrono::duration<double>(build_s));
        std::printf("%-7s %-11s %10.1f %10.2f %10.2f %10.2f\n", c.name, mode, steps / idle, 1e3 * idle, 1e3 * busy,
                    1e3 * build_s * steps);
        gas::JsonWriter m;
        m.add("batches_per_second", steps / idle).add("epoch_seconds", idle).add("busy_epoch_seconds", busy);
        m.add("simulated_work_seconds", build_s * steps);
        entry.add_object(mode, m);
      }
      gas_bench::Stopwatch watch;
      const gas::loader::EvalLoader eval(c.graph, c.ptr, clusters_per_step);
      const double eval_s = watch.seconds();
      std::printf("%-7s %-11s %10.1f %10.2f   (EvalLoader, %zu batches built once)\n", c.name, "eval", eval.size() / eval_s,
                  1e3 * eval_s, eval.size());
      entry.add("eval_build_seconds", eval_s);
      report.add_object(std::string(c.name) + "_throughput", entry);
    }
    std::printf("\npeak RSS %.0f MiB\n", gas_bench::peak_rss_mib());
    if (!json_path.empty()) report.save(json_path);
  } catch (const gas::error& e) {
    std::fprintf(stderr, "bench_loader: %s\n", e.what());
    return 1;
  }
  return 0;
}
