// Road-graph I/O benchmark: read (xz + parse + CSR), symmetrize, GCN-normalize each DIMACS road graph.
//
//   bench_road_io [DATA_DIR] [--json FILE]     (DATA_DIR defaults to ../shared/data)
//
// For each of NY, FLA, NE: seconds per stage and the peak resident memory of the whole pipeline.
// Each stage runs 3 times; the median is reported, since this machine is shared and noisy.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gas/gas.hpp>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  std::filesystem::path dir = "../shared/data";
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc) json_path = argv[++i];
    else dir = arg;
  }
  gas::JsonWriter report;
  std::printf("%-4s %9s %9s %8s %8s %8s %8s %9s\n", "", "nodes", "edges", "read_s", "sym_s", "norm_s", "total_s",
              "peak_MiB");
  try {
    for (const char* name : {"NY", "FLA", "NE"}) {
      const auto file = dir / "road" / (std::string(name) + ".gr.xz");
      if (!std::filesystem::exists(file)) {
        std::printf("%-4s skipped: %s is absent\n", name, file.string().c_str());
        continue;
      }
      gas_bench::reset_peak_rss();
      gas::Dataset data;
      gas::Graph sym, norm;
      const double read_s = gas_bench::median_seconds([&] { data = gas::io::read_dimacs(file, {.symmetrize = false}); });
      const double sym_s = gas_bench::median_seconds([&] { sym = gas::symmetrize(data.graph); });
      const double norm_s = gas_bench::median_seconds([&] { norm = gas::gcn_normalize(sym); });
      const double peak = gas_bench::peak_rss_mib();
      std::printf("%-4s %9d %9lld %8.3f %8.3f %8.3f %8.3f %9.1f\n", name, sym.rows(),
                  static_cast<long long>(sym.num_edges()), read_s, sym_s, norm_s, read_s + sym_s + norm_s, peak);
      gas::JsonWriter entry;
      entry.add("nodes", sym.rows()).add("edges", sym.num_edges()).add("read_seconds", read_s);
      entry.add("symmetrise_seconds", sym_s).add("normalise_seconds", norm_s).add("peak_rss_mib", peak);
      report.add_object(name, entry);
    }
    if (!json_path.empty()) report.save(json_path);
  } catch (const gas::error& e) {
    std::fprintf(stderr, "bench_road_io: %s\n", e.what());
    return 1;
  }
  return 0;
}
