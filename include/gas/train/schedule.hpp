#pragma once
/// @brief Learning-rate schedules: ReduceLROnPlateau and StepLR, step for step as torch.optim.lr_scheduler (1.13).
///
/// A schedule reaches its optimizer through an `LrHandle` (read and write the learning rate), built from
/// anything with `lr()` and `set_lr(double)` (every gas optimizer) or from two callbacks. It reads one learning
/// rate and writes it back to every group, which equals PyTorch's per-group update when the groups share a rate,
/// as the reference's do.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>

#include "gas/core/check.hpp"

namespace gas::train {

/// @brief Anything whose learning rate can be read with `lr()` and written with `set_lr(double)`.
template <class O>
concept LrControlled = requires(O& o, const O& c, double x) {
  { c.lr() } -> std::convertible_to<double>;
  o.set_lr(x);
};

/// @brief Read and write access to a learning rate, through callbacks.
struct LrHandle {
  std::function<double()> get;
  std::function<void(double)> set;
};

/// @brief A handle to `optimizer`'s learning rate; the optimizer must outlive the handle.
template <LrControlled O>
LrHandle lr_handle(O& optimizer) {
  return {[&optimizer] { return static_cast<double>(optimizer.lr()); }, [&optimizer](double lr) { optimizer.set_lr(lr); }};
}

/// @brief Whether a smaller (`min`, a loss) or a larger (`max`, an accuracy) metric is better.
enum class PlateauMode { min, max };
/// @brief Whether an improvement must beat the best by a fraction of it (`rel`) or by an amount (`abs`).
enum class ThresholdMode { rel, abs };

/// @brief Settings of ReduceLROnPlateau (torch's defaults).
struct PlateauOptions {
  PlateauMode mode = PlateauMode::min;
  double factor = 0.1;      // new lr = lr * factor
  int patience = 10;        // epochs without improvement tolerated before a reduction
  double threshold = 1e-4;  // what counts as an improvement, see ThresholdMode
  ThresholdMode threshold_mode = ThresholdMode::rel;
  int cooldown = 0;   // epochs after a reduction during which bad epochs are not counted
  double min_lr = 0;  // the lr never goes below this
  double eps = 1e-8;  // reductions smaller than this are skipped
};

/// @brief Lowers the learning rate by `factor` when a metric has not improved for more than `patience` epochs.
class ReduceLROnPlateau {
public:
  using Options = PlateauOptions;

  /// @brief A schedule for `optimizer`, which must outlive it.
  template <LrControlled O>
  explicit ReduceLROnPlateau(O& optimizer, Options options = {}) : ReduceLROnPlateau(lr_handle(optimizer), options) {}

  /// @brief A schedule acting through `handle`. Throws value_error for factor outside [0, 1) or negative counts.
  explicit ReduceLROnPlateau(LrHandle handle, Options options = {}) : handle_(std::move(handle)), options_(options) {
    GAS_CHECK(handle_.get && handle_.set, value_error, "the learning-rate handle needs both callbacks");
    GAS_CHECK(options.factor >= 0 && options.factor < 1, value_error,
              "factor " << options.factor << " outside [0, 1): it must lower the learning rate");
    GAS_CHECK(options.patience >= 0, value_error, "patience " << options.patience << " is negative");
    GAS_CHECK(options.cooldown >= 0, value_error, "cooldown " << options.cooldown << " is negative");
    GAS_CHECK(options.threshold >= 0, value_error, "threshold " << options.threshold << " is negative");
    GAS_CHECK(options.min_lr >= 0, value_error, "min_lr " << options.min_lr << " is negative");
    best_ = worst();
  }

  /// @brief Records one epoch's metric; returns true when it lowered the learning rate. A NaN metric counts as
  /// a bad epoch (it compares false), as in PyTorch.
  bool step(double metric) {
    ++last_epoch_;
    if (is_better(metric)) {
      best_ = metric;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;  // bad epochs during the cooldown do not count
    }
    if (num_bad_epochs_ <= options_.patience) return false;
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
    const double old_lr = handle_.get();
    const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
    if (old_lr - new_lr <= options_.eps) return false;
    handle_.set(new_lr);
    return true;
  }

  /// @brief The best metric seen so far (+inf or -inf before the first step).
  [[nodiscard]] double best() const { return best_; }
  /// @brief Consecutive epochs without improvement, as counted now.
  [[nodiscard]] int num_bad_epochs() const { return num_bad_epochs_; }
  /// @brief Whether the schedule is in its cooldown after a reduction.
  [[nodiscard]] bool in_cooldown() const { return cooldown_counter_ > 0; }
  /// @brief Number of steps taken.
  [[nodiscard]] std::int64_t last_epoch() const { return last_epoch_; }

private:
  [[nodiscard]] double worst() const {
    const double inf = std::numeric_limits<double>::infinity();
    return options_.mode == PlateauMode::min ? inf : -inf;
  }

  [[nodiscard]] bool is_better(double a) const {
    const double t = options_.threshold;
    const bool rel = options_.threshold_mode == ThresholdMode::rel;
    if (options_.mode == PlateauMode::min) return rel ? a < best_ * (1 - t) : a < best_ - t;
    return rel ? a > best_ * (t + 1) : a > best_ + t;
  }

  LrHandle handle_;
  Options options_;
  double best_ = 0;
  int num_bad_epochs_ = 0;
  int cooldown_counter_ = 0;
  std::int64_t last_epoch_ = 0;
};

/// @brief Multiplies the learning rate by `gamma` every `step_size` epochs.
class StepLR {
public:
  /// @brief A schedule for `optimizer`, which must outlive it. Throws value_error for step_size < 1 or gamma < 0.
  template <LrControlled O>
  StepLR(O& optimizer, std::int64_t step_size, double gamma = 0.1) : StepLR(lr_handle(optimizer), step_size, gamma) {}

  /// @brief A schedule acting through `handle`.
  StepLR(LrHandle handle, std::int64_t step_size, double gamma = 0.1)
      : handle_(std::move(handle)), step_size_(step_size), gamma_(gamma) {
    GAS_CHECK(handle_.get && handle_.set, value_error, "the learning-rate handle needs both callbacks");
    GAS_CHECK(step_size >= 1, value_error, "step_size " << step_size << " must be at least 1");
    GAS_CHECK(gamma >= 0, value_error, "gamma " << gamma << " is negative");
  }

  /// @brief Ends one epoch: after every `step_size`-th call the learning rate is multiplied by `gamma`.
  void step() {
    ++last_epoch_;
    if (last_epoch_ % step_size_ == 0) handle_.set(handle_.get() * gamma_);
  }

  /// @brief Number of steps taken.
  [[nodiscard]] std::int64_t last_epoch() const { return last_epoch_; }

private:
  LrHandle handle_;
  std::int64_t step_size_;
  double gamma_;
  std::int64_t last_epoch_ = 0;
};

}  // namespace gas::train
