#pragma once
/// @brief The per-edge ops of attention layers on the device, forward and backward, matching ops::gather_edge_src,
/// ops::gather_edge_dst and ops::spmm_edge (edge_softmax lives in edge_softmax.cuh).
///
/// Layout as on the host: edge e is the e-th stored CSR entry (row(e) = destination, col(e) = source), per-edge
/// tensors are (E, ...) in CSR order, and spmm_edge's features are (nodes, heads * F), head h owning columns
/// [h F, (h + 1) F). As in spmm.cuh, a group of threads owns each output row and its lanes split the features in
/// 16-byte packs where the width, the head size and the pointers allow; gradients that flow against the edges (to
/// the source rows) go through DeviceCsr's transposed index, each source row again owned by one group that adds its
/// entries in row order. No float atomics, so every sum is formed in the host's order, run after run.

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/gather.cuh"
#include "gas/cuda/kernels/launch.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

// out (E, width): every edge of row i gets x row i, x (adj.rows, width).
template <class T, int V>
__global__ void broadcast_rows_to_edges(DeviceCsrView adj, const T* __restrict__ x, std::int64_t width,
                                        T* __restrict__ out, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t i = t / group;
  if (i >= adj.rows) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t begin = adj.indptr[i], end = adj.indptr[i + 1];
  const std::int64_t packs = width / V;
  using P = Pack<T, V>;
  const P* __restrict__ xp = reinterpret_cast<const P*>(x);
  P* __restrict__ op = reinterpret_cast<P*>(out);
  for (std::int64_t c = lane; c < packs; c += group) {
    const P v = xp[i * packs + c];
    for (std::int64_t e = begin; e < end; ++e) op[e * packs + c] = v;
  }
}

// out (adj.rows, width) = sum over row i's edges of alpha_e[h] x_col(e), alpha (E, heads), x (adj.cols, width),
// width = heads * per_head. V divides per_head, so a pack never straddles two heads.
template <class T, int V>
__global__ void spmm_edge_forward(DeviceCsrView adj, const T* __restrict__ alpha, std::int64_t heads,
                                  const T* __restrict__ x, std::int64_t width, std::int64_t per_head,
                                  T* __restrict__ out, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t i = t / group;
  if (i >= adj.rows) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t begin = adj.indptr[i], end = adj.indptr[i + 1];
  const std::int64_t packs = width / V;
  using P = Pack<T, V>;
  const P* __restrict__ xp = reinterpret_cast<const P*>(x);
  P* __restrict__ op = reinterpret_cast<P*>(out);
  for (std::int64_t c = lane; c < packs; c += group) {
    const std::int64_t h = c * V / per_head;
    P acc;
    for (int k = 0; k < V; ++k) acc.v[k] = T{0};
    for (std::int64_t e = begin; e < end; ++e) {
      const T s = alpha[e * heads + h];
      const P v = xp[static_cast<std::int64_t>(adj.indices[e]) * packs + c];
      for (int k = 0; k < V; ++k) acc.v[k] += s * v.v[k];
    }
    op[i * packs + c] = acc;
  }
}

// gx (adj.cols, width) += sum over source row j's transposed entries (r, e) of alpha_e[h] g_r, in row order.
template <class T, int V>
__global__ void spmm_edge_backward_x(DeviceCsrView adj, const T* __restrict__ alpha, std::int64_t heads,
                                     const T* __restrict__ g, std::int64_t width, std::int64_t per_head,
                                     T* __restrict__ gx, int group) {
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
    const std::int64_t h = c * V / per_head;
    P acc = op[j * packs + c];
    for (std::int64_t p = begin; p < end; ++p) {
      const T s = alpha[adj.t_edges[p] * heads + h];
      const P v = gp[static_cast<std::int64_t>(adj.t_rows[p]) * packs + c];
      for (int k = 0; k < V; ++k) acc.v[k] += s * v.v[k];
    }
    op[j * packs + c] = acc;
  }
}

// galpha (E, heads) += <g_i, x_col(e)> over head h's columns for every edge e of row i. The lanes of row i's group
// deal out its (edge, head) pairs; each pair's dot product is one thread's, formed in column order as on the host.
template <class T>
__global__ void spmm_edge_backward_alpha(DeviceCsrView adj, const T* __restrict__ g, const T* __restrict__ x,
                                         std::int64_t heads, std::int64_t width, std::int64_t per_head,
                                         T* __restrict__ galpha, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t i = t / group;
  if (i >= adj.rows) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t begin = adj.indptr[i], end = adj.indptr[i + 1];
  const std::int64_t pairs = (end - begin) * heads;
  for (std::int64_t q = lane; q < pairs; q += group) {
    const std::int64_t e = begin + q / heads, h = q % heads;
    const T* __restrict__ gi = g + i * width + h * per_head;
    const T* __restrict__ xj = x + static_cast<std::int64_t>(adj.indices[e]) * width + h * per_head;
    T dot = 0;
    for (std::int64_t f = 0; f < per_head; ++f) dot += gi[f] * xj[f];
    galpha[e * heads + h] += dot;
  }
}

}  // namespace kernels
}  // namespace v0

namespace detail {

/// @brief Throws shape_error unless a per-edge array has one row per edge of `adj`.
inline void check_edge_rows(const DeviceCsrView& adj, std::int64_t rows, std::int64_t width, const char* what,
                            const char* name) {
  GAS_CHECK(rows == adj.nnz && width >= 0, shape_error,
            what << ": " << name << " (" << rows << " x " << width << ") needs one row per edge of the adjacency ("
                 << adj.rows << " x " << adj.cols << ", " << adj.nnz << " edges)");
}

/// @brief Throws shape_error unless node features (rows, width) have `expected` rows (adj.rows or adj.cols).
inline void check_node_rows(const DeviceCsrView& adj, std::int64_t rows, std::int64_t width, std::int64_t expected,
                            const char* what, const char* name) {
  GAS_CHECK(rows == expected && width >= 0, shape_error,
            what << ": " << name << " (" << rows << " x " << width << ") does not fit the adjacency (" << adj.rows
                 << " x " << adj.cols << "): " << expected << " rows expected");
}

/// @brief Throws shape_error unless alpha (E, heads) and features of `width` columns make a valid spmm_edge.
inline void check_spmm_edge(const DeviceCsrView& adj, std::int64_t alpha_rows, std::int64_t heads,
                            std::int64_t width, const char* what) {
  GAS_CHECK(alpha_rows == adj.nnz && heads >= 1, shape_error,
            what << ": alpha (" << alpha_rows << " x " << heads << ") needs one row per edge of the adjacency ("
                 << adj.rows << " x " << adj.cols << ", " << adj.nnz << " edges) and a head");
  GAS_CHECK(width >= 0 && width % heads == 0, shape_error,
            what << ": features of " << width << " columns are not a multiple of the " << heads << " heads");
}

/// @brief Launch of a kernel whose group deals out the (edge, head) pairs of a row: as wide as the average row
/// needs (a power of two up to a warp), one group per row.
inline RowLaunch edge_pair_launch(std::int64_t rows, std::int64_t edges, std::int64_t heads) {
  RowLaunch l;
  const std::int64_t per_row = rows > 0 ? (edges * heads + rows - 1) / rows : 1;
  l.group = std::clamp(pow2_at_least(std::max<std::int64_t>(1, per_row)), 1, 32);
  l.blocks = blocks_for(rows * l.group);
  return l;
}

}  // namespace detail

/// @brief out (E, width): row e is x[col(e)], each edge's source features, for x (adj.cols, width), as
/// ops::gather_edge_src. Throws shape_error naming the shapes when x_rows != adj.cols.
template <class T>
void gather_edge_src_forward(const DeviceCsrView& adj, const T* x, std::int64_t x_rows, std::int64_t width, T* out,
                             cudaStream_t stream) {
  detail::check_node_rows(adj, x_rows, width, adj.cols, "cuda::gather_edge_src_forward", "x");
  gather_rows(x, x_rows, width, adj.indices, adj.nnz, out, false, stream);
}

/// @brief gx (adj.cols, width) += the sum of g (E, width) over each source row's edges, in row order, through
/// the transposed index. Throws shape_error for mismatched sizes, value_error when adj has no transpose.
template <class T>
void gather_edge_src_backward(const DeviceCsrView& adj, const T* g, std::int64_t g_rows, std::int64_t width, T* gx,
                              std::int64_t gx_rows, cudaStream_t stream) {
  detail::check_edge_rows(adj, g_rows, width, "cuda::gather_edge_src_backward", "gradient");
  detail::check_node_rows(adj, gx_rows, width, adj.cols, "cuda::gather_edge_src_backward", "gx");
  GAS_CHECK(adj.has_transpose(), value_error,
            "cuda::gather_edge_src_backward: the DeviceCsr was built without its transpose");
  if (adj.nnz == 0 || width == 0) return;  // no edges: nothing flows back
  scatter_add_rows<T, std::int64_t>(g, g_rows, width, adj.t_offsets, adj.t_edges, adj.nnz, adj.cols, gx, true, stream);
}

/// @brief out (E, width): row e is x[row(e)], each edge's destination features, for x (adj.rows, width), as
/// ops::gather_edge_dst. Throws shape_error naming the shapes when x_rows != adj.rows.
template <class T>
void gather_edge_dst_forward(const DeviceCsrView& adj, const T* x, std::int64_t x_rows, std::int64_t width, T* out,
                             cudaStream_t stream) {
  detail::check_node_rows(adj, x_rows, width, adj.rows, "cuda::gather_edge_dst_forward", "x");
  if (adj.nnz == 0 || width == 0) return;
  detail::launch_rows<T>(adj.rows, width, detail::aligned16(x) && detail::aligned16(out), "cuda::gather_edge_dst_forward",
                         [&](auto v, unsigned grid, int group) {
                           kernels::broadcast_rows_to_edges<T, decltype(v)::value><<<grid, block_threads, 0, stream>>>(adj, x, width, out, group);
                         });
}

/// @brief gx (adj.rows, width) += the sum of g (E, width) over each row's edges, in CSR order. Throws shape_error
/// for mismatched sizes.
template <class T>
void gather_edge_dst_backward(const DeviceCsrView& adj, const T* g, std::int64_t g_rows, std::int64_t width, T* gx,
                              std::int64_t gx_rows, cudaStream_t stream) {
  detail::check_edge_rows(adj, g_rows, width, "cuda::gather_edge_dst_backward", "gradient");
  detail::check_node_rows(adj, gx_rows, width, adj.rows, "cuda::gather_edge_dst_backward", "gx");
  if (adj.nnz == 0 || width == 0) return;
  scatter_add_rows<T, std::int64_t>(g, g_rows, width, adj.indptr, nullptr, adj.nnz, adj.rows, gx, true, stream);
}

/// @brief out (adj.rows, width) with out_i[h F + f] = sum over row i's edges of alpha_e[h] x_col(e)[h F + f], for
/// alpha (E, heads) and x (adj.cols, width = heads F), as ops::spmm_edge; a row without edges gets 0. Throws
/// shape_error naming the shapes unless alpha has one row per edge and a head, heads divides width and x has
/// adj.cols rows.
template <class T>
void spmm_edge_forward(const DeviceCsrView& adj, const T* alpha, std::int64_t alpha_rows, std::int64_t heads,
                       const T* x, std::int64_t x_rows, std::int64_t width, T* out, cudaStream_t stream) {
  detail::check_spmm_edge(adj, alpha_rows, heads, width, "cuda::spmm_edge_forward");
  detail::check_node_rows(adj, x_rows, width, adj.cols, "cuda::spmm_edge_forward", "x");
  if (adj.rows == 0 || width == 0) return;
  const std::int64_t per_head = width / heads;
  const bool vectorize = detail::aligned16(x) && detail::aligned16(out) && per_head % (16 / sizeof(T)) == 0;
  detail::launch_rows<T>(adj.rows, width, vectorize, "cuda::spmm_edge_forward", [&](auto v, unsigned grid, int group) {
    kernels::spmm_edge_forward<T, decltype(v)::value><<<grid, block_threads, 0, stream>>>(adj, alpha, heads, x, width, per_head, out, group);
  });
}

/// @brief galpha (E, heads) += d spmm_edge / d alpha applied to g (adj.rows, width): per edge and head, the dot
/// product of g's destination row and x's source row over the head's columns. Throws shape_error as
/// spmm_edge_forward, and when g does not have adj.rows rows.
template <class T>
void spmm_edge_backward_alpha(const DeviceCsrView& adj, const T* g, std::int64_t g_rows, const T* x,
                              std::int64_t x_rows, std::int64_t width, T* galpha, std::int64_t alpha_rows,
                              std::int64_t heads, cudaStream_t stream) {
  detail::check_spmm_edge(adj, alpha_rows, heads, width, "cuda::spmm_edge_backward_alpha");
  detail::check_node_rows(adj, x_rows, width, adj.cols, "cuda::spmm_edge_backward_alpha", "x");
  detail::check_node_rows(adj, g_rows, width, adj.rows, "cuda::spmm_edge_backward_alpha", "gradient");
  if (adj.nnz == 0) return;  // width 0 still runs: every dot product is empty and adds 0, as on the host
  const RowLaunch l = detail::edge_pair_launch(adj.rows, adj.nnz, heads);
  check_grid(l.blocks, "cuda::spmm_edge_backward_alpha");
  kernels::spmm_edge_backward_alpha<T><<<static_cast<unsigned>(l.blocks), block_threads, 0, stream>>>(
      adj, g, x, heads, width, width / heads, galpha, l.group);
  GAS_CUDA_CHECK_LAUNCH();
}

/// @brief gx (adj.cols, width) += d spmm_edge / d x applied to g (adj.rows, width): each source row sums
/// alpha_e[h] g_row(e) over its entries in row order, through the transposed index. Throws shape_error as
/// spmm_edge_forward, value_error when adj has no transpose.
template <class T>
void spmm_edge_backward_x(const DeviceCsrView& adj, const T* alpha, std::int64_t alpha_rows, std::int64_t heads,
                          const T* g, std::int64_t g_rows, std::int64_t width, T* gx, std::int64_t gx_rows,
                          cudaStream_t stream) {
  detail::check_spmm_edge(adj, alpha_rows, heads, width, "cuda::spmm_edge_backward_x");
  detail::check_node_rows(adj, g_rows, width, adj.rows, "cuda::spmm_edge_backward_x", "gradient");
  detail::check_node_rows(adj, gx_rows, width, adj.cols, "cuda::spmm_edge_backward_x", "gx");
  GAS_CHECK(adj.has_transpose(), value_error, "cuda::spmm_edge_backward_x: the DeviceCsr was built without its transpose");
  if (adj.nnz == 0 || width == 0) return;  // no entries: nothing flows back
  const std::int64_t per_head = width / heads;
  const bool vectorize = detail::aligned16(g) && detail::aligned16(gx) && per_head % (16 / sizeof(T)) == 0;
  detail::launch_rows<T>(adj.cols, width, vectorize, "cuda::spmm_edge_backward_x", [&](auto v, unsigned grid, int group) {
    kernels::spmm_edge_backward_x<T, decltype(v)::value><<<grid, block_threads, 0, stream>>>(adj, alpha, heads, g, width, per_head, gx, group);
  });
}

}  // namespace gas::cuda
