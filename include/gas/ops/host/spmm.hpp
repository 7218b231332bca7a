#pragma once
/// @brief Host implementation of spmm (gas/ops/spmm.hpp): `Impl<Spmm<A, host>, host>`, and the graph kernels the
/// other host graph ops share (the stable transposed index, the row sums and extremes).
///
/// The forward pass is a row-parallel loop: each output row is owned by one thread, reads its neighbors'
/// feature rows contiguously and keeps its accumulator row in L1. The backward pass of sum and mean needs the
/// transpose; rather than scattering with atomics (whose float rounding would depend on the thread count), it
/// builds a transposed index of the graph (stable: each column lists its entries in row order) and runs a
/// column-parallel loop in which each input row's gradient is again owned by one thread. Results are thus
/// bit-identical for every OpenMP thread count.

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gas/autograd/tape.hpp"
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

/// @brief The transpose of a graph's sparsity pattern, as pointers into an index tensor that holds it.
struct TransposeIndex {
  const std::int64_t* offsets = nullptr;  // (cols + 1): column j's entries are [offsets[j], offsets[j + 1])
  const std::int64_t* rows = nullptr;     // (E): the row of each entry, ascending within a column
  const std::int64_t* edges = nullptr;    // (E): the entry's position in the CSR arrays; null unless asked for
};

/// @brief Builds the transpose of `adj`'s pattern into `storage` (resized, so its capacity is reused across
/// steps); `with_edges` also records each entry's CSR position (to read its weight or its per-edge values).
///
/// A stable counting sort in which each thread owns a range of columns: every thread scans all entries in CSR
/// order (a cheap sequential read) and counts, then places, only those in its range. No atomics, no sorting,
/// and each column lists its entries in CSR order, so the index is the same for every thread count.
template <class Backend>
TransposeIndex transpose_index(const Graph& adj, Tensor<std::int64_t, Backend>& storage, bool with_edges) {
  const std::int64_t cols = adj.cols(), rows = adj.rows(), edges = adj.num_edges();
  storage.resize(1, cols + 2 + edges * (with_edges ? 2 : 1));
  std::int64_t* off = storage.data();
  std::int64_t* row_of = off + cols + 2;
  std::int64_t* edge_of = with_edges ? row_of + edges : nullptr;
  const std::int64_t* indptr = adj.indptr().data();
  const node_id* indices = adj.indices().data();
  // Counts land two slots up, so that after the prefix sum off[c + 1] is column c's start, and after the
  // scatter (which advances it) its end: off[0..cols] are then the final offsets, with no cursor array.
  std::fill_n(off, cols + 2, std::int64_t{0});
#pragma omp parallel if (edges > graph_parallel_work)
  {
    std::int64_t first = 0, last = cols;  // this thread's columns
#ifdef _OPENMP
    const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    first = cols * t / threads;
    last = cols * (t + 1) / threads;
#endif
    for (std::int64_t e = 0; e < edges; ++e)
      if (indices[e] >= first && indices[e] < last) ++off[indices[e] + 2];
#pragma omp barrier
#pragma omp single
    for (std::int64_t c = 1; c < cols + 2; ++c) off[c] += off[c - 1];
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t e = indptr[r]; e < indptr[r + 1]; ++e) {
        const std::int64_t c = indices[e];
        if (c < first || c >= last) continue;
        const std::int64_t at = off[c + 1]++;
        row_of[at] = r;
        if (with_edges) edge_of[at] = e;
      }
  }
  return {off, row_of, edge_of};
}

/// @brief out = sum_k s_k x_k over one row's `deg` entries (s_k = w[k] when Weighted, else 1), where x_k is row
/// cols[k] of x (Indexed: a neighbor's features) or row k of x (not Indexed: the entries' own rows, as the
/// messages of aggregate_edges; x then points at the row's first entry). Four entries per pass: four independent
/// row streams in flight and a quarter of the accumulator traffic.
template <class T, bool Weighted, bool Indexed = true>
inline void sum_rows(const node_id* __restrict cols, const float* __restrict w, std::int64_t deg,
                     const T* __restrict x, std::int64_t ldx, T* __restrict out, std::int64_t width) {
  auto row = [&](std::int64_t k) -> const T* {
    if constexpr (Indexed) return x + cols[k] * ldx;
    else return x + k * ldx;
  };
  std::fill_n(out, width, T{0});
  std::int64_t k = 0;
  for (; k + 4 <= deg; k += 4) {
    const T* __restrict x0 = row(k);
    const T* __restrict x1 = row(k + 1);
    const T* __restrict x2 = row(k + 2);
    const T* __restrict x3 = row(k + 3);
    if constexpr (Weighted) {
      const T w0 = static_cast<T>(w[k]), w1 = static_cast<T>(w[k + 1]);
      const T w2 = static_cast<T>(w[k + 2]), w3 = static_cast<T>(w[k + 3]);
      for (std::int64_t f = 0; f < width; ++f) out[f] += (w0 * x0[f] + w1 * x1[f]) + (w2 * x2[f] + w3 * x3[f]);
    } else {
      for (std::int64_t f = 0; f < width; ++f) out[f] += (x0[f] + x1[f]) + (x2[f] + x3[f]);
    }
  }
  for (; k < deg; ++k) {
    const T* __restrict x0 = row(k);
    if constexpr (Weighted) {
      const T w0 = static_cast<T>(w[k]);
      for (std::int64_t f = 0; f < width; ++f) out[f] += w0 * x0[f];
    } else {
      for (std::int64_t f = 0; f < width; ++f) out[f] += x0[f];
    }
  }
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
  std::copy_n(row(0), width, out);
  if constexpr (SaveArg) std::fill_n(arg, width, id(0));
  for (std::int64_t k = 1; k < deg; ++k) {
    const T* __restrict xk = row(k);
    const std::int64_t c = id(k);
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
    sum_rows<T, false, Indexed>(cols, nullptr, deg, x, ldx, out, width);
    if (deg > 0) {
      const T scale = T{1} / static_cast<T>(deg);
      for (std::int64_t f = 0; f < width; ++f) out[f] *= scale;
    }
  } else {
    constexpr bool is_max = R == aggr::Reduction::max;
    if (arg != nullptr) extreme_rows<T, is_max, true, Indexed>(cols, deg, x, ldx, out, arg, width, first);
    else extreme_rows<T, is_max, false, Indexed>(cols, deg, x, ldx, out, nullptr, width, first);
  }
}

}  // namespace detail

/// @brief spmm on the host. Max and min save each element's winning column in aux_index (rows, width; -1 for an
/// empty row) when a backward pass may follow; sum and mean build the transposed index into aux_index in the
/// backward pass.
template <aggr::Aggregation A>
struct Impl<Spmm<A, host>, host> {
  static constexpr aggr::Reduction reduction = A::reduction;
  static constexpr bool extreme = aggr::is_extreme(reduction);

  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Spmm<A, host>& attrs) {
    constexpr aggr::Reduction R = reduction;
    const Graph& adj = *attrs.adj;
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;  // (adj.cols, width)
    const auto out = node.value;
    const std::int64_t width = in.cols(), ldx = in.ld();
    const auto indptr = adj.indptr();
    const node_id* indices = adj.indices().data();
    const float* weights = adj.weights().data();
    const bool weighted = adj.has_weights() && R == aggr::Reduction::sum;
    const bool save_arg = node.requires_grad;
    if (extreme && save_arg) node.aux_index.resize(adj.rows(), width);  // (rows, width): winning column, -1 for none
    std::int64_t* arg = node.aux_index.data();
    if (width == 0) return;

#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
    for (std::int64_t i = 0; i < adj.rows(); ++i) {
      const auto b = indptr[static_cast<std::size_t>(i)];
      const std::int64_t deg = indptr[static_cast<std::size_t>(i) + 1] - b;
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
      const auto t = detail::transpose_index(adj, n.aux_index, weighted);
      const auto indptr = adj.indptr();
      const auto weights = adj.weights();
#pragma omp parallel for schedule(dynamic, detail::graph_chunk) if (adj.num_edges() * width > detail::graph_parallel_work)
      for (std::int64_t j = 0; j < adj.cols(); ++j) {
        T* __restrict out = &gx(j, 0);
        for (std::int64_t p = t.offsets[j]; p < t.offsets[j + 1]; ++p) {
          const std::int64_t r = t.rows[p];
          T s = T{1};
          if (mean)
            s = T{1} / static_cast<T>(indptr[static_cast<std::size_t>(r) + 1] - indptr[static_cast<std::size_t>(r)]);
          else if (weighted)
            s = static_cast<T>(weights[static_cast<std::size_t>(t.edges[p])]);
          const T* __restrict gr = &g(r, 0);
          for (std::int64_t f = 0; f < width; ++f) out[f] += s * gr[f];
        }
      }
    }
  }
};

}  // namespace gas::ops
