// GPU spmm benchmark (issue 6): gas::cuda::spmm_forward for sum (weighted), mean and max against cuSPARSE SpMM on
// the same CSR matrix and features, beside the device's copy bandwidth measured in the same run.
//
//   bench_cuda_spmm [--graph SPEC] [--features 128,256] [--repeats 10] [--warmup 3] [--device 0] [--json FILE]
//
// Graph. The default, `--graph sbm`, is gas::gen::sbm with nodes=2449029, degree=25.26, 8 classes, homophily 0.8,
// seed 1: 2,449,029 nodes and 61,860,774 directed entries after symmetrizing (ogbn-products' 2,449,029 nodes and
// 61,859,140 entries), then gcn_normalize adds a self-loop per node: 64,309,803 stored, weighted entries. Rows are
// short and even (at most 54 entries with the loop). `--graph rmat` is gas::gen::rmat with scale=21, edges=32700000
// (a=0.57, b=c=0.19), seed 1: 2,097,152 nodes of which 859,233 are isolated, 61,979,462 directed entries and
// 64,076,614 after normalizing, with hub rows of up to 101,236 entries: the skew that one thread group per row
// (kernels/spmm.cuh) is weakest at. (Figures from the host generators; the benchmark prints its own.)
// `--graph sbm:KEY=VALUE,...` and `--graph rmat:KEY=VALUE,...` take the generators' own keys (sbm's features are
// ignored: the benchmark draws its features on the device), e.g. `--graph sbm:nodes=100000,degree=10` for a quick
// run.
//
// Timing. Every case runs `--warmup` times, then `--repeats` times between two timing events on one stream; the
// median (and minimum) of the repeats is reported. cuSPARSE's one-off work per matrix (handle, descriptors,
// workspace, cusparseSpMM_preprocess) is outside the timed region, as our DeviceCsr upload is.
//
// Bytes counted per spmm, as benchmarks/ops.cpp counts them on the host: the CSR arrays once (8 B offset per row,
// 4 B column id and 4 B weight per entry), one gathered input row per entry (E x F x 4 B) and one output row per
// node (N x F x 4 B); `max + arg` also writes the (N x F) int32 argument array. One model for every case (mean and
// max skip the weights, cuSPARSE reads 4 B offsets: under 1 % of the bytes at F >= 128), so GB/s compare as times
// do. It is the traffic of a perfect cache for the CSR arrays and of none for the gathered rows: GB/s above the
// copy bandwidth mean that rows are served from L2. Copy bandwidth is a 1 GiB cudaMemcpyAsync device to device,
// read + write bytes.
//
// Correctness. At every F, our weighted sum is compared with the output of every cuSPARSE algorithm that ran: for
// each element, |ours - cuSPARSE| / sum_e |w_e x_e| must stay within 2 gamma_(deg + 1), gamma_k = k u / (1 - k u)
// with u = 2^-24: the bound of two fp32 summations of the row's products in any order or tree. The worst relative
// error and its fraction of the bound are printed; a failure makes the exit status 1.
//
// Exit status: 0 done, 1 a CUDA or cuSPARSE failure or a wrong result, 2 a bad flag, 77 no GPU (skipped).

#include <cuda_runtime.h>
#include <cusparse.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/core/json_writer.hpp>
#include <gas/core/rng.hpp>
#include <gas/cuda/arena.hpp>
#include <gas/cuda/device.hpp>
#include <gas/cuda/device_buffer.hpp>
#include <gas/cuda/device_csr.hpp>
#include <gas/cuda/error.hpp>
#include <gas/cuda/event.hpp>
#include <gas/cuda/kernels/common.cuh>
#include <gas/cuda/kernels/launch.hpp>
#include <gas/cuda/kernels/spmm.cuh>
#include <gas/cuda/stream.hpp>
#include <gas/gen/rmat.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/graph/transforms.hpp>

#include "bench_util.hpp"

namespace gas_bench {

[[noreturn]] inline void throw_cusparse_error(cusparseStatus_t status, const char* call, const char* file, int line) {
  throw gas::cuda_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                        cusparseGetErrorName(status) + " (" + cusparseGetErrorString(status) + ")");
}

}  // namespace gas_bench

/// @brief Wraps a cuSPARSE call; throws gas::cuda_error with the call text, location and status on failure.
#define GAS_CUSPARSE_CHECK(call)                                                                 \
  do {                                                                                           \
    const cusparseStatus_t gas_cusparse_status_ = (call);                                        \
    if (gas_cusparse_status_ != CUSPARSE_STATUS_SUCCESS)                                         \
      ::gas_bench::throw_cusparse_error(gas_cusparse_status_, #call, __FILE__, __LINE__);        \
  } while (false)

namespace {

using gas::node_id;
using gas::ops::aggr::Reduction;

constexpr const char* program = "bench_cuda_spmm";
constexpr const char* usage =
    "usage: bench_cuda_spmm [--graph sbm|rmat|sbm:KEY=VALUE,...|rmat:KEY=VALUE,...] [--features F1,F2,...]\n"
    "                       [--repeats N] [--warmup N] [--device ID] [--json FILE]\n"
    "defaults: --graph sbm (2,449,029 nodes, degree 25.26) --features 128,256 --repeats 10 --warmup 3 --device 0\n";

// ---------------------------------------------------------------------------------------------------------------
// Flags

using GraphSpec = std::variant<gas::gen::SbmConfig, gas::gen::RmatConfig>;

struct Options {
  GraphSpec graph = gas::gen::SbmConfig{.nodes = 2449029, .classes = 8, .features = 0, .degree = 25.26, .seed = 1};
  std::string graph_text = "sbm";
  std::vector<std::int64_t> features{128, 256};
  int repeats = 10;
  int warmup = 3;
  int device = 0;
  std::string json;
  bool help = false;
};

std::int64_t parse_int(std::string_view flag, std::string_view text, std::int64_t low, std::int64_t high) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < low || value > high)
    throw gas::config_error(std::string(flag) + ": '" + std::string(text) + "' is not an integer in [" +
                            std::to_string(low) + ", " + std::to_string(high) + "]");
  return value;
}

GraphSpec parse_graph(std::string_view text) {
  if (text == "sbm") return Options{}.graph;
  if (text == "rmat") return gas::gen::RmatConfig{.scale = 21, .edges = 32700000, .seed = 1};
  try {
    if (text.starts_with("sbm:")) {
      gas::gen::SbmConfig config = gas::gen::parse_sbm(text.substr(4));
      config.features = 0;  // the benchmark draws its own features on the device
      return config;
    }
    if (text.starts_with("rmat:")) return gas::gen::parse_rmat(text.substr(5));
  } catch (const gas::config_error& e) {
    throw gas::config_error("--graph: " + std::string(e.what()));
  }
  throw gas::config_error("--graph: '" + std::string(text) +
                          "' is none of sbm, rmat, sbm:KEY=VALUE,..., rmat:KEY=VALUE,...");
}

std::vector<std::int64_t> parse_features(std::string_view text) {
  std::vector<std::int64_t> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    out.push_back(parse_int("--features", text.substr(start, comma - start), 1, 65536));
    start = comma + 1;
  }
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      o.help = true;
      continue;
    }
    const bool takes_value = flag == "--graph" || flag == "--features" || flag == "--repeats" ||
                             flag == "--warmup" || flag == "--device" || flag == "--json";
    if (!takes_value) throw gas::config_error("unknown flag '" + std::string(flag) + "'");
    if (i + 1 >= argc) throw gas::config_error(std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    if (flag == "--graph") {
      o.graph = parse_graph(value);
      o.graph_text = value;
    } else if (flag == "--features") {
      o.features = parse_features(value);
    } else if (flag == "--repeats") {
      o.repeats = static_cast<int>(parse_int(flag, value, 1, 100000));
    } else if (flag == "--warmup") {
      o.warmup = static_cast<int>(parse_int(flag, value, 0, 100000));
    } else if (flag == "--device") {
      o.device = static_cast<int>(parse_int(flag, value, 0, 1023));
    } else {
      if (value.empty()) throw gas::config_error("--json needs a file name");
      o.json = value;
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// cuSPARSE handles, owned

struct CusparseDeleter {
  void operator()(cusparseHandle_t handle) const noexcept { (void)cusparseDestroy(handle); }
  void operator()(cusparseConstSpMatDescr_t matrix) const noexcept { (void)cusparseDestroySpMat(matrix); }
  void operator()(cusparseConstDnMatDescr_t matrix) const noexcept { (void)cusparseDestroyDnMat(matrix); }
};
template <class Descriptor>
using Owned = std::unique_ptr<Descriptor, CusparseDeleter>;

/// @brief Whether a cuSPARSE status means "this algorithm does not take these operands" (for optional cases),
/// rather than a failure; anything else that is not success throws.
bool supported(cusparseStatus_t status, bool required, const char* call, std::string& why) {
  if (status == CUSPARSE_STATUS_SUCCESS) return true;
  const bool refusal = status == CUSPARSE_STATUS_NOT_SUPPORTED || status == CUSPARSE_STATUS_INVALID_VALUE;
  if (required || !refusal) gas_bench::throw_cusparse_error(status, call, __FILE__, __LINE__);
  why = std::string(call) + ": " + cusparseGetErrorName(status);
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Device helpers

constexpr unsigned stride_blocks = 4096;  // grid of the grid-stride kernels below: plenty to fill any current GPU

// x (n) = uniform [-1, 1) from gas's counter hash, so features cost no host time or PCIe traffic.
__global__ void fill_uniform(float* __restrict__ x, std::int64_t n, std::uint64_t seed) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = gas::cuda::kernels::global_thread(); i < n; i += stride) {
    const std::uint64_t bits = gas::counter_hash(seed, 0, static_cast<std::uint64_t>(i));
    x[i] = static_cast<float>(bits >> 40) * 0x1p-23f - 1.0f;  // 24 random bits
  }
}

// stats[0] = max |ours - ref| / sum_e |w_e x_e| (float bits), stats[1] = that over its bound 2 gamma_(deg + 1)
// (float bits), stats[2] = elements that are not finite or differ where every term is 0. ours, ref (rows, width).
__global__ void compare_sum(gas::cuda::DeviceCsrView adj, const float* __restrict__ x, const float* __restrict__ ours,
                            const float* __restrict__ ref, std::int64_t width, unsigned* __restrict__ stats) {
  float worst_rel = 0.0f, worst_fraction = 0.0f;
  unsigned bad = 0;
  const std::int64_t total = adj.rows * width;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = gas::cuda::kernels::global_thread(); i < total; i += stride) {
    const std::int64_t row = i / width, f = i % width;
    const std::int64_t begin = adj.indptr[row], end = adj.indptr[row + 1];
    double magnitude = 0.0;
    for (std::int64_t e = begin; e < end; ++e)
      magnitude += fabs(static_cast<double>(adj.weights[e]) *
                        static_cast<double>(x[static_cast<std::int64_t>(adj.indices[e]) * width + f]));
    const float a = ours[i], b = ref[i];
    if (!(fabsf(a) <= FLT_MAX) || !(fabsf(b) <= FLT_MAX)) {  // NaN or infinity
      ++bad;
      continue;
    }
    const double diff = fabs(static_cast<double>(a) - static_cast<double>(b));
    if (diff == 0.0) continue;
    if (magnitude == 0.0) {
      ++bad;
      continue;
    }
    const double rel = diff / magnitude;
    const double ku = static_cast<double>(end - begin + 1) * 0x1p-24;
    const double bound = ku < 1.0 ? 2.0 * ku / (1.0 - ku) : HUGE_VAL;  // 2^24 terms or more: fp32 bounds nothing
    worst_rel = fmaxf(worst_rel, static_cast<float>(rel));
    worst_fraction = fmaxf(worst_fraction, static_cast<float>(rel / bound));
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    worst_rel = fmaxf(worst_rel, __shfl_xor_sync(0xffffffffu, worst_rel, offset));
    worst_fraction = fmaxf(worst_fraction, __shfl_xor_sync(0xffffffffu, worst_fraction, offset));
    bad += __shfl_xor_sync(0xffffffffu, bad, offset);
  }
  if (threadIdx.x % 32 == 0) {
    // Non-negative floats order as their bit patterns do.
    atomicMax(&stats[0], __float_as_uint(worst_rel));
    atomicMax(&stats[1], __float_as_uint(worst_fraction));
    atomicAdd(&stats[2], bad);
  }
}

struct Check {
  bool ran = false;
  float max_rel = 0.0f;        ///< max |ours - ref| / sum |w x|
  float bound_fraction = 0.0f;  ///< max of that over its per-row bound; must stay <= 1
  unsigned bad = 0;             ///< non-finite or unexplained elements
  [[nodiscard]] bool ok() const { return !ran || (bad == 0 && bound_fraction <= 1.0f); }
};

Check compare(const gas::cuda::DeviceCsrView& adj, const float* x, const float* ours, const float* ref,
              std::int64_t width, cudaStream_t stream) {
  gas::cuda::DeviceBuffer<unsigned> stats(3, stream);
  stats.fill_zero();
  compare_sum<<<stride_blocks, gas::cuda::block_threads, 0, stream>>>(adj, x, ours, ref, width, stats.data());
  GAS_CUDA_CHECK_LAUNCH();
  const std::vector<unsigned> host = stats.to_host();
  Check c;
  c.ran = true;
  c.max_rel = std::bit_cast<float>(host[0]);
  c.bound_fraction = std::bit_cast<float>(host[1]);
  c.bad = host[2];
  return c;
}

/// @brief Median and minimum milliseconds of `repeats` runs of `run` on `stream`, after `warmup` untimed runs.
struct Timing {
  double ms = 0.0;
  double ms_min = 0.0;
};

template <class Run>
Timing time_ms(cudaStream_t stream, const Options& o, Run&& run) {
  for (int i = 0; i < o.warmup; ++i) run();
  gas::cuda::Event start(gas::cuda::EventOptions{.timing = true}), stop(gas::cuda::EventOptions{.timing = true});
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(o.repeats));
  for (int i = 0; i < o.repeats; ++i) {
    start.record(stream);
    run();
    stop.record(stream);
    samples.push_back(gas::cuda::elapsed_ms(start, stop));
  }
  return {gas_bench::median(samples), *std::min_element(samples.begin(), samples.end())};
}

// ---------------------------------------------------------------------------------------------------------------
// Results

struct Result {
  std::string key;    // JSON name, suffixed with _F
  std::string label;  // table name
  bool supported = true;
  std::string why_not;  // when not supported
  Timing time;
  double bytes = 0.0;
  std::size_t workspace = 0;  // cuSPARSE's external buffer, bytes
  Check check;
};

struct CusparseCase {
  const char* key;
  const char* label;
  cusparseSpMMAlg_t alg;
  bool required;    // the default must run; the others may refuse row-major operands
  bool preprocess;  // cuSPARSE documents cusparseSpMM_preprocess as useful for CSR_ALG1 and CSR_ALG3 only
};

constexpr CusparseCase cusparse_cases[] = {
    {"cusparse_default", "cuSPARSE ALG_DEFAULT", CUSPARSE_SPMM_ALG_DEFAULT, true, false},
    {"cusparse_csr_alg1", "cuSPARSE CSR_ALG1", CUSPARSE_SPMM_CSR_ALG1, false, true},
    {"cusparse_csr_alg2", "cuSPARSE CSR_ALG2", CUSPARSE_SPMM_CSR_ALG2, false, false},
    {"cusparse_csr_alg3", "cuSPARSE CSR_ALG3", CUSPARSE_SPMM_CSR_ALG3, false, true},
};

double gbs(const Result& r) { return r.bytes / r.time.ms / 1e6; }

// ---------------------------------------------------------------------------------------------------------------

gas::Graph make_graph(const Options& o, std::string& name) {
  gas::Dataset data = std::visit(
      [](const auto& config) {
        if constexpr (std::is_same_v<std::decay_t<decltype(config)>, gas::gen::SbmConfig>) return gas::gen::sbm(config);
        else return gas::gen::rmat(config);
      },
      o.graph);
  char text[256];
  if (const auto* s = std::get_if<gas::gen::SbmConfig>(&o.graph))
    std::snprintf(text, sizeof text, "sbm nodes=%lld degree=%g classes=%d homophily=%g seed=%llu",
                  static_cast<long long>(s->nodes), s->degree, s->classes, s->homophily,
                  static_cast<unsigned long long>(s->seed));
  else if (const auto* r = std::get_if<gas::gen::RmatConfig>(&o.graph))
    std::snprintf(text, sizeof text, "rmat scale=%d edges=%lld a=%g b=%g c=%g seed=%llu", r->scale,
                  static_cast<long long>(r->edges), r->a, r->b, r->c, static_cast<unsigned long long>(r->seed));
  name = text;
  name += " (" + std::to_string(data.graph.num_edges()) + " directed entries)";
  return gas::gcn_normalize(data.graph);
}

double copy_gbs(cudaStream_t stream, const Options& o) {
  constexpr std::size_t bytes = std::size_t{1} << 30;
  gas::cuda::DeviceBuffer<std::byte> src(bytes, stream), dst(bytes, stream);
  src.fill_zero();
  const Timing t = time_ms(stream, o, [&] {
    GAS_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, stream));
  });
  return 2.0 * static_cast<double>(bytes) / t.ms / 1e6;
}

void print_row(const Result& r, std::int64_t f, double copy, double best_cusparse_ms) {
  if (!r.supported) {
    std::printf("%-22s %5lld   not run: %s\n", r.label.c_str(), static_cast<long long>(f), r.why_not.c_str());
    return;
  }
  std::printf("%-22s %5lld %10.3f %10.3f %9.1f %7.1f%%", r.label.c_str(), static_cast<long long>(f), r.time.ms,
              r.time.ms_min, gbs(r), 100.0 * gbs(r) / copy);
  if (best_cusparse_ms > 0) std::printf(" %9.2fx", r.time.ms / best_cusparse_ms);
  std::printf("\n");
}

int run(const Options& o) {
  // No GPU is a skip, not a failure: CI and the development machines build this without one.
  int count = 0;
  if (const cudaError_t status = cudaGetDeviceCount(&count); status != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    std::printf("%s: skipped: no CUDA device (cudaGetDeviceCount: %s, %d devices)\n", program,
                status == cudaSuccess ? "cudaSuccess" : cudaGetErrorName(status), count);
    return 77;
  }
  if (o.device >= count)
    throw gas::config_error("--device: " + std::to_string(o.device) + " but this machine has " +
                            std::to_string(count) + " CUDA device(s)");
  gas::cuda::set_device(o.device);
  cudaDeviceProp prop{};
  GAS_CUDA_CHECK(cudaGetDeviceProperties(&prop, o.device));
  int memory_khz = 0, bus_bits = 0;
  GAS_CUDA_CHECK(cudaDeviceGetAttribute(&memory_khz, cudaDevAttrMemoryClockRate, o.device));
  GAS_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, o.device));
  const double peak_gbs = 2.0 * memory_khz * 1e3 * (bus_bits / 8.0) / 1e9;  // double data rate
  int cusparse_version = 0;
  {
    int major = 0, minor = 0, patch = 0;
    GAS_CUSPARSE_CHECK(cusparseGetProperty(MAJOR_VERSION, &major));
    GAS_CUSPARSE_CHECK(cusparseGetProperty(MINOR_VERSION, &minor));
    GAS_CUSPARSE_CHECK(cusparseGetProperty(PATCH_LEVEL, &patch));
    cusparse_version = major * 1000 + minor * 100 + patch;
  }

  gas_bench::Stopwatch watch;
  std::string graph_name;
  const gas::Graph adj = make_graph(o, graph_name);
  const double build_s = watch.seconds();
  GAS_CHECK(adj.has_weights(), gas::value_error, "gcn_normalize gave an unweighted graph");
  GAS_CHECK(adj.num_edges() <= std::numeric_limits<std::int32_t>::max(), gas::value_error,
            adj.num_edges() << " entries do not fit cuSPARSE's 32-bit offsets");
  const std::int64_t n = adj.rows(), nnz = adj.num_edges();
  std::int64_t max_row = 0;
  const auto indptr = adj.indptr();
  for (std::size_t r = 0; r + 1 < indptr.size(); ++r) max_row = std::max(max_row, indptr[r + 1] - indptr[r]);

  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  const gas::cuda::DeviceCsr csr(adj, s, /*with_transpose=*/false);  // forward only
  const gas::cuda::DeviceCsrView view = csr.view();
  gas::cuda::DeviceBuffer<std::int32_t> offsets32(static_cast<std::size_t>(n) + 1, s);
  {
    std::vector<std::int32_t> host(indptr.begin(), indptr.end());
    offsets32.copy_from(host);  // pageable: staged before the call returns
  }

  Owned<cusparseContext> handle;
  {
    cusparseHandle_t raw = nullptr;
    GAS_CUSPARSE_CHECK(cusparseCreate(&raw));
    handle.reset(raw);
  }
  GAS_CUSPARSE_CHECK(cusparseSetStream(handle.get(), s));
  Owned<const cusparseSpMatDescr> a;
  {
    cusparseConstSpMatDescr_t raw = nullptr;
    GAS_CUSPARSE_CHECK(cusparseCreateConstCsr(&raw, n, n, nnz, offsets32.data(), view.indices, view.weights,
                                              CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO,
                                              CUDA_R_32F));
    a.reset(raw);
  }

  const double copy = copy_gbs(s, o);
  std::printf("GPU %d: %s (sm_%d%d, %d SMs, %.1f GiB, peak %.0f GB/s); cuSPARSE %d\n", o.device, prop.name,
              prop.major, prop.minor, prop.multiProcessorCount,
              static_cast<double>(prop.totalGlobalMem) / (1 << 30), peak_gbs, cusparse_version);
  std::printf("graph: %s, GCN-normalized: %lld nodes, %lld stored entries (longest row %lld); built in %.1f s\n",
              graph_name.c_str(), static_cast<long long>(n), static_cast<long long>(nnz),
              static_cast<long long>(max_row), build_s);
  std::printf("device copy: %.1f GB/s (1 GiB, read + write); median of %d after %d warm-up runs\n\n", copy,
              o.repeats, o.warmup);
  std::printf("GB/s: bytes of the model in benchmarks/cuda_spmm.cu over the median; last column: median time over the\n"
              "best cuSPARSE algorithm's at the same F (below 1: faster than cuSPARSE)\n\n");
  std::printf("%-22s %5s %10s %10s %9s %8s %10s\n", "case", "F", "median ms", "min ms", "GB/s", "of copy",
              "/ cuSPARSE");

  gas::JsonWriter report;
  report.add("gpu", std::string_view(prop.name))
      .add("compute_capability", prop.major * 10 + prop.minor)
      .add("sm_count", prop.multiProcessorCount)
      .add("memory_bytes", static_cast<std::int64_t>(prop.totalGlobalMem))
      .add("peak_gbs", peak_gbs)
      .add("cusparse_version", cusparse_version)
      .add("graph_flag", std::string_view(o.graph_text))
      .add("graph", std::string_view(graph_name))
      .add("nodes", n)
      .add("entries", nnz)
      .add("longest_row", max_row)
      .add("repeats", o.repeats)
      .add("warmup", o.warmup)
      .add("copy_gbs", copy);

  bool all_ok = true;
  const float alpha = 1.0f, beta = 0.0f;
  for (const std::int64_t f : o.features) {
    const auto elements = static_cast<std::size_t>(n * f);
    const double csr_bytes = 8.0 * static_cast<double>(n) + 8.0 * static_cast<double>(nnz);
    const double spmm_bytes = csr_bytes + 4.0 * static_cast<double>(f) * static_cast<double>(nnz + n);
    std::vector<Result> results;
    {
      gas::cuda::DeviceBuffer<float> x(elements, s), y_sum(elements, s), y(elements, s), y_ref(elements, s);
      gas::cuda::DeviceBuffer<node_id> arg(elements, s);
      fill_uniform<<<stride_blocks, gas::cuda::block_threads, 0, s>>>(x.data(), static_cast<std::int64_t>(elements),
                                                                      static_cast<std::uint64_t>(f));
      GAS_CUDA_CHECK_LAUNCH();

      auto ours = [&](const char* key, const char* label, auto run_once, double bytes) {
        Result r;
        r.key = key;
        r.label = label;
        r.bytes = bytes;
        r.time = time_ms(s, o, run_once);
        results.push_back(std::move(r));
      };
      ours("gas_sum", "gas sum (weighted)", [&] {
        gas::cuda::spmm_forward<Reduction::sum>(view, x.data(), n, f, y_sum.data(), nullptr, s);
      }, spmm_bytes);
      ours("gas_mean", "gas mean", [&] {
        gas::cuda::spmm_forward<Reduction::mean>(view, x.data(), n, f, y.data(), nullptr, s);
      }, spmm_bytes);
      ours("gas_max", "gas max", [&] {
        gas::cuda::spmm_forward<Reduction::max>(view, x.data(), n, f, y.data(), nullptr, s);
      }, spmm_bytes);
      ours("gas_max_arg", "gas max + arg", [&] {
        gas::cuda::spmm_forward<Reduction::max>(view, x.data(), n, f, y.data(), arg.data(), s);
      }, spmm_bytes + 4.0 * static_cast<double>(n) * static_cast<double>(f));

      // The timed runs above left y_sum holding our weighted sum of x, which every cuSPARSE result is checked against.
      Owned<const cusparseDnMatDescr> b;
      Owned<cusparseDnMatDescr> c;
      {
        cusparseConstDnMatDescr_t raw_b = nullptr;
        cusparseDnMatDescr_t raw_c = nullptr;
        GAS_CUSPARSE_CHECK(cusparseCreateConstDnMat(&raw_b, n, f, f, x.data(), CUDA_R_32F, CUSPARSE_ORDER_ROW));
        b.reset(raw_b);
        GAS_CUSPARSE_CHECK(cusparseCreateDnMat(&raw_c, n, f, f, y_ref.data(), CUDA_R_32F, CUSPARSE_ORDER_ROW));
        c.reset(raw_c);
      }
      for (const CusparseCase& k : cusparse_cases) {
        Result r;
        r.key = k.key;
        r.label = k.label;
        r.bytes = spmm_bytes;
        constexpr auto op = CUSPARSE_OPERATION_NON_TRANSPOSE;
        const auto accepted = [&](cusparseStatus_t status, const char* call) {
          return supported(status, k.required, call, r.why_not);
        };
        std::size_t size = 0;
        r.supported = accepted(cusparseSpMM_bufferSize(handle.get(), op, op, &alpha, a.get(), b.get(), &beta,
                                                       c.get(), CUDA_R_32F, k.alg, &size),
                               "cusparseSpMM_bufferSize");
        r.workspace = r.supported ? size : 0;
        gas::cuda::DeviceBuffer<std::byte> workspace(r.workspace, s);  // null for 0 bytes, as cuSPARSE accepts
        if (r.supported && k.preprocess)
          r.supported = accepted(cusparseSpMM_preprocess(handle.get(), op, op, &alpha, a.get(), b.get(), &beta,
                                                         c.get(), CUDA_R_32F, k.alg, workspace.data()),
                                 "cusparseSpMM_preprocess");
        if (r.supported) {
          y_ref.fill_zero();  // a result left by the previous algorithm must not pass for this one's
          r.supported = accepted(cusparseSpMM(handle.get(), op, op, &alpha, a.get(), b.get(), &beta, c.get(),
                                              CUDA_R_32F, k.alg, workspace.data()),
                                 "cusparseSpMM");
        }
        if (r.supported) {
          r.check = compare(view, x.data(), y_sum.data(), y_ref.data(), f, s);
          r.time = time_ms(s, o, [&] {
            GAS_CUSPARSE_CHECK(cusparseSpMM(handle.get(), op, op, &alpha, a.get(), b.get(), &beta, c.get(),
                                            CUDA_R_32F, k.alg, workspace.data()));
          });
        }
        results.push_back(std::move(r));
      }
      stream.synchronize();
    }
    gas::cuda::default_arena().release_cached();  // this F's buffers go back to the driver before the next F's

    double best_ms = 0.0, default_ms = 0.0, sum_ms = 0.0;
    std::string best_label;
    for (const Result& r : results) {
      if (r.key == "gas_sum") sum_ms = r.time.ms;
      if (!r.supported || !r.key.starts_with("cusparse")) continue;
      if (r.key == "cusparse_default") default_ms = r.time.ms;
      if (best_ms == 0.0 || r.time.ms < best_ms) {
        best_ms = r.time.ms;
        best_label = r.label;
      }
    }
    for (const Result& r : results) {
      print_row(r, f, copy, best_ms);
      gas::JsonWriter entry;
      entry.add("supported", r.supported);
      if (!r.supported) {
        entry.add("why_not", std::string_view(r.why_not));
      } else {
        entry.add("ms", r.time.ms)
            .add("ms_min", r.time.ms_min)
            .add("bytes", r.bytes)
            .add("gbs", gbs(r))
            .add("fraction_of_copy", gbs(r) / copy)
            .add("ratio_to_best_cusparse", r.time.ms / best_ms);
        if (r.key.starts_with("cusparse")) entry.add("workspace_bytes", static_cast<std::int64_t>(r.workspace));
        if (r.check.ran)
          entry.add("check_max_rel_err", r.check.max_rel)
              .add("check_bound_fraction", r.check.bound_fraction)
              .add("check_bad_elements", static_cast<std::int64_t>(r.check.bad))
              .add("check_ok", r.check.ok());
      }
      report.add_object(r.key + "_" + std::to_string(f), entry);
    }
    std::printf("F=%lld: gas sum / cuSPARSE default = %.2f, / best cuSPARSE (%s) = %.2f\n", static_cast<long long>(f),
                sum_ms / default_ms, best_label.c_str(), sum_ms / best_ms);
    for (const Result& r : results) {
      if (!r.check.ran) continue;
      std::printf("F=%lld check gas sum vs %s: max relative error %.3g (%.3f of the fp32 bound), %u bad elements: %s\n",
                  static_cast<long long>(f), r.label.c_str(), static_cast<double>(r.check.max_rel),
                  static_cast<double>(r.check.bound_fraction), r.check.bad, r.check.ok() ? "ok" : "WRONG");
      all_ok = all_ok && r.check.ok();
    }
    report.add("gas_sum_over_cusparse_default_" + std::to_string(f), sum_ms / default_ms)
        .add("gas_sum_over_best_cusparse_" + std::to_string(f), sum_ms / best_ms);
    std::printf("\n");
  }
  report.add("checks_ok", all_ok);
  if (!o.json.empty()) report.save(o.json);
  if (!all_ok) {
    std::fprintf(stderr, "%s: gas sum and cuSPARSE disagree beyond fp32 reordering (see the checks above)\n", program);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "%s: %s\n%s", program, e.what(), usage);
    return 2;
  }
  if (options.help) {
    std::printf("%s", usage);
    return 0;
  }
  try {
    return run(options);
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}
