#pragma once
/// @brief Reductions on the device: deterministic column sums (the bias gradient, batch-norm statistics) and
/// row L2 norms with their backward, matching ops::sum_rows, the bias-add backward and ops::row_l2_norm.
///
/// Column sums run in two stages over fixed chunks of `column_chunk_rows` rows: each block sums a chunk of
/// 32 columns in double (8 row slices, then the slices in a fixed order), and a second kernel adds the chunk
/// partials in chunk order. The partition depends only on the shape, never on the GPU or on timing, so the
/// result is the same bits on every run; no atomics.

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"

namespace gas::cuda {

/// @brief Rows per chunk of the column reductions (fixed, so results do not depend on the hardware).
inline constexpr std::int64_t column_chunk_rows = 1024;

/// @brief K doubles: what a column-reduction term returns per element.
template <int K>
struct Terms {
  double v[K];
};

inline namespace v0 {
namespace kernels {

inline constexpr int reduce_tile_cols = 32;
inline constexpr int reduce_slices = 8;

// partial (K, chunks, cols) = per-chunk sums of term(i, j).
template <int K, class Term>
__global__ void column_partials(Term term, std::int64_t rows, std::int64_t cols, double* __restrict__ partial) {
  __shared__ double tile[reduce_slices][reduce_tile_cols][K];
  const std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * reduce_tile_cols + threadIdx.x;
  const std::int64_t chunk = blockIdx.y;
  const std::int64_t chunks = gridDim.y;
  const std::int64_t end = rows < (chunk + 1) * column_chunk_rows ? rows : (chunk + 1) * column_chunk_rows;
  double acc[K] = {};
  if (j < cols)
    for (std::int64_t i = chunk * column_chunk_rows + threadIdx.y; i < end; i += reduce_slices) {
      const Terms<K> t = term(i, j);
      for (int k = 0; k < K; ++k) acc[k] += t.v[k];
    }
  for (int k = 0; k < K; ++k) tile[threadIdx.y][threadIdx.x][k] = acc[k];
  __syncthreads();
  if (threadIdx.y == 0 && j < cols)
    for (int k = 0; k < K; ++k) {
      double s = 0;
      for (int y = 0; y < reduce_slices; ++y) s += tile[y][threadIdx.x][k];
      partial[(k * chunks + chunk) * cols + j] = s;
    }
}

// finish(j, sums) once per column with the chunk partials added in chunk order.
template <int K, class Finish>
__global__ void column_finish(Finish finish, const double* __restrict__ partial, std::int64_t chunks, std::int64_t cols) {
  const std::int64_t j = global_thread();
  if (j >= cols) return;
  Terms<K> sums;
  for (int k = 0; k < K; ++k) {
    double s = 0;
    for (std::int64_t c = 0; c < chunks; ++c) s += partial[(k * chunks + c) * cols + j];
    sums.v[k] = s;
  }
  finish(j, sums);
}

template <class T>
struct ColumnValue {
  const T* x;
  std::int64_t cols;
  __device__ Terms<1> operator()(std::int64_t i, std::int64_t j) const { return {{static_cast<double>(x[i * cols + j])}}; }
};

template <class T>
struct StoreSum {
  T* out;
  T factor;
  bool accumulate;
  __device__ void operator()(std::int64_t j, const Terms<1>& s) const {
    const T v = factor * static_cast<T>(s.v[0]);
    out[j] = accumulate ? out[j] + v : v;
  }
};

// norm (rows) = sqrt(sum_j x(i, j)^2) in double, a group of threads per row.
template <class T>
__global__ void row_l2_norm(const T* __restrict__ x, std::int64_t rows, std::int64_t cols, T* __restrict__ norm,
                            int group) {
  const std::int64_t t = global_thread();
  const std::int64_t i = t / group;
  const int lane = static_cast<int>(t % group);
  const bool active = i < rows;  // no early return: every lane of the warp takes part in the shuffles
  double s = 0;
  if (active)
    for (std::int64_t j = lane; j < cols; j += group) {
      const double v = x[i * cols + j];
      s += v * v;
    }
  s = group_sum(s, group);
  if (active && lane == 0) norm[i] = static_cast<T>(sqrt(s));
}

template <class T>
__global__ void row_l2_norm_backward(const T* __restrict__ x, const T* __restrict__ norm, const T* __restrict__ g,
                                     std::int64_t rows, std::int64_t cols, T* __restrict__ gx) {
  const std::int64_t n = rows * cols;
  for (std::int64_t e = global_thread(); e < n; e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e / cols;
    const T r = norm[i];
    if (r == T{0}) continue;  // an all-zero row: 0 (a subgradient) rather than NaN, as on the host
    gx[e] += (g[i] / r) * x[e];
  }
}

}  // namespace kernels
}  // namespace v0

/// @brief Runs finish(j, Terms<K> sums) for every column j of a (rows, cols) reduction whose element terms are
/// term(i, j) (device functors, passed by value), deterministically (see the file comment). Scratch comes from
/// the arena on `stream`.
template <int K, class Term, class Finish>
void column_reduce(std::int64_t rows, std::int64_t cols, const Term& term, const Finish& finish, cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "cuda::column_reduce: negative shape (" << rows << ", " << cols << ")");
  if (cols == 0) return;
  const std::int64_t chunks = std::max<std::int64_t>(1, (rows + column_chunk_rows - 1) / column_chunk_rows);
  GAS_CHECK(chunks <= 65535, value_error, "cuda::column_reduce: " << rows << " rows exceed the grid's y limit");
  DeviceBuffer<double> partial(static_cast<std::size_t>(K * chunks * cols), stream);
  const dim3 grid(static_cast<unsigned>((cols + kernels::reduce_tile_cols - 1) / kernels::reduce_tile_cols),
                  static_cast<unsigned>(chunks));
  const dim3 block(kernels::reduce_tile_cols, kernels::reduce_slices);
  kernels::column_partials<K, Term><<<grid, block, 0, stream>>>(term, rows, cols, partial.data());
  GAS_CUDA_CHECK_LAUNCH();
  kernels::column_finish<K, Finish><<<static_cast<unsigned>(blocks_for(cols)), block_threads, 0, stream>>>(
      finish, partial.data(), chunks, cols);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief out (1, cols) (+)= factor * column sums of the contiguous (rows, cols) x, summed in double: the bias
/// gradient, ops::sum_rows and its mean. Deterministic.
template <class T>
void column_sums(const T* x, std::int64_t rows, std::int64_t cols, T* out, bool accumulate, cudaStream_t stream,
                 T factor = T{1}) {
  column_reduce<1>(rows, cols, kernels::ColumnValue<T>{x, cols}, kernels::StoreSum<T>{out, factor, accumulate}, stream);
}

/// @brief norm (rows, 1) = the Euclidean length of each row of the contiguous (rows, cols) x, squares summed in
/// double. Throws shape_error for a negative shape.
template <class T>
void row_l2_norm(const T* x, std::int64_t rows, std::int64_t cols, T* norm, cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "cuda::row_l2_norm: negative shape (" << rows << ", " << cols << ")");
  if (rows == 0) return;
  const RowLaunch l = row_launch(rows, cols, sizeof(T), false);
  check_grid(l.blocks, "cuda::row_l2_norm");
  kernels::row_l2_norm<T><<<static_cast<unsigned>(l.blocks), block_threads, 0, stream>>>(x, rows, cols, norm, l.group);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief gx (rows, cols) += (g_i / norm_i) x(i, j), skipping rows whose norm is 0, as ops::row_l2_norm.
template <class T>
void row_l2_norm_backward(const T* x, const T* norm, const T* g, std::int64_t rows, std::int64_t cols, T* gx,
                          cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error,
            "cuda::row_l2_norm_backward: negative shape (" << rows << ", " << cols << ")");
  if (rows * cols == 0) return;
  const auto grid = static_cast<unsigned>(std::min<std::int64_t>(blocks_for(rows * cols), 65536));
  kernels::row_l2_norm_backward<T><<<grid, block_threads, 0, stream>>>(x, norm, g, rows, cols, gx);
  GAS_CUDA_CHECK_LAUNCH();
}

}  // namespace gas::cuda
