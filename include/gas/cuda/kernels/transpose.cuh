#pragma once
/// @brief A CSR matrix's transposed index built on the device (DeviceCsr's t_offsets, t_rows, t_edges), the arrays
/// Csr::transposed_index builds on the host, so a batch's stage uploads only the CSR itself.
///
/// The edge positions 0..nnz-1 are grouped by column as invert_index groups positions by target (gather.cuh:
/// cub::DeviceRadixSort, stable, so each column lists its entries in CSR order, rows ascending; each column's first
/// position by binary search), and each entry's row is found by binary search in the row offsets. Integers only: the
/// host's index, bit for bit.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/gather.cuh"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

// rows[p] = the row of CSR position edges[p]: one before the first r with indptr[r] > edges[p].
struct RowOfEdge {
  const std::int64_t* indptr;  // (n_rows + 1)
  std::int64_t n_rows;
  const std::int64_t* edges;
  node_id* rows;
  __device__ void operator()(std::int64_t p) const {
    const std::int64_t e = edges[p];
    std::int64_t lo = 0, hi = n_rows + 1;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (indptr[mid] <= e) lo = mid + 1;
      else hi = mid;
    }
    rows[p] = static_cast<node_id>(lo - 1);
  }
};

}  // namespace kernels
}  // namespace v0

/// @brief The bytes of scratch build_transpose needs for nnz entries over `cols` columns. Makes no allocation.
inline std::size_t transpose_scratch_bytes(std::int64_t nnz, std::int64_t cols) {
  return group_by_target_scratch_bytes<std::int64_t>(nnz, cols);
}

/// @brief Writes the transposed index of the device CSR (adj.rows, adj.cols, adj.nnz, adj.indptr, adj.indices; the
/// column ids in [0, cols), validated where the graph was built) into t_offsets (cols + 1), t_rows (nnz) and t_edges
/// (nnz), queued on `stream`; `scratch` holds at least transpose_scratch_bytes(nnz, cols) bytes, any alignment.
/// Allocates nothing. Throws value_error for sizes beyond node_id or too little scratch.
inline void build_transpose(const DeviceCsrView& adj, std::int64_t* t_offsets, node_id* t_rows, std::int64_t* t_edges,
                            void* scratch, std::size_t scratch_bytes, cudaStream_t stream) {
  group_by_target(adj.indices, adj.nnz, adj.cols, t_offsets, t_edges, scratch, scratch_bytes, stream,
                  "cuda::build_transpose");
  detail::launch_elementwise(kernels::RowOfEdge{adj.indptr, adj.rows, t_edges, t_rows}, adj.nnz, "cuda::build_transpose",
                             stream);
}

}  // namespace gas::cuda
