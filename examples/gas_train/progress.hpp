#pragma once
/// @brief gas-train's progress report and its Ctrl-C handling.
///
/// Progress goes to stderr, so stdout keeps the results a script parses. On a terminal it is one live line per
/// run, rewritten in place (epoch k/N, loss, val, best, s/epoch, ETA), at most four times a second, also during a
/// long epoch (steps done); elsewhere, or with --log-every N, it is a plain line every N epochs (every 10 % of the
/// run when N is not given), and never more than a few a second either, the last epoch always shown.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>

#include <gas/train/trainer.hpp>

namespace gas_train {

/// @brief The first SIGINT (or SIGTERM) sets the stop flag the Trainer polls after each step; the second ends
/// the process at once with status 130. Installed once per process.
class Interrupt {
public:
  static void install() {
    struct sigaction action {};
    action.sa_handler = &Interrupt::handle;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: a blocking read returns early, the loop polls the flag
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  }
  /// @brief The flag TrainerOptions::stop points at.
  static const std::atomic<bool>* flag() { return &requested(); }
  [[nodiscard]] static bool raised() { return requested().load(std::memory_order_relaxed); }

private:
  static std::atomic<bool>& requested() {
    static std::atomic<bool> stop{false};
    return stop;
  }
  static void handle(int) {
    if (requested().exchange(true)) _exit(130);  // the second signal: no cleanup, nothing half-written matters
    constexpr char note[] = "\ngas-train: interrupted: finishing the step and saving (Ctrl-C again to quit now)\n";
    (void)!write(STDERR_FILENO, note, sizeof note - 1);
  }
};

/// @brief One run's progress report (see the file comment).
class Progress {
public:
  /// @brief `live`: rewrite one line in place (a terminal); else print a line every `every` epochs (0 = 10 %).
  Progress(bool enabled, bool live, std::int32_t every, std::int32_t runs, std::int32_t epochs, const char* metric)
      : enabled_(enabled), live_(live), runs_(runs), epochs_(epochs), metric_(metric) {
    every_ = every > 0 ? every : std::max(1, epochs / 10);
  }

  /// @brief Starts run `run` (0-based), whose epochs before `first_epoch` came from a checkpoint.
  void start_run(std::int32_t run, std::int32_t first_epoch) {
    run_ = run;
    first_epoch_ = first_epoch;
    run_start_ = Clock::now();
    last_print_ = Clock::time_point{};
    epochs_done_ = first_epoch;
    printed_ = -1;
    last_ = {};
  }

  /// @brief Says that the run's first `epochs` came from a checkpoint (they do not count in s/epoch and ETA).
  void resumed(std::int32_t epochs) { first_epoch_ = epochs; }

  /// @brief After a training step: refreshes the live line during a long epoch.
  void step(std::int64_t done, std::int64_t steps) {
    if (!enabled_ || !live_ || !due(false)) return;
    draw(" step " + std::to_string(done) + "/" + std::to_string(steps));
  }

  /// @brief After an epoch: its record and the run so far.
  void epoch(const gas::EpochRecord& e, const gas::TrainResult& so_far) {
    epochs_done_ = e.epoch + 1;
    last_ = e;
    best_ = so_far.best_val;
    if (!std::isnan(e.val)) last_val_ = e.val;
    if (!enabled_) return;
    const bool last = e.epoch + 1 == epochs_;
    if (live_) {
      if (due(last)) draw("");
    } else if (((e.epoch + 1) % every_ == 0 || last) && due(last)) {
      std::fprintf(stderr, "%s\n", line().c_str());
      printed_ = epochs_done_;
    }
  }

  /// @brief Ends the run's report with its last state: the live line is completed; a plain report shows an epoch
  /// it skipped (throttled, or a run that patience or Ctrl-C ended early).
  void end_run() {
    if (!enabled_ || epochs_done_ == first_epoch_) return;
    if (live_) {
      draw("");
      std::fputc('\n', stderr);
    } else if (printed_ != epochs_done_) {
      std::fprintf(stderr, "%s\n", line().c_str());
      printed_ = epochs_done_;
    }
  }

private:
  using Clock = std::chrono::steady_clock;

  bool due(bool force) {
    const auto now = Clock::now();
    if (!force && now - last_print_ < std::chrono::milliseconds(250)) return false;
    last_print_ = now;
    return true;
  }

  std::string line() const {
    const double elapsed = std::chrono::duration<double>(Clock::now() - run_start_).count();
    const std::int32_t trained = epochs_done_ - first_epoch_;
    const double per_epoch = trained > 0 ? elapsed / trained : 0.0;
    const double eta = per_epoch * (epochs_ - epochs_done_);
    char buffer[256];
    std::snprintf(buffer, sizeof buffer,
                  "run %d/%d  epoch %d/%d  loss %.4f  val %.2f  best %.2f %s  %.3f s/epoch  ETA %s", run_ + 1, runs_,
                  epochs_done_, epochs_, last_.loss, 100 * last_val_, 100 * best_, metric_, per_epoch,
                  duration(eta).c_str());
    return buffer;
  }

  void draw(const std::string& extra) {
    std::fprintf(stderr, "\r\033[K%s%s", line().c_str(), extra.c_str());  // \033[K: clear the old line's tail
    std::fflush(stderr);
  }

  static std::string duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const auto s = static_cast<long long>(seconds + 0.5);
    char buffer[32];
    if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else if (s >= 60) std::snprintf(buffer, sizeof buffer, "%lldm%02llds", s / 60, s % 60);
    else std::snprintf(buffer, sizeof buffer, "%llds", s);
    return buffer;
  }

  bool enabled_, live_;
  std::int32_t every_ = 1, runs_, epochs_;
  const char* metric_;
  std::int32_t run_ = 0, first_epoch_ = 0, epochs_done_ = 0, printed_ = -1;
  gas::EpochRecord last_{};
  double best_ = std::nan(""), last_val_ = std::nan("");
  Clock::time_point run_start_{}, last_print_{};
};

/// @brief Whether stderr is a terminal (the live line needs one).
inline bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace gas_train
