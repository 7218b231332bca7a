// nn::MessagePassing: the GraphSAGE and weighted-GIN layers of message_passing_layers.hpp (written as PyG users
// write layers) give the bundled SAGEConv's and GINConv's outputs from the same parameters, pass the
// finite-difference gradient check, and propagate() refuses shapes that do not fit.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "io/io_test_util.hpp"
#include "nn/message_passing_layers.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using Param = gas::autograd::Parameter<double>;
using Tape = gas::autograd::Tape<double>;

constexpr gas::node_id targets = 6, sources = 9;

double max_abs_diff(gas::MatrixView<const double> a, gas::MatrixView<const double> b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  double worst = 0;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    for (std::int64_t j = 0; j < a.cols(); ++j) worst = std::max(worst, std::abs(a(i, j) - b(i, j)));
  return worst;
}

/// Copies the values of `from` into `to`, parameter by parameter (same names in the same order).
void copy_parameters(const std::vector<Param*>& from, const std::vector<Param*>& to) {
  REQUIRE(from.size() == to.size());
  for (std::size_t i = 0; i < from.size(); ++i) {
    CAPTURE(from[i]->name);
    CHECK(from[i]->name == to[i]->name);
    to[i]->value = from[i]->value;
  }
}

/// d (sum of out .* fixed weights) / d (parameters and x) against central differences.
template <class Forward>
void check_gradients(std::vector<Param*> params, Param& x, Forward&& forward) {
  params.push_back(&x);
  Tape tape;
  gas::Tensor<double> probe;
  const auto result = gas::autograd::check_gradients(
      tape,
      [&](Tape& t) {
        auto out = forward(t);
        if (probe.rows() != out.rows()) probe = gas_test::random_tensor(out.rows(), out.cols(), 99);
        return gas::ops::sum_all(gas::ops::mul(out, t.constant(probe)));
      },
      params);
  CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
}

}  // namespace

TEST_CASE("GraphSAGE on MessagePassing equals the bundled SAGEConv and passes the gradient check") {
  const auto adj = gas_test::random_graph(targets, sources, 3, false);
  gas::Rng r1(4), r2(4);
  mp_example::SAGE<double> mine(5, 4, r1);
  gas::nn::SAGEConv<double> bundled(5, 4, r2);
  copy_parameters(bundled.parameters(), mine.parameters());
  static_assert(!mp_example::SAGE<double>::defines_message);  // x_j: the fused spmm
  const auto x = gas_test::random_tensor(sources, 5, 5);
  Tape tape;
  const auto a = mine.forward(tape, tape.constant(x), adj);
  const auto b = bundled.forward(tape, tape.constant(x), adj);
  CHECK(max_abs_diff(a.value(), b.value()) < 1e-12);
  Param xp("x", x);
  check_gradients(mine.parameters(), xp, [&](Tape& t) { return mine.forward(t, t.param(xp), adj); });
}

TEST_CASE("GIN with edge weights on MessagePassing equals GINConv on the weighted graph") {
  const auto adj = gas_test::random_graph(targets, sources, 6, true);
  REQUIRE(adj.has_weights());
  const gas::nn::MLPOptions mlp{.channels = {3, 5, 2}, .batch_norm = true, .plain_last = false};
  gas::Rng r1(7), r2(7);
  mp_example::WeightedGIN<double> mine(mlp, 0.25, r1);
  gas::nn::GINConv<double> bundled({.eps = 0.25}, mlp, r2);  // spmm<Sum> applies the weights
  copy_parameters(bundled.parameters(), mine.parameters());
  const auto x = gas_test::random_tensor(sources, 3, 8);
  Tape tape;
  for (const bool training : {false, true}) {
    CAPTURE(training);
    const auto a = mine.forward(tape, tape.constant(x), adj, training, 9);
    const auto b = bundled.forward(tape, tape.constant(x), adj, training, 9);
    CHECK(max_abs_diff(a.value(), b.value()) < 1e-12);
  }
  // Without weights every message is x_j: the same layer is then plain GIN.
  const auto plain = gas_test::random_graph(targets, sources, 6, false);
  const auto c = mine.forward(tape, tape.constant(x), plain);
  const auto d = bundled.forward(tape, tape.constant(x), plain);
  CHECK(max_abs_diff(c.value(), d.value()) < 1e-12);

  Param xp("x", x);  // (training updates the norm's running statistics: last)
  check_gradients(mine.parameters(), xp, [&](Tape& t) { return mine.forward(t, t.param(xp), adj, true, 9); });
}

TEST_CASE("the default message on a weighted graph ignores the weights, as PyG's x_j does") {
  const auto weighted = gas_test::random_graph(targets, sources, 10, true);
  const auto plain = gas_test::random_graph(targets, sources, 10, false);
  gas::Rng rng(11);
  struct SumOfNeighbors : gas::nn::MessagePassing<SumOfNeighbors, double> {};
  SumOfNeighbors layer;
  const auto x = gas_test::random_tensor(sources, 3, 12);
  Tape tape;
  const auto a = layer.propagate(tape, weighted, tape.constant(x));
  const auto b = gas::ops::spmm<gas::ops::aggr::Sum>(plain, tape.constant(x));
  CHECK(max_abs_diff(a.value(), b.value()) < 1e-12);
}

TEST_CASE("propagate refuses inputs that do not fit the adjacency, and messages that are not per edge") {
  const auto adj = gas_test::random_graph(targets, sources, 13, true);
  struct Bad : gas::nn::MessagePassing<Bad, double> {
    gas::autograd::Var<double> message(gas::nn::Edges<double>& e) { return gas::ops::slice_rows(e.x_j(), 0, 1); }
  };
  struct NeedsAttr : gas::nn::MessagePassing<NeedsAttr, double> {
    gas::autograd::Var<double> message(gas::nn::Edges<double>& e) { return gas::ops::mul_rows(e.x_j(), e.attr()); }
  };
  Bad bad;
  NeedsAttr needs;
  Tape tape;
  const auto x = tape.constant(gas_test::random_tensor(sources, 3, 14));
  const auto short_x = tape.constant(gas_test::random_tensor(sources - 1, 3, 14));
  CHECK_THROWS_NAMING(gas::shape_error, bad.propagate(tape, adj, short_x), "adj.cols() rows");
  CHECK_THROWS_NAMING(gas::shape_error, bad.propagate(tape, adj, x), "message() returned (1 x 3)");
  CHECK_THROWS_NAMING(gas::value_error, needs.propagate(tape, adj, x), "edge attributes");
  const auto wrong_attr = tape.constant(gas_test::random_tensor(2, 1, 15));
  CHECK_THROWS_NAMING(gas::shape_error, needs.propagate(tape, adj, x, wrong_attr), "one row per edge");
  const auto attr = tape.constant(gas_test::random_tensor(adj.num_edges(), 1, 16));
  CHECK(needs.propagate(tape, adj, x, attr).rows() == targets);
}
