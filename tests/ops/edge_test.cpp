#include "gas/core/eigen.hpp"
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/edge.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/reduce.hpp"
#include "gas/ops/spmm.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

/// Square with self-loops and weights (weights must not matter here), bipartite both ways; random_graph leaves
/// every seventh row empty.
std::vector<gas::Graph> test_graphs() {
  return {gas_test::random_graph(12, 12, 3, 1, true, true), gas_test::random_graph(14, 9, 2.5, 2, false, false),
          gas_test::random_graph(8, 17, 3, 3, false, true)};
}

/// A scalar whose gradient differs from element to element: sum(relu(y C)) for a fixed random C.
template <class T>
gas::autograd::Var<T> scalar_loss(gas::autograd::Var<T> y, std::uint64_t seed) {
  const auto c = gas_test::random_tensor<T>(y.cols(), 3, seed);
  return gas::ops::sum_all(gas::ops::relu(gas::ops::matmul(y, y.tape().constant(c))));
}

/// The row (destination) of every edge, in CSR order.
std::vector<gas::node_id> edge_rows(const gas::Graph& adj) {
  std::vector<gas::node_id> rows;
  for (gas::node_id i = 0; i < adj.rows(); ++i) rows.insert(rows.end(), static_cast<std::size_t>(adj.degree(i)), i);
  return rows;
}

/// Naive softmax per row and head, in double.
gas::Tensor<double> softmax_reference(const gas::Graph& adj, const gas::Tensor<double>& s) {
  gas::Tensor<double> a(s.rows(), s.cols());
  const auto indptr = adj.indptr();
  for (gas::node_id i = 0; i < adj.rows(); ++i)
    for (std::int64_t h = 0; h < s.cols(); ++h) {
      double total = 0;
      for (auto e = indptr[i]; e < indptr[i + 1]; ++e) total += std::exp(s(e, h));
      for (auto e = indptr[i]; e < indptr[i + 1]; ++e) a(e, h) = std::exp(s(e, h)) / total;
    }
  return a;
}

/// Naive multi-head aggregation, in double.
gas::Tensor<double> spmm_edge_reference(const gas::Graph& adj, const gas::Tensor<double>& alpha,
                                        const gas::Tensor<double>& x) {
  const auto heads = alpha.cols(), per_head = x.cols() / heads;
  gas::Tensor<double> out(adj.rows(), x.cols(), 0.0);
  const auto rows = edge_rows(adj);
  for (std::int64_t e = 0; e < adj.num_edges(); ++e)
    for (std::int64_t c = 0; c < x.cols(); ++c)
      out(rows[static_cast<std::size_t>(e)], c) += alpha(e, c / per_head) * x(adj.indices()[static_cast<std::size_t>(e)], c);
  return out;
}

template <class T>
gas::Tensor<double> to_double(gas::MatrixView<const T> v) {
  gas::Tensor<double> out(v.rows(), v.cols());
  for (std::int64_t i = 0; i < v.rows(); ++i)
    for (std::int64_t j = 0; j < v.cols(); ++j) out(i, j) = static_cast<double>(v(i, j));
  return out;
}

template <class T>
void check_close(gas::MatrixView<const T> got, const gas::Tensor<double>& expected, double tolerance) {
  REQUIRE(got.rows() == expected.rows());
  REQUIRE(got.cols() == expected.cols());
  for (std::int64_t i = 0; i < got.rows(); ++i)
    for (std::int64_t j = 0; j < got.cols(); ++j)
      CHECK(static_cast<double>(got(i, j)) == doctest::Approx(expected(i, j)).epsilon(tolerance));
}

/// Everything the edge ops compute on one graph, in a GAT-shaped chain (scores from gathered source rows,
/// softmax, multi-head aggregation) plus a loss on the gathered destination rows; returns the values and the
/// gradients of every input.
template <class T>
std::vector<gas::Tensor<T>> gat_chain(const gas::Graph& adj, int threads, std::int64_t heads, std::int64_t per_head) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Eigen::setNbThreads(1);  // Eigen's GEMM blocks by thread count; keep it fixed so only the graph ops vary
  gas::autograd::Tape<T> tape;
  gas::autograd::Parameter<T> xs("xs", gas_test::random_tensor<T>(adj.cols(), heads * per_head, 61));
  gas::autograd::Parameter<T> xd("xd", gas_test::random_tensor<T>(adj.rows(), heads * per_head, 62));
  gas::autograd::Parameter<T> att("att", gas_test::random_tensor<T>(heads * per_head, heads, 63));
  auto src = gas::ops::gather_edge_src(adj, tape.param(xs));  // (E, heads * per_head)
  auto dst = gas::ops::gather_edge_dst(adj, tape.param(xd));  // (E, heads * per_head)
  auto alpha = gas::ops::edge_softmax(adj, gas::ops::matmul(gas::ops::relu(src), tape.param(att)));  // (E, heads)
  auto out = gas::ops::spmm_edge(adj, alpha, tape.param(xs));  // (rows, heads * per_head)
  tape.backward(scalar_loss(out, 64));
  tape.backward(scalar_loss(dst, 65));  // parameters accumulate over both passes
  omp_set_num_threads(saved);
  Eigen::setNbThreads(0);  // back to following OpenMP
  return {gas::Tensor<T>(src.value()), gas::Tensor<T>(dst.value()), gas::Tensor<T>(alpha.value()),
          gas::Tensor<T>(out.value()), xs.grad, xd.grad, att.grad};
}

/// Naive reduction of per-edge messages into their rows, in double: sum, mean, max or min; an empty row gives 0.
gas::Tensor<double> aggregate_reference(const gas::Graph& adj, const gas::Tensor<double>& m, gas::ops::aggr::Reduction r) {
  gas::Tensor<double> out(adj.rows(), m.cols(), 0.0);
  const auto indptr = adj.indptr();
  for (gas::node_id i = 0; i < adj.rows(); ++i) {
    const auto b = indptr[i], end = indptr[i + 1];
    for (std::int64_t f = 0; f < m.cols(); ++f) {
      if (b == end) continue;
      double acc = r == gas::ops::aggr::Reduction::sum || r == gas::ops::aggr::Reduction::mean ? 0.0 : m(b, f);
      for (auto e = b; e < end; ++e) {
        if (r == gas::ops::aggr::Reduction::max) acc = std::max(acc, m(e, f));
        else if (r == gas::ops::aggr::Reduction::min) acc = std::min(acc, m(e, f));
        else acc += m(e, f);
      }
      out(i, f) = r == gas::ops::aggr::Reduction::mean ? acc / static_cast<double>(end - b) : acc;
    }
  }
  return out;
}

/// `adj` without its edge weights.
gas::Graph unweighted(const gas::Graph& adj) {
  return {adj.rows(), adj.cols(), std::vector<std::int64_t>(adj.indptr().begin(), adj.indptr().end()),
          std::vector<gas::node_id>(adj.indices().begin(), adj.indices().end())};
}

/// aggregate_edges<A>(adj, gather_edge_src(adj, x)) and spmm<A>(adj, x) on an unweighted graph: the same values
/// and the same gradient of x, bit for bit; except the mean's gradient, which spmm's backward accumulates as
/// fma(1 / deg, g, acc) where the edge path rounds (1 / deg) g on its own first (when the compiler emits FMA, as
/// with -march=native): there the two agree to a few roundings.
template <gas::ops::aggr::Aggregation A, class T>
void check_aggregate_edges_is_spmm(const gas::Graph& adj, const gas::Tensor<T>& x0) {
  CAPTURE(A::name);
  gas::autograd::Tape<T> tape;
  gas::autograd::Parameter<T> x1("x1", x0), x2("x2", x0);
  auto by_edges = gas::ops::aggregate_edges<A>(adj, gas::ops::gather_edge_src(adj, tape.param(x1)));
  auto by_spmm = gas::ops::spmm<A>(adj, tape.param(x2));
  CHECK(gas::Tensor<T>(by_edges.value()) == gas::Tensor<T>(by_spmm.value()));
  tape.backward(scalar_loss(by_edges, 31));
  tape.backward(scalar_loss(by_spmm, 31));
  if constexpr (A::reduction == gas::ops::aggr::Reduction::mean)
    CHECK(gas_test::max_abs_diff(x1.grad, x2.grad) <= 16 * std::numeric_limits<T>::epsilon());
  else
    CHECK(x1.grad == x2.grad);
}

}  // namespace

TEST_CASE_TEMPLATE("gather_edge_src and gather_edge_dst copy each edge's endpoint rows", T, float, double) {
  for (const auto& adj : test_graphs()) {
    gas::autograd::Tape<T> tape;
    const auto xs = gas_test::random_tensor<T>(adj.cols(), 5, 1);
    const auto xd = gas_test::random_tensor<T>(adj.rows(), 5, 2);
    const auto src = gas::ops::gather_edge_src(adj, tape.constant(xs));
    const auto dst = gas::ops::gather_edge_dst(adj, tape.constant(xd));
    REQUIRE(src.rows() == adj.num_edges());
    REQUIRE(dst.rows() == adj.num_edges());
    const auto rows = edge_rows(adj);
    for (std::int64_t e = 0; e < adj.num_edges(); ++e)
      for (std::int64_t f = 0; f < 5; ++f) {
        CHECK(src.value()(e, f) == xs(adj.indices()[static_cast<std::size_t>(e)], f));
        CHECK(dst.value()(e, f) == xd(rows[static_cast<std::size_t>(e)], f));
      }
  }
}

TEST_CASE("gather_edge_src and gather_edge_dst pass the gradient check") {
  for (const auto& adj : test_graphs()) {
    CAPTURE(adj.rows());
    CAPTURE(adj.cols());
    gas::autograd::Tape<double> tape;
    gas::autograd::Parameter<double> xs("xs", gas_test::random_tensor<double>(adj.cols(), 4, 3));
    gas::autograd::Parameter<double> xd("xd", gas_test::random_tensor<double>(adj.rows(), 4, 4));
    auto src = [&](gas::autograd::Tape<double>& t) { return scalar_loss(gas::ops::gather_edge_src(adj, t.param(xs)), 5); };
    auto dst = [&](gas::autograd::Tape<double>& t) { return scalar_loss(gas::ops::gather_edge_dst(adj, t.param(xd)), 6); };
    const auto check_src = gas::autograd::check_gradients(tape, src, {&xs});
    CHECK_MESSAGE(check_src.ok, check_src.worst);
    const auto check_dst = gas::autograd::check_gradients(tape, dst, {&xd});
    CHECK_MESSAGE(check_dst.ok, check_dst.worst);
  }
}

TEST_CASE_TEMPLATE("edge_softmax matches the definition and sums to 1 over each row, per head", T, float, double) {
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (const auto& adj : test_graphs()) {
    gas::autograd::Tape<T> tape;
    const auto s = gas_test::random_tensor<T>(adj.num_edges(), 3, 7, -3.0, 3.0);
    const auto a = gas::ops::edge_softmax(adj, tape.constant(s));
    check_close<T>(a.value(), softmax_reference(adj, to_double<T>(s.view())), tolerance);
    const auto indptr = adj.indptr();
    for (gas::node_id i = 0; i < adj.rows(); ++i)
      for (std::int64_t h = 0; h < 3; ++h) {
        if (indptr[i] == indptr[i + 1]) continue;  // an empty row has no entries to sum
        double total = 0;
        for (auto e = indptr[i]; e < indptr[i + 1]; ++e) total += static_cast<double>(a.value()(e, h));
        CHECK(total == doctest::Approx(1.0).epsilon(tolerance));
      }
  }
}

TEST_CASE_TEMPLATE("edge_softmax is stable for scores far beyond exp's range", T, float, double) {
  const gas::Graph adj(2, 3, {0, 3, 3}, {0, 1, 2});  // row 1 is empty
  gas::autograd::Tape<T> tape;
  const auto a = gas::ops::edge_softmax(adj, tape.constant(gas::Tensor<T>(3, 2, {1000, -1000, 1000, -1001, 999, -1000})));
  const double e1 = std::exp(-1.0), z = 2 + e1, y = 2 + e1;
  check_close<T>(a.value(), gas::Tensor<double>(3, 2, {1 / z, 1 / y, 1 / z, e1 / y, e1 / z, 1 / y}),
                 std::is_same_v<T, float> ? 1e-6 : 1e-14);
}

TEST_CASE("edge_softmax passes the gradient check") {
  for (const auto& adj : test_graphs()) {
    CAPTURE(adj.rows());
    CAPTURE(adj.cols());
    gas::autograd::Tape<double> tape;
    gas::autograd::Parameter<double> s("s", gas_test::random_tensor<double>(adj.num_edges(), 2, 8, -2.0, 2.0));
    auto build = [&](gas::autograd::Tape<double>& t) { return scalar_loss(gas::ops::edge_softmax(adj, t.param(s)), 9); };
    const auto check = gas::autograd::check_gradients(tape, build, {&s});
    CHECK_MESSAGE(check.ok, check.worst);
  }
}

TEST_CASE_TEMPLATE("spmm_edge matches the naive multi-head aggregation", T, float, double) {
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (const auto& adj : test_graphs())
    for (std::int64_t heads : {1, 3}) {
      gas::autograd::Tape<T> tape;
      const auto alpha = gas_test::random_tensor<T>(adj.num_edges(), heads, 10);
      const auto x = gas_test::random_tensor<T>(adj.cols(), heads * 7, 11);
      const auto out = gas::ops::spmm_edge(adj, tape.constant(alpha), tape.constant(x));
      check_close<T>(out.value(), spmm_edge_reference(adj, to_double<T>(alpha.view()), to_double<T>(x.view())),
                     tolerance);
    }
}

TEST_CASE("spmm_edge passes the gradient check for alpha and x") {
  for (const auto& adj : test_graphs())
    for (std::int64_t heads : {1, 2}) {
      CAPTURE(adj.rows());
      CAPTURE(heads);
      gas::autograd::Tape<double> tape;
      gas::autograd::Parameter<double> alpha("alpha", gas_test::random_tensor<double>(adj.num_edges(), heads, 12));
      gas::autograd::Parameter<double> x("x", gas_test::random_tensor<double>(adj.cols(), heads * 3, 13));
      auto build = [&](gas::autograd::Tape<double>& t) {
        return scalar_loss(gas::ops::spmm_edge(adj, t.param(alpha), t.param(x)), 14);
      };
      const auto check = gas::autograd::check_gradients(tape, build, {&alpha, &x});
      CHECK_MESSAGE(check.ok, check.worst);
    }
}

TEST_CASE("a GAT-shaped chain of edge ops passes the gradient check") {
  const auto adj = gas_test::random_graph(9, 11, 3, 15, false, true);
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> xs("xs", gas_test::random_tensor<double>(11, 4, 16));
  gas::autograd::Parameter<double> xd("xd", gas_test::random_tensor<double>(9, 4, 17));
  gas::autograd::Parameter<double> att("att", gas_test::random_tensor<double>(4, 2, 18));
  auto build = [&](gas::autograd::Tape<double>& t) {
    auto a = t.param(att);
    auto s = gas::ops::matmul(gas::ops::gather_edge_src(adj, t.param(xs)), a);  // (E, 2)
    auto d = gas::ops::matmul(gas::ops::gather_edge_dst(adj, t.param(xd)), a);  // (E, 2)
    auto scores = gas::ops::matmul(s, d, false, true);                           // (E, E): mixes both ends
    auto alpha = gas::ops::edge_softmax(adj, gas::ops::matmul(scores, gas::ops::relu(s)));
    return scalar_loss(gas::ops::spmm_edge(adj, alpha, t.param(xs)), 19);
  };
  const auto check = gas::autograd::check_gradients(tape, build, {&xs, &xd, &att});
  CHECK_MESSAGE(check.ok, check.worst);
}

TEST_CASE("edge ops in float agree with double, values and gradients") {
  const auto adj = gas_test::random_graph(200, 150, 6, 20, false, false);
  const auto f = gat_chain<float>(adj, 1, 2, 8);
  const auto d = gat_chain<double>(adj, 1, 2, 8);
  for (std::size_t k = 0; k < f.size(); ++k) {
    double worst = 0;
    for (std::int64_t i = 0; i < d[k].rows(); ++i)
      for (std::int64_t j = 0; j < d[k].cols(); ++j)
        worst = std::max(worst, std::abs(static_cast<double>(f[k](i, j)) - d[k](i, j)) / std::max(1.0, std::abs(d[k](i, j))));
    CAPTURE(k);
    CHECK(worst < 1e-4);
  }
}

TEST_CASE_TEMPLATE("edge ops give bit-identical values and gradients on 1, 2 and 3 threads", T, float, double) {
  const auto adj = gas_test::random_graph(5000, 4000, 8, 21, false, false);
  const auto one = gat_chain<T>(adj, 1, 4, 16);
  for (int threads : {2, 3}) {
    const auto many = gat_chain<T>(adj, threads, 4, 16);
    for (std::size_t k = 0; k < one.size(); ++k) {
      CAPTURE(k);
      CHECK(one[k] == many[k]);
    }
  }
}

TEST_CASE_TEMPLATE("aggregate_edges matches the naive reduction of every aggregation", T, float, double) {
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (const auto& adj : test_graphs()) {
    CAPTURE(adj.rows());
    CAPTURE(adj.cols());
    gas::autograd::Tape<T> tape;
    const auto m = gas_test::random_tensor<T>(adj.num_edges(), 21, 23);  // 21: a vector body plus a remainder
    const auto md = to_double<T>(m.view());
    const auto v = tape.constant(m);
    check_close<T>(gas::ops::aggregate_edges<gas::ops::aggr::Sum>(adj, v).value(),
                   aggregate_reference(adj, md, gas::ops::aggr::Reduction::sum), tolerance);
    check_close<T>(gas::ops::aggregate_edges<gas::ops::aggr::Mean>(adj, v).value(),
                   aggregate_reference(adj, md, gas::ops::aggr::Reduction::mean), tolerance);
    check_close<T>(gas::ops::aggregate_edges<gas::ops::aggr::Max>(adj, v).value(),
                   aggregate_reference(adj, md, gas::ops::aggr::Reduction::max), tolerance);
    check_close<T>(gas::ops::aggregate_edges<gas::ops::aggr::Min>(adj, v).value(),
                   aggregate_reference(adj, md, gas::ops::aggr::Reduction::min), tolerance);
  }
}

TEST_CASE_TEMPLATE("aggregate_edges of gathered source rows is spmm on the unweighted graph, bit for bit", T, float,
                   double) {
  for (const auto& weighted : test_graphs()) {
    const auto adj = unweighted(weighted);  // spmm's sum applies weights; aggregate_edges leaves them to the message
    CAPTURE(adj.rows());
    CAPTURE(adj.cols());
    const auto x = gas_test::random_tensor<T>(adj.cols(), 13, 24);
    check_aggregate_edges_is_spmm<gas::ops::aggr::Sum>(adj, x);
    check_aggregate_edges_is_spmm<gas::ops::aggr::Mean>(adj, x);
    check_aggregate_edges_is_spmm<gas::ops::aggr::Max>(adj, x);
    check_aggregate_edges_is_spmm<gas::ops::aggr::Min>(adj, x);
  }
}

TEST_CASE("aggregate_edges ignores edge weights and gives 0 for an empty row") {
  // Row 0: edges 0, 1 (weights 2, 3); row 1 empty; row 2: edge 2.
  const gas::Graph adj(3, 3, {0, 2, 2, 3}, {0, 2, 1}, {2.0f, 3.0f, 0.5f});
  gas::autograd::Tape<double> tape;
  const auto m = tape.constant(gas::Tensor<double>(3, 2, {1, -1, -4, 3, 10, 20}));
  auto expect = [](gas::autograd::Var<double> y, std::vector<double> values) {
    CHECK(std::equal(values.begin(), values.end(), y.value().data()));
  };
  expect(gas::ops::aggregate_edges<gas::ops::aggr::Sum>(adj, m), {-3, 2, 0, 0, 10, 20});
  expect(gas::ops::aggregate_edges<gas::ops::aggr::Mean>(adj, m), {-1.5, 1, 0, 0, 10, 20});
  expect(gas::ops::aggregate_edges<gas::ops::aggr::Max>(adj, m), {1, 3, 0, 0, 10, 20});
  expect(gas::ops::aggregate_edges<gas::ops::aggr::Min>(adj, m), {-4, -1, 0, 0, 10, 20});
}

TEST_CASE("aggregate_edges passes the gradient check for every aggregation") {
  for (const auto& adj : test_graphs()) {
    CAPTURE(adj.rows());
    CAPTURE(adj.cols());
    gas::autograd::Tape<double> tape;
    gas::autograd::Parameter<double> m("m", gas_test::random_tensor<double>(adj.num_edges(), 4, 25));  // distinct draws
    auto check = [&]<class A>(A) {
      const std::string aggregation(A::name);
      CAPTURE(aggregation);
      auto build = [&](gas::autograd::Tape<double>& t) { return scalar_loss(gas::ops::aggregate_edges<A>(adj, t.param(m)), 26); };
      const auto result = gas::autograd::check_gradients(tape, build, {&m});
      CHECK_MESSAGE(result.ok, result.worst);
    };
    check(gas::ops::aggr::Sum{});
    check(gas::ops::aggr::Mean{});
    check(gas::ops::aggr::Max{});
    check(gas::ops::aggr::Min{});
  }
}

TEST_CASE("aggregate_edges max/min send the gradient to the winning edge only, the first one on ties") {
  // Row 0 has edges 0, 1, 2; edges 0 and 2 tie for the maximum of column 0, edge 1 holds the minimum.
  const gas::Graph adj(2, 3, {0, 3, 3}, {0, 1, 2});
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> m("m", gas::Tensor<double>(3, 2, {5, 1, -2, 7, 5, 0}));
  tape.backward(gas::ops::sum_all(gas::ops::aggregate_edges<gas::ops::aggr::Max>(adj, tape.param(m))));
  CHECK(m.grad == gas::Tensor<double>(3, 2, {1, 0, 0, 1, 0, 0}));
  m.zero_grad();
  tape.reset();
  tape.backward(gas::ops::sum_all(gas::ops::aggregate_edges<gas::ops::aggr::Min>(adj, tape.param(m))));
  CHECK(m.grad == gas::Tensor<double>(3, 2, {0, 0, 1, 0, 0, 1}));
}

TEST_CASE_TEMPLATE("aggregate_edges gives bit-identical values and gradients on 1, 2 and 3 threads", T, float, double) {
  const auto adj = gas_test::random_graph(5000, 4000, 8, 27, false, false);
  const auto m0 = gas_test::random_tensor<T>(adj.num_edges(), 16, 28);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<gas::Tensor<T>> out;
    gas::autograd::Tape<T> tape;
    gas::autograd::Parameter<T> mean("mean", m0), max("max", m0);
    auto a = gas::ops::aggregate_edges<gas::ops::aggr::Mean>(adj, tape.param(mean));
    auto b = gas::ops::aggregate_edges<gas::ops::aggr::Max>(adj, tape.param(max));
    tape.backward(scalar_loss(gas::ops::add(a, b), 29));
    omp_set_num_threads(saved);
    return std::vector<gas::Tensor<T>>{gas::Tensor<T>(a.value()), gas::Tensor<T>(b.value()), mean.grad, max.grad};
  };
  const auto one = run(1);
  for (int threads : {2, 3}) {
    const auto many = run(threads);
    for (std::size_t k = 0; k < one.size(); ++k) {
      CAPTURE(k);
      CHECK(one[k] == many[k]);
    }
  }
}

TEST_CASE("edge op shape errors name the shapes") {
  const auto adj = gas_test::random_graph(6, 4, 2, 22, false, false);
  const auto edges = adj.num_edges();
  gas::autograd::Tape<double> tape;
  const auto rows6 = tape.constant(gas::Tensor<double>(6, 4));
  const auto rows4 = tape.constant(gas::Tensor<double>(4, 6));
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::gather_edge_src(adj, rows6), "(6 x 4)", "adj.cols() must equal x.rows()");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::gather_edge_dst(adj, rows4), "(4 x 6)", "adj.rows() must equal x.rows()");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::edge_softmax(adj, rows6), "(6 x 4)", "one row per edge");
  const auto alpha = tape.constant(gas::Tensor<double>(edges, 2));
  const auto bad_alpha = tape.constant(gas::Tensor<double>(edges + 1, 2));
  const auto no_heads = tape.constant(gas::Tensor<double>(edges, 0));
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::spmm_edge(adj, bad_alpha, rows4), "one row per edge");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::spmm_edge(adj, no_heads, rows4), "a head");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::spmm_edge(adj, alpha, rows6), "(6 x 4)", "adj.cols() rows");
  const auto odd = tape.constant(gas::Tensor<double>(4, 5));
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::spmm_edge(adj, alpha, odd), "(4 x 5)", "multiple of the 2 heads");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::aggregate_edges<gas::ops::aggr::Sum>(adj, bad_alpha),
                      "messages (" + std::to_string(edges + 1) + " x 2)", "one row per edge");
}
