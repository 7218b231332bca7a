#pragma once
/// @brief Pieces every device kernel shares: vector packs, float/double math that picks the right intrinsic,
/// group indexing, the alignment test that decides between vector and scalar loads, the one elementwise launcher
/// (CUB's DeviceFor::Bulk over a device functor) and arena scratch for CUB's two-phase calls.

#include <cuda_runtime.h>

#include <cub/device/device_for.cuh>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "gas/core/check.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/launch.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

/// @brief N elements loaded or stored as one (16-byte) transaction when N * sizeof(T) is 16.
template <class T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

/// @brief e^x in T's precision (expf for float, so no silent promotion to double).
template <class T>
__device__ inline T dexp(T x) {
  if constexpr (std::is_same_v<T, float>) return expf(x);
  else return exp(x);
}
/// @brief e^x - 1 in T's precision.
template <class T>
__device__ inline T dexpm1(T x) {
  if constexpr (std::is_same_v<T, float>) return expm1f(x);
  else return expm1(x);
}
/// @brief tanh in T's precision.
template <class T>
__device__ inline T dtanh(T x) {
  if constexpr (std::is_same_v<T, float>) return tanhf(x);
  else return tanh(x);
}

/// @brief The global thread index as a 64-bit number (grids of many rows overflow int).
__device__ inline std::int64_t global_thread() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

/// @brief Sum over the `group` threads of a group (a power of two <= 32, aligned in its warp); every member
/// gets the total, formed in the same order on every run.
template <class V>
__device__ inline V group_sum(V v, int group) {
  for (int offset = group / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset, group);
  return v;
}

}  // namespace kernels
}  // namespace v0

namespace detail {
/// @brief True when `p` may be read in 16-byte packs.
inline bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

inline void check_size(std::int64_t n, const char* what) {
  GAS_CHECK(n >= 0, value_error, what << ": negative element count " << n);
}

/// @brief Queues f(e) for every e in [0, n) on `stream` (nothing for n == 0): every elementwise map of the backend
/// is a device functor run by this one launcher, `cub::DeviceFor::Bulk`. Throws value_error for a negative n.
template <class F>
void launch_elementwise(const F& f, std::int64_t n, const char* what, cudaStream_t stream) {
  check_size(n, what);
  if (n == 0) return;
  GAS_CUDA_CHECK(cub::DeviceFor::Bulk(n, f, stream));
}

/// @brief Launches a row-parallel kernel over `rows` rows of `width` elements of T (launch.hpp's RowLaunch), checked
/// against the grid limit: launch(v, grid, group) queues it, with v a std::integral_constant<int, V> whose V (16 /
/// sizeof(T) when `aligned` and the width allow 16-byte packs, else 1) is the kernel's pack template argument.
template <class T, class Launch>
void launch_rows(std::int64_t rows, std::int64_t width, bool aligned, const char* what, const Launch& launch) {
  const RowLaunch l = row_launch(rows, width, sizeof(T), aligned);
  check_grid(l.blocks, what);
  constexpr int pack = 16 / sizeof(T);
  if (l.vector == pack) launch(std::integral_constant<int, pack>{}, static_cast<unsigned>(l.blocks), l.group);
  else launch(std::integral_constant<int, 1>{}, static_cast<unsigned>(l.blocks), l.group);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief Runs a CUB two-phase call: call(nullptr, bytes) asks for the temporaries' size, then call(temp, bytes)
/// queues the work on `stream` with `temp` taken from the arena for that stream (returned in stream order, so a warm
/// step allocates nothing). `call` returns CUB's cudaError_t.
template <class Call>
void with_cub_scratch(const Call& call, cudaStream_t stream) {
  std::size_t bytes = 0;
  GAS_CUDA_CHECK(call(nullptr, bytes));
  DeviceBuffer<std::byte> temp(std::max<std::size_t>(bytes, 1), stream);  // a null pointer would ask again
  GAS_CUDA_CHECK(call(static_cast<void*>(temp.data()), bytes));
}
}  // namespace detail

}  // namespace gas::cuda
