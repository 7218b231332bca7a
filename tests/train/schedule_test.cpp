#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "gas/io/zip.hpp"
#include "gas/train/optimizer.hpp"
#include "gas/train/schedule.hpp"
#include "io/io_test_util.hpp"

// The fixture comes from tools/make_optim_fixtures.py: torch 1.13's ReduceLROnPlateau on a noisy loss that
// flattens (mode min, relative threshold, cooldown, min_lr reached) and on the matching accuracy (mode max,
// absolute threshold), and StepLR, with the learning rate after every step.

#include "test_util.hpp"

namespace {

std::filesystem::path fixture(const char* name) { return gas_test::fixture_path(name); }

/// Holds a learning rate, as an optimizer would.
struct LrBox {
  double value = 0;
  [[nodiscard]] double lr() const { return value; }
  void set_lr(double lr) { value = lr; }
};

}  // namespace

static_assert(gas::train::LrControlled<gas::train::Adam<float>>);
static_assert(gas::train::LrControlled<gas::train::SGD<double>>);
static_assert(gas::train::LrControlled<LrBox>);
static_assert(!gas::train::LrControlled<int>);
static_assert(!gas::train::LrControlled<gas::train::LrHandle>);

TEST_CASE("ReduceLROnPlateau reproduces torch's learning rates in min/rel and max/abs modes") {
  const auto a = gas::io::read_npz_arrays(fixture("optim_plateau.npz"));
  for (const std::string prefix : {"min_", "max_"}) {
    CAPTURE(prefix);
    const auto cfg = a.at(prefix + "config").to_vector<double>();  // factor, patience, threshold, cooldown, min_lr, lr
    const auto metrics = a.at(prefix + "metrics").to_vector<double>();
    const auto lrs = a.at(prefix + "lrs").to_vector<double>();
    const bool min = prefix == "min_";
    gas::autograd::Parameter<double> p("p", gas::Tensor<double>(1, 1, 0.0));
    gas::train::SGD<double> opt({&p}, {.lr = cfg[5]});
    gas::train::ReduceLROnPlateau sched(opt, {.mode = min ? gas::train::PlateauMode::min : gas::train::PlateauMode::max,
                                              .factor = cfg[0],
                                              .patience = static_cast<int>(cfg[1]),
                                              .threshold = cfg[2],
                                              .threshold_mode = min ? gas::train::ThresholdMode::rel
                                                                    : gas::train::ThresholdMode::abs,
                                              .cooldown = static_cast<int>(cfg[3]),
                                              .min_lr = cfg[4]});
    int reductions = 0;
    double previous = opt.lr();
    for (std::size_t e = 0; e < metrics.size(); ++e) {
      const bool lowered = sched.step(metrics[e]);
      CHECK_MESSAGE(std::abs(opt.lr() - lrs[e]) < 1e-15, "epoch " << e + 1 << ": " << opt.lr() << " vs " << lrs[e]);
      CHECK(lowered == (opt.lr() < previous));
      reductions += lowered;
      previous = opt.lr();
    }
    CHECK(reductions >= 4);
    CHECK(sched.last_epoch() == static_cast<std::int64_t>(metrics.size()));
  }
}

TEST_CASE("ReduceLROnPlateau counts patience, cooldown and min_lr as torch does, through callbacks too") {
  double lr = 1.0;
  gas::train::ReduceLROnPlateau sched(gas::train::LrHandle{[&] { return lr; }, [&](double v) { lr = v; }},
                                      {.factor = 0.5, .patience = 1, .cooldown = 2, .min_lr = 0.2});
  CHECK(sched.best() == std::numeric_limits<double>::infinity());
  CHECK_FALSE(sched.step(10));  // best
  CHECK_FALSE(sched.step(10));  // bad 1 (not below 10 * (1 - 1e-4))
  CHECK(sched.step(10));        // bad 2 > patience: 0.5
  CHECK(lr == 0.5);
  CHECK(sched.in_cooldown());
  CHECK_FALSE(sched.step(11));  // cooldown: not counted
  CHECK_FALSE(sched.step(11));  // cooldown ends
  CHECK_FALSE(sched.in_cooldown());
  CHECK_FALSE(sched.step(std::nan("")));  // NaN is a bad epoch
  CHECK(sched.num_bad_epochs() == 1);
  CHECK(sched.step(12));  // 0.25
  CHECK(lr == 0.25);
  for (int e = 0; e < 3; ++e) CHECK_FALSE(sched.step(12));
  CHECK(sched.step(12));  // clamped at min_lr
  CHECK(lr == 0.2);
  for (int e = 0; e < 3; ++e) CHECK_FALSE(sched.step(12));
  CHECK_FALSE(sched.step(12));  // at min_lr: nothing left to lower, so no reduction is reported
  CHECK(lr == 0.2);
  CHECK(sched.best() == 10);
}

TEST_CASE("StepLR reproduces torch's learning rates and lowers every group") {
  const auto a = gas::io::read_npz_arrays(fixture("optim_plateau.npz"));
  const auto cfg = a.at("step_config").to_vector<double>();  // lr, step_size, gamma
  const auto lrs = a.at("step_lrs").to_vector<double>();
  gas::autograd::Parameter<double> p("p", gas::Tensor<double>(1, 1, 0.0)), q("q", gas::Tensor<double>(1, 1, 0.0));
  gas::train::Adam<double> opt({{{&p}, {}, {}}, {{&q}, {}, 1e-4}}, {.lr = cfg[0]});
  gas::train::StepLR sched(opt, static_cast<std::int64_t>(cfg[1]), cfg[2]);
  for (std::size_t e = 0; e < lrs.size(); ++e) {
    sched.step();
    CHECK(opt.lr(0) == doctest::Approx(lrs[e]).epsilon(1e-15));
    CHECK(opt.lr(1) == opt.lr(0));
  }
  CHECK(sched.last_epoch() == static_cast<std::int64_t>(lrs.size()));
}

TEST_CASE("schedules reject bad settings with value_error naming them") {
  LrBox box{0.1};
  CHECK_THROWS_NAMING(gas::value_error, gas::train::ReduceLROnPlateau(box, {.factor = 1.0}), "factor 1");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::ReduceLROnPlateau(box, {.patience = -1}), "patience -1");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::ReduceLROnPlateau(gas::train::LrHandle{}), "callbacks");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::StepLR(box, 0), "step_size 0");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::StepLR(box, 2, -0.5), "gamma -0.5");
}
