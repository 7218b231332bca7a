#include <doctest/doctest.h>

#include <array>
#include <span>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/reduce.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::random_tensor;
using gas_test::weighted_sum;
using DTape = gas::autograd::Tape<double>;
using DVar = gas::autograd::Var<double>;

}  // namespace

TEST_CASE("concat_rows and concat_cols of many parts pass the gradient check") {
  DTape tape;
  // Six parts: more than a node's input slots; one part is empty and one a constant.
  std::vector<gas::autograd::Parameter<double>> rows_parts, cols_parts;
  const std::array<std::int64_t, 6> sizes{2, 1, 0, 3, 1, 2};
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    rows_parts.emplace_back("r" + std::to_string(k), random_tensor<double>(sizes[k], 4, k + 1));
    cols_parts.emplace_back("c" + std::to_string(k), random_tensor<double>(3, sizes[k], k + 11));
  }
  const auto fixed = random_tensor<double>(2, 4, 50), fixed_cols = random_tensor<double>(3, 2, 51);
  std::vector<gas::autograd::Parameter<double>*> params_r, params_c;
  for (auto& p : rows_parts) params_r.push_back(&p);
  for (auto& p : cols_parts) params_c.push_back(&p);
  auto check_r = gas::autograd::check_gradients(
      tape,
      [&](DTape& t) {
        std::vector<DVar> parts;
        for (auto& p : rows_parts) parts.push_back(t.param(p));
        parts.insert(parts.begin() + 2, t.constant(fixed.view()));
        return weighted_sum(gas::ops::concat_rows(std::span<const DVar>(parts)));
      },
      params_r);
  CHECK_MESSAGE(check_r.ok, check_r.worst);
  auto check_c = gas::autograd::check_gradients(
      tape,
      [&](DTape& t) {
        std::vector<DVar> parts;
        for (auto& p : cols_parts) parts.push_back(t.param(p));
        parts.push_back(t.constant(fixed_cols.view()));
        return weighted_sum(gas::ops::concat_cols(std::span<const DVar>(parts)));
      },
      params_c);
  CHECK_MESSAGE(check_c.ok, check_c.worst);
}

TEST_CASE("two-part concatenations, a part used twice, and slices pass the gradient check") {
  DTape tape;
  gas::autograd::Parameter<double> a("a", random_tensor<double>(3, 4, 1)), b("b", random_tensor<double>(2, 4, 2)),
      c("c", random_tensor<double>(3, 2, 3));
  auto check = [&](auto build, std::vector<gas::autograd::Parameter<double>*> params) {
    const auto result = gas::autograd::check_gradients(tape, build, params);
    CHECK_MESSAGE(result.ok, result.worst);
  };
  check([&](DTape& t) { return weighted_sum(gas::ops::concat_rows(t.param(a), t.param(b))); }, {&a, &b});
  check([&](DTape& t) { return weighted_sum(gas::ops::concat_cols(t.param(a), t.param(c))); }, {&a, &c});
  check([&](DTape& t) { auto x = t.param(a); return weighted_sum(gas::ops::concat_rows(x, x)); }, {&a});
  check([&](DTape& t) { return weighted_sum(gas::ops::slice_rows(t.param(a), 1, 3)); }, {&a});
  check([&](DTape& t) { return weighted_sum(gas::ops::slice_cols(t.param(a), 1, 3)); }, {&a});
  check([&](DTape& t) {  // a slice of a slice of a concatenation, through both view and copy
    auto x = gas::ops::concat_rows(t.param(a), t.param(b));
    return weighted_sum(gas::ops::slice_cols(gas::ops::slice_rows(x, 2, 5), 0, 3));
  }, {&a, &b});
}

TEST_CASE_TEMPLATE("concatenations and slices place every element where the naive loops do", T, float, double) {
  gas::autograd::Tape<T> tape;
  const auto a = random_tensor<T>(3, 4, 1), b = random_tensor<T>(2, 4, 2), c = random_tensor<T>(3, 5, 3);
  auto va = tape.constant(a.view()), vb = tape.constant(b.view()), vc = tape.constant(c.view());
  const auto rows = gas::ops::concat_rows(va, vb), cols = gas::ops::concat_cols(va, vc);
  REQUIRE(rows.rows() == 5);
  REQUIRE(rows.cols() == 4);
  REQUIRE(cols.rows() == 3);
  REQUIRE(cols.cols() == 9);
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 4; ++j) CHECK(rows.value()(i, j) == (i < 3 ? a(i, j) : b(i - 3, j)));
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 9; ++j) CHECK(cols.value()(i, j) == (j < 4 ? a(i, j) : c(i, j - 4)));
  const auto sr = gas::ops::slice_rows(rows, 2, 4), sc = gas::ops::slice_cols(cols, 3, 7);
  REQUIRE(sr.rows() == 2);
  REQUIRE(sc.cols() == 4);
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 4; ++j) CHECK(sr.value()(i, j) == rows.value()(i + 2, j));
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) CHECK(sc.value()(i, j) == cols.value()(i, j + 3));
  CHECK(sr.value().data() == rows.value().data() + 2 * 4);  // slice_rows is a view, not a copy
  const auto empty = gas::ops::slice_rows(rows, 5, 5);
  CHECK(empty.rows() == 0);
}

TEST_CASE("a concatenation of constants needs no gradient; under NoGrad neither does one of parameters") {
  gas::autograd::Tape<double> tape;
  gas::autograd::Parameter<double> p("p", random_tensor<double>(2, 2, 1));
  auto k = tape.constant(p.value.view());
  CHECK_FALSE(gas::ops::concat_rows(k, k).requires_grad());
  CHECK(gas::ops::concat_rows(k, tape.param(p)).requires_grad());
  gas::autograd::NoGrad guard(tape);
  CHECK_FALSE(gas::ops::concat_cols(tape.param(p), k).requires_grad());
}

TEST_CASE("concatenations and slices reject bad shapes and ranges") {
  gas::autograd::Tape<double> tape, other;
  auto a = tape.constant(gas::Tensor<double>(3, 4).view()), b = tape.constant(gas::Tensor<double>(2, 5).view());
  auto foreign = other.constant(gas::Tensor<double>(3, 4).view());
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::concat_rows(a, b), "part 1 is (2 x 5)", "part 0 is (3 x 4)", "column");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::concat_cols(a, b), "part 1 is (2 x 5)", "row");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::concat_rows(a, foreign), "part 1", "another tape");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::concat_rows(std::span<const DVar>()), "nothing to concatenate");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::slice_rows(a, 2, 4), "[2, 4)", "(3 x 4)");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::slice_rows(a, 2, 1), "[2, 1)");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::slice_cols(a, -1, 2), "[-1, 2)", "(3 x 4)");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::slice_cols(a, 0, 5), "[0, 5)");
}
