// A custom op from user code on the device: the device half of my_ops::softplus (its host half and attributes are
// in tests/autograd/custom_op.hpp), checked against the host implementation and by central differences on the
// device tape itself. GPU cases skip (not fail) without a GPU; the others run the op's checks and a value without
// elements, which need no device memory.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gas/gas.hpp>

#include "autograd/custom_op.hpp"
#include "matches_host_util.hpp"

// example-begin custom-op-device
namespace my_ops {

template <class T>
__global__ void softplus_forward(const T* x, T* y, std::int64_t n, double beta) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const double z = beta * static_cast<double>(x[i]);
  y[i] = static_cast<T>((fmax(z, 0.0) + log1p(exp(-fabs(z)))) / beta);
}

template <class T>
__global__ void softplus_backward(const T* x, const T* g, T* gx, std::int64_t n, double beta) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) gx[i] += g[i] * static_cast<T>(1 / (1 + exp(-beta * static_cast<double>(x[i]))));
}

}  // namespace my_ops

/// The device implementation: the same two members, with device tensors (contiguous) and the tape's stream.
namespace gas::ops {
template <>
struct Impl<my_ops::Softplus, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const my_ops::Softplus& a) {
    const auto x = tape.node(node.inputs[0]).value;
    const std::int64_t n = x.rows() * x.cols();
    if (n == 0) return;  // nothing to launch
    const auto blocks = static_cast<unsigned>((n + 255) / 256);
    my_ops::softplus_forward<T><<<blocks, 256, 0, tape.exec().stream()>>>(x.data(), node.value.data(), n, a.beta);
    GAS_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const my_ops::Softplus& a) {
    const auto x = tape.node(node.inputs[0]).value;
    auto gx = tape.grad_of(node.inputs[0]);
    const std::int64_t n = x.rows() * x.cols();
    if (n == 0) return;
    const auto blocks = static_cast<unsigned>((n + 255) / 256);
    my_ops::softplus_backward<T><<<blocks, 256, 0, tape.exec().stream()>>>(x.data(), node.grad.data(), gx.data(), n,
                                                                           a.beta);
    GAS_CUDA_CHECK_LAUNCH();
  }
};
}  // namespace gas::ops
// example-end custom-op-device

namespace {

using gas_test::no_gpu;
using Dev = gas::cuda::device;

/// Value and input gradient of softplus on the host and on the device from the same input and seed gradient.
template <class T>
void check_matches_host(std::int64_t rows, std::int64_t cols, double beta, std::uint64_t seed) {
  CAPTURE(rows);
  CAPTURE(cols);
  CAPTURE(beta);
  const auto X = gas_test::random_matrix<T>(rows, cols, seed, -6, 6);
  const auto G = gas_test::random_matrix<T>(rows, cols, seed + 1);
  gas::autograd::Tape<T> ht;
  auto hx = ht.variable(X.view());
  auto hy = my_ops::softplus(hx, beta);
  ht.backward(hy, G.view());

  gas::autograd::Tape<T, Dev> dt;
  for (int pass = 0; pass < 2; ++pass) {  // the second pass reuses the tape's nodes
    CAPTURE(pass);
    dt.reset();
    auto dx = dt.variable_from_host(X.view());
    auto dy = my_ops::softplus(dx, beta);
    CHECK(dy.node().template attrs<my_ops::Softplus>().beta == beta);
    auto dG = dt.constant_from_host(G.view());
    dt.backward(dy, dG.value());
    const double rel = std::is_same_v<T, float> ? 1e-6 : 1e-13;
    const auto y = gas::autograd::to_host(dy);
    gas_test::check_close<T>(y.values(), gas_test::as_span(hy.value()), rel);
    const auto gx = dt.to_host(dx.grad());
    gas_test::check_close<T>(gx.values(), gas_test::as_span(hx.grad()), rel);
  }
}

}  // namespace

// ---- no GPU needed --------------------------------------------------------------------------------------------

TEST_CASE("cuda_custom_op_records_on_a_device_tape_and_checks_its_arguments") {
  // A value without elements needs no device memory: the op records, stores its attributes and launches nothing.
  gas::autograd::Tape<double, Dev> dt;
  const gas::Tensor<double, gas::host> none(3, 0);
  auto x = dt.variable_from_host(none.view());
  auto y = my_ops::softplus(x, 2.0);
  CHECK(y.rows() == 3);
  CHECK(y.cols() == 0);
  CHECK(std::string(y.node().op) == "softplus");
  CHECK(y.node().attrs<my_ops::Softplus>().beta == 2.0);
  CHECK_THROWS_AS((void)y.node().attrs<gas::ops::Dropout>(), gas::value_error);
  CHECK_THROWS_AS(my_ops::softplus(x, -1.0), gas::value_error);
}

// ---- GPU ------------------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("cuda_custom_op_matches_host" * doctest::skip(no_gpu), T, float, double) {
  std::uint64_t seed = 10;
  for (const auto& [rows, cols] : std::vector<std::pair<std::int64_t, std::int64_t>>{{37, 13}, {1, 1}, {300, 64}})
    for (const double beta : {0.5, 1.0, 3.0}) check_matches_host<T>(rows, cols, beta, seed += 2);
}

TEST_CASE("cuda_custom_op_passes_a_gradient_check_on_the_device" * doctest::skip(no_gpu)) {
  // Central differences of a weighted sum of the device op's output against the device tape's own gradient, in
  // double, as gas::autograd::check_gradients does on the host.
  const auto X = gas_test::random_matrix<double>(5, 4, 21, -3, 3);
  const auto W = gas_test::random_matrix<double>(5, 4, 22);
  gas::autograd::Tape<double, Dev> dt;
  for (const double beta : {0.5, 2.0}) {
    CAPTURE(beta);
    auto loss_at = [&](const gas::Tensor<double, gas::host>& x, gas::Tensor<double, gas::host>* grad) {
      dt.reset();
      auto xv = dt.variable_from_host(x.view());
      auto loss = gas::ops::sum_all(gas::ops::mul(my_ops::softplus(xv, beta), dt.constant_from_host(W.view())));
      if (grad != nullptr) {
        dt.backward(loss);
        *grad = dt.to_host(xv.grad());
      }
      return gas::autograd::to_host(loss)(0, 0);
    };
    gas::Tensor<double, gas::host> analytic;
    (void)loss_at(X, &analytic);
    constexpr double eps = 1e-6;
    double worst = 0;
    for (std::int64_t k = 0; k < X.size(); ++k) {
      auto x = X;
      x.data()[k] = X.data()[k] + eps;
      const double plus = loss_at(x, nullptr);
      x.data()[k] = X.data()[k] - eps;
      const double minus = loss_at(x, nullptr);
      const double numeric = (plus - minus) / (2 * eps), a = analytic.data()[k];
      worst = std::max(worst, std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)}));
    }
    CHECK(worst <= 1e-6);
  }
}
