#pragma once
/// @brief Reductions on the device: deterministic column sums (the bias gradient, batch-norm statistics), row
/// sums and dot products, totals of whole matrices, and row L2 norms with their backward, matching ops::sum_rows,
/// ops::sum_cols, ops::sum_all, the bias-add backward and ops::row_l2_norm; and the scan for the first element
/// that is not positive (ops::log's check).
///
/// Column sums run in two stages over fixed chunks of `column_chunk_rows` rows: each block sums a chunk of
/// 32 columns in double (8 row slices, then the slices in a fixed order), and a second kernel adds the chunk
/// partials in chunk order. Totals run in two stages too: a grid whose size depends only on the element count
/// forms one partial per block (strided per-thread sums, then a fixed shared-memory tree), and one block adds
/// the partials in a fixed tree. Row reductions give each row a group of threads that combine in a fixed
/// shuffle order. Every partition depends only on the shape, never on the GPU or on timing, so the results are
/// the same bits on every run; no atomics on floats.

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

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

// finish(i, s) once per row with s = sum_j term(i, j) in double, a group of threads per row.
template <class Term, class Finish>
__global__ void row_reduce(Term term, Finish finish, std::int64_t rows, std::int64_t cols, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t i = t / group;
  const int lane = static_cast<int>(t % group);
  const bool active = i < rows;  // no early return: every lane of the warp takes part in the shuffles
  double s = 0;
  if (active)
    for (std::int64_t j = lane; j < cols; j += group) s += term(i, j);
  s = group_sum(s, group);
  if (active && lane == 0) finish(i, s);
}

// Sum of the block_threads values of `sums` (one per thread) into sums[0], in a fixed tree; every thread calls it.
__device__ inline void block_tree_sum(double* sums) {
  for (int half = block_threads / 2; half > 0; half /= 2) {
    __syncthreads();
    if (static_cast<int>(threadIdx.x) < half) sums[threadIdx.x] += sums[threadIdx.x + half];
  }
  __syncthreads();
}

// partial[b] = sum of term(e) over the elements block b strides over (launched with block_threads threads).
template <class Term>
__global__ void total_partials(Term term, std::int64_t n, double* __restrict__ partial) {
  __shared__ double sums[block_threads];
  double s = 0;
  for (std::int64_t e = global_thread(); e < n; e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) s += term(e);
  sums[threadIdx.x] = s;
  block_tree_sum(sums);
  if (threadIdx.x == 0) partial[blockIdx.x] = sums[0];
}

// finish(total) with total = the sum of the `parts` partials, by one block of block_threads threads.
template <class Finish>
__global__ void total_finish(Finish finish, const double* __restrict__ partial, std::int64_t parts) {
  __shared__ double sums[block_threads];
  double s = 0;
  for (std::int64_t p = threadIdx.x; p < parts; p += blockDim.x) s += partial[p];
  sums[threadIdx.x] = s;
  block_tree_sum(sums);
  if (threadIdx.x == 0) finish(sums[0]);
}

template <class T>
struct RowValue {
  const T* x;
  std::int64_t cols;
  __device__ double operator()(std::int64_t i, std::int64_t j) const { return static_cast<double>(x[i * cols + j]); }
};

template <class T>
struct RowProduct {
  const T* a;
  const T* b;
  std::int64_t cols;
  __device__ double operator()(std::int64_t i, std::int64_t j) const {
    return static_cast<double>(a[i * cols + j]) * static_cast<double>(b[i * cols + j]);
  }
};

// out[i] = factor * T(s), or out[i] += T(s) when accumulating (factor is then 1).
template <class T>
struct StoreRow {
  T* out;
  T factor;
  bool accumulate;
  __device__ void operator()(std::int64_t i, double s) const {
    if (accumulate) out[i] += static_cast<T>(s);
    else out[i] = factor * static_cast<T>(s);
  }
};

template <class T>
struct FlatValue {
  const T* x;
  __device__ double operator()(std::int64_t e) const { return static_cast<double>(x[e]); }
};

template <class T>
struct StoreQuotient {
  T* out;
  double divisor;
  __device__ void operator()(double total) const { out[0] = static_cast<T>(total / divisor); }
};

// first[0] = min(first[0], the smallest e with !(x[e] > 0)); NaN counts as not positive. Integer minima do not
// depend on the order, so the atomics keep the result deterministic.
template <class T>
__global__ void first_non_positive(const T* __restrict__ x, std::int64_t n, unsigned long long* __restrict__ first) {
  unsigned long long mine = ~0ull;
  // A thread's elements rise with the stride, so its first bad one is its smallest.
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

}  // namespace kernels
}  // namespace v0

/// @brief Most partials of a total (the first stage's grid is at most this many blocks, so the second stage is
/// one block reading a few KiB).
inline constexpr std::int64_t total_max_parts = 1024;

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

/// @brief Runs finish(i, s) for every row i of a (rows, cols) reduction, s = sum_j term(i, j) in double (device
/// functors, passed by value), deterministically (see the file comment). Throws shape_error for a negative shape.
template <class Term, class Finish>
void row_reduce(std::int64_t rows, std::int64_t cols, const Term& term, const Finish& finish, cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "cuda::row_reduce: negative shape (" << rows << ", " << cols << ")");
  if (rows == 0) return;
  const RowLaunch l = row_launch(rows, cols, sizeof(double), false);
  check_grid(l.blocks, "cuda::row_reduce");
  kernels::row_reduce<Term, Finish><<<static_cast<unsigned>(l.blocks), block_threads, 0, stream>>>(term, finish, rows,
                                                                                                   cols, l.group);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief out (rows, 1) = factor * row sums of the contiguous (rows, cols) x, summed in double: ops::sum_cols
/// and its mean. Deterministic.
template <class T>
void row_sums(const T* x, std::int64_t rows, std::int64_t cols, T* out, T factor, cudaStream_t stream) {
  row_reduce(rows, cols, kernels::RowValue<T>{x, cols}, kernels::StoreRow<T>{out, factor, false}, stream);
}

/// @brief out (rows, 1) += sum_j a(i, j) b(i, j) for contiguous (rows, cols) a and b, summed in double (the
/// gradient of per-row factors). Deterministic.
template <class T>
void add_row_dots(const T* a, const T* b, std::int64_t rows, std::int64_t cols, T* out, cudaStream_t stream) {
  row_reduce(rows, cols, kernels::RowProduct<T>{a, b, cols}, kernels::StoreRow<T>{out, T{1}, true}, stream);
}

/// @brief Runs finish(total) once, total = sum of term(e) over e in [0, n) in double (device functors, passed by
/// value), deterministically (see the file comment); for n == 0 the total is 0. Scratch comes from the arena on
/// `stream`. Throws value_error for a negative n.
template <class Term, class Finish>
void total_reduce(std::int64_t n, const Term& term, const Finish& finish, cudaStream_t stream) {
  GAS_CHECK(n >= 0, value_error, "cuda::total_reduce: negative element count " << n);
  const std::int64_t parts = std::clamp<std::int64_t>(blocks_for(n), 1, total_max_parts);
  DeviceBuffer<double> partial(static_cast<std::size_t>(parts), stream);
  kernels::total_partials<Term><<<static_cast<unsigned>(parts), block_threads, 0, stream>>>(term, n, partial.data());
  GAS_CUDA_CHECK_LAUNCH();
  kernels::total_finish<Finish><<<1, block_threads, 0, stream>>>(finish, partial.data(), parts);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief out[0] = T(sum of the n contiguous elements of x, in double, / divisor): ops::sum_all (divisor 1) and
/// ops::mean_all (divisor n). Deterministic.
template <class T>
void total_sum(const T* x, std::int64_t n, T* out, double divisor, cudaStream_t stream) {
  total_reduce(n, kernels::FlatValue<T>{x}, kernels::StoreQuotient<T>{out, divisor}, stream);
}

/// @brief The smallest index e < n with !(x[e] > 0) (NaN included) among n contiguous device elements, or -1 when
/// all are positive. Waits for the stream: it is for an op that must validate its input before recording it
/// (ops::log); the scan itself is one kernel and the answer one 8-byte download. Throws value_error for a
/// negative n.
template <class T>
std::int64_t first_non_positive(const T* x, std::int64_t n, cudaStream_t stream) {
  GAS_CHECK(n >= 0, value_error, "cuda::first_non_positive: negative element count " << n);
  if (n == 0) return -1;
  DeviceBuffer<unsigned long long> first(1, stream);
  GAS_CUDA_CHECK(cudaMemsetAsync(first.data(), 0xff, sizeof(unsigned long long), stream));  // all ones: none found
  const auto grid = static_cast<unsigned>(std::min<std::int64_t>(blocks_for(n), 65536));
  kernels::first_non_positive<T><<<grid, block_threads, 0, stream>>>(x, n, first.data());
  GAS_CUDA_CHECK_LAUNCH();
  unsigned long long found = 0;
  GAS_CUDA_CHECK(cudaMemcpyAsync(&found, first.data(), sizeof found, cudaMemcpyDeviceToHost, stream));
  GAS_CUDA_CHECK(cudaStreamSynchronize(stream));
  return found == std::numeric_limits<unsigned long long>::max() ? -1 : static_cast<std::int64_t>(found);
}

}  // namespace gas::cuda
