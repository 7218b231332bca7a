#pragma once
/// @brief Graph-only readers for text edge lists and DIMACS / PACE `.gr` files (plain, .gz or .xz).
///
/// Both return a `Dataset` with just a graph: features (N, 0), no labels, no splits, num_classes 0, and
/// the file's stem as name. Edge weights in the files are checked to be numbers and then ignored: the
/// dataset graph is unweighted (GNN normalization derives its own weights from degrees).

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gas/graph/dataset.hpp"
#include "gas/io/build_graph.hpp"
#include "gas/io/stream.hpp"

namespace gas::io {

namespace detail {

/// @brief Reads a node id token and checks it lies in [lo, hi] (`range` says where hi comes from);
/// messages name file and line.
inline std::int64_t node_id_in(const LineReader& at, std::string_view token, std::int64_t lo, std::int64_t hi,
                               std::string_view range) {
  const auto id = parse_int<std::int64_t>(at, token, "node id");
  if (id < lo || id > hi) [[unlikely]] {
    if (id < 0) at.fail("negative node id " + std::to_string(id));
    at.fail("node id " + std::to_string(id) + " outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "] (" +
            std::string(range) + ")");
  }
  return id;
}

/// @brief The graph-only dataset the two readers return.
inline Dataset graph_only_dataset(const std::filesystem::path& path, node_id n, const std::vector<node_id>& src,
                                  const std::vector<node_id>& dst, const LoadOptions& options) {
  Dataset data;
  data.name = dataset_stem(path);
  data.graph = build_graph(path.string(), n, src, dst, options);
  data.features = Tensor<float>(n, 0);  // (num_nodes, 0)
  data.validate(path.string());
  return data;
}

}  // namespace detail

/// @brief Reads a whitespace-separated edge list: one `u v` or `u v w` per line, 0-based node ids.
///
/// Lines whose first non-blank character is '#' or '%' are comments; blank lines are skipped. The node
/// count is (largest id + 1), so isolated nodes above the largest id cannot be expressed. A file with no
/// edges (empty, or only comments) is a valid 0-node graph. Weights `w` must be numbers and are ignored.
/// Throws io_error for unreadable or broken compressed files and format_error "file:line: ..." for a
/// line that is not `u v [w]`, a non-numeric token or a negative id, and for an id so large that the graph would
/// have more than `read_limits().max_isolated_nodes` nodes beyond two per edge (see gas/io/limits.hpp).
inline Dataset read_edgelist(const std::filesystem::path& path, const LoadOptions& options = {}) {
  LineReader reader(path);
  std::vector<node_id> src, dst;
  std::int64_t max_id = -1;
  constexpr std::int64_t id_limit = std::numeric_limits<node_id>::max() - 1;  // max id + 1 must fit node_id
  for (std::string_view line; reader.next(line);) {
    Fields fields(line);
    std::string_view u, v, w;
    if (!fields.next(u) || u.front() == '#' || u.front() == '%') continue;
    if (!fields.next(v)) reader.fail("expected 'u v [w]', found one field");
    if (fields.next(w)) {
      (void)parse_float<double>(reader, w, "edge weight");
      if (!fields.at_end()) reader.fail("expected 'u v [w]', found more than three fields");
    }
    const auto a = detail::node_id_in(reader, u, 0, id_limit, "the 32-bit node id range");
    const auto b = detail::node_id_in(reader, v, 0, id_limit, "the 32-bit node id range");
    max_id = std::max({max_id, a, b});
    src.push_back(static_cast<node_id>(a));
    dst.push_back(static_cast<node_id>(b));
  }
  const auto edges = static_cast<std::int64_t>(src.size());
  if (const auto excess = detail::excess_isolated_nodes(max_id + 1, edges); !excess.empty())
    throw format_error(reader.source() + ": node id " + std::to_string(max_id) + " makes a graph of " +
                       std::to_string(max_id + 1) + " nodes from " + std::to_string(edges) + " edges, so at least " +
                       excess);
  return detail::graph_only_dataset(path, static_cast<node_id>(max_id + 1), src, dst, options);
}

/// @brief Reads a DIMACS / PACE graph (`.gr`): `c` comment lines, one header `p tw N M` (PACE: edges
/// as `u v` lines) or `p sp N M` (DIMACS 9 shortest paths: edges as `a u v w` lines), 1-based ids.
///
/// The header must come before the first edge and appear once; N and M must be non-negative; every id
/// must lie in [1, N]; the number of edge lines must equal M; N may exceed 2M by at most
/// `read_limits().max_isolated_nodes` (checked at the header, before anything is allocated). Weights are checked to be numbers and
/// ignored; blank lines are skipped. Each violation is a format_error naming the file (and line, or
/// both counts for a wrong M); unreadable or broken compressed files are io_errors.
inline Dataset read_dimacs(const std::filesystem::path& path, const LoadOptions& options = {}) {
  LineReader reader(path);
  const std::string& source = reader.source();
  enum class Kind { none, tw, sp } kind = Kind::none;
  std::int64_t header_line = 0, n = 0, m = 0, edge_lines = 0;
  std::vector<node_id> src, dst;
  for (std::string_view line; reader.next(line);) {
    Fields fields(line);
    std::string_view first;
    if (!fields.next(first) || first == "c") continue;
    if (first == "p") {
      if (kind != Kind::none)
        reader.fail("second 'p' header (the first is on line " + std::to_string(header_line) + ")");
      std::string_view problem, n_token, m_token;
      if (!fields.next(problem) || !fields.next(n_token) || !fields.next(m_token) || !fields.at_end())
        reader.fail("expected the header 'p tw N M' or 'p sp N M'");
      if (problem == "tw") kind = Kind::tw;
      else if (problem == "sp") kind = Kind::sp;
      else reader.fail("unsupported problem '" + std::string(problem) + "' in the header (expected tw or sp)");
      n = parse_int<std::int64_t>(reader, n_token, "node count");
      m = parse_int<std::int64_t>(reader, m_token, "edge count");
      if (n < 0) reader.fail("negative node count " + std::to_string(n));
      if (m < 0) reader.fail("negative edge count " + std::to_string(m));
      checked_node_count(reader.where(), n);
      header_line = reader.line_number();
      // N nodes cost memory even when no edge names them: beyond the 2M endpoints, only up to a limit.
      if (const auto excess = detail::excess_isolated_nodes(n, m); !excess.empty())
        reader.fail("the header declares " + std::to_string(n) + " nodes for " + std::to_string(m) +
                    " edges, so at least " + excess);
      // The header's M sizes the arrays, as far as the file's bytes can hold that many lines: a lying header
      // cannot demand memory up front.
      const auto reserve = plausible_count(reader, m, kind == Kind::sp ? 8 : 4);
      src.reserve(reserve);
      dst.reserve(reserve);
      continue;
    }
    if (kind == Kind::none) reader.fail("edge line before the 'p' header");
    std::string_view u, v, w;
    if (kind == Kind::sp) {
      if (first != "a") reader.fail("expected an arc line 'a u v w', found '" + std::string(first) + "'");
      if (!fields.next(u) || !fields.next(v)) reader.fail("expected an arc line 'a u v w'");
    } else {
      u = first;
      if (!fields.next(v)) reader.fail("expected an edge line 'u v'");
    }
    if (fields.next(w)) {
      (void)parse_float<double>(reader, w, "edge weight");
      if (!fields.at_end()) reader.fail("too many fields on an edge line");
    }
    src.push_back(static_cast<node_id>(detail::node_id_in(reader, u, 1, n, "N from the header") - 1));
    dst.push_back(static_cast<node_id>(detail::node_id_in(reader, v, 1, n, "N from the header") - 1));
    ++edge_lines;
  }
  if (kind == Kind::none) throw format_error(source + ": no 'p' header (expected 'p tw N M' or 'p sp N M')");
  if (edge_lines != m)
    throw format_error(source + ": the header (line " + std::to_string(header_line) + ") promises " +
                       std::to_string(m) + " edges but the file has " + std::to_string(edge_lines) + " edge lines");
  return detail::graph_only_dataset(path, static_cast<node_id>(n), src, dst, options);
}

}  // namespace gas::io
