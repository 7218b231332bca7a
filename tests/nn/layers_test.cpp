// Layer construction: initialization bounds and statistics as PyTorch / PyG, seeded reproducibility, parameter
// names as PyG's state_dict keys; small-layer behavior (Linear, BatchNorm, Dropout, MLP, APPNP) against direct
// computations; typed errors for bad shapes and options.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/transforms.hpp"
#include "gas/nn/appnp.hpp"
#include "gas/nn/batch_norm.hpp"
#include "gas/nn/dropout.hpp"
#include "gas/nn/gat_conv.hpp"
#include "gas/nn/gcn2_conv.hpp"
#include "gas/nn/gcn_conv.hpp"
#include "gas/nn/product_order.hpp"
#include "gas/nn/gin_conv.hpp"
#include "gas/nn/init.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/mlp.hpp"
#include "gas/nn/pna_conv.hpp"
#include "gas/nn/sage_conv.hpp"
#include "io/io_test_util.hpp"
#include "nn/nn_test_util.hpp"

namespace {

template <class T>
std::vector<std::string> names(const std::vector<gas::autograd::Parameter<T>*>& params) {
  std::vector<std::string> out;
  for (auto* p : params) out.push_back(p->name);
  return out;
}

/// Max |v| and the sample variance of a tensor's elements.
template <class T>
std::pair<double, double> spread(const gas::Tensor<T>& t) {
  double max_abs = 0, sum = 0, sq = 0;
  for (auto v : t.values()) {
    max_abs = std::max(max_abs, std::abs(static_cast<double>(v)));
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(t.size());
  return {max_abs, sq / n - (sum / n) * (sum / n)};
}

bool all_zero(const gas::Tensor<double>& t) {
  for (auto v : t.values())
    if (v != 0.0) return false;
  return true;
}

}  // namespace

TEST_CASE("initializers respect their bounds and have the variance of U(-b, b)") {
  gas::Rng rng(1);
  SUBCASE("Linear: kaiming_uniform(a = sqrt(5)) weight and uniform bias, bound 1 / sqrt(fan_in)") {
    gas::nn::Linear<double> lin(200, 300, rng);
    const double b = 1 / std::sqrt(200.0);
    const auto [w_max, w_var] = spread(lin.weight.value);
    CHECK(w_max <= b);
    CHECK(w_max > 0.99 * b);
    CHECK(w_var == doctest::Approx(b * b / 3).epsilon(0.03));
    const auto [b_max, b_var] = spread(lin.bias.value);
    CHECK(b_max <= b);
    CHECK(b_var == doctest::Approx(b * b / 3).epsilon(0.3));
  }
  SUBCASE("GCNConv and GATConv: glorot weights, zero biases") {
    gas::nn::GCNConv<double> gcn(100, 60, rng);
    const double b = std::sqrt(6.0 / 160);
    const auto [w_max, w_var] = spread(gcn.lin.weight.value);
    CHECK(w_max <= b);
    CHECK(w_var == doctest::Approx(b * b / 3).epsilon(0.05));
    CHECK(all_zero(gcn.bias.value));
    gas::nn::GATConv<double> gat({.in = 50, .out = 40, .heads = 8}, rng);
    CHECK(spread(gat.lin_src.weight.value).first <= std::sqrt(6.0 / (50 + 320)));
    CHECK(spread(gat.att_src.value).first <= std::sqrt(6.0 / (8 + 40)));  // PyG's glorot over (heads, out)
    CHECK(spread(gat.att_dst.value).first <= std::sqrt(6.0 / (8 + 40)));
    CHECK(spread(gat.att_dst.value).first > 0);
    CHECK(all_zero(gat.bias.value));
  }
  SUBCASE("GCN2Conv: glorot weights; beta = log(theta / layer + 1)") {
    gas::nn::GCN2Conv<double> conv({.channels = 64, .theta = 0.5, .layer = 4, .shared_weights = false}, rng);
    CHECK(spread(conv.weight1.value).first <= std::sqrt(6.0 / 128));
    CHECK(spread(conv.weight2.value).first <= std::sqrt(6.0 / 128));
    CHECK(conv.beta == doctest::Approx(std::log(0.5 / 4 + 1)));
  }
  SUBCASE("BatchNorm: weight one, bias zero, running mean 0 and variance 1") {
    gas::nn::BatchNorm<double> bn(5);
    for (std::int64_t j = 0; j < 5; ++j) {
      CHECK(bn.weight.value(0, j) == 1.0);
      CHECK(bn.bias.value(0, j) == 0.0);
      CHECK(bn.state.running_mean(0, j) == 0.0);
      CHECK(bn.state.running_var(0, j) == 1.0);
    }
  }
}

TEST_CASE("the same seed builds the same layers, another seed different ones") {
  auto build = [](std::uint64_t seed) {
    gas::Rng rng(seed);
    gas::nn::GATConv<float> gat({.in = 6, .out = 3, .heads = 2}, rng);
    gas::nn::PNAConv<float> pna({.in = 4, .out = 3, .degrees = {.avg_log = 1, .avg_lin = 2}}, rng);
    std::vector<gas::Tensor<float>> values;
    for (auto* p : gat.parameters()) values.push_back(p->value);
    for (auto* p : pna.parameters()) values.push_back(p->value);
    return values;
  };
  CHECK(build(7) == build(7));
  CHECK(build(7) != build(8));
}

TEST_CASE("parameters are named as PyG's state_dict keys") {
  gas::Rng rng(2);
  using V = std::vector<std::string>;
  CHECK(names(gas::nn::Linear<double>(3, 2, rng).parameters()) == V{"weight", "bias"});
  CHECK(names(gas::nn::GCNConv<double>(3, 2, rng).parameters()) == V{"lin.weight", "bias"});
  CHECK(names(gas::nn::GCNConv<double>(3, 2, rng, false).parameters()) == V{"lin.weight"});
  CHECK(names(gas::nn::GATConv<double>({.in = 3, .out = 2}, rng).parameters()) ==
        V{"lin_src.weight", "att_src", "att_dst", "bias"});
  CHECK(names(gas::nn::GCN2Conv<double>({.channels = 3, .shared_weights = false}, rng).parameters()) ==
        V{"weight1", "weight2"});
  CHECK(names(gas::nn::SAGEConv<double>(3, 2, rng).parameters()) == V{"lin_l.weight", "lin_l.bias", "lin_r.weight"});
  CHECK(names(gas::nn::PNAConv<double>({.in = 3, .out = 2, .degrees = {1, 1}}, rng).parameters()) ==
        V{"pre_nns.0.0.weight", "pre_nns.0.0.bias", "post_nns.0.0.weight", "post_nns.0.0.bias", "lin.weight",
          "lin.bias"});
  gas::nn::GINConv<double> gin({.train_eps = true}, gas::nn::MLPOptions{.channels = {3, 4, 2}, .batch_norm = true},
                               rng);
  // PyTorch's order: PyG's MLP registers its lins before its norms.
  CHECK(names(gin.parameters()) == V{"nn.lins.0.weight", "nn.lins.0.bias", "nn.lins.1.weight", "nn.lins.1.bias",
                                     "nn.norms.0.weight", "nn.norms.0.bias", "eps"});
  CHECK(gas::nn::APPNP<double>(2, 0.1).parameters().empty());
  CHECK(gas::nn::Dropout<double>(0.5).parameters().empty());
}

TEST_CASE_TEMPLATE("Linear computes x W^T + b", T, float, double) {
  gas::Rng rng(3);
  gas::nn::Linear<T> lin(3, 2, rng);
  const auto x = gas_test::random_tensor<T>(4, 3, 4);
  gas::autograd::Tape<T> tape;
  const auto y = lin.forward(tape, tape.constant(x)).value();
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t o = 0; o < 2; ++o) {
      double expected = lin.bias.value(0, o);
      for (std::int64_t k = 0; k < 3; ++k) expected += static_cast<double>(x(i, k)) * lin.weight.value(o, k);
      CHECK(y(i, o) == doctest::Approx(expected).epsilon(1e-5));
    }
}

TEST_CASE("BatchNorm updates its running statistics in training and uses them in evaluation") {
  gas::nn::BatchNorm<double> bn(2, 0.5);
  const auto x = gas_test::random_tensor(6, 2, 5);
  gas::autograd::Tape<double> tape;
  (void)bn.forward(tape, tape.constant(x), true);
  CHECK(bn.state.batches_tracked == 1);
  double mean = 0;
  for (std::int64_t i = 0; i < 6; ++i) mean += x(i, 0) / 6;
  CHECK(bn.state.running_mean(0, 0) == doctest::Approx(0.5 * mean));
  tape.reset();
  const auto y = bn.forward(tape, tape.constant(x), false).value();
  const double expected = (x(0, 0) - bn.state.running_mean(0, 0)) / std::sqrt(bn.state.running_var(0, 0) + 1e-5);
  CHECK(y(0, 0) == doctest::Approx(expected));
  CHECK(bn.state.batches_tracked == 1);
}

TEST_CASE("Dropout is the identity in evaluation and a seeded mask in training") {
  gas::nn::Dropout<double> drop(0.5);
  const gas::Tensor<double> x(100, 50, 1.0);
  gas::autograd::Tape<double> tape;
  const auto in = tape.constant(x);
  CHECK(drop.forward(tape, in, false, 1).id() == in.id());
  const auto a = gas::Tensor<double>(drop.forward(tape, in, true, 1).value());
  const auto b = gas::Tensor<double>(drop.forward(tape, in, true, 1).value());
  const auto c = gas::Tensor<double>(drop.forward(tape, in, true, 2).value());
  CHECK(a == b);
  CHECK(a != c);
  std::int64_t kept = 0;
  for (auto v : a.values()) {
    CHECK((v == 0.0 || v == 2.0));
    kept += v != 0.0;
  }
  CHECK(kept == doctest::Approx(2500).epsilon(0.06));
}

TEST_CASE("MLP stacks Linear, BatchNorm, ReLU and keeps the last layer plain unless asked") {
  gas::Rng rng(6);
  gas::nn::MLP<double> plain({.channels = {3, 4, 2}}, rng);
  CHECK(plain.lins.size() == 2);
  CHECK(plain.norms.empty());
  const auto x = gas_test::random_tensor(5, 3, 7);
  gas::autograd::Tape<double> tape;
  const gas::Tensor<double> y(plain.forward(tape, tape.constant(x)).value());
  tape.reset();
  auto manual = plain.lins[1].forward(tape, gas::ops::relu(plain.lins[0].forward(tape, tape.constant(x))));
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 2; ++j) CHECK(y(i, j) == manual.value()(i, j));
  gas::nn::MLP<double> gin_style({.channels = {3, 4, 2}, .batch_norm = true, .plain_last = false}, rng);
  CHECK(gin_style.norms.size() == 2);
  tape.reset();
  const gas::Tensor<double> z(gin_style.forward(tape, tape.constant(x), true).value());
  for (auto v : z.values()) CHECK(v >= 0.0);  // ends with ReLU
}

TEST_CASE("APPNP step on a bipartite batch is (1 - alpha) A x + alpha x0[:rows]") {
  const auto adj = gas_test::random_graph(4, 7, 8, true);
  const auto x = gas_test::random_tensor(7, 2, 9);
  const auto x0 = gas_test::random_tensor(7, 2, 10);
  gas::nn::APPNP<double> prop(5, 0.2);
  gas::autograd::Tape<double> tape;
  const auto y = prop.step(tape.constant(x), tape.constant(x0), adj).value();
  for (gas::node_id i = 0; i < 4; ++i)
    for (std::int64_t f = 0; f < 2; ++f) {
      double ax = 0;
      const auto nbrs = adj.neighbors(i);
      const auto w = adj.edge_weights(i);
      for (std::size_t k = 0; k < nbrs.size(); ++k) ax += w[k] * x(nbrs[k], f);
      CHECK(y(i, f) == doctest::Approx(0.8 * ax + 0.2 * x0(i, f)));
    }
}

TEST_CASE("PNA degree statistics average log(deg + 1) and deg over every node, isolated ones included") {
  // Rows are targets: degrees 2, 1, 0.
  const std::vector<gas::node_id> r{0, 0, 1}, c{1, 2, 0};
  const auto g = gas::csr_from_coo<gas::node_id, float>(3, 3, r, c);
  const auto s = gas::nn::degree_statistics(g);
  CHECK(s.avg_log == doctest::Approx((std::log(3.0) + std::log(2.0)) / 3));
  CHECK(s.avg_lin == doctest::Approx(1.0));
}

TEST_CASE("bad shapes and options raise typed errors naming the problem") {
  gas::Rng rng(11);
  gas::autograd::Tape<double> tape;
  const auto adj = gas_test::random_graph(4, 6, 12, false);
  const auto wrong_width = tape.constant(gas::Tensor<double>(6, 5));
  const auto wrong_rows = tape.constant(gas::Tensor<double>(5, 3));
  gas::nn::Linear<double> lin(3, 2, rng);
  CHECK_THROWS_NAMING(gas::shape_error, lin.forward(tape, wrong_width), "Linear", "(6 x 5)");
  gas::nn::GCNConv<double> gcn(3, 2, rng);
  CHECK_THROWS_NAMING(gas::shape_error, gcn.forward(tape, wrong_rows, adj), "GCNConv", "(5 x 3)", "(4 x 6)");
  gas::nn::GATConv<double> gat({.in = 3, .out = 2}, rng);
  CHECK_THROWS_NAMING(gas::shape_error, gat.forward(tape, wrong_width, adj), "GATConv", "(6 x 5)");
  const auto transposed = gas::transpose(adj);  // (6 x 4): more targets than sources
  CHECK_THROWS_NAMING(gas::shape_error, gat.forward(tape, tape.constant(gas::Tensor<double>(4, 3)), transposed),
                      "more rows than columns");
  gas::nn::GCN2Conv<double> gcn2({.channels = 3}, rng);
  CHECK_THROWS_NAMING(
      gas::shape_error,
      gcn2.forward(tape, tape.constant(gas::Tensor<double>(6, 3)), tape.constant(gas::Tensor<double>(3, 3)), adj),
      "GCN2Conv", "x0 (3 x 3)");
  gas::nn::SAGEConv<double> sage(3, 2, rng);
  CHECK_THROWS_NAMING(gas::shape_error, sage.forward(tape, wrong_rows, adj), "SAGEConv", "(5 x 3)");
  gas::nn::PNAConv<double> pna({.in = 3, .out = 2, .degrees = {1, 1}}, rng);
  CHECK_THROWS_NAMING(gas::shape_error, pna.forward(tape, wrong_width, adj), "PNAConv", "(6 x 5)");
  gas::nn::APPNP<double> appnp(2, 0.1);
  CHECK_THROWS_NAMING(gas::shape_error, appnp.forward(tape, tape.constant(gas::Tensor<double>(6, 3)), adj), "square");

  CHECK_THROWS_NAMING(gas::value_error, gas::nn::Linear<double>(0, 2, rng), "positive sizes");
  CHECK_THROWS_NAMING(gas::value_error, gas::nn::GATConv<double>({.in = 3, .out = 2, .dropout = 1.0}, rng), "dropout");
  CHECK_THROWS_NAMING(gas::value_error, gas::nn::GCN2Conv<double>({.channels = 3, .layer = 0}, rng), "layer");
  CHECK_THROWS_NAMING(gas::value_error, gas::nn::PNAConv<double>({.in = 3, .out = 2}, rng), "avg_log");
  CHECK_THROWS_NAMING(gas::value_error, gas::nn::APPNP<double>(2, 1.5), "alpha");
  CHECK_THROWS_NAMING(gas::value_error, gas::nn::Dropout<double>(-0.1), "probability");
  CHECK_THROWS_NAMING(gas::value_error, gas::nn::MLP<double>({.channels = {3}}, rng), "at least");
  CHECK_THROWS_NAMING(gas::value_error, gas::nn::BatchNorm<double>(0), "channels");
}

// A network for GINConv needs forward(tape, x, training, seed) and parameters(); Linear has no training flag.
static_assert(gas::nn::Network<gas::nn::MLP<double>, double, gas::host>);
static_assert(!gas::nn::Network<gas::nn::Linear<double>, double, gas::host>);

TEST_CASE("nn::transform_first weighs an aggregated entry above a dense multiply-add") {
  // A 100k-node SBM of degree 20 in 4 GAS batches: 25k batch rows, 525k entries, 100k input rows per batch.
  // Layer 0 (128 -> 64): aggregate first (the product then runs over the batch rows only).
  CHECK_FALSE(gas::nn::transform_first(25'000, 525'000, 128, 64, 100'000 * 128));
  // Layer 1 (64 -> 8 classes): transform first; counting entries at par chose the 64-wide aggregation here.
  CHECK(gas::nn::transform_first(25'000, 525'000, 64, 8, 100'000 * 64));
  // The whole graph (every row an output): transform first whenever out <= in.
  CHECK(gas::nn::transform_first(100'000, 2'100'000, 128, 64, 100'000 * 128));
  // Widening (16 -> 64) over the whole graph: aggregate the narrow input first.
  CHECK_FALSE(gas::nn::transform_first(100'000, 2'100'000, 16, 64, 100'000 * 16));
}
