#pragma once
/// @brief Pieces every device kernel shares: vector packs, float/double math that picks the right intrinsic,
/// group indexing, and the alignment test that decides between vector and scalar loads.

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

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
}  // namespace detail

}  // namespace gas::cuda
