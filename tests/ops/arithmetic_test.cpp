#include <doctest/doctest.h>

#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/reduce.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::max_abs_diff;
using gas_test::random_tensor;
using gas_test::weighted_sum;
using DTape = gas::autograd::Tape<double>;

}  // namespace

TEST_CASE("binary elementwise ops pass the gradient check in both operands") {
  DTape tape;
  gas::autograd::Parameter<double> a("a", random_tensor<double>(6, 5, 1)), b("b", random_tensor<double>(6, 5, 2));
  auto check = [&](auto op) {
    const auto result = gas::autograd::check_gradients(
        tape, [&](DTape& t) { return weighted_sum(op(t.param(a), t.param(b))); }, {&a, &b});
    CHECK_MESSAGE(result.ok, result.worst);
  };
  check([](auto x, auto y) { return gas::ops::add(x, y); });
  check([](auto x, auto y) { return gas::ops::sub(x, y); });
  check([](auto x, auto y) { return gas::ops::mul(x, y); });
  check([](auto x, auto y) { return gas::ops::add_scaled(x, 0.3, y, -1.7); });
  check([](auto x, auto) { return gas::ops::mul(x, x); });  // one value in both slots gets both gradients
  check([](auto x, auto y) { return gas::ops::sub(gas::ops::add(x, y), gas::ops::mul(y, x)); });
}

TEST_CASE("unary and broadcasting arithmetic pass the gradient check") {
  DTape tape;
  gas::autograd::Parameter<double> x("x", random_tensor<double>(7, 4, 3));
  gas::autograd::Parameter<double> bias("bias", random_tensor<double>(1, 4, 4));
  gas::autograd::Parameter<double> f("f", random_tensor<double>(7, 1, 5));
  const std::vector<double> factors{0.5, -2.0, 0.0, 1.0, 3.0, -0.25, 7.0};
  auto check = [&](auto build, std::vector<gas::autograd::Parameter<double>*> params) {
    const auto result = gas::autograd::check_gradients(tape, build, params);
    CHECK_MESSAGE(result.ok, result.worst);
  };
  check([&](DTape& t) { return weighted_sum(gas::ops::scale(t.param(x), -2.5)); }, {&x});
  check([&](DTape& t) { return weighted_sum(gas::ops::add_scalar(t.param(x), 4.0)); }, {&x});
  check([&](DTape& t) { return weighted_sum(gas::ops::bias_add(t.param(x), t.param(bias))); }, {&x, &bias});
  check([&](DTape& t) { return weighted_sum(gas::ops::scale_rows(t.param(x), factors)); }, {&x});
  check([&](DTape& t) { return weighted_sum(gas::ops::mul_rows(t.param(x), t.param(f))); }, {&x, &f});
}

TEST_CASE("only operands that need a gradient receive one") {
  DTape tape;
  const auto c = random_tensor<double>(3, 2, 6);
  gas::autograd::Parameter<double> a("a", random_tensor<double>(3, 2, 7)), bias("bias", random_tensor<double>(1, 2, 8));
  auto k = tape.constant(c.view());
  tape.backward(gas::ops::sum_all(gas::ops::bias_add(gas::ops::mul(k, tape.param(a)), tape.constant(bias.value.view()))));
  CHECK_THROWS_AS((void)k.grad(), gas::value_error);
  CHECK(max_abs_diff(a.grad, c) == 0.0);
}

TEST_CASE_TEMPLATE("arithmetic forward values match naive loops", T, float, double) {
  gas::autograd::Tape<T> tape;
  const auto a = random_tensor<T>(9, 6, 10), b = random_tensor<T>(9, 6, 11), bias = random_tensor<T>(1, 6, 12),
             f = random_tensor<T>(9, 1, 13);
  std::vector<T> factors(9);
  for (std::size_t i = 0; i < factors.size(); ++i) factors[i] = static_cast<T>(0.5 * static_cast<double>(i) - 1);
  auto va = tape.constant(a.view()), vb = tape.constant(b.view());
  const auto add = gas::ops::add(va, vb), sub = gas::ops::sub(va, vb), mul = gas::ops::mul(va, vb),
             scaled = gas::ops::add_scaled(va, 0.25, vb, -3.0), scale = gas::ops::scale(va, 1.5),
             shifted = gas::ops::add_scalar(va, -0.75), biased = gas::ops::bias_add(va, tape.constant(bias.view())),
             rows = gas::ops::scale_rows(va, factors), mrows = gas::ops::mul_rows(va, tape.constant(f.view()));
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-15;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    for (std::int64_t j = 0; j < a.cols(); ++j) {
      const double x = a(i, j), y = b(i, j);
      CHECK(add.value()(i, j) == doctest::Approx(x + y).epsilon(tol));
      CHECK(sub.value()(i, j) == doctest::Approx(x - y).epsilon(tol));
      CHECK(mul.value()(i, j) == doctest::Approx(x * y).epsilon(tol));
      CHECK(scaled.value()(i, j) == doctest::Approx(0.25 * x - 3.0 * y).epsilon(tol));
      CHECK(scale.value()(i, j) == doctest::Approx(1.5 * x).epsilon(tol));
      CHECK(shifted.value()(i, j) == doctest::Approx(x - 0.75).epsilon(tol));
      CHECK(biased.value()(i, j) == doctest::Approx(x + bias(0, j)).epsilon(tol));
      CHECK(rows.value()(i, j) == doctest::Approx(factors[static_cast<std::size_t>(i)] * x).epsilon(tol));
      CHECK(mrows.value()(i, j) == doctest::Approx(f(i, 0) * x).epsilon(tol));
    }
}

TEST_CASE("the bias gradient on many rows (the two-pass column sum) is the serial sum for float") {
  gas::autograd::Tape<float> tape;
  const auto x = random_tensor<float>(20000, 3, 14);
  const auto upstream = random_tensor<float>(20000, 3, 15);
  gas::autograd::Parameter<float> bias("bias", random_tensor<float>(1, 3, 16));
  auto y = gas::ops::bias_add(tape.constant(x.view()), tape.param(bias));
  tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(upstream.view()))));
  for (std::int64_t j = 0; j < 3; ++j) {
    double sum = 0;
    for (std::int64_t i = 0; i < x.rows(); ++i) sum += upstream(i, j);
    CHECK(bias.grad(0, j) == doctest::Approx(sum).epsilon(1e-5));
  }
}

TEST_CASE("arithmetic rejects mismatched shapes with shape_error naming them") {
  gas::autograd::Tape<double> tape;
  auto a = tape.constant(gas::Tensor<double>(3, 4).view()), b = tape.constant(gas::Tensor<double>(4, 3).view());
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::add(a, b), "(3 x 4)", "(4 x 3)");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::sub(a, b), "(3 x 4)", "(4 x 3)");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::mul(a, b), "(3 x 4)", "(4 x 3)");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::add_scaled(a, 1.0, b, 2.0), "(3 x 4)", "(4 x 3)");
  auto wide_bias = tape.constant(gas::Tensor<double>(1, 3).view());
  auto tall_bias = tape.constant(gas::Tensor<double>(3, 4).view());
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::bias_add(a, wide_bias), "bias (1 x 3)", "(3 x 4)", "(1 x 4)");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::bias_add(a, tall_bias), "bias (3 x 4)");
  const std::vector<double> two{1.0, 2.0};
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::scale_rows(a, two), "2 row factors", "(3 x 4)");
  auto f = tape.constant(gas::Tensor<double>(3, 2).view());
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::mul_rows(a, f), "factors (3 x 2)", "(3 x 1)");
}
