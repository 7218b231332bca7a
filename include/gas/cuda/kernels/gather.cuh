#pragma once
/// @brief Row gathers and deterministic row scatter-adds on the device, matching ops::gather_rows and
/// ops::scatter_add_rows.
///
/// A scatter-add is made deterministic as on the host: the index is inverted first (a stable radix sort of
/// (target, position) pairs groups the positions by target in increasing position order; CUB's radix sort is
/// stable), then each target row is owned by one group of threads that adds its sources in that order. No
/// atomics, so every run gives the same bits; the sums equal the host's up to fp32 reassociation only where
/// the host also reorders (it does not: both add in position order, so they agree to the last bit).

#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "gas/core/check.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::cuda {
inline namespace v0 {
namespace kernels {

// out (n, width) (+)= src[index[i]] with src (src_rows, width).
template <class T, int V, bool Accumulate>
__global__ void gather_rows(const T* __restrict__ src, const node_id* __restrict__ index, std::int64_t n,
                            std::int64_t width, T* __restrict__ out, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t i = t / group;
  if (i >= n) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t packs = width / V;
  using P = Pack<T, V>;
  const P* __restrict__ sp = reinterpret_cast<const P*>(src) + static_cast<std::int64_t>(index[i]) * packs;
  P* __restrict__ op = reinterpret_cast<P*>(out) + i * packs;
  for (std::int64_t c = lane; c < packs; c += group) {
    P v = sp[c];
    if constexpr (Accumulate) {
      const P o = op[c];
      for (int k = 0; k < V; ++k) v.v[k] = o.v[k] + v.v[k];
    }
    op[c] = v;
  }
}

template <class I>
struct Iota {
  I* out;
  __device__ void operator()(std::int64_t i) const { out[i] = static_cast<I>(i); }
};

// ptr[t] = first position in the sorted targets with a target >= t, for t in [0, targets].
template <class I>
struct GroupOffsets {
  const I* sorted;
  std::int64_t n;
  std::int64_t* ptr;
  __device__ void operator()(std::int64_t t) const {
    std::int64_t lo = 0, hi = n;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (sorted[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    ptr[t] = lo;
  }
};

// out (targets, width) (+)= sum of src rows grouped by the inverse (ptr, order); a null order is the identity, so
// target r sums the consecutive rows ptr[r] .. ptr[r + 1] (a segmented row sum, such as a CSR row's edges).
template <class T, int V, bool Accumulate, class I>
__global__ void scatter_rows(const T* __restrict__ src, const std::int64_t* __restrict__ ptr,
                             const I* __restrict__ order, std::int64_t targets, std::int64_t width,
                             T* __restrict__ out, int group) {
  const std::int64_t t = global_thread();
  const std::int64_t r = t / group;
  if (r >= targets) return;
  const int lane = static_cast<int>(t % group);
  const std::int64_t packs = width / V;
  using P = Pack<T, V>;
  const P* __restrict__ sp = reinterpret_cast<const P*>(src);
  P* __restrict__ op = reinterpret_cast<P*>(out) + r * packs;
  for (std::int64_t c = lane; c < packs; c += group) {
    P acc;
    if constexpr (Accumulate) acc = op[c];
    else
      for (int k = 0; k < V; ++k) acc.v[k] = T{0};
    for (std::int64_t q = ptr[r]; q < ptr[r + 1]; ++q) {
      const P v = sp[(order == nullptr ? q : static_cast<std::int64_t>(order[q])) * packs + c];
      for (int k = 0; k < V; ++k) acc.v[k] += v.v[k];
    }
    op[c] = acc;
  }
}

}  // namespace kernels
}  // namespace v0

/// @brief The positions of an index grouped by target on the device: target t's positions are
/// order[ptr[t] .. ptr[t + 1]), increasing.
struct InvertedIndex {
  std::int64_t targets = 0;
  std::int64_t size = 0;
  DeviceBuffer<std::int64_t> ptr;  ///< (targets + 1)
  DeviceBuffer<node_id> order;     ///< (size)
};

namespace detail {

/// @brief Throws value_error unless n positions over `targets` targets fit the inversion (node_id positions).
inline void check_invert(std::int64_t n, std::int64_t targets, const char* what) {
  GAS_CHECK(n >= 0 && targets >= 0, value_error,
            what << ": negative size (" << n << " indices, " << targets << " targets)");
  GAS_CHECK(n <= 2147483647 && targets <= 2147483647, value_error,
            what << ": " << n << " positions or " << targets << " targets exceed node_id");
}

/// @brief The key bits the sort must look at: targets are non-negative and below `targets`, so sorting only
/// their significant bits saves passes.
inline int invert_end_bit(std::int64_t targets) {
  return std::max(1, static_cast<int>(std::bit_width(static_cast<std::uint64_t>(targets))));
}

/// @brief `bytes` rounded up to a multiple of 256 (CUB's alignment of temporaries, and a full cache line).
constexpr std::size_t invert_align256(std::size_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace detail

/// @brief The bytes of scratch group_by_target needs for `n` positions over `targets` targets with V positions: the
/// positions, the sorted targets and the radix sort's temporaries, with room to align them. 0 for no positions. Makes
/// no allocation (CUB only reports a size); throws value_error for sizes check_invert rejects.
template <class V>
std::size_t group_by_target_scratch_bytes(std::int64_t n, std::int64_t targets) {
  detail::check_invert(n, targets, "cuda::group_by_target_scratch_bytes");
  if (n == 0) return 0;
  std::size_t temp_bytes = 0;
  GAS_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, static_cast<const node_id*>(nullptr),
                                                 static_cast<node_id*>(nullptr), static_cast<const V*>(nullptr),
                                                 static_cast<V*>(nullptr), n, 0, detail::invert_end_bit(targets),
                                                 cudaStream_t{}));
  const auto count = static_cast<std::size_t>(n);
  return 255 + detail::invert_align256(count * sizeof(V)) + detail::invert_align256(count * sizeof(node_id)) +
         temp_bytes;
}

/// @brief Groups the positions 0..n-1 of a device index (entries in [0, targets), validated by whoever built it) by
/// target, stably: `order` (n) receives the positions sorted by target (increasing within a target) and `ptr`
/// (targets + 1) each target's first slot. `scratch` holds at least group_by_target_scratch_bytes<V>(n, targets)
/// bytes, any alignment. Queued on `stream`: an iota, cub::DeviceRadixSort::SortPairs over the targets' significant
/// bits, and a binary search per target. Throws value_error naming `what` for bad sizes or too little scratch.
template <class V>
void group_by_target(const node_id* index, std::int64_t n, std::int64_t targets, std::int64_t* ptr, V* order,
                     void* scratch, std::size_t scratch_bytes, cudaStream_t stream, const char* what) {
  detail::check_invert(n, targets, what);
  if (n == 0) {  // every group is empty
    GAS_CUDA_CHECK(cudaMemsetAsync(ptr, 0, static_cast<std::size_t>(targets + 1) * sizeof(std::int64_t), stream));
    return;
  }
  const std::size_t needed = group_by_target_scratch_bytes<V>(n, targets);
  GAS_CHECK(scratch_bytes >= needed, value_error, what << ": " << scratch_bytes << " bytes of scratch, " << needed << " needed");
  // Carve the scratch at 256-byte boundaries: the positions, the sorted targets, then CUB's temporaries.
  const auto base = reinterpret_cast<std::uintptr_t>(scratch);
  const std::uintptr_t aligned = (base + 255) / 256 * 256;
  const std::size_t positions_bytes = detail::invert_align256(static_cast<std::size_t>(n) * sizeof(V));
  const std::size_t sorted_bytes = detail::invert_align256(static_cast<std::size_t>(n) * sizeof(node_id));
  auto* positions = reinterpret_cast<V*>(aligned);
  auto* sorted = reinterpret_cast<node_id*>(aligned + positions_bytes);
  void* temp = reinterpret_cast<void*>(aligned + positions_bytes + sorted_bytes);
  std::size_t temp_bytes = scratch_bytes - static_cast<std::size_t>(aligned - base) - positions_bytes - sorted_bytes;
  detail::launch_elementwise(kernels::Iota<V>{positions}, n, what, stream);
  GAS_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, index, sorted, positions, order, n, 0,
                                                 detail::invert_end_bit(targets), stream));
  detail::launch_elementwise(kernels::GroupOffsets<node_id>{sorted, n, ptr}, targets + 1, what, stream);
}

/// @brief The bytes of scratch invert_index_into needs for `n` positions over `targets` targets. 0 for no positions.
/// Makes no allocation; throws value_error for sizes check_invert rejects.
inline std::size_t invert_index_scratch_bytes(std::int64_t n, std::int64_t targets) {
  return group_by_target_scratch_bytes<node_id>(n, targets);
}

/// @brief invert_index into memory the caller owns (a tape node's tensors, so a warm step allocates nothing):
/// `ptr` (targets + 1) and `order` (n) receive the inverse, `scratch` (at least invert_index_scratch_bytes(n,
/// targets) bytes, any alignment) holds the temporaries. The index entries must lie in [0, targets) (validated by
/// the host op that built them). Queued on `stream`; throws value_error for bad sizes or too little scratch.
inline void invert_index_into(const node_id* index, std::int64_t n, std::int64_t targets, std::int64_t* ptr,
                              node_id* order, void* scratch, std::size_t scratch_bytes, cudaStream_t stream) {
  group_by_target(index, n, targets, ptr, order, scratch, scratch_bytes, stream, "cuda::invert_index_into");
}

/// @brief Inverts the device index (n entries, each in [0, targets): the caller validated them on the host,
/// where the index is built) on `stream`. Allocates from the arena only, so a warm step asks the driver for
/// nothing. Throws value_error for negative sizes or more than 2^31 - 1 positions.
inline InvertedIndex invert_index(const node_id* index, std::int64_t n, std::int64_t targets, cudaStream_t stream) {
  detail::check_invert(n, targets, "cuda::invert_index");
  InvertedIndex inv;
  inv.targets = targets;
  inv.size = n;
  inv.ptr = DeviceBuffer<std::int64_t>(static_cast<std::size_t>(targets + 1), stream);
  inv.order = DeviceBuffer<node_id>(static_cast<std::size_t>(n), stream);
  const std::size_t scratch_bytes = invert_index_scratch_bytes(n, targets);
  DeviceBuffer<std::byte> scratch(scratch_bytes, stream);
  invert_index_into(index, n, targets, inv.ptr.data(), inv.order.data(), scratch.data(), scratch_bytes, stream);
  return inv;
}

/// @brief out (n, width) = src[index[i]] (or += with `accumulate`) for src (src_rows, width); the index entries
/// must lie in [0, src_rows) (checked by the host op that built them). Throws value_error for negative sizes.
template <class T>
void gather_rows(const T* src, std::int64_t src_rows, std::int64_t width, const node_id* index, std::int64_t n, T* out,
                 bool accumulate, cudaStream_t stream) {
  GAS_CHECK(src_rows >= 0 && width >= 0 && n >= 0, value_error,
            "cuda::gather_rows: negative size (src " << src_rows << " x " << width << ", " << n << " indices)");
  GAS_CHECK(n == 0 || src_rows > 0, value_error,
            "cuda::gather_rows: " << n << " indices into a source with no rows (0 x " << width << ")");
  if (n == 0 || width == 0) return;
  detail::launch_rows<T>(n, width, detail::aligned16(src) && detail::aligned16(out), "cuda::gather_rows",
                         [&](auto v, unsigned grid, int group) {
                           if (accumulate) kernels::gather_rows<T, decltype(v)::value, true><<<grid, block_threads, 0, stream>>>(src, index, n, width, out, group);
                           else kernels::gather_rows<T, decltype(v)::value, false><<<grid, block_threads, 0, stream>>>(src, index, n, width, out, group);
                         });
}

/// @brief out (targets, width) = sum of the src (positions, width) rows that point at each target (or += with
/// `accumulate`), in increasing position order, through an inverse (ptr (targets + 1), order (positions)) that
/// invert_index_into wrote, or any grouping of positions: a DeviceCsr's transposed index (t_offsets, t_edges), or
/// its rows (indptr, a null order: each target's positions are consecutive). Throws shape_error when src_rows !=
/// positions. I, the order's type, is node_id unless named (std::int64_t for a transposed index).
template <class T, class I = node_id>
void scatter_add_rows(const T* src, std::int64_t src_rows, std::int64_t width, const std::int64_t* ptr,
                      std::type_identity_t<const I*> order, std::int64_t positions, std::int64_t targets, T* out, bool accumulate,
                      cudaStream_t stream) {
  GAS_CHECK(src_rows == positions, shape_error,
            "cuda::scatter_add_rows: " << positions << " indices for src (" << src_rows << " x " << width
                                       << "): one per row expected");
  GAS_CHECK(width >= 0 && targets >= 0, shape_error,
            "cuda::scatter_add_rows: negative width " << width << " or targets " << targets);
  if (targets == 0 || width == 0) return;
  detail::launch_rows<T>(targets, width, detail::aligned16(src) && detail::aligned16(out), "cuda::scatter_add_rows",
                         [&](auto v, unsigned grid, int group) {
                           if (accumulate) kernels::scatter_rows<T, decltype(v)::value, true, I><<<grid, block_threads, 0, stream>>>(src, ptr, order, targets, width, out, group);
                           else kernels::scatter_rows<T, decltype(v)::value, false, I><<<grid, block_threads, 0, stream>>>(src, ptr, order, targets, width, out, group);
                         });
}

/// @brief out (inv.targets, width) = sum of the src (inv.size, width) rows that point at each target (or += with
/// `accumulate`), in increasing position order. Throws shape_error when src_rows != inv.size.
template <class T>
void scatter_add_rows(const T* src, std::int64_t src_rows, std::int64_t width, const InvertedIndex& inv, T* out,
                      bool accumulate, cudaStream_t stream) {
  scatter_add_rows(src, src_rows, width, inv.ptr.data(), inv.order.data(), inv.size, inv.targets, out, accumulate,
                   stream);
}

}  // namespace gas::cuda
