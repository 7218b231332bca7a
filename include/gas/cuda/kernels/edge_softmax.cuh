#pragma once
/// @brief Edge softmax on the device (per destination row over its incoming edges, per head), forward and
/// backward, matching ops::edge_softmax.
///
/// One thread owns each (row, head) pair and walks the row's edges in CSR order: attention has few heads and
/// rows have modest degrees, and owning the pair keeps the max, the sum and the dot product of the backward in
/// a fixed order without any cross-thread reduction. Scores are (E, heads) in CSR edge order.

#include <cuda_runtime.h>

#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

template <class T>
__global__ void edge_softmax_forward(DeviceCsrView adj, const T* __restrict__ s, std::int64_t heads, T* __restrict__ a) {
  const std::int64_t t = global_thread();
  if (t >= adj.rows * heads) return;
  const std::int64_t i = t / heads, h = t % heads;
  const std::int64_t begin = adj.indptr[i], end = adj.indptr[i + 1];
  if (begin == end) return;
  T m = s[begin * heads + h];
  for (std::int64_t e = begin + 1; e < end; ++e) m = s[e * heads + h] > m ? s[e * heads + h] : m;
  T sum = 0;
  for (std::int64_t e = begin; e < end; ++e) {
    const T v = dexp(s[e * heads + h] - m);
    a[e * heads + h] = v;
    sum += v;
  }
  const T inv = T{1} / sum;  // sum >= 1: the maximum contributes exp(0)
  for (std::int64_t e = begin; e < end; ++e) a[e * heads + h] *= inv;
}

// gs += a (g - sum_row(a g)) per head.
template <class T>
__global__ void edge_softmax_backward(DeviceCsrView adj, const T* __restrict__ a, const T* __restrict__ g,
                                      std::int64_t heads, T* __restrict__ gs) {
  const std::int64_t t = global_thread();
  if (t >= adj.rows * heads) return;
  const std::int64_t i = t / heads, h = t % heads;
  const std::int64_t begin = adj.indptr[i], end = adj.indptr[i + 1];
  T dot = 0;
  for (std::int64_t e = begin; e < end; ++e) dot += a[e * heads + h] * g[e * heads + h];
  for (std::int64_t e = begin; e < end; ++e) gs[e * heads + h] += a[e * heads + h] * (g[e * heads + h] - dot);
}

}  // namespace kernels
}  // namespace v0

namespace detail {
inline void check_edge_softmax(const DeviceCsrView& adj, std::int64_t rows, std::int64_t heads, const char* what) {
  GAS_CHECK(rows == adj.nnz && heads >= 1, shape_error,
            what << ": scores (" << rows << " x " << heads << ") need one row per edge of the adjacency (" << adj.rows
                 << " x " << adj.cols << ", " << adj.nnz << " edges) and at least one head");
}
}  // namespace detail

/// @brief alpha (E, heads) = softmax of scores (E, heads) over each row's edges, per head. Throws shape_error
/// naming the sizes unless scores has one row per edge and at least one column.
template <class T>
void edge_softmax_forward(const DeviceCsrView& adj, const T* scores, std::int64_t rows, std::int64_t heads, T* alpha,
                          cudaStream_t stream) {
  detail::check_edge_softmax(adj, rows, heads, "cuda::edge_softmax_forward");
  if (adj.rows == 0 || adj.nnz == 0) return;
  const auto grid = blocks_for(adj.rows * heads);
  check_grid(grid, "cuda::edge_softmax_forward");
  kernels::edge_softmax_forward<T><<<static_cast<unsigned>(grid), block_threads, 0, stream>>>(adj, scores, heads, alpha);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief gscores (E, heads) += the softmax backward of g (E, heads) through alpha (E, heads).
template <class T>
void edge_softmax_backward(const DeviceCsrView& adj, const T* alpha, const T* g, std::int64_t rows, std::int64_t heads,
                           T* gscores, cudaStream_t stream) {
  detail::check_edge_softmax(adj, rows, heads, "cuda::edge_softmax_backward");
  if (adj.rows == 0 || adj.nnz == 0) return;
  const auto grid = blocks_for(adj.rows * heads);
  check_grid(grid, "cuda::edge_softmax_backward");
  kernels::edge_softmax_backward<T><<<static_cast<unsigned>(grid), block_threads, 0, stream>>>(adj, alpha, g, heads,
                                                                                               gscores);
  GAS_CUDA_CHECK_LAUNCH();
}

}  // namespace gas::cuda
