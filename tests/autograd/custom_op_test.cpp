// A custom op from user code (tests/autograd/custom_op.hpp: my_ops::softplus) on the host tape: its values, its
// gradient check, and the typed attributes every op keeps in its node (autograd::AttributeSlot through node.attrs<A>()).
// The device half and its check are in tests/cuda/custom_op_test.cu.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <gas/autograd/gradcheck.hpp>
#include <gas/autograd/tape.hpp>
#include <gas/core/rng.hpp>
#include <gas/ops/arithmetic.hpp>
#include <gas/ops/attributes.hpp>
#include <gas/ops/dropout.hpp>
#include <gas/ops/reduce.hpp>

#include "alloc_counter.hpp"
#include "autograd/custom_op.hpp"
#include "io/io_test_util.hpp"

namespace {

struct Unnamed {  // attributes must name their op
  double p = 0;
};
struct Owning {  // attributes must be trivially copyable: they live in the node's fixed slot
  static constexpr const char* name = "owning";
  std::vector<int> values;
};

}  // namespace

static_assert(gas::ops::OpAttributes<my_ops::Softplus>);
static_assert(gas::ops::OpAttributes<gas::ops::Spmm<gas::ops::aggr::Max, gas::host>>);
static_assert(gas::ops::OpAttributes<gas::ops::LinearCombination>);  // a name that varies per use (add, sub...)
static_assert(!gas::ops::OpAttributes<Unnamed>);
static_assert(!gas::ops::OpAttributes<Owning>);

TEST_CASE("a custom op passes the gradient check") {
  // example-begin custom-op-gradcheck
  gas::autograd::Parameter<double> x("x", gas::Tensor<double>(6, 4));
  gas::Rng rng(3);
  for (auto& v : x.value.values()) v = 3 * rng.normal();
  gas::autograd::Tape<double> tape;
  for (const double beta : {0.5, 1.0, 4.0}) {
    auto build = [&](gas::autograd::Tape<double>& t) {
      auto y = my_ops::softplus(t.param(x), beta);
      return gas::ops::sum_all(gas::ops::mul(y, y));  // every element gets its own upstream gradient
    };
    const auto check = gas::autograd::check_gradients(tape, build, {&x});
    CHECK_MESSAGE(check.ok, check.worst);
  }
  // example-end custom-op-gradcheck
}

TEST_CASE_TEMPLATE("a custom op computes its definition and neither overflows nor loses small values", T, float,
                   double) {
  gas::autograd::Tape<T> tape;
  const gas::Tensor<T> x(2, 3, {-1000, -2, 0, 0.5, 3, 1000});
  for (const double beta : {1.0, 2.5}) {
    const auto y = my_ops::softplus(tape.constant(x.view()), beta);
    REQUIRE(y.rows() == 2);
    REQUIRE(y.cols() == 3);
    for (std::int64_t k = 0; k < 6; ++k) {
      const double v = static_cast<double>(x.data()[k]);
      const double expected = std::abs(v) < 100 ? std::log1p(std::exp(beta * v)) / beta : (v > 0 ? v : 0.0);
      CHECK(static_cast<double>(y.value().data()[k]) ==
            doctest::Approx(expected).epsilon(std::is_same_v<T, float> ? 1e-6 : 1e-14));
    }
  }
}

TEST_CASE("a custom op checks its arguments before recording anything") {
  gas::autograd::Tape<double> tape;
  auto x = tape.constant(gas::Tensor<double>(2, 2).view());
  const int size = tape.size();
  CHECK_THROWS_NAMING(gas::value_error, my_ops::softplus(x, 0.0), "beta must be positive");
  CHECK(tape.size() == size);
}

TEST_CASE("every op keeps typed attributes in its node; reading them as another type names the op and both types") {
  gas::autograd::Tape<double> tape;
  auto x = tape.variable(gas::Tensor<double>(3, 2, 1.0).view());
  auto y = my_ops::softplus(x, 2.5);
  CHECK(std::string(y.node().op) == "softplus");
  CHECK(y.node().attrs<my_ops::Softplus>().beta == 2.5);
  auto d = gas::ops::dropout(y, 0.25, 7, true);
  CHECK(d.node().attrs<gas::ops::Dropout>().p == 0.25);
  CHECK(d.node().attrs<gas::ops::Dropout>().seed == 7);
  auto s = gas::ops::add_scaled(x, 2.0, d, -0.5);
  CHECK(s.node().attrs<gas::ops::LinearCombination>().beta == -0.5);
  CHECK_THROWS_NAMING(gas::value_error, (void)y.node().attrs<gas::ops::Dropout>(), "op 'softplus'",
                      "my_ops::Softplus", "not gas::ops::Dropout");
  CHECK_THROWS_NAMING(gas::value_error, (void)x.node().attrs<gas::ops::Dropout>(), "op 'variable'",
                      "holds no attributes");
  tape.reset();  // a reused node holds nothing until its next op stores attributes
  (void)tape.constant(gas::Tensor<double>(3, 2).view());
  auto z = tape.constant(gas::Tensor<double>(3, 2).view());
  REQUIRE(z.id() == y.id());  // the node softplus recorded into before the reset
  CHECK_THROWS_NAMING(gas::value_error, (void)z.node().attrs<my_ops::Softplus>(), "op 'constant'",
                      "holds no attributes");
}

TEST_CASE("a warm step through a custom op allocates nothing" *
          doctest::skip(!gas_test::counts_allocations)) {
  const auto x0 = gas::Tensor<float>(64, 16, 0.5f);
  gas::autograd::Parameter<float> w("w", gas::Tensor<float>(64, 16, 0.25f));
  gas::autograd::Tape<float> tape;
  auto step = [&] {
    tape.reset();
    auto y = my_ops::softplus(gas::ops::add(tape.constant(x0.view()), tape.param(w)), 2.0);
    auto loss = gas::ops::sum_all(gas::ops::dropout(y, 0.5, 11, true));
    w.zero_grad();
    tape.backward(loss);
    return loss.value()(0, 0);
  };
  step();
  step();
  gas_test::CountAllocations count;
  const float loss = step();
  CHECK(count.count() == 0);
  CHECK(loss > 0);
}
