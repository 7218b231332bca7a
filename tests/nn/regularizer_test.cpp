// The Lipschitz regularizer policies: the concept, nn::reg::None (records nothing), nn::reg::NoisePerturbation (the GAS
// paper's penalty) and nn::reg::SpectralNorm (torch's spectral_norm), on their own, inside Linear and MLP, and as
// GINConv's penalty; gradient checks in double, values against naive computations and a dense SVD, training.
#include <doctest/doctest.h>

#include "gas/core/eigen.hpp"
#include <Eigen/Dense>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/nn/gin_conv.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/mlp.hpp"
#include "gas/nn/regularizer.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/reduce.hpp"
#include "gas/ops/spmm.hpp"
#include "gas/train/optimizer.hpp"
#include "io/io_test_util.hpp"
#include "nn/nn_test_util.hpp"

#include "alloc_counter.hpp"

using gas_test::allocations;
using gas_test::counting;

namespace {

using Param = gas::autograd::Parameter<double>;
using Var = gas::autograd::Var<double>;
using Tape = gas::autograd::Tape<double>;
using gas::host;

/// A scalar loss that weighs every output element differently, so that no gradient cancels by symmetry.
Var probe(Tape& tape, Var out) {
  return gas::ops::sum_all(gas::ops::mul(out, tape.constant(gas_test::random_tensor(out.rows(), out.cols(), 99))));
}

/// Max over elements of |a - b|.
template <class A, class B>
double max_diff(const A& a, const B& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  double worst = 0;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    for (std::int64_t j = 0; j < a.cols(); ++j)
      worst = std::max(worst, std::abs(static_cast<double>(a(i, j)) - static_cast<double>(b(i, j))));
  return worst;
}

/// The singular values of a (rows, cols) matrix, largest first, by Eigen's dense SVD.
template <class M>
Eigen::VectorXd singular_values(const M& m) {
  Eigen::MatrixXd dense(m.rows(), m.cols());
  for (std::int64_t i = 0; i < m.rows(); ++i)
    for (std::int64_t j = 0; j < m.cols(); ++j) dense(i, j) = static_cast<double>(m(i, j));
  return Eigen::JacobiSVD<Eigen::MatrixXd>(dense).singularValues();
}

// Policies that are not regularizers: no flags, run-time flags, flags without hooks.
struct NoFlags {
  template <class T, class B>
  gas::autograd::Var<T, B> transform_weight(gas::autograd::Tape<T, B>&, gas::autograd::Var<T, B> w, bool) {
    return w;
  }
};
struct RuntimeFlags : gas::nn::reg::None {
  static bool penalizes;
  static bool reparametrizes;
};
struct FlagsOnly {
  static constexpr bool penalizes = false;
  static constexpr bool reparametrizes = false;
};

}  // namespace

static_assert(gas::nn::reg::Regularizer<gas::nn::reg::None, double, host>);
static_assert(gas::nn::reg::Regularizer<gas::nn::reg::NoisePerturbation, double, host>);
static_assert(gas::nn::reg::Regularizer<gas::nn::reg::SpectralNorm, double, host>);
static_assert(gas::nn::reg::Regularizer<gas::nn::reg::SpectralNorm, float, host>);
static_assert(!gas::nn::reg::Regularizer<int, double, host>);
static_assert(!gas::nn::reg::Regularizer<NoFlags, double, host>);
static_assert(!gas::nn::reg::Regularizer<RuntimeFlags, double, host>);
static_assert(!gas::nn::reg::Regularizer<FlagsOnly, double, host>);
// The default policy costs a layer nothing beyond its registry; MLP with SpectralNorm is still a network GINConv
// takes.
static_assert(sizeof(gas::nn::Linear<float>) ==
              sizeof(gas::nn::Module<float>) + 2 * sizeof(gas::autograd::Parameter<float>));
static_assert(gas::nn::Network<gas::nn::MLP<double, host, gas::nn::reg::SpectralNorm>, double, host>);

TEST_CASE("nn::reg::None records nothing in either hook") {
  Tape tape;
  const auto w = tape.constant(gas_test::random_tensor(3, 2, 1));
  const int size = tape.size();
  gas::nn::reg::None none;
  CHECK(none.transform_weight(tape, w, true).id() == w.id());
  CHECK_FALSE(none.penalty(tape, [](Var x) { return x; }, w, 1, true).has_value());
  CHECK(tape.size() == size);
}

TEST_CASE("gaussian_noise is a seeded standard normal") {
  CHECK(gas::nn::reg::gaussian_noise(3, 17) == gas::nn::reg::gaussian_noise(3, 17));
  CHECK(gas::nn::reg::gaussian_noise(3, 17) != gas::nn::reg::gaussian_noise(4, 17));
  const int n = 200000;
  double sum = 0, squares = 0, within_one = 0;
  for (int i = 0; i < n; ++i) {
    const double z = gas::nn::reg::gaussian_noise(5, static_cast<std::uint64_t>(i));
    sum += z;
    squares += z * z;
    within_one += std::abs(z) < 1.0;
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(squares / n == doctest::Approx(1.0).epsilon(0.02));
  CHECK(within_one / n == doctest::Approx(0.6827).epsilon(0.01));
}

TEST_CASE("NoisePerturbation equals the naive mean of row distances between f(x) and f(x + sigma noise)") {
  gas::Rng rng(1);
  gas::nn::MLP<double> mlp({.channels = {4, 6, 3}}, rng);
  const auto x = gas_test::random_tensor(10, 4, 2);
  const gas::nn::reg::NoisePerturbation policy{.sigma = 0.3, .weight = 2.5};
  Tape tape;
  auto f = [&](Var h) { return mlp.forward(tape, h, true, 7); };
  const auto penalty = policy.penalty(tape, f, tape.constant(x), 11, true);
  REQUIRE(penalty.has_value());
  REQUIRE(penalty->rows() == 1);
  REQUIRE(penalty->cols() == 1);

  // Naive: perturb by hand with the documented draws, run the MLP on both, average the row distances.
  gas::Tensor<double> noisy = x;
  for (std::int64_t i = 0; i < 10; ++i)
    for (std::int64_t j = 0; j < 4; ++j)
      noisy(i, j) += 0.3 * gas::nn::reg::gaussian_noise(11, static_cast<std::uint64_t>(i * 4 + j));
  Tape naive;
  const gas::Tensor<double> a(mlp.forward(naive, naive.constant(x)).value());
  const gas::Tensor<double> b(mlp.forward(naive, naive.constant(noisy)).value());
  double mean = 0;
  for (std::int64_t i = 0; i < 10; ++i) {
    double squares = 0;
    for (std::int64_t j = 0; j < 3; ++j) squares += (a(i, j) - b(i, j)) * (a(i, j) - b(i, j));
    mean += std::sqrt(squares) / 10;
  }
  CHECK(mean > 0);
  CHECK(penalty->value()(0, 0) == doctest::Approx(2.5 * mean).epsilon(1e-12));

  SUBCASE("the same seed gives the same value, another seed another") {
    const double again = policy.penalty(tape, f, tape.constant(x), 11, true)->value()(0, 0);
    const double other = policy.penalty(tape, f, tape.constant(x), 12, true)->value()(0, 0);
    CHECK(again == penalty->value()(0, 0));
    CHECK(other != penalty->value()(0, 0));
  }
  SUBCASE("a recorded f(x) is used as it is, with the same value") {
    const auto in = tape.constant(x);
    const int before = tape.size();
    const auto fx = f(in);
    const int f_nodes = tape.size() - before;
    const auto reused = policy.penalty(tape, f, in, 11, true, fx);
    CHECK(reused->value()(0, 0) == doctest::Approx(penalty->value()(0, 0)).epsilon(1e-15));
    // noise, x + noise, f once, then sub, norm, mean, scale: f(x) is not run again
    CHECK(tape.size() - before - f_nodes == 2 + f_nodes + 4);
  }
  SUBCASE("zero noise gives zero penalty") {
    const auto zero = gas::nn::reg::NoisePerturbation{.sigma = 0.0}.penalty(tape, f, tape.constant(x), 11, true);
    CHECK(zero->value()(0, 0) == 0.0);
  }
  SUBCASE("evaluation gives no penalty and records nothing") {
    const auto in = tape.constant(x);
    const int size = tape.size();
    CHECK_FALSE(policy.penalty(tape, f, in, 11, false).has_value());
    CHECK(tape.size() == size);
  }
  SUBCASE("bad settings raise value_error") {
    CHECK_THROWS_NAMING(gas::value_error,
                        gas::nn::reg::NoisePerturbation{.sigma = -1.0}.penalty(tape, f, tape.constant(x), 1, true),
                        "sigma -1");
    CHECK_THROWS_NAMING(gas::value_error,
                        gas::nn::reg::NoisePerturbation{.weight = NAN}.penalty(tape, f, tape.constant(x), 1, true),
                        "weight nan");
  }
}

TEST_CASE("NoisePerturbation passes the gradient check through an MLP with batch norm and dropout") {
  gas::Rng rng(3);
  gas::nn::MLP<double> mlp({.channels = {3, 5, 2}, .batch_norm = true, .dropout = 0.2, .plain_last = false}, rng);
  auto x = Param("x", gas_test::random_tensor(8, 3, 4));
  auto params = mlp.parameters();
  params.push_back(&x);
  const gas::nn::reg::NoisePerturbation policy{.sigma = 0.5, .weight = 1.5};
  Tape tape;
  const auto result = gas::autograd::check_gradients(
      tape,
      [&](Tape& t) {
        auto f = [&](Var h) { return mlp.forward(t, h, true, 21); };
        return *policy.penalty(t, f, t.param(x), 22, true);
      },
      params);
  CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
}

TEST_CASE_TEMPLATE("NoisePerturbation in float agrees with double", T, float, double) {
  gas::Rng rng(5);
  gas::nn::MLP<T> mlp({.channels = {4, 8, 3}}, rng);
  gas::Rng rng_double(5);
  gas::nn::MLP<double> reference({.channels = {4, 8, 3}}, rng_double);
  const auto x = gas_test::random_tensor<T>(20, 4, 6);
  gas::autograd::Tape<T> tape;
  const auto value = gas::nn::reg::NoisePerturbation{}.penalty(
      tape, [&](gas::autograd::Var<T> h) { return mlp.forward(tape, h); }, tape.constant(x), 3, true);
  Tape dtape;
  gas::Tensor<double> xd(20, 4);
  for (std::int64_t i = 0; i < 20; ++i)
    for (std::int64_t j = 0; j < 4; ++j) xd(i, j) = static_cast<double>(x(i, j));
  const auto expected = gas::nn::reg::NoisePerturbation{}.penalty(
      dtape, [&](Var h) { return reference.forward(dtape, h); }, dtape.constant(xd), 3, true);
  CHECK(value->value()(0, 0) == doctest::Approx(expected->value()(0, 0)).epsilon(1e-5));
}

TEST_CASE("SpectralNorm follows torch's spectral_norm on a case computed by hand") {
  // W = [[2, 0], [1, 1]], u = (1, 0): one power iteration gives v = normalize(W^T u) = (1, 0),
  // u = normalize(W v) = (2, 1) / sqrt(5), sigma = u . W v = sqrt(5).
  Tape tape;
  Param w("w", gas::Tensor<double>(2, 2, std::vector<double>{2, 0, 1, 1}));
  gas::nn::reg::SpectralNorm sn{.u = {1, 0}, .v = {0, 1}};
  const double r5 = std::sqrt(5.0);
  const auto w_sn = sn.transform_weight(tape, tape.param(w), true);
  CHECK(sn.v[0] == doctest::Approx(1.0));
  CHECK(sn.v[1] == doctest::Approx(0.0));
  CHECK(sn.u[0] == doctest::Approx(2 / r5));
  CHECK(sn.u[1] == doctest::Approx(1 / r5));
  CHECK(sn.sigma(w.value) == doctest::Approx(r5));
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 2; ++j) CHECK(w_sn.value()(i, j) == doctest::Approx(w.value(i, j) / r5));

  // The gradient treats u and v as constants, as torch does: d<G, W / sigma>/dW = G / sigma - <G, W> / sigma^2 u v^T.
  const auto g = gas_test::random_tensor(2, 2, 7);
  w.zero_grad();
  tape.backward(gas::ops::sum_all(gas::ops::mul(w_sn, tape.constant(g))));
  double gw = 0;
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 2; ++j) gw += g(i, j) * w.value(i, j);
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 2; ++j)
      CHECK(w.grad(i, j) == doctest::Approx(g(i, j) / r5 - gw / 5 * sn.u[static_cast<std::size_t>(i)] *
                                                                 sn.v[static_cast<std::size_t>(j)]));

  // Evaluation: no update; sigma = u^T W' v with the stored vectors, for a changed W' = [[2, 0], [1, 3]].
  w.value(1, 1) = 3;
  tape.reset();
  const auto eval = sn.transform_weight(tape, tape.param(w), false);
  CHECK(sn.u[0] == doctest::Approx(2 / r5));
  CHECK(sn.v[0] == doctest::Approx(1.0));
  const double sigma = (2 * 2 + 1 * 1) / r5;  // u . (W' v) with v = (1, 0): W' v = (2, 1)
  CHECK(eval.value()(1, 1) == doctest::Approx(3 / sigma));
  // Two iterations in training move u and v on: v = normalize(W'^T u) = normalize((5, 3) / sqrt 5).
  tape.reset();
  gas::nn::reg::SpectralNorm two = sn;
  two.power_iterations = 2;
  (void)two.transform_weight(tape, tape.param(w), true);
  gas::nn::reg::SpectralNorm one_then_one = sn;
  (void)one_then_one.transform_weight(tape, tape.param(w), true);
  (void)one_then_one.transform_weight(tape, tape.param(w), true);
  CHECK(two.u == one_then_one.u);
  CHECK(two.v == one_then_one.v);
}

TEST_CASE_TEMPLATE("SpectralNorm in a Linear converges: the largest singular value of W / sigma is 1", T, float,
                   double) {
  gas::Rng rng(8);
  gas::nn::Linear<T, host, gas::nn::reg::SpectralNorm> lin(5, 7, rng, {}, {.seed = 3});
  lin.weight.value = gas_test::random_tensor<T>(7, 5, 9);
  const auto svd = singular_values(lin.weight.value);
  gas::autograd::Tape<T> tape;
  const auto x = tape.constant(gas_test::random_tensor<T>(4, 5, 10));
  for (int step = 0; step < 50; ++step) (void)lin.forward(tape, x, true);
  REQUIRE(lin.regularizer.u.size() == 7);
  REQUIRE(lin.regularizer.v.size() == 5);
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-10;
  CHECK(lin.regularizer.sigma(lin.weight.value) == doctest::Approx(svd(0)).epsilon(tolerance));
  tape.reset();
  const auto w_sn = lin.regularizer.transform_weight(tape, tape.param(lin.weight), false);
  const auto normalized = singular_values(w_sn.value());
  CHECK(normalized(0) == doctest::Approx(1.0).epsilon(tolerance));
  CHECK(normalized(1) == doctest::Approx(svd(1) / svd(0)).epsilon(tolerance));
}

TEST_CASE("a Linear with SpectralNorm is 1-Lipschitz once converged, and updates its estimate only in training") {
  gas::Rng rng(11);
  gas::nn::Linear<double, host, gas::nn::reg::SpectralNorm> lin(6, 4, rng);
  lin.weight.value = gas_test::random_tensor(4, 6, 12);
  Tape tape;
  const auto x = gas_test::random_tensor(30, 6, 13);
  const auto y = gas_test::random_tensor(30, 6, 14);
  (void)lin.forward(tape, tape.constant(x), false);  // the first forward draws u, v and warms them up
  const auto u = lin.regularizer.u;
  (void)lin.forward(tape, tape.constant(x), false);
  CHECK(lin.regularizer.u == u);
  for (int step = 0; step < 20; ++step) (void)lin.forward(tape, tape.constant(x), true);
  tape.reset();
  const gas::Tensor<double> fx(lin.forward(tape, tape.constant(x)).value());
  const gas::Tensor<double> fy(lin.forward(tape, tape.constant(y)).value());
  for (std::int64_t i = 0; i < 30; ++i) {
    double out = 0, in = 0;
    for (std::int64_t j = 0; j < 4; ++j) out += (fx(i, j) - fy(i, j)) * (fx(i, j) - fy(i, j));
    for (std::int64_t j = 0; j < 6; ++j) in += (x(i, j) - y(i, j)) * (x(i, j) - y(i, j));
    CHECK(std::sqrt(out) <= std::sqrt(in) * (1 + 1e-9));
  }
}

TEST_CASE("SpectralNorm passes the gradient check in a Linear and an MLP, u and v fixed after a warm-up") {
  gas::Rng rng(15);
  auto x = Param("x", gas_test::random_tensor(5, 4, 16));
  Tape tape;
  SUBCASE("Linear") {
    gas::nn::Linear<double, host, gas::nn::reg::SpectralNorm> lin(4, 3, rng, {});
    (void)lin.forward(tape, tape.param(x), true);
    auto params = lin.parameters();
    params.push_back(&x);
    const auto result = gas::autograd::check_gradients(
        tape, [&](Tape& t) { return probe(t, lin.forward(t, t.param(x), false)); }, params);
    CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
  }
  SUBCASE("MLP, each Linear with its own estimate") {
    gas::nn::MLP<double, host, gas::nn::reg::SpectralNorm> mlp({.channels = {4, 6, 2}}, rng, {.power_iterations = 3});
    (void)mlp.forward(tape, tape.param(x), true);
    CHECK(mlp.lins[0].regularizer.u.size() == 6);
    CHECK(mlp.lins[1].regularizer.u.size() == 2);
    CHECK(mlp.lins[1].regularizer.power_iterations == 3);
    auto params = mlp.parameters();
    params.push_back(&x);
    const auto result = gas::autograd::check_gradients(
        tape, [&](Tape& t) { return probe(t, mlp.forward(t, t.param(x), false)); }, params);
    CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
  }
}

TEST_CASE("SpectralNorm rejects bad settings, vectors of another shape and an all-zero weight") {
  gas::Rng rng(17);
  Tape tape;
  const auto x = tape.constant(gas::Tensor<double>(2, 3, 1.0));
  gas::nn::Linear<double, host, gas::nn::reg::SpectralNorm> lin(3, 2, rng, {}, {.power_iterations = -1});
  CHECK_THROWS_NAMING(gas::value_error, lin.forward(tape, x, true), "power_iterations -1");
  lin.regularizer = {.u = {1, 0, 0}, .v = {1, 0, 0}};
  CHECK_THROWS_NAMING(gas::shape_error, lin.forward(tape, x, true), "u (3)", "(2 x 3)");
  gas::nn::Linear<double, host, gas::nn::reg::SpectralNorm> zero(3, 2, rng, {.weight_init = gas::nn::WeightInit::zeros});
  CHECK_THROWS_NAMING(gas::value_error, zero.forward(tape, x, true), "division by zero");
}

TEST_CASE("GINConv's regularization is the policy's penalty of its MLP at the aggregated input") {
  const auto adj = gas_test::random_graph(6, 9, 19, false);
  gas::Rng rng(20);
  using Penalized = gas::nn::GINConv<double, host, gas::nn::MLP<double>, gas::nn::reg::NoisePerturbation>;
  Penalized conv({.eps = 0.25, .train_eps = false}, {.sigma = 0.2},
                 gas::nn::MLPOptions{.channels = {3, 5, 2}, .dropout = 0.3}, rng);
  const auto x = gas_test::random_tensor(9, 3, 21);
  Tape tape;
  CHECK_THROWS_NAMING(gas::value_error, conv.regularization(tape, true, 1), "GINConv::regularization");
  (void)conv.forward(tape, tape.constant(x), adj, true, 22);
  const auto reg = conv.regularization(tape, true, 23);
  REQUIRE(reg.has_value());

  // h = A x + (1 + eps) x[:6]; the penalty of nn (with the forward's dropout seed) at h.
  const auto in = tape.constant(x);
  const auto h = gas::ops::add(gas::ops::spmm<gas::ops::aggr::Sum>(adj, in),
                               gas::ops::scale(gas::ops::slice_rows(in, 0, 6), 1.25));
  const auto expected = conv.regularizer.penalty(
      tape, [&](Var v) { return conv.nn.forward(tape, v, true, 22); }, h, 23, true);
  CHECK(reg->value()(0, 0) == doctest::Approx(expected->value()(0, 0)).epsilon(1e-14));
  CHECK_FALSE(conv.regularization(tape, false, 23).has_value());

  Tape other;
  CHECK_THROWS_NAMING(gas::value_error, conv.regularization(other, true, 1), "same tape");
  gas::nn::GINConv<double> plain({}, gas::nn::MLPOptions{.channels = {3, 2}}, rng);
  CHECK_FALSE(plain.regularization(tape, true, 1).has_value());
}

TEST_CASE("GINConv's output plus its penalty passes the gradient check") {
  const auto adj = gas_test::random_graph(6, 9, 24, false);
  gas::Rng rng(25);
  gas::nn::GINConv<double, host, gas::nn::MLP<double>, gas::nn::reg::NoisePerturbation> conv(
      {.eps = 0.1, .train_eps = true}, {.sigma = 0.3},
      gas::nn::MLPOptions{.channels = {3, 5, 2}, .batch_norm = true, .plain_last = false}, rng);
  auto x = Param("x", gas_test::random_tensor(9, 3, 26));
  auto params = conv.parameters();
  params.push_back(&x);
  Tape tape;
  const auto result = gas::autograd::check_gradients(
      tape,
      [&](Tape& t) {
        auto out = conv.forward(t, t.param(x), adj, true, 27);
        return gas::ops::add(probe(t, out), *conv.regularization(t, true, 28));
      },
      params);
  CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
}

namespace {

/// Trains a three-layer GIN (two hidden layers, the reference's protocol: the penalty of every hidden layer
/// but the first, over the number of hidden layers) to regress fixed targets; returns the first and last
/// losses without the penalty, and the last penalty of the second layer (0 without one).
template <class Conv, class Make>
std::array<double, 3> train_gin(Make make) {
  constexpr gas::node_id n = 40;
  const auto adj = gas_test::random_graph(n, n, 30, false);
  gas::Rng rng(31);
  std::array<Conv, 3> convs{make(4, 8, rng), make(8, 8, rng), make(8, 2, rng)};
  std::vector<Param*> params;
  for (auto& c : convs)
    for (auto* p : c.parameters()) params.push_back(p);
  gas::train::Adam<double> adam(params, {.lr = 0.01});
  const auto x = gas_test::random_tensor(n, 4, 32);
  const auto y = gas_test::random_tensor(n, 2, 33);
  Tape tape;
  std::array<double, 3> result{};
  for (std::uint64_t step = 0; step < 150; ++step) {
    tape.reset();
    auto h = tape.constant(x);
    for (std::size_t l = 0; l < 3; ++l) h = convs[l].forward(tape, h, adj, true, gas::counter_hash(1, step, l));
    const auto diff = gas::ops::sub(h, tape.constant(y));
    auto loss = gas::ops::mean_all(gas::ops::mul(diff, diff));
    const double fit = loss.value()(0, 0);
    double penalty = 0;
    for (std::size_t l = 1; l < 2; ++l)  // hidden layers but the first; 2 hidden layers share the penalty
      if (auto r = convs[l].regularization(tape, true, gas::counter_hash(2, step, l))) {
        loss = gas::ops::add_scaled(loss, 1.0, *r, 0.5);
        penalty = r->value()(0, 0);
      }
    if (step == 0) result[0] = fit;
    result[1] = fit;
    result[2] = penalty;
    adam.zero_grad();
    tape.backward(loss);
    adam.step();
  }
  return result;
}

}  // namespace

TEST_CASE("a GIN trains under each policy: the loss falls") {
  using gas::nn::MLP;
  using gas::nn::MLPOptions;
  const auto options = [](std::int64_t in, std::int64_t out) {
    return MLPOptions{.channels = {in, 16, out}, .batch_norm = true, .plain_last = false};
  };
  SUBCASE("nn::reg::None") {
    using Conv = gas::nn::GINConv<double>;
    const auto r = train_gin<Conv>([&](std::int64_t in, std::int64_t out, gas::Rng& rng) {
      return Conv({.train_eps = true}, options(in, out), rng);
    });
    CHECK(r[1] < 0.5 * r[0]);
    CHECK(r[2] == 0.0);
  }
  SUBCASE("nn::reg::NoisePerturbation") {
    using Conv = gas::nn::GINConv<double, host, MLP<double>, gas::nn::reg::NoisePerturbation>;
    const auto r = train_gin<Conv>([&](std::int64_t in, std::int64_t out, gas::Rng& rng) {
      return Conv({.train_eps = true}, {}, options(in, out), rng);
    });
    CHECK(r[1] < 0.5 * r[0]);
    CHECK(r[2] > 0.0);
  }
  SUBCASE("nn::reg::SpectralNorm on the MLP") {
    using Net = MLP<double, host, gas::nn::reg::SpectralNorm>;
    using Conv = gas::nn::GINConv<double, host, Net>;
    const auto r = train_gin<Conv>([&](std::int64_t in, std::int64_t out, gas::Rng& rng) {
      return Conv({.train_eps = true}, options(in, out), rng);
    });
    CHECK(r[1] < 0.5 * r[0]);
  }
}

TEST_CASE("a warm step with SpectralNorm and NoisePerturbation allocates nothing" *
          doctest::skip(!gas_test::counts_allocations)) {
  const auto adj = gas_test::random_graph(30, 30, 34, false);
  gas::Rng rng(35);
  using Net = gas::nn::MLP<double, host, gas::nn::reg::SpectralNorm>;
  gas::nn::GINConv<double, host, Net, gas::nn::reg::NoisePerturbation> conv(
      {.train_eps = true}, gas::nn::MLPOptions{.channels = {4, 8, 2}, .batch_norm = true, .plain_last = false}, rng);
  const auto x = gas_test::random_tensor(30, 4, 36);
  gas::train::Adam<double> adam(conv.parameters(), {.lr = 0.01});
  Tape tape;
  auto step = [&](std::uint64_t seed) {
    tape.reset();
    auto out = conv.forward(tape, tape.constant(x), adj, true, seed);
    auto loss = gas::ops::add(gas::ops::mean_all(out), *conv.regularization(tape, true, seed + 1));
    adam.zero_grad();
    tape.backward(loss);
    adam.step();
  };
  step(1);
  step(2);
  allocations = 0;
  counting = true;
  step(3);
  counting = false;
  CHECK(allocations.load() == 0);
}
