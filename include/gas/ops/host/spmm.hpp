#pragma once
/// @brief Host implementation of spmm (gas/ops/spmm.hpp): `Impl<Spmm<A, host>, host>`, and the graph kernels the
/// other host graph ops share (the row sums and extremes).
///
/// The forward pass is a row-parallel loop: each output row is owned by one thread, reads its neighbors' feature
/// rows (prefetched a few entries ahead) and sums them in entry order in tiles of up to 64 floats held in registers.
/// The backward pass of sum and mean needs the transpose; rather than scattering with atomics (whose float rounding
/// would depend on the thread count), it reads a transposed index of the graph (stable: each column lists its
/// entries in row order; built once per graph and cached in it, gas/graph/transpose_cache.hpp) and runs a
/// column-parallel loop in which each input row's gradient is again owned by one thread. Results are thus
/// bit-identical for every OpenMP thread count.

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gas/autograd/tape.hpp"
#include "gas/core/macros.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

/// @brief Work (entries x features) below which a graph op stays on one thread: starting threads costs more.
inline constexpr std::int64_t graph_parallel_work = std::int64_t{1} << 16;

/// @brief Rows per chunk of the dynamic schedules: rows differ in degree, so static blocks would be uneven.
inline constexpr int graph_chunk = 64;

/// @brief Entries ahead of the current one whose feature rows the forward and backward loops prefetch: a road
/// graph's neighbors are far apart in memory, and a 64-feature row (4 lines) is too short for the hardware
/// prefetcher to find, so without it each entry waits a full memory latency.
inline constexpr std::int64_t prefetch_distance = 32;

/// @brief Asks for the `bytes` bytes at `p` to be brought into the cache.
inline void prefetch_bytes(const void* p, std::int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (std::int64_t k = 0; k < bytes; k += 64) __builtin_prefetch(c + k);
}

/// @brief Elements of T in one 64-byte SIMD vector (a GCC/Clang vector extension: one AVX-512 register, two AVX2
/// ones, four SSE ones).
template <class T>
inline constexpr std::int64_t simd_lanes = 64 / static_cast<std::int64_t>(sizeof(T));

/// @brief One entry of a row reduction: its feature row and (for a scaled sum) its factor.
template <class T>
struct Entry {
  const T* x;
  T s;
};

/// @brief Sums one column tile of V vectors, [f0, f0 + V lanes), over a row's entries in order, with the
/// accumulator in registers: out = s_0 x_0 + s_1 x_1 + ... (Scaled; else the plain sum), or out += ... when
/// Accumulate; the sum times `post` when Post (the mean's 1 / deg). `entry(k)` gives entry k's row and factor; `deg` >= 1
/// unless Accumulate.
template <class T, int V, bool Scaled, bool Accumulate, bool Post, class Entries>
inline void sum_tile(const Entries& entry, std::int64_t deg, std::int64_t f0, T* __restrict out, T post) {
  typedef T vec __attribute__((vector_size(64)));
  constexpr std::int64_t lanes = simd_lanes<T>;
  vec acc[V];
  std::int64_t k = 0;
  if constexpr (Accumulate) {
  GAS_UNROLL4
    for (int v = 0; v < V; ++v) __builtin_memcpy(&acc[v], out + f0 + v * lanes, sizeof(vec));
  } else {
    const Entry<T> e = entry(0);
  GAS_UNROLL4
    for (int v = 0; v < V; ++v) {
      __builtin_memcpy(&acc[v], e.x + f0 + v * lanes, sizeof(vec));
      if constexpr (Scaled) acc[v] *= e.s;
    }
    k = 1;
  }
  for (; k < deg; ++k) {
    const Entry<T> e = entry(k);
  GAS_UNROLL4
    for (int v = 0; v < V; ++v) {
      vec x;
      __builtin_memcpy(&x, e.x + f0 + v * lanes, sizeof(vec));
      if constexpr (Scaled) acc[v] += e.s * x;
      else acc[v] += x;
    }
  }
  GAS_UNROLL4
  for (int v = 0; v < V; ++v) {
    if constexpr (Post) acc[v] *= post;
    __builtin_memcpy(out + f0 + v * lanes, &acc[v], sizeof(vec));
  }
}

/// @brief out (= or +=, as Accumulate) sum over the row's entries of s_k x_k (Scaled) or x_k, element by element in
/// entry order, so every element's rounding is the same whatever the width and the thread count. Tiles of up to four
/// vectors (64 floats) stay in registers across the entries; the last width % lanes columns run scalar, in the
/// same order; Post multiplies each sum by `post` at the end. An empty row gives 0 (or leaves out as it is).
template <class T, bool Scaled, bool Accumulate, bool Post = false, class Entries>
inline void sum_entries(const Entries& entry, std::int64_t deg, T* __restrict out, std::int64_t width,
                        T post = T{1}) {
  if (deg == 0) {
    if constexpr (!Accumulate) std::fill_n(out, width, T{0});
    return;
  }
  constexpr std::int64_t lanes = simd_lanes<T>;
  std::int64_t f0 = 0;
  for (; f0 + 4 * lanes <= width; f0 += 4 * lanes) sum_tile<T, 4, Scaled, Accumulate, Post>(entry, deg, f0, out, post);
  switch ((width - f0) / lanes) {
    case 3: sum_tile<T, 3, Scaled, Accumulate, Post>(entry, deg, f0, out, post); break;
    case 2: sum_tile<T, 2, Scaled, Accumulate, Post>(entry, deg, f0, out, post); break;
    case 1: sum_tile<T, 1, Scaled, Accumulate, Post>(entry, deg, f0, out, post); break;
    default: break;
  }
  f0 += (width - f0) / lanes * lanes;
  for (std::int64_t f = f0; f < width; ++f) {
    T acc = Accumulate ? out[f] : T{0};
    for (std::int64_t k = 0; k < deg; ++k) {
      const Entry<T> e = entry(k);
      if (!Accumulate && k == 0) acc = Scaled ? e.s * e.x[f] : e.x[f];
      else if constexpr (Scaled) acc += e.s * e.x[f];
      else acc += e.x[f];
    }
    out[f] = Post ? acc * post : acc;
  }
}

/// @brief out = sum_k s_k x_k over one row's `deg` entries (s_k = w[k] when Weighted, else 1), where x_k is row
/// cols[k] of x (Indexed: a neighbor's features) or row k of x (not Indexed: the entries' own rows, as the
/// messages of aggregate_edges; x then points at the row's first entry). Added in entry order, one element at a
/// time: aggregating gathered rows gives spmm's bits. Mean multiplies the sum by 1 / deg.
template <class T, bool Weighted, bool Indexed = true, bool Mean = false>
inline void sum_rows(const node_id* __restrict cols, const float* __restrict w, std::int64_t deg,
                     const T* __restrict x, std::int64_t ldx, T* __restrict out, std::int64_t width) {
  const auto entry = [&](std::int64_t k) -> Entry<T> {
    const T* row = Indexed ? x + cols[k] * ldx : x + k * ldx;
    if constexpr (Weighted) return {row, static_cast<T>(w[k])};
    else return {row, T{1}};
  };
  sum_entries<T, Weighted, false, Mean>(entry, deg, out, width, T{1} / static_cast<T>(deg > 0 ? deg : 1));
}

/// @brief Max (Max) or min over one column tile of V vectors, without the winners, accumulator in registers. deg >= 1.
template <class T, int V, bool Max, class Rows>
inline void extreme_tile(const Rows& row, std::int64_t deg, std::int64_t f0, T* __restrict out) {
  typedef T vec __attribute__((vector_size(64)));
  constexpr std::int64_t lanes = simd_lanes<T>;
  vec acc[V];
  GAS_UNROLL4
  for (int v = 0; v < V; ++v) __builtin_memcpy(&acc[v], row(0) + f0 + v * lanes, sizeof(vec));
  for (std::int64_t k = 1; k < deg; ++k) {
    const T* xk = row(k);
  GAS_UNROLL4
    for (int v = 0; v < V; ++v) {
      vec x;
      __builtin_memcpy(&x, xk + f0 + v * lanes, sizeof(vec));
      if constexpr (Max) acc[v] = x > acc[v] ? x : acc[v];  // strict: the first occurrence wins a tie, NaN loses
      else acc[v] = x < acc[v] ? x : acc[v];
    }
  }
  GAS_UNROLL4
  for (int v = 0; v < V; ++v) __builtin_memcpy(out + f0 + v * lanes, &acc[v], sizeof(vec));
}

/// @brief out = elementwise max (Max) or min over one row's entries, arg = the winning entry's id (first on ties):
/// Indexed, entry k is row cols[k] of x and its id cols[k]; not Indexed, entry k is row k of x (x points at the
/// row's first entry) and its id first + k (an edge id).
template <class T, bool Max, bool SaveArg, bool Indexed = true>
inline void extreme_rows(const node_id* __restrict cols, std::int64_t deg, const T* __restrict x, std::int64_t ldx,
                         T* __restrict out, std::int64_t* __restrict arg, std::int64_t width, std::int64_t first = 0) {
  auto id = [&](std::int64_t k) -> std::int64_t {
    if constexpr (Indexed) return cols[k];
    else return first + k;
  };
  auto row = [&](std::int64_t k) -> const T* {
    if constexpr (Indexed) return x + cols[k] * ldx;
    else return x + k * ldx;
  };
  if (deg == 0) {  // PyG's scatter max/min: an empty row gives 0
    std::fill_n(out, width, T{0});
    if constexpr (SaveArg) std::fill_n(arg, width, std::int64_t{-1});
    return;
  }
  if constexpr (!SaveArg) {
    constexpr std::int64_t lanes = simd_lanes<T>;
    std::int64_t f0 = 0;
    for (; f0 + 4 * lanes <= width; f0 += 4 * lanes) extreme_tile<T, 4, Max>(row, deg, f0, out);
    switch ((width - f0) / lanes) {
      case 3: extreme_tile<T, 3, Max>(row, deg, f0, out); break;
      case 2: extreme_tile<T, 2, Max>(row, deg, f0, out); break;
      case 1: extreme_tile<T, 1, Max>(row, deg, f0, out); break;
      default: break;
    }
    f0 += (width - f0) / lanes * lanes;
    for (std::int64_t f = f0; f < width; ++f) {
      T m = row(0)[f];
      for (std::int64_t k = 1; k < deg; ++k) {
        const T v = row(k)[f];
        m = (Max ? v > m : v < m) ? v : m;
      }
      out[f] = m;
    }
    return;
  }
  std::copy_n(row(0), width, out);
  if constexpr (SaveArg) std::fill_n(arg, width, id(0));
  for (std::int64_t k = 1; k < deg; ++k) {
    const T* __restrict xk = row(k);
    const std::int64_t c = id(k);
#pragma omp simd
    for (std::int64_t f = 0; f < width; ++f) {
      const bool better = Max ? xk[f] > out[f] : xk[f] < out[f];  // strict: the first occurrence wins a tie
      out[f] = better ? xk[f] : out[f];
      if constexpr (SaveArg) arg[f] = better ? c : arg[f];
    }
  }
}

/// @brief out = the reduction R over one row's `deg` entries: sum (weighted when `w` is not null), mean (the
/// unweighted sum over deg; 0 for an empty row), max or min (the winning entry's id in `arg` unless it is null).
/// Indexed and `first` as in sum_rows and extreme_rows: spmm's entries are neighbors' rows, aggregate_edges' are
/// the edges' own message rows.
template <aggr::Reduction R, class T, bool Indexed = true>
inline void reduce_row(const node_id* cols, const float* w, std::int64_t deg, const T* x, std::int64_t ldx, T* out,
                       std::int64_t* arg, std::int64_t width, std::int64_t first = 0) {
  if constexpr (R == aggr::Reduction::sum) {
    if (w != nullptr) sum_rows<T, true, Indexed>(cols, w, deg, x, ldx, out, width);
    else sum_rows<T, false, Indexed>(cols, nullptr, deg, x, ldx, out, width);
  } else if constexpr (R == aggr::Reduction::mean) {
    sum_rows<T, false, Indexed, true>(cols, nullptr, deg, x, ldx, out, width);
  } else {
    constexpr bool is_max = R == aggr::Reduction::max;
    if (arg != nullptr) extreme_rows<T, is_max, true, Indexed>(cols, deg, x, ldx, out, arg, width, first);
    else extreme_rows<T, is_max, false, Indexed>(cols, deg, x, ldx, out, nullptr, width, first);
  }
}

}  // namespace detail

/// @brief spmm on the host. Max and min save each element's winning column in aux_index (rows, width; -1 for an
/// empty row) when a backward pass may follow; sum and mean read the graph's cached transposed index
/// (Csr::transposed_index) in the backward pass.
template <aggr::Aggregation A>
struct Impl<Spmm<A, host>, host> {
  static constexpr aggr::Reduction reduction = A::reduction;
  static constexpr bool extreme = aggr::is_extreme(reduction);
  /// Deferred rows (Tape::push_rows: a batch's features) are read where they lie in their table: a GAS batch's
  /// layer-0 aggregation then never copies its halo's features (on a 100k-node SBM, most of the graph per step).
  static constexpr bool takes_rows = true;

  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Spmm<A, host>& attrs) {
    constexpr aggr::Reduction R = reduction;
    const Graph& adj = *attrs.adj;
    const auto& input = tape.node(node.inputs[0]);
    // (adj.cols, width), or deferred rows: entry e then reads row rows_ids[col(e)] of the table, through columns
    // relabelled once here (4 bytes per entry instead of a copy of every row).
    const MatrixView<const T> in = input.deferred() ? input.rows_table : MatrixView<const T>(input.value);
    const auto out = node.value;
    const std::int64_t width = input.value.cols(), ldx = in.ld();
    const auto indptr = adj.indptr();
    const node_id* indices = adj.indices().data();
    if (input.deferred()) {
      GAS_CHECK(!(extreme && node.requires_grad), value_error, "spmm over deferred rows needs no gradient");
      auto& global = node.aux_ids;  // (1, edges): the table row of each entry
      global.resize(1, adj.num_edges());
      const node_id* ids = input.rows_ids;
      node_id* g = global.data();
#pragma omp parallel for schedule(static) if (adj.num_edges() > detail::graph_parallel_work)
      for (std::int64_t e = 0; e < adj.num_edges(); ++e) g[e] = ids[indices[e]];
      indices = g;
    }
    const float* weights = adj.weights().data();
    const bool weighted = adj.has_weights() && R == aggr::Reduction::sum;
    const bool save_arg = node.requires_grad;
    if (extreme && save_arg) node.aux_index.resize(adj.rows(), width);  // (rows, width): winning column, -1 for none
    std::int64_t* arg = node.aux_index.data();
    if (width == 0) return;

    const std::int64_t edges = adj.num_edges();
    const auto row_bytes = width * static_cast<std::int64_t>(sizeof(T));
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (edges * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i) {
      const auto b = indptr[static_cast<std::size_t>(i)];
      const std::int64_t deg = indptr[static_cast<std::size_t>(i) + 1] - b;
      for (auto e = b + detail::prefetch_distance; e < std::min(edges, b + deg + detail::prefetch_distance); ++e)
        detail::prefetch_bytes(in.data() + indices[e] * ldx, row_bytes);
      std::int64_t* winners = save_arg && extreme ? arg + i * width : nullptr;
      detail::reduce_row<R, T>(indices + b, weighted ? weights + b : nullptr, deg, in.data(), ldx, &out(i, 0), winners,
                               width);
    }
  }

  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Spmm<A, host>& attrs) {
    constexpr aggr::Reduction R = reduction;
    const int ix = n.inputs[0];
    if (!tape.node(ix).requires_grad) return;
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> g = n.grad;  // (adj.rows, width)
    auto gx = tape.grad_of(ix);            // (adj.cols, width)
    const std::int64_t width = g.cols();
    if (width == 0) return;

    if constexpr (aggr::is_extreme(R)) {
      // Each output element came from one neighbor (aux_index); scatter to it. Threads own blocks of 16
      // feature columns (a cache line of floats), so no two threads write one element and every element sums
      // its rows in ascending order, whatever the thread count.
      const std::int64_t* arg = n.aux_index.data();
      constexpr std::int64_t block = 16;
      const std::int64_t blocks = (width + block - 1) / block;
#pragma omp parallel for schedule(static) if (blocks > 1 && g.rows() * width > detail::graph_parallel_work)
      for (std::int64_t b = 0; b < blocks; ++b) {
        const std::int64_t f0 = b * block, f1 = std::min(width, f0 + block);
        for (std::int64_t i = 0; i < g.rows(); ++i)
          for (std::int64_t f = f0; f < f1; ++f) {
            const std::int64_t a = arg[i * width + f];
            if (a >= 0) gx(a, f) += g(i, f);
          }
      }
    } else {
      // d x_j = sum over entries (r, j) of s_e g_r, with s_e = w_e (sum) or 1 / deg_r (mean).
      constexpr bool mean = R == aggr::Reduction::mean;
      const bool weighted = !mean && adj.has_weights();
      const auto transposed = adj.transposed_index();  // built once per graph, shared by every layer and step
      const std::int64_t* offsets = transposed->offsets.data();
      const node_id* rows = transposed->rows.data();
      const std::int64_t* edges = transposed->edges.data();
      const std::int64_t entries = adj.num_edges(), ldg = g.ld();
      const std::int64_t* indptr = adj.indptr().data();
      const float* weights = adj.weights().data();
      const auto row_bytes = width * static_cast<std::int64_t>(sizeof(T));
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (entries * width > detail::graph_parallel_work)
      for (std::int64_t j = 0; j < adj.cols(); ++j) {
        const std::int64_t b = offsets[j], deg = offsets[j + 1] - b;
        for (auto p = b + detail::prefetch_distance; p < std::min(entries, b + deg + detail::prefetch_distance); ++p)
          detail::prefetch_bytes(g.data() + rows[p] * ldg, row_bytes);
        const auto entry = [&](std::int64_t k) -> detail::Entry<T> {
          const std::int64_t r = rows[b + k];
          T s = T{1};
          if (mean) s = T{1} / static_cast<T>(indptr[r + 1] - indptr[r]);
          else if (weighted) s = static_cast<T>(weights[edges[b + k]]);
          return {g.data() + r * ldg, s};
        };
        if (mean || weighted) detail::sum_entries<T, true, true>(entry, deg, &gx(j, 0), width);
        else detail::sum_entries<T, false, true>(entry, deg, &gx(j, 0), width);
      }
    }
  }
};

}  // namespace gas::ops
