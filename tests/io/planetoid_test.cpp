// Tests of the Planetoid reader: the real Cora figures (cross-checked with numpy/scipy and PyG's logic), a
// synthetic CiteSeer-like folder with missing test rows, and one bad-input test per way a folder can be wrong.
#include "gas/io/planetoid.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io/hostile.hpp"
#include "io/io_test_util.hpp"
#include "io/pickle_writer.hpp"
#include "test_util.hpp"

namespace {

// A CiteSeer-like dataset: 530 allx nodes (the first 20 labeled for training), test ids 530..541 of which
// 533 and 539 have no tx row, listed in test.index out of order. Node i has the single feature value 1 + i
// in column i % 6, so placement is checkable everywhere; allx node i has class i % 3, test node t has class
// (2 t) % 3, except test node 536, whose ty row is all zero (no label).
constexpr std::int64_t allx_rows = 530, train_rows = 20, num_features = 6, num_classes = 3;
const std::vector<std::int64_t> test_ids = {541, 530, 536, 531, 540, 534, 538, 532, 535, 537};
constexpr std::int64_t num_nodes = 542;
constexpr std::int64_t unlabeled_test = 536;

std::vector<float> feature_rows(const std::vector<std::int64_t>& ids) {
  std::vector<float> dense(ids.size() * num_features, 0.0f);
  for (std::size_t r = 0; r < ids.size(); ++r)
    dense[r * num_features + static_cast<std::size_t>(ids[r] % num_features)] = static_cast<float>(1 + ids[r]);
  return dense;
}

std::vector<std::int32_t> one_hot(const std::vector<std::int64_t>& classes) {
  std::vector<std::int32_t> rows(classes.size() * num_classes, 0);
  for (std::size_t r = 0; r < classes.size(); ++r)
    if (classes[r] >= 0) rows[r * num_classes + static_cast<std::size_t>(classes[r])] = 1;
  return rows;
}

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

std::int64_t test_class(std::int64_t t) { return t == unlabeled_test ? -1 : (2 * t) % num_classes; }

/// The eight files of the synthetic dataset, by part name; tests replace one and write the folder.
struct Files {
  std::map<std::string, std::string> part;

  Files() {
    using gas_test::csr_of;
    using gas_test::csr_pickle;
    const auto all = iota(allx_rows);
    const auto train = iota(train_rows);
    std::vector<std::int64_t> all_classes, train_classes, test_classes;
    for (auto i : all) all_classes.push_back(i % num_classes);
    for (auto i : train) train_classes.push_back(i % num_classes);
    for (auto t : test_ids) test_classes.push_back(test_class(t));
    const auto n_test = static_cast<std::int64_t>(test_ids.size());
    part["x"] = csr_pickle(csr_of(train_rows, num_features, feature_rows(train)));
    part["allx"] = csr_pickle(csr_of(allx_rows, num_features, feature_rows(all)));
    part["tx"] = csr_pickle(csr_of(n_test, num_features, feature_rows(test_ids)), gas_test::CsrStyle::reconstructor);
    part["y"] = gas_test::ndarray_pickle<std::int32_t>({train_rows, num_classes}, one_hot(train_classes));
    part["ally"] = gas_test::ndarray_pickle<std::int32_t>({allx_rows, num_classes}, one_hot(all_classes));
    part["ty"] = gas_test::ndarray_pickle<std::int32_t>({n_test, num_classes}, one_hot(test_classes));
    part["graph"] = gas_test::graph_pickle(ring());
    std::string index;
    for (auto t : test_ids) index += std::to_string(t) + "\n";
    part["test.index"] = index;
  }

  /// A ring over all nodes, plus a duplicate and a self-loop at node 0 and a one-way edge 5 -> 9.
  static std::vector<std::pair<std::int64_t, std::vector<std::int64_t>>> ring() {
    std::vector<std::pair<std::int64_t, std::vector<std::int64_t>>> adjacency;
    for (std::int64_t i = 0; i < num_nodes; ++i) adjacency.push_back({i, {(i + 1) % num_nodes}});
    adjacency[0].second = {1, 0, 1};
    adjacency[5].second = {6, 9};
    return adjacency;
  }

  void write(const std::filesystem::path& dir, const std::string& name = "syn") const {
    for (const auto& [p, bytes] : part) gas_test::write_file(dir / ("ind." + name + "." + p), bytes);
  }
};

/// Reading `files` must fail with exactly `Error` (not a subclass) whose message contains every fragment.
template <class Error>
void expect_error(const Files& files, std::initializer_list<std::string_view> fragments) {
  gas_test::TempDir dir;
  files.write(dir.path());
  gas_test::check_throws_naming<Error>([&] { (void)gas::io::read_planetoid(dir.path()); }, fragments,
                                       "read_planetoid", __FILE__, __LINE__);
}

}  // namespace

TEST_CASE("Cora: PyG's figures, label histogram, feature checksum" *
          doctest::skip(gas_test::missing("planetoid/cora"))) {
  const auto d = gas::io::read_planetoid(gas_test::data_dir() / "planetoid/cora");
  CHECK(d.name == "cora");
  CHECK(d.num_nodes() == 2708);
  CHECK(d.num_edges() == 10556);
  CHECK(d.num_features() == 1433);
  CHECK(d.num_classes == 7);
  REQUIRE(d.splits.size() == 1);
  const auto& s = d.splits[0];
  CHECK(s.train.size() == 140);
  CHECK(s.val.size() == 500);
  CHECK(s.test.size() == 1000);
  CHECK(s.train.front() == 0);
  CHECK(s.train.back() == 139);
  CHECK(s.val.front() == 140);
  CHECK(s.val.back() == 639);
  CHECK(s.test.front() == 1708);
  CHECK(s.test.back() == 2707);
  CHECK(std::is_sorted(s.test.begin(), s.test.end()));

  // Cross-checked with numpy/scipy, following PyG's read_planetoid_data:
  //   X = vstack(allx, tx); X[test] = X[sorted(test)]; Y = vstack(ally, ty).argmax(1); Y[test] = Y[sorted(test)]
  std::vector<int> histogram(7, 0), train_histogram(7, 0);
  for (auto l : d.labels) ++histogram[static_cast<std::size_t>(l)];
  for (auto v : s.train) ++train_histogram[static_cast<std::size_t>(d.labels[static_cast<std::size_t>(v)])];
  CHECK(histogram == std::vector<int>{351, 217, 418, 818, 426, 298, 180});
  CHECK(train_histogram == std::vector<int>(7, 20));
  CHECK(std::vector<int>(d.labels.begin(), d.labels.begin() + 10) == std::vector<int>{3, 4, 4, 0, 3, 2, 0, 3, 3, 2});
  CHECK(d.labels[2692] == 3);  // test.index's first id
  CHECK(d.labels[2707] == 3);

  double sum = 0, weighted = 0;  // weighted = sum (i + 1)(j + 1) X[i, j]: catches misplaced rows and columns
  for (std::int64_t i = 0; i < d.features.rows(); ++i)
    for (std::int64_t j = 0; j < d.features.cols(); ++j) {
      sum += d.features(i, j);
      weighted += static_cast<double>((i + 1) * (j + 1)) * d.features(i, j);
    }
  CHECK(sum == 49216.0);  // binary bag of words, kept raw (not row-normalized)
  CHECK(weighted == 52537512582.0);
  std::vector<std::int64_t> nonzero;
  for (std::int64_t j = 0; j < 1433; ++j)
    if (d.features(2692, j) != 0) nonzero.push_back(j);
  CHECK(nonzero ==
        std::vector<std::int64_t>{311, 314, 353, 505, 510, 621, 1075, 1132, 1171, 1226, 1230, 1301, 1379, 1389, 1392});

  CHECK(d.graph.degree(0) == 3);
  std::int64_t max_degree = 0;
  for (gas::node_id v = 0; v < d.num_nodes(); ++v) max_degree = std::max(max_degree, d.graph.degree(v));
  CHECK(max_degree == 168);
  // The graph dict is symmetric once deduplicated, so PyG's unsymmetrized edge_index has the same 10556 edges.
  const auto raw = gas::io::read_planetoid(gas_test::data_dir() / "planetoid/cora", {.symmetrize = false});
  CHECK(raw.num_edges() == 10556);
}

TEST_CASE("a CiteSeer-like folder: test rows placed by test.index, missing test rows padded with zeros") {
  gas_test::TempDir dir;
  Files().write(dir.path());
  const auto d = gas::io::read_planetoid(dir.path());
  CHECK(d.name == "syn");
  REQUIRE(d.num_nodes() == num_nodes);
  CHECK(d.num_features() == num_features);
  CHECK(d.num_classes == num_classes);

  const auto is_test = [](std::int64_t v) { return std::find(test_ids.begin(), test_ids.end(), v) != test_ids.end(); };
  for (std::int64_t i = 0; i < num_nodes; ++i) {
    const bool padded = i >= allx_rows && !is_test(i);  // 533 and 539
    for (std::int64_t j = 0; j < num_features; ++j) {
      const float expected = (!padded && j == i % num_features) ? static_cast<float>(1 + i) : 0.0f;
      CHECK_MESSAGE(d.features(i, j) == expected, "node " << i << " feature " << j);
    }
    const auto label = i < allx_rows ? i % num_classes : padded ? -1 : test_class(i);
    CHECK_MESSAGE(d.labels[static_cast<std::size_t>(i)] == label, "node " << i);
  }
  const auto& s = d.splits.at(0);
  CHECK(s.train == std::vector<gas::node_id>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
  CHECK(s.val.size() == 500);
  CHECK(s.val.front() == 20);
  CHECK(s.val.back() == 519);
  // Sorted test ids; the padded nodes are in no split, the unlabeled test node stays in the test split.
  CHECK(s.test == std::vector<gas::node_id>{530, 531, 532, 534, 535, 536, 537, 538, 540, 541});

  // Ring (2 per node) plus 5-9 both ways; the duplicate 0-1 and the self-loop are gone.
  CHECK(d.num_edges() == 2 * num_nodes + 2);
  const auto n9 = d.graph.neighbors(9);
  CHECK(std::find(n9.begin(), n9.end(), 5) != n9.end());
  const auto n0 = d.graph.neighbors(0);
  CHECK(std::vector<gas::node_id>(n0.begin(), n0.end()) == std::vector<gas::node_id>{1, num_nodes - 1});

  // As PyG builds it: no symmetrization; and with self-loops kept, the loop at node 0 stays.
  const auto directed = gas::io::read_planetoid(dir.path(), {.symmetrize = false, .remove_self_loops = false});
  CHECK(directed.num_edges() == num_nodes + 2);
  CHECK(directed.graph.neighbors(9).size() == 1);
}

TEST_CASE("each missing file is an io_error naming it") {
  for (auto part : gas::io::detail::planetoid_parts) {
    Files files;
    files.part.erase(std::string(part));
    expect_error<gas::io_error>(files, {"ind.syn." + std::string(part), "no such file"});
  }
}

TEST_CASE("folders that are not one Planetoid dataset") {
  gas_test::TempDir dir;
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_planetoid(dir / "absent"), "absent");
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_planetoid(dir.path()), "not a Planetoid");
  Files().write(dir.path(), "one");
  Files().write(dir.path(), "two");
  CHECK_THROWS_NAMING(gas::format_error, gas::io::read_planetoid(dir.path()), "several Planetoid datasets (one, two)");
}

TEST_CASE("pickles that try to run code are refused, naming the file and the callable") {
  Files files;
  gas_test::PickleWriter w;
  w.global("os", "system").string("touch /tmp/pwned").tuple(1).reduce().stop();
  files.part["graph"] = w.bytes();
  expect_error<gas::format_error>(files, {"ind.syn.graph", "refusing to call os.system"});

  Files eval;
  gas_test::PickleWriter e;
  e.global("__builtin__", "eval").string("__import__('os')").tuple(1).reduce().stop();
  eval.part["allx"] = e.bytes();
  expect_error<gas::format_error>(eval, {"ind.syn.allx", "refusing to call __builtin__.eval"});

  Files popen;
  gas_test::PickleWriter p;
  p.global("subprocess", "Popen").string("ls").tuple(1).reduce().stop();
  popen.part["ty"] = p.bytes();
  expect_error<gas::format_error>(popen, {"ind.syn.ty", "refusing to call subprocess.Popen"});
}

TEST_CASE("truncated and corrupt pickles are format errors naming the file") {
  const Files good;
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{40}, std::size_t{300},
                          good.part.at("allx").size() - 1}) {
    Files files;
    files.part["allx"] = good.part.at("allx").substr(0, cut);
    expect_error<gas::format_error>(files, {"ind.syn.allx", "truncated at offset " + std::to_string(cut)});
  }
  Files unknown;
  unknown.part["ty"] = std::string("\x80\x02\xff", 3);
  expect_error<gas::format_error>(unknown, {"ind.syn.ty", "unknown opcode"});
  Files underflow;
  underflow.part["y"] = std::string(
      "\x80\x02"
      "a.",
      4);
  expect_error<gas::format_error>(underflow, {"ind.syn.y", "stack underflow"});
}

TEST_CASE("content of the wrong type or shape is a format error naming the file") {
  {  // a string array where one-hot labels are expected
    Files files;
    gas_test::PickleWriter w;
    gas_test::ndarray(w, "S1", "|", {train_rows, num_classes}, std::string(train_rows * num_classes, '1'));
    files.part["y"] = w.stop().bytes();
    expect_error<gas::format_error>(files, {"ind.syn.y", "dtype 'S1' is not supported"});
  }
  {  // the graph where features are expected
    Files files;
    files.part["tx"] = files.part["graph"];
    expect_error<gas::format_error>(files, {"ind.syn.tx", "expected a scipy CSR matrix or a numpy array, found dict"});
  }
  {  // a 1-D label array
    Files files;
    files.part["ally"] = gas_test::ndarray_pickle<std::int32_t>({allx_rows}, std::vector<std::int32_t>(allx_rows, 0));
    expect_error<gas::format_error>(files, {"ind.syn.ally", "2-D"});
  }
  {  // x and y disagree
    Files files;
    files.part["y"] = gas_test::ndarray_pickle<std::int32_t>(
        {train_rows - 1, num_classes}, std::vector<std::int32_t>((train_rows - 1) * num_classes, 0));
    expect_error<gas::format_error>(files, {"ind.syn.y", "19 label rows", "ind.syn.x", "20 feature rows"});
  }
  {  // feature widths disagree
    Files files;
    files.part["allx"] = gas_test::csr_pickle(
        gas_test::csr_of(allx_rows, num_features + 1, std::vector<float>(allx_rows * (num_features + 1), 0)));
    expect_error<gas::format_error>(files, {"ind.syn.allx", "7 features"});
  }
  {  // label widths disagree
    Files files;
    files.part["ty"] = gas_test::ndarray_pickle<std::int32_t>({10, 2}, std::vector<std::int32_t>(20, 0));
    expect_error<gas::format_error>(files, {"ind.syn.ty", "2 classes"});
  }
  {  // too few nodes for PyG's 500 validation nodes
    Files files;
    files.part["y"] = gas_test::ndarray_pickle<std::int32_t>({40, num_classes}, std::vector<std::int32_t>(120, 0));
    files.part["x"] =
        gas_test::csr_pickle(gas_test::csr_of(40, num_features, std::vector<float>(40 * num_features, 0)));
    expect_error<gas::format_error>(files, {"ind.syn.allx", "500 validation"});
  }
  {  // a NaN feature
    Files files;
    auto rows = feature_rows(test_ids);
    rows[3 * num_features + 2] = std::numeric_limits<float>::quiet_NaN();
    files.part["tx"] = gas_test::csr_pickle(gas_test::csr_of(10, num_features, rows));
    expect_error<gas::format_error>(files, {"ind.syn.tx", "entry (3, 2) is not finite"});
  }
}

TEST_CASE("a bad graph dict is a format error naming the graph file") {
  {
    auto adjacency = Files::ring();
    adjacency[3].second.push_back(num_nodes);
    Files files;
    files.part["graph"] = gas_test::graph_pickle(adjacency);
    expect_error<gas::format_error>(files, {"ind.syn.graph", "neighbor 542 outside [0, 542)"});
  }
  {
    auto adjacency = Files::ring();
    adjacency[7].first = -1;
    Files files;
    files.part["graph"] = gas_test::graph_pickle(adjacency);
    expect_error<gas::format_error>(files, {"ind.syn.graph", "node -1 outside"});
  }
  {  // a float neighbor id
    Files files;
    gas_test::PickleWriter w;
    w.global("collections", "defaultdict").global("__builtin__", "list").tuple(1).reduce();
    w.integer(0).empty_list().floating(1.0).append().setitem().stop();
    files.part["graph"] = w.bytes();
    expect_error<gas::format_error>(files, {"ind.syn.graph", "neighbor is a float, not an integer node id"});
  }
  {  // not a dict at all
    Files files;
    files.part["graph"] = gas_test::ndarray_pickle<std::int32_t>({1}, {0});
    expect_error<gas::format_error>(files, {"ind.syn.graph", "expected a dict"});
  }
}

TEST_CASE("a bad test.index is a format error naming it") {
  auto with_index = [](std::string index) {
    Files files;
    files.part["test.index"] = std::move(index);
    return files;
  };
  std::string good;
  for (auto t : test_ids) good += std::to_string(t) + "\n";
  // Blank lines, surrounding spaces and a missing final newline are fine.
  {
    std::string loose = "\n";
    for (auto t : test_ids) loose += "  " + std::to_string(t) + " \r\n";
    loose.pop_back();
    gas_test::TempDir dir;
    with_index(loose).write(dir.path());
    CHECK(gas::io::read_planetoid(dir.path()).splits.at(0).test.size() == 10);
  }
  auto replace_first = [&](const std::string& line) { return line + good.substr(good.find('\n')); };
  expect_error<gas::format_error>(with_index(replace_first("-1")), {"ind.syn.test.index", "line 1", "negative"});
  expect_error<gas::format_error>(with_index(replace_first("100000")), {"ind.syn.test.index", "100000 out of range"});
  expect_error<gas::format_error>(with_index(replace_first("12.5")),
                                  {"ind.syn.test.index", "line 1", "not an integer"});
  expect_error<gas::format_error>(with_index(replace_first("abc")), {"ind.syn.test.index", "'abc'"});
  expect_error<gas::format_error>(with_index(replace_first("99999999999999999999")), {"ind.syn.test.index"});
  expect_error<gas::format_error>(with_index(replace_first("530")), {"ind.syn.test.index", "530 appears twice"});
  expect_error<gas::format_error>(with_index(replace_first("12")), {"ind.syn.test.index", "must start at 530"});
  expect_error<gas::format_error>(with_index(good + "542\n"), {"ind.syn.test.index", "11 test ids", "ind.syn.tx"});
  expect_error<gas::format_error>(with_index(""), {"ind.syn.test.index", "no test node ids"});
}

// Hostile sizes (issue 16): a CSR matrix's column count is backed by no bytes, so a 300-byte pickle could ask
// planetoid_matrix to densify (2, 2^31) floats; the bound scales with the pickle's size.
TEST_CASE("planetoid: a CSR matrix declaring more columns than its pickle can justify is refused fast") {
  gas_test::CsrParts c{2, std::int64_t{1} << 31, {0, 0, 0}, {}, {}};
  const auto bytes = gas_test::csr_pickle(c);
  CHECK(bytes.size() < 1000);
  const auto pickle =
      gas::io::parse_pickle({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "wide.pkl");
  CHECK_REFUSED_SMALL(gas::io::detail::planetoid_matrix<float>(pickle), "wide.pkl", "too large");
}
