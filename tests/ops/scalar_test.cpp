#include <doctest/doctest.h>

#include "gas/autograd/gradcheck.hpp"
#include "gas/ops/reduce.hpp"
#include "gas/ops/scalar.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::random_tensor;
using gas_test::weighted_sum;
using DTape = gas::autograd::Tape<double>;

}  // namespace

TEST_CASE("div_by_scalar passes the gradient check in the matrix and the divisor") {
  DTape tape;
  gas::autograd::Parameter<double> x("x", random_tensor<double>(7, 4, 1));
  gas::autograd::Parameter<double> s("s", gas::Tensor<double>(1, 1, -1.7));
  const auto both = gas::autograd::check_gradients(
      tape, [&](DTape& t) { return weighted_sum(gas::ops::div_by_scalar(t.param(x), t.param(s))); }, {&x, &s});
  CHECK_MESSAGE(both.ok, both.worst);
  // A constant divisor or a constant matrix: the other operand alone receives the gradient.
  const auto x_only = gas::autograd::check_gradients(
      tape, [&](DTape& t) { return weighted_sum(gas::ops::div_by_scalar(t.param(x), t.constant(s.value))); }, {&x});
  CHECK_MESSAGE(x_only.ok, x_only.worst);
  const auto s_only = gas::autograd::check_gradients(
      tape, [&](DTape& t) { return weighted_sum(gas::ops::div_by_scalar(t.constant(x.value), t.param(s))); }, {&s});
  CHECK_MESSAGE(s_only.ok, s_only.worst);
}

TEST_CASE("div_by_scalar's divisor gradient over many rows is the same for any thread count") {
  // 10000 rows take the parallel path; the sum over rows is done in row order afterwards.
  DTape tape;
  gas::autograd::Parameter<double> s("s", gas::Tensor<double>(1, 1, 3.0));
  const auto x = random_tensor<double>(10000, 3, 2);
  auto y = gas::ops::div_by_scalar(tape.constant(x.view()), tape.param(s));
  tape.backward(gas::ops::sum_all(y));
  double expected = 0;
  for (std::int64_t i = 0; i < x.rows(); ++i)
    for (std::int64_t j = 0; j < 3; ++j) expected -= x(i, j) / 9.0;
  CHECK(s.grad(0, 0) == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE_TEMPLATE("div_by_scalar divides every element", T, float, double) {
  gas::autograd::Tape<T> tape;
  const auto x = random_tensor<T>(5, 3, 3);
  const auto y = gas::ops::div_by_scalar(tape.constant(x.view()), tape.constant(gas::Tensor<T>(1, 1, T(0.25))));
  REQUIRE(y.rows() == 5);
  REQUIRE(y.cols() == 3);
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 3; ++j) CHECK(y.value()(i, j) == doctest::Approx(4.0 * x(i, j)));
}

TEST_CASE("div_by_scalar rejects a divisor that is not 1 x 1, and a zero divisor") {
  DTape tape;
  const auto x = tape.constant(gas::Tensor<double>(3, 2, 1.0));
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::div_by_scalar(x, tape.constant(gas::Tensor<double>(2, 1, 1.0))),
                      "(1 x 1)", "(2 x 1)", "(3 x 2)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::div_by_scalar(x, tape.constant(gas::Tensor<double>(1, 1, 0.0))),
                      "division by zero");
}
