#include <doctest/doctest.h>

#include <cmath>

#include "gas/autograd/gradcheck.hpp"
#include "gas/ops/norm.hpp"
#include "gas/ops/reduce.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::random_tensor;
using gas_test::weighted_sum;

}  // namespace

TEST_CASE("row_l2_norm passes the gradient check") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> x("x", random_tensor<double>(7, 5, 1));
  const auto check = gas::autograd::check_gradients(
      tape, [&](gas::autograd::Tape<double>& t) { return weighted_sum(gas::ops::row_l2_norm(t.param(x))); }, {&x});
  CHECK_MESSAGE(check.ok, check.worst);
}

TEST_CASE_TEMPLATE("row_l2_norm matches the naive loop", T, float, double) {
  gas::autograd::Tape<T> tape;
  const auto x = random_tensor<T>(12, 9, 2, -3, 3);
  const auto n = gas::ops::row_l2_norm(tape.constant(x.view()));
  REQUIRE(n.rows() == 12);
  REQUIRE(n.cols() == 1);
  for (std::int64_t i = 0; i < 12; ++i) {
    double sum = 0;
    for (std::int64_t j = 0; j < 9; ++j) sum += static_cast<double>(x(i, j)) * x(i, j);
    CHECK(n.value()(i, 0) == doctest::Approx(std::sqrt(sum)).epsilon(std::is_same_v<T, float> ? 1e-6 : 1e-15));
  }
}

TEST_CASE_TEMPLATE("an all-zero row has norm 0 and gradient 0, not NaN", T, float, double) {
  gas::autograd::Tape<T> tape;
  auto x = random_tensor<T>(3, 4, 3);
  for (std::int64_t j = 0; j < 4; ++j) x(1, j) = T{0};
  gas::autograd::Parameter<T> p("p", x);
  auto n = gas::ops::row_l2_norm(tape.param(p));
  CHECK(n.value()(1, 0) == T{0});
  tape.backward(gas::ops::sum_all(n));
  for (std::int64_t j = 0; j < 4; ++j) {
    CHECK(p.grad(1, j) == T{0});
    CHECK(p.grad(0, j) == doctest::Approx(static_cast<double>(x(0, j)) / n.value()(0, 0)));
  }
}

TEST_CASE("row_l2_norm of float values squares in double, so large entries do not overflow") {
  gas::autograd::Tape<float> tape;
  gas::Tensor<float> x(1, 2, 3e20f);
  const auto n = gas::ops::row_l2_norm(tape.constant(x.view()));
  CHECK(n.value()(0, 0) == doctest::Approx(3e20 * std::sqrt(2.0)).epsilon(1e-6));
}
