#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/loss.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::max_abs_diff;
using gas_test::random_tensor;

std::vector<std::int32_t> random_labels(std::int64_t rows, std::int32_t classes, std::uint64_t seed) {
  gas::Rng rng(seed);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(rows));
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  return labels;
}

gas::Tensor<std::uint8_t> random_targets(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  gas::Rng rng(seed);
  gas::Tensor<std::uint8_t> t(rows, cols);
  for (auto& x : t.values()) x = rng.bernoulli(0.4) ? 1 : 0;
  return t;
}

}  // namespace

TEST_CASE_TEMPLATE("log_softmax rows are log-probabilities, stable for large logits", T, float, double) {
  auto x = random_tensor<T>(7, 5, 1, -3.0, 3.0);
  x(2, 1) = T{1000};  // exp would overflow without the shift
  x(3, 0) = T{-1000};
  gas::autograd::Tape<T> tape;
  auto y = gas::ops::log_softmax(tape.constant(x));
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  for (std::int64_t i = 0; i < 7; ++i) {
    double s = 0, m = -1e300;
    for (std::int64_t j = 0; j < 5; ++j) {
      s += std::exp(static_cast<double>(y.value()(i, j)));
      m = std::max(m, static_cast<double>(x(i, j)));
    }
    CHECK(s == doctest::Approx(1.0).epsilon(tol));
    if (i == 2) continue;  // naive exp(1000) overflows; checked below
    double naive = 0;
    for (std::int64_t j = 0; j < 5; ++j) naive += std::exp(static_cast<double>(x(i, j)));
    for (std::int64_t j = 0; j < 5; ++j)
      CHECK(y.value()(i, j) == doctest::Approx(x(i, j) - std::log(naive)).epsilon(tol));
  }
  CHECK(y.value()(2, 1) == doctest::Approx(0.0).epsilon(tol));
  CHECK(std::isfinite(static_cast<double>(y.value()(2, 0))));
}

TEST_CASE("log_softmax passes the gradient check") {
  gas::autograd::Parameter<double> x("x", random_tensor<double>(6, 4, 2, -2.0, 2.0));
  gas::autograd::Tape<double> tape;
  auto build = [&](gas::autograd::Tape<double>& t) { return gas_test::weighted_sum(gas::ops::log_softmax(t.param(x))); };
  const auto check = gas::autograd::check_gradients(tape, build, {&x});
  CHECK_MESSAGE(check.ok, check.worst);
}

TEST_CASE_TEMPLATE("nll_loss and cross_entropy average -log p of the label over the selected rows", T, float, double) {
  const auto x = random_tensor<T>(10, 4, 3, -2.0, 2.0);
  auto labels = random_labels(10, 4, 4);
  labels[1] = -1;  // unlabeled rows are fine when not selected
  const std::vector<gas::node_id> rows{0, 2, 3, 7, 9};
  gas::autograd::Tape<T> tape;
  auto lp = gas::ops::log_softmax(tape.constant(x));
  auto nll = gas::ops::nll_loss(lp, std::span<const std::int32_t>(labels), std::span<const gas::node_id>(rows));
  auto ce = gas::ops::cross_entropy(tape.constant(x), std::span<const std::int32_t>(labels),
                                    std::span<const gas::node_id>(rows));
  double expected = 0;
  for (const auto r : rows) expected -= static_cast<double>(lp.value()(r, labels[static_cast<std::size_t>(r)]));
  expected /= static_cast<double>(rows.size());
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  CHECK(nll.value()(0, 0) == doctest::Approx(expected).epsilon(tol));
  CHECK(ce.value()(0, 0) == doctest::Approx(expected).epsilon(tol));
}

TEST_CASE("cross_entropy gives the same gradient as nll_loss(log_softmax), and both pass the gradient check") {
  gas::autograd::Parameter<double> a("a", random_tensor<double>(8, 5, 5, -2.0, 2.0));
  gas::autograd::Parameter<double> b("b", a.value);
  const auto labels = random_labels(8, 5, 6);
  for (const std::vector<gas::node_id>& rows : {std::vector<gas::node_id>{1, 2, 4, 7},  // increasing
                                               std::vector<gas::node_id>{5, 0, 5, 3}}) {  // repeated, unordered
    const std::span<const std::int32_t> ls(labels);
    const std::span<const gas::node_id> rs(rows);
    gas::autograd::Tape<double> tape;
    auto fused = [&](gas::autograd::Tape<double>& t) { return gas::ops::cross_entropy(t.param(a), ls, rs); };
    auto composed = [&](gas::autograd::Tape<double>& t) { return gas::ops::nll_loss(gas::ops::log_softmax(t.param(b)), ls, rs); };
    const auto check_fused = gas::autograd::check_gradients(tape, fused, {&a});
    CHECK_MESSAGE(check_fused.ok, check_fused.worst);
    const auto check_composed = gas::autograd::check_gradients(tape, composed, {&b});
    CHECK_MESSAGE(check_composed.ok, check_composed.worst);
    a.zero_grad();
    b.zero_grad();
    tape.reset();
    tape.backward(fused(tape));
    tape.reset();
    tape.backward(composed(tape));
    CHECK(max_abs_diff(a.grad, b.grad) < 1e-14);
  }
}

TEST_CASE("cross_entropy over many sorted rows (parallel backward) matches the composed loss") {
  const std::int64_t n = 6000, c = 7;
  gas::autograd::Parameter<double> a("a", random_tensor<double>(n, c, 7, -4.0, 4.0));
  gas::autograd::Parameter<double> b("b", a.value);
  const auto labels = random_labels(n, static_cast<std::int32_t>(c), 8);
  std::vector<gas::node_id> rows;
  for (gas::node_id i = 0; i < n; i += 3) rows.push_back(i);
  gas::autograd::Tape<double> tape;
  auto ce = gas::ops::cross_entropy(tape.param(a), std::span<const std::int32_t>(labels),
                                    std::span<const gas::node_id>(rows));
  tape.backward(ce);
  const double fused = ce.value()(0, 0);
  tape.reset();
  auto nll = gas::ops::nll_loss(gas::ops::log_softmax(tape.param(b)), std::span<const std::int32_t>(labels),
                                std::span<const gas::node_id>(rows));
  tape.backward(nll);
  CHECK(fused == doctest::Approx(nll.value()(0, 0)).epsilon(1e-13));
  CHECK(max_abs_diff(a.grad, b.grad) < 1e-15);
}

TEST_CASE_TEMPLATE("bce_with_logits equals the naive formula and stays finite for large logits", T, float, double) {
  auto x = random_tensor<T>(6, 3, 9, -3.0, 3.0);
  const auto targets = random_targets(6, 3, 10);
  const std::vector<gas::node_id> rows{0, 1, 4, 5};
  gas::autograd::Tape<T> tape;
  auto loss = gas::ops::bce_with_logits(tape.constant(x), targets, std::span<const gas::node_id>(rows));
  double naive = 0;
  for (const auto r : rows)
    for (std::int64_t j = 0; j < 3; ++j) {
      const double p = 1 / (1 + std::exp(-static_cast<double>(x(r, j))));
      naive -= targets(r, j) ? std::log(p) : std::log(1 - p);
    }
  naive /= static_cast<double>(rows.size() * 3);
  CHECK(loss.value()(0, 0) == doctest::Approx(naive).epsilon(std::is_same_v<T, float> ? 1e-6 : 1e-13));

  x(0, 0) = T{200};  // a confident, wrong or right guess: log(1 - sigmoid(200)) would be log(0)
  x(1, 1) = T{-200};
  auto big = gas::ops::bce_with_logits(tape.constant(x), targets, std::span<const gas::node_id>(rows));
  CHECK(std::isfinite(static_cast<double>(big.value()(0, 0))));
  const double wrong0 = targets(0, 0) ? 0.0 : 200.0, wrong1 = targets(1, 1) ? 200.0 : 0.0;
  CHECK(big.value()(0, 0) >= (wrong0 + wrong1) / 12.0 - 1e-3);
}

TEST_CASE("bce_with_logits passes the gradient check, for sorted and for repeated rows") {
  gas::autograd::Parameter<double> x("x", random_tensor<double>(5, 4, 11, -3.0, 3.0));
  const auto targets = random_targets(5, 4, 12);
  for (const std::vector<gas::node_id>& rows : {std::vector<gas::node_id>{0, 2, 3}, std::vector<gas::node_id>{4, 1, 4}}) {
    gas::autograd::Tape<double> tape;
    auto build = [&](gas::autograd::Tape<double>& t) {
      return gas::ops::bce_with_logits(t.param(x), targets, std::span<const gas::node_id>(rows));
    };
    const auto check = gas::autograd::check_gradients(tape, build, {&x});
    CHECK_MESSAGE(check.ok, check.worst);
  }
}

TEST_CASE("losses reject bad rows, labels and targets with typed errors naming them") {
  gas::autograd::Tape<double> tape;
  const gas::Tensor<double> x(4, 3, 0.5);
  auto X = tape.constant(x);
  std::vector<std::int32_t> labels{0, 2, -1, 3};
  const std::vector<gas::node_id> good{0, 1}, unlabeled{0, 2}, too_big{1, 3}, outside{0, 4}, none;
  using Labels = std::span<const std::int32_t>;
  using Rows = std::span<const gas::node_id>;
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::nll_loss(X, Labels(labels), Rows(unlabeled)), "nll_loss", "row 2",
                      "label -1", "unlabeled");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::cross_entropy(X, Labels(labels), Rows(too_big)), "cross_entropy",
                      "row 3", "label 3", "[0, 3)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::cross_entropy(X, Labels(labels), Rows(outside)), "selected row 4",
                      "[0, 4)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::nll_loss(X, Labels(labels), Rows(none)), "empty");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::cross_entropy(X, Labels(labels).first(3), Rows(good)),
                      "3 labels", "4 rows");
  const gas::Tensor<std::uint8_t> targets(4, 3, 0), narrow(4, 2, 0);
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::bce_with_logits(X, narrow, Rows(good)), "(4 x 3)", "targets (4 x 2)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::bce_with_logits(X, targets, Rows(none)), "empty");
  auto bad = targets;
  bad(1, 2) = 2;
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::bce_with_logits(X, bad, Rows(good)), "row 1", "target 2");
  CHECK(gas::ops::bce_with_logits(X, bad, Rows(unlabeled)).value()(0, 0) > 0);  // row 1 not selected: fine
  CHECK(gas::ops::nll_loss(X, Labels(labels), Rows(good)).value()(0, 0) == doctest::Approx(-0.5));
}

TEST_CASE("cross_entropy and bce_with_logits give the same bits for any number of threads") {
  const std::int64_t n = 5000, c = 6;
  const auto xv = random_tensor<float>(n, c, 50, -4.0, 4.0);
  const auto labels = random_labels(n, static_cast<std::int32_t>(c), 51);
  const auto targets = random_targets(n, c, 52);
  std::vector<gas::node_id> rows;
  for (gas::node_id i = 1; i < n; i += 2) rows.push_back(i);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    gas::autograd::Parameter<float> x("x", xv);
    gas::autograd::Tape<float> tape;
    auto ce = gas::ops::cross_entropy(tape.param(x), std::span<const std::int32_t>(labels),
                                      std::span<const gas::node_id>(rows));
    auto bce = gas::ops::bce_with_logits(tape.param(x), targets, std::span<const gas::node_id>(rows));
    tape.backward(gas::ops::add(ce, bce));
    omp_set_num_threads(saved);
    return std::vector<gas::Tensor<float>>{gas::Tensor<float>(ce.value()), gas::Tensor<float>(bce.value()), x.grad};
  };
  const auto one = run(1), three = run(3);
  for (std::size_t k = 0; k < one.size(); ++k) CHECK(one[k] == three[k]);
}
