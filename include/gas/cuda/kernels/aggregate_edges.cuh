#pragma once
/// @brief aggregate_edges on the device, forward and backward, matching ops::aggregate_edges: row i reduces the
/// message rows of its edges (sum, mean, max or min; 0 for an empty row).
///
/// Layout as on the host: messages are (E, width), one row per CSR entry, so a row's messages are contiguous. The
/// forward pass is spmm.cuh's kernel reading message row e in place of neighbor row col(e): a group of threads owns
/// each output row and its lanes split the features in 16-byte packs where the width and the pointers allow. The
/// backward pass is row-parallel too: every edge belongs to one row, so the group
/// owning row i writes the gradients of row i's edges and nothing else; no transpose, no atomics.

#include <cuda_runtime.h>

#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/edge.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/cuda/kernels/spmm.cuh"
#include "gas/ops/aggregation.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

// gm (E, width) += g_i for every edge of row i (sum), or g_i / deg(i) (mean).
template <class T, int V, bool Mean>
__global__ void aggregate_edges_backward_sum(DeviceCsrView adj, const T* __restrict__ g, std::int64_t width,
                                             T* __restrict__ gm, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t row = t / group;
  if (row >= adj.rows) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t begin = adj.indptr[row], end = adj.indptr[row + 1];
  if (end == begin) return;
  const std::int64_t packs = width / V;
  using P = Pack<T, V>;
  const P* __restrict__ gp = reinterpret_cast<const P*>(g);
  P* __restrict__ op = reinterpret_cast<P*>(gm);
  const T s = Mean ? T{1} / static_cast<T>(end - begin) : T{1};
  for (std::int64_t c = lane; c < packs; c += group) {
    const P gi = gp[row * packs + c];
    for (std::int64_t e = begin; e < end; ++e) {
      P acc = op[e * packs + c];
      for (int k = 0; k < V; ++k) acc.v[k] += s * gi.v[k];
      op[e * packs + c] = acc;
    }
  }
}

// gm (E, width): element (arg(i, f), f) += g(i, f) for every row i (max, min).
template <class T>
__global__ void aggregate_edges_backward_arg(DeviceCsrView adj, const T* __restrict__ g,
                                             const std::int64_t* __restrict__ arg, std::int64_t width,
                                             T* __restrict__ gm, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t row = t / group;
  if (row >= adj.rows) return;
  const int lane = static_cast<int>(t % group);
  for (std::int64_t f = lane; f < width; f += group) {
    const std::int64_t e = arg[row * width + f];
    if (e >= 0) gm[e * width + f] += g[row * width + f];
  }
}

}  // namespace kernels
}  // namespace v0

/// @brief out (adj.rows, width) = the reduction R over each row's messages m (E, width), as ops::aggregate_edges;
/// for max and min, `arg` (adj.rows, width) receives the winning edge per element (-1 for an empty row), or pass
/// nullptr when no backward pass follows. Contiguous row-major device arrays; queued on `stream`. Throws
/// shape_error naming the shapes unless m has one row per edge.
template <ops::aggr::Reduction R, class T>
void aggregate_edges_forward(const DeviceCsrView& adj, const T* m, std::int64_t m_rows, std::int64_t width, T* out,
                             std::int64_t* arg, cudaStream_t stream) {
  detail::check_edge_rows(adj, m_rows, width, "cuda::aggregate_edges_forward", "messages");
  if (adj.rows == 0 || width == 0) return;
  // spmm's forward kernel with one message row per edge in place of the neighbors' rows.
  detail::launch_rows<T>(adj.rows, width, detail::aligned16(m) && detail::aligned16(out), "cuda::aggregate_edges_forward",
                         [&](auto v, unsigned grid, int group) {
                           kernels::spmm_forward<T, decltype(v)::value, R, false, true, std::int64_t><<<grid, block_threads, 0, stream>>>(adj, m, width, out, arg, group);
                         });
}

/// @brief gm (E, width) += d aggregate_edges<R> / d m applied to g (adj.rows, width): each edge receives its row's
/// gradient (sum), divided by the row's degree (mean), or the elements its row chose (max, min: the `arg` that
/// aggregate_edges_forward wrote). Throws shape_error for mismatched sizes, value_error when max/min lack `arg`.
template <ops::aggr::Reduction R, class T>
void aggregate_edges_backward(const DeviceCsrView& adj, const T* g, std::int64_t g_rows, std::int64_t width,
                              const std::int64_t* arg, T* gm, std::int64_t gm_rows, cudaStream_t stream) {
  detail::check_node_rows(adj, g_rows, width, adj.rows, "cuda::aggregate_edges_backward", "gradient");
  detail::check_edge_rows(adj, gm_rows, width, "cuda::aggregate_edges_backward", "message gradient");
  constexpr bool extreme = ops::aggr::is_extreme(R);
  GAS_CHECK(!extreme || arg != nullptr || adj.rows == 0 || width == 0, value_error,
            "cuda::aggregate_edges_backward: max/min need the argument array that aggregate_edges_forward wrote");
  if (adj.nnz == 0 || width == 0) return;  // no edges: nothing flows back
  [[maybe_unused]] constexpr bool mean = R == ops::aggr::Reduction::mean;  // read by the sum path only
  detail::launch_rows<T>(adj.rows, width, detail::aligned16(g) && detail::aligned16(gm) && !extreme,
                         "cuda::aggregate_edges_backward", [&](auto v, unsigned grid, int group) {
                           if constexpr (extreme) kernels::aggregate_edges_backward_arg<T><<<grid, block_threads, 0, stream>>>(adj, g, arg, width, gm, group);
                           else kernels::aggregate_edges_backward_sum<T, decltype(v)::value, mean><<<grid, block_threads, 0, stream>>>(adj, g, width, gm, group);
                         });
}

}  // namespace gas::cuda
