#pragma once
// Shared helpers for benchmark programs: wall time and peak resident memory.

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>
#include <cstdint>
#include <fstream>
#include <string>

namespace gas_bench {

/// Seconds since construction, on the steady clock.
class Stopwatch {
public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  void restart() { start_ = std::chrono::steady_clock::now(); }

private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// Median of the values (the upper one of the middle two for an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// Median wall time of `repeats` runs of `run`: the machines are shared, so one run proves little.
template <class F>
double median_seconds(F&& run, int repeats = 3) {
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    Stopwatch watch;
    run();
    t.push_back(watch.seconds());
  }
  return median(std::move(t));
}

/// Copy bandwidth (read + write bytes per second, in GB/s) of buffers far larger than the caches, with all
/// OpenMP threads: the yardstick that bandwidth-bound kernels are reported against in the same run.
inline double copy_gbs(int repeats) {
  const std::size_t n = std::size_t{1} << 27;  // 512 MiB of floats per buffer
  std::vector<float> a(n, 1.0f), b(n, 0.0f);
  const double s = median_seconds(
      [&] {
#pragma omp parallel for schedule(static)
        for (std::size_t i = 0; i < n; i += 4096) std::memcpy(b.data() + i, a.data() + i, 4096 * sizeof(float));
      },
      repeats);
  return 2.0 * static_cast<double>(n * sizeof(float)) / s / 1e9;
}

/// Peak resident set size of this process in MiB (VmHWM), or -1 where /proc is unavailable.
inline double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1.0;
}

/// Resets the peak RSS to the current RSS (Linux: writing 5 to clear_refs), so each case reports its own peak.
inline void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

}  // namespace gas_bench
