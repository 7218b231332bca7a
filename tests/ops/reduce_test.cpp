#include <doctest/doctest.h>

#include "gas/autograd/gradcheck.hpp"
#include "gas/ops/reduce.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::random_tensor;
using gas_test::weighted_sum;
using DTape = gas::autograd::Tape<double>;

}  // namespace

TEST_CASE("every reduction passes the gradient check") {
  DTape tape;
  gas::autograd::Parameter<double> x("x", random_tensor<double>(6, 5, 1));
  auto check = [&](auto op) {
    const auto result =
        gas::autograd::check_gradients(tape, [&](DTape& t) { return weighted_sum(op(t.param(x))); }, {&x});
    CHECK_MESSAGE(result.ok, result.worst);
  };
  check([](auto v) { return gas::ops::sum_all(v); });
  check([](auto v) { return gas::ops::mean_all(v); });
  check([](auto v) { return gas::ops::sum_rows(v); });
  check([](auto v) { return gas::ops::mean_rows(v); });
  check([](auto v) { return gas::ops::sum_cols(v); });
  check([](auto v) { return gas::ops::mean_cols(v); });
  check([](auto v) { return gas::ops::sum_rows(gas::ops::sum_cols(v)); });
}

TEST_CASE_TEMPLATE("reductions match naive loops", T, float, double) {
  gas::autograd::Tape<T> tape;
  const auto x = random_tensor<T>(11, 7, 2);
  auto v = tape.constant(x.view());
  const auto all = gas::ops::sum_all(v), mean = gas::ops::mean_all(v), rows = gas::ops::sum_rows(v),
             mrows = gas::ops::mean_rows(v), cols = gas::ops::sum_cols(v), mcols = gas::ops::mean_cols(v);
  CHECK(rows.rows() == 1);
  CHECK(rows.cols() == 7);
  CHECK(cols.rows() == 11);
  CHECK(cols.cols() == 1);
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  double total = 0;
  for (std::int64_t j = 0; j < 7; ++j) {
    double s = 0;
    for (std::int64_t i = 0; i < 11; ++i) s += x(i, j);
    CHECK(rows.value()(0, j) == doctest::Approx(s).epsilon(tol));
    CHECK(mrows.value()(0, j) == doctest::Approx(s / 11).epsilon(tol));
    total += s;
  }
  for (std::int64_t i = 0; i < 11; ++i) {
    double s = 0;
    for (std::int64_t j = 0; j < 7; ++j) s += x(i, j);
    CHECK(cols.value()(i, 0) == doctest::Approx(s).epsilon(tol));
    CHECK(mcols.value()(i, 0) == doctest::Approx(s / 7).epsilon(tol));
  }
  CHECK(all.value()(0, 0) == doctest::Approx(total).epsilon(tol));
  CHECK(mean.value()(0, 0) == doctest::Approx(total / 77).epsilon(tol));
}

TEST_CASE("column sums over many rows (the two-pass scheme) are right and backpropagate") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> x("x", random_tensor<double>(10000, 3, 3));
  auto s = gas::ops::sum_rows(tape.param(x));
  for (std::int64_t j = 0; j < 3; ++j) {
    double expected = 0;
    for (std::int64_t i = 0; i < 10000; ++i) expected += x.value(i, j);
    CHECK(s.value()(0, j) == doctest::Approx(expected).epsilon(1e-12));
  }
  tape.backward(weighted_sum(gas::ops::mean_rows(tape.param(x)), 5));
  const auto w = random_tensor<double>(1, 3, 5, 0.5, 1.5);
  for (std::int64_t i : {0, 4096, 9999})
    for (std::int64_t j = 0; j < 3; ++j) CHECK(x.grad(i, j) == doctest::Approx(w(0, j) / 10000));
}

TEST_CASE("means of empty values throw value_error; sums of them are zero") {
  gas::autograd::Tape<double> tape;
  auto none = tape.constant(gas::Tensor<double>(0, 3).view());
  auto flat = tape.constant(gas::Tensor<double>(3, 0).view());
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::mean_all(none), "(0 x 3)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::mean_rows(none), "(0 x 3)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::mean_cols(flat), "(3 x 0)");
  const auto s = gas::ops::sum_rows(none);
  CHECK(s.cols() == 3);
  for (std::int64_t j = 0; j < 3; ++j) CHECK(s.value()(0, j) == 0.0);
  const auto c = gas::ops::sum_cols(flat);
  for (std::int64_t i = 0; i < 3; ++i) CHECK(c.value()(i, 0) == 0.0);
}

TEST_CASE("column sums of a zero-width value backpropagate to nothing") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> p("p", gas::Tensor<double>(3, 0));
  auto s = gas::ops::sum_rows(tape.param(p));
  CHECK(s.cols() == 0);
  tape.backward(gas::ops::sum_all(s));
  CHECK(p.grad.rows() == 3);
}
