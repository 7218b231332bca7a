#include "gas/core/eigen.hpp"
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string_view>
#include <thread>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/reduce.hpp"
#include "gas/ops/spmm.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas::ops::aggr::Reduction;

/// A user policy: PyG's alias "add" for the sum reduction.
struct Add {
  static constexpr std::string_view name = "add";
  static constexpr Reduction reduction = Reduction::sum;
};
struct NameOnly {
  static constexpr std::string_view name = "name only";
};
struct RuntimeReduction {  // a field that is not a compile-time constant does not make a policy
  static constexpr std::string_view name = "runtime";
  static inline Reduction reduction = Reduction::sum;
};

static_assert(gas::ops::aggr::Aggregation<gas::ops::aggr::Sum>);
static_assert(gas::ops::aggr::Aggregation<gas::ops::aggr::Mean>);
static_assert(gas::ops::aggr::Aggregation<gas::ops::aggr::Max>);
static_assert(gas::ops::aggr::Aggregation<gas::ops::aggr::Min>);
static_assert(gas::ops::aggr::Aggregation<Add>);
static_assert(!gas::ops::aggr::Aggregation<int>);
static_assert(!gas::ops::aggr::Aggregation<NameOnly>);
static_assert(!gas::ops::aggr::Aggregation<RuntimeReduction>);
static_assert(gas::ops::aggr::Sum::name == "sum" && gas::ops::aggr::Mean::name == "mean" && gas::ops::aggr::Max::name == "max" &&
              gas::ops::aggr::Min::name == "min");

/// The graphs every test runs on: square with self-loops and weights, bipartite (rows != cols) with and
/// without weights, and one wider than tall. random_graph leaves every seventh row empty.
std::vector<gas::Graph> test_graphs() {
  return {gas_test::random_graph(15, 15, 3, 1, true, true), gas_test::random_graph(16, 9, 2.5, 2, false, false),
          gas_test::random_graph(10, 13, 3, 3, true, false), gas_test::random_graph(8, 20, 4, 4, false, true)};
}

/// Distinct values (multiples of 1/64 shuffled), so max and min never tie and a finite-difference step never
/// changes the winner.
template <class T>
gas::Tensor<T> distinct_tensor(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  std::vector<T> values(static_cast<std::size_t>(rows * cols));
  for (std::size_t k = 0; k < values.size(); ++k)
    values[k] = static_cast<T>(static_cast<double>(k) / 64.0 - static_cast<double>(values.size()) / 128.0);
  gas::Rng(seed).shuffle(values.begin(), values.end());
  return gas::Tensor<T>(rows, cols, std::move(values));
}

/// The naive definition of every reduction, edge by edge, in double.
gas::Tensor<double> reference(const gas::Graph& adj, const gas::Tensor<double>& x, Reduction r) {
  gas::Tensor<double> out(adj.rows(), x.cols(), 0.0);
  for (gas::node_id i = 0; i < adj.rows(); ++i) {
    const auto nbrs = adj.neighbors(i);
    const auto w = adj.edge_weights(i);
    for (std::int64_t f = 0; f < x.cols(); ++f) {
      double acc = 0;
      for (std::size_t k = 0; k < nbrs.size(); ++k) {
        const double v = x(nbrs[k], f);
        if (r == Reduction::sum) acc += (w.empty() ? 1.0 : static_cast<double>(w[k])) * v;
        else if (r == Reduction::mean) acc += v / static_cast<double>(nbrs.size());
        else if (k == 0) acc = v;
        else acc = r == Reduction::max ? std::max(acc, v) : std::min(acc, v);
      }
      out(i, f) = acc;
    }
  }
  return out;
}

/// A scalar whose gradient differs from element to element: sum(relu(y C)) for a fixed random C.
template <class T>
gas::autograd::Var<T> scalar_loss(gas::autograd::Var<T> y, const gas::Tensor<T>& c) {
  return gas::ops::sum_all(gas::ops::relu(gas::ops::matmul(y, y.tape().constant(c))));
}

template <class A, class T>
void check_forward(const gas::Graph& adj, const gas::Tensor<T>& x, double tolerance) {
  gas::autograd::Tape<T> tape;
  const auto y = gas::ops::spmm<A>(adj, tape.constant(x));
  REQUIRE(y.rows() == adj.rows());
  REQUIRE(y.cols() == x.cols());
  gas::Tensor<double> xd(x.rows(), x.cols());
  for (std::int64_t i = 0; i < x.rows(); ++i)
    for (std::int64_t j = 0; j < x.cols(); ++j) xd(i, j) = static_cast<double>(x(i, j));
  const auto expected = reference(adj, xd, A::reduction);
  for (std::int64_t i = 0; i < y.rows(); ++i)
    for (std::int64_t j = 0; j < y.cols(); ++j)
      CHECK(static_cast<double>(y.value()(i, j)) == doctest::Approx(expected(i, j)).epsilon(tolerance));
}

template <class A>
void check_grad(const gas::Graph& adj, const gas::Tensor<double>& x0) {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> x("x", x0);
  const auto c = gas_test::random_tensor<double>(x0.cols(), 3, 99);
  auto build = [&](gas::autograd::Tape<double>& t) { return scalar_loss(gas::ops::spmm<A>(adj, t.param(x)), c); };
  const auto check = gas::autograd::check_gradients(tape, build, {&x});
  CHECK_MESSAGE(check.ok, A::name, ": ", check.worst);
}

/// Forward values and input gradients of spmm<A> on `threads` OpenMP threads.
template <class A, class T>
std::pair<gas::Tensor<T>, gas::Tensor<T>> run_on(int threads, const gas::Graph& adj, const gas::Tensor<T>& x0) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Eigen::setNbThreads(1);  // Eigen's GEMM blocks by thread count; keep it fixed so only the graph ops vary
  gas::autograd::Tape<T> tape;
  gas::autograd::Parameter<T> x("x", x0);
  const auto c = gas_test::random_tensor<T>(x0.cols(), 4, 5);
  auto y = gas::ops::spmm<A>(adj, tape.param(x));
  tape.backward(scalar_loss(y, c));
  omp_set_num_threads(saved);
  Eigen::setNbThreads(0);  // back to following OpenMP
  return {gas::Tensor<T>(y.value()), x.grad};
}

}  // namespace

TEST_CASE_TEMPLATE("spmm matches the naive definition of every aggregation", T, float, double) {
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (const auto& adj : test_graphs()) {
    CAPTURE(adj.rows());
    CAPTURE(adj.cols());
    const auto x = gas_test::random_tensor<T>(adj.cols(), 21, 7);  // 21: a vector body plus a remainder
    check_forward<gas::ops::aggr::Sum>(adj, x, tolerance);
    check_forward<gas::ops::aggr::Mean>(adj, x, tolerance);
    check_forward<gas::ops::aggr::Max>(adj, x, tolerance);
    check_forward<gas::ops::aggr::Min>(adj, x, tolerance);
    check_forward<Add>(adj, x, tolerance);
  }
}

TEST_CASE("spmm: empty rows give 0 under every aggregation; sum uses the weights, the others ignore them") {
  // Row 0: (0, w 2), (2, w 3); row 1 empty; row 2: (1, w 0.5).
  const gas::Graph adj(3, 3, {0, 2, 2, 3}, {0, 2, 1}, {2.0f, 3.0f, 0.5f});
  gas::autograd::Tape<double> tape;
  const auto x = tape.constant(gas::Tensor<double>(3, 2, {1, -1, 10, 20, -4, 3}));
  auto expect = [](gas::autograd::Var<double> y, std::vector<double> values) {
    CHECK(std::equal(values.begin(), values.end(), y.value().data()));
  };
  expect(gas::ops::spmm<gas::ops::aggr::Sum>(adj, x), {2 - 12, -2 + 9, 0, 0, 5, 10});
  expect(gas::ops::spmm<gas::ops::aggr::Mean>(adj, x), {-1.5, 1, 0, 0, 10, 20});
  expect(gas::ops::spmm<gas::ops::aggr::Max>(adj, x), {1, 3, 0, 0, 10, 20});
  expect(gas::ops::spmm<gas::ops::aggr::Min>(adj, x), {-4, -1, 0, 0, 10, 20});
}

TEST_CASE("spmm passes the gradient check for every aggregation on square, bipartite and weighted graphs") {
  for (const auto& adj : test_graphs()) {
    CAPTURE(adj.rows());
    CAPTURE(adj.cols());
    const auto x = gas_test::random_tensor<double>(adj.cols(), 5, 11);
    check_grad<gas::ops::aggr::Sum>(adj, x);
    check_grad<gas::ops::aggr::Mean>(adj, x);
    const auto distinct = distinct_tensor<double>(adj.cols(), 5, 12);
    check_grad<gas::ops::aggr::Max>(adj, distinct);
    check_grad<gas::ops::aggr::Min>(adj, distinct);
  }
}

TEST_CASE("spmm max/min send the gradient to the chosen neighbor only, the first one on ties") {
  // Row 0 sees nodes 0, 1, 2; nodes 0 and 2 tie for the maximum of column 0, node 1 holds the minimum.
  const gas::Graph adj(2, 3, {0, 3, 3}, {0, 1, 2});
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> x("x", gas::Tensor<double>(3, 2, {5, 1, -2, 7, 5, 0}));
  tape.backward(gas::ops::sum_all(gas::ops::spmm<gas::ops::aggr::Max>(adj, tape.param(x))));
  CHECK(x.grad == gas::Tensor<double>(3, 2, {1, 0, 0, 1, 0, 0}));
  x.zero_grad();
  tape.reset();
  tape.backward(gas::ops::sum_all(gas::ops::spmm<gas::ops::aggr::Min>(adj, tape.param(x))));
  CHECK(x.grad == gas::Tensor<double>(3, 2, {0, 0, 1, 0, 0, 1}));
}

TEST_CASE("spmm in float agrees with double, values and gradients") {
  const auto adj = gas_test::random_graph(300, 200, 6, 21, true, false);
  const auto xd = gas_test::random_tensor<double>(200, 24, 22);
  const auto xf = gas_test::random_tensor<float>(200, 24, 22);
  auto agree = [](const gas::Tensor<float>& f, const gas::Tensor<double>& d) {
    double worst = 0;
    for (std::int64_t i = 0; i < d.rows(); ++i)
      for (std::int64_t j = 0; j < d.cols(); ++j)
        worst = std::max(worst, std::abs(static_cast<double>(f(i, j)) - d(i, j)) / std::max(1.0, std::abs(d(i, j))));
    CHECK(worst < 1e-5);
  };
  auto both = [&]<class A>() {
    const auto [yf, gf] = run_on<A>(1, adj, xf);
    const auto [yd, gd] = run_on<A>(1, adj, xd);
    agree(yf, yd);
    agree(gf, gd);
  };
  both.operator()<gas::ops::aggr::Sum>();
  both.operator()<gas::ops::aggr::Mean>();
  both.operator()<gas::ops::aggr::Max>();
  both.operator()<gas::ops::aggr::Min>();
}

TEST_CASE_TEMPLATE("spmm values and gradients are bit-identical on 1, 2 and 3 threads", T, float, double) {
  // Large enough that every loop runs in parallel (entries x features far above the threshold).
  const auto adj = gas_test::random_graph(6000, 5000, 8, 31, true, false);
  const auto x = gas_test::random_tensor<T>(5000, 40, 32);
  auto same = [&]<class A>() {
    const auto one = run_on<A>(1, adj, x);
    for (int threads : {2, 3}) {
      const auto many = run_on<A>(threads, adj, x);
      CHECK(one.first == many.first);
      CHECK(one.second == many.second);
    }
  };
  same.template operator()<gas::ops::aggr::Sum>();
  same.template operator()<gas::ops::aggr::Mean>();
  same.template operator()<gas::ops::aggr::Max>();
  same.template operator()<gas::ops::aggr::Min>();
}

TEST_CASE_TEMPLATE("spmm at the register-tile widths matches the naive definition, values and gradients", T, float,
                   double) {
  // 16, 32, 48 and 64 floats are one tile of 1 to 4 vectors; 80 and 264 are several tiles; 131 adds a scalar tail.
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  const auto adj = gas_test::random_graph(40, 30, 5, 61, true, true);
  for (std::int64_t width : {16, 32, 48, 64, 80, 131, 264}) {
    CAPTURE(width);
    const auto x = gas_test::random_tensor<T>(adj.cols(), width, 62);
    check_forward<gas::ops::aggr::Sum>(adj, x, tolerance);
    check_forward<gas::ops::aggr::Mean>(adj, x, tolerance);
    check_forward<gas::ops::aggr::Max>(adj, x, tolerance);
    check_forward<gas::ops::aggr::Min>(adj, x, tolerance);
    // d x_j = sum over entries (i, j) of s_e seed_i (s_e = w_e for the sum, 1 / deg_i for the mean).
    const auto seed = gas_test::random_tensor<T>(adj.rows(), width, 63);
    auto grad = [&]<class A>() {
      gas::autograd::Tape<T> tape;
      gas::autograd::Parameter<T> p("x", x);
      tape.backward(gas::ops::spmm<A>(adj, tape.param(p)), seed.view());
      gas::Tensor<double> expected(adj.cols(), width, 0.0);
      for (gas::node_id i = 0; i < adj.rows(); ++i) {
        const auto nbrs = adj.neighbors(i);
        const auto w = adj.edge_weights(i);
        for (std::size_t k = 0; k < nbrs.size(); ++k) {
          const double s = A::reduction == Reduction::mean ? 1.0 / static_cast<double>(nbrs.size())
                                                             : static_cast<double>(w[k]);
          for (std::int64_t f = 0; f < width; ++f) expected(nbrs[k], f) += s * static_cast<double>(seed(i, f));
        }
      }
      for (std::int64_t j = 0; j < adj.cols(); ++j)
        for (std::int64_t f = 0; f < width; ++f)
          CHECK(static_cast<double>(p.grad(j, f)) == doctest::Approx(expected(j, f)).epsilon(tolerance));
    };
    grad.template operator()<gas::ops::aggr::Sum>();
    grad.template operator()<gas::ops::aggr::Mean>();
  }
}

TEST_CASE("spmm reuses its buffers across steps, and skips saving state when no gradient is needed") {
  const auto adj = gas_test::random_graph(50, 50, 4, 41, true, false);
  gas::autograd::Tape<float> tape;
  gas::autograd::Parameter<float> x("x", gas_test::random_tensor<float>(50, 8, 42));
  const gas::CsrTranspose<gas::node_id>* index = nullptr;
  for (int step = 0; step < 3; ++step) {
    tape.reset();
    auto y = gas::ops::spmm<gas::ops::aggr::Sum>(adj, tape.param(x));
    auto z = gas::ops::spmm<gas::ops::aggr::Mean>(adj, y);  // a second layer over the same graph
    tape.backward(gas::ops::sum_all(z));
    if (step == 0) index = adj.transposed_index().get();
    CHECK(adj.transposed_index().get() == index);  // built once, for every layer and step
    CHECK(y.node().aux_index.empty());
  }
  gas::autograd::Tape<float> fresh;
  auto y = gas::ops::spmm<gas::ops::aggr::Max>(adj, fresh.constant(x.value));
  CHECK_FALSE(y.requires_grad());
  CHECK(y.node().aux_index.empty());  // no argmax saved for a constant input
}

TEST_CASE("a graph's cached transpose is its own: copies, assignments and new weights never read a stale one") {
  auto stable = [](const gas::Graph& g) {  // the transpose, built from scratch
    gas::CsrTranspose<gas::node_id> t;
    gas::detail::build_transpose<gas::node_id>(g.rows(), g.cols(), g.indptr(), g.indices(), t);
    return t;
  };
  auto same = [](const gas::CsrTranspose<gas::node_id>& a, const gas::CsrTranspose<gas::node_id>& b) {
    return a.offsets == b.offsets && a.rows == b.rows && a.edges == b.edges;
  };
  const auto a = gas_test::random_graph(30, 20, 3, 71, true, false);
  const auto b = gas_test::random_graph(25, 35, 4, 72, true, false);
  const auto ta = a.transposed_index();
  CHECK(same(*ta, stable(a)));
  CHECK(ta->offsets[static_cast<std::size_t>(a.cols())] == a.num_edges());

  gas::Graph c = a;  // a copy builds its own
  CHECK(c == a);
  CHECK(c.transposed_index() != ta);
  CHECK(same(*c.transposed_index(), *ta));
  c = b;  // assigned: the old index is not reused for the new pattern
  CHECK(same(*c.transposed_index(), stable(b)));
  gas::Graph d = std::move(c);  // a move takes the index along
  CHECK(same(*d.transposed_index(), stable(b)));
  d = gas::Graph(a);  // move-assigned from a fresh graph
  CHECK(same(*d.transposed_index(), stable(a)));
  CHECK(ta.use_count() >= 2);  // a holder keeps its index alive whatever happens to the graph
  CHECK(same(*ta, stable(a)));

  // The weights are read through the index's edge positions at use time: new weights give new gradients.
  gas::Graph w = a;
  const auto x0 = gas_test::random_tensor<double>(a.cols(), 3, 73);
  auto grad = [&](const gas::Graph& g) {
    gas::autograd::Tape<double> tape;
    gas::autograd::Parameter<double> x("x", x0);
    tape.backward(gas::ops::sum_all(gas::ops::spmm<gas::ops::aggr::Sum>(g, tape.param(x))));
    return x.grad;
  };
  const auto before = grad(w);
  w.set_weights(std::vector<float>(static_cast<std::size_t>(w.num_edges()), 2.0f));
  const auto after = grad(w);
  const gas::Graph fresh(w.rows(), w.cols(), std::vector<std::int64_t>(w.indptr().begin(), w.indptr().end()),
                         std::vector<gas::node_id>(w.indices().begin(), w.indices().end()),
                         std::vector<float>(static_cast<std::size_t>(w.num_edges()), 2.0f));
  CHECK_FALSE(after == before);
  CHECK(after == grad(fresh));
}

TEST_CASE("threads that ask for a graph's transpose at once share one") {
  const auto adj = gas_test::random_graph(3000, 3000, 30, 81, false, true);  // above the parallel threshold
  std::vector<std::shared_ptr<const gas::CsrTranspose<gas::node_id>>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < got.size(); ++k) threads.emplace_back([&, k] { got[k] = adj.transposed_index(); });
  for (auto& t : threads) t.join();
  for (const auto& t : got) CHECK(t == got.front());
  CHECK(got.front()->rows.size() == static_cast<std::size_t>(adj.num_edges()));
}

TEST_CASE("spmm shape errors name both shapes") {
  const auto adj = gas_test::random_graph(6, 4, 2, 51, false, false);
  gas::autograd::Tape<double> tape;
  const auto x = tape.constant(gas::Tensor<double>(6, 3));
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::spmm<gas::ops::aggr::Sum>(adj, x), "(6 x 4)", "(6 x 3)",
                      "adj.cols() must equal x.rows()");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::spmm<gas::ops::aggr::Max>(adj, x), "(6 x 4)", "(6 x 3)");
}

namespace {

/// spmm<A> over rows `ids` of `table`, once deferred (Tape::push_rows, read in place) and once copied first;
/// checks the two agree bit for bit and that spmm left the deferred rows uncopied.
template <class A>
void check_deferred_rows(const gas::Graph& adj, const gas::Tensor<float>& table, const std::vector<gas::node_id>& ids) {
  gas::autograd::Tape<float> tape;
  gas::Tensor<float> copied(static_cast<std::int64_t>(ids.size()), table.cols());
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (std::int64_t f = 0; f < table.cols(); ++f) copied(static_cast<std::int64_t>(i), f) = table(ids[i], f);
  const auto x = tape.push_rows("features", table.view(), ids);
  REQUIRE(x.rows() == adj.cols());
  const auto in_place = gas::ops::spmm<A>(adj, x);
  CHECK_MESSAGE(x.node().deferred(), A::name, ": spmm read the rows in place, without copying them");
  const auto reference_value = gas::ops::spmm<A>(adj, tape.constant(copied.view()));
  for (std::int64_t i = 0; i < in_place.rows(); ++i)
    for (std::int64_t f = 0; f < in_place.cols(); ++f)
      CHECK_MESSAGE(in_place.value()(i, f) == reference_value.value()(i, f), A::name, " row ", i, " col ", f);
}

}  // namespace

TEST_CASE("spmm reads deferred rows (Tape::push_rows) in place, bit for bit as over a copy of them") {
  const auto table = gas_test::random_tensor<float>(40, 70, 11);  // 70 features: vector tiles and a scalar tail
  for (const auto& adj : test_graphs()) {
    std::vector<gas::node_id> ids(static_cast<std::size_t>(adj.cols()));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<gas::node_id>((i * 17 + 5) % 40);  // scattered
    check_deferred_rows<gas::ops::aggr::Sum>(adj, table, ids);
    check_deferred_rows<gas::ops::aggr::Mean>(adj, table, ids);
    check_deferred_rows<gas::ops::aggr::Max>(adj, table, ids);
    check_deferred_rows<gas::ops::aggr::Min>(adj, table, ids);
  }
}

TEST_CASE("deferred rows are copied for every other reader, and every row in order is a view of the table") {
  const auto table = gas_test::random_tensor<float>(6, 3, 12);
  const std::vector<gas::node_id> ids{4, 0, 4, 2};
  gas::autograd::Tape<float> tape;
  SUBCASE("an op that reads values gets the rows copied, once") {
    const auto x = tape.push_rows("features", table.view(), ids);
    CHECK(x.node().deferred());
    const auto y = gas::ops::relu(x);
    CHECK_FALSE(x.node().deferred());
    for (std::int64_t i = 0; i < 4; ++i)
      for (std::int64_t f = 0; f < 3; ++f) {
        CHECK(x.value()(i, f) == table(ids[static_cast<std::size_t>(i)], f));
        CHECK(y.value()(i, f) == std::max(0.0f, table(ids[static_cast<std::size_t>(i)], f)));
      }
  }
  SUBCASE("Var::value copies them") {
    const auto x = tape.push_rows("features", table.view(), ids);
    CHECK(x.value()(3, 1) == table(2, 1));
    CHECK_FALSE(x.node().deferred());
  }
  SUBCASE("a row slice copies them first") {
    const auto x = tape.push_rows("features", table.view(), ids);
    const auto s = gas::ops::slice_rows(x, 1, 3);
    CHECK(s.value()(0, 2) == table(0, 2));
    CHECK(s.value()(1, 0) == table(4, 0));
  }
  SUBCASE("ids 0..n-1 give a view of the table: nothing is copied") {
    const std::vector<gas::node_id> all{0, 1, 2, 3, 4, 5};
    const auto x = tape.push_rows("features", table.view(), all);
    CHECK_FALSE(x.node().deferred());
    CHECK(x.value().data() == table.data());
    CHECK(gas::ops::relu(x).value()(5, 2) == std::max(0.0f, table(5, 2)));
  }
  SUBCASE("a reset tape reuses the node as an ordinary one") {
    (void)tape.push_rows("features", table.view(), ids);
    tape.reset();
    const auto c = tape.constant(table.view());
    CHECK_FALSE(c.node().deferred());
    CHECK(c.value()(5, 0) == table(5, 0));
  }
}
