// CUDA suite: skips (not fails) where no GPU is present.
#include <doctest/doctest.h>

#include <vector>

#include <gas/gas.hpp>  // the whole library must build under nvcc: users include it from .cu files

namespace {

__global__ void axpy(int n, float a, const float* x, float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] += a * x[i];
}

const bool no_gpu = !gas::cuda::available();

}  // namespace

TEST_CASE("umbrella header works in a CUDA translation unit without a GPU") {
  const gas::Dataset data = gas::io::load("sbm:nodes=200,classes=2,features=3,seed=4");
  CHECK(data.num_nodes() == 200);
  CHECK(gas::is_symmetric(data.graph));
}

TEST_CASE("cuda_device_count_is_safe_without_gpu") {
  CHECK(gas::cuda::device_count() >= 0);  // must not throw, even without a driver
}

TEST_CASE("cuda_axpy_matches_host" * doctest::skip(no_gpu)) {
  const int n = 1000;
  std::vector<float> x(n), y(n), expect(n);
  for (int i = 0; i < n; ++i) {
    x[i] = 0.5f * i;
    y[i] = 1.0f - i;
    expect[i] = y[i] + 2.0f * x[i];
  }
  float *dx = nullptr, *dy = nullptr;
  GAS_CUDA_CHECK(cudaMalloc(&dx, n * sizeof(float)));
  GAS_CUDA_CHECK(cudaMalloc(&dy, n * sizeof(float)));
  GAS_CUDA_CHECK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  GAS_CUDA_CHECK(cudaMemcpy(dy, y.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  axpy<<<(n + 255) / 256, 256>>>(n, 2.0f, dx, dy);
  GAS_CUDA_CHECK_LAUNCH();
  GAS_CUDA_CHECK(cudaMemcpy(y.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
  GAS_CUDA_CHECK(cudaFree(dx));
  GAS_CUDA_CHECK(cudaFree(dy));
  CHECK(y == expect);
}

TEST_CASE("cuda_error_names_the_call" * doctest::skip(no_gpu)) {
  void* p = nullptr;
  CHECK_THROWS_AS(GAS_CUDA_CHECK(cudaMalloc(&p, ~std::size_t{0} >> 1)), gas::cuda_error);
}
