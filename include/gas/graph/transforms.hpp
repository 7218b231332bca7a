#pragma once
/// @brief Graph transforms on `Csr`: transpose, symmetrize, self-loops, degrees, GCN normalization,
/// feature row-normalization and induced subgraphs.
///
/// Every transform works row by row, so OpenMP splits rows among threads and each output row is written
/// by exactly one thread: results are identical for every thread count. Rows that come out sorted are
/// sorted by (column, weight), which also fixes the order of duplicate entries.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/features.hpp"

namespace gas {

namespace detail {

/// @brief The row of every stored entry (the COO "source" array of a CSR matrix).
template <std::signed_integral Index, std::floating_point Weight>
std::vector<Index> row_ids(const Csr<Index, Weight>& csr) {
  std::vector<Index> rows(static_cast<std::size_t>(csr.num_edges()));
  const auto indptr = csr.indptr();
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index r = 0; r < csr.rows(); ++r)
    std::fill(rows.begin() + indptr[static_cast<std::size_t>(r)], rows.begin() + indptr[static_cast<std::size_t>(r) + 1],
              r);
  return rows;
}

/// @brief Exclusive prefix sum of per-row lengths stored at counts[r + 1], in place; returns the total.
inline std::int64_t prefix_sum(std::vector<std::int64_t>& counts) {
  for (std::size_t i = 1; i < counts.size(); ++i) counts[i] += counts[i - 1];
  return counts.back();
}

/// @brief Sorts one row by (column, weight); `buffer` is the calling thread's scratch space.
template <class Index, class Weight>
void sort_row(Index* cols, Weight* weights, std::int64_t n, std::vector<std::pair<Index, Weight>>& buffer) {
  if (weights == nullptr) {
    std::sort(cols, cols + n);
    return;
  }
  buffer.resize(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) buffer[static_cast<std::size_t>(k)] = {cols[k], weights[k]};
  std::sort(buffer.begin(), buffer.end());
  for (std::int64_t k = 0; k < n; ++k) std::tie(cols[k], weights[k]) = buffer[static_cast<std::size_t>(k)];
}

/// @brief True when every row's columns strictly increase (sorted, no duplicates).
template <std::signed_integral Index, std::floating_point Weight>
bool rows_strictly_sorted(const Csr<Index, Weight>& csr) {
  const auto indptr = csr.indptr();
  const auto indices = csr.indices();
  bool sorted = true;
#pragma omp parallel for schedule(dynamic, 1024) reduction(&& : sorted)
  for (Index r = 0; r < csr.rows(); ++r) {
    const auto b = indptr[static_cast<std::size_t>(r)], e = indptr[static_cast<std::size_t>(r) + 1];
    for (auto k = b + 1; k < e; ++k)
      if (indices[static_cast<std::size_t>(k - 1)] >= indices[static_cast<std::size_t>(k)]) sorted = false;
  }
  return sorted;
}

}  // namespace detail

/// @brief The transpose A^T, rows sorted by (column, weight); duplicates are kept.
template <std::signed_integral Index, std::floating_point Weight>
Csr<Index, Weight> transpose(const Csr<Index, Weight>& csr) {
  const auto rows = detail::row_ids(csr);
  return csr_from_coo<Index, Weight>(csr.cols(), csr.rows(), csr.indices(), std::span<const Index>(rows),
                                     csr.weights(), {.symmetrize = false, .dedupe = false, .drop_self_loops = false});
}

/// @brief True when A equals A^T in structure and weights (a non-square matrix is never symmetric).
/// Duplicate entries count with their multiplicity.
template <std::signed_integral Index, std::floating_point Weight>
bool is_symmetric(const Csr<Index, Weight>& csr) {
  if (csr.rows() != csr.cols()) return false;
  const auto indptr = csr.indptr();
  const auto indices = csr.indices();
  const auto weights = csr.weights();
  if (detail::rows_strictly_sorted(csr)) {
    // Entries are unique, so finding the mirror of every entry proves A == A^T without building A^T.
    bool symmetric = true;
#pragma omp parallel for schedule(dynamic, 1024) reduction(&& : symmetric)
    for (Index r = 0; r < csr.rows(); ++r) {
      for (auto k = indptr[static_cast<std::size_t>(r)]; k < indptr[static_cast<std::size_t>(r) + 1]; ++k) {
        const Index c = indices[static_cast<std::size_t>(k)];
        const auto first = indices.begin() + indptr[static_cast<std::size_t>(c)];
        const auto last = indices.begin() + indptr[static_cast<std::size_t>(c) + 1];
        const auto at = std::lower_bound(first, last, r);
        if (at == last || *at != r) {
          symmetric = false;
        } else if (!weights.empty()) {
          const auto mirror = static_cast<std::size_t>(at - indices.begin());
          if (weights[mirror] != weights[static_cast<std::size_t>(k)]) symmetric = false;
        }
      }
    }
    return symmetric;
  }
  // Unsorted rows or duplicates: compare A^T with A brought to the same (column, weight) row order.
  const auto rows = detail::row_ids(csr);
  const CooOptions keep_all{.symmetrize = false, .dedupe = false, .drop_self_loops = false};
  const auto at = csr_from_coo<Index, Weight>(csr.cols(), csr.rows(), indices, std::span<const Index>(rows), weights,
                                              keep_all);
  const auto a = csr_from_coo<Index, Weight>(csr.rows(), csr.cols(), std::span<const Index>(rows), indices, weights,
                                             keep_all);
  return a == at;
}

/// @brief The union of A and A^T with rows sorted and duplicates merged (merged weight = maximum),
/// exactly what `csr_from_coo` with `symmetrize` and `dedupe` builds from A's entries.
template <std::signed_integral Index, std::floating_point Weight>
Csr<Index, Weight> symmetrize(const Csr<Index, Weight>& csr) {
  GAS_CHECK(csr.rows() == csr.cols(), shape_error,
            "cannot symmetrize a non-square (" << csr.rows() << " x " << csr.cols() << ") matrix");
  const auto rows = detail::row_ids(csr);
  return csr_from_coo<Index, Weight>(csr.rows(), csr.cols(), std::span<const Index>(rows), csr.indices(),
                                     csr.weights(), {.symmetrize = true, .dedupe = true, .drop_self_loops = false});
}

/// @brief True when some row v stores the entry (v, v).
template <std::signed_integral Index, std::floating_point Weight>
bool has_self_loops(const Csr<Index, Weight>& csr) {
  const auto indptr = csr.indptr();
  const auto indices = csr.indices();
  bool found = false;
#pragma omp parallel for schedule(dynamic, 1024) reduction(|| : found)
  for (Index r = 0; r < csr.rows(); ++r)
    for (auto k = indptr[static_cast<std::size_t>(r)]; k < indptr[static_cast<std::size_t>(r) + 1]; ++k)
      if (indices[static_cast<std::size_t>(k)] == r) found = true;
  return found;
}

/// @brief A copy without (v, v) entries; the order of the remaining entries is kept (a result with no entries
/// is unweighted, as every empty Csr).
template <std::signed_integral Index, std::floating_point Weight>
Csr<Index, Weight> remove_self_loops(const Csr<Index, Weight>& csr) {
  const auto indptr = csr.indptr();
  const auto indices = csr.indices();
  const auto weights = csr.weights();
  const bool weighted = csr.has_weights();
  std::vector<std::int64_t> out_ptr(static_cast<std::size_t>(csr.rows()) + 1, 0);
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index r = 0; r < csr.rows(); ++r) {
    const auto b = indices.begin() + indptr[static_cast<std::size_t>(r)];
    const auto e = indices.begin() + indptr[static_cast<std::size_t>(r) + 1];
    out_ptr[static_cast<std::size_t>(r) + 1] = std::count_if(b, e, [r](Index c) { return c != r; });
  }
  const auto total = detail::prefix_sum(out_ptr);
  std::vector<Index> out_idx(static_cast<std::size_t>(total));
  std::vector<Weight> out_w(weighted ? out_idx.size() : 0);
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index r = 0; r < csr.rows(); ++r) {
    auto out = static_cast<std::size_t>(out_ptr[static_cast<std::size_t>(r)]);
    for (auto k = indptr[static_cast<std::size_t>(r)]; k < indptr[static_cast<std::size_t>(r) + 1]; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      if (indices[kk] == r) continue;
      out_idx[out] = indices[kk];
      if (weighted) out_w[out] = weights[kk];
      ++out;
    }
  }
  return Csr<Index, Weight>(csr.rows(), csr.cols(), std::move(out_ptr), std::move(out_idx), std::move(out_w));
}

/// @brief A copy with (v, v) of weight `fill` added to every row that lacks one; existing loops are kept as
/// they are. The loop goes before the row's first column greater than v, so sorted rows stay sorted.
/// An unweighted matrix stays unweighted when `fill` is 1 and becomes weighted (old entries 1) otherwise.
template <std::signed_integral Index, std::floating_point Weight>
Csr<Index, Weight> add_self_loops(const Csr<Index, Weight>& csr, Weight fill = 1) {
  GAS_CHECK(csr.rows() == csr.cols(), shape_error,
            "self-loops need a square matrix, got (" << csr.rows() << " x " << csr.cols() << ")");
  const auto indptr = csr.indptr();
  const auto indices = csr.indices();
  const auto weights = csr.weights();
  const bool weighted = csr.has_weights() || fill != Weight{1};
  std::vector<std::int64_t> out_ptr(static_cast<std::size_t>(csr.rows()) + 1, 0);
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index r = 0; r < csr.rows(); ++r) {
    const auto b = indices.begin() + indptr[static_cast<std::size_t>(r)];
    const auto e = indices.begin() + indptr[static_cast<std::size_t>(r) + 1];
    out_ptr[static_cast<std::size_t>(r) + 1] = (e - b) + (std::find(b, e, r) == e ? 1 : 0);
  }
  const auto total = detail::prefix_sum(out_ptr);
  std::vector<Index> out_idx(static_cast<std::size_t>(total));
  std::vector<Weight> out_w(weighted ? out_idx.size() : 0);
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index r = 0; r < csr.rows(); ++r) {
    const auto b = indptr[static_cast<std::size_t>(r)], e = indptr[static_cast<std::size_t>(r) + 1];
    auto out = static_cast<std::size_t>(out_ptr[static_cast<std::size_t>(r)]);
    const bool insert = out_ptr[static_cast<std::size_t>(r) + 1] - out_ptr[static_cast<std::size_t>(r)] > e - b;
    bool inserted = !insert;
    for (auto k = b; k < e; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      if (!inserted && indices[kk] > r) {
        out_idx[out] = r;
        if (weighted) out_w[out] = fill;
        ++out;
        inserted = true;
      }
      out_idx[out] = indices[kk];
      if (weighted) out_w[out] = weights.empty() ? Weight{1} : weights[kk];
      ++out;
    }
    if (!inserted) {
      out_idx[out] = r;
      if (weighted) out_w[out] = fill;
    }
  }
  return Csr<Index, Weight>(csr.rows(), csr.cols(), std::move(out_ptr), std::move(out_idx), std::move(out_w));
}

/// @brief Stored entries per row (out-degrees of a graph; duplicates and self-loops count).
template <std::signed_integral Index, std::floating_point Weight>
std::vector<std::int64_t> degrees(const Csr<Index, Weight>& csr) {
  std::vector<std::int64_t> deg(static_cast<std::size_t>(csr.rows()));
#pragma omp parallel for schedule(static)
  for (Index r = 0; r < csr.rows(); ++r) deg[static_cast<std::size_t>(r)] = csr.degree(r);
  return deg;
}

/// @brief Row sums of the weights (each entry counts 1 when the matrix is unweighted).
/// Sums are accumulated in double so that long float rows do not lose their small terms.
template <std::signed_integral Index, std::floating_point Weight>
std::vector<Weight> weighted_degrees(const Csr<Index, Weight>& csr) {
  std::vector<Weight> deg(static_cast<std::size_t>(csr.rows()));
  const auto indptr = csr.indptr();
  const auto weights = csr.weights();
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index r = 0; r < csr.rows(); ++r) {
    const auto b = indptr[static_cast<std::size_t>(r)], e = indptr[static_cast<std::size_t>(r) + 1];
    double sum = 0;
    if (weights.empty()) {
      sum = static_cast<double>(e - b);
    } else {
      for (auto k = b; k < e; ++k) sum += weights[static_cast<std::size_t>(k)];
    }
    deg[static_cast<std::size_t>(r)] = static_cast<Weight>(sum);
  }
  return deg;
}

/// @brief GCN normalization D^-1/2 (A + I) D^-1/2 as PyTorch Geometric's `gcn_norm`.
///
/// With `add_loops`, every row gets exactly one self-loop: an existing loop keeps its weight (the last one
/// in the row when there are several, as PyG's `add_remaining_self_loops`), a missing one gets weight 1; the
/// loop sits before the row's first larger column. D holds the weighted row sums of the result (equal to
/// PyG's target-side degrees on the symmetric graphs GCN uses), accumulated in double. A node with degree
/// <= 0 gets D^-1/2 = 0, so its entries become 0 rather than inf or NaN. The result is always weighted;
/// other duplicates are kept, as in PyG.
template <std::signed_integral Index, std::floating_point Weight>
Csr<Index, Weight> gcn_normalize(const Csr<Index, Weight>& csr, bool add_loops = true) {
  GAS_CHECK(csr.rows() == csr.cols(), shape_error,
            "GCN normalization needs a square matrix, got (" << csr.rows() << " x " << csr.cols() << ")");
  const auto n = static_cast<std::size_t>(csr.rows());
  const auto indptr = csr.indptr();
  const auto indices = csr.indices();
  const auto weights = csr.weights();
  auto weight_at = [&](std::size_t k) { return weights.empty() ? Weight{1} : weights[k]; };

  std::vector<std::int64_t> out_ptr(n + 1, 0);
  std::vector<double> dinv(n);
  std::vector<Weight> loop_weight(add_loops ? n : 0);
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index r = 0; r < csr.rows(); ++r) {
    const auto rr = static_cast<std::size_t>(r);
    double deg = 0;
    std::int64_t len = 0;
    Weight loop = 1;
    for (auto k = indptr[rr]; k < indptr[rr + 1]; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      if (add_loops && indices[kk] == r) {
        loop = weight_at(kk);
        continue;
      }
      deg += weight_at(kk);
      ++len;
    }
    if (add_loops) {
      deg += loop;
      ++len;
      loop_weight[rr] = loop;
    }
    out_ptr[rr + 1] = len;
    dinv[rr] = deg > 0 ? 1.0 / std::sqrt(deg) : 0.0;
  }
  const auto total = detail::prefix_sum(out_ptr);
  std::vector<Index> out_idx(static_cast<std::size_t>(total));
  std::vector<Weight> out_w(out_idx.size());
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index r = 0; r < csr.rows(); ++r) {
    const auto rr = static_cast<std::size_t>(r);
    auto out = static_cast<std::size_t>(out_ptr[rr]);
    auto put = [&](Index c, Weight w) {
      out_idx[out] = c;
      out_w[out] = static_cast<Weight>(dinv[rr] * static_cast<double>(w) * dinv[static_cast<std::size_t>(c)]);
      ++out;
    };
    bool inserted = !add_loops;
    for (auto k = indptr[rr]; k < indptr[rr + 1]; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      const Index c = indices[kk];
      if (add_loops && c == r) continue;
      if (!inserted && c > r) {
        put(r, loop_weight[rr]);
        inserted = true;
      }
      put(c, weight_at(kk));
    }
    if (!inserted) put(r, loop_weight[rr]);
  }
  return Csr<Index, Weight>(csr.rows(), csr.cols(), std::move(out_ptr), std::move(out_idx), std::move(out_w));
}

/// @brief Divides each row of `x` by its sum where the sum is non-zero (rows summing to 0 are left as they
/// are); sums are accumulated in double.
template <std::floating_point T>
void row_normalize(MatrixView<T> x) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < x.rows(); ++i) {
    double sum = 0;
    for (std::int64_t j = 0; j < x.cols(); ++j) sum += x(i, j);
    if (sum == 0) continue;
    for (std::int64_t j = 0; j < x.cols(); ++j) x(i, j) = static_cast<T>(x(i, j) / sum);
  }
}

/// @brief Row-normalizes features in place, dense or sparse (only the non-zeros change).
inline void row_normalize(Features& x) {
  if (!x.is_sparse()) return row_normalize(x.dense().view());
  SparseRows<float>& s = x.sparse();
  const auto ptr = s.indptr();
  const auto values = s.values();
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < s.rows(); ++i) {
    double sum = 0;
    for (auto k = ptr[static_cast<std::size_t>(i)]; k < ptr[static_cast<std::size_t>(i) + 1]; ++k) sum += values[static_cast<std::size_t>(k)];
    if (sum == 0) continue;
    for (auto k = ptr[static_cast<std::size_t>(i)]; k < ptr[static_cast<std::size_t>(i) + 1]; ++k)
      values[static_cast<std::size_t>(k)] = static_cast<float>(values[static_cast<std::size_t>(k)] / sum);
  }
}

/// @brief The first (row, column) of a negative feature, or nothing: row normalisation divides by the row sum,
/// which for signed features (Gaussian, standardised) can be 0 or negative and flips or explodes rows, so callers
/// refuse it there (gas-train does).
inline std::optional<std::pair<std::int64_t, std::int64_t>> first_negative(const Features& x) {
  if (!x.is_sparse()) {
    const Tensor<float>& d = x.dense();
    for (std::int64_t i = 0; i < d.rows(); ++i)
      for (std::int64_t j = 0; j < d.cols(); ++j)
        if (d(i, j) < 0) return std::pair{i, j};
    return std::nullopt;
  }
  const SparseRows<float>& s = x.sparse();
  const auto ptr = s.indptr();
  const auto values = s.values();
  const auto cols = s.indices();
  for (std::int64_t i = 0; i < s.rows(); ++i)
    for (auto k = ptr[static_cast<std::size_t>(i)]; k < ptr[static_cast<std::size_t>(i) + 1]; ++k)
      if (values[static_cast<std::size_t>(k)] < 0) return std::pair{i, static_cast<std::int64_t>(cols[static_cast<std::size_t>(k)])};
  return std::nullopt;
}

/// @brief Standardises every column to mean 0 and standard deviation 1 (population statistics over all rows,
/// accumulated in double; a constant column becomes 0), as scikit-learn's StandardScaler, which the reference
/// applies to Yelp's features. Sparse features are made dense first: centring fills every entry.
inline void standardize_columns(Features& x) {
  if (x.is_sparse()) x = Features(x.to_dense());
  Tensor<float>& d = x.dense();
  const std::int64_t n = d.rows(), f = d.cols();
  if (n == 0) return;
#pragma omp parallel for schedule(static)
  for (std::int64_t j = 0; j < f; ++j) {
    double sum = 0, sq = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += d(i, j);
    const double mean = sum / static_cast<double>(n);
    for (std::int64_t i = 0; i < n; ++i) sq += (d(i, j) - mean) * (d(i, j) - mean);
    const double sd = std::sqrt(sq / static_cast<double>(n));
    for (std::int64_t i = 0; i < n; ++i) d(i, j) = static_cast<float>(sd > 0 ? (d(i, j) - mean) / sd : 0.0);
  }
}

/// @brief Row-normalizes a whole tensor in place (see the view overload).
template <std::floating_point T>
void row_normalize(Tensor<T>& x) {
  row_normalize(x.view());
}

/// @brief The submatrix on rows and columns `nodes`, relabeled so that node nodes[i] becomes i; weights are
/// kept and rows come out sorted by (column, weight). Throws value_error for an id out of range or repeated.
template <std::signed_integral Index, std::floating_point Weight>
Csr<Index, Weight> induced_subgraph(const Csr<Index, Weight>& csr, std::span<const std::type_identity_t<Index>> nodes) {
  GAS_CHECK(csr.rows() == csr.cols(), shape_error,
            "induced subgraphs need a square matrix, got (" << csr.rows() << " x " << csr.cols() << ")");
  const auto n = static_cast<std::size_t>(csr.rows());
  GAS_CHECK(nodes.size() <= n, value_error, nodes.size() << " nodes requested from a graph with " << n);
  std::vector<Index> position(n, Index{-1});
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Index v = nodes[i];
    GAS_CHECK(v >= 0 && static_cast<std::size_t>(v) < n, value_error,
              "node id " << v << " at position " << i << " out of range [0, " << n << ")");
    GAS_CHECK(position[static_cast<std::size_t>(v)] < 0, value_error,
              "node id " << v << " appears twice (positions " << position[static_cast<std::size_t>(v)] << " and "
                         << i << ")");
    position[static_cast<std::size_t>(v)] = static_cast<Index>(i);
  }
  const auto m = static_cast<Index>(nodes.size());
  const auto indptr = csr.indptr();
  const auto indices = csr.indices();
  const auto weights = csr.weights();
  const bool weighted = csr.has_weights();
  std::vector<std::int64_t> out_ptr(nodes.size() + 1, 0);
#pragma omp parallel for schedule(dynamic, 1024)
  for (Index i = 0; i < m; ++i) {
    const auto v = static_cast<std::size_t>(nodes[static_cast<std::size_t>(i)]);
    const auto b = indices.begin() + indptr[v], e = indices.begin() + indptr[v + 1];
    out_ptr[static_cast<std::size_t>(i) + 1] =
        std::count_if(b, e, [&](Index c) { return position[static_cast<std::size_t>(c)] >= 0; });
  }
  const auto total = detail::prefix_sum(out_ptr);
  std::vector<Index> out_idx(static_cast<std::size_t>(total));
  std::vector<Weight> out_w(weighted ? out_idx.size() : 0);
#pragma omp parallel
  {
    std::vector<std::pair<Index, Weight>> buffer;
#pragma omp for schedule(dynamic, 1024)
    for (Index i = 0; i < m; ++i) {
      const auto v = static_cast<std::size_t>(nodes[static_cast<std::size_t>(i)]);
      const auto begin = out_ptr[static_cast<std::size_t>(i)];
      auto out = static_cast<std::size_t>(begin);
      for (auto k = indptr[v]; k < indptr[v + 1]; ++k) {
        const auto kk = static_cast<std::size_t>(k);
        const Index p = position[static_cast<std::size_t>(indices[kk])];
        if (p < 0) continue;
        out_idx[out] = p;
        if (weighted) out_w[out] = weights[kk];
        ++out;
      }
      detail::sort_row(out_idx.data() + begin, weighted ? out_w.data() + begin : nullptr,
                       out_ptr[static_cast<std::size_t>(i) + 1] - begin, buffer);
    }
  }
  return Csr<Index, Weight>(m, m, std::move(out_ptr), std::move(out_idx), std::move(out_w));
}

}  // namespace gas
