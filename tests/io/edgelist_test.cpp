// Edge lists and DIMACS / PACE graphs: small fixtures with every feature of the formats, each bad input,
// and the three real road graphs against the figures in shared/data/README.md.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gas/io/edgelist.hpp"
#include "io/hostile.hpp"
#include "io/io_test_util.hpp"
#include "test_util.hpp"

namespace {

std::vector<gas::node_id> neighbors(const gas::Dataset& d, gas::node_id v) {
  auto n = d.graph.neighbors(v);
  return {n.begin(), n.end()};
}

void check_graph_only(const gas::Dataset& d) {
  CHECK(d.features.rows() == d.num_nodes());
  CHECK(d.num_features() == 0);
  CHECK(d.labels.empty());
  CHECK_FALSE(d.is_multi_label());
  CHECK(d.num_classes == 0);
  CHECK(d.splits.empty());
  CHECK_FALSE(d.graph.has_weights());
}

// A directed-as-written edge list with comments, blank lines, tabs, CRLF, weights, a duplicate and a loop.
const std::string edge_text =
    "# a comment\n"
    "% another comment\n"
    "0 1\n"
    "\n"
    "1\t2  0.5\r\n"
    "   # indented comment\n"
    "2 0\n"
    "1 0\n"   // duplicate of 0-1 once symmetrized
    "3 3\n"   // self-loop: node 3 exists but is isolated by default
    "2 4 1e3";

}  // namespace

TEST_CASE("read_edgelist: comments, blanks, weights, duplicates, self-loops") {
  gas_test::TempDir dir;
  gas_test::write_file(dir / "toy.edges", edge_text);
  const auto d = gas::io::read_edgelist(dir / "toy.edges");
  CHECK(d.name == "toy");
  CHECK(d.num_nodes() == 5);  // largest id 4, plus one
  CHECK(d.num_edges() == 8);  // {0-1, 1-2, 2-0, 2-4} both ways
  CHECK(neighbors(d, 0) == std::vector<gas::node_id>{1, 2});
  CHECK(neighbors(d, 1) == std::vector<gas::node_id>{0, 2});
  CHECK(neighbors(d, 2) == std::vector<gas::node_id>{0, 1, 4});
  CHECK(neighbors(d, 3).empty());
  CHECK(neighbors(d, 4) == std::vector<gas::node_id>{2});
  check_graph_only(d);

  const auto raw = gas::io::read_edgelist(dir / "toy.edges", {.symmetrize = false, .remove_self_loops = false});
  CHECK(raw.num_nodes() == 5);
  CHECK(raw.num_edges() == 6);  // as written, loop kept
  CHECK(neighbors(raw, 1) == std::vector<gas::node_id>{0, 2});
  CHECK(neighbors(raw, 3) == std::vector<gas::node_id>{3});
}

TEST_CASE("read_edgelist: .gz and .xz give the same dataset as plain text") {
  gas_test::TempDir dir;
  gas_test::write_file(dir / "toy.txt", edge_text);
  gas_test::write_gz(dir / "toy.txt.gz", edge_text);
  gas_test::write_file(dir / "toy.txt.xz", gas_test::xz_bytes(edge_text));
  const auto plain = gas::io::read_edgelist(dir / "toy.txt");
  for (std::string name : {"toy.txt.gz", "toy.txt.xz"}) {
    CAPTURE(name);
    const auto d = gas::io::read_edgelist(dir / name);
    CHECK(d.name == "toy");
    CHECK(d.graph == plain.graph);
  }
}

TEST_CASE("read_edgelist: an empty file or one with only comments is a 0-node graph") {
  gas_test::TempDir dir;
  gas_test::write_file(dir / "empty.txt", "");
  gas_test::write_file(dir / "comments.txt", "# nothing here\n\n% still nothing\n");
  gas_test::write_gz(dir / "empty.txt.gz", "");
  for (std::string name : {"empty.txt", "comments.txt", "empty.txt.gz"}) {
    CAPTURE(name);
    const auto d = gas::io::read_edgelist(dir / name);
    CHECK(d.num_nodes() == 0);
    CHECK(d.num_edges() == 0);
    check_graph_only(d);
  }
}

TEST_CASE("read_edgelist: bad input names file and line") {
  gas_test::TempDir dir;
  struct Case {
    const char* text;
    const char* line;
    const char* says;
  };
  for (const auto& c : {Case{"0 1\n1 x\n", ":2:", "node id 'x'"}, Case{"0 1\n\n-3 1\n", ":3:", "negative node id -3"},
                        Case{"0 1\n5\n", ":2:", "one field"}, Case{"0 1 2.0 7\n", ":1:", "more than three"},
                        Case{"0 1 heavy\n", ":1:", "edge weight 'heavy'"},
                        Case{"0 1.5\n", ":1:", "node id '1.5'"},
                        Case{"0 2147483647\n", ":1:", "32-bit"},
                        Case{"0 99999999999999999999\n", ":1:", "node id"}}) {
    const std::string text = c.text;
    CAPTURE(text);
    const auto path = dir / "bad.txt";
    gas_test::write_file(path, c.text);
    CHECK_THROWS_NAMING(gas::format_error, gas::io::read_edgelist(path), path.string() + c.line, c.says);
  }
}

TEST_CASE("read_edgelist: missing, truncated and corrupt files are io_errors naming the file") {
  gas_test::TempDir dir;
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_edgelist(dir / "absent.txt"), (dir / "absent.txt").string());
  std::string text;
  for (int i = 0; i < 3000; ++i) text += std::to_string(i) + " " + std::to_string(i + 1) + "\n";
  const auto xz = gas_test::xz_bytes(text);
  gas_test::write_file(dir / "cut.txt.xz", xz.substr(0, xz.size() / 2));
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_edgelist(dir / "cut.txt.xz"), (dir / "cut.txt.xz").string(),
                      "truncated");
}

TEST_CASE("read_dimacs: PACE 'p tw' graphs") {
  gas_test::TempDir dir;
  const std::string text =
      "c PACE style\n"
      "p tw 6 5\n"
      "c comment between edges\n"
      "1 2\n"
      "2 3\n"
      "3 1\n"
      "5 6\n"
      "6 6\n";  // a self-loop still counts as an edge line
  gas_test::write_file(dir / "pace.gr", text);
  gas_test::write_file(dir / "pace.gr.xz", gas_test::xz_bytes(text));
  const auto d = gas::io::read_dimacs(dir / "pace.gr");
  CHECK(d.name == "pace");
  CHECK(d.num_nodes() == 6);
  CHECK(d.num_edges() == 8);
  CHECK(neighbors(d, 0) == std::vector<gas::node_id>{1, 2});
  CHECK(neighbors(d, 3).empty());  // node 4 of the file is isolated but counted by N
  CHECK(neighbors(d, 5) == std::vector<gas::node_id>{4});
  check_graph_only(d);
  const auto x = gas::io::read_dimacs(dir / "pace.gr.xz");
  CHECK(x.name == "pace");
  CHECK(x.graph == d.graph);
  const auto directed = gas::io::read_dimacs(dir / "pace.gr", {.symmetrize = false, .remove_self_loops = false});
  CHECK(directed.num_edges() == 5);
}

TEST_CASE("read_dimacs: DIMACS 9 'p sp' graphs with weighted arc lines") {
  gas_test::TempDir dir;
  gas_test::write_gz(dir / "USA-road-d.toy.gr.gz",
           "c 9th DIMACS challenge\n"
           "p sp 4 4\n"
           "a 1 2 803\n"
           "a 2 1 803\n"
           "a 2 3 158\n"
           "a 4 3 774\n");
  const auto d = gas::io::read_dimacs(dir / "USA-road-d.toy.gr.gz");
  CHECK(d.name == "USA-road-d.toy");
  CHECK(d.num_nodes() == 4);
  CHECK(d.num_edges() == 6);
  CHECK(neighbors(d, 1) == std::vector<gas::node_id>{0, 2});
  CHECK(neighbors(d, 2) == std::vector<gas::node_id>{1, 3});
  check_graph_only(d);
}

TEST_CASE("read_dimacs: a header with no edges") {
  gas_test::TempDir dir;
  gas_test::write_file(dir / "iso.gr", "p tw 3 0\n");
  const auto d = gas::io::read_dimacs(dir / "iso.gr");
  CHECK(d.num_nodes() == 3);
  CHECK(d.num_edges() == 0);
  gas_test::write_file(dir / "zero.gr", "p tw 0 0\n");
  CHECK(gas::io::read_dimacs(dir / "zero.gr").num_nodes() == 0);
}

TEST_CASE("read_dimacs: bad input is a format_error naming file and line") {
  gas_test::TempDir dir;
  struct Case {
    const char* text;
    const char* where;  // ":line:" or "" for whole-file problems
    const char* says;
  };
  for (const auto& c : {
           Case{"c no header\n1 2\n", ":2:", "before the 'p' header"},
           Case{"c nothing\n", "", "no 'p' header"},
           Case{"", "", "no 'p' header"},
           Case{"p tw 3 1\n1 2\np tw 3 1\n", ":3:", "second 'p' header (the first is on line 1)"},
           Case{"p tw 3 1\n1 4\n", ":2:", "node id 4 outside [1, 3]"},
           Case{"p tw 3 1\n0 2\n", ":2:", "node id 0 outside [1, 3]"},
           Case{"p tw 3 1\n-1 2\n", ":2:", "negative node id -1"},
           Case{"p tw 3 2\n1 2\n", "", "promises 2 edges but the file has 1 edge lines"},
           Case{"p tw 3 1\n1 2\n2 3\n", "", "promises 1 edges but the file has 2 edge lines"},
           Case{"p tw -3 1\n", ":1:", "negative node count -3"},
           Case{"p tw 3 -1\n", ":1:", "negative edge count -1"},
           Case{"p tw 3\n", ":1:", "expected the header"},
           Case{"p tw 3 1 9\n", ":1:", "expected the header"},
           Case{"p xy 3 1\n1 2\n", ":1:", "unsupported problem 'xy'"},
           Case{"p tw three 1\n", ":1:", "node count 'three'"},
           Case{"p tw 3 1\n1 b\n", ":2:", "node id 'b'"},
           Case{"p tw 3 1\n1\n", ":2:", "expected an edge line"},
           Case{"p tw 3 1\n1 2 3 4\n", ":2:", "too many fields"},
           Case{"p sp 3 1\n1 2 5\n", ":2:", "expected an arc line"},
           Case{"p sp 3 1\na 1 9 5\n", ":2:", "node id 9 outside [1, 3]"},
           Case{"p tw 3000000000 0\n", ":1:", "32-bit"},
       }) {
    const std::string text = c.text;
    CAPTURE(text);
    const auto path = dir / "bad.gr";
    gas_test::write_file(path, c.text);
    CHECK_THROWS_NAMING(gas::format_error, gas::io::read_dimacs(path), path.string() + c.where, c.says);
  }
}

TEST_CASE("read_dimacs: missing and truncated files are io_errors naming the file") {
  gas_test::TempDir dir;
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_dimacs(dir / "absent.gr.xz"), (dir / "absent.gr.xz").string());
  gas_test::write_gz(dir / "full.gr.gz", "p tw 3 2\n1 2\n2 3\n");
  const std::string gz = gas_test::slurp(dir / "full.gr.gz");
  gas_test::write_file(dir / "cut.gr.gz", gz.substr(0, gz.size() - 4));
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_dimacs(dir / "cut.gr.gz"), (dir / "cut.gr.gz").string());
}

namespace {

void check_road(const char* file, const char* name, gas::node_id nodes, std::int64_t edges, std::int64_t lines) {
  const auto path = gas_test::data_dir() / file;
  const auto start = std::chrono::steady_clock::now();
  const auto d = gas::io::read_dimacs(path);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(std::string(file) << ": " << d.num_nodes() << " nodes, " << d.num_edges() << " directed edges, read in " << seconds << " s");
  CHECK(d.name == name);
  CHECK(d.num_nodes() == nodes);
  CHECK(d.num_edges() == edges);
  check_graph_only(d);
  // Symmetric and loop-free: every stored (u, v) has its (v, u), and no row holds itself.
  std::int64_t asymmetric = 0, loops = 0;
  for (gas::node_id u = 0; u < d.num_nodes(); ++u)
    for (auto v : d.graph.neighbors(u)) {
      loops += v == u;
      const auto back = d.graph.neighbors(v);
      asymmetric += !std::binary_search(back.begin(), back.end(), u);
    }
  CHECK(asymmetric == 0);
  CHECK(loops == 0);
  // Without symmetrizing, each undirected line of the file is one stored edge.
  const auto directed = gas::io::read_dimacs(path, {.symmetrize = false});
  CHECK(directed.num_edges() == lines);
}

}  // namespace

TEST_CASE("read_dimacs: NY road graph" * doctest::skip(gas_test::missing("road/NY.gr.xz"))) {
  check_road("road/NY.gr.xz", "NY", 264346, 730100, 365050);
}

TEST_CASE("read_dimacs: FLA road graph" * doctest::skip(gas_test::missing("road/FLA.gr.xz"))) {
  check_road("road/FLA.gr.xz", "FLA", 1070376, 2687902, 1343951);
}

TEST_CASE("read_dimacs: NE road graph" * doctest::skip(gas_test::missing("road/NE.gr.xz"))) {
  check_road("road/NE.gr.xz", "NE", 1524453, 3868020, 1934010);
}

// Hostile sizes (issue 16): a header or an id that declares far more nodes than the file's edges can name is
// refused before the graph is allocated (read_limits().max_isolated_nodes), and a lying edge count reserves
// no more than the file's bytes can hold.
TEST_CASE("read_dimacs / read_edgelist: declared sizes beyond the file are refused fast and without allocating them") {
  gas_test::TempDir dir;
  gas_test::write_file(dir / "nodes.gr", "p sp 2000000000 1\na 1 2 1\n");
  CHECK_REFUSED_SMALL(gas::io::read_dimacs(dir / "nodes.gr"), "nodes.gr:1", "isolated nodes", "max_isolated_nodes");
  gas_test::write_file(dir / "edges.gr", "p sp 3 1000000000000\na 1 2 1\n");
  CHECK_REFUSED_SMALL(gas::io::read_dimacs(dir / "edges.gr"), "edges.gr", "promises 1000000000000 edges");
  gas_test::write_file(dir / "id.txt", "0 2147483645\n");
  CHECK_REFUSED_SMALL(gas::io::read_edgelist(dir / "id.txt"), "id.txt", "isolated nodes", "max_isolated_nodes");

  // The limit is the user's: raised, the same file is a (mostly isolated) graph.
  gas_test::write_file(dir / "wide.gr", "p tw 100 1\n1 100\n");
  auto& limit = gas::io::read_limits().max_isolated_nodes;
  const auto saved = limit;
  limit = 10;
  CHECK_THROWS_NAMING(gas::format_error, gas::io::read_dimacs(dir / "wide.gr"), "wide.gr", "98 isolated nodes");
  limit = 100;
  CHECK(gas::io::read_dimacs(dir / "wide.gr").num_nodes() == 100);
  limit = saved;
}
