#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/batch_norm.hpp"
#include "gas/ops/reduce.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::max_abs_diff;
using gas_test::random_tensor;

/// Naive training-mode batch norm: y and the batch's (mean, biased variance) per column.
template <class T>
gas::Tensor<double> naive_batch_norm(const gas::Tensor<T>& x, const gas::Tensor<T>& gamma, const gas::Tensor<T>& beta,
                                     std::vector<double>& mean, std::vector<double>& var, double eps) {
  const auto n = x.rows(), c = x.cols();
  mean.assign(static_cast<std::size_t>(c), 0.0);
  var.assign(static_cast<std::size_t>(c), 0.0);
  for (std::int64_t j = 0; j < c; ++j) {
    const auto jj = static_cast<std::size_t>(j);
    for (std::int64_t i = 0; i < n; ++i) mean[jj] += x(i, j);
    mean[jj] /= static_cast<double>(n);
    for (std::int64_t i = 0; i < n; ++i) var[jj] += (x(i, j) - mean[jj]) * (x(i, j) - mean[jj]);
    var[jj] /= static_cast<double>(n);
  }
  gas::Tensor<double> y(n, c);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < c; ++j) {
      const auto jj = static_cast<std::size_t>(j);
      y(i, j) = gamma(0, j) * (x(i, j) - mean[jj]) / std::sqrt(var[jj] + eps) + beta(0, j);
    }
  return y;
}

}  // namespace

TEST_CASE_TEMPLATE("batch_norm training normalizes with batch statistics and updates running ones as torch", T, float,
                   double) {
  const auto x = random_tensor<T>(37, 5, 1, -2.0, 3.0);
  const auto gamma = random_tensor<T>(1, 5, 2, 0.5, 1.5), beta = random_tensor<T>(1, 5, 3);
  auto state = gas::ops::make_batch_norm_state<T>(5);
  CHECK(state.running_mean == gas::Tensor<T>(1, 5, T{0}));
  CHECK(state.running_var == gas::Tensor<T>(1, 5, T{1}));
  gas::autograd::Tape<T> tape;
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  std::vector<double> mean, var;
  const auto expected = naive_batch_norm(x, gamma, beta, mean, var, 1e-3);
  std::vector<double> rm(5, 0.0), rv(5, 1.0);
  for (int step = 1; step <= 3; ++step) {  // the same batch three times: the running stats approach its stats
    tape.reset();
    auto y = gas::ops::batch_norm(tape.constant(x), tape.constant(gamma), tape.constant(beta), state, true, 0.2, 1e-3);
    CHECK(max_abs_diff(y.value(), expected) < tol);
    for (std::size_t j = 0; j < 5; ++j) {
      rm[j] = 0.8 * rm[j] + 0.2 * mean[j];
      rv[j] = 0.8 * rv[j] + 0.2 * var[j] * 37.0 / 36.0;  // unbiased variance, as torch.nn.BatchNorm1d
      CHECK(state.running_mean(0, static_cast<std::int64_t>(j)) == doctest::Approx(rm[j]).epsilon(tol));
      CHECK(state.running_var(0, static_cast<std::int64_t>(j)) == doctest::Approx(rv[j]).epsilon(tol));
    }
    CHECK(state.batches_tracked == step);
  }
}

TEST_CASE_TEMPLATE("batch_norm evaluation is the affine map of the running statistics and leaves them alone", T, float,
                   double) {
  const auto x = random_tensor<T>(6, 4, 4, -2.0, 2.0);
  const auto gamma = random_tensor<T>(1, 4, 5), beta = random_tensor<T>(1, 4, 6);
  gas::ops::BatchNormState<T> state{random_tensor<T>(1, 4, 7), random_tensor<T>(1, 4, 8, 0.5, 2.0), 3};
  const auto saved = state.running_mean;
  gas::autograd::Tape<T> tape;
  auto y = gas::ops::batch_norm(tape.constant(x), tape.constant(gamma), tape.constant(beta), state, false);
  gas::Tensor<double> expected(6, 4);
  for (std::int64_t i = 0; i < 6; ++i)
    for (std::int64_t j = 0; j < 4; ++j)
      expected(i, j) = gamma(0, j) * (x(i, j) - state.running_mean(0, j)) / std::sqrt(state.running_var(0, j) + 1e-5) +
                       beta(0, j);
  CHECK(max_abs_diff(y.value(), expected) < (std::is_same_v<T, float> ? 1e-5 : 1e-12));
  CHECK(state.running_mean == saved);
  CHECK(state.batches_tracked == 3);
  // A single row is fine in evaluation (no variance is estimated).
  auto one = gas::ops::batch_norm(tape.constant(x.slice_rows(0, 1)), tape.constant(gamma), tape.constant(beta), state,
                                  false);
  CHECK(one.rows() == 1);
}

TEST_CASE("batch_norm passes the gradient check in training mode, through the batch statistics") {
  gas::autograd::Parameter<double> x("x", random_tensor<double>(9, 4, 10, -2.0, 2.0));
  gas::autograd::Parameter<double> gamma("gamma", random_tensor<double>(1, 4, 11, 0.5, 1.5));
  gas::autograd::Parameter<double> beta("beta", random_tensor<double>(1, 4, 12));
  auto state = gas::ops::make_batch_norm_state<double>(4);
  gas::autograd::Tape<double> tape;
  auto build = [&](gas::autograd::Tape<double>& t) {
    return gas_test::weighted_sum(gas::ops::batch_norm(t.param(x), t.param(gamma), t.param(beta), state, true, 0.1, 0.01));
  };
  const auto check = gas::autograd::check_gradients(tape, build, {&x, &gamma, &beta});
  CHECK_MESSAGE(check.ok, check.worst);
}

TEST_CASE("batch_norm passes the gradient check in evaluation mode") {
  gas::autograd::Parameter<double> x("x", random_tensor<double>(5, 3, 13, -2.0, 2.0));
  gas::autograd::Parameter<double> gamma("gamma", random_tensor<double>(1, 3, 14, 0.5, 1.5));
  gas::autograd::Parameter<double> beta("beta", random_tensor<double>(1, 3, 15));
  gas::ops::BatchNormState<double> state{random_tensor<double>(1, 3, 16), random_tensor<double>(1, 3, 17, 0.5, 2.0), 0};
  gas::autograd::Tape<double> tape;
  auto build = [&](gas::autograd::Tape<double>& t) {
    return gas_test::weighted_sum(gas::ops::batch_norm(t.param(x), t.param(gamma), t.param(beta), state, false));
  };
  const auto check = gas::autograd::check_gradients(tape, build, {&x, &gamma, &beta});
  CHECK_MESSAGE(check.ok, check.worst);
}

TEST_CASE("batch_norm on a batch of several row blocks and column tiles matches the naive forward and backward") {
  // 5000 rows span five 1024-row blocks and turn OpenMP on; 70 columns span two 64-column tiles.
  const std::int64_t n = 5000, c = 70;
  const auto xv = random_tensor<double>(n, c, 20, -1.0, 5.0);
  const auto gv = random_tensor<double>(1, c, 21, 0.5, 1.5), bv = random_tensor<double>(1, c, 22);
  const auto upstream = random_tensor<double>(n, c, 23);
  gas::autograd::Parameter<double> x("x", xv), gamma("gamma", gv), beta("beta", bv);
  auto state = gas::ops::make_batch_norm_state<double>(c);
  gas::autograd::Tape<double> tape;
  auto y = gas::ops::batch_norm(tape.param(x), tape.param(gamma), tape.param(beta), state, true);
  std::vector<double> mean, var;
  CHECK(max_abs_diff(y.value(), naive_batch_norm(xv, gv, bv, mean, var, 1e-5)) < 1e-11);
  tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(upstream.view()))));
  // dx = gamma / sigma (g - mean(g) - xhat mean(g xhat)), dgamma = sum g xhat, dbeta = sum g.
  gas::Tensor<double> dx(n, c), dgamma(1, c), dbeta(1, c);
  for (std::int64_t j = 0; j < c; ++j) {
    const auto jj = static_cast<std::size_t>(j);
    const double sigma = std::sqrt(var[jj] + 1e-5);
    double sg = 0, sgx = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      sg += upstream(i, j);
      sgx += upstream(i, j) * (xv(i, j) - mean[jj]) / sigma;
    }
    dgamma(0, j) = sgx;
    dbeta(0, j) = sg;
    for (std::int64_t i = 0; i < n; ++i)
      dx(i, j) = gv(0, j) / sigma *
                 (upstream(i, j) - sg / static_cast<double>(n) - (xv(i, j) - mean[jj]) / sigma * sgx / static_cast<double>(n));
  }
  CHECK(max_abs_diff(x.grad, dx) < 1e-10);
  CHECK(max_abs_diff(gamma.grad, dgamma) < 1e-8);
  CHECK(max_abs_diff(beta.grad, dbeta) < 1e-9);
}

TEST_CASE("batch_norm reuses its node's saved statistics buffer across steps") {
  gas::autograd::Tape<float> tape;
  auto state = gas::ops::make_batch_norm_state<float>(3);
  const auto x = random_tensor<float>(8, 3, 30);
  const gas::Tensor<float> ones(1, 3, 1.0f), zeros(1, 3, 0.0f);
  const float* first = nullptr;
  for (int step = 0; step < 3; ++step) {
    tape.reset();
    auto y = gas::ops::batch_norm(tape.constant(x), tape.constant(ones), tape.constant(zeros), state, true);
    if (step == 0) first = y.node().aux.data();
    CHECK(y.node().aux.data() == first);
  }
  CHECK(state.running_mean.rows() == 1);
  CHECK(state.running_mean.cols() == 3);
}

TEST_CASE("batch_norm rejects bad shapes and arguments with typed errors naming them") {
  gas::autograd::Tape<double> tape;
  auto state = gas::ops::make_batch_norm_state<double>(4);
  const gas::Tensor<double> x(5, 4, 1.0), g4(1, 4, 1.0), g3(1, 3, 1.0), b4(1, 4, 0.0), g2x4(2, 4, 1.0);
  auto X = tape.constant(x);
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::batch_norm(X, tape.constant(g3), tape.constant(b4), state, true),
                      "(5 x 4)", "gamma (1 x 3)", "(1 x 4)");
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::batch_norm(X, tape.constant(g4), tape.constant(g2x4), state, true),
                      "beta (2 x 4)");
  auto small = gas::ops::make_batch_norm_state<double>(3);
  CHECK_THROWS_NAMING(gas::shape_error, gas::ops::batch_norm(X, tape.constant(g4), tape.constant(b4), small, false),
                      "running mean (1 x 3)");
  CHECK_THROWS_NAMING(gas::value_error,
                      gas::ops::batch_norm(tape.constant(x.slice_rows(0, 1)), tape.constant(g4), tape.constant(b4),
                                           state, true),
                      "more than one row", "1 rows");
  CHECK_THROWS_NAMING(gas::value_error, gas::ops::batch_norm(X, tape.constant(g4), tape.constant(b4), state, true, 1.5),
                      "momentum 1.5");
  CHECK_THROWS_NAMING(gas::value_error,
                      gas::ops::batch_norm(X, tape.constant(g4), tape.constant(b4), state, true, 0.1, 0.0), "eps 0");
  CHECK(state.batches_tracked == 0);  // failed calls leave the state untouched
}

TEST_CASE("batch_norm gives the same bits for any number of threads, forward and backward") {
  const auto xv = random_tensor<float>(9000, 20, 40, -1.0, 3.0);
  const auto upstream = random_tensor<float>(9000, 20, 41);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    gas::autograd::Parameter<float> x("x", xv), gamma("gamma", gas::Tensor<float>(1, 20, 1.5f)),
        beta("beta", gas::Tensor<float>(1, 20, 0.5f));
    auto state = gas::ops::make_batch_norm_state<float>(20);
    gas::autograd::Tape<float> tape;
    auto y = gas::ops::batch_norm(tape.param(x), tape.param(gamma), tape.param(beta), state, true);
    tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(upstream.view()))));
    omp_set_num_threads(saved);
    return std::vector<gas::Tensor<float>>{gas::Tensor<float>(y.value()), x.grad, gamma.grad, beta.grad,
                                           state.running_var};
  };
  const auto one = run(1), three = run(3);
  for (std::size_t k = 0; k < one.size(); ++k) CHECK(one[k] == three[k]);
}
