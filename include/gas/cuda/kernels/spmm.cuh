#pragma once
/// @brief spmm on the device: out_i = A_{e in row i} x_col(e) for sum (edge weights), mean, max and min, and
/// the backward passes, each matching ops::spmm on the host.
///
/// Strategy. A group of threads (kernels/launch.hpp) owns each output row; its lanes split the features in
/// 16-byte packs (float4 / double2) when the width and pointers allow, scalars otherwise, so the row's
/// neighbor rows are read fully coalesced and the accumulator stays in registers. Rows are dealt out in CSR
/// order with one group each: a hub row keeps its group busy longer, but a batch has many more rows than the
/// GPU has groups in flight, so the other groups keep the memory system saturated meanwhile; no row is split,
/// which keeps each output element's summation order fixed (deterministic, no atomics). A merge-path split of
/// very heavy rows would need a second combining pass and is left for when profiles show hub rows dominating.
///
/// Backward. Sum and mean scatter against the edges through the transposed index of DeviceCsr: each input row
/// is again owned by one group, which adds its incoming entries in row order. Max and min route each output
/// element's gradient to its recorded argument; the owner of input row j walks its transposed entries and takes
/// g(r, f) where arg(r, f) == j, in ascending r, which is exactly the host's order, so those sums are bit-equal.
/// Every backward adds into the gradient buffer (the tape zeroes it first).

#include <cuda_runtime.h>

#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/ops/aggregation.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

// x (adj.cols, width), out (adj.rows, width), arg (adj.rows, width) or null; V elements per pack. PerEdge: entry e
// reads row e of x (one message per edge, x (adj.nnz, width): aggregate_edges) instead of row col(e), and arg records
// edges (64-bit) instead of columns.
template <class T, int V, ops::aggr::Reduction R, bool Weighted, bool PerEdge = false, class Arg = node_id>
__global__ void spmm_forward(DeviceCsrView adj, const T* __restrict__ x, std::int64_t width, T* __restrict__ out,
                             Arg* __restrict__ arg, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t row = t / group;
  if (row >= adj.rows) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t begin = adj.indptr[row], end = adj.indptr[row + 1];
  const std::int64_t packs = width / V;
  using P = Pack<T, V>;
  const P* __restrict__ xp = reinterpret_cast<const P*>(x);
  P* __restrict__ op = reinterpret_cast<P*>(out);
  for (std::int64_t c = lane; c < packs; c += group) {
    P acc;
    if constexpr (R == ops::aggr::Reduction::sum || R == ops::aggr::Reduction::mean) {
      for (int k = 0; k < V; ++k) acc.v[k] = T{0};
      for (std::int64_t e = begin; e < end; ++e) {
        const P v = xp[(PerEdge ? e : static_cast<std::int64_t>(adj.indices[e])) * packs + c];
        if constexpr (Weighted) {
          const T w = static_cast<T>(adj.weights[e]);
          for (int k = 0; k < V; ++k) acc.v[k] += w * v.v[k];
        } else {
          for (int k = 0; k < V; ++k) acc.v[k] += v.v[k];
        }
      }
      if constexpr (R == ops::aggr::Reduction::mean) {
        if (end > begin) {
          const T scale = T{1} / static_cast<T>(end - begin);
          for (int k = 0; k < V; ++k) acc.v[k] *= scale;
        }
      }
    } else {
      constexpr bool is_max = R == ops::aggr::Reduction::max;
      Arg best[V];
      if (end == begin) {  // PyG's convention, as on the host: an empty row gives 0 and no argument
        for (int k = 0; k < V; ++k) {
          acc.v[k] = T{0};
          best[k] = -1;
        }
      } else {
        const Arg c0 = PerEdge ? static_cast<Arg>(begin) : static_cast<Arg>(adj.indices[begin]);
        acc = xp[static_cast<std::int64_t>(c0) * packs + c];
        for (int k = 0; k < V; ++k) best[k] = c0;
        for (std::int64_t e = begin + 1; e < end; ++e) {
          const Arg col = PerEdge ? static_cast<Arg>(e) : static_cast<Arg>(adj.indices[e]);
          const P v = xp[static_cast<std::int64_t>(col) * packs + c];
          for (int k = 0; k < V; ++k) {
            const bool better = is_max ? v.v[k] > acc.v[k] : v.v[k] < acc.v[k];  // strict: first wins a tie
            acc.v[k] = better ? v.v[k] : acc.v[k];
            best[k] = better ? col : best[k];
          }
        }
      }
      if (arg != nullptr)
        for (int k = 0; k < V; ++k) arg[row * width + c * V + k] = best[k];
    }
    op[row * packs + c] = acc;
  }
}

// gx (adj.cols, width) += A^T g with g (adj.rows, width): s_e = w_e (weighted sum), 1 / deg(row) (mean) or 1.
template <class T, int V, bool Mean, bool Weighted>
__global__ void spmm_backward_sum(DeviceCsrView adj, const T* __restrict__ g, std::int64_t width, T* __restrict__ gx,
                                  int group) {
  const std::int64_t t = global_thread();
  const std::int64_t j = t / group;
  if (j >= adj.cols) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t begin = adj.t_offsets[j], end = adj.t_offsets[j + 1];
  const std::int64_t packs = width / V;
  using P = Pack<T, V>;
  const P* __restrict__ gp = reinterpret_cast<const P*>(g);
  P* __restrict__ op = reinterpret_cast<P*>(gx);
  for (std::int64_t c = lane; c < packs; c += group) {
    P acc = op[j * packs + c];
    for (std::int64_t p = begin; p < end; ++p) {
      const std::int64_t r = adj.t_rows[p];
      T s = T{1};
      if constexpr (Mean) s = T{1} / static_cast<T>(adj.indptr[r + 1] - adj.indptr[r]);
      if constexpr (Weighted) s = static_cast<T>(adj.weights[adj.t_edges[p]]);
      const P v = gp[r * packs + c];
      for (int k = 0; k < V; ++k) acc.v[k] += s * v.v[k];
    }
    op[j * packs + c] = acc;
  }
}

// gx (adj.cols, width) += the g (adj.rows, width) elements whose recorded argument is the row's node.
template <class T>
__global__ void spmm_backward_arg(DeviceCsrView adj, const T* __restrict__ g, const node_id* __restrict__ arg,
                                  std::int64_t width, T* __restrict__ gx, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t j = t / group;
  if (j >= adj.cols) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t begin = adj.t_offsets[j], end = adj.t_offsets[j + 1];
  for (std::int64_t f = lane; f < width; f += group) {
    T acc = gx[j * width + f];
    for (std::int64_t p = begin; p < end; ++p) {
      const std::int64_t r = adj.t_rows[p];
      if (p > begin && adj.t_rows[p - 1] == r) continue;  // a repeated edge (r, j): its element was chosen once
      if (arg[r * width + f] == j) acc += g[r * width + f];
    }
    gx[j * width + f] = acc;
  }
}

}  // namespace kernels
}  // namespace v0

namespace detail {

/// @brief Throws shape_error unless adj (rows x cols) can aggregate features (x_rows, width).
inline void check_spmm(const DeviceCsrView& adj, std::int64_t x_rows, std::int64_t width, const char* what) {
  GAS_CHECK(adj.cols == x_rows, shape_error,
            what << ": adjacency (" << adj.rows << " x " << adj.cols << ") cannot aggregate features (" << x_rows
                 << " x " << width << "): adj.cols must equal x.rows");
  GAS_CHECK(width >= 0, shape_error, what << ": negative width " << width);
}

}  // namespace detail

/// @brief out (adj.rows, width) = spmm<R>(adj, x) for x (adj.cols, width), as ops::spmm: sum uses the edge
/// weights when adj has them, mean and max/min ignore them, empty rows give 0. For max and min, `arg`
/// (adj.rows, width) receives the winning column per element (-1 for an empty row), or pass nullptr when no
/// backward pass follows. Contiguous row-major device arrays; queued on `stream`. Throws shape_error naming both
/// shapes when adj.cols != x_rows.
template <ops::aggr::Reduction R, class T>
void spmm_forward(const DeviceCsrView& adj, const T* x, std::int64_t x_rows, std::int64_t width, T* out,
                  node_id* arg, cudaStream_t stream) {
  detail::check_spmm(adj, x_rows, width, "cuda::spmm_forward");
  if (adj.rows == 0 || width == 0) return;
  const bool weighted = R == ops::aggr::Reduction::sum && adj.weights != nullptr;
  detail::launch_rows<T>(adj.rows, width, detail::aligned16(x) && detail::aligned16(out), "cuda::spmm_forward",
                         [&](auto v, unsigned grid, int group) {
                           if (weighted) kernels::spmm_forward<T, decltype(v)::value, R, true><<<grid, block_threads, 0, stream>>>(adj, x, width, out, arg, group);
                           else kernels::spmm_forward<T, decltype(v)::value, R, false><<<grid, block_threads, 0, stream>>>(adj, x, width, out, arg, group);
                         });
}

/// @brief gx (adj.cols, width) += d spmm<R> / dx applied to g (adj.rows, width). Sum and mean go through the
/// transposed index; max and min need the `arg` written by spmm_forward. Throws value_error when adj was built
/// without its transpose or `arg` is missing for max/min, shape_error for mismatched sizes.
template <ops::aggr::Reduction R, class T>
void spmm_backward(const DeviceCsrView& adj, const T* g, std::int64_t g_rows, std::int64_t width, const node_id* arg,
                   T* gx, std::int64_t gx_rows, cudaStream_t stream) {
  detail::check_spmm(adj, gx_rows, width, "cuda::spmm_backward");
  GAS_CHECK(g_rows == adj.rows, shape_error,
            "cuda::spmm_backward: gradient has " << g_rows << " rows, the adjacency (" << adj.rows << " x "
                                                 << adj.cols << ") " << adj.rows);
  GAS_CHECK(adj.has_transpose(), value_error, "cuda::spmm_backward: the DeviceCsr was built without its transpose");
  constexpr bool extreme = ops::aggr::is_extreme(R);
  GAS_CHECK(!extreme || arg != nullptr || adj.rows == 0 || width == 0, value_error,
            "cuda::spmm_backward: max/min need the argument array that spmm_forward wrote");
  if (adj.cols == 0 || width == 0 || adj.nnz == 0) return;  // no entries: nothing flows back
  constexpr bool mean = R == ops::aggr::Reduction::mean;
  const bool weighted = !mean && adj.weights != nullptr;
  detail::launch_rows<T>(adj.cols, width, detail::aligned16(g) && detail::aligned16(gx) && !extreme,
                         "cuda::spmm_backward", [&](auto v, unsigned grid, int group) {
                           if constexpr (extreme) kernels::spmm_backward_arg<T><<<grid, block_threads, 0, stream>>>(adj, g, arg, width, gx, group);
                           else if (weighted) kernels::spmm_backward_sum<T, decltype(v)::value, mean, true><<<grid, block_threads, 0, stream>>>(adj, g, width, gx, group);
                           else kernels::spmm_backward_sum<T, decltype(v)::value, mean, false><<<grid, block_threads, 0, stream>>>(adj, g, width, gx, group);
                         });
}

}  // namespace gas::cuda
