#pragma once
/// @brief Strided accumulation on the device: dst(i, j) += src(i, j) for two (rows, cols) views with their own
/// leading dimensions, the backward pass of concatenations and slices (a column block of a wider gradient added
/// into a narrow one, or the other way round). Copies need no kernel: Exec::copy is a 2D memcpy.
///
/// Each element is one thread's in a grid-stride loop over the row-major positions, so consecutive threads touch
/// consecutive columns of a row (coalesced) and no element is written twice: no atomics, exact sums.

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

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

}  // namespace kernels
}  // namespace v0

/// @brief dst(i, j) += src(i, j) for (rows, cols) device views whose rows are src_ld and dst_ld elements apart;
/// queued on `stream`. The two must not overlap. Throws shape_error for a negative shape or a leading dimension
/// below cols.
template <class T>
void add_strided(const T* src, std::int64_t src_ld, std::int64_t rows, std::int64_t cols, T* dst, std::int64_t dst_ld,
                 cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && cols >= 0 && src_ld >= cols && dst_ld >= cols, shape_error,
            "cuda::add_strided: (" << rows << " x " << cols << ") with leading dimensions " << src_ld << " and "
                                   << dst_ld);
  if (rows == 0 || cols == 0) return;
  // A grid-stride loop: enough blocks to fill the device several times over, never more than the work needs.
  const std::int64_t blocks = std::min<std::int64_t>(blocks_for(rows * cols), 65536);
  kernels::add_strided<T><<<static_cast<unsigned>(blocks), block_threads, 0, stream>>>(src, src_ld, rows, cols, dst,
                                                                                      dst_ld);
  GAS_CUDA_CHECK_LAUNCH();
}

}  // namespace gas::cuda
