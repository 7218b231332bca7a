// Host op benchmark: spmm (sum, mean, max) and GCNConv forward + backward on the NE road graph, with 64
// and 256 features, in seconds and achieved GB/s, beside a memory-copy bandwidth measured in the same run.
//
//   bench_ops [DATA_DIR] [--json FILE] [--repeats N] [--layers L] [--spmm-only]   (DATA_DIR: ../shared/data)
//
// Bytes counted per spmm: the CSR arrays once (8 B offsets per row, 4 B ids and 4 B weights per entry), one
// gathered input row per entry (E x F x 4 B) and one output row per node (N x F x 4 B). This is the traffic
// of a perfect cache for the indices and none for the gathered rows, so it is the figure a bandwidth-bound
// kernel is judged by; GB/s above the copy bandwidth would mean the rows are served from cache. Only the spmm
// call is timed, not the copy of x into the tape.
//
// GCNII-style: L (default 64) spmm sum layers over one batch graph (50,000 nodes of NE) at 64 features, forward
// and backward (the backward of sum reads the graph's transposed index, which gas builds once per graph), beside
// the time of building that index once.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <gas/gas.hpp>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  std::filesystem::path dir = "../shared/data";
  std::string json_path;
  int repeats = 5;
  bool spmm_only = false;
  int layers = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (arg == "--repeats" && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--spmm-only") spmm_only = true;
    else if (arg == "--layers" && i + 1 < argc) layers = std::max(1, std::atoi(argv[++i]));
    else dir = arg;
  }
  try {
    const auto file = dir / "road" / "NE.gr.xz";
    const gas::Dataset data = gas::io::read_dimacs(file);
    const gas::Graph adj = gas::gcn_normalize(data.graph);
    const double copy = gas_bench::copy_gbs(repeats);
    std::printf("NE: %d nodes, %lld entries with self-loops; %d threads; median of %d\n", adj.rows(),
                static_cast<long long>(adj.num_edges()), omp_get_max_threads(), repeats);
    std::printf("memory copy: %.2f GB/s\n\n", copy);
    std::printf("%-22s %5s %10s %10s %9s\n", "op", "F", "seconds", "GB/s", "of copy");

    gas::JsonWriter report;
    report.add("nodes", adj.rows()).add("entries", adj.num_edges()).add("copy_gbs", copy);
    for (std::int64_t f : {64, 256}) {
      gas::Tensor<float> x(adj.rows(), f);
      gas::Rng rng(1);
      for (auto& v : x.values()) v = static_cast<float>(rng.uniform(-1, 1));
      const double csr_bytes = 8.0 * adj.rows() + 8.0 * static_cast<double>(adj.num_edges());
      const double spmm_bytes = csr_bytes + 4.0 * f * (static_cast<double>(adj.num_edges()) + adj.rows());
      gas::autograd::Tape<float> tape;
      auto time_spmm = [&](const char* name, auto aggregation) {
        using A = decltype(aggregation);
        // Only the spmm is timed: the copy of x into the tape moves 2 N F 4 bytes that spmm_bytes does not count.
        std::vector<double> t;
        for (int r = 0; r < repeats; ++r) {
          tape.reset();
          gas::autograd::NoGrad no_grad(tape);
          const auto in = tape.constant(x.view());
          gas_bench::Stopwatch watch;
          (void)gas::ops::spmm<A>(adj, in);
          t.push_back(watch.seconds());
        }
        const double s = gas_bench::median(std::move(t));
        const double gbs = spmm_bytes / s / 1e9;
        std::printf("%-22s %5lld %10.4f %10.2f %8.0f%%\n", name, static_cast<long long>(f), s, gbs, 100 * gbs / copy);
        gas::JsonWriter entry;
        entry.add("seconds", s).add("gbs", gbs).add("fraction_of_copy", gbs / copy);
        report.add_object(std::string(name) + "_" + std::to_string(f), entry);
      };
      time_spmm("spmm sum (weighted)", gas::ops::aggr::Sum{});
      time_spmm("spmm mean", gas::ops::aggr::Mean{});
      time_spmm("spmm max", gas::ops::aggr::Max{});
      if (spmm_only) continue;

      // GCNConv forward + backward, F -> F features: X W (gemm), A_hat (X W) (spmm), + b, then the backward
      // of all three; the constant copy of X into the tape is included, as a training step pays it too.
      gas::Rng init(1);
      gas::nn::GCNConv<float> conv(f, f, init);
      const double s = gas_bench::median_seconds(
          [&] {
            tape.reset();
            auto out = conv.forward(tape, tape.constant(x.view()), adj);
            tape.backward(gas::ops::sum_all(out));
          },
          repeats);
      // Traffic: forward spmm + backward spmm (the transpose) + the dense passes over (N, F) matrices
      // (X read twice, XW written and read, out written, gradients read/written: about 8 passes).
      // At 256 features the three (N x F) x (F x F) products (X W forward; dX and dW backward) dominate:
      // report their rate too, since there the conv is bound by arithmetic, not memory.
      const double bytes = 2 * spmm_bytes + 8.0 * 4.0 * f * adj.rows();
      const double gflops = 3 * 2.0 * adj.rows() * static_cast<double>(f) * static_cast<double>(f) / s / 1e9;
      std::printf("%-22s %5lld %10.4f %10.2f %8.0f%%   gemm %.1f GFLOP/s\n", "GCNConv fwd+bwd",
                  static_cast<long long>(f), s, bytes / s / 1e9, 100 * bytes / s / 1e9 / copy, gflops);
      gas::JsonWriter entry;
      entry.add("seconds", s).add("gbs", bytes / s / 1e9).add("gemm_gflops", gflops);
      report.add_object("gcnconv_" + std::to_string(f), entry);
    }
    if (!spmm_only) {
      // A GAS batch of 50,000 nodes (NE's first ones, GCN-normalized), so that L layers of values and gradients fit.
      std::vector<gas::node_id> first(50000);
      std::iota(first.begin(), first.end(), gas::node_id{0});
      const gas::Graph batch = gas::gcn_normalize(gas::induced_subgraph(data.graph, std::span<const gas::node_id>(first)));
      const std::int64_t f = 64;
      gas::Tensor<float> x(batch.rows(), f);
      gas::Rng rng(2);
      for (auto& v : x.values()) v = static_cast<float>(rng.uniform(-1, 1));
      gas::autograd::Parameter<float> p("x", x);
      gas::autograd::Tape<float> tape;
      const double s = gas_bench::median_seconds(
          [&] {
            tape.reset();
            auto h = tape.param(p);
            for (int l = 0; l < layers; ++l) h = gas::ops::spmm<gas::ops::aggr::Sum>(batch, h);
            tape.backward(gas::ops::sum_all(h));
          },
          repeats);
      std::vector<double> builds;
      for (int r = 0; r < repeats; ++r) {
        const gas::Graph fresh = batch;  // a copy starts without the index
        gas_bench::Stopwatch watch;
        (void)fresh.transposed_index();
        builds.push_back(watch.seconds());
      }
      const double build = gas_bench::median(std::move(builds));
      std::printf("\nGCNII-style: %d x spmm sum fwd+bwd on %d nodes (%lld entries), F = %lld: %.4f s, %.5f s per layer; "
                  "building the transposed index: %.5f s\n",
                  layers, batch.rows(), static_cast<long long>(batch.num_edges()), static_cast<long long>(f), s,
                  s / layers, build);
      gas::JsonWriter entry;
      entry.add("layers", layers).add("nodes", batch.rows()).add("seconds", s).add("seconds_per_layer", s / layers);
      entry.add("transpose_build_seconds", build);
      report.add_object("gcnii_style_64", entry);
    }
    if (!json_path.empty()) report.save(json_path);
  } catch (const gas::error& e) {
    std::fprintf(stderr, "bench_ops: %s\n", e.what());
    return 1;
  }
  return 0;
}
