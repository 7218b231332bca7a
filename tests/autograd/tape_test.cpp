#include <doctest/doctest.h>

#include "gas/autograd/gradcheck.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/reduce.hpp"
#include "io/io_test_util.hpp"

namespace {

gas::Tensor<double> random_tensor(std::int64_t r, std::int64_t c, std::uint64_t seed) {
  gas::Tensor<double> t(r, c);
  gas::Rng rng(seed);
  for (auto& x : t.values()) x = rng.normal();
  return t;
}

}  // namespace

TEST_CASE("matmul with every transpose combination passes the gradient check") {
  gas::autograd::Tape<double> tape;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      gas::autograd::Parameter<double> a("a", ta ? random_tensor(4, 3, 1) : random_tensor(3, 4, 1));
      gas::autograd::Parameter<double> b("b", tb ? random_tensor(5, 4, 2) : random_tensor(4, 5, 2));
      auto build = [&](gas::autograd::Tape<double>& t) {
        return gas::ops::sum_all(gas::ops::relu(gas::ops::matmul(t.param(a), t.param(b), ta != 0, tb != 0)));
      };
      const auto check = gas::autograd::check_gradients(tape, build, {&a, &b});
      CHECK_MESSAGE(check.ok, check.worst);
    }
}

TEST_CASE("gradients accumulate into parameters until zero_grad, and a value used twice gets both") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> w("w", gas::Tensor<double>(1, 1, 3.0));
  for (int pass = 1; pass <= 2; ++pass) {
    tape.reset();
    auto x = tape.param(w);
    tape.backward(gas::ops::sum_all(gas::ops::matmul(x, x)));  // d(w^2)/dw = 2w = 6
    CHECK(w.grad(0, 0) == doctest::Approx(6.0 * pass));
  }
  w.zero_grad();
  CHECK(w.grad(0, 0) == 0.0);
}

TEST_CASE("no_grad records values without gradients; constants receive none") {
  gas::autograd::Tape<float> tape;
  gas::Tensor<float> x(2, 2, 1.0f);
  gas::autograd::Parameter<float> w("w", gas::Tensor<float>(2, 2, 0.5f));
  {
    gas::autograd::NoGrad guard(tape);
    auto y = gas::ops::matmul(tape.constant(x), tape.param(w));
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value()(0, 0) == doctest::Approx(1.0f));
  }
  CHECK(tape.grad_enabled());
  auto c = tape.constant(x);
  auto loss = gas::ops::sum_all(gas::ops::matmul(c, tape.param(w)));
  tape.backward(loss);
  CHECK(w.grad(1, 1) == doctest::Approx(2.0f));
  CHECK_THROWS_AS((void)c.grad(), gas::value_error);
}

TEST_CASE("the tape reuses its nodes and buffers across steps") {
  gas::autograd::Tape<float> tape;
  gas::Tensor<float> x(64, 32, 1.0f);
  gas::autograd::Parameter<float> w("w", gas::Tensor<float>(32, 16, 0.1f));
  const float* first = nullptr;
  for (int step = 0; step < 3; ++step) {
    tape.reset();
    auto y = gas::ops::relu(gas::ops::matmul(tape.constant(x), tape.param(w)));
    tape.backward(gas::ops::sum_all(y));
    if (step == 0) first = y.value().data();
    CHECK(y.value().data() == first);  // same node, same buffer
    CHECK(tape.size() == 5);
  }
}

TEST_CASE("shape and usage errors are typed and name the problem") {
  gas::autograd::Tape<double> tape;
  gas::Tensor<double> a(2, 3), b(2, 3);
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::matmul(tape.constant(a), tape.constant(b)), "(2 x 3)",
                      "inner dimensions");
  auto y = tape.constant(a);
  CHECK_THROWS_NAMING(gas::shape_error, tape.backward(y), "scalar");
  tape.reset();
  CHECK_THROWS_NAMING(gas::value_error, (void)y.value(), "not on the tape");
  gas::autograd::Tape<double> other;
  auto p = other.constant(a);
  auto q = tape.constant(b);
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::matmul(p, q, false, true), "two tapes");
}

TEST_CASE("backward(out, seed) is the vector-Jacobian product; host transfers copy") {
  gas::autograd::Tape<double> tape;
  const auto X = random_tensor(3, 4, 5), G = random_tensor(3, 4, 6);
  auto x = tape.variable_from_host(X.view());
  auto y = gas::ops::relu(x);
  tape.backward(y, G.view());  // dx = G where x > 0
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) CHECK(x.grad()(i, j) == (X(i, j) > 0 ? G(i, j) : 0.0));
  // The same through a scalar loss sum(y .* G) gives the same gradient.
  gas::autograd::Tape<double> other;
  auto x2 = other.variable(X.view());
  other.backward(gas::ops::sum_all(gas::ops::mul(gas::ops::relu(x2), other.constant(G.view()))));
  CHECK(gas::Tensor<double>(x.grad()) == gas::Tensor<double>(x2.grad()));
  // to_host and constant_from_host copy (the host backend's memory is the host's).
  const auto copy = gas::autograd::to_host(y);
  CHECK(copy.rows() == 3);
  CHECK(copy(1, 2) == y.value()(1, 2));
  auto c = tape.constant_from_host(X.view());
  CHECK_FALSE(c.requires_grad());
  CHECK(c.value().data() != X.data());
  CHECK(gas::Tensor<double>(c.value()) == X);
  // A seed of the wrong shape, or from another tape's value, is refused before anything runs.
  CHECK_THROWS_NAMING(gas::shape_error, tape.backward(y, G.view().slice_rows(0, 2)), "seed gradient (2 x 4)",
                      "(3 x 4)");
  CHECK_THROWS_NAMING(gas::value_error, other.backward(y, G.view()), "another tape");
  // A parameter seeded directly accumulates the seed into its gradient.
  gas::autograd::Parameter<double> w("w", random_tensor(3, 4, 7));
  tape.reset();
  tape.backward(tape.param(w), G.view());
  tape.reset();
  tape.backward(tape.param(w), G.view());
  CHECK(w.grad(2, 3) == doctest::Approx(2 * G(2, 3)));
}
