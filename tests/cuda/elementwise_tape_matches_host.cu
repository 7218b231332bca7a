// The elementwise ops of the tape (activations, arithmetic, scalar division, row norms, reductions) on a device
// tape against the same ops on a host tape: forward values and the gradients of every input, for the same random
// inputs and seed gradient. GPU cases skip (not fail) without a GPU; the others check what needs no device.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gas/gas.hpp>

#include "matches_host_util.hpp"

namespace {

using gas_test::no_gpu;
using HostMatrix = gas::Tensor<float, gas::host>;
using HostTape = gas::autograd::Tape<float>;
using DeviceTape = gas::autograd::Tape<float, gas::cuda::device>;

/// One input of an op: its value and whether it needs a gradient (a variable) or not (a constant).
struct Input {
  HostMatrix value;
  bool grad = true;
};

/// What a tape computed: the op's value and, per input, its gradient (0 x 0 where the input is a constant).
struct Outcome {
  HostMatrix y;
  std::vector<HostMatrix> grads;
};

HostMatrix absolute(const HostMatrix& m) {
  HostMatrix out(m.rows(), m.cols());
  for (std::int64_t e = 0; e < m.size(); ++e) out.data()[e] = std::abs(m.data()[e]);
  return out;
}

// The (rows x cols) shapes every op runs on: 16 and 128 columns (whole float4 packs), 37 (a ragged tail), one
// column, and no rows.
const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{123, 16}, {77, 37}, {40, 128}, {300, 1}, {0, 16}};

template <class Tape>
typename Tape::var make_input(Tape& tape, const HostMatrix& m, bool grad) {
  if constexpr (std::is_same_v<Tape, HostTape>) return grad ? tape.variable(m.view()) : tape.constant(m.view());
  else return grad ? tape.variable_from_host(m.view()) : tape.constant_from_host(m.view());
}

// Records op(inputs) on `tape`, backpropagates the random seed gradient G (seed `seed`, the output's shape) and
// copies out the value and the gradients. With `magnitudes`, runs on |inputs| and |G| instead: for the sums, the
// result is the magnitude of the summed terms, which bounds the error of a reordered sum (check_close's scale).
template <class Tape, class Op>
Outcome run(Tape& tape, const Op& op, const std::vector<Input>& inputs, std::uint64_t seed, bool magnitudes) {
  std::vector<typename Tape::var> xs;
  for (const auto& in : inputs) xs.push_back(make_input(tape, magnitudes ? absolute(in.value) : in.value, in.grad));
  auto y = op(xs);
  HostMatrix G = gas_test::random_matrix<float>(y.rows(), y.cols(), seed);
  if (magnitudes) G = absolute(G);
  if constexpr (std::is_same_v<Tape, HostTape>) tape.backward(y, G.view());
  else tape.backward(y, tape.constant_from_host(G.view()).value());
  Outcome out{gas::autograd::to_host(y), {}};
  for (std::size_t k = 0; k < inputs.size(); ++k)
    out.grads.push_back(inputs[k].grad ? tape.to_host(xs[k].grad()) : HostMatrix());
  return out;
}

void compare(const Outcome& device, const Outcome& host, const Outcome& bound, const std::vector<Input>& inputs,
             double rel) {
  {
    INFO("value (" << host.y.rows() << " x " << host.y.cols() << ")");
    REQUIRE(device.y.rows() == host.y.rows());
    REQUIRE(device.y.cols() == host.y.cols());
    gas_test::check_close<float>(device.y.values(), host.y.values(), rel, bound.y.values());
  }
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].grad) continue;
    INFO("gradient of input " << k);
    gas_test::check_close<float>(device.grads[k].values(), host.grads[k].values(), rel, bound.grads[k].values());
  }
}

/// How check_op scales its tolerance: by the magnitudes run (see run()), right for one op whose error comes from
/// reordered sums; or by the largest host value of each result, right for chains of ops, where a gradient that
/// adds several paths may cancel to nearly nothing.
enum class Scale { magnitudes, largest };

HostMatrix filled_with_largest(const HostMatrix& m) {
  float largest = 0;
  for (const float v : m.values()) largest = std::max(largest, std::abs(v));
  return HostMatrix(m.rows(), m.cols(), largest);
}

// Runs op on a host tape and on a device tape (on its own stream) and compares everything; `rel` relative to the
// magnitudes run (see run()).
template <class Op>
void check_op(const Op& op, const std::vector<Input>& inputs, double rel, Scale scale = Scale::magnitudes,
              std::uint64_t seed = 7) {
  HostTape host_tape, bound_tape;
  const Outcome host = run(host_tape, op, inputs, seed, false);
  Outcome bound;
  if (scale == Scale::magnitudes) {
    bound = run(bound_tape, op, inputs, seed, true);
  } else {
    bound.y = filled_with_largest(host.y);
    for (const auto& g : host.grads) bound.grads.push_back(filled_with_largest(g));
  }
  gas::cuda::Stream stream;
  DeviceTape device_tape(gas::Exec<gas::cuda::device>(stream.get()));
  const Outcome device = run(device_tape, op, inputs, seed, false);
  compare(device, host, bound, inputs, rel);
}

// check_op on every shape with one (rows, cols) input drawn from [lo, hi).
template <class Op>
void check_unary(const Op& op, double rel, double lo = -2, double hi = 2) {
  for (const auto& [rows, cols] : shapes) {
    CAPTURE(rows);
    CAPTURE(cols);
    check_op(op, {{gas_test::random_matrix<float>(rows, cols, 11, lo, hi)}}, rel);
  }
}

// check_op on every shape with two (rows, cols) inputs; `second_grad` says whether the second needs a gradient.
template <class Op>
void check_binary(const Op& op, double rel, bool second_grad = true) {
  for (const auto& [rows, cols] : shapes) {
    CAPTURE(rows);
    CAPTURE(cols);
    check_op(op,
             {{gas_test::random_matrix<float>(rows, cols, 21)},
              {gas_test::random_matrix<float>(rows, cols, 22), second_grad}},
             rel);
  }
}

std::vector<float> random_factors(std::int64_t n, std::uint64_t seed) {
  const auto m = gas_test::random_matrix<float>(n, 1, seed, -2, 2);
  return {m.values().begin(), m.values().end()};
}

template <class Tape>
std::string log_error(Tape& tape, const HostMatrix& x) {
  auto v = make_input(tape, x, true);
  try {
    (void)gas::ops::log(v);
  } catch (const gas::value_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

// ---- no GPU needed --------------------------------------------------------------------------------------------

TEST_CASE("cuda_elementwise_activation_policies_carry_the_host_attributes") {
  using gas::cuda::detail::activation_of;
  CHECK(activation_of(gas::ops::Elu{.alpha = 0.7}).alpha == 0.7);
  CHECK(activation_of(gas::ops::LeakyRelu{.negative_slope = 0.7}).slope == 0.7);
  CHECK((std::is_same_v<decltype(activation_of(gas::ops::Relu{})), gas::cuda::act::Relu>));
  CHECK((std::is_same_v<decltype(activation_of(gas::ops::Sigmoid{})), gas::cuda::act::Sigmoid>));
  CHECK((std::is_same_v<decltype(activation_of(gas::ops::Tanh{})), gas::cuda::act::Tanh>));
  CHECK((std::is_same_v<decltype(activation_of(gas::ops::Exp{})), gas::cuda::act::Exp>));
  CHECK((std::is_same_v<decltype(activation_of(gas::ops::Log{})), gas::cuda::act::Log>));
}

TEST_CASE("cuda_elementwise_launchers_validate_arguments_before_touching_the_device") {
  float* none = nullptr;
  const float* cnone = nullptr;
  CHECK_THROWS_AS(gas::cuda::linear_combination(1.0f, cnone, 1.0f, cnone, none, -1, nullptr), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::axpy(1.0f, cnone, none, -1, nullptr), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::hadamard(cnone, cnone, none, false, -1, nullptr), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::affine(1.0f, cnone, 0.0f, none, -1, nullptr), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::divide_by_scalar(cnone, cnone, none, false, -1, nullptr), gas::value_error);
  CHECK_THROWS_WITH_AS(gas::cuda::scale_rows(cnone, cnone, -1, 3, none, false, nullptr),
                       doctest::Contains("cuda::scale_rows: negative shape (-1, 3)"), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::add_broadcast(cnone, gas::cuda::Broadcast::row, 1.0f, none, 2, -3, nullptr),
                  gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::row_sums(cnone, -2, 3, none, 1.0f, nullptr), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::add_row_dots(cnone, cnone, 2, -3, none, nullptr), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::total_sum(cnone, -1, none, 1.0, nullptr), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::add_divisor_grad(cnone, cnone, cnone, none, -1, nullptr), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::first_non_positive(cnone, -1, nullptr), gas::value_error);
  CHECK(gas::cuda::first_non_positive(cnone, 0, nullptr) == -1);  // nothing to scan: no CUDA call
}

// ---- GPU ------------------------------------------------------------------------------------------------------

TEST_CASE("cuda_tape_activations_match_host" * doctest::skip(no_gpu)) {
  // relu and leaky_relu are exact; the others differ from the host by the math libraries' ulps.
  SUBCASE("relu") { check_unary([](auto& x) { return gas::ops::relu(x[0]); }, 0.0); }
  SUBCASE("leaky_relu") { check_unary([](auto& x) { return gas::ops::leaky_relu(x[0], 0.2); }, 0.0); }
  SUBCASE("elu") { check_unary([](auto& x) { return gas::ops::elu(x[0], 0.7); }, 1e-5); }
  SUBCASE("sigmoid") { check_unary([](auto& x) { return gas::ops::sigmoid(x[0]); }, 1e-5); }
  SUBCASE("tanh") { check_unary([](auto& x) { return gas::ops::tanh(x[0]); }, 1e-5); }
  SUBCASE("exp") { check_unary([](auto& x) { return gas::ops::exp(x[0]); }, 1e-5); }
  SUBCASE("log") { check_unary([](auto& x) { return gas::ops::log(x[0]); }, 1e-5, 0.05, 3.0); }
}

TEST_CASE("cuda_tape_log_rejects_the_same_element_as_the_host" * doctest::skip(no_gpu)) {
  gas::cuda::Stream stream;
  SUBCASE("two bad elements in different blocks: the first is named") {
    auto X = gas_test::random_matrix<float>(3000, 37, 5, 0.1, 2);
    X(2500, 5) = -1.0f;
    X(1200, 30) = 0.0f;
    HostTape host_tape;
    DeviceTape device_tape(gas::Exec<gas::cuda::device>(stream.get()));
    const std::string host = log_error(host_tape, X), device = log_error(device_tape, X);
    CHECK(host.find("x(1200, 30) = 0") != std::string::npos);
    CHECK(device == host);
    CHECK(device_tape.size() == 1);  // only the input: nothing was recorded
  }
  SUBCASE("NaN is not positive") {
    auto X = gas_test::random_matrix<float>(5, 16, 6, 0.1, 2);
    X(3, 15) = std::numeric_limits<float>::quiet_NaN();
    X(4, 0) = -2.0f;
    HostTape host_tape;
    DeviceTape device_tape(gas::Exec<gas::cuda::device>(stream.get()));
    const std::string host = log_error(host_tape, X), device = log_error(device_tape, X);
    CHECK(host.find("x(3, 15)") != std::string::npos);
    CHECK(device == host);
  }
}

TEST_CASE("cuda_tape_linear_combinations_match_host" * doctest::skip(no_gpu)) {
  SUBCASE("add") { check_binary([](auto& x) { return gas::ops::add(x[0], x[1]); }, 1e-5); }
  SUBCASE("sub") { check_binary([](auto& x) { return gas::ops::sub(x[0], x[1]); }, 1e-5); }
  SUBCASE("add_scaled") { check_binary([](auto& x) { return gas::ops::add_scaled(x[0], 0.3f, x[1], 0.7f); }, 1e-5); }
  SUBCASE("add with a constant") { check_binary([](auto& x) { return gas::ops::add(x[0], x[1]); }, 1e-5, false); }
  SUBCASE("a value added to itself accumulates both gradients") {
    check_unary([](auto& x) { return gas::ops::add_scaled(x[0], 0.5f, x[0], 2.0f); }, 1e-5);
  }
}

TEST_CASE("cuda_tape_products_and_affine_maps_match_host" * doctest::skip(no_gpu)) {
  SUBCASE("mul") { check_binary([](auto& x) { return gas::ops::mul(x[0], x[1]); }, 1e-5); }
  SUBCASE("mul by a constant") { check_binary([](auto& x) { return gas::ops::mul(x[0], x[1]); }, 1e-5, false); }
  SUBCASE("mul by itself") { check_unary([](auto& x) { return gas::ops::mul(x[0], x[0]); }, 1e-5); }
  SUBCASE("scale") { check_unary([](auto& x) { return gas::ops::scale(x[0], -1.7f); }, 1e-5); }
  SUBCASE("add_scalar") { check_unary([](auto& x) { return gas::ops::add_scalar(x[0], 0.25f); }, 1e-5); }
}

TEST_CASE("cuda_tape_bias_add_matches_host" * doctest::skip(no_gpu)) {
  // 3000 rows: more than two column chunks of the bias gradient's sum.
  auto more = shapes;
  more.emplace_back(3000, 37);
  for (const auto& [rows, cols] : more)
    for (const bool x_grad : {true, false}) {
      CAPTURE(rows);
      CAPTURE(cols);
      CAPTURE(x_grad);
      check_op([](auto& x) { return gas::ops::bias_add(x[0], x[1]); },
               {{gas_test::random_matrix<float>(rows, cols, 31), x_grad},
                {gas_test::random_matrix<float>(1, cols, 32)}},
               1e-4);
    }
}

TEST_CASE("cuda_tape_row_factors_match_host" * doctest::skip(no_gpu)) {
  for (const auto& [rows, cols] : shapes) {
    CAPTURE(rows);
    CAPTURE(cols);
    const auto factors = random_factors(rows, 41);
    check_op([&](auto& x) { return gas::ops::scale_rows(x[0], factors); },
             {{gas_test::random_matrix<float>(rows, cols, 42)}}, 1e-5);
    // mul_rows: the factors' gradient is a row sum.
    check_op([](auto& x) { return gas::ops::mul_rows(x[0], x[1]); },
             {{gas_test::random_matrix<float>(rows, cols, 43)}, {gas_test::random_matrix<float>(rows, 1, 44)}}, 1e-4);
    check_op([](auto& x) { return gas::ops::mul_rows(x[0], x[1]); },
             {{gas_test::random_matrix<float>(rows, cols, 43)}, {gas_test::random_matrix<float>(rows, 1, 44), false}},
             1e-4);
  }
}

TEST_CASE("cuda_tape_scale_rows_keeps_a_device_copy_of_the_factors" * doctest::skip(no_gpu)) {
  // The device backward must read the factors the op saw, not the caller's (since changed) memory; and a second
  // step on the reset tape, with other factors, reuses the node's buffers and gets its own result.
  const std::int64_t rows = 200, cols = 37;
  gas::cuda::Stream stream;
  DeviceTape device_tape(gas::Exec<gas::cuda::device>(stream.get()));
  for (const std::uint64_t step : {0u, 1u}) {
    CAPTURE(step);
    const auto X = gas_test::random_matrix<float>(rows, cols, 50 + step);
    const auto G = gas_test::random_matrix<float>(rows, cols, 60 + step);
    const auto original = random_factors(rows, 70 + step);
    HostTape host_tape;
    auto hx = host_tape.variable(X.view());
    auto hy = gas::ops::scale_rows(hx, original);
    host_tape.backward(hy, G.view());

    device_tape.reset();
    auto factors = original;
    auto dx = device_tape.variable_from_host(X.view());
    auto dy = gas::ops::scale_rows(dx, factors);
    for (auto& f : factors) f = 1000.0f;  // the caller reuses its buffer before the backward pass
    device_tape.backward(dy, device_tape.constant_from_host(G.view()).value());
    gas_test::check_close<float>(gas::autograd::to_host(dy).values(), gas_test::as_span(hy.value()), 1e-5);
    gas_test::check_close<float>(device_tape.to_host(dx.grad()).values(), gas_test::as_span(hx.grad()), 1e-5);
  }
}

TEST_CASE("cuda_tape_div_by_scalar_matches_host" * doctest::skip(no_gpu)) {
  for (const auto& [rows, cols] : shapes)
    for (const bool x_grad : {true, false}) {
      CAPTURE(rows);
      CAPTURE(cols);
      CAPTURE(x_grad);
      // The divisor's gradient sums every element of the quotient's gradient.
      check_op([](auto& x) { return gas::ops::div_by_scalar(x[0], x[1]); },
               {{gas_test::random_matrix<float>(rows, cols, 81), x_grad},
                {gas_test::random_matrix<float>(1, 1, 82, 0.5, 2)}},
               1e-4);
    }
}

TEST_CASE("cuda_tape_div_by_scalar_rejects_a_zero_divisor" * doctest::skip(no_gpu)) {
  gas::cuda::Stream stream;
  DeviceTape tape(gas::Exec<gas::cuda::device>(stream.get()));
  const auto X = gas_test::random_matrix<float>(4, 16, 83);
  const HostMatrix zero(1, 1, 0.0f);
  auto x = tape.variable_from_host(X.view());
  auto s = tape.variable_from_host(zero.view());
  CHECK_THROWS_WITH_AS(gas::ops::div_by_scalar(x, s), doctest::Contains("division by zero"), gas::value_error);
  CHECK(tape.size() == 2);
}

TEST_CASE("cuda_tape_row_l2_norm_matches_host" * doctest::skip(no_gpu)) {
  for (const auto& [rows, cols] : shapes) {
    CAPTURE(rows);
    CAPTURE(cols);
    auto X = gas_test::random_matrix<float>(rows, cols, 91);
    if (rows > 2)
      for (std::int64_t j = 0; j < cols; ++j) X(2, j) = 0.0f;  // an all-zero row: gradient 0, not NaN
    check_op([](auto& x) { return gas::ops::row_l2_norm(x[0]); }, {{X}}, 1e-4);
  }
}

TEST_CASE("cuda_tape_reductions_match_host" * doctest::skip(no_gpu)) {
  auto more = shapes;
  more.emplace_back(3000, 37);    // several column chunks
  more.emplace_back(300000, 1);   // more elements than the total's first stage has threads
  for (const auto& [rows, cols] : more) {
    CAPTURE(rows);
    CAPTURE(cols);
    const std::vector<Input> x{{gas_test::random_matrix<float>(rows, cols, 101)}};
    check_op([](auto& v) { return gas::ops::sum_all(v[0]); }, x, 1e-4);
    check_op([](auto& v) { return gas::ops::sum_rows(v[0]); }, x, 1e-4);
    check_op([](auto& v) { return gas::ops::sum_cols(v[0]); }, x, 1e-4);
    if (rows > 0) {
      check_op([](auto& v) { return gas::ops::mean_all(v[0]); }, x, 1e-4);
      check_op([](auto& v) { return gas::ops::mean_rows(v[0]); }, x, 1e-4);
    }
    check_op([](auto& v) { return gas::ops::mean_cols(v[0]); }, x, 1e-4);
  }
}

TEST_CASE("cuda_tape_elementwise_chains_match_host" * doctest::skip(no_gpu)) {
  // A scalar loss seeded by backward(loss) through several ops, and the regularizer's shape of chain.
  const auto A = gas_test::random_matrix<float>(257, 37, 111);
  const auto B = gas_test::random_matrix<float>(257, 37, 112);
  const auto bias = gas_test::random_matrix<float>(1, 37, 113);
  const auto chain = [](auto& x) {
    auto h = gas::ops::tanh(gas::ops::bias_add(gas::ops::mul(x[0], x[1]), x[2]));
    return gas::ops::add(gas::ops::mean_all(gas::ops::row_l2_norm(gas::ops::sub(h, x[1]))),
                         gas::ops::sum_all(gas::ops::sigmoid(gas::ops::scale(h, 3.0f))));
  };
  const std::vector<Input> inputs{{A}, {B}, {bias}};
  check_op(chain, inputs, 1e-4, Scale::largest);

  HostTape host_tape;
  std::vector<HostTape::var> hx;
  for (const auto& in : inputs) hx.push_back(host_tape.variable(in.value.view()));
  host_tape.backward(chain(hx));
  gas::cuda::Stream stream;
  DeviceTape device_tape(gas::Exec<gas::cuda::device>(stream.get()));
  std::vector<DeviceTape::var> dx;
  for (const auto& in : inputs) dx.push_back(device_tape.variable_from_host(in.value.view()));
  device_tape.backward(chain(dx));
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    CAPTURE(k);
    const HostMatrix host(hx[k].grad());
    gas_test::check_close<float>(device_tape.to_host(dx[k].grad()).values(), host.values(), 1e-4,
                                 filled_with_largest(host).values());
  }
}
