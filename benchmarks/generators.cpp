// Times the two built-in generators at the sizes the docs quote: an SBM with a million nodes and average
// degree 10 (about 10 million directed edges, 64 features) and an R-MAT graph of scale 20 with 5 million
// undirected edges. Prints seconds, directed edges and the thread count for each.
//
// Usage: bench_generators [repeats]   (default 3; the best time is reported)

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gas/gen/rmat.hpp"
#include "gas/gen/sbm.hpp"

namespace {

template <class Make>
void time_it(const char* label, int repeats, Make make) {
  double best = 1e300;
  std::int64_t nodes = 0, edges = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const gas::Dataset data = make();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::min(best, seconds);
    nodes = data.num_nodes();
    edges = data.num_edges();
  }
  std::printf("%-34s %10lld nodes %11lld directed edges %8.3f s  (%.1f M edges/s, %d threads)\n", label,
              static_cast<long long>(nodes), static_cast<long long>(edges), best, static_cast<double>(edges) / best / 1e6,
              omp_get_max_threads());
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  time_it("sbm nodes=1000000 degree=10", repeats,
          [] { return gas::gen::sbm({.nodes = 1000000, .degree = 10, .seed = 1}); });
  time_it("sbm nodes=1000000 degree=10 f=0", repeats,
          [] { return gas::gen::sbm({.nodes = 1000000, .features = 0, .degree = 10, .seed = 1}); });
  time_it("rmat scale=20 edges=5000000", repeats,
          [] { return gas::gen::rmat({.scale = 20, .edges = 5000000, .seed = 1}); });
  return 0;
}
