// Finite-difference gradient checks of every layer, in double, with respect to all its parameters and its
// inputs, on a bipartite batch graph [6 targets x 9 sources] with self-loops and an isolated target.
#include <doctest/doctest.h>

#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/nn/appnp.hpp"
#include "gas/nn/batch_norm.hpp"
#include "gas/nn/dropout.hpp"
#include "gas/nn/gat_conv.hpp"
#include "gas/nn/gcn2_conv.hpp"
#include "gas/nn/gcn_conv.hpp"
#include "gas/nn/gin_conv.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/mlp.hpp"
#include "gas/nn/pna_conv.hpp"
#include "gas/nn/sage_conv.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/reduce.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using Param = gas::autograd::Parameter<double>;
using Var = gas::autograd::Var<double>;
using Tape = gas::autograd::Tape<double>;

constexpr gas::node_id batch_rows = 6, sources = 9;

/// A scalar loss that weighs every output element differently, so that no gradient can cancel by symmetry.
struct Probe {
  gas::Tensor<double> weights;
  Var operator()(Tape& tape, Var out) {
    if (weights.rows() != out.rows() || weights.cols() != out.cols())
      weights = gas_test::random_tensor(out.rows(), out.cols(), 99);
    return gas::ops::sum_all(gas::ops::mul(out, tape.constant(weights)));
  }
};

/// Checks d loss / d (layer parameters and inputs); `forward(tape)` builds the layer's output.
template <class Forward>
void check_layer(std::vector<Param*> params, const std::vector<Param*>& inputs, Forward&& forward) {
  params.insert(params.end(), inputs.begin(), inputs.end());
  REQUIRE(!params.empty());
  Tape tape;
  Probe probe;
  const auto result = gas::autograd::check_gradients(
      tape, [&](Tape& t) { return probe(t, forward(t)); }, params);
  CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
}

Param input(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  return Param("x", gas_test::random_tensor(rows, cols, seed));
}

}  // namespace

TEST_CASE("Linear passes the gradient check, with and without a bias") {
  for (const bool bias : {true, false}) {
    gas::Rng rng(1);
    gas::nn::Linear<double> lin(4, 3, rng, {.bias = bias});
    auto x = input(5, 4, 2);
    check_layer(lin.parameters(), {&x}, [&](Tape& t) { return lin.forward(t, t.param(x)); });
  }
}

TEST_CASE("GCNConv passes the gradient check on a weighted bipartite batch, either multiplication order") {
  const auto adj = gas_test::random_graph(batch_rows, sources, 3, true);
  for (const auto& [in, out] : {std::pair{4, 3}, std::pair{3, 5}}) {
    gas::Rng rng(4);
    gas::nn::GCNConv<double> conv(in, out, rng);
    conv.bias.value = gas_test::random_tensor(1, out, 5);  // PyG starts at zero; any value must work
    auto x = input(sources, in, 6);
    check_layer(conv.parameters(), {&x}, [&](Tape& t) { return conv.forward(t, t.param(x), adj); });
  }
}

TEST_CASE("GATConv passes the gradient check: heads concatenated or averaged, attention dropout, x_dst") {
  const auto adj = gas_test::random_graph(batch_rows, sources, 7, false);
  for (const bool concat : {true, false})
    for (const std::int64_t heads : {1, 3}) {
      CAPTURE(concat);
      CAPTURE(heads);
      gas::Rng rng(8);
      gas::nn::GATConv<double> conv({.in = 4, .out = 2, .heads = heads, .concat = concat, .dropout = 0.3}, rng);
      conv.bias.value = gas_test::random_tensor(1, conv.out_features(), 9);
      auto x = input(sources, 4, 10);
      check_layer(conv.parameters(), {&x}, [&](Tape& t) { return conv.forward(t, t.param(x), adj, true, 11); });
      auto x_dst = input(batch_rows, 4, 12);
      check_layer(conv.parameters(), {&x, &x_dst},
                  [&](Tape& t) { return conv.forward(t, t.param(x), t.param(x_dst), adj, true, 11); });
    }
}

TEST_CASE("GCN2Conv passes the gradient check with shared and separate weights, x0 sliced to the batch") {
  const auto adj = gas_test::random_graph(batch_rows, sources, 13, true);
  for (const bool shared : {true, false}) {
    gas::Rng rng(14);
    gas::nn::GCN2Conv<double> conv({.channels = 3, .alpha = 0.2, .theta = 0.7, .layer = 3, .shared_weights = shared},
                                   rng);
    auto x = input(sources, 3, 15);
    auto x0 = Param("x0", gas_test::random_tensor(sources, 3, 16));
    check_layer(conv.parameters(), {&x, &x0}, [&](Tape& t) { return conv.forward(t, t.param(x), t.param(x0), adj); });
  }
}

TEST_CASE("GINConv passes the gradient check with a trained eps and an MLP with batch norm in training") {
  const auto adj = gas_test::random_graph(batch_rows, sources, 17, false);
  for (const bool train_eps : {true, false}) {
    gas::Rng rng(18);
    const gas::nn::MLPOptions mlp{.channels = {3, 5, 2}, .batch_norm = true, .plain_last = false};
    gas::nn::GINConv<double> conv({.eps = 0.25, .train_eps = train_eps}, mlp, rng);
    auto x = input(sources, 3, 19);
    check_layer(conv.parameters(), {&x}, [&](Tape& t) { return conv.forward(t, t.param(x), adj, true, 0); });
  }
}

TEST_CASE("PNAConv passes the gradient check with every aggregator and scaler") {
  const auto adj = gas_test::random_graph(batch_rows, sources, 20, false);
  gas::Rng rng(21);
  using All = gas::nn::Aggregators<gas::ops::aggr::Sum, gas::ops::aggr::Mean, gas::ops::aggr::Max, gas::ops::aggr::Min>;
  using S = gas::nn::Scaler;
  gas::nn::PNAConv<double, gas::host, All> conv(
      {.in = 3,
       .out = 2,
       .scalers = {S::identity, S::amplification, S::attenuation, S::linear, S::inverse_linear},
       .degrees = {.avg_log = 1.1, .avg_lin = 2.3}},
      rng);
  auto x = input(sources, 3, 22);
  check_layer(conv.parameters(), {&x}, [&](Tape& t) { return conv.forward(t, t.param(x), adj); });
}

TEST_CASE("SAGEConv passes the gradient check under mean, sum and max aggregation") {
  const auto adj = gas_test::random_graph(batch_rows, sources, 23, true);
  auto x = input(sources, 4, 24);
  SUBCASE("mean, both multiplication orders") {
    for (const auto& [in, out] : {std::pair{4, 2}, std::pair{4, 6}}) {
      gas::Rng rng(25);
      gas::nn::SAGEConv<double> conv(in, out, rng);
      check_layer(conv.parameters(), {&x}, [&](Tape& t) { return conv.forward(t, t.param(x), adj); });
    }
  }
  SUBCASE("sum") {
    gas::Rng rng(26);
    gas::nn::SAGEConv<double, gas::host, gas::ops::aggr::Sum> conv(4, 2, rng);
    check_layer(conv.parameters(), {&x}, [&](Tape& t) { return conv.forward(t, t.param(x), adj); });
  }
  SUBCASE("max") {
    gas::Rng rng(27);
    gas::nn::SAGEConv<double, gas::host, gas::ops::aggr::Max> conv(4, 2, rng);
    check_layer(conv.parameters(), {&x}, [&](Tape& t) { return conv.forward(t, t.param(x), adj); });
  }
}

TEST_CASE("APPNP passes the gradient check, a bipartite step and K steps on a square graph") {
  gas::nn::APPNP<double> prop(3, 0.15);
  const auto batch = gas_test::random_graph(batch_rows, sources, 28, true);
  auto x = input(sources, 3, 29);
  auto x0 = Param("x0", gas_test::random_tensor(batch_rows, 3, 30));
  check_layer({}, {&x, &x0}, [&](Tape& t) { return prop.step(t.param(x), t.param(x0), batch); });
  const auto square = gas_test::random_graph(sources, sources, 31, true);
  check_layer({}, {&x}, [&](Tape& t) { return prop.forward(t, t.param(x), square); });
}

TEST_CASE("BatchNorm, Dropout and MLP pass the gradient check in training and evaluation") {
  gas::Rng rng(32);
  auto x = input(7, 3, 33);
  for (const bool training : {true, false}) {
    gas::nn::BatchNorm<double> bn(3);
    bn.weight.value = gas_test::random_tensor(1, 3, 34);
    bn.bias.value = gas_test::random_tensor(1, 3, 35);
    check_layer(bn.parameters(), {&x}, [&](Tape& t) { return bn.forward(t, t.param(x), training); });
    gas::nn::Dropout<double> drop(0.4);
    check_layer({}, {&x}, [&](Tape& t) { return drop.forward(t, t.param(x), training, 36); });
    gas::nn::MLP<double> mlp({.channels = {3, 4, 4, 2}, .batch_norm = true, .dropout = 0.2}, rng);
    check_layer(mlp.parameters(), {&x}, [&](Tape& t) { return mlp.forward(t, t.param(x), training, 37); });
  }
}
