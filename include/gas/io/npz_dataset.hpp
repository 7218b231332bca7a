#pragma once
/// @brief Datasets stored as one `.npz` archive: the heterophilous-graphs layout and the gnn-benchmark layout.
///
/// The layout is recognized by the archive's keys, and only the arrays a layout needs are decompressed, so
/// extra entries (gnn-benchmark's unicode `node_names`, or anything else) cost nothing and cannot fail a load.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gas/graph/dataset.hpp"
#include "gas/io/build_graph.hpp"
#include "gas/io/npy.hpp"
#include "gas/io/zip.hpp"

namespace gas::io {

namespace detail {

/// @brief Lazy access to the arrays of an `.npz` archive by key (entry name without ".npy").
class NpzArchive {
public:
  explicit NpzArchive(const std::filesystem::path& path) : zip_(path) {}

  [[nodiscard]] const std::string& source() const { return zip_.source(); }
  [[nodiscard]] bool has(std::string_view key) const { return zip_.contains(std::string(key) + ".npy"); }
  [[nodiscard]] NpyArray get(std::string_view key) const {
    if (!has(key)) throw format_error(source() + ": no array '" + std::string(key) + "' in the archive");
    return read_npz_entry(zip_, std::string(key) + ".npy");
  }
  /// @brief The keys present, comma-separated, for "unknown layout" messages.
  [[nodiscard]] std::string key_list() const {
    std::string out;
    for (const auto& name : zip_.names()) {
      const auto key = name.ends_with(".npy") ? name.substr(0, name.size() - 4) : name;
      out += (out.empty() ? "" : ", ") + key;
    }
    return out.empty() ? "none" : out;
  }

private:
  ZipArchive zip_;
};

/// @brief Throws format_error naming the array unless it has `ndim` dimensions and the given fixed extents
/// (a negative expected extent means any).
inline void require_shape(const NpyArray& a, std::string_view key, std::vector<std::int64_t> expected) {
  bool ok = a.ndim() == expected.size();
  for (std::size_t i = 0; ok && i < expected.size(); ++i) ok = expected[i] < 0 || a.shape()[i] == expected[i];
  if (ok) return;
  std::string want = "(";
  for (std::size_t i = 0; i < expected.size(); ++i)
    want += (i ? ", " : "") + (expected[i] < 0 ? std::string("*") : std::to_string(expected[i]));
  want += expected.size() == 1 ? ",)" : ")";
  throw format_error(a.source() + ": '" + std::string(key) + "' has shape " + a.shape_string() + ", expected " + want);
}

/// @brief Throws format_error unless the array holds numbers (not strings).
inline void require_numeric(const NpyArray& a, std::string_view key) {
  if (!a.is_numeric())
    throw format_error(a.source() + ": '" + std::string(key) + "' has dtype '" + a.descr() + "', expected numbers");
}

/// @brief Converts node ids to `node_id`, checking each lies in [0, n); the message names the array and entry.
inline std::vector<node_id> checked_ids(const NpyArray& a, std::string_view key, node_id n) {
  require_numeric(a, key);
  const auto wide = a.to_vector<std::int64_t>();
  std::vector<node_id> ids(wide.size());
  for (std::size_t i = 0; i < wide.size(); ++i) {
    if (wide[i] < 0 || wide[i] >= n)
      throw format_error(a.source() + ": '" + std::string(key) + "' entry " + std::to_string(i) + " is node " +
                         std::to_string(wide[i]) + ", outside [0, " + std::to_string(n) + ")");
    ids[i] = static_cast<node_id>(wide[i]);
  }
  return ids;
}

/// @brief Reads labels [n] as int32, rejecting negative values; returns the number of classes (max + 1).
inline std::int32_t checked_labels(const NpyArray& a, std::string_view key, node_id n, std::vector<std::int32_t>& out) {
  require_numeric(a, key);
  require_shape(a, key, {n});
  out = a.to_vector<std::int32_t>();
  std::int32_t max = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] < 0)
      throw format_error(a.source() + ": '" + std::string(key) + "' gives node " + std::to_string(i) + " label " +
                         std::to_string(out[i]) + "; labels must be >= 0");
    max = std::max(max, out[i]);
  }
  if (max == std::numeric_limits<std::int32_t>::max())
    throw format_error(a.source() + ": '" + std::string(key) + "' has a label too large for a class count");
  return max + 1;
}

/// @brief A sparse matrix as COO lists, with its shape.
struct CooParts {
  std::int64_t rows = 0, cols = 0;
  std::vector<std::int64_t> row, col;
  std::vector<float> value;  // empty unless values were asked for
};

/// @brief Reads a scipy compressed sparse matrix stored as arrays PREFIXdata (optional), PREFIXindices,
/// PREFIXindptr and PREFIXshape into COO lists, skipping explicitly stored zeros. `column_major` reads
/// CSC (indptr over columns, indices are rows) instead of CSR.
inline CooParts read_compressed_parts(const NpzArchive& npz, std::string_view prefix, bool keep_values,
                                      bool column_major = false) {
  const std::string p(prefix);
  const auto shape_arr = npz.get(p + "shape");
  require_numeric(shape_arr, p + "shape");
  require_shape(shape_arr, p + "shape", {2});
  const auto shape = shape_arr.to_vector<std::int64_t>();
  if (shape[0] < 0 || shape[1] < 0)
    throw format_error(shape_arr.source() + ": negative matrix shape (" + std::to_string(shape[0]) + ", " +
                       std::to_string(shape[1]) + ")");
  CooParts out{shape[0], shape[1], {}, {}, {}};
  const std::int64_t outer = column_major ? out.cols : out.rows, inner = column_major ? out.rows : out.cols;

  const auto indptr_arr = npz.get(p + "indptr");
  require_numeric(indptr_arr, p + "indptr");
  require_shape(indptr_arr, p + "indptr", {outer + 1});
  const auto indptr = indptr_arr.to_vector<std::int64_t>();
  const auto indices_arr = npz.get(p + "indices");
  require_numeric(indices_arr, p + "indices");
  require_shape(indices_arr, p + "indices", {-1});
  const auto indices = indices_arr.to_vector<std::int64_t>();
  const auto nnz = static_cast<std::int64_t>(indices.size());
  std::vector<float> data;
  if (npz.has(p + "data")) {
    const auto data_arr = npz.get(p + "data");
    require_numeric(data_arr, p + "data");
    require_shape(data_arr, p + "data", {nnz});
    data = data_arr.to_vector<float>();
  }
  if (indptr.front() != 0 || indptr.back() != nnz)
    throw format_error(indptr_arr.source() + ": indptr runs from " + std::to_string(indptr.front()) + " to " +
                       std::to_string(indptr.back()) + ", expected 0 to " + std::to_string(nnz) + " stored entries");
  for (std::size_t r = 0; r + 1 < indptr.size(); ++r)
    if (indptr[r] > indptr[r + 1])
      throw format_error(indptr_arr.source() + ": indptr decreases at position " + std::to_string(r));
  out.row.reserve(indices.size());
  out.col.reserve(indices.size());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (auto k = indptr[static_cast<std::size_t>(o)]; k < indptr[static_cast<std::size_t>(o) + 1]; ++k) {
      const auto i = indices[static_cast<std::size_t>(k)];
      if (i < 0 || i >= inner)
        throw format_error(indices_arr.source() + ": entry " + std::to_string(k) + " is index " + std::to_string(i) +
                           ", outside [0, " + std::to_string(inner) + ")");
      // A stored zero is not an edge nor a feature, as for scipy's `A != 0`.
      if (!data.empty() && data[static_cast<std::size_t>(k)] == 0.0f) continue;
      out.row.push_back(column_major ? i : o);
      out.col.push_back(column_major ? o : i);
      if (keep_values) out.value.push_back(data.empty() ? 1.0f : data[static_cast<std::size_t>(k)]);
    }
  }
  return out;
}

inline Dataset read_heterophilous(const NpzArchive& npz, Dataset ds, const LoadOptions& options) {
  const auto& file = npz.source();
  const auto features = npz.get("node_features");
  require_numeric(features, "node_features");
  require_shape(features, "node_features", {-1, -1});
  const node_id n = checked_node_count(file, features.shape()[0]);
  ds.features = make_features(Tensor<float>(n, features.shape()[1], features.to_vector<float>()), options.sparse_features);

  ds.num_classes = checked_labels(npz.get("node_labels"), "node_labels", n, ds.labels);

  const auto edges = npz.get("edges");
  require_numeric(edges, "edges");
  require_shape(edges, "edges", {-1, 2});
  const auto ends = checked_ids(edges, "edges", n);
  const std::size_t m = ends.size() / 2;
  std::vector<node_id> src(m), dst(m);
  for (std::size_t e = 0; e < m; ++e) {
    src[e] = ends[2 * e];
    dst[e] = ends[2 * e + 1];
  }
  ds.graph = build_graph(file, n, src, dst, options);

  // Masks are [S, N] (S splits) or [N] (one split); all three must agree on S.
  const bool any_mask = npz.has("train_masks") || npz.has("val_masks") || npz.has("test_masks");
  if (!any_mask) return ds;
  std::int64_t num_splits = -1;
  std::vector<std::vector<std::uint8_t>> masks;
  for (const char* key : {"train_masks", "val_masks", "test_masks"}) {
    if (!npz.has(key))
      throw format_error(file + ": has some split masks but no '" + key + "' (expected train_masks, val_masks, test_masks)");
    const auto mask = npz.get(key);
    require_numeric(mask, key);
    if (mask.ndim() == 1) require_shape(mask, key, {n});
    else require_shape(mask, key, {-1, n});
    const std::int64_t s = mask.ndim() == 1 ? 1 : mask.shape()[0];
    // S splits of N nodes are S * N bytes of the file, except when N is 0: then nothing backs S.
    if (n == 0 && s > 1)
      throw format_error(mask.source() + ": '" + key + "' declares " + std::to_string(s) +
                         " splits of a graph without nodes");
    if (num_splits >= 0 && s != num_splits)
      throw format_error(mask.source() + ": '" + key + "' holds " + std::to_string(s) + " splits but 'train_masks' holds " +
                         std::to_string(num_splits));
    num_splits = s;
    masks.push_back(mask.to_vector<std::uint8_t>());
  }
  ds.splits.resize(static_cast<std::size_t>(num_splits));
  for (std::int64_t s = 0; s < num_splits; ++s) {
    Split& split = ds.splits[static_cast<std::size_t>(s)];
    for (int part = 0; part < 3; ++part) {
      auto& ids = part == 0 ? split.train : part == 1 ? split.val : split.test;
      const std::uint8_t* row = masks[static_cast<std::size_t>(part)].data() + s * static_cast<std::int64_t>(n);
      for (node_id v = 0; v < n; ++v)
        if (row[v]) ids.push_back(v);
    }
  }
  return ds;
}

inline Dataset read_gnn_benchmark(const NpzArchive& npz, Dataset ds, const LoadOptions& options) {
  const auto& file = npz.source();
  auto adj = read_compressed_parts(npz, "adj_", false);
  if (adj.rows != adj.cols)
    throw format_error(file + ": adjacency is " + std::to_string(adj.rows) + " x " + std::to_string(adj.cols) +
                       ", expected a square matrix");
  const node_id n = checked_node_count(file, adj.rows);
  std::vector<node_id> src(adj.row.begin(), adj.row.end()), dst(adj.col.begin(), adj.col.end());
  adj = {};
  ds.graph = build_graph(file, n, src, dst, options);

  if (npz.has("attr_matrix")) {
    const auto attr = npz.get("attr_matrix");
    require_numeric(attr, "attr_matrix");
    require_shape(attr, "attr_matrix", {n, -1});
    ds.features = make_features(Tensor<float>(n, attr.shape()[1], attr.to_vector<float>()), options.sparse_features);
  } else if (npz.has("attr_shape")) {
    auto attr = read_compressed_parts(npz, "attr_", true);
    if (attr.rows != n)
      throw format_error(file + ": attribute matrix has " + std::to_string(attr.rows) + " rows for " +
                         std::to_string(n) + " nodes");
    if (attr.cols > std::numeric_limits<std::int32_t>::max())
      throw format_error(file + ": attribute matrix " + std::to_string(n) + " x " + std::to_string(attr.cols) +
                         " has more columns than 32-bit indices address");
    // Straight from the triplets to CSR: a bag-of-words matrix is never densified unless the user asks for it
    // (Coauthor-Physics would take 1.16 GB dense).
    std::vector<std::int32_t> rows(attr.row.begin(), attr.row.end()), cols(attr.col.begin(), attr.col.end());
    auto sparse = sparse_rows_from_coo(n, attr.cols, rows, cols, attr.value, file + ": attribute matrix");
    attr = {};
    ds.features = make_features(std::move(sparse), options.sparse_features);
  } else {
    ds.features = Tensor<float>(n, 0);
  }

  if (npz.has("labels")) ds.num_classes = checked_labels(npz.get("labels"), "labels", n, ds.labels);
  return ds;
}

}  // namespace detail

/// @brief Reads a node-classification dataset from one `.npz` archive, recognizing the layout by its keys:
/// - heterophilous-graphs: node_features f32 [N, F], node_labels int [N], edges int [E, 2] and optional
///   train_masks / val_masks / test_masks bool [S, N] (S splits);
/// - gnn-benchmark: scipy CSR parts adj_data / adj_indices / adj_indptr / adj_shape, features as CSR parts
///   attr_* (kept sparse under LoadOptions::sparse_features) or a dense attr_matrix or none, optional labels [N]; no splits.
/// The name is the file stem; num_classes is the largest label + 1. Throws io_error when the file cannot be
/// read and format_error (naming the file and the array) for an unknown layout or inconsistent content.
inline Dataset read_npz(const std::filesystem::path& file, const LoadOptions& options = {}) {
  const detail::NpzArchive npz(file);
  Dataset ds;
  ds.name = file.stem().string();
  if (npz.has("node_features") && npz.has("node_labels") && npz.has("edges")) {
    ds = detail::read_heterophilous(npz, std::move(ds), options);
  } else if (npz.has("adj_indices") && npz.has("adj_indptr") && npz.has("adj_shape")) {
    ds = detail::read_gnn_benchmark(npz, std::move(ds), options);
  } else {
    throw format_error(file.string() + ": unknown npz dataset layout; keys found: " + npz.key_list() +
                       " (expected node_features/node_labels/edges or adj_indices/adj_indptr/adj_shape)");
  }
  ds.validate(file.string());
  return ds;
}

}  // namespace gas::io
