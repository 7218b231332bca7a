// Issue 17's side-by-side benchmark: every primitive the device backend now takes from CCCL or cuBLAS against the
// hand-written kernel it replaced (kept below, in this file only, for the comparison).
//
//   bench_cuda_ops [--sizes 10000,1000000,100000000] [--repeats 10] [--warmup 3] [--device 0] [--json FILE] [--small]
//
// Cases, each at every size n (elements of float):
//   axpy      y += a x                 old: for_each_element (a grid-stride kernel, at most 65,536 blocks)
//                                       new: cub::DeviceFor::Bulk with the same functor (detail::launch_elementwise)
//   relu      y = max(x, 0)            old: unary_forward kernel       new: DeviceFor::Bulk, UnaryForward functor
//   adam      one Adam step (p, g, m, v) old: adam_update kernel      new: DeviceFor::Bulk, AdamUpdate functor
//   sum       total of x in double     old: total_partials + total_finish (grid from n alone, fixed trees)
//                                       new: cub::DeviceReduce::TransformReduce (cuda::total_sum)
//   first     first x <= 0 (none)      old: warp minima + atomicMin   new: DeviceReduce minimum over the indices
//   nll       NLL loss over n / 8 selected rows of (n / 8, 8) log-probabilities
//                                       old: block_sum (one block)     new: DeviceReduce (cuda::nll_loss_forward)
//   strided   dst += src for a (n / 128, 128) column block of a (n / 128, 256) gradient
//                                       old: add_strided kernel        new: cublasSgeam in place
// and once, the clip of a GCN's gradients (3 layers of 128 -> 256 -> 256 -> 47, weights and biases: many small
// reductions, where launch latency dominates): old clip_add_squares (two kernels per gradient) against the new one
// (DeviceReduce per gradient).
//
// Timing: CUDA events around each run on one stream, `--warmup` untimed runs first, the median of `--repeats`.
// Bytes are those the operation must move (reads + writes of its arrays, once); GB/s beside the device-to-device
// copy bandwidth of the same run (a cudaMemcpyAsync of the largest case's bytes, read + write).
//
// Checks, at every size: the new primitive's output against the host (maps: the same bits, as the formulas are the
// host's; reductions: within the reordering bound), the old kernel's against the new (maps: the same bits), and the
// new primitive run twice from the same inputs giving the same bits (docs/cuda.md: run to run on one GPU). A failed
// check makes the exit status 1.
//
// `--small` (sizes 1000,5000, 2 repeats, 1 warm-up) is for the CPU emulation of tools/cuda_emu, where the program
// runs (slowly: one fiber per thread) but times nothing real.
//
// Exit status: 0 done, 1 a CUDA failure or a failed check, 2 a bad flag, 77 no GPU (skipped).

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/core/json_writer.hpp>
#include <gas/core/rng.hpp>
#include <gas/cuda/device.hpp>
#include <gas/cuda/device_buffer.hpp>
#include <gas/cuda/error.hpp>
#include <gas/cuda/event.hpp>
#include <gas/cuda/kernels/arith.cuh>
#include <gas/cuda/kernels/clip.cuh>
#include <gas/cuda/kernels/common.cuh>
#include <gas/cuda/kernels/elementwise.cuh>
#include <gas/cuda/kernels/gemm.hpp>
#include <gas/cuda/kernels/loss.cuh>
#include <gas/cuda/kernels/optim.cuh>
#include <gas/cuda/kernels/reduce.cuh>
#include <gas/cuda/stream.hpp>

#include "bench_util.hpp"

namespace {

using gas::cuda::block_threads;
using gas::cuda::blocks_for;
using gas::cuda::kernels::global_thread;

// ---------------------------------------------------------------------------------------------------------------
// The replaced kernels, as they were (include/gas/cuda before issue 17)

namespace old {

unsigned stride_grid(std::int64_t n) { return static_cast<unsigned>(std::min<std::int64_t>(blocks_for(n), 65536)); }

template <class F>
__global__ void for_each_element(F f, std::int64_t n) {
  for (std::int64_t e = global_thread(); e < n; e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) f(e);
}

template <class T, class Op>
__global__ void unary_forward(Op op, const T* __restrict__ x, T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    y[i] = op.value(x[i]);
}

template <class T>
__global__ void adam_update(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ m, T* __restrict__ v,
                            std::int64_t n, gas::cuda::AdamStep s) {
  const double step_size = s.lr / s.bias1;
  for (std::int64_t i = global_thread(); i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    T pi = p[i];
    if (s.decoupled != 0) pi = static_cast<T>(pi * (1 - s.decoupled));
    double g = grad[i];
    if (s.l2 != 0) g += s.l2 * static_cast<double>(pi);
    const T mi = static_cast<T>(static_cast<double>(m[i]) * s.beta1 + g * (1 - s.beta1));
    const T vi = static_cast<T>(static_cast<double>(v[i]) * s.beta2 + (1 - s.beta2) * g * g);
    m[i] = mi;
    v[i] = vi;
    const double denom = sqrt(static_cast<double>(vi)) / s.bias2_sqrt + s.eps;
    p[i] = static_cast<T>(pi - step_size * static_cast<double>(mi) / denom);
  }
}

__device__ inline void block_tree_sum(double* sums) {
  for (int half = block_threads / 2; half > 0; half /= 2) {
    __syncthreads();
    if (static_cast<int>(threadIdx.x) < half) sums[threadIdx.x] += sums[threadIdx.x + half];
  }
  __syncthreads();
}

template <class Term>
__global__ void total_partials(Term term, std::int64_t n, double* __restrict__ partial) {
  __shared__ double sums[block_threads];
  double s = 0;
  for (std::int64_t e = global_thread(); e < n; e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) s += term(e);
  sums[threadIdx.x] = s;
  block_tree_sum(sums);
  if (threadIdx.x == 0) partial[blockIdx.x] = sums[0];
}

template <class Finish>
__global__ void total_finish(Finish finish, const double* __restrict__ partial, std::int64_t parts) {
  __shared__ double sums[block_threads];
  double s = 0;
  for (std::int64_t p = threadIdx.x; p < parts; p += blockDim.x) s += partial[p];
  sums[threadIdx.x] = s;
  block_tree_sum(sums);
  if (threadIdx.x == 0) finish(sums[0]);
}

constexpr std::int64_t total_max_parts = 1024;

// total_reduce as it was; `partial` holds total_max_parts doubles.
template <class Term, class Finish>
void total_reduce(std::int64_t n, const Term& term, const Finish& finish, double* partial, cudaStream_t stream) {
  const std::int64_t parts = std::clamp<std::int64_t>(blocks_for(n), 1, total_max_parts);
  total_partials<Term><<<static_cast<unsigned>(parts), block_threads, 0, stream>>>(term, n, partial);
  GAS_CUDA_CHECK_LAUNCH();
  total_finish<Finish><<<1, block_threads, 0, stream>>>(finish, partial, parts);
  GAS_CUDA_CHECK_LAUNCH();
}

template <class T>
__global__ void first_non_positive(const T* __restrict__ x, std::int64_t n, unsigned long long* __restrict__ first) {
  unsigned long long mine = ~0ull;
  for (std::int64_t e = global_thread(); e < n; e += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    if (!(x[e] > T{0})) {
      mine = static_cast<unsigned long long>(e);
      break;
    }
  for (int offset = 16; offset > 0; offset /= 2) {
    const unsigned long long other = __shfl_xor_sync(0xffffffffu, mine, offset);
    mine = other < mine ? other : mine;
  }
  if (threadIdx.x % 32 == 0 && mine != ~0ull) atomicMin(first, mine);
}

constexpr int loss_block = 256;

template <class T, class Value>
__global__ void block_sum(Value value, std::int64_t count, double factor, T* __restrict__ out) {
  __shared__ double part[loss_block];
  double s = 0;
  for (std::int64_t k = threadIdx.x; k < count; k += loss_block) s += value(k);
  part[threadIdx.x] = s;
  __syncthreads();
  for (int stride = loss_block / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) part[threadIdx.x] += part[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = static_cast<T>(part[0] * factor);
}

template <class T>
__global__ void add_strided(const T* __restrict__ src, std::int64_t src_ld, std::int64_t rows, std::int64_t cols,
                            T* __restrict__ dst, std::int64_t dst_ld) {
  const std::int64_t n = rows * cols;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = global_thread(); k < n; k += stride) {
    const std::int64_t i = k / cols, j = k % cols;
    dst[i * dst_ld + j] += src[i * src_ld + j];
  }
}

}  // namespace old

// ---------------------------------------------------------------------------------------------------------------
// Flags

struct Options {
  std::vector<std::int64_t> sizes{10000, 1000000, 100000000};
  int repeats = 10;
  int warmup = 3;
  int device = 0;
  std::string json;
  bool help = false;
};

constexpr const char* usage =
    "usage: bench_cuda_ops [--sizes N1,N2,...] [--repeats N] [--warmup N] [--device ID] [--json FILE] [--small]\n"
    "defaults: --sizes 10000,1000000,100000000 --repeats 10 --warmup 3 --device 0; --small: --sizes 1000,5000\n"
    "--repeats 2 --warmup 1 (for the CPU emulation)\n";

std::int64_t parse_int(std::string_view flag, std::string_view text, std::int64_t low, std::int64_t high) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < low || value > high)
    throw gas::config_error(std::string(flag) + ": '" + std::string(text) + "' is not an integer in [" +
                            std::to_string(low) + ", " + std::to_string(high) + "]");
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      o.help = true;
      continue;
    }
    if (flag == "--small") {
      o.sizes = {1000, 5000};
      o.repeats = 2;
      o.warmup = 1;
      continue;
    }
    if (flag != "--sizes" && flag != "--repeats" && flag != "--warmup" && flag != "--device" && flag != "--json")
      throw gas::config_error("unknown flag '" + std::string(flag) + "'");
    if (i + 1 >= argc) throw gas::config_error(std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    if (flag == "--sizes") {
      o.sizes.clear();
      for (std::size_t start = 0; start <= value.size();) {
        const std::size_t comma = std::min(value.find(',', start), value.size());
        o.sizes.push_back(parse_int(flag, value.substr(start, comma - start), 1024, std::int64_t{1} << 30));
        start = comma + 1;
      }
    } else if (flag == "--repeats") {
      o.repeats = static_cast<int>(parse_int(flag, value, 1, 100000));
    } else if (flag == "--warmup") {
      o.warmup = static_cast<int>(parse_int(flag, value, 0, 100000));
    } else if (flag == "--device") {
      o.device = static_cast<int>(parse_int(flag, value, 0, 1023));
    } else {
      o.json = value;
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Cases

/// @brief One comparison: old and new runs of one operation on the same arrays, which `reset` restores.
struct Case {
  std::string name;
  std::int64_t n = 0;
  double bytes = 0;  // moved by one run
  std::function<void()> reset, run_old, run_new;
  std::function<std::vector<double>()> output;  // the result of the last run, on the host
  std::function<std::vector<double>()> host;    // the host's result from the reset inputs
  double tolerance = 0;  // |new - host| allowed per element, as a fraction of `scale` (0: the same bits)
  std::function<std::vector<double>()> scale;   // per element (reductions: the sum of |terms|); empty: 1
};

struct Row {
  std::string name;
  std::int64_t n = 0;
  double old_ms = 0, new_ms = 0, bytes = 0;
  bool host_ok = false, old_ok = false, repeat_ok = false;
};

template <class Run>
double time_ms(cudaStream_t stream, const Options& o, const Run& run) {
  for (int i = 0; i < o.warmup; ++i) run();
  gas::cuda::Event start(gas::cuda::EventOptions{.timing = true}), stop(gas::cuda::EventOptions{.timing = true});
  std::vector<double> samples;
  for (int i = 0; i < o.repeats; ++i) {
    start.record(stream);
    run();
    stop.record(stream);
    samples.push_back(gas::cuda::elapsed_ms(start, stop));
  }
  return gas_bench::median(samples);
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

Row measure(const Case& c, cudaStream_t stream, const Options& o) {
  Row r{c.name, c.n};
  r.bytes = c.bytes;
  // Checks first, from fresh inputs each time.
  c.reset();
  const std::vector<double> expected = c.host();
  const std::vector<double> scale = c.scale ? c.scale() : std::vector<double>(expected.size(), 1.0);
  c.run_new();
  const std::vector<double> first = c.output();
  c.reset();
  c.run_new();
  r.repeat_ok = same_bits(first, c.output());
  c.reset();
  c.run_old();
  const std::vector<double> old_out = c.output();
  r.host_ok = first.size() == expected.size();
  for (std::size_t i = 0; r.host_ok && i < first.size(); ++i)
    r.host_ok = c.tolerance == 0 ? first[i] == expected[i] || (std::isnan(first[i]) && std::isnan(expected[i]))
                                 : std::abs(first[i] - expected[i]) <= c.tolerance * scale[i];
  r.old_ok = c.tolerance == 0 ? same_bits(first, old_out) : old_out.size() == first.size();
  for (std::size_t i = 0; c.tolerance != 0 && r.old_ok && i < first.size(); ++i)
    r.old_ok = std::abs(old_out[i] - expected[i]) <= c.tolerance * scale[i];
  // Then the timings (inputs drift under repeated updates; the arithmetic per element does not change).
  c.reset();
  r.old_ms = time_ms(stream, o, c.run_old);
  c.reset();
  r.new_ms = time_ms(stream, o, c.run_new);
  return r;
}

/// @brief n floats, uniform in [lo, hi), from a fixed seed.
std::vector<float> uniform(std::int64_t n, std::uint64_t seed, double lo, double hi) {
  gas::Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.uniform(lo, hi));
  return v;
}

template <class T>
std::vector<double> as_doubles(const gas::cuda::DeviceBuffer<T>& b) {
  const std::vector<T> h = b.to_host();
  return {h.begin(), h.end()};
}

// The arrays of one size, with a pristine copy of each input to reset from.
struct Arrays {
  cudaStream_t s;
  std::vector<float> hx, hy;
  gas::cuda::DeviceBuffer<float> x0, y0, x, y, m, v;
  Arrays(std::int64_t n, cudaStream_t stream)
      : s(stream), hx(uniform(n, 1, -1, 1)), hy(uniform(n, 2, -1, 1)), x0(hx.size(), s), y0(hy.size(), s),
        x(hx.size(), s), y(hy.size(), s), m(hx.size(), s), v(hx.size(), s) {
    x0.copy_from(hx);
    y0.copy_from(hy);
  }
  void reset() {
    GAS_CUDA_CHECK(cudaMemcpyAsync(x.data(), x0.data(), x.bytes(), cudaMemcpyDeviceToDevice, s));
    GAS_CUDA_CHECK(cudaMemcpyAsync(y.data(), y0.data(), y.bytes(), cudaMemcpyDeviceToDevice, s));
    m.fill_zero();
    v.fill_zero();
  }
};

std::vector<Case> cases_for(std::int64_t n, Arrays& a, gas::cuda::BlasHandle& blas,
                            gas::cuda::DeviceBuffer<double>& partial, gas::cuda::DeviceBuffer<float>& scalar,
                            gas::cuda::DeviceBuffer<unsigned long long>& first_old,
                            gas::cuda::DeviceBuffer<std::int32_t>& labels, gas::cuda::DeviceBuffer<gas::node_id>& rows) {
  namespace k = gas::cuda::kernels;
  const cudaStream_t s = a.s;
  const float alpha = 0.75f;
  std::vector<Case> out;
  auto reset = [&a] { a.reset(); };
  auto y_out = [&a] { return as_doubles(a.y); };
  auto scalar_out = [&scalar] { return as_doubles(scalar); };
  const double u = 0x1p-24;

  out.push_back({"axpy", n, 12.0 * static_cast<double>(n), reset,
                 [&a, n, s, alpha] {
                   old::for_each_element<<<old::stride_grid(n), block_threads, 0, s>>>(k::Axpy<float>{alpha, a.x.data(), a.y.data()}, n);
                   GAS_CUDA_CHECK_LAUNCH();
                 },
                 [&a, n, s, alpha] { gas::cuda::axpy(alpha, a.x.data(), a.y.data(), n, s); }, y_out,
                 [&a, alpha] {
                   std::vector<double> r(a.hy.size());
                   for (std::size_t i = 0; i < r.size(); ++i) {
                     const volatile float p = alpha * a.hx[i];  // rounded on its own, as mul_rn
                     r[i] = static_cast<float>(a.hy[i] + p);
                   }
                   return r;
                 }, 0, {}});
  out.push_back({"relu", n, 8.0 * static_cast<double>(n), reset,
                 [&a, n, s] {
                   old::unary_forward<float><<<old::stride_grid(n), block_threads, 0, s>>>(gas::cuda::act::Relu{}, a.x.data(), a.y.data(), n);
                   GAS_CUDA_CHECK_LAUNCH();
                 },
                 [&a, n, s] { gas::cuda::activation_forward(gas::cuda::act::Relu{}, a.x.data(), a.y.data(), n, s); }, y_out,
                 [&a] {
                   std::vector<double> r(a.hx.size());
                   for (std::size_t i = 0; i < r.size(); ++i) r[i] = a.hx[i] > 0 ? a.hx[i] : 0.0f;
                   return r;
                 }, 0, {}});
  const gas::cuda::AdamStep step{.lr = 0.01, .l2 = 0, .decoupled = 0, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                 .bias1 = 0.1, .bias2_sqrt = std::sqrt(0.001)};
  out.push_back({"adam", n, 28.0 * static_cast<double>(n), reset,
                 [&a, n, s, step] {
                   old::adam_update<float><<<old::stride_grid(n), block_threads, 0, s>>>(a.x.data(), a.y.data(), a.m.data(), a.v.data(), n, step);
                   GAS_CUDA_CHECK_LAUNCH();
                 },
                 [&a, n, s, step] { gas::cuda::adam_update(a.x.data(), a.y.data(), a.m.data(), a.v.data(), n, step, s); },
                 [&a] { return as_doubles(a.x); },
                 [&a, step] {  // train/optimizer.hpp's arithmetic, in double on float storage, from m = v = 0
                   std::vector<double> r(a.hx.size());
                   for (std::size_t i = 0; i < r.size(); ++i) {
                     const double g = a.hy[i];
                     const auto mi = static_cast<float>(0.0 * step.beta1 + g * (1 - step.beta1));
                     const auto vi = static_cast<float>(0.0 * step.beta2 + (1 - step.beta2) * g * g);
                     const double denom = std::sqrt(static_cast<double>(vi)) / step.bias2_sqrt + step.eps;
                     r[i] = static_cast<float>(a.hx[i] - step.lr / step.bias1 * static_cast<double>(mi) / denom);
                   }
                   return r;
                 }, 0, {}});
  // Reductions: within the reordering bound of a double sum (2 n u_d sum |x|) plus the float output's rounding.
  auto sum_abs = [&a] {
    double t = 0;
    for (const float v : a.hx) t += std::abs(static_cast<double>(v));
    return std::vector<double>{t};
  };
  out.push_back({"sum", n, 4.0 * static_cast<double>(n), reset,
                 [&a, &partial, &scalar, n, s] {
                   old::total_reduce(n, k::FlatValue<float>{a.x.data()}, k::StoreQuotient<float>{scalar.data(), 1.0}, partial.data(), s);
                 },
                 [&a, &scalar, n, s] { gas::cuda::total_sum(a.x.data(), n, scalar.data(), 1.0, s); }, scalar_out,
                 [&a] {
                   double t = 0;
                   for (const float v : a.hx) t += v;
                   return std::vector<double>{static_cast<float>(t)};
                 },
                 2 * u, sum_abs});
  // No element is <= 0 (|x| + 1): both scan everything, the case the check of ops::log pays for on good input.
  out.push_back({"first", n, 4.0 * static_cast<double>(n),
                 [&a, n, s] {
                   a.reset();
                   gas::cuda::detail::launch_elementwise(k::UnaryForward<float, gas::cuda::act::Exp>{{}, a.x.data(), a.x.data()}, n, "bench", s);
                 },
                 [&a, &first_old, &scalar, n, s] {
                   GAS_CUDA_CHECK(cudaMemsetAsync(first_old.data(), 0xff, sizeof(unsigned long long), s));
                   old::first_non_positive<float><<<old::stride_grid(n), block_threads, 0, s>>>(a.x.data(), n, first_old.data());
                   GAS_CUDA_CHECK_LAUNCH();
                   unsigned long long found = 0;
                   GAS_CUDA_CHECK(cudaMemcpyAsync(&found, first_old.data(), sizeof found, cudaMemcpyDeviceToHost, s));
                   GAS_CUDA_CHECK(cudaStreamSynchronize(s));
                   const float f = found == ~0ull ? -1.0f : static_cast<float>(found);
                   scalar.copy_from(std::span<const float>(&f, 1));
                 },
                 [&a, &scalar, n, s] {
                   const auto f = static_cast<float>(gas::cuda::first_non_positive(a.x.data(), n, s));
                   scalar.copy_from(std::span<const float>(&f, 1));
                 },
                 scalar_out, [] { return std::vector<double>{-1.0}; }, 0, {}});
  const std::int64_t count = n / 8, classes = 8;
  out.push_back({"nll", count, 12.0 * static_cast<double>(count), reset,
                 [&a, &labels, &rows, &scalar, count, s] {
                   old::block_sum<float><<<1, old::loss_block, 0, s>>>(k::NllTerm<float>{a.x.data(), classes, labels.data(), rows.data()}, count,
                                                                      1.0 / static_cast<double>(count), scalar.data());
                   GAS_CUDA_CHECK_LAUNCH();
                 },
                 [&a, &labels, &rows, &scalar, count, s] {
                   const gas::cuda::LossRows lr{labels.data(), rows.data(), count, true};
                   gas::cuda::nll_loss_forward(a.x.data(), count, classes, lr, scalar.data(), s);
                 },
                 scalar_out,
                 [&a, count] {
                   double t = 0;
                   for (std::int64_t r = 0; r < count; ++r) t -= a.hx[static_cast<std::size_t>(r * classes + r % classes)];
                   return std::vector<double>{static_cast<float>(t / static_cast<double>(count))};
                 },
                 2 * u, [&a, count] {
                   double t = 0;
                   for (std::int64_t r = 0; r < count; ++r) t += std::abs(a.hx[static_cast<std::size_t>(r * classes + r % classes)]);
                   return std::vector<double>{t / static_cast<double>(count)};
                 }});
  const std::int64_t srows = n / 256, scols = 128;
  out.push_back({"strided", srows * scols, 12.0 * static_cast<double>(srows * scols), reset,
                 [&a, srows, scols, s] {  // scols captured: the emulator's launch takes its arguments by reference
                   old::add_strided<float><<<old::stride_grid(srows * scols), block_threads, 0, s>>>(a.x.data(), 256, srows, scols, a.y.data(), scols);
                   GAS_CUDA_CHECK_LAUNCH();
                 },
                 [&a, &blas, srows] { gas::cuda::add_strided(a.x.data(), 256, srows, scols, a.y.data(), scols, blas.get()); },
                 [&a, srows] {
                   auto all = as_doubles(a.y);
                   all.resize(static_cast<std::size_t>(srows * scols));
                   return all;
                 },
                 [&a, srows] {
                   std::vector<double> r(static_cast<std::size_t>(srows * scols));
                   for (std::int64_t i = 0; i < srows; ++i)
                     for (std::int64_t j = 0; j < scols; ++j)
                       r[static_cast<std::size_t>(i * scols + j)] =
                           a.hy[static_cast<std::size_t>(i * scols + j)] + a.hx[static_cast<std::size_t>(i * 256 + j)];
                   return r;
                 }, 0, {}});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse_options(argc, argv);
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "bench_cuda_ops: %s\n%s", e.what(), usage);
    return 2;
  }
  if (o.help) {
    std::printf("%s", usage);
    return 0;
  }
  if (!gas::cuda::available()) {
    std::printf("bench_cuda_ops: no CUDA device: skipped\n");
    return 77;
  }
  bool all_ok = true;
  try {
    GAS_CUDA_CHECK(cudaSetDevice(o.device));
    gas::cuda::Stream stream;
    const cudaStream_t s = stream.get();
    gas::cuda::BlasHandle blas(s);
    gas::cuda::DeviceBuffer<double> partial(old::total_max_parts, s);
    gas::cuda::DeviceBuffer<float> scalar(1, s);
    gas::cuda::DeviceBuffer<unsigned long long> first_old(1, s);
    const std::int64_t largest = *std::max_element(o.sizes.begin(), o.sizes.end());
    // Copy bandwidth: the largest case's two arrays, device to device, read + write.
    double copy_gbs = 0;
    {
      gas::cuda::DeviceBuffer<float> from(static_cast<std::size_t>(largest), s), to(static_cast<std::size_t>(largest), s);
      from.fill_zero();
      const double ms = time_ms(s, o, [&] {
        GAS_CUDA_CHECK(cudaMemcpyAsync(to.data(), from.data(), from.bytes(), cudaMemcpyDeviceToDevice, s));
      });
      copy_gbs = 2.0 * static_cast<double>(from.bytes()) / (ms * 1e6);
    }
    std::printf("bench_cuda_ops: copy bandwidth %.1f GB/s; median of %d runs after %d warm-ups\n", copy_gbs, o.repeats,
                o.warmup);
    std::printf("%-8s %11s %10s %10s %9s %9s %7s  %s\n", "case", "n", "old ms", "new ms", "old GB/s", "new GB/s",
                "new/old", "checks (host, old, repeat)");
    std::vector<Row> rows_out;
    for (const std::int64_t n : o.sizes) {
      Arrays a(n, s);
      // NLL: n / 8 rows of 8 classes, every row selected, label r % 8.
      std::vector<std::int32_t> hl(static_cast<std::size_t>(n / 8));
      std::vector<gas::node_id> hr(hl.size());
      for (std::size_t r = 0; r < hl.size(); ++r) {
        hl[r] = static_cast<std::int32_t>(r % 8);
        hr[r] = static_cast<gas::node_id>(r);
      }
      gas::cuda::DeviceBuffer<std::int32_t> labels(hl.size(), s);
      gas::cuda::DeviceBuffer<gas::node_id> sel(hr.size(), s);
      labels.copy_from(hl);
      sel.copy_from(hr);
      for (const Case& c : cases_for(n, a, blas, partial, scalar, first_old, labels, sel)) {
        const Row r = measure(c, s, o);
        const bool ok = r.host_ok && r.old_ok && r.repeat_ok;
        all_ok = all_ok && ok;
        std::printf("%-8s %11lld %10.4f %10.4f %9.1f %9.1f %7.2f  %s %s %s\n", r.name.c_str(),
                    static_cast<long long>(r.n), r.old_ms, r.new_ms, r.bytes / (r.old_ms * 1e6),
                    r.bytes / (r.new_ms * 1e6), r.new_ms / r.old_ms, r.host_ok ? "ok" : "FAIL",
                    r.old_ok ? "ok" : "FAIL", r.repeat_ok ? "ok" : "FAIL");
        rows_out.push_back(r);
      }
    }
    // The clip of a GCN's gradients: 128 -> 256 -> 256 -> 47, weights and biases, in parameter order.
    {
      const std::vector<std::int64_t> sizes{128 * 256, 256, 256 * 256, 256, 256 * 47, 47};
      std::vector<gas::cuda::DeviceBuffer<float>> grads;
      double elements = 0;
      for (std::size_t k = 0; k < sizes.size(); ++k) {
        grads.emplace_back(static_cast<std::size_t>(sizes[k]), s);
        grads.back().copy_from(uniform(sizes[k], 10 + k, -1, 1));
        elements += static_cast<double>(sizes[k]);
      }
      gas::cuda::DeviceBuffer<double> state_old(gas::cuda::ClipSlots::count, s), state_new(gas::cuda::ClipSlots::count, s);
      std::size_t temp_bytes = 1;
      for (const auto n : sizes) temp_bytes = std::max(temp_bytes, gas::cuda::clip_scratch_bytes<float>(n));
      gas::cuda::DeviceBuffer<std::byte> temp(temp_bytes, s);
      auto run_old = [&] {
        for (std::size_t k = 0; k < grads.size(); ++k)
          old::total_reduce(sizes[k], gas::cuda::kernels::Square<float>{grads[k].data()},
                            gas::cuda::kernels::AddSquares{state_old.data(), 1.0, k == 0, k + 1 == grads.size()},
                            partial.data(), s);
      };
      auto run_new = [&] {
        for (std::size_t k = 0; k < grads.size(); ++k)
          gas::cuda::clip_add_squares(grads[k].data(), sizes[k], temp.data(), temp_bytes, state_new.data(), k == 0,
                                      k + 1 == grads.size(), 1.0, s);
      };
      run_new();
      const auto first = state_new.to_host();
      run_new();
      const auto second = state_new.to_host();
      run_old();
      const auto old_state = state_old.to_host();
      const bool repeat_ok = std::memcmp(first.data(), second.data(), first.size() * sizeof(double)) == 0;
      const bool old_ok = std::abs(first[0] - old_state[0]) <= 2 * elements * 0x1p-53 * first[0];  // all terms >= 0
      all_ok = all_ok && repeat_ok && old_ok;
      const Row r{"clip-gcn", static_cast<std::int64_t>(elements), time_ms(s, o, run_old), time_ms(s, o, run_new),
                  4.0 * elements, old_ok, old_ok, repeat_ok};
      std::printf("%-8s %11lld %10.4f %10.4f %9.1f %9.1f %7.2f  %s %s %s  (6 gradients)\n", r.name.c_str(),
                  static_cast<long long>(r.n), r.old_ms, r.new_ms, r.bytes / (r.old_ms * 1e6), r.bytes / (r.new_ms * 1e6),
                  r.new_ms / r.old_ms, "-", old_ok ? "ok" : "FAIL", repeat_ok ? "ok" : "FAIL");
      rows_out.push_back(r);
    }
    if (!o.json.empty()) {
      cudaDeviceProp prop{};
      GAS_CUDA_CHECK(cudaGetDeviceProperties(&prop, o.device));
      gas::JsonWriter report;
      report.add("gpu", std::string_view(prop.name))
          .add("sm_count", prop.multiProcessorCount)
          .add("copy_gbs", copy_gbs)
          .add("repeats", o.repeats)
          .add("warmup", o.warmup);
      for (const Row& r : rows_out) {
        gas::JsonWriter entry;
        entry.add("n", r.n)
            .add("bytes", r.bytes)
            .add("old_ms", r.old_ms)
            .add("new_ms", r.new_ms)
            .add("new_over_old", r.new_ms / r.old_ms)
            .add("host_ok", r.host_ok)
            .add("old_ok", r.old_ok)
            .add("repeat_ok", r.repeat_ok);
        report.add_object(r.name + "_" + std::to_string(r.n), entry);
      }
      report.add("checks_ok", all_ok);
      report.save(o.json);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_ops: %s\n", e.what());
    return 1;
  }
  if (!all_ok) std::fprintf(stderr, "bench_cuda_ops: a check failed\n");
  return all_ok ? 0 : 1;
}
