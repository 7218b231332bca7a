#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/ops/activation.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::random_tensor;
using gas_test::weighted_sum;
using DVar = gas::autograd::Var<double>;

struct Case {
  std::string name;
  std::function<DVar(DVar)> op;
  double lo, hi;  // input range: positive for log, away from 0 is not needed (draws never land within eps of 0)
};

std::vector<Case> double_cases() {
  return {
      {"relu", [](DVar x) { return gas::ops::relu(x); }, -1, 1},
      {"elu", [](DVar x) { return gas::ops::elu(x); }, -2, 2},
      {"elu alpha 0.3", [](DVar x) { return gas::ops::elu(x, 0.3); }, -2, 2},
      {"leaky_relu", [](DVar x) { return gas::ops::leaky_relu(x); }, -1, 1},
      {"leaky_relu 0.2", [](DVar x) { return gas::ops::leaky_relu(x, 0.2); }, -1, 1},
      {"sigmoid", [](DVar x) { return gas::ops::sigmoid(x); }, -4, 4},
      {"tanh", [](DVar x) { return gas::ops::tanh(x); }, -3, 3},
      {"exp", [](DVar x) { return gas::ops::exp(x); }, -2, 2},
      {"log", [](DVar x) { return gas::ops::log(x); }, 0.2, 3},
  };
}

}  // namespace

TEST_CASE("every activation passes the gradient check") {
  gas::autograd::Tape<double> tape;
  for (const auto& c : double_cases()) {
    CAPTURE(c.name);
    gas::autograd::Parameter<double> x("x", random_tensor<double>(7, 5, 11, c.lo, c.hi));
    const auto check =
        gas::autograd::check_gradients(tape, [&](gas::autograd::Tape<double>& t) { return weighted_sum(c.op(t.param(x))); }, {&x});
    CHECK_MESSAGE(check.ok, check.worst);
  }
}

TEST_CASE("a chain of activations passes the gradient check (gradients accumulate through shared inputs)") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> x("x", random_tensor<double>(4, 6, 12, 0.1, 2.0));
  auto build = [&](gas::autograd::Tape<double>& t) {
    auto v = t.param(x);
    return weighted_sum(gas::ops::tanh(gas::ops::log(gas::ops::exp(gas::ops::sigmoid(v)))));
  };
  const auto check = gas::autograd::check_gradients(tape, build, {&x});
  CHECK_MESSAGE(check.ok, check.worst);
}

TEST_CASE_TEMPLATE("activations match the scalar formulas", T, float, double) {
  gas::autograd::Tape<T> tape;
  const auto x = random_tensor<T>(33, 17, 5, -3, 3);
  const auto positive = random_tensor<T>(33, 17, 6, 0.01, 5);
  auto v = tape.constant(x.view());
  auto p = tape.constant(positive.view());
  const auto relu = gas::ops::relu(v), elu = gas::ops::elu(v, 0.5), leaky = gas::ops::leaky_relu(v, 0.2),
             sig = gas::ops::sigmoid(v), th = gas::ops::tanh(v), ex = gas::ops::exp(v), lg = gas::ops::log(p);
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  for (std::int64_t i = 0; i < x.rows(); ++i)
    for (std::int64_t j = 0; j < x.cols(); ++j) {
      const double a = x(i, j), b = positive(i, j);
      CHECK(relu.value()(i, j) == doctest::Approx(a > 0 ? a : 0).epsilon(tol));
      CHECK(elu.value()(i, j) == doctest::Approx(a > 0 ? a : 0.5 * (std::exp(a) - 1)).epsilon(tol));
      CHECK(leaky.value()(i, j) == doctest::Approx(a > 0 ? a : 0.2 * a).epsilon(tol));
      CHECK(sig.value()(i, j) == doctest::Approx(1 / (1 + std::exp(-a))).epsilon(tol));
      CHECK(th.value()(i, j) == doctest::Approx(std::tanh(a)).epsilon(tol));
      CHECK(ex.value()(i, j) == doctest::Approx(std::exp(a)).epsilon(tol));
      CHECK(lg.value()(i, j) == doctest::Approx(std::log(b)).epsilon(tol));
    }
}

TEST_CASE_TEMPLATE("sigmoid and its gradient stay finite for large inputs", T, float, double) {
  gas::autograd::Tape<T> tape;
  gas::Tensor<T> x(1, 4, std::vector<T>{T(-1000), T(-90), T(90), T(1000)});
  gas::autograd::Parameter<T> w("w", x);
  auto y = gas::ops::sigmoid(tape.param(w));
  CHECK(y.value()(0, 0) == T(0));
  CHECK(y.value()(0, 3) == T(1));
  tape.backward(gas::ops::sum_all(y));
  for (std::int64_t j = 0; j < 4; ++j) {
    CHECK(std::isfinite(y.value()(0, j)));
    CHECK(std::isfinite(w.grad(0, j)));
  }
}

TEST_CASE("elu and leaky_relu take the documented gradient at 0") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> x("x", gas::Tensor<double>(1, 1, 0.0));
  tape.backward(gas::ops::sum_all(gas::ops::elu(tape.param(x), 0.4)));
  CHECK(x.grad(0, 0) == doctest::Approx(0.4));
  x.zero_grad();
  tape.reset();
  tape.backward(gas::ops::sum_all(gas::ops::leaky_relu(tape.param(x), 0.2)));
  CHECK(x.grad(0, 0) == doctest::Approx(0.2));
}

TEST_CASE("log of a non-positive element throws value_error naming it, and records nothing") {
  gas::autograd::Tape<double> tape;
  gas::Tensor<double> x(3, 4, 1.0);
  x(1, 2) = 0.0;
  x(2, 3) = -1.0;
  auto v = tape.constant(x.view());
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::log(v), "x(1, 2) = 0", "(3 x 4)");
  CHECK(tape.size() == 1);
  x(1, 2) = 2.0;
  auto w = tape.constant(x.view());
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::log(w), "x(2, 3) = -1");
  x(2, 3) = std::numeric_limits<double>::quiet_NaN();
  auto nan = tape.constant(x.view());
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::log(nan), "x(2, 3) = nan");
}

TEST_CASE("activations on a large input (the parallel path) match the serial formulas") {
  gas::autograd::Tape<float> tape;
  const auto x = random_tensor<float>(10000, 3, 8, -2, 2);
  gas::autograd::Parameter<float> p("p", x);
  auto y = gas::ops::tanh(tape.param(p));
  tape.backward(gas::ops::sum_all(y));
  double worst = 0, worst_grad = 0;
  for (std::int64_t i = 0; i < x.rows(); ++i)
    for (std::int64_t j = 0; j < x.cols(); ++j) {
      const double t = std::tanh(static_cast<double>(x(i, j)));
      worst = std::max(worst, std::abs(y.value()(i, j) - t));
      worst_grad = std::max(worst_grad, std::abs(p.grad(i, j) - (1 - t * t)));
    }
  CHECK(worst < 1e-6);
  CHECK(worst_grad < 1e-6);
}
