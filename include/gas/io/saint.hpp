#pragma once
/// @brief GraphSAINT dataset folders (Flickr, Reddit, Yelp, Amazon, PPI as the GraphSAINT authors publish them).
///
/// A folder holds adj_full.npz (scipy.sparse.save_npz of the N x N adjacency), feats.npy [N, F],
/// class_map.json ({"id": label} or {"id": [0/1, ...]}) and role.json ({"tr": [...], "va": [...], "te": [...]}).
/// class_map.json is read through JSON events straight into the label arrays, since Yelp's file holds
/// 71M numbers that a DOM could not afford.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gas/graph/dataset.hpp"
#include "gas/io/build_graph.hpp"
#include "gas/io/file.hpp"
#include "gas/io/json.hpp"
#include "gas/io/limits.hpp"
#include "gas/io/npy.hpp"
#include "gas/io/npz_dataset.hpp"

namespace gas::io {

namespace detail {

/// @brief JSON event handler filling single- or multi-label targets from a GraphSAINT class_map.
class SaintClassMap {
public:
  SaintClassMap(std::string source, node_id n)
      : source_(std::move(source)), n_(n), seen_(static_cast<std::size_t>(n), 0) {}

  void begin_object() {
    if (depth_ != 0) fail("value of node " + key_ + " is an object, expected a label or a 0/1 array");
    depth_ = 1;
  }
  void end_object() { depth_ = 0; }
  void key(std::string_view k) {
    key_.assign(k);
    std::int64_t id = 0;
    bool ok = !k.empty() && k.size() <= 10;
    for (char c : k) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) id = id * 10 + (c - '0');
    }
    if (!ok) fail("key \"" + key_ + "\" is not a node id");
    if (id >= n_) fail("key \"" + key_ + "\" names a node outside [0, " + std::to_string(n_) + ")");
    current_ = static_cast<node_id>(id);
    auto& seen = seen_[static_cast<std::size_t>(current_)];
    if (seen) fail("node " + key_ + " appears twice");
    seen = 1;
    ++covered_;
  }
  void begin_array() {
    if (depth_ != 1) fail(depth_ == 0 ? "top level is an array, expected an object" : "nested array in node " + key_);
    mode(true);
    depth_ = 2;
    column_ = 0;
  }
  void end_array() {
    depth_ = 1;
    if (num_classes_ < 0) {
      // The first row fixes the class count; only now can the (nodes, classes) matrix be allocated.
      if (first_row_.empty()) fail("node " + key_ + " has an empty label array");
      num_classes_ = static_cast<std::int64_t>(first_row_.size());
      multi_ = Tensor<std::uint8_t>(n_, num_classes_);
      std::copy(first_row_.begin(), first_row_.end(), multi_.row(first_node_).begin());
      first_row_ = {};
    } else if (column_ != num_classes_) {
      fail("node " + key_ + " has " + std::to_string(column_) + " labels, earlier nodes have " +
           std::to_string(num_classes_));
    }
  }
  void number(const JsonNumber& v) {
    if (depth_ == 1) {
      mode(false);
      if (!v.fits_int64 || v.integer < 0 || v.integer >= std::numeric_limits<std::int32_t>::max())
        fail("node " + key_ + " has label " + std::string(v.text) + ", expected an integer >= 0");
      labels_[static_cast<std::size_t>(current_)] = static_cast<std::int32_t>(v.integer);
      max_label_ = std::max(max_label_, static_cast<std::int32_t>(v.integer));
      return;
    }
    if (depth_ != 2) fail("top level is a number, expected an object");
    if (!v.fits_int64 || (v.integer != 0 && v.integer != 1))
      fail("node " + key_ + " has multi-label entry " + std::string(v.text) + ", expected 0 or 1");
    put_bit(static_cast<std::uint8_t>(v.integer));
  }
  void boolean(bool b) {
    if (depth_ != 2) fail(where() + " is a boolean, expected a label");
    put_bit(b ? 1 : 0);
  }
  void null_value() { fail(where() + " is null, expected a label"); }
  void string(std::string_view) { fail(where() + " is a string, expected a label"); }

  /// @brief Checks every node got a label and moves the targets into `ds`.
  void finish(Dataset& ds) {
    if (covered_ != static_cast<std::int64_t>(n_)) {
      const auto missing = std::find(seen_.begin(), seen_.end(), 0) - seen_.begin();
      throw format_error(source_ + ": node " + std::to_string(missing) + " has no entry (" +
                         std::to_string(static_cast<std::int64_t>(n_) - covered_) + " of " + std::to_string(n_) +
                         " nodes missing)");
    }
    if (multi_label_ == 1) {
      ds.multi_labels = std::move(multi_);
      ds.num_classes = static_cast<std::int32_t>(std::max<std::int64_t>(num_classes_, 0));
    } else {
      ds.labels = std::move(labels_);
      ds.num_classes = max_label_ + 1;
    }
  }

private:
  [[noreturn]] void fail(const std::string& what) const { throw format_error(source_ + ": " + what); }
  std::string where() const { return depth_ == 0 ? "top level" : "value of node " + key_; }

  void mode(bool multi) {
    if (multi_label_ < 0) {
      multi_label_ = multi ? 1 : 0;
      if (!multi) labels_.assign(static_cast<std::size_t>(n_), -1);
    } else if (multi_label_ != (multi ? 1 : 0)) {
      fail("node " + key_ + " mixes single-label and multi-label entries");
    }
  }

  void put_bit(std::uint8_t bit) {
    if (num_classes_ < 0) {
      if (first_row_.empty()) first_node_ = current_;
      first_row_.push_back(bit);
      return;
    }
    if (column_ >= num_classes_)
      fail("node " + key_ + " has more than " + std::to_string(num_classes_) + " labels, as earlier nodes have");
    multi_(current_, column_) = bit;
    ++column_;
  }

  std::string source_;
  node_id n_;
  std::vector<std::uint8_t> seen_;
  std::int64_t covered_ = 0;
  int depth_ = 0;              // 0 outside, 1 inside the top object, 2 inside a label array
  int multi_label_ = -1;       // unknown until the first value
  std::string key_;
  node_id current_ = 0;
  std::vector<std::int32_t> labels_;
  std::int32_t max_label_ = -1;
  Tensor<std::uint8_t> multi_;
  std::int64_t num_classes_ = -1;
  std::int64_t column_ = 0;
  std::vector<std::uint8_t> first_row_;
  node_id first_node_ = 0;
};

/// @brief Reads the adjacency of a GraphSAINT folder (scipy save_npz of a CSR, CSC or COO matrix).
inline Graph read_saint_adjacency(const std::filesystem::path& file, const LoadOptions& options) {
  const NpzArchive npz(file);
  const std::string& source = npz.source();
  std::string format = "csr";  // scipy before 1.0 wrote no format entry, only CSR
  if (npz.has("format")) {
    const auto f = npz.get("format");
    if (f.kind() != NpyKind::bytes && f.kind() != NpyKind::unicode)
      throw format_error(f.source() + ": 'format' has dtype '" + f.descr() + "', expected a string");
    const auto strings = f.to_strings();
    if (strings.size() != 1) throw format_error(f.source() + ": 'format' holds " + std::to_string(strings.size()) + " strings");
    format = strings[0];
  }
  CooParts coo;
  if (format == "csr" || format == "csc") {
    coo = read_compressed_parts(npz, "", false, format == "csc");
  } else if (format == "coo") {
    const auto shape_arr = npz.get("shape");
    require_numeric(shape_arr, "shape");
    require_shape(shape_arr, "shape", {2});
    const auto shape = shape_arr.to_vector<std::int64_t>();
    coo.rows = shape[0];
    coo.cols = shape[1];
    const auto row = npz.get("row"), col = npz.get("col");
    require_numeric(row, "row");
    require_shape(row, "row", {-1});
    require_numeric(col, "col");
    require_shape(col, "col", {row.shape()[0]});
    coo.row = row.to_vector<std::int64_t>();
    coo.col = col.to_vector<std::int64_t>();
    if (npz.has("data")) {
      const auto data_arr = npz.get("data");
      require_numeric(data_arr, "data");
      require_shape(data_arr, "data", {row.shape()[0]});
      const auto data = data_arr.to_vector<float>();
      std::size_t out = 0;
      for (std::size_t k = 0; k < data.size(); ++k) {
        if (data[k] == 0.0f) continue;  // stored zeros are not edges
        coo.row[out] = coo.row[k];
        coo.col[out] = coo.col[k];
        ++out;
      }
      coo.row.resize(out);
      coo.col.resize(out);
    }
  } else {
    throw format_error(source + ": sparse format '" + format + "' is not supported (expected csr, csc or coo)");
  }
  if (coo.rows != coo.cols)
    throw format_error(source + ": adjacency is " + std::to_string(coo.rows) + " x " + std::to_string(coo.cols) +
                       ", expected a square matrix");
  const node_id n = checked_node_count(source, coo.rows);
  // A COO shape is backed by no bytes (CSR and CSC shapes are, by indptr): nodes beyond two per stored entry
  // cost memory the file does not stand for, so they are capped as for edge lists.
  if (const auto excess = excess_isolated_nodes(coo.rows, static_cast<std::int64_t>(coo.row.size()));
      format == "coo" && !excess.empty())
    throw format_error(source + ": a " + std::to_string(coo.rows) + " x " + std::to_string(coo.rows) +
                       " COO adjacency with " + std::to_string(coo.row.size()) + " entries has at least " + excess);
  std::vector<node_id> src(coo.row.size()), dst(coo.col.size());
  for (std::size_t e = 0; e < src.size(); ++e) {
    // COO ids were not range-checked yet; out-of-range ones would not fit node_id either.
    if (coo.row[e] < 0 || coo.row[e] >= n || coo.col[e] < 0 || coo.col[e] >= n)
      throw format_error(source + ": entry " + std::to_string(e) + " (" + std::to_string(coo.row[e]) + ", " +
                         std::to_string(coo.col[e]) + ") outside the " + std::to_string(n) + " x " + std::to_string(n) +
                         " adjacency");
    src[e] = static_cast<node_id>(coo.row[e]);
    dst[e] = static_cast<node_id>(coo.col[e]);
  }
  return build_graph(source, n, src, dst, options);
}

/// @brief Reads role.json into one split; ids must be in [0, n) and unique within each list.
inline Split read_saint_roles(const std::filesystem::path& file, node_id n) {
  const auto root = read_json(file);
  const std::string source = file.string();
  if (!root.is_object())
    throw format_error(source + ": top level is " + JsonValue::type_name(root.type()) + ", expected an object");
  Split split;
  for (auto [key, part] : {std::pair{"tr", &split.train}, std::pair{"va", &split.val}, std::pair{"te", &split.test}}) {
    const JsonValue* list = root.find(key);
    if (!list) throw format_error(source + ": no \"" + key + "\" list (expected \"tr\", \"va\" and \"te\")");
    if (!list->is_array())
      throw format_error(source + ": \"" + key + "\" is " + JsonValue::type_name(list->type()) + ", expected an array");
    const auto& items = list->as_array();
    part->reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto& v = items[i];
      if (!v.is_integer() || v.as_int64() < 0 || v.as_int64() >= n)
        throw format_error(source + ": \"" + key + "\" entry " + std::to_string(i) + " is not a node id in [0, " +
                           std::to_string(n) + ")");
      part->push_back(static_cast<node_id>(v.as_int64()));
    }
    std::sort(part->begin(), part->end());
    if (const auto dup = std::adjacent_find(part->begin(), part->end()); dup != part->end())
      throw format_error(source + ": \"" + key + "\" lists node " + std::to_string(*dup) + " twice");
  }
  return split;
}

}  // namespace detail

/// @brief Reads a GraphSAINT dataset folder: adj_full.npz, feats.npy, class_map.json and role.json, giving one
/// split (tr/va/te). Labels are single-label ({"id": int}) or multi-label ({"id": [0/1, ...]}); every node
/// must have exactly one entry. The name is the folder name. Throws io_error for a missing folder or file and
/// format_error naming the file (and key or entry) for malformed content.
inline Dataset read_saint(const std::filesystem::path& dir, const LoadOptions& options = {}) {
  require_directory(dir);
  Dataset ds;
  const auto normal = dir.lexically_normal();
  ds.name = (normal.has_filename() ? normal.filename() : normal.parent_path().filename()).string();
  if (ds.name.empty() || ds.name == ".") ds.name = std::filesystem::absolute(dir).lexically_normal().filename().string();

  ds.graph = detail::read_saint_adjacency(dir / "adj_full.npz", options);
  const node_id n = ds.num_nodes();

  const auto feats = read_npy(dir / "feats.npy");
  detail::require_numeric(feats, "feats");
  if (feats.ndim() != 2 || feats.shape()[0] != n)
    throw format_error(feats.source() + ": features have shape " + feats.shape_string() + ", expected (" +
                       std::to_string(n) + ", F) for the " + std::to_string(n) + " nodes of adj_full.npz");
  Tensor<float> features(n, feats.shape()[1], feats.to_vector<float>());
  // Dataset::validate would catch these too, but could only name the folder.
  const auto values = std::as_const(features).values();
  if (const auto bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
      bad != values.end()) {
    const auto at = bad - values.begin(), cols = std::max<std::int64_t>(features.cols(), 1);
    throw format_error(feats.source() + ": feature (" + std::to_string(at / cols) + ", " + std::to_string(at % cols) +
                       ") is not finite");
  }
  ds.features = make_features(std::move(features), options.sparse_features);

  {
    const auto path = dir / "class_map.json";
    const auto bytes = read_file(path);
    detail::SaintClassMap handler(path.string(), n);
    parse_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path.string(), handler);
    handler.finish(ds);
  }
  ds.splits.push_back(detail::read_saint_roles(dir / "role.json", n));
  ds.validate(dir.string());
  return ds;
}

}  // namespace gas::io
