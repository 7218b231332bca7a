#pragma once
/// @brief `Csr<Index, Weight>`: compressed sparse rows, the one graph type of gas, and its construction from COO.
///
/// Row offsets are always 64-bit so that a graph with more than 2^31 edges works with 32-bit node ids;
/// `Index` (int32 or int64) is the node id type. Weights are optional: an empty weight array means 1.

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/fwd.hpp"
#include "gas/graph/transpose_cache.hpp"

namespace gas {

/// @brief A sparse (rows x cols) matrix in CSR form; for a graph, row i lists the neighbors of node i.
/// @tparam Index signed integer node id type (std::int32_t or std::int64_t).
/// @tparam Weight floating-point edge weight type.
template <std::signed_integral Index, std::floating_point Weight>
class Csr {
public:
  using index_type = Index;
  using weight_type = Weight;
  using offset_type = std::int64_t;

  /// @brief The empty 0 x 0 matrix.
  Csr() : indptr_(1, 0) {}

  /// @brief Takes the three CSR arrays and checks every invariant (throws value_error / shape_error).
  Csr(Index rows, Index cols, std::vector<offset_type> indptr, std::vector<Index> indices,
      std::vector<Weight> weights = {})
      : rows_(rows), cols_(cols), indptr_(std::move(indptr)), indices_(std::move(indices)),
        weights_(std::move(weights)) {
    validate();
  }

  [[nodiscard]] Index rows() const { return rows_; }
  [[nodiscard]] Index cols() const { return cols_; }
  /// @brief Number of stored entries (directed edges).
  [[nodiscard]] offset_type num_edges() const { return static_cast<offset_type>(indices_.size()); }
  [[nodiscard]] bool has_weights() const { return !weights_.empty(); }

  [[nodiscard]] std::span<const offset_type> indptr() const { return indptr_; }
  [[nodiscard]] std::span<const Index> indices() const { return indices_; }
  [[nodiscard]] std::span<const Weight> weights() const { return weights_; }

  /// @brief Neighbors (column ids) of row i.
  [[nodiscard]] std::span<const Index> neighbors(Index i) const {
    return {indices_.data() + indptr_[static_cast<std::size_t>(i)], static_cast<std::size_t>(degree(i))};
  }
  /// @brief Weights of row i's entries; empty when the matrix is unweighted.
  [[nodiscard]] std::span<const Weight> edge_weights(Index i) const {
    if (weights_.empty()) return {};
    return {weights_.data() + indptr_[static_cast<std::size_t>(i)], static_cast<std::size_t>(degree(i))};
  }
  /// @brief Number of stored entries in row i.
  [[nodiscard]] offset_type degree(Index i) const {
    return indptr_[static_cast<std::size_t>(i) + 1] - indptr_[static_cast<std::size_t>(i)];
  }

  /// @brief The stable transpose of the pattern (column j's entries in row order, with their rows and CSR positions),
  /// built on the first call and shared until the matrix is assigned or destroyed; safe to call from several threads.
  /// The weights are not part of it, so set_weights keeps it.
  [[nodiscard]] std::shared_ptr<const CsrTranspose<Index>> transposed_index() const {
    return transpose_.get(rows_, cols_, indptr_, indices_);
  }

  /// @brief Replaces the weights (one per stored entry, or none to make the matrix unweighted).
  void set_weights(std::vector<Weight> weights) {
    GAS_CHECK(weights.empty() || weights.size() == indices_.size(), shape_error,
              weights.size() << " weights for " << indices_.size() << " edges");
    weights_ = std::move(weights);
  }

  /// @brief Moves the arrays out, leaving an empty matrix (for transforms that rebuild them).
  struct Parts {
    Index rows, cols;
    std::vector<offset_type> indptr;
    std::vector<Index> indices;
    std::vector<Weight> weights;
  };
  [[nodiscard]] Parts release() && {
    Parts parts{rows_, cols_, std::move(indptr_), std::move(indices_), std::move(weights_)};
    *this = Csr();
    return parts;
  }

  /// @brief Checks the CSR invariants; called by the constructor.
  void validate() const {
    GAS_CHECK(rows_ >= 0 && cols_ >= 0, shape_error, "negative shape (" << rows_ << ", " << cols_ << ")");
    GAS_CHECK(indptr_.size() == static_cast<std::size_t>(rows_) + 1, shape_error,
              "indptr has " << indptr_.size() << " entries for " << rows_ << " rows (expected rows + 1)");
    GAS_CHECK(indptr_.front() == 0, value_error, "indptr[0] = " << indptr_.front() << ", expected 0");
    GAS_CHECK(indptr_.back() == num_edges(), shape_error,
              "indptr[rows] = " << indptr_.back() << " but there are " << indices_.size() << " indices");
    for (std::size_t i = 0; i + 1 < indptr_.size(); ++i)
      GAS_CHECK(indptr_[i] <= indptr_[i + 1], value_error,
                "indptr decreases at row " << i << " (" << indptr_[i] << " > " << indptr_[i + 1] << ")");
    const auto bad = std::find_if(indices_.begin(), indices_.end(), [&](Index c) { return c < 0 || c >= cols_; });
    GAS_CHECK(bad == indices_.end(), value_error,
              "column index " << (bad == indices_.end() ? 0 : *bad) << " at entry " << (bad - indices_.begin())
                              << " out of range [0, " << cols_ << ")");
    GAS_CHECK(weights_.empty() || weights_.size() == indices_.size(), shape_error,
              weights_.size() << " weights for " << indices_.size() << " edges");
  }

  friend bool operator==(const Csr&, const Csr&) = default;

private:
  Index rows_ = 0;
  Index cols_ = 0;
  std::vector<offset_type> indptr_;
  std::vector<Index> indices_;
  std::vector<Weight> weights_;
  detail::TransposeCache<Index> transpose_;  // copies start empty, assignments empty it
};

/// @brief What `csr_from_coo` does besides sorting each row by column.
struct CooOptions {
  bool symmetrize = false;       ///< also insert (dst, src) for every (src, dst); needs rows == cols
  bool dedupe = true;            ///< merge repeated (src, dst) pairs; the merged weight is their maximum
  bool drop_self_loops = false;  ///< remove (v, v) entries
};

/// @brief Builds a CSR matrix from COO arrays (src[e], dst[e], optional weight[e]) in O(E) plus per-row sorts.
/// Rows come out sorted by column; the result does not depend on the input order or the thread count.
/// Throws value_error naming the first edge whose endpoint is out of range.
template <std::signed_integral Index, std::floating_point Weight = float>
Csr<Index, Weight> csr_from_coo(Index rows, Index cols, std::span<const Index> src, std::span<const Index> dst,
                                std::span<const Weight> weights = {}, CooOptions options = {}) {
  using offset_t = std::int64_t;
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error, "negative shape (" << rows << ", " << cols << ")");
  GAS_CHECK(src.size() == dst.size(), shape_error, src.size() << " sources but " << dst.size() << " targets");
  GAS_CHECK(weights.empty() || weights.size() == src.size(), shape_error,
            weights.size() << " weights for " << src.size() << " edges");
  GAS_CHECK(!options.symmetrize || rows == cols, shape_error,
            "cannot symmetrize a non-square (" << rows << " x " << cols << ") matrix");
  const auto m = static_cast<offset_t>(src.size());
  for (offset_t e = 0; e < m; ++e) {
    const auto s = src[static_cast<std::size_t>(e)], d = dst[static_cast<std::size_t>(e)];
    GAS_CHECK(s >= 0 && s < rows && d >= 0 && d < cols, value_error,
              "edge " << e << " (" << s << ", " << d << ") out of range for a " << rows << " x " << cols << " matrix");
  }
  const bool weighted = !weights.empty();

  // Counting sort by row: counts, prefix sum, scatter. Atomic cursors make the scatter order within a row
  // arbitrary, which the per-row sort below removes.
  std::vector<offset_t> count(static_cast<std::size_t>(rows) + 1, 0);
#pragma omp parallel for schedule(static)
  for (offset_t e = 0; e < m; ++e) {
    const auto s = src[static_cast<std::size_t>(e)], d = dst[static_cast<std::size_t>(e)];
    std::atomic_ref<offset_t>(count[static_cast<std::size_t>(s) + 1]).fetch_add(1, std::memory_order_relaxed);
    if (options.symmetrize && s != d)
      std::atomic_ref<offset_t>(count[static_cast<std::size_t>(d) + 1]).fetch_add(1, std::memory_order_relaxed);
  }
  for (std::size_t i = 1; i < count.size(); ++i) count[i] += count[i - 1];
  const offset_t total = count.back();
  std::vector<Index> col(static_cast<std::size_t>(total));
  std::vector<Weight> val(weighted ? static_cast<std::size_t>(total) : 0);
  std::vector<offset_t> cursor(count.begin(), count.end() - 1);
#pragma omp parallel for schedule(static)
  for (offset_t e = 0; e < m; ++e) {
    const auto s = src[static_cast<std::size_t>(e)], d = dst[static_cast<std::size_t>(e)];
    auto put = [&](Index r, Index c) {
      const offset_t at =
          std::atomic_ref<offset_t>(cursor[static_cast<std::size_t>(r)]).fetch_add(1, std::memory_order_relaxed);
      col[static_cast<std::size_t>(at)] = c;
      if (weighted) val[static_cast<std::size_t>(at)] = weights[static_cast<std::size_t>(e)];
    };
    put(s, d);
    if (options.symmetrize && s != d) put(d, s);
  }
  cursor.clear();
  cursor.shrink_to_fit();

  // Sort each row, then compact it in place (dedupe, self-loops); kept[r] is the row's new length.
  std::vector<offset_t> kept(static_cast<std::size_t>(rows) + 1, 0);
#pragma omp parallel
  {
    std::vector<std::pair<Index, Weight>> buffer;
#pragma omp for schedule(dynamic, 1024)
    for (Index r = 0; r < rows; ++r) {
      const offset_t b = count[static_cast<std::size_t>(r)], e = count[static_cast<std::size_t>(r) + 1];
      Index* c = col.data() + b;
      Weight* w = weighted ? val.data() + b : nullptr;
      const auto n = e - b;
      if (weighted) {
        buffer.resize(static_cast<std::size_t>(n));
        for (offset_t k = 0; k < n; ++k) buffer[static_cast<std::size_t>(k)] = {c[k], w[k]};
        std::sort(buffer.begin(), buffer.end());
        for (offset_t k = 0; k < n; ++k) std::tie(c[k], w[k]) = buffer[static_cast<std::size_t>(k)];
      } else {
        std::sort(c, c + n);
      }
      offset_t out = 0;
      for (offset_t k = 0; k < n; ++k) {
        if (options.drop_self_loops && c[k] == r) continue;
        if (options.dedupe && out > 0 && c[out - 1] == c[k]) {
          if (weighted) w[out - 1] = std::max(w[out - 1], w[k]);  // sorted ascending: the later one is larger
          continue;
        }
        c[out] = c[k];
        if (weighted) w[out] = w[k];
        ++out;
      }
      kept[static_cast<std::size_t>(r) + 1] = out;
    }
  }
  for (std::size_t i = 1; i < kept.size(); ++i) kept[i] += kept[i - 1];
  if (kept.back() != total) {  // something was removed: move rows down to their new offsets
    std::vector<Index> packed(static_cast<std::size_t>(kept.back()));
    std::vector<Weight> packed_w(weighted ? packed.size() : 0);
#pragma omp parallel for schedule(static)
    for (Index r = 0; r < rows; ++r) {
      const auto from = count[static_cast<std::size_t>(r)], to = kept[static_cast<std::size_t>(r)];
      const auto n = kept[static_cast<std::size_t>(r) + 1] - to;
      std::copy_n(col.data() + from, n, packed.data() + to);
      if (weighted) std::copy_n(val.data() + from, n, packed_w.data() + to);
    }
    col = std::move(packed);
    val = std::move(packed_w);
  }
  return Csr<Index, Weight>(rows, cols, std::move(kept), std::move(col), std::move(val));
}

/// @brief Convenience overload taking vectors.
template <std::signed_integral Index, std::floating_point Weight = float>
Csr<Index, Weight> csr_from_coo(Index rows, Index cols, const std::vector<Index>& src, const std::vector<Index>& dst,
                                CooOptions options = {}) {
  return csr_from_coo<Index, Weight>(rows, cols, std::span<const Index>(src), std::span<const Index>(dst),
                                     std::span<const Weight>{}, options);
}

}  // namespace gas
