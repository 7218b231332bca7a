#pragma once
/// @brief Reader for Open Graph Benchmark node-property datasets in the raw CSV layout OGB downloads
/// (ogbn-arxiv, ogbn-products, ogbn-proteins): `raw/*.csv.gz` plus `split/<name>/*.csv.gz`.
///
/// Every file is streamed line by line (ogbn-products' edge file has ~62M lines), parsed in place with
/// no allocation per line, and checked: the message of each error names the file and, for content,
/// the line.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gas/graph/dataset.hpp"
#include "gas/io/build_graph.hpp"
#include "gas/io/file.hpp"
#include "gas/io/stream.hpp"

namespace gas::io {

namespace detail {

/// @brief `folder/stem.csv.gz`, or `folder/stem.csv` when only the uncompressed file exists; empty when neither.
inline std::filesystem::path find_ogb_csv(const std::filesystem::path& folder, std::string_view stem) {
  std::error_code ec;
  for (const char* suffix : {".csv.gz", ".csv"}) {
    auto candidate = folder / (std::string(stem) + suffix);
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  return {};
}

/// @brief Like `find_ogb_csv`, but a missing file is an io_error naming the file OGB ships.
inline std::filesystem::path require_ogb_csv(const std::filesystem::path& folder, std::string_view stem) {
  auto found = find_ogb_csv(folder, stem);
  if (found.empty()) {
    std::string hint;
    std::error_code ec;
    if (stem == "edge" && std::filesystem::is_directory(folder / "relations", ec))
      hint = " (heterogeneous OGB datasets such as ogbn-mag are not supported)";
    throw io_error((folder / (std::string(stem) + ".csv.gz")).string() + ": no such file, required by the OGB layout" +
                   hint);
  }
  return found;
}

/// @brief Throws "file:line: empty line" for a blank line in a file where every line carries data.
inline void require_content(const LineReader& reader, std::string_view line) {
  if (Fields::trim(line).empty()) [[unlikely]]
    reader.fail("empty line");
}

/// @brief Reads `num-node-list` / `num-edge-list`: one count per graph; node-property datasets have one graph.
inline std::int64_t read_ogb_count(const std::filesystem::path& path, std::string_view what) {
  LineReader reader(path);
  std::int64_t count = -1;
  for (std::string_view line; reader.next(line);) {
    if (Fields::trim(line).empty()) continue;
    if (count >= 0)
      reader.fail("a second " + std::string(what) +
                  ": this file describes several graphs, only single-graph node-property datasets are supported");
    count = parse_int<std::int64_t>(reader, Fields::trim(line), what);
    if (count < 0) reader.fail("negative " + std::string(what) + " " + std::to_string(count));
  }
  if (count < 0) throw format_error(reader.source() + ": empty, expected the " + std::string(what));
  return count;
}

/// @brief Reads `edge.csv`: `src,dst` per line, 0-based, exactly `expected` lines, ids in [0, n).
inline void read_ogb_edges(const std::filesystem::path& path, node_id n, std::int64_t expected,
                           std::vector<node_id>& src, std::vector<node_id>& dst) {
  LineReader reader(path);
  // The count file sizes the arrays, as far as the file's bytes can hold that many lines: a wrong count
  // cannot demand memory up front.
  const auto reserve = plausible_count(reader, expected, 4);
  src.reserve(reserve);
  dst.reserve(reserve);
  std::int64_t lines = 0;
  auto endpoint = [&](std::string_view token) {
    const auto id = parse_int<std::int64_t>(reader, token, "node id");
    if (id < 0 || id >= n) [[unlikely]]
      reader.fail("node id " + std::to_string(id) + " outside [0, " + std::to_string(n) + ")");
    return static_cast<node_id>(id);
  };
  for (std::string_view line; reader.next(line);) {
    require_content(reader, line);
    if (++lines > expected) [[unlikely]]
      reader.fail("more edges than the " + std::to_string(expected) + " that num-edge-list announces");
    Fields fields(line, ',');
    std::string_view u, v;
    if (!fields.next(u) || !fields.next(v) || !fields.at_end()) [[unlikely]]
      reader.fail("expected 'src,dst'");
    src.push_back(endpoint(u));
    dst.push_back(endpoint(v));
  }
  if (lines != expected)
    throw format_error(reader.source() + ": " + std::to_string(lines) + " edges, but num-edge-list announces " +
                       std::to_string(expected));
}

/// @brief Reads `node-feat.csv`: n lines of the same number of comma-separated finite floats.
inline Tensor<float> read_ogb_features(const std::filesystem::path& path, node_id n) {
  LineReader reader(path);
  std::vector<float> values;
  std::int64_t cols = -1, rows = 0;
  for (std::string_view line; reader.next(line);) {
    require_content(reader, line);
    if (++rows > n) [[unlikely]]
      reader.fail("more feature rows than the " + std::to_string(n) + " nodes");
    Fields fields(line, ',');
    std::int64_t count = 0;
    for (std::string_view token; fields.next(token); ++count) values.push_back(parse_finite<float>(reader, token, "feature"));
    if (cols < 0) {
      cols = count;
      values.reserve(plausible_count(reader, n, 2 * static_cast<std::size_t>(std::max<std::int64_t>(cols, 1))) *
                     static_cast<std::size_t>(cols));
    } else if (count != cols) [[unlikely]] {
      reader.fail(std::to_string(count) + " columns, but line 1 has " + std::to_string(cols));
    }
  }
  if (rows != n)
    throw format_error(reader.source() + ": " + std::to_string(rows) + " feature rows for " + std::to_string(n) +
                       " nodes");
  return Tensor<float>(n, n == 0 ? 0 : cols, std::move(values));  // (num_nodes, num_features)
}

/// @brief Parses one single-label token: a non-negative integer (also written "3.0"), or "nan" for an
/// unlabeled node (as OGB writes missing labels), which becomes -1.
inline std::int32_t parse_ogb_label(const LineReader& reader, std::string_view token) {
  std::int64_t label = 0;
  if (!try_parse(token, label)) {
    const auto value = parse_float<double>(reader, token, "label");
    if (std::isnan(value)) return -1;
    if (!std::isfinite(value) || value != std::floor(value)) reader.fail("label '" + std::string(token) + "' is not an integer");
    if (value < 0) reader.fail("negative label " + std::string(token));
    if (value > 2147483646.0) reader.fail("label " + std::string(token) + " exceeds the 32-bit range");
    return static_cast<std::int32_t>(value);
  }
  if (label < 0) reader.fail("negative label " + std::to_string(label));
  if (label > 2147483646) reader.fail("label " + std::to_string(label) + " exceeds the 32-bit range");
  return static_cast<std::int32_t>(label);
}

/// @brief Reads `node-label.csv`: one class per line (single-label), or several 0/1 columns per line
/// (multi-label, as ogbn-proteins); fills labels or multi_labels and num_classes of `data`.
inline void read_ogb_labels(const std::filesystem::path& path, node_id n, Dataset& data) {
  LineReader reader(path);
  std::vector<std::int32_t> single;
  std::vector<std::uint8_t> multi;
  std::int64_t cols = -1, rows = 0;
  for (std::string_view line; reader.next(line);) {
    require_content(reader, line);
    if (++rows > n) [[unlikely]]
      reader.fail("more label rows than the " + std::to_string(n) + " nodes");
    Fields fields(line, ',');
    std::int64_t count = 0;
    std::string_view token;
    if (cols == 1 || (cols < 0 && line.find(',') == std::string_view::npos)) {
      fields.next(token);
      single.push_back(parse_ogb_label(reader, token));
      for (count = 1; fields.next(token);) ++count;  // a stray column is reported below, not ignored
    } else {
      for (; fields.next(token); ++count) {
        const auto value = parse_int<int>(reader, token, "multi-label entry");
        if (value != 0 && value != 1) [[unlikely]]
          reader.fail("multi-label entry " + std::to_string(value) + " is not 0 or 1");
        multi.push_back(static_cast<std::uint8_t>(value));
      }
    }
    if (cols < 0) {
      cols = count;
      // n comes from the count file: reserve only what this file's bytes can hold.
      const auto rows_here = plausible_count(reader, n, 2 * static_cast<std::size_t>(std::max<std::int64_t>(cols, 1)));
      if (cols == 1) single.reserve(rows_here);
      else multi.reserve(static_cast<std::size_t>(cols) * rows_here);
    } else if (count != cols) [[unlikely]] {
      reader.fail(std::to_string(count) + " columns, but line 1 has " + std::to_string(cols));
    }
  }
  if (rows != n)
    throw format_error(reader.source() + ": " + std::to_string(rows) + " label rows for " + std::to_string(n) +
                       " nodes");
  if (cols > 1) {
    data.multi_labels = Tensor<std::uint8_t>(n, cols, std::move(multi));  // (num_nodes, num_classes)
    data.num_classes = static_cast<std::int32_t>(cols);
  } else {
    const auto top = single.empty() ? -1 : *std::max_element(single.begin(), single.end());
    data.num_classes = top + 1;
    data.labels = std::move(single);
  }
}

/// @brief Reads one split file: one node id per line, each in [0, n) and listed once; returned sorted.
inline std::vector<node_id> read_ogb_ids(const std::filesystem::path& path, node_id n) {
  LineReader reader(path);
  std::vector<node_id> ids;
  for (std::string_view line; reader.next(line);) {
    require_content(reader, line);
    const auto id = parse_int<std::int64_t>(reader, Fields::trim(line), "node id");
    if (id < 0 || id >= n) [[unlikely]]
      reader.fail("node id " + std::to_string(id) + " outside [0, " + std::to_string(n) + ")");
    ids.push_back(static_cast<node_id>(id));
  }
  std::sort(ids.begin(), ids.end());
  if (const auto twice = std::adjacent_find(ids.begin(), ids.end()); twice != ids.end())
    throw format_error(reader.source() + ": node " + std::to_string(*twice) + " is listed twice");
  return ids;
}

/// @brief The split folder to use under `split/`, or empty when there is none (see `read_ogb`).
inline std::filesystem::path choose_ogb_split(const std::filesystem::path& root) {
  const auto split = root / "split";
  std::error_code ec;
  if (!std::filesystem::is_directory(split, ec)) return {};
  std::vector<std::filesystem::path> folders;
  for (const auto& entry : std::filesystem::directory_iterator(split, ec))
    if (entry.is_directory(ec)) folders.push_back(entry.path());
  if (ec) throw io_error(split.string() + ": cannot list (" + ec.message() + ")");
  if (folders.empty()) return {};
  if (folders.size() == 1) return folders.front();
  for (const char* known : {"time", "sales_ranking", "species"})
    if (std::filesystem::is_directory(split / known, ec)) return split / known;
  std::sort(folders.begin(), folders.end());
  std::string names;
  for (const auto& f : folders) names += (names.empty() ? "" : ", ") + f.filename().string();
  throw format_error(split.string() + ": several split folders (" + names +
                     ") and none of them is an OGB split (time, sales_ranking, species); keep only the one to use");
}

}  // namespace detail

/// @brief Reads an OGB node-property dataset from its raw CSV files (ogbn-arxiv, -products, -proteins).
///
/// `dir` is the dataset root that holds `raw/` (and usually `split/`), or the `raw/` folder itself.
/// Files under raw/ (each `.csv.gz` as OGB ships it, or plain `.csv`):
/// - `edge` (required): `src,dst` per line, 0-based; its line count must equal `num-edge-list`.
/// - `num-node-list`, `num-edge-list` (required): one number each (a single graph).
/// - `node-label` (required): one integer class per line ('nan' = unlabeled, stored as -1), or several
///   0/1 columns per line for a multi-label task (ogbn-proteins); num_classes = max label + 1, or the
///   column count.
/// - `node-feat` (optional): comma-separated finite floats, one row per node; without it the features
///   are (N, 0).
/// Splits: `split/<name>/{train,valid,test}` with one node id per line. With one folder under split/ it
/// is used; with several, the first of `time`, `sales_ranking`, `species` that exists (OGB's split
/// names), and otherwise the choice is ambiguous and a format_error; without split/ (or with an empty
/// one) the dataset has no splits. The dataset's name is the root folder's name.
/// Throws io_error naming a missing file or a broken compressed one, format_error "file:line: ..." for
/// bad content (bad token, inconsistent column count, NaN feature, negative label, id out of range).
inline Dataset read_ogb(const std::filesystem::path& dir, const LoadOptions& options = {}) {
  require_directory(dir);
  auto root = std::filesystem::absolute(dir).lexically_normal();
  if (root.filename().empty()) root = root.parent_path();  // "dir/" names the same folder as "dir"
  auto raw = root / "raw";
  std::error_code ec;
  if (!std::filesystem::is_directory(raw, ec)) {
    if (detail::find_ogb_csv(root, "edge").empty())
      throw io_error(dir.string() + ": not an OGB dataset folder (no raw/ folder and no edge.csv.gz)");
    raw = root;  // dir is the raw folder itself
    root = root.parent_path();
  }
  const auto edge_file = detail::require_ogb_csv(raw, "edge");
  const auto node_count_file = detail::require_ogb_csv(raw, "num-node-list");
  const auto edge_count_file = detail::require_ogb_csv(raw, "num-edge-list");
  const auto label_file = detail::require_ogb_csv(raw, "node-label");
  const auto feature_file = detail::find_ogb_csv(raw, "node-feat");

  const auto n = checked_node_count(node_count_file.string(), detail::read_ogb_count(node_count_file, "node count"));
  const auto m = detail::read_ogb_count(edge_count_file, "edge count");

  Dataset data;
  data.name = root.filename().string();
  // Labels first: their file has a line per node, so it proves the count file's n before the graph and the
  // features allocate O(n) (a lying count of 2^31 nodes must not cost gigabytes).
  detail::read_ogb_labels(label_file, n, data);
  {
    std::vector<node_id> src, dst;
    detail::read_ogb_edges(edge_file, n, m, src, dst);
    data.graph = build_graph(edge_file.string(), n, src, dst, options);
  }
  data.features = feature_file.empty() ? Features(Tensor<float>(n, 0))
                                      : make_features(detail::read_ogb_features(feature_file, n), options.sparse_features);

  if (const auto split = detail::choose_ogb_split(root); !split.empty()) {
    Split s;
    s.train = detail::read_ogb_ids(detail::require_ogb_csv(split, "train"), n);
    s.val = detail::read_ogb_ids(detail::require_ogb_csv(split, "valid"), n);
    s.test = detail::read_ogb_ids(detail::require_ogb_csv(split, "test"), n);
    data.splits.push_back(std::move(s));
  }
  data.validate(root.string());
  return data;
}

}  // namespace gas::io
