#pragma once
/// @brief Reductions on the device: deterministic column sums (the bias gradient, batch-norm statistics), row
/// sums and dot products, totals of whole matrices, and row L2 norms with their backward, matching ops::sum_rows,
/// ops::sum_cols, ops::sum_all, the bias-add backward and ops::row_l2_norm; and the scan for the first element
/// that is not positive (ops::log's check).
///
/// Column sums run in two stages over fixed chunks of `column_chunk_rows` rows: each block sums a chunk of
/// 32 columns in double (8 row slices, then the slices in a fixed order), and a second kernel adds the chunk
/// partials in chunk order. Row reductions give each row a group of threads that combine in a fixed shuffle order.
/// Both partitions depend only on the shape, never on the GPU or on timing: the same bits on every run and every GPU.
/// Totals are `cub::DeviceReduce::TransformReduce` in double, its finish run by the output iterator: no atomics on
/// floats, so the same bits on every run on one GPU, but CUB sizes its grid from the GPU (SM count, architecture), so
/// two GPUs may order the additions differently (docs/cuda.md, "Determinism").

#include <cuda_runtime.h>

#include <cub/device/device_reduce.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/tabulate_output_iterator.h>

#include <algorithm>
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

template <class T>
struct RowSquare {
  const T* x;
  std::int64_t cols;
  __device__ double operator()(std::int64_t i, std::int64_t j) const {
    const double v = x[i * cols + j];
    return v * v;
  }
};

template <class T>
struct StoreSqrt {
  T* out;
  __device__ void operator()(std::int64_t i, double s) const { out[i] = static_cast<T>(sqrt(s)); }
};

template <class T>
struct RowL2NormBackward {
  const T* x;
  const T* norm;
  const T* g;
  std::int64_t cols;
  T* gx;
  __device__ void operator()(std::int64_t e) const {
    const std::int64_t i = e / cols;
    const T r = norm[i];
    if (r != T{0}) gx[e] += (g[i] / r) * x[e];  // an all-zero row: 0 (a subgradient) rather than NaN, as on the host
  }
};

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

// The finish of a total, called by CUB through a tabulate_output_iterator with (0, total).
template <class Finish>
struct FinishTotal {
  Finish finish;
  __device__ void operator()(std::int64_t, double total) const { finish(total); }
};

struct SumDoubles {
  __device__ double operator()(double a, double b) const { return a + b; }
};

// e when !(x[e] > 0) (NaN counts as not positive), else n; the minimum over e is the first such e (exact: integers).
template <class T>
struct NonPositiveAt {
  const T* x;
  std::int64_t n;
  __device__ std::int64_t operator()(std::int64_t e) const { return x[e] > T{0} ? n : e; }
};

struct MinIndex {
  __device__ std::int64_t operator()(std::int64_t a, std::int64_t b) const { return b < a ? b : a; }
};

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

/// @brief gx (rows, cols) += (g_i / norm_i) x(i, j), skipping rows whose norm is 0, as ops::row_l2_norm.
template <class T>
void row_l2_norm_backward(const T* x, const T* norm, const T* g, std::int64_t rows, std::int64_t cols, T* gx,
                          cudaStream_t stream) {
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error,
            "cuda::row_l2_norm_backward: negative shape (" << rows << ", " << cols << ")");
  detail::launch_elementwise(kernels::RowL2NormBackward<T>{x, norm, g, cols, gx}, rows * cols,
                             "cuda::row_l2_norm_backward", stream);
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

/// @brief norm (rows, 1) = the Euclidean length of each row of the contiguous (rows, cols) x, squares summed in
/// double. Throws shape_error for a negative shape.
template <class T>
void row_l2_norm(const T* x, std::int64_t rows, std::int64_t cols, T* norm, cudaStream_t stream) {
  row_reduce(rows, cols, kernels::RowSquare<T>{x, cols}, kernels::StoreSqrt<T>{norm}, stream);
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

/// @brief The bytes of scratch total_reduce_into needs for n terms (CUB's size query; no allocation, no CUDA work).
template <class Term, class Finish>
std::size_t total_reduce_scratch_bytes(std::int64_t n, const Term& term, const Finish& finish) {
  std::size_t bytes = 0;
  GAS_CUDA_CHECK(cub::DeviceReduce::TransformReduce(
      nullptr, bytes, thrust::counting_iterator<std::int64_t>(0),
      thrust::make_tabulate_output_iterator(kernels::FinishTotal<Finish>{finish}), n, kernels::SumDoubles{}, term, 0.0,
      cudaStream_t{}));
  return bytes;
}

/// @brief total_reduce with the caller's scratch (`scratch_bytes` >= total_reduce_scratch_bytes(n, ...)), so that a
/// caller that keeps its scratch (the clip) allocates nothing. Throws value_error for a negative n or too little
/// scratch.
template <class Term, class Finish>
void total_reduce_into(std::int64_t n, const Term& term, const Finish& finish, void* scratch, std::size_t scratch_bytes,
                       cudaStream_t stream) {
  GAS_CHECK(n >= 0, value_error, "cuda::total_reduce: negative element count " << n);
  const std::size_t needed = total_reduce_scratch_bytes(n, term, finish);
  GAS_CHECK(scratch_bytes >= needed, value_error,
            "cuda::total_reduce: " << scratch_bytes << " bytes of scratch, " << needed << " needed");
  GAS_CUDA_CHECK(cub::DeviceReduce::TransformReduce(
      scratch, scratch_bytes, thrust::counting_iterator<std::int64_t>(0),
      thrust::make_tabulate_output_iterator(kernels::FinishTotal<Finish>{finish}), n, kernels::SumDoubles{}, term, 0.0,
      stream));
}

/// @brief Runs finish(total) once, total = sum of term(e) over e in [0, n) in double (device functors, passed by
/// value), with the same bits on every run on one GPU (see the file comment); for n == 0 the total is 0. Scratch comes
/// from the arena on `stream`. Throws value_error for a negative n.
template <class Term, class Finish>
void total_reduce(std::int64_t n, const Term& term, const Finish& finish, cudaStream_t stream) {
  GAS_CHECK(n >= 0, value_error, "cuda::total_reduce: negative element count " << n);
  const std::size_t bytes = total_reduce_scratch_bytes(n, term, finish);
  DeviceBuffer<std::byte> scratch(std::max<std::size_t>(bytes, 1), stream);
  total_reduce_into(n, term, finish, scratch.data(), bytes, stream);
}

/// @brief out[0] = T(sum of the n contiguous elements of x, in double, / divisor): ops::sum_all (divisor 1) and
/// ops::mean_all (divisor n). Deterministic.
template <class T>
void total_sum(const T* x, std::int64_t n, T* out, double divisor, cudaStream_t stream) {
  total_reduce(n, kernels::FlatValue<T>{x}, kernels::StoreQuotient<T>{out, divisor}, stream);
}

/// @brief The smallest index e < n with !(x[e] > 0) (NaN included) among n contiguous device elements, or -1 when
/// all are positive. Waits for the stream: it is for an op that must validate its input before recording it
/// (ops::log); the scan is one cub::DeviceReduce minimum over the indices (exact) and the answer one 8-byte download.
/// Throws value_error for a negative n.
template <class T>
std::int64_t first_non_positive(const T* x, std::int64_t n, cudaStream_t stream) {
  GAS_CHECK(n >= 0, value_error, "cuda::first_non_positive: negative element count " << n);
  if (n == 0) return -1;
  DeviceBuffer<std::int64_t> first(1, stream);
  detail::with_cub_scratch(
      [&](void* temp, std::size_t& bytes) {
        return cub::DeviceReduce::TransformReduce(temp, bytes, thrust::counting_iterator<std::int64_t>(0), first.data(),
                                                  n, kernels::MinIndex{}, kernels::NonPositiveAt<T>{x, n}, n, stream);
      },
      stream);
  std::int64_t found = 0;
  GAS_CUDA_CHECK(cudaMemcpyAsync(&found, first.data(), sizeof found, cudaMemcpyDeviceToHost, stream));
  GAS_CUDA_CHECK(cudaStreamSynchronize(stream));
  return found == n ? -1 : found;
}

}  // namespace gas::cuda
