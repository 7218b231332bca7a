// Partitioning benchmark: METIS against Random on the DIMACS road graphs, the scale GAS meets in practice.
//
//   bench_partition [DATA_DIR] [--json FILE]     (DATA_DIR defaults to ../shared/data)
//
// For FLA and NE, into 64 and 1024 parts: seconds, edge-cut fraction, imbalance (largest / average cluster)
// and peak resident memory of each partitioner, side by side, with the ratio of edge-cut fractions
// (METIS / Random; lower is better for METIS). Also the seconds to permute the graph by METIS's partition,
// the relabel every training run pays once. Each number is one run: METIS is seeded and deterministic.

#include <cstdio>
#include <filesystem>
#include <string>

#include <gas/gas.hpp>
#include <gas/partition/metis.hpp>
#include <gas/partition/permute.hpp>
#include <gas/partition/random.hpp>

#include "bench_util.hpp"

namespace {

struct Case {
  double seconds = 0, cut = 0, imbalance = 0, peak_mib = 0;
};

/// Runs one partitioner and measures it; the peak memory includes the loaded graph, which every case holds.
template <gas::partition::Partitioner P>
Case run(const P& partitioner, const gas::Graph& graph, gas::partition::Partition& out) {
  out = {};  // the previous result must not count toward this case's peak
  gas_bench::reset_peak_rss();
  gas_bench::Stopwatch watch;
  out = partitioner.partition(graph);
  Case c;
  c.seconds = watch.seconds();
  c.peak_mib = gas_bench::peak_rss_mib();
  const auto s = gas::partition::stats(graph, out);
  c.cut = s.edge_cut_fraction;
  c.imbalance = s.imbalance;
  return c;
}

gas::JsonWriter to_json(const Case& c) {
  gas::JsonWriter j;
  j.add("seconds", c.seconds).add("edge_cut_fraction", c.cut).add("imbalance", c.imbalance);
  j.add("peak_rss_mib", c.peak_mib);
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = "../shared/data";
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc) json_path = argv[++i];
    else dir = arg;
  }
  gas::JsonWriter report;
  std::printf("%-4s %5s | %8s %7s %6s %8s | %8s %7s %6s %8s | %9s | %9s\n", "", "parts", "metis_s", "cut", "imb",
              "peak_MiB", "random_s", "cut", "imb", "peak_MiB", "cut_ratio", "permute_s");
  try {
    for (const char* name : {"FLA", "NE"}) {
      const auto file = dir / "road" / (std::string(name) + ".gr.xz");
      if (!std::filesystem::exists(file)) {
        std::printf("%-4s skipped: %s is absent\n", name, file.string().c_str());
        continue;
      }
      const auto data = gas::io::read_dimacs(file);
      gas::JsonWriter graph_entry;
      graph_entry.add("nodes", data.num_nodes()).add("edges", data.num_edges());
      for (std::int32_t k : {64, 1024}) {
        gas::partition::Partition p;
        const Case metis = run(gas::partition::Metis{.num_parts = k}, data.graph, p);
        gas_bench::Stopwatch watch;
        const auto permuted_edges = gas::partition::permute(data.graph, p).num_edges();
        const double permute_s = watch.seconds();
        const Case random = run(gas::partition::Random{.num_parts = k}, data.graph, p);
        const double ratio = random.cut > 0 ? metis.cut / random.cut : 0.0;
        std::printf("%-4s %5d | %8.3f %7.4f %6.3f %8.1f | %8.3f %7.4f %6.3f %8.1f | %9.4f | %9.3f\n", name, k,
                    metis.seconds, metis.cut, metis.imbalance, metis.peak_mib, random.seconds, random.cut,
                    random.imbalance, random.peak_mib, ratio, permute_s);
        std::fflush(stdout);
        gas::JsonWriter entry;
        entry.add_object("metis", to_json(metis)).add_object("random", to_json(random));
        entry.add("cut_ratio", ratio).add("permute_seconds", permute_s).add("permuted_edges", permuted_edges);
        graph_entry.add_object(std::to_string(k), entry);
      }
      report.add_object(name, graph_entry);
    }
    if (!json_path.empty()) report.save(json_path);
  } catch (const gas::error& e) {
    std::fprintf(stderr, "bench_partition: %s\n", e.what());
    return 1;
  }
  return 0;
}
