#pragma once
/// @brief Node features, dense or sparse: `SparseRows` (rows in CSR), `FeatureView` (what models and loaders read:
/// either kind, by reference) and `Features` (what a Dataset owns: either kind).
///
/// Why sparse features: bag-of-words features are mostly zeros (Cora 1.3 % non-zero, Coauthor-Physics 0.4 % of
/// 8415 columns, 1.16 GB dense), and the first layer multiplies them by a weight. Kept in CSR, a dataset costs its
/// non-zeros, a batch gathers only those, input dropout draws only those, and layer 0's product costs nnz x out
/// instead of rows x in x out (ops::matmul takes a sparse left operand; other ops see a dense copy of the batch's
/// rows, made on the tape where they need it).

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/sparse_rows.hpp"
#include "gas/core/tensor.hpp"

namespace gas {

/// @brief An owning (rows, cols) sparse matrix in CSR with sorted, unique column indices per row.
template <std::floating_point F>
class SparseRows {
public:
  SparseRows() = default;
  /// @brief Takes the three arrays; checks every invariant (sizes, monotone offsets, columns in range and ascending
  /// within a row, finite values) and throws format_error naming `source` and the first offender.
  SparseRows(std::int64_t rows, std::int64_t cols, std::vector<std::int64_t> indptr, std::vector<std::int32_t> indices,
             std::vector<F> values, std::string_view source = "sparse features")
      : rows_(rows), cols_(cols), indptr_(std::move(indptr)), indices_(std::move(indices)), values_(std::move(values)) {
    auto fail = [&](const std::string& what) { throw format_error(std::string(source) + ": " + what); };
    if (rows < 0 || cols < 0 || cols > std::int64_t{INT32_MAX})
      fail("shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ") is not a valid sparse shape");
    if (static_cast<std::int64_t>(indptr_.size()) != rows + 1)
      fail(std::to_string(indptr_.size()) + " row offsets for " + std::to_string(rows) + " rows");
    if (indices_.size() != values_.size())
      fail(std::to_string(indices_.size()) + " column indices but " + std::to_string(values_.size()) + " values");
    if (indptr_[0] != 0 || indptr_.back() != static_cast<std::int64_t>(indices_.size()))
      fail("row offsets run from " + std::to_string(indptr_[0]) + " to " + std::to_string(indptr_.back()) +
           ", expected 0 to " + std::to_string(indices_.size()));
    for (std::int64_t i = 0; i < rows; ++i) {
      const auto b = indptr_[static_cast<std::size_t>(i)], e = indptr_[static_cast<std::size_t>(i) + 1];
      if (e < b) fail("row offsets decrease at row " + std::to_string(i));
      for (auto k = b; k < e; ++k) {
        const auto c = indices_[static_cast<std::size_t>(k)];
        if (c < 0 || c >= cols)
          fail("column " + std::to_string(c) + " in row " + std::to_string(i) + " outside [0, " + std::to_string(cols) +
               ")");
        if (k > b && c <= indices_[static_cast<std::size_t>(k) - 1])
          fail("columns of row " + std::to_string(i) + " are not strictly ascending at column " + std::to_string(c));
        if (!std::isfinite(values_[static_cast<std::size_t>(k)]))
          fail("feature (" + std::to_string(i) + ", " + std::to_string(c) + ") is not finite");
      }
    }
  }

  /// @brief The non-zeros of a dense matrix (exact zeros are dropped).
  explicit SparseRows(MatrixView<const F> dense) : rows_(dense.rows()), cols_(dense.cols()) {
    GAS_CHECK(dense.cols() <= std::int64_t{INT32_MAX}, shape_error,
              dense.cols() << " columns do not fit 32-bit column indices");
    indptr_.assign(static_cast<std::size_t>(rows_) + 1, 0);
    for (std::int64_t i = 0; i < rows_; ++i) {
      for (std::int64_t j = 0; j < cols_; ++j)
        if (dense(i, j) != F{0}) {
          indices_.push_back(static_cast<std::int32_t>(j));
          values_.push_back(dense(i, j));
        }
      indptr_[static_cast<std::size_t>(i) + 1] = static_cast<std::int64_t>(indices_.size());
    }
  }

  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] std::int64_t nnz() const { return static_cast<std::int64_t>(values_.size()); }
  [[nodiscard]] std::span<const std::int64_t> indptr() const { return indptr_; }
  [[nodiscard]] std::span<const std::int32_t> indices() const { return indices_; }
  [[nodiscard]] std::span<const F> values() const { return values_; }
  [[nodiscard]] std::span<F> values() { return values_; }
  [[nodiscard]] SparseRowsView<F> view() const { return {rows_, cols_, indptr_.data(), indices_.data(), values_.data()}; }
  /// @brief Bytes held: 8 per row, 4 + sizeof(F) per non-zero.
  [[nodiscard]] std::int64_t bytes() const {
    return static_cast<std::int64_t>(indptr_.size() * sizeof(std::int64_t) + indices_.size() * sizeof(std::int32_t) +
                                     values_.size() * sizeof(F));
  }
  /// @brief The dense (rows, cols) matrix.
  [[nodiscard]] Tensor<F> to_dense() const {
    Tensor<F> out(rows_, cols_);
    const auto v = view();
    for (std::int64_t i = 0; i < rows_; ++i) v.copy_row(i, &out(i, 0));
    return out;
  }
  friend bool operator==(const SparseRows&, const SparseRows&) = default;

private:
  std::int64_t rows_ = 0, cols_ = 0;
  std::vector<std::int64_t> indptr_{0};
  std::vector<std::int32_t> indices_;
  std::vector<F> values_;
};

/// @brief Features as models and loaders read them: a dense row-major view or a sparse CSR view, by reference.
/// Converts implicitly from a MatrixView, a dense Tensor, a SparseRows and a Features, so every function that
/// takes features takes both kinds.
template <class F>
class FeatureView {
public:
  using value_type = F;
  FeatureView() = default;
  FeatureView(MatrixView<const F> dense) : dense_(dense), rows_(dense.rows()), cols_(dense.cols()) {}
  FeatureView(const Tensor<F, host>& dense) : FeatureView(dense.view()) {}
  FeatureView(const SparseRows<F>& sparse)
      : sparse_(sparse.view()), is_sparse_(true), rows_(sparse.rows()), cols_(sparse.cols()) {}
  FeatureView(SparseRowsView<F> sparse) : sparse_(sparse), is_sparse_(true), rows_(sparse.rows), cols_(sparse.cols) {}

  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] bool is_sparse() const { return is_sparse_; }
  /// @brief The dense view; throws value_error for sparse features.
  [[nodiscard]] MatrixView<const F> dense() const {
    GAS_CHECK(!is_sparse_, value_error, "the features are sparse (" << rows_ << " x " << cols_ << ", " << sparse_.nnz()
                                                                    << " non-zeros); read them with sparse()");
    return dense_;
  }
  /// @brief The dense view, for code written for dense features; throws value_error for sparse ones.
  operator MatrixView<const F>() const { return dense(); }
  /// @brief The sparse view; throws value_error for dense features.
  [[nodiscard]] SparseRowsView<F> sparse() const {
    GAS_CHECK(is_sparse_, value_error, "the features are dense (" << rows_ << " x " << cols_ << ")");
    return sparse_;
  }
  /// @brief Writes row i densely into dst[0, cols()), converted to T.
  template <class T>
  void copy_row(std::int64_t i, T* dst) const {
    if (is_sparse_) {
      sparse_.copy_row(i, dst);
    } else if constexpr (std::is_same_v<T, F>) {
      std::copy_n(&dense_(i, 0), cols_, dst);
    } else {
      const F* src = &dense_(i, 0);
      for (std::int64_t j = 0; j < cols_; ++j) dst[j] = static_cast<T>(src[j]);
    }
  }

private:
  MatrixView<const F> dense_;
  SparseRowsView<F> sparse_;
  bool is_sparse_ = false;
  std::int64_t rows_ = 0, cols_ = 0;
};

/// @brief The features a Dataset owns: a dense (rows, cols) Tensor or SparseRows. Assigning a Tensor makes them
/// dense (as every reader did before sparse features), a SparseRows sparse.
class Features {
public:
  Features() = default;
  Features(Tensor<float> dense) : data_(std::move(dense)) {}
  Features(SparseRows<float> sparse) : data_(std::move(sparse)) {}

  [[nodiscard]] bool is_sparse() const { return std::holds_alternative<SparseRows<float>>(data_); }
  [[nodiscard]] std::int64_t rows() const {
    return std::visit([](const auto& d) { return d.rows(); }, data_);
  }
  [[nodiscard]] std::int64_t cols() const {
    return std::visit([](const auto& d) { return d.cols(); }, data_);
  }
  /// @brief Stored non-zeros (dense: every element).
  [[nodiscard]] std::int64_t nnz() const {
    return is_sparse() ? sparse().nnz() : dense().size();
  }
  /// @brief Bytes of the stored arrays.
  [[nodiscard]] std::int64_t bytes() const {
    return is_sparse() ? sparse().bytes() : dense().size() * static_cast<std::int64_t>(sizeof(float));
  }
  /// @brief The dense tensor; throws value_error for sparse features (to_dense() copies them).
  [[nodiscard]] Tensor<float>& dense() { return std::get<Tensor<float>>(checked(*this, false)); }
  [[nodiscard]] const Tensor<float>& dense() const { return std::get<Tensor<float>>(checked(*this, false)); }
  /// @brief The sparse rows; throws value_error for dense features.
  [[nodiscard]] SparseRows<float>& sparse() { return std::get<SparseRows<float>>(checked(*this, true)); }
  [[nodiscard]] const SparseRows<float>& sparse() const { return std::get<SparseRows<float>>(checked(*this, true)); }
  [[nodiscard]] FeatureView<float> view() const {
    if (is_sparse()) return FeatureView<float>(sparse());
    return FeatureView<float>(dense());
  }
  operator FeatureView<float>() const { return view(); }
  /// @brief Element (i, j) of either kind (sparse: a binary search in row i); for checks, not inner loops.
  [[nodiscard]] float operator()(std::int64_t i, std::int64_t j) const {
    if (!is_sparse()) return dense()(i, j);
    const auto& s = sparse();
    const auto ptr = s.indptr();
    const auto cols = s.indices().subspan(static_cast<std::size_t>(ptr[static_cast<std::size_t>(i)]),
                                          static_cast<std::size_t>(ptr[static_cast<std::size_t>(i) + 1] - ptr[static_cast<std::size_t>(i)]));
    const auto at = std::lower_bound(cols.begin(), cols.end(), static_cast<std::int32_t>(j));
    if (at == cols.end() || *at != j) return 0.0f;
    return s.values()[static_cast<std::size_t>(ptr[static_cast<std::size_t>(i)] + (at - cols.begin()))];
  }
  friend bool operator==(const Features&, const Features&) = default;
  /// @brief A dense copy (or the tensor itself, copied, when dense).
  [[nodiscard]] Tensor<float> to_dense() const { return is_sparse() ? sparse().to_dense() : dense(); }

private:
  using Variant = std::variant<Tensor<float>, SparseRows<float>>;
  template <class Self>
  static auto checked(Self& self, bool want_sparse) -> std::conditional_t<std::is_const_v<Self>, const Variant&, Variant&> {
    GAS_CHECK(self.is_sparse() == want_sparse, value_error,
              "the features are " << (self.is_sparse() ? "sparse" : "dense") << " (" << self.rows() << " x "
                                  << self.cols() << "); use " << (self.is_sparse() ? "sparse() or to_dense()" : "dense()"));
    return self.data_;
  }
  std::variant<Tensor<float>, SparseRows<float>> data_;
};

/// @brief A FeatureView of any feature source: a FeatureView, a MatrixView, a host Tensor, SparseRows or Features.
template <class F>
FeatureView<F> as_feature_view(FeatureView<F> v) {
  return v;
}
template <class F>
FeatureView<std::remove_const_t<F>> as_feature_view(MatrixView<F> v) {
  return FeatureView<std::remove_const_t<F>>(MatrixView<const std::remove_const_t<F>>(v));
}
template <class F>
FeatureView<F> as_feature_view(const Tensor<F, host>& t) {
  return FeatureView<F>(t.view());
}
template <class F>
FeatureView<F> as_feature_view(const SparseRows<F>& s) {
  return FeatureView<F>(s);
}
inline FeatureView<float> as_feature_view(const Features& f) { return f.view(); }

/// @brief What the models, the IO objects and the Trainer accept as features.
template <class X>
concept FeatureSource = requires(const X& x) {
  { as_feature_view(x) };
};

/// @brief The element type of a feature source.
template <FeatureSource X>
using feature_value_t = typename decltype(as_feature_view(std::declval<const X&>()))::value_type;

/// @brief When readers keep features sparse: `automatic` below a density threshold, or always / never.
enum class SparseFeatures { automatic, always, never };

/// @brief "auto", "always" or "never"; throws config_error naming `flag` for anything else.
inline SparseFeatures parse_sparse_features(std::string_view text, std::string_view flag = "--sparse-features") {
  if (text == "auto") return SparseFeatures::automatic;
  if (text == "always") return SparseFeatures::always;
  if (text == "never") return SparseFeatures::never;
  throw config_error(std::string(flag) + ": '" + std::string(text) + "' is not auto, always or never");
}

/// @brief Density (non-zeros / elements) below which `automatic` keeps features sparse: at 10 % CSR takes 0.8x the
/// dense bytes, and layer 0's sparse product beats a dense GEMM well before that.
inline constexpr double sparse_features_density = 0.10;

/// @brief Whether features of this shape and non-zero count are kept sparse under `mode`.
inline bool keep_sparse(SparseFeatures mode, std::int64_t rows, std::int64_t cols, std::int64_t nnz) {
  if (mode == SparseFeatures::never || cols == 0) return false;
  if (mode == SparseFeatures::always) return true;
  const double elements = static_cast<double>(rows) * static_cast<double>(cols);
  return elements > 0 && static_cast<double>(nnz) < sparse_features_density * elements;
}

/// @brief SparseRows of (rows, cols) from COO triplets in any order; repeated (row, column) entries add up (as when
/// scipy converts a matrix with duplicates) and exact zeros are dropped. Indices must be in range (the caller
/// checked them); a stable counting sort by row, then a sort of each row by column: O(nnz log degree).
inline SparseRows<float> sparse_rows_from_coo(std::int64_t rows, std::int64_t cols, std::span<const std::int32_t> row,
                                              std::span<const std::int32_t> col, std::span<const float> value,
                                              std::string_view source) {
  std::vector<std::int64_t> indptr(static_cast<std::size_t>(rows) + 1, 0);
  for (const auto r : row) ++indptr[static_cast<std::size_t>(r) + 1];
  for (std::size_t i = 1; i < indptr.size(); ++i) indptr[i] += indptr[i - 1];
  std::vector<std::pair<std::int32_t, float>> entries(row.size());
  {
    std::vector<std::int64_t> at(indptr.begin(), indptr.end() - 1);
    for (std::size_t k = 0; k < row.size(); ++k)
      entries[static_cast<std::size_t>(at[static_cast<std::size_t>(row[k])]++)] = {col[k], value[k]};
  }
  std::vector<std::int64_t> out_ptr(indptr.size(), 0);
  std::vector<std::int32_t> indices;
  std::vector<float> values;
  indices.reserve(entries.size());
  values.reserve(entries.size());
  for (std::int64_t i = 0; i < rows; ++i) {
    auto* b = entries.data() + indptr[static_cast<std::size_t>(i)];
    auto* e = entries.data() + indptr[static_cast<std::size_t>(i) + 1];
    std::stable_sort(b, e, [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto* p = b; p != e;) {
      float sum = 0;
      const std::int32_t c = p->first;
      for (; p != e && p->first == c; ++p) sum += p->second;
      if (sum == 0) continue;
      indices.push_back(c);
      values.push_back(sum);
    }
    out_ptr[static_cast<std::size_t>(i) + 1] = static_cast<std::int64_t>(indices.size());
  }
  return SparseRows<float>(rows, cols, std::move(out_ptr), std::move(indices), std::move(values), source);
}

/// @brief Features from sparse rows under `mode`: kept sparse, or densified when `never` or too dense for
/// `automatic`.
inline Features make_features(SparseRows<float> sparse, SparseFeatures mode) {
  if (keep_sparse(mode, sparse.rows(), sparse.cols(), sparse.nnz())) return Features(std::move(sparse));
  return Features(sparse.to_dense());
}

/// @brief Features from a dense tensor under `mode` (counts its non-zeros for `automatic`).
inline Features make_features(Tensor<float> dense, SparseFeatures mode) {
  const auto values = dense.values();
  const auto nnz = static_cast<std::int64_t>(std::count_if(values.begin(), values.end(), [](float v) { return v != 0; }));
  if (!keep_sparse(mode, dense.rows(), dense.cols(), nnz)) return Features(std::move(dense));
  return Features(SparseRows<float>(std::as_const(dense).view()));
}

}  // namespace gas
