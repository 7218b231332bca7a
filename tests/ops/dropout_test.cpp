#include <doctest/doctest.h>

#include <cmath>

#include "gas/autograd/gradcheck.hpp"
#include "gas/core/rng.hpp"
#include "gas/ops/dropout.hpp"
#include "gas/ops/reduce.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::random_tensor;
using gas_test::weighted_sum;

/// Number of elements whose kept/dropped state differs between two dropout outputs of an all-ones input.
template <class A, class B>
std::int64_t mask_differences(const A& a, const B& b) {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    for (std::int64_t j = 0; j < a.cols(); ++j) n += (a(i, j) == 0) != (b(i, j) == 0);
  return n;
}

}  // namespace

TEST_CASE("dropout in training passes the gradient check with a fixed seed") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> x("x", random_tensor<double>(8, 6, 1));
  for (double p : {0.1, 0.5, 0.9}) {
    CAPTURE(p);
    const auto check = gas::autograd::check_gradients(
        tape, [&](gas::autograd::Tape<double>& t) { return weighted_sum(gas::ops::dropout(t.param(x), p, 42, true)); },
        {&x});
    CHECK_MESSAGE(check.ok, check.worst);
  }
}

TEST_CASE_TEMPLATE("dropout keeps exactly the elements the documented hash keeps, scaled by 1 / (1 - p)", T, float,
                   double) {
  gas::autograd::Tape<T> tape;
  const auto x = random_tensor<T>(13, 7, 2);
  const double p = 0.3;
  const std::uint64_t seed = 1234;
  auto y = gas::ops::dropout(tape.constant(x.view()), p, seed, true);
  CHECK(y.node().aux.size() == 0);  // nothing saved: the backward pass redraws the mask
  for (std::int64_t i = 0; i < x.rows(); ++i)
    for (std::int64_t j = 0; j < x.cols(); ++j) {
      // Element e keeps iff its half of draw e / 2 of the ("drop") stream is at least ceil(p * 2^32).
      const auto e = static_cast<std::uint64_t>(i * x.cols() + j);
      const auto half = static_cast<std::uint32_t>(gas::CounterStream(seed, 0x64726f70)(e / 2) >> (32 * (e % 2)));
      const bool keep = static_cast<double>(half) >= std::ceil(p * 0x1.0p32);
      const double expected = keep ? static_cast<double>(x(i, j)) / (1 - p) : 0.0;
      CHECK(y.value()(i, j) == doctest::Approx(expected).epsilon(1e-6));
    }
}

TEST_CASE("the same seed gives the same mask, a different seed a different one") {
  gas::autograd::Tape<float> tape;
  const gas::Tensor<float> ones(64, 32, 1.0f);
  auto x = tape.constant(ones.view());
  auto a = gas::ops::dropout(x, 0.5, 7, true), b = gas::ops::dropout(x, 0.5, 7, true),
       c = gas::ops::dropout(x, 0.5, 8, true);
  CHECK(gas_test::max_abs_diff(a.value(), b.value()) == 0.0);
  CHECK(mask_differences(a.value(), b.value()) == 0);
  CHECK(mask_differences(a.value(), c.value()) > 64 * 32 / 4);  // independent masks differ in about half
  tape.reset();  // a rebuilt tape draws the same mask again
  auto d = gas::ops::dropout(tape.constant(ones.view()), 0.5, 7, true);
  CHECK(mask_differences(d.value(), ones) > 0);
  gas::Tensor<float> first(64, 32);
  for (std::int64_t i = 0; i < 64; ++i)
    for (std::int64_t j = 0; j < 32; ++j) first(i, j) = d.value()(i, j);
  tape.reset();
  auto e = gas::ops::dropout(tape.constant(ones.view()), 0.5, 7, true);
  CHECK(gas_test::max_abs_diff(first, e.value()) == 0.0);
}

TEST_CASE("the keep rate on a large tensor is close to 1 - p and the mean is preserved") {
  gas::autograd::Tape<double> tape;
  const gas::Tensor<double> ones(5000, 40, 1.0);  // 200,000 draws, more than the parallel threshold in rows
  for (double p : {0.1, 0.5, 0.8}) {
    CAPTURE(p);
    tape.reset();
    auto y = gas::ops::dropout(tape.constant(ones.view()), p, 99, true);
    std::int64_t kept = 0;
    for (std::int64_t i = 0; i < y.rows(); ++i)
      for (std::int64_t j = 0; j < y.cols(); ++j) kept += y.value()(i, j) != 0;
    const double rate = static_cast<double>(kept) / static_cast<double>(ones.size());
    CHECK(rate == doctest::Approx(1 - p).epsilon(0.01 / (1 - p)));  // ~4 standard deviations at n = 200,000
    CHECK(gas::ops::mean_all(y).value()(0, 0) == doctest::Approx(1.0).epsilon(0.02));
  }
}

TEST_CASE("dropout in evaluation mode or with p = 0 is the identity and records nothing") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> w("w", random_tensor<double>(4, 3, 3));
  auto x = tape.param(w);
  const int before = tape.size();
  auto eval = gas::ops::dropout(x, 0.5, 1, false);
  auto zero = gas::ops::dropout(x, 0.0, 1, true);
  CHECK(tape.size() == before);
  CHECK(eval.id() == x.id());
  CHECK(zero.id() == x.id());
  tape.backward(gas::ops::sum_all(eval));
  CHECK(gas_test::max_abs_diff(w.grad, gas::Tensor<double>(4, 3, 1.0)) == 0.0);
}

TEST_CASE("dropout rejects a probability outside [0, 1) in either mode") {
  gas::autograd::Tape<double> tape;
  auto x = tape.constant(gas::Tensor<double>(2, 2, 1.0).view());
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::dropout(x, 1.0, 1, true), "probability 1", "[0, 1)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::dropout(x, -0.1, 1, true), "probability -0.1");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::dropout(x, 1.5, 1, false), "probability 1.5");
}

TEST_CASE("a rebuilt step reuses the mask buffer (no allocation in the steady state)") {
  gas::autograd::Tape<float> tape;
  const gas::Tensor<float> x(100, 8, 1.0f);
  const float* first = nullptr;
  for (int step = 0; step < 3; ++step) {
    tape.reset();
    auto y = gas::ops::dropout(tape.constant(x.view()), 0.5, static_cast<std::uint64_t>(step), true);
    if (step == 0) first = y.node().aux.data();
    CHECK(y.node().aux.data() == first);
  }
}
