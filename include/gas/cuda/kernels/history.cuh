#pragma once
/// @brief Kernels of the GPU history stores: a row gather that decodes bf16 rows to float as it reads them (half
/// the bytes cross the bus when the table is mapped pinned memory) and the matching round-to-nearest-even encode.
/// A float or double table needs neither: its gathers are cuda::gather_rows (gather.cuh).
///
/// The bit manipulations are those of history::half::bf16 (written out again because the host versions are
/// constexpr std::bit_cast code that device code cannot call without --expt-relaxed-constexpr); the tests check
/// that both give the same bits.

#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>

#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

__device__ inline float bf16_decode(std::uint16_t h) {
  const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

__device__ inline std::uint16_t bf16_encode(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);  // NaN stays NaN
  const std::uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

// out (n, width) = decode(table[ids[i]]) for a bf16 table of row stride `width`; one call per element.
template <class T>
struct GatherBf16Rows {
  const std::uint16_t* table;
  const node_id* ids;
  std::int64_t width;
  T* out;
  __device__ void operator()(std::int64_t t) const {
    const std::int64_t i = t / width, j = t % width;
    out[t] = static_cast<T>(bf16_decode(table[static_cast<std::int64_t>(ids[i]) * width + j]));
  }
};

// out[t] = encode(rows[t]).
template <class T>
struct EncodeBf16 {
  const T* rows;
  std::uint16_t* out;
  __device__ void operator()(std::int64_t t) const { out[t] = bf16_encode(static_cast<float>(rows[t])); }
};

}  // namespace kernels

/// @brief out (n, width) = the bf16 table's rows ids[i], decoded; `table` may be device or mapped pinned memory.
template <class T>
void gather_bf16_rows(const std::uint16_t* table, std::int64_t width, const node_id* ids, std::int64_t n, T* out,
                      cudaStream_t stream) {
  if (n == 0 || width == 0) return;
  detail::launch_elementwise(kernels::GatherBf16Rows<T>{table, ids, width, out}, n * width, "cuda::gather_bf16_rows",
                             stream);
}

/// @brief out[t] = bf16 encoding of rows[t], t < n (round to nearest even, as history::half::bf16::encode).
template <class T>
void encode_bf16(const T* rows, std::int64_t n, std::uint16_t* out, cudaStream_t stream) {
  detail::launch_elementwise(kernels::EncodeBf16<T>{rows, out}, n, "cuda::encode_bf16", stream);
}

}  // namespace v0
}  // namespace gas::cuda
