#include <doctest/doctest.h>

#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/core/rng.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/gather.hpp"
#include "gas/ops/reduce.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::max_abs_diff;
using gas_test::random_tensor;
using gas_test::weighted_sum;
using DTape = gas::autograd::Tape<double>;

std::vector<gas::node_id> random_index(std::size_t n, gas::node_id bound, std::uint64_t seed) {
  gas::Rng rng(seed);
  std::vector<gas::node_id> index(n);
  for (auto& v : index) v = static_cast<gas::node_id>(rng.below(static_cast<std::uint64_t>(bound)));
  return index;
}

}  // namespace

TEST_CASE("gather_rows and scatter_add_rows pass the gradient check with repeated and missing rows") {
  DTape tape;
  gas::autograd::Parameter<double> x("x", random_tensor<double>(6, 3, 1));
  const std::vector<gas::node_id> index{4, 0, 4, 2, 4, 5, 0};  // rows 1 and 3 never gathered, row 4 thrice
  auto g = gas::autograd::check_gradients(
      tape, [&](DTape& t) { return weighted_sum(gas::ops::gather_rows(t.param(x), index)); }, {&x});
  CHECK_MESSAGE(g.ok, g.worst);
  gas::autograd::Parameter<double> m("m", random_tensor<double>(7, 3, 2));
  auto s = gas::autograd::check_gradients(
      tape, [&](DTape& t) { return weighted_sum(gas::ops::scatter_add_rows(t.param(m), index, 8)); }, {&m});
  CHECK_MESSAGE(s.ok, s.worst);
  auto both = gas::autograd::check_gradients(  // message passing in miniature: gather sources, scatter to targets
      tape,
      [&](DTape& t) {
        return weighted_sum(gas::ops::scatter_add_rows(gas::ops::gather_rows(t.param(x), index), index, 6));
      },
      {&x});
  CHECK_MESSAGE(both.ok, both.worst);
}

TEST_CASE_TEMPLATE("gather and scatter match naive loops", T, float, double) {
  gas::autograd::Tape<T> tape;
  const auto x = random_tensor<T>(20, 5, 3);
  const auto index = random_index(50, 20, 4);
  auto v = tape.constant(x.view());
  const auto gathered = gas::ops::gather_rows(v, index);
  REQUIRE(gathered.rows() == 50);
  for (std::size_t i = 0; i < index.size(); ++i)
    for (std::int64_t j = 0; j < 5; ++j)
      CHECK(gathered.value()(static_cast<std::int64_t>(i), j) == x(index[i], j));
  const auto messages = random_tensor<T>(50, 5, 5);
  const auto target = random_index(50, 30, 6);
  const auto scattered = gas::ops::scatter_add_rows(tape.constant(messages.view()), target, 30);
  gas::Tensor<T> expected(30, 5, T{0});
  for (std::size_t i = 0; i < target.size(); ++i)
    for (std::int64_t j = 0; j < 5; ++j) expected(target[i], j) += messages(static_cast<std::int64_t>(i), j);
  CHECK(max_abs_diff(scattered.value(), expected) == 0.0);  // same summation order as the serial loop
}

TEST_CASE("on many rows (the parallel path) scatter-adds are bit-identical to the serial loop") {
  gas::autograd::Tape<float> tape;
  const gas::node_id rows = 9000;
  const auto index = random_index(40000, rows, 8);
  const auto messages = random_tensor<float>(40000, 4, 9);
  gas::Tensor<float> expected(rows, 4, 0.0f);
  for (std::size_t i = 0; i < index.size(); ++i)
    for (std::int64_t j = 0; j < 4; ++j) expected(index[i], j) += messages(static_cast<std::int64_t>(i), j);

  SUBCASE("scatter_add_rows forward") {
    auto scattered = gas::ops::scatter_add_rows(tape.constant(messages.view()), index, rows);
    CHECK(max_abs_diff(scattered.value(), expected) == 0.0);
  }
  SUBCASE("gather_rows backward, twice on a reused tape") {
    gas::autograd::Parameter<float> p("p", random_tensor<float>(rows, 4, 11));
    for (int step = 0; step < 2; ++step) {
      tape.reset();
      p.zero_grad();
      auto gathered = gas::ops::gather_rows(tape.param(p), index);
      // loss = sum(gathered * messages): the gradient of p is the scatter-add of messages by index.
      tape.backward(gas::ops::sum_all(gas::ops::mul(gathered, tape.constant(messages.view()))));
      CHECK(max_abs_diff(p.grad, expected) == 0.0);
    }
  }
}

TEST_CASE("gather and scatter reject bad indices and shapes, naming the position") {
  gas::autograd::Tape<double> tape;
  auto x = tape.constant(gas::Tensor<double>(5, 2).view());
  const std::vector<gas::node_id> high{0, 1, 5, 2, 3}, low{0, -1, 1, 2, 3}, three{0, 1, 2};
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::gather_rows(x, high), "index[2] = 5", "[0, 5)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::gather_rows(x, low), "index[1] = -1");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::scatter_add_rows(x, high, 4), "index[2] = 5", "[0, 4)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::scatter_add_rows(x, low, 7), "index[1] = -1");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::scatter_add_rows(x, three, 7), "3 indices", "(5 x 2)");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::scatter_add_rows(x, high, -1), "negative num_rows -1");
  CHECK(tape.size() == 1);
  const auto none = gas::ops::gather_rows(x, std::span<const gas::node_id>());
  CHECK(none.rows() == 0);
  CHECK(none.cols() == 2);
}

TEST_CASE("gather and scatter of zero-width values work and backpropagate") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> p("p", gas::Tensor<double>(4, 0));
  const std::vector<gas::node_id> index{3, 0, 3};
  auto g = gas::ops::gather_rows(tape.param(p), index);
  auto s = gas::ops::scatter_add_rows(g, index, 5);
  CHECK(s.rows() == 5);
  CHECK(s.cols() == 0);
  tape.backward(gas::ops::sum_all(s));
  CHECK(p.grad.rows() == 4);
}
