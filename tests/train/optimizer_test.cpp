#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/io/zip.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/reduce.hpp"
#include "gas/train/clip.hpp"
#include "gas/train/optimizer.hpp"
#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"

// The fixtures come from tools/make_optim_fixtures.py (torch 1.13 in float64): initial parameters, five steps of
// fixed gradients, two groups (group 0 sets its lr and weight decay, group 1 takes the optimizer's) and the
// parameters after every step. The C++ optimizers must reproduce them to 1e-10.

#include "test_util.hpp"

namespace {

using Arrays = std::map<std::string, gas::io::NpyArray>;
using Param = gas::autograd::Parameter<double>;

std::filesystem::path fixture(const char* name) { return gas_test::fixture_path(name); }

std::vector<double> config(const Arrays& a, const std::string& prefix) {
  return a.at(prefix + "config").to_vector<double>();
}

/// Parameters p0, p1, p2 with the fixture's initial values.
std::vector<Param> initial_params(const Arrays& a) {
  std::vector<Param> params;
  for (int k = 0; k < 3; ++k) {
    const auto& v = a.at("p" + std::to_string(k));
    params.emplace_back("p" + std::to_string(k), gas::Tensor<double>(v.dim(0), v.dim(1), v.to_vector<double>()));
  }
  return params;
}

/// Runs the fixture's gradient sequence through `opt` and compares every step's parameters to torch's.
template <class Optimizer>
void check_trajectory(Optimizer& opt, std::vector<Param>& params, const Arrays& a, const std::string& prefix) {
  std::vector<std::vector<double>> grads, after;
  for (int k = 0; k < 3; ++k) {
    grads.push_back(a.at("g" + std::to_string(k)).to_vector<double>());
    after.push_back(a.at(prefix + "after" + std::to_string(k)).to_vector<double>());
  }
  const auto steps = a.at("g0").dim(0);
  for (std::int64_t t = 0; t < steps; ++t) {
    for (std::size_t k = 0; k < 3; ++k) {
      const auto n = static_cast<std::size_t>(params[k].value.size());
      std::copy_n(grads[k].begin() + static_cast<std::ptrdiff_t>(t * static_cast<std::int64_t>(n)), n,
                  params[k].grad.values().begin());
    }
    opt.step();
    for (std::size_t k = 0; k < 3; ++k) {
      const auto n = static_cast<std::size_t>(params[k].value.size());
      double worst = 0;
      for (std::size_t i = 0; i < n; ++i)
        worst = std::max(worst, std::abs(params[k].value.values()[i] - after[k][static_cast<std::size_t>(t) * n + i]));
      CHECK_MESSAGE(worst < 1e-10, prefix << "p" << k << " after step " << t + 1 << ": off by " << worst);
    }
  }
  CHECK(opt.steps() == steps);
}

std::vector<gas::train::ParamGroup<double>> two_groups(std::vector<Param>& p, const std::vector<double>& cfg) {
  // config order: ..., weight_decay, group0_lr, group0_weight_decay (last three); group 1 sets nothing.
  const auto n = cfg.size();
  return {{{&p[0], &p[1]}, cfg[n - 2], cfg[n - 1]}, {{&p[2]}, {}, {}}};
}

}  // namespace

TEST_CASE("Adam with two parameter groups reproduces torch.optim.Adam") {
  const auto a = gas::io::read_npz_arrays(fixture("optim_adam.npz"));
  const auto cfg = config(a, "");  // lr, beta1, beta2, eps, weight_decay, group0_lr, group0_weight_decay
  auto params = initial_params(a);
  gas::train::Adam<double> opt(two_groups(params, cfg),
                               {.lr = cfg[0], .beta1 = cfg[1], .beta2 = cfg[2], .eps = cfg[3], .weight_decay = cfg[4]});
  CHECK(opt.num_groups() == 2);
  CHECK(opt.lr(0) == cfg[5]);
  CHECK(opt.lr(1) == cfg[0]);  // unset in the group: the optimizer's
  check_trajectory(opt, params, a, "");
}

TEST_CASE("AdamW with two parameter groups reproduces torch.optim.AdamW") {
  const auto a = gas::io::read_npz_arrays(fixture("optim_adamw.npz"));
  const auto cfg = config(a, "");
  auto params = initial_params(a);
  gas::train::AdamW<double> opt(two_groups(params, cfg),
                                {.lr = cfg[0], .beta1 = cfg[1], .beta2 = cfg[2], .eps = cfg[3], .weight_decay = cfg[4]});
  check_trajectory(opt, params, a, "");
}

TEST_CASE("SGD (plain, momentum with dampening, Nesterov) with two groups reproduces torch.optim.SGD") {
  const auto a = gas::io::read_npz_arrays(fixture("optim_sgd.npz"));
  for (const std::string prefix : {"plain_", "momentum_", "nesterov_"}) {
    CAPTURE(prefix);
    const auto cfg = config(a, prefix);  // lr, momentum, dampening, nesterov, weight_decay, group0 lr, group0 wd
    auto params = initial_params(a);
    gas::train::SGD<double> opt(two_groups(params, cfg), {.lr = cfg[0],
                                                          .momentum = cfg[1],
                                                          .dampening = cfg[2],
                                                          .weight_decay = cfg[4],
                                                          .nesterov = cfg[3] != 0});
    check_trajectory(opt, params, a, prefix);
  }
}

TEST_CASE("clip_grad_norm reproduces torch.nn.utils.clip_grad_norm_") {
  const auto a = gas::io::read_npz_arrays(fixture("optim_clip.npz"));
  for (const std::string prefix : {"clip_", "keep_"}) {
    CAPTURE(prefix);
    const auto cfg = config(a, prefix);  // max_norm, norm
    std::vector<Param> params;
    for (int k = 0; k < 3; ++k) {
      const auto& g = a.at(prefix + "g" + std::to_string(k));
      params.emplace_back("p", gas::Tensor<double>(g.dim(0), g.dim(1), 0.0));
      params.back().grad = gas::Tensor<double>(g.dim(0), g.dim(1), g.to_vector<double>());
    }
    std::vector<Param*> pointers{&params[0], &params[1], &params[2]};
    const double norm = gas::train::clip_grad_norm(pointers, cfg[0]);
    CHECK(norm == doctest::Approx(cfg[1]).epsilon(1e-12));
    for (std::size_t k = 0; k < 3; ++k) {
      const auto expected = a.at(prefix + "out" + std::to_string(k)).to_vector<double>();
      for (std::size_t i = 0; i < expected.size(); ++i) CHECK(params[k].grad.values()[i] == doctest::Approx(expected[i]).epsilon(1e-12));
    }
  }
  std::vector<Param*> none;
  CHECK(gas::train::clip_grad_norm(none, 1.0) == 0.0);
  CHECK_THROWS_NAMING(gas::value_error, gas::train::clip_grad_norm(none, -1.0), "max_norm -1");
}

TEST_CASE("GradClipper keeps the norm of its last clip and clips as clip_grad_norm does") {
  const auto a = gas::io::read_npz_arrays(fixture("optim_clip.npz"));
  gas::train::GradClipper<double> clipper;
  CHECK(clipper.last_norm() == 0.0);  // before the first clip
  CHECK(clipper.norm_data() != nullptr);
  for (const std::string prefix : {"clip_", "keep_"}) {
    CAPTURE(prefix);
    std::vector<Param> once, reference;
    for (int k = 0; k < 3; ++k) {
      const auto& g = a.at(prefix + "g" + std::to_string(k));
      for (auto* params : {&once, &reference}) {
        params->emplace_back("p", gas::Tensor<double>(g.dim(0), g.dim(1), 0.0));
        params->back().grad = gas::Tensor<double>(g.dim(0), g.dim(1), g.to_vector<double>());
      }
    }
    const double max_norm = config(a, prefix)[0];
    const std::vector<Param*> pointers{&once[0], &once[1], &once[2]};
    const std::vector<Param*> expected{&reference[0], &reference[1], &reference[2]};
    clipper.clip(pointers, max_norm);
    const double norm = gas::train::clip_grad_norm(expected, max_norm);
    CHECK(clipper.last_norm() == norm);  // the same arithmetic: the same bits
    CHECK(*clipper.norm_data() == norm);
    for (std::size_t k = 0; k < 3; ++k)
      for (std::size_t i = 0; i < static_cast<std::size_t>(once[k].grad.size()); ++i)
        CHECK(once[k].grad.values()[i] == reference[k].grad.values()[i]);
  }
  // Bad arguments throw before any gradient changes; the last norm stays.
  const double before = clipper.last_norm();
  std::vector<Param> params;
  params.emplace_back("p", gas::Tensor<double>(1, 2, 0.0));
  params.back().grad = gas::Tensor<double>(1, 2, std::vector<double>{3.0, 4.0});
  const std::vector<Param*> with_null{&params[0], nullptr};
  CHECK_THROWS_NAMING(gas::value_error, clipper.clip(with_null, 1.0), "parameter 1 is null");
  CHECK_THROWS_NAMING(gas::value_error, clipper.clip(with_null, -2.0), "max_norm -2");
  CHECK(params[0].grad.values()[0] == 3.0);
  CHECK(clipper.last_norm() == before);
  clipper.clip(std::vector<Param*>{}, 1.0);
  CHECK(clipper.last_norm() == 0.0);
}

TEST_CASE_TEMPLATE("every optimizer minimizes a least-squares problem recorded on the tape", T, float, double) {
  // min_W ||X W - Y||^2 / n for a W that fits exactly.
  const auto x = gas_test::random_tensor<T>(32, 4, 1);
  const auto w_true = gas_test::random_tensor<T>(4, 2, 2);
  gas::Tensor<T> y(32, 2);
  gas::ops::detail::gemm<T>(x.view(), false, w_true.view(), false, y.view(), false);
  auto run = [&](auto make) {
    gas::autograd::Parameter<T> w("w", gas::Tensor<T>(4, 2, T{0}));
    auto opt = make(w);
    gas::autograd::Tape<T> tape;
    double first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
      tape.reset();
      opt.zero_grad();
      auto r = gas::ops::sub(gas::ops::matmul(tape.constant(x.view()), tape.param(w)), tape.constant(y.view()));
      auto loss = gas::ops::scale(gas::ops::sum_all(gas::ops::mul(r, r)), T{1} / T{32});
      tape.backward(loss);
      opt.step();
      (step == 0 ? first : last) = loss.value()(0, 0);
    }
    return last / first;
  };
  using P = gas::autograd::Parameter<T>;
  CHECK(run([](P& w) { return gas::train::Adam<T>({&w}, {.lr = 0.05}); }) < 1e-3);
  CHECK(run([](P& w) { return gas::train::AdamW<T>({&w}, {.lr = 0.05, .weight_decay = 1e-4}); }) < 1e-3);
  CHECK(run([](P& w) { return gas::train::SGD<T>({&w}, {.lr = 0.1, .momentum = 0.9, .nesterov = true}); }) < 1e-3);
}

TEST_CASE("optimizers share lr(), set_lr() and zero_grad(), keep their defaults and state buffers") {
  Param a("a", gas::Tensor<double>(2, 2, 1.0)), b("b", gas::Tensor<double>(1, 3, 1.0));
  CHECK(gas::train::Adam<double>::Options{}.lr == 0.001);
  CHECK(gas::train::AdamW<double>::Options{}.weight_decay == 0.01);
  CHECK(gas::train::AdamOptions{}.weight_decay == 0);
  gas::train::Adam<double> opt({{{&a}, 0.5, {}}, {{&b}, {}, {}}}, {.lr = 0.1});
  CHECK(opt.lr() == 0.5);
  CHECK(opt.lr(1) == 0.1);
  opt.set_lr(0.02);
  CHECK(opt.lr(0) == 0.02);
  CHECK(opt.lr(1) == 0.02);
  a.grad.fill(3.0);
  b.grad.fill(-1.0);
  const double* value = a.value.data();
  opt.step();
  CHECK(a.value.data() == value);
  CHECK(a.value(0, 0) == doctest::Approx(1.0 - 0.02));  // Adam's first step moves by lr (sign of the gradient)
  CHECK(b.value(0, 2) == doctest::Approx(1.0 + 0.02));
  opt.zero_grad();
  CHECK(a.grad == gas::Tensor<double>(2, 2, 0.0));
  CHECK(b.grad == gas::Tensor<double>(1, 3, 0.0));
}

TEST_CASE("optimizers reject bad settings and changed parameters with typed errors") {
  Param a("a", gas::Tensor<double>(2, 2, 1.0)), b("b", gas::Tensor<double>(1, 3, 1.0));
  using Groups = std::vector<gas::train::ParamGroup<double>>;
  CHECK_THROWS_NAMING(gas::value_error, gas::train::SGD<double>({&a}, {.momentum = 0, .nesterov = true}), "Nesterov");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::Adam<double>({&a}, {.beta1 = 1.0}), "beta1 1");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::Adam<double>(Groups{{{&a}, -1.0, {}}}), "group 0", "learning rate -1");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::AdamW<double>(Groups{{{&a}, {}, {}}, {{&b, &a}, {}, {}}}),
                      "group 1", "'a'", "more than one");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::SGD<double>(Groups{}), "no parameter groups");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::SGD<double>({nullptr}), "null");
  gas::train::Adam<double> opt({&a, &b});
  CHECK_THROWS_NAMING(gas::value_error, opt.set_lr(-0.1), "-0.1");
  a.value = gas::Tensor<double>(3, 2, 1.0);
  a.zero_grad();
  CHECK_THROWS_NAMING(gas::shape_error, opt.step(), "'a'", "(3 x 2)", "(2 x 2)");
  b.grad = gas::Tensor<double>(1, 2, 0.0);
  gas::train::SGD<double> sgd({&b});
  CHECK_THROWS_NAMING(gas::shape_error, sgd.step(), "'b'", "gradient is (1 x 2)");
}

TEST_CASE("a step that fails a shape check changes no parameter") {
  Param a("a", gas::Tensor<double>(2, 2, 1.0)), b("b", gas::Tensor<double>(1, 3, 1.0));
  gas::train::SGD<double> opt({&a, &b}, {.lr = 0.1, .momentum = 0.5});
  a.grad.fill(1.0);
  b.grad = gas::Tensor<double>(3, 1, 1.0);
  CHECK_THROWS_NAMING(gas::shape_error, opt.step(), "'b'", "(3 x 1)");
  CHECK(a.value == gas::Tensor<double>(2, 2, 1.0));
  CHECK(opt.steps() == 0);
}
