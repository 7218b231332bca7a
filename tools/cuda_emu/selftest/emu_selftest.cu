// Self-test of the emulation itself: indexing, barriers, shuffles, stream order, protection.
#include <doctest/doctest.h>
#include <gas/cuda/memory.hpp>
#include <gas/cuda/kernels/common.cuh>
#include <vector>
#include <numeric>

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

TEST_CASE("stream order, events and deferred execution") {
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
  CHECK(back == 7);
  cudaMemcpyAsync(d, one.data(), 4, cudaMemcpyHostToDevice, a.get());
  one[0] = 5;  // pageable: staged at the call
  cudaMemcpyAsync(&back, d, 4, cudaMemcpyDeviceToHost, b.get());  // no order between a and b
  b.synchronize();
  CHECK(back == 7);  // b ran first: a's copy has not happened yet
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

TEST_CASE("abort cases (run by hand: EMU_ABORT_CASE=host-deref|early-exit)") {
  const char* which = std::getenv("EMU_ABORT_CASE");
  if (which == nullptr) return;
  int* d;
  cudaMalloc(&d, 4096);
  if (std::string(which) == "host-deref") MESSAGE(d[0]);  // must fault
  if (std::string(which) == "early-exit") {
    early_exit_shuffle<<<1, 32>>>(d);
    cudaDeviceSynchronize();
  }
}
