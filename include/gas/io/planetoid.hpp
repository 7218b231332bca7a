#pragma once
/// @brief Planetoid datasets (Cora, CiteSeer, PubMed): the `ind.NAME.*` files of kimiyoung/planetoid, read as
/// PyTorch Geometric's `read_planetoid_data` reads them, with the public split.
///
/// The files are Python 2 pickles (scipy CSR features, numpy one-hot labels, a defaultdict of adjacency lists)
/// plus the text file `ind.NAME.test.index`. `allx`/`ally` hold the first nodes (the `y.shape[0]` training
/// nodes first), `tx`/`ty` the test nodes in the order of `test.index`. CiteSeer's test ids skip a few
/// isolated nodes that have no row in `tx`; PyG pads those with zero rows, and so do we, but their label is -1
/// (PyG's argmax of a zero row says class 0; they belong to no split, so nothing observable changes).
/// Features stay raw: row normalization is a transform, applied by whoever wants it.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/io/build_graph.hpp"
#include "gas/io/file.hpp"
#include "gas/io/pickle.hpp"

namespace gas::io {

namespace detail {

/// @brief The eight files of a Planetoid dataset, in the order PyG reads them.
inline constexpr std::string_view planetoid_parts[] = {"x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"};

/// @brief Finds NAME from the `ind.NAME.PART` files in `dir`; any of the eight parts counts, so that a folder
/// missing only `ind.NAME.x` still reports that file as missing rather than "not a Planetoid folder".
inline std::string planetoid_name(const std::filesystem::path& dir) {
  require_directory(dir);
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto file = entry.path().filename().string();
    if (!file.starts_with("ind.")) continue;
    // test.index first: its suffix contains a dot, and "ind.a.test.index" must not read as NAME "a.test".
    for (std::string_view part : {"test.index", "allx", "ally", "graph", "tx", "ty", "x", "y"}) {
      const auto suffix = "." + std::string(part);
      if (file.size() > 4 + suffix.size() && file.ends_with(suffix)) {
        names.insert(file.substr(4, file.size() - 4 - suffix.size()));
        break;
      }
    }
  }
  if (names.empty()) throw io_error(dir.string() + ": no ind.NAME.x file: not a Planetoid dataset folder");
  if (names.size() > 1) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw format_error(dir.string() + ": files of several Planetoid datasets (" + list + "); expected one");
  }
  return *names.begin();
}

/// @brief A dense row-major matrix read from one Planetoid pickle.
template <class T>
struct DenseRows {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<T> values;  // (rows, cols)
};

/// @brief Densifies a CSR matrix or a 2-D numeric array, as PyG's `todense()`: duplicate CSR entries add up.
/// Non-finite values raise format_error naming the file, which is more useful than failing later on the dataset.
template <class T>
DenseRows<T> planetoid_matrix(const Pickle& pickle) {
  const auto root = pickle.root();
  const auto& source = pickle.source();
  // Bounds the allocation a small file can request through its declared shape (a CSR matrix's column count is
  // backed by no bytes): the real files densify to about 10 elements per byte of pickle (Cora's allx: 2.4e6
  // from 257 kB; PubMed's is 1e7), so 64 per byte plus 2^20 is generous, and 2^32 is absolute.
  const std::int64_t max_elements = static_cast<std::int64_t>(
      std::min<std::uint64_t>(std::uint64_t{1} << 32, (std::uint64_t{1} << 20) + 64 * pickle.file_bytes()));
  auto sized = [&](std::int64_t rows, std::int64_t cols) {
    if (cols > 0 && rows > max_elements / cols)
      throw format_error(source + ": a (" + std::to_string(rows) + ", " + std::to_string(cols) + ") matrix from " +
                         std::to_string(pickle.file_bytes()) + " bytes is too large to be a Planetoid feature or "
                         "label matrix (at most " + std::to_string(max_elements) + " elements)");
    DenseRows<T> out{rows, cols, std::vector<T>(static_cast<std::size_t>(rows * cols), T{0})};
    return out;
  };
  auto finite = [&](double v, std::int64_t r, std::int64_t c) {
    if (!std::isfinite(v))
      throw format_error(source + ": entry (" + std::to_string(r) + ", " + std::to_string(c) + ") is not finite");
  };
  if (root.is(PyKind::csr_matrix)) {
    const auto& m = root.as_csr();
    auto out = sized(m.rows, m.cols);
    for (std::int64_t r = 0; r < m.rows; ++r)
      for (auto k = m.indptr[static_cast<std::size_t>(r)]; k < m.indptr[static_cast<std::size_t>(r) + 1]; ++k) {
        const auto c = m.indices[static_cast<std::size_t>(k)];
        const auto v = m.data[static_cast<std::size_t>(k)];
        finite(v, r, c);
        out.values[static_cast<std::size_t>(r * m.cols + c)] += static_cast<T>(v);
      }
    return out;
  }
  if (root.is(PyKind::ndarray)) {
    const auto& a = root.as_ndarray();
    if (a.shape.size() != 2)
      throw format_error(source + ": expected a 2-D array, found " + std::to_string(a.shape.size()) + " dimensions");
    auto out = sized(a.shape[0], a.shape[1]);
    const auto values = a.to_vector<double>(source);
    for (std::size_t k = 0; k < values.size(); ++k) {
      finite(values[k], static_cast<std::int64_t>(k) / std::max<std::int64_t>(a.shape[1], 1),
             static_cast<std::int64_t>(k) % std::max<std::int64_t>(a.shape[1], 1));
      out.values[k] = static_cast<T>(values[k]);
    }
    return out;
  }
  throw format_error(source + ": expected a scipy CSR matrix or a numpy array, found " +
                     std::string(kind_name(root.kind())));
}

/// @brief Index of the largest entry of each one-hot row (the first on ties, as numpy's argmax); -1 for an
/// all-zero row, which marks a node without a label.
inline std::int32_t planetoid_label(const double* row, std::int64_t cols) {
  if (std::all_of(row, row + cols, [](double v) { return v == 0.0; })) return -1;
  return static_cast<std::int32_t>(std::max_element(row, row + cols) - row);
}

/// @brief Parses `ind.NAME.test.index`: one integer node id per line (blank lines and surrounding whitespace
/// are allowed, anything else raises format_error naming the file and line).
inline std::vector<std::int64_t> planetoid_test_index(const std::filesystem::path& path) {
  const auto bytes = read_file(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<std::int64_t> ids;
  std::size_t line_no = 0;
  for (std::size_t begin = 0; begin < text.size();) {
    auto end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(begin, end - begin);
    begin = end + 1;
    ++line_no;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    if (line.empty()) continue;
    std::int64_t id = 0;
    const auto [stop, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
    if (ec != std::errc() || stop != line.data() + line.size())
      throw format_error(path.string() + ": line " + std::to_string(line_no) + " ('" + std::string(line.substr(0, 40)) +
                         "') is not an integer node id");
    if (id < 0)
      throw format_error(path.string() + ": line " + std::to_string(line_no) + ": negative node id " +
                         std::to_string(id));
    ids.push_back(id);
  }
  if (ids.empty()) throw format_error(path.string() + ": no test node ids");
  return ids;
}

}  // namespace detail

/// @brief Reads the Planetoid dataset in `dir` (files `ind.NAME.{x,tx,allx,y,ty,ally,graph,test.index}`) with
/// PyG's public split: train = the first `y.shape[0]` nodes, val = the next 500, test = the ids in
/// `test.index`. Throws io_error for a missing or unreadable file, format_error (naming the file) for content
/// that is not a consistent Planetoid dataset.
inline Dataset read_planetoid(const std::filesystem::path& dir, const LoadOptions& options = {}) {
  const auto name = detail::planetoid_name(dir);
  auto path = [&](std::string_view part) { return dir / ("ind." + name + "." + std::string(part)); };
  auto where = [&](std::string_view part) { return path(part).string(); };
  // Missing files are reported before any content is judged, in PyG's reading order.
  for (auto part : detail::planetoid_parts)
    if (!std::filesystem::exists(path(part))) throw io_error(where(part) + ": no such file");

  const auto x = detail::planetoid_matrix<float>(read_pickle(path("x")));
  const auto tx = detail::planetoid_matrix<float>(read_pickle(path("tx")));
  const auto allx = detail::planetoid_matrix<float>(read_pickle(path("allx")));
  const auto y = detail::planetoid_matrix<double>(read_pickle(path("y")));
  const auto ty = detail::planetoid_matrix<double>(read_pickle(path("ty")));
  const auto ally = detail::planetoid_matrix<double>(read_pickle(path("ally")));
  const auto graph_pickle = read_pickle(path("graph"));
  const auto test = detail::planetoid_test_index(path("test.index"));

  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw format_error(message);
  };
  auto rows_text = [](std::int64_t n, std::string_view what) { return std::to_string(n) + " " + std::string(what); };
  require(y.rows == x.rows, where("y") + ": " + rows_text(y.rows, "label rows") + " but " + where("x") + " has " +
                                rows_text(x.rows, "feature rows"));
  require(ty.rows == tx.rows, where("ty") + ": " + rows_text(ty.rows, "label rows") + " but " + where("tx") + " has " +
                                  rows_text(tx.rows, "feature rows"));
  require(ally.rows == allx.rows, where("ally") + ": " + rows_text(ally.rows, "label rows") + " but " + where("allx") +
                                      " has " + rows_text(allx.rows, "feature rows"));
  require(tx.cols == x.cols, where("tx") + ": " + std::to_string(tx.cols) + " features but " + where("x") + " has " +
                                 std::to_string(x.cols));
  require(allx.cols == x.cols, where("allx") + ": " + std::to_string(allx.cols) + " features but " + where("x") +
                                   " has " + std::to_string(x.cols));
  require(y.cols > 0, where("y") + ": no label columns");
  require(ty.cols == y.cols, where("ty") + ": " + std::to_string(ty.cols) + " classes but " + where("y") + " has " +
                                 std::to_string(y.cols));
  require(ally.cols == y.cols, where("ally") + ": " + std::to_string(ally.cols) + " classes but " + where("y") +
                                   " has " + std::to_string(y.cols));
  require(y.rows + 500 <= allx.rows, where("allx") + ": " + rows_text(allx.rows, "rows") + ", fewer than the " +
                                         std::to_string(y.rows) + " training and 500 validation nodes of the split");

  // Test ids: tx row k belongs to node test[k]. PyG pads tx to cover [min, max] of the ids and places the
  // padded block right after allx, so the ids must start at allx's row count and be distinct.
  const auto test_file = where("test.index");
  require(static_cast<std::int64_t>(test.size()) == tx.rows, test_file + ": " + std::to_string(test.size()) +
                                                                 " test ids but " + where("tx") + " has " +
                                                                 rows_text(tx.rows, "rows"));
  auto sorted = test;
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  require(dup == sorted.end(),
          test_file + ": node id " + (dup == sorted.end() ? "" : std::to_string(*dup)) + " appears twice");
  require(sorted.front() == allx.rows, test_file + ": test ids start at " + std::to_string(sorted.front()) +
                                           " but must start at " + std::to_string(allx.rows) + ", the rows of " +
                                           where("allx"));
  const auto span = sorted.back() - sorted.front() + 1;
  // CiteSeer pads 15 of 1015; a range far wider than the file's ids is a corrupt id, not missing rows.
  require(span <= 2 * tx.rows, test_file + ": test id " + std::to_string(sorted.back()) + " out of range: ids span " +
                                   std::to_string(span) + " nodes for " + std::to_string(tx.rows) + " test rows");
  const auto n = checked_node_count(test_file, allx.rows + span);

  Dataset data;
  data.name = name;
  data.num_classes = static_cast<std::int32_t>(y.cols);
  Tensor<float> features(n, x.cols);  // (num_nodes, num_features); padded test rows stay zero
  data.labels.assign(static_cast<std::size_t>(n), -1);
  std::copy(allx.values.begin(), allx.values.end(), features.data());
  for (std::int64_t i = 0; i < allx.rows; ++i)
    data.labels[static_cast<std::size_t>(i)] = detail::planetoid_label(ally.values.data() + i * y.cols, y.cols);
  for (std::int64_t k = 0; k < tx.rows; ++k) {
    const auto id = test[static_cast<std::size_t>(k)];
    std::copy_n(tx.values.data() + k * tx.cols, tx.cols, features.data() + id * x.cols);
    data.labels[static_cast<std::size_t>(id)] = detail::planetoid_label(ty.values.data() + k * y.cols, y.cols);
  }
  data.features = make_features(std::move(features), options.sparse_features);  // bag-of-words: sparse by default

  Split split;
  for (node_id i = 0; i < static_cast<node_id>(y.rows); ++i) split.train.push_back(i);
  for (node_id i = static_cast<node_id>(y.rows); i < static_cast<node_id>(y.rows + 500); ++i) split.val.push_back(i);
  for (auto id : sorted) split.test.push_back(static_cast<node_id>(id));
  data.splits.push_back(std::move(split));

  // Edges: every key to each of its neighbors, as PyG's edge_index_from_dict.
  const auto graph_file = where("graph");
  const auto adjacency = graph_pickle.root();
  require(adjacency.is(PyKind::dict),
          graph_file + ": expected a dict of adjacency lists, found " + std::string(kind_name(adjacency.kind())));
  std::vector<node_id> src, dst;
  auto node = [&](PyRef v, const char* what) {
    require(v.is(PyKind::integer),
            graph_file + ": " + what + " is a " + std::string(kind_name(v.kind())) + ", not an integer node id");
    const auto id = v.as_int();
    require(id >= 0 && id < n,
            graph_file + ": " + what + " " + std::to_string(id) + " outside [0, " + std::to_string(n) + ")");
    return static_cast<node_id>(id);
  };
  for (std::size_t e = 0; e < adjacency.size(); ++e) {
    const auto from = node(adjacency.key(e), "node");
    const auto neighbors = adjacency.value(e);
    require(neighbors.is(PyKind::list) || neighbors.is(PyKind::tuple),
            graph_file + ": the neighbors of node " + std::to_string(from) + " are a " +
                std::string(kind_name(neighbors.kind())) + ", not a list");
    for (std::size_t k = 0; k < neighbors.size(); ++k) {
      src.push_back(from);
      dst.push_back(node(neighbors[k], "neighbor"));
    }
  }
  data.graph = build_graph(graph_file, n, src, dst, options);
  data.validate(dir.string());
  return data;
}

}  // namespace gas::io
