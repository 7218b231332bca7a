#pragma once
/// @brief Relabeling by a Partition: `permute` a graph or dataset so each cluster is a contiguous id range,
/// `permute_rows` for per-node arrays, and `to_original` to report per-node results in the original ids.
///
/// Node i of a permuted object is original node p.perm[i]; original node v is new node p.inverse[v].

#include <algorithm>
#include <cstdint>
#include <cstring>
#include "gas/core/source_location.hpp"
#include <string>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/graph/transforms.hpp"
#include "gas/partition/partition.hpp"

namespace gas::partition {

namespace detail {

/// @brief Throws shape_error unless `p` covers `n` nodes, and value_error unless perm and inverse are mutually
/// inverse permutations: a corrupt partition would otherwise index out of bounds. The caller is named.
inline void check_partition(const Partition& p, std::int64_t n,
                            const ::gas::source_location& where = ::gas::source_location::current()) {
  if (p.perm.size() != static_cast<std::size_t>(n) || p.inverse.size() != static_cast<std::size_t>(n)) {
    gas::detail::fail<shape_error>(where, "the partition covers " + std::to_string(p.perm.size()) + " nodes (" +
                                              std::to_string(p.inverse.size()) + " in its inverse), but there are " +
                                              std::to_string(n));
  }
  bool ok = true;
#pragma omp parallel for schedule(static) reduction(&& : ok)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto old = p.perm[static_cast<std::size_t>(i)];
    if (old < 0 || old >= n || p.inverse[static_cast<std::size_t>(old)] != i) ok = false;
  }
  // inverse[perm[i]] == i for every i makes perm injective, hence a bijection, and inverse its inverse.
  if (!ok) gas::detail::fail<value_error>(where, "the partition's perm and inverse are not inverse permutations");
}

/// @brief Row gather between (n, cols) row-major arrays: out row i = in row from[i].
template <class T>
void gather_rows(const T* in, T* out, std::int64_t cols, const std::vector<node_id>& from) {
  const auto n = static_cast<std::int64_t>(from.size());
  const auto bytes = static_cast<std::size_t>(cols) * sizeof(T);
  if (bytes == 0) return;
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i)
    std::memcpy(out + i * cols, in + static_cast<std::int64_t>(from[static_cast<std::size_t>(i)]) * cols, bytes);
}

}  // namespace detail

/// @brief The graph relabeled by `p`: row i is original row p.perm[i], every column v becomes p.inverse[v], each
/// row is re-sorted by (column, weight) and weights travel with their entries. Throws shape_error when the
/// partition's size differs from the node count.
inline Graph permute(const Graph& graph, const Partition& p) {
  GAS_CHECK(graph.rows() == graph.cols(), shape_error,
            "adjacency is not square (" << graph.rows() << " x " << graph.cols() << ")");
  detail::check_partition(p, graph.rows());
  const node_id n = graph.rows();
  const auto indptr = graph.indptr();
  const auto indices = graph.indices();
  const auto weights = graph.weights();
  const bool weighted = graph.has_weights();
  std::vector<std::int64_t> out_ptr(static_cast<std::size_t>(n) + 1, 0);
  for (node_id i = 0; i < n; ++i)
    out_ptr[static_cast<std::size_t>(i) + 1] = out_ptr[static_cast<std::size_t>(i)] + graph.degree(p.perm[static_cast<std::size_t>(i)]);
  std::vector<node_id> out_idx(indices.size());
  std::vector<float> out_w(weighted ? indices.size() : 0);
#pragma omp parallel
  {
    std::vector<std::pair<node_id, float>> buffer;  // this thread's scratch for weighted row sorts
#pragma omp for schedule(dynamic, 1024)
    for (node_id i = 0; i < n; ++i) {
      const auto old = static_cast<std::size_t>(p.perm[static_cast<std::size_t>(i)]);
      const auto from = indptr[old], len = indptr[old + 1] - indptr[old];
      const auto to = out_ptr[static_cast<std::size_t>(i)];
      for (std::int64_t k = 0; k < len; ++k) {
        out_idx[static_cast<std::size_t>(to + k)] = p.inverse[static_cast<std::size_t>(indices[static_cast<std::size_t>(from + k)])];
        if (weighted) out_w[static_cast<std::size_t>(to + k)] = weights[static_cast<std::size_t>(from + k)];
      }
      gas::detail::sort_row(out_idx.data() + to, weighted ? out_w.data() + to : nullptr, len, buffer);
    }
  }
  return Graph(n, n, std::move(out_ptr), std::move(out_idx), std::move(out_w));
}

/// @brief Rows of a per-node tensor in the order of `p`: result row i is input row p.perm[i].
/// Throws shape_error when the row count differs from the partition's size.
template <class T>
Tensor<T> permute_rows(const Tensor<T>& rows_in_original_order, const Partition& p) {
  detail::check_partition(p, rows_in_original_order.rows());
  Tensor<T> out(rows_in_original_order.rows(), rows_in_original_order.cols());
  detail::gather_rows(rows_in_original_order.data(), out.data(), out.cols(), p.perm);
  return out;
}

/// @brief Features (dense or sparse) in the order of `p`: row i is row p.perm[i].
inline Features permute_rows(const Features& rows_in_original_order, const Partition& p) {
  if (!rows_in_original_order.is_sparse()) return permute_rows(rows_in_original_order.dense(), p);
  const SparseRows<float>& x = rows_in_original_order.sparse();
  detail::check_partition(p, x.rows());
  const auto ptr = x.indptr();
  std::vector<std::int64_t> indptr(ptr.size(), 0);
  for (std::size_t i = 0; i + 1 < indptr.size(); ++i) {
    const auto v = static_cast<std::size_t>(p.perm[i]);
    indptr[i + 1] = indptr[i] + (ptr[v + 1] - ptr[v]);
  }
  std::vector<std::int32_t> indices(static_cast<std::size_t>(x.nnz()));
  std::vector<float> values(static_cast<std::size_t>(x.nnz()));
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < x.rows(); ++i) {
    const auto v = static_cast<std::size_t>(p.perm[static_cast<std::size_t>(i)]);
    std::copy(x.indices().begin() + ptr[v], x.indices().begin() + ptr[v + 1], indices.begin() + indptr[static_cast<std::size_t>(i)]);
    std::copy(x.values().begin() + ptr[v], x.values().begin() + ptr[v + 1], values.begin() + indptr[static_cast<std::size_t>(i)]);
  }
  return SparseRows<float>(x.rows(), x.cols(), std::move(indptr), std::move(indices), std::move(values));
}

/// @brief A per-node vector in the order of `p`: result[i] = values[p.perm[i]].
template <class T>
std::vector<T> permute_rows(const std::vector<T>& values_in_original_order, const Partition& p) {
  detail::check_partition(p, static_cast<std::int64_t>(values_in_original_order.size()));
  std::vector<T> out(values_in_original_order.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = values_in_original_order[static_cast<std::size_t>(p.perm[i])];
  return out;
}

/// @brief Per-node results computed on a permuted dataset, back in original ids: result row p.perm[i] is input
/// row i. Throws shape_error when the row count differs from the partition's size.
template <class T>
Tensor<T> to_original(const Tensor<T>& rows_in_new_order, const Partition& p) {
  detail::check_partition(p, rows_in_new_order.rows());
  Tensor<T> out(rows_in_new_order.rows(), rows_in_new_order.cols());
  detail::gather_rows(rows_in_new_order.data(), out.data(), out.cols(), p.inverse);
  return out;
}

/// @brief A per-node vector computed on a permuted dataset, back in original ids: result[p.perm[i]] = values[i].
template <class T>
std::vector<T> to_original(const std::vector<T>& values_in_new_order, const Partition& p) {
  detail::check_partition(p, static_cast<std::int64_t>(values_in_new_order.size()));
  std::vector<T> out(values_in_new_order.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[static_cast<std::size_t>(p.perm[i])] = values_in_new_order[i];
  return out;
}

/// @brief The dataset relabeled by `p`: graph, feature rows, labels or multi-label rows follow the nodes, every
/// split's ids are mapped through p.inverse and re-sorted; name and class count are kept.
/// Throws shape_error when the partition's size differs from the node count.
inline Dataset permute(const Dataset& data, const Partition& p) {
  GAS_CHECK(p.num_nodes() == data.num_nodes(), shape_error,
            "the partition covers " << p.num_nodes() << " nodes but dataset '" << data.name << "' has "
                                    << data.num_nodes());
  Dataset out;
  out.name = data.name;
  out.num_classes = data.num_classes;
  out.graph = permute(data.graph, p);
  out.features = permute_rows(data.features, p);
  if (!data.labels.empty()) out.labels = permute_rows(data.labels, p);
  if (!data.multi_labels.empty()) out.multi_labels = permute_rows(data.multi_labels, p);
  out.splits.reserve(data.splits.size());
  for (const auto& split : data.splits) {
    Split& s = out.splits.emplace_back();
    for (auto [from, to] : {std::pair{&split.train, &s.train}, std::pair{&split.val, &s.val}, std::pair{&split.test, &s.test}}) {
      to->resize(from->size());
      for (std::size_t k = 0; k < from->size(); ++k) {
        const auto v = (*from)[k];
        GAS_CHECK(v >= 0 && v < data.num_nodes(), value_error,
                  "split names node " << v << " outside [0, " << data.num_nodes() << ")");
        (*to)[k] = p.inverse[static_cast<std::size_t>(v)];
      }
      std::sort(to->begin(), to->end());
    }
  }
  return out;
}

}  // namespace gas::partition
