// Self-test of the emulation itself: indexing, barriers, shuffles, stream order, protection, host functions, the
// EMU_COPY modes (run it under each: some outcomes are asserted per mode) and the counters.
#include <doctest/doctest.h>
#include <gas/cuda/memory.hpp>
#include <gas/cuda/kernels/common.cuh>
#include <cub/device/device_reduce.cuh>
#include <cublas_v2.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/tabulate_output_iterator.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace {
struct Relu { template <class T> T value(T x) const { return x > T{0} ? x : T{0}; } };
template <class T, class Op>
__global__ void unary(Op op, const T* __restrict__ x, T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = gas::cuda::kernels::global_thread(); i < n; i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    y[i] = op.value(x[i]);
}
__global__ void index3d(int* out) {
  const int b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  out[b * blockDim.x * blockDim.y * blockDim.z + t] = b * 1000 + t;
}
// A tree sum in shared memory: right only with every barrier in place.
template <bool Barrier>
__global__ void tree(const double* in, double* out) {
  __shared__ double s[256];
  s[threadIdx.x] = in[blockIdx.x * 256 + threadIdx.x];
  for (int half = 128; half > 0; half /= 2) {
    if (Barrier) __syncthreads();
    if (static_cast<int>(threadIdx.x) < half) s[threadIdx.x] += s[threadIdx.x + half];
  }
  if (Barrier) __syncthreads();
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}
__global__ void warp_sums(const int* in, int* out, int group) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  out[t] = gas::cuda::kernels::group_sum(in[t], group);
}
__global__ void early_exit_shuffle(int* out) {
  if (threadIdx.x == 5) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1);
}
__global__ void fill(int* d, int v, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) d[i] = v;
}
__global__ void add_one(const int* in, int* out, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) out[i] = in[i] + 1;
}

// Raw handles (not gas::cuda's classes) so that these checks of the emulator do not move with the library.
// A compute stream has priority 0; a copy stream the device's greatest priority, as gas's transfer streams do.
struct RawStream {
  cudaStream_t s = nullptr;
  explicit RawStream(bool copy) {
    int least = 0, greatest = 0;
    REQUIRE(cudaDeviceGetStreamPriorityRange(&least, &greatest) == cudaSuccess);
    REQUIRE(cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, copy ? greatest : least) == cudaSuccess);
  }
  ~RawStream() { cudaStreamDestroy(s); }
  operator cudaStream_t() const { return s; }
};
struct RawEvent {
  cudaEvent_t e = nullptr;
  RawEvent() { REQUIRE(cudaEventCreateWithFlags(&e, cudaEventDisableTiming) == cudaSuccess); }
  ~RawEvent() { cudaEventDestroy(e); }
  operator cudaEvent_t() const { return e; }
};
template <class T>
struct Dev {
  T* p = nullptr;
  explicit Dev(std::size_t n) { REQUIRE(cudaMalloc(&p, n * sizeof(T)) == cudaSuccess); }
  ~Dev() { cudaFree(p); }
};
template <class T>
struct Pinned {
  T* p = nullptr;
  explicit Pinned(std::size_t n) { REQUIRE(cudaHostAlloc(reinterpret_cast<void**>(&p), n * sizeof(T), 0) == cudaSuccess); }
  ~Pinned() { cudaFreeHost(p); }
  T& operator[](std::size_t i) { return p[i]; }
};

// A host function's view: what it read from pinned memory, in the order the functions ran.
struct Probe {
  const int* pinned;
  std::vector<int>* seen;
};
void record_pinned(void* data) {
  auto* probe = static_cast<Probe*>(data);
  probe->seen->push_back(*probe->pinned);
}
// A gather into pinned staging by several CPU threads, as gas's history pipeline does in a host function.
struct Gather {
  int* staging;
  int n, step;
};
void gather_rows(void* data) {
  auto* g = static_cast<Gather*>(data);
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < g->n; ++i) g->staging[i] = g->step * 1000 + i;
}
void read_device(void* data) { std::printf("%d\n", *static_cast<const int*>(data)); }  // must fault
std::string mode() { return gas_emu_copy_mode(); }
}  // namespace

TEST_CASE("grid-stride covers every element, last block included") {
  for (int n : {1, 255, 256, 300, 1968, 2849, 70000}) {
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i) x[i] = (i % 3) - 1.0f;
    float *dx, *dy;
    REQUIRE(cudaMalloc(&dx, n * 4) == cudaSuccess);
    REQUIRE(cudaMalloc(&dy, n * 4) == cudaSuccess);
    REQUIRE(cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice) == cudaSuccess);
    unary<float, Relu><<<std::min((n + 255) / 256, 4), 256>>>(Relu{}, dx, dy, n);
    REQUIRE(cudaGetLastError() == cudaSuccess);
    std::vector<float> y(n);
    REQUIRE(cudaMemcpy(y.data(), dy, n * 4, cudaMemcpyDeviceToHost) == cudaSuccess);
    int bad = 0;
    for (int i = 0; i < n; ++i) bad += y[i] != std::max(x[i], 0.0f);
    CHECK_MESSAGE(bad == 0, "n " << n);
    cudaFree(dx);
    cudaFree(dy);
  }
}

TEST_CASE("3-d grids and blocks") {
  int* d;
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  const int total = 12 * 24;
  REQUIRE(cudaMalloc(&d, total * 4) == cudaSuccess);
  index3d<<<grid, block>>>(d);
  std::vector<int> h(total);
  REQUIRE(cudaMemcpy(h.data(), d, total * 4, cudaMemcpyDeviceToHost) == cudaSuccess);
  for (int b = 0; b < 12; ++b)
    for (int t = 0; t < 24; ++t) CHECK(h[b * 24 + t] == b * 1000 + t);
  cudaFree(d);
}

TEST_CASE("shared-memory tree: right with barriers, wrong without (under EMU_SCHED=rev)") {
  const int blocks = 3;
  std::vector<double> in(blocks * 256);
  std::iota(in.begin(), in.end(), 1.0);
  double *din, *dout;
  cudaMalloc(&din, in.size() * 8);
  cudaMalloc(&dout, blocks * 8);
  cudaMemcpy(din, in.data(), in.size() * 8, cudaMemcpyHostToDevice);
  tree<true><<<blocks, 256>>>(din, dout);
  std::vector<double> out(blocks);
  cudaMemcpy(out.data(), dout, blocks * 8, cudaMemcpyDeviceToHost);
  for (int b = 0; b < blocks; ++b) CHECK(out[b] == 256.0 * (256 * b) + 256.0 * 257 / 2);
  tree<false><<<blocks, 256>>>(din, dout);
  cudaMemcpy(out.data(), dout, blocks * 8, cudaMemcpyDeviceToHost);
  int wrong = 0;
  for (int b = 0; b < blocks; ++b) wrong += out[b] != 256.0 * (256 * b) + 256.0 * 257 / 2;
  MESSAGE("without barriers " << wrong << " of " << blocks << " block sums are wrong");
  cudaFree(din);
  cudaFree(dout);
}

TEST_CASE("group_sum over shuffles") {
  const int n = 512;
  std::vector<int> in(n);
  std::iota(in.begin(), in.end(), 0);
  int *din, *dout;
  cudaMalloc(&din, n * 4);
  cudaMalloc(&dout, n * 4);
  cudaMemcpy(din, in.data(), n * 4, cudaMemcpyHostToDevice);
  for (int group : {1, 2, 4, 8, 16, 32}) {
    warp_sums<<<2, 256>>>(din, dout, group);
    std::vector<int> out(n);
    cudaMemcpy(out.data(), dout, n * 4, cudaMemcpyDeviceToHost);
    for (int t = 0; t < n; ++t) {
      int s = 0;
      for (int u = t / group * group; u < t / group * group + group; ++u) s += in[u];
      REQUIRE_MESSAGE(out[t] == s, "group " << group << " thread " << t);
    }
  }
  cudaFree(din);
  cudaFree(dout);
}

// Compute streams (priority 0) are deferred under EMU_COPY=lazy|early and run at enqueue under late and EMU_EAGER=1;
// rand does either, so only the mode-independent outcome is checked there.
TEST_CASE("stream order, events and deferred execution") {
  const std::string m = mode();
  const bool deferred = m == "lazy" || m == "early", at_enqueue = m == "late" || m == "eager";
  gas::cuda::Stream a, b;
  int* d;
  cudaMalloc(&d, 4);
  std::vector<int> one{1}, two{2};
  gas::cuda::PinnedBuffer<int> host(1);
  host[0] = 1;
  cudaMemcpyAsync(d, host.data(), 4, cudaMemcpyHostToDevice, a.get());
  host[0] = 7;  // pinned: the copy reads it when the stream gets there
  a.synchronize();
  int back = 0;
  cudaMemcpy(&back, d, 4, cudaMemcpyDeviceToHost);
  if (deferred) CHECK(back == 7);
  if (at_enqueue) CHECK(back == 1);
  cudaMemcpyAsync(d, one.data(), 4, cudaMemcpyHostToDevice, a.get());
  one[0] = 5;  // pageable: staged at the call
  cudaMemcpyAsync(&back, d, 4, cudaMemcpyDeviceToHost, b.get());  // no order between a and b
  b.synchronize();
  if (deferred) CHECK(back == 7);  // b ran first: a's copy has not happened yet
  if (at_enqueue) CHECK(back == 1);  // a's copy ran at the call
  a.synchronize();
  cudaMemcpy(&back, d, 4, cudaMemcpyDeviceToHost);
  CHECK(back == 1);
  cudaFree(d);
}

TEST_CASE("invalid launch configurations are errors" ) {
  int* d;
  cudaMalloc(&d, 4096);
  index3d<<<1, 2048>>>(d);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  index3d<<<0, 32>>>(d);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  CHECK(cudaGetLastError() == cudaSuccess);
  cudaFree(d);
}

#ifndef GAS_EMU
#error "emu_shim.hpp defines GAS_EMU"
#endif

TEST_CASE("host functions run in stream order, after event waits, and count") {
  RawStream compute(false), copy(true);
  RawEvent done;
  Dev<int> d(1);
  Pinned<int> h(1);
  std::vector<int> seen;
  Probe probe{h.p, &seen};
  const gas_emu_counters before = gas_emu_get_counters();
  for (int v : {3, 4}) {  // each host function sees the copy queued before it and not the one after
    fill<<<1, 32, 0, compute>>>(d.p, v, 1);
    REQUIRE(cudaMemcpyAsync(h.p, d.p, 4, cudaMemcpyDeviceToHost, compute) == cudaSuccess);
    REQUIRE(cudaLaunchHostFunc(compute, record_pinned, &probe) == cudaSuccess);
  }
  fill<<<1, 32, 0, compute>>>(d.p, 5, 1);
  REQUIRE(cudaMemcpyAsync(h.p, d.p, 4, cudaMemcpyDeviceToHost, compute) == cudaSuccess);
  REQUIRE(cudaEventRecord(done, compute) == cudaSuccess);
  // On another stream, ordered only by the event: the host function must see the 5.
  REQUIRE(cudaStreamWaitEvent(copy, done, 0) == cudaSuccess);
  REQUIRE(cudaLaunchHostFunc(copy, record_pinned, &probe) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(copy) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(compute) == cudaSuccess);
  CHECK(seen == std::vector<int>{3, 4, 5});
  CHECK(gas_emu_get_counters().host_funcs - before.host_funcs == 3);
  CHECK(cudaLaunchHostFunc(compute, nullptr, nullptr) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
}

// The history pipeline's shape: per step, an H2D copy stream gathers rows into pinned staging (a host function) and
// uploads them, the compute stream works on them, a D2H copy stream downloads the result; every cross-stream order is
// an event, including the reuse of the input and output buffers by the next step. Right in every EMU_COPY mode.
TEST_CASE("with events, copy streams and the compute stream see each other's results in every EMU_COPY mode") {
  MESSAGE("EMU_COPY mode: " << mode());
  constexpr int n = 300, steps = 5;
  RawStream compute(false), h2d(true), d2h(true);
  RawEvent uploaded, consumed, computed, downloaded;
  Dev<int> din(n), dout(n);
  Pinned<int> staging(n), out(n * steps);
  std::vector<Gather> gathers(steps);
  for (int k = 0; k < steps; ++k) {
    gathers[k] = Gather{staging.p, n, k};
    if (k > 0) REQUIRE(cudaStreamWaitEvent(h2d, consumed, 0) == cudaSuccess);  // din is free again
    REQUIRE(cudaLaunchHostFunc(h2d, gather_rows, &gathers[k]) == cudaSuccess);
    REQUIRE(cudaMemcpyAsync(din.p, staging.p, n * 4, cudaMemcpyHostToDevice, h2d) == cudaSuccess);
    REQUIRE(cudaEventRecord(uploaded, h2d) == cudaSuccess);
    REQUIRE(cudaStreamWaitEvent(compute, uploaded, 0) == cudaSuccess);
    if (k > 0) REQUIRE(cudaStreamWaitEvent(compute, downloaded, 0) == cudaSuccess);  // dout is free again
    add_one<<<2, 64, 0, compute>>>(din.p, dout.p, n);
    REQUIRE(cudaEventRecord(consumed, compute) == cudaSuccess);
    REQUIRE(cudaEventRecord(computed, compute) == cudaSuccess);
    REQUIRE(cudaStreamWaitEvent(d2h, computed, 0) == cudaSuccess);
    REQUIRE(cudaMemcpyAsync(out.p + k * n, dout.p, n * 4, cudaMemcpyDeviceToHost, d2h) == cudaSuccess);
    REQUIRE(cudaEventRecord(downloaded, d2h) == cudaSuccess);
  }
  REQUIRE(cudaStreamSynchronize(d2h) == cudaSuccess);
  int bad = 0;
  for (int k = 0; k < steps; ++k)
    for (int i = 0; i < n; ++i) bad += out[k * n + i] != k * 1000 + i + 1;
  CHECK(bad == 0);
}

// Without the event, which side wins depends on when each stream's work runs; the modes make it observable.
//   (a) the compute stream writes, a copy stream downloads without waiting: fresh only if compute ran first;
//   (b) a copy stream uploads, the compute stream reads without waiting: fresh only if the copy ran first.
// Expected outcomes: lazy stale/stale (the host syncs the reader first), early stale/fresh, late fresh/stale,
// eager fresh/fresh, rand both outcomes over the trials.
TEST_CASE("a missing event wait reads stale data in an EMU_COPY-dependent way") {
  RawStream compute(false), h2d(true), d2h(true);
  Dev<int> d(64), d2(64);
  Pinned<int> h(64);
  auto trial_a = [&] {
    REQUIRE(cudaMemset(d.p, 0, 256) == cudaSuccess);
    fill<<<1, 64, 0, compute>>>(d.p, 42, 64);
    REQUIRE(cudaMemcpyAsync(h.p, d.p, 256, cudaMemcpyDeviceToHost, d2h) == cudaSuccess);  // no wait: a bug
    REQUIRE(cudaStreamSynchronize(d2h) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(compute) == cudaSuccess);
    return h[0] == 42;
  };
  auto trial_b = [&] {
    REQUIRE(cudaMemset(d.p, 0, 256) == cudaSuccess);
    for (int i = 0; i < 64; ++i) h[i] = 7;
    REQUIRE(cudaMemcpyAsync(d.p, h.p, 256, cudaMemcpyHostToDevice, h2d) == cudaSuccess);
    add_one<<<1, 64, 0, compute>>>(d.p, d2.p, 64);  // no wait: a bug
    REQUIRE(cudaStreamSynchronize(compute) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(h2d) == cudaSuccess);
    int r = 0;
    REQUIRE(cudaMemcpy(&r, d2.p, 4, cudaMemcpyDeviceToHost) == cudaSuccess);
    return r == 8;
  };
  const std::string m = mode();
  MESSAGE("EMU_COPY mode: " << m);
  if (m == "rand") {
    int fresh_a = 0, fresh_b = 0, trials = 32;
    for (int t = 0; t < trials; ++t) {
      fresh_a += trial_a();
      fresh_b += trial_b();
    }
    MESSAGE("fresh reads: (a) " << fresh_a << " (b) " << fresh_b << " of " << trials);
    CHECK((fresh_a > 0 && fresh_a < trials));
    CHECK((fresh_b > 0 && fresh_b < trials));
    return;
  }
  const bool a = trial_a(), b = trial_b();
  if (m == "lazy") CHECK((!a && !b));
  if (m == "early") CHECK((!a && b));
  if (m == "late") CHECK((a && !b));
  if (m == "eager") CHECK((a && b));
}

// Work queued from inside running work (CUDA forbids CUDA calls in host functions; the emulator serves them and
// warns once) must not be drained at enqueue: it could need the stream that is running, which would read as a
// cyclic dependency. EMU_COPY=rand reaches that case (the host function queues onto a stream whose pending wait names
// the running stream) in most seeds; early reaches the queueing onto the very stream that runs.
namespace {
struct Requeue {
  cudaStream_t to[2];
  int* x;
};
void queue_from_host(void* data) {
  auto* r = static_cast<Requeue*>(data);
  cudaMemsetAsync(r->x, 9, 4, r->to[0]);
  cudaMemsetAsync(r->x + 1, 9, 4, r->to[1]);
}
}  // namespace
TEST_CASE("work queued by a host function waits for its stream, without a false cycle") {
  if (const char* v = std::getenv("EMU_STRICT"); v != nullptr && std::atoi(v) != 0) return;  // the call would abort
  RawStream compute(false), waiter_b(false), waiter_a(true);
  RawEvent e;
  Dev<int> x(2);
  Requeue requeue{{waiter_b, waiter_a}, x.p};
  for (int t = 0; t < 64; ++t) {
    REQUIRE(cudaMemset(x.p, 0, 8) == cudaSuccess);
    REQUIRE(cudaLaunchHostFunc(compute, queue_from_host, &requeue) == cudaSuccess);
    REQUIRE(cudaEventRecord(e, compute) == cudaSuccess);
    REQUIRE(cudaStreamWaitEvent(waiter_b, e, 0) == cudaSuccess);
    REQUIRE(cudaStreamWaitEvent(waiter_a, e, 0) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(compute) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(waiter_a) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(waiter_b) == cudaSuccess);
    int r[2] = {0, 0};
    REQUIRE(cudaMemcpy(r, x.p, 8, cudaMemcpyDeviceToHost) == cudaSuccess);
    REQUIRE((r[0] == 0x09090909 && r[1] == 0x09090909));
  }
}

TEST_CASE("counters: allocations, frees, host waits, copies, launches") {
  const gas_emu_counters c0 = gas_emu_get_counters();
  int* d = nullptr;
  void* h = nullptr;
  cudaStream_t s = nullptr;
  REQUIRE(cudaMalloc(&d, 64) == cudaSuccess);
  REQUIRE(cudaHostAlloc(&h, 64, cudaHostAllocDefault) == cudaSuccess);
  REQUIRE(cudaStreamCreate(&s) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);  // nothing pending: still a wait
  const gas_emu_counters c1 = gas_emu_get_counters();
  CHECK(c1.device_allocs - c0.device_allocs == 1);
  CHECK(c1.pinned_allocs - c0.pinned_allocs == 1);
  CHECK(c1.host_waits - c0.host_waits == 1);
  fill<<<1, 16, 0, s>>>(d, 1, 16);
  REQUIRE(cudaMemcpyAsync(h, d, 64, cudaMemcpyDeviceToHost, s) == cudaSuccess);
  while (cudaStreamQuery(s) == cudaErrorNotReady) (void)cudaGetLastError();  // queries are not waits
  void* z = nullptr;
  REQUIRE(cudaMalloc(&z, 0) == cudaSuccess);  // nothing allocated
  REQUIRE(cudaFree(nullptr) == cudaSuccess);   // nothing to free, no wait
  const gas_emu_counters c2 = gas_emu_get_counters();
  CHECK(c2.host_waits == c1.host_waits);
  CHECK(c2.device_allocs == c1.device_allocs);
  CHECK(c2.launches - c1.launches == 1);
  CHECK(c2.copies - c1.copies == 1);
  int back = 0;
  REQUIRE(cudaMemcpy(&back, d, 4, cudaMemcpyDeviceToHost) == cudaSuccess);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  REQUIRE(cudaStreamDestroy(s) == cudaSuccess);  // not a wait
  REQUIRE(cudaFree(d) == cudaSuccess);
  REQUIRE(cudaFreeHost(h) == cudaSuccess);
  const gas_emu_counters c3 = gas_emu_get_counters();
  CHECK(c3.host_waits - c2.host_waits == 4);
  CHECK(c3.copies - c2.copies == 1);
  CHECK(c3.device_frees - c2.device_frees == 1);
  CHECK(c3.pinned_frees - c2.pinned_frees == 1);
}

namespace {
struct SetTwice {
  int* y;
  void operator()(long i) const { y[i] = 2 * static_cast<int>(i); }
};
struct Square {
  const double* x;
  double operator()(long i) const { return x[i] * x[i]; }
};
struct Plus {
  double operator()(double a, double b) const { return a + b; }
};
struct Store {
  double* out;
  void operator()(long, double v) const { out[0] = v; }
};
}  // namespace

TEST_CASE("CUB stand-ins: DeviceFor::Bulk is a counted launch; DeviceReduce is two-phase, queued, repeatable") {
  cudaStream_t s = nullptr;
  REQUIRE(cudaStreamCreate(&s) == cudaSuccess);
  int* y = nullptr;
  REQUIRE(cudaMalloc(&y, 1000 * sizeof(int)) == cudaSuccess);
  const gas_emu_counters c0 = gas_emu_get_counters();
  REQUIRE(cub::DeviceFor::Bulk(1000L, SetTwice{y}, s) == cudaSuccess);
  REQUIRE(cub::DeviceFor::Bulk(0L, SetTwice{y}, s) == cudaSuccess);  // nothing to do: no launch
  CHECK(gas_emu_get_counters().launches - c0.launches == 1);
  std::vector<int> hy(1000);
  REQUIRE(cudaMemcpy(hy.data(), y, hy.size() * sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess);
  int bad = 0;
  for (int i = 0; i < 1000; ++i) bad += hy[i] != 2 * i;
  CHECK(bad == 0);

  const long n = 100000;
  std::vector<double> hx(n);
  for (long i = 0; i < n; ++i) hx[i] = 1.0 / static_cast<double>(i + 1);
  double *x = nullptr, *out = nullptr;
  REQUIRE(cudaMalloc(&x, n * sizeof(double)) == cudaSuccess);
  REQUIRE(cudaMalloc(&out, 2 * sizeof(double)) == cudaSuccess);
  REQUIRE(cudaMemcpy(x, hx.data(), n * sizeof(double), cudaMemcpyHostToDevice) == cudaSuccess);
  std::size_t bytes = 0;
  REQUIRE(cub::DeviceReduce::TransformReduce(nullptr, bytes, thrust::counting_iterator<long>(0),
                                             thrust::make_tabulate_output_iterator(Store{out}), n, Plus{}, Square{x},
                                             0.0, s) == cudaSuccess);
  REQUIRE(bytes > 0);
  void* temp = nullptr;
  REQUIRE(cudaMalloc(&temp, bytes) == cudaSuccess);
  double sums[2];
  for (int run = 0; run < 2; ++run) {
    REQUIRE(cub::DeviceReduce::TransformReduce(temp, bytes, thrust::counting_iterator<long>(0),
                                               thrust::make_tabulate_output_iterator(Store{out + run}), n, Plus{},
                                               Square{x}, 0.0, s) == cudaSuccess);
  }
  REQUIRE(cudaMemcpy(sums, out, sizeof sums, cudaMemcpyDeviceToHost) == cudaSuccess);
  double host = 0;
  for (long i = 0; i < n; ++i) host += hx[i] * hx[i];
  CHECK(std::memcmp(&sums[0], &sums[1], sizeof(double)) == 0);  // the same order every time
  CHECK(std::abs(sums[0] - host) <= 2.0 * static_cast<double>(n) * 0x1p-53 * host);  // the reordering bound
  cudaFree(temp);
  cudaFree(x);
  cudaFree(out);
  cudaFree(y);
  REQUIRE(cudaStreamDestroy(s) == cudaSuccess);
}

TEST_CASE("fake cuBLAS geam: C = alpha A + beta B, in place on B, with the in-place rule checked") {
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  // A is (3 x 2) in a leading dimension of 5, B = C (3 x 2) in a leading dimension of 3, column-major.
  std::vector<float> ha(10), hb(6);
  for (int i = 0; i < 10; ++i) ha[i] = static_cast<float>(i);
  for (int i = 0; i < 6; ++i) hb[i] = 100.0f * static_cast<float>(i);
  float *a = nullptr, *b = nullptr;
  REQUIRE(cudaMalloc(&a, ha.size() * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMalloc(&b, hb.size() * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMemcpy(a, ha.data(), ha.size() * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  REQUIRE(cudaMemcpy(b, hb.data(), hb.size() * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  const float one = 1.0f;
  CHECK(cublasSgeam(h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 2, &one, a, 5, &one, b, 3, b, 3) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasSgeam(h, CUBLAS_OP_N, CUBLAS_OP_T, 3, 2, &one, a, 5, &one, b, 3, b, 3) ==
        CUBLAS_STATUS_INVALID_VALUE);  // C = B transposed is not allowed in place
  CHECK(cublasSgeam(h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 2, &one, a, 2, &one, b, 3, b, 3) ==
        CUBLAS_STATUS_INVALID_VALUE);  // lda below m
  std::vector<float> c(6);
  REQUIRE(cudaMemcpy(c.data(), b, c.size() * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  int bad = 0;
  for (int j = 0; j < 2; ++j)
    for (int i = 0; i < 3; ++i) bad += c[i + 3 * j] != hb[i + 3 * j] + ha[i + 5 * j];
  CHECK(bad == 0);
  cudaFree(a);
  cudaFree(b);
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("abort cases (run by hand: EMU_ABORT_CASE=host-deref|early-exit|host-func-deref)") {
  const char* which = std::getenv("EMU_ABORT_CASE");
  if (which == nullptr) return;
  int* d;
  cudaMalloc(&d, 4096);
  if (std::string(which) == "host-deref") MESSAGE(d[0]);  // must fault
  if (std::string(which) == "early-exit") {
    early_exit_shuffle<<<1, 32>>>(d);
    cudaDeviceSynchronize();
  }
  if (std::string(which) == "host-func-deref") {  // host functions are host code: must fault
    fill<<<1, 32>>>(d, 1, 32);
    cudaLaunchHostFunc(nullptr, read_device, d);
    cudaDeviceSynchronize();
  }
}
