#pragma once
/// @brief Launch-configuration arithmetic of the device kernels: plain host code, so it is tested without a GPU.
///
/// Row-parallel kernels (spmm, gathers, scatters, row norms) give every row to a group of threads. A group is
/// a power of two of at most 32 threads, so it never spans two warps and its members share one instruction
/// stream; it is as wide as the row needs (in packs of `vector` elements), so a 16-feature row uses 4 threads
/// of float4 loads and leaves the rest of the warp to 7 other rows, while a 1024-feature row uses the whole warp.

#include <algorithm>
#include <cstdint>

#include "gas/core/check.hpp"

namespace gas::cuda {

/// @brief Threads per block of every kernel here: 8 warps, enough to hide latency at full occupancy.
inline constexpr int block_threads = 256;

/// @brief The largest grid (x) a launch may ask for.
inline constexpr std::int64_t max_grid_x = 2147483647;

/// @brief Blocks of `threads` that cover `work` items (0 for no work).
constexpr std::int64_t blocks_for(std::int64_t work, int threads = block_threads) {
  return work <= 0 ? 0 : (work + threads - 1) / threads;
}

/// @brief The smallest power of two >= n, for n >= 1.
constexpr int pow2_at_least(std::int64_t n) {
  int p = 1;
  while (p < n && p < (1 << 30)) p *= 2;
  return p;
}

/// @brief How a row-parallel kernel covers (rows, width).
struct RowLaunch {
  int vector = 1;            ///< elements per load: 16 / sizeof(T) when width and pointers allow it, else 1
  int group = 1;             ///< threads per row: a power of two in [1, 32]
  std::int64_t blocks = 0;   ///< blocks of block_threads
};

/// @brief The configuration for `rows` rows of `width` elements of `elem_bytes` bytes; `aligned` says whether
/// every base pointer is 16-byte aligned (a view into the middle of a buffer may not be).
constexpr RowLaunch row_launch(std::int64_t rows, std::int64_t width, int elem_bytes, bool aligned) {
  RowLaunch l;
  const int pack = 16 / elem_bytes;
  l.vector = aligned && pack > 1 && width % pack == 0 ? pack : 1;
  l.group = std::clamp(pow2_at_least(std::max<std::int64_t>(1, width / l.vector)), 1, 32);
  l.blocks = blocks_for(rows * l.group);
  return l;
}

/// @brief Throws value_error when a grid of `blocks` blocks exceeds the device limit (rows too many to launch).
inline void check_grid(std::int64_t blocks, const char* what) {
  GAS_CHECK(blocks <= max_grid_x, value_error, what << ": " << blocks << " blocks exceed the grid limit " << max_grid_x);
}

}  // namespace gas::cuda
