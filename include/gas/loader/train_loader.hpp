#pragma once
/// @brief `TrainLoader`: the training batches of GAS, `batch_size` random clusters per step, reshuffled every
/// epoch, built in the caller's thread, in a background thread (double buffering) or all at epoch start.

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/loader/batch.hpp"

namespace gas::loader {

/// @brief How a TrainLoader groups clusters into steps and where it builds the batches.
struct TrainLoaderOptions {
  std::int32_t batch_size = 1;  ///< clusters per step (the last step of an epoch may have fewer)
  std::int64_t max_steps = 0;   ///< steps per epoch at most; 0 = no limit
  std::uint64_t seed = 0;       ///< epoch e shuffles with Rng(seed, stream = e)
  bool background = true;       ///< build the next batch in a worker thread while the caller uses the current one
  bool precompute = false;      ///< build all of an epoch's batches when it starts (wins over background)
  /// Only clusters [first_part, end_part) are trained (one rank's own parts in distributed training,
  /// dist::Ownership); end_part < 0 means every cluster. The halo of a batch still spans the whole graph.
  std::int32_t first_part = 0;
  std::int32_t end_part = -1;
};

/// @brief Yields an epoch's batches: the cluster ids shuffled with Rng(seed, epoch), cut into groups of
/// batch_size, one Batch per group, ceil(num_parts / batch_size) steps truncated to max_steps.
///
/// Use: `loader.start_epoch(e); for (Batch b; loader.next(b);) train_on(b);`. next() swaps the ready batch into
/// its argument and recycles the argument's old storage, so reusing one Batch across steps allocates nothing
/// once capacities have grown. Every mode yields the same batches for the same seed and epoch.
///
/// Background mode keeps at most two batches alive: the caller's and the one the single worker thread builds
/// into the hand-over slot (it starts the next as soon as the caller takes the current one). An exception in the
/// worker is rethrown by the next call to next(), which then ends the epoch. start_epoch() and the destructor
/// stop and join the worker, waiting for at most the batch under construction.
///
/// The loader keeps a reference to `graph`, which must outlive it (or the next start_epoch). It is not
/// thread-safe: one thread drives it.
class TrainLoader {
public:
  /// @brief Loader over `graph` (clusters already contiguous) with cluster pointer `ptr` (num_parts + 1 offsets).
  /// Throws value_error for batch_size < 1 or max_steps < 0, shape_error / value_error for a bad `ptr`.
  TrainLoader(const Graph& graph, std::vector<std::int64_t> ptr, TrainLoaderOptions options = {})
      : graph_(&graph), ptr_(std::move(ptr)), options_(options) {
    GAS_CHECK(options_.batch_size >= 1, value_error, "batch_size = " << options_.batch_size << " must be at least 1");
    GAS_CHECK(options_.max_steps >= 0, value_error, "max_steps = " << options_.max_steps << " must be non-negative");
    validate_ptr(graph, ptr_);
    GAS_CHECK(ptr_.size() - 1 <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), value_error,
              "num_parts = " << ptr_.size() - 1 << " does not fit 32-bit cluster ids");
    if (options_.end_part < 0) options_.end_part = num_parts();
    GAS_CHECK(0 <= options_.first_part && options_.first_part < options_.end_part && options_.end_part <= num_parts(),
              value_error,
              "clusters [" << options_.first_part << ", " << options_.end_part << ") are not a non-empty range of the "
                           << num_parts() << " clusters");
    const std::int64_t parts = options_.end_part - options_.first_part;
    steps_ = (parts + options_.batch_size - 1) / options_.batch_size;
    if (options_.max_steps > 0) steps_ = std::min(steps_, options_.max_steps);
  }

  TrainLoader(const TrainLoader&) = delete;
  TrainLoader& operator=(const TrainLoader&) = delete;

  /// @brief Stops and joins the background worker, if any, even mid-epoch.
  ~TrainLoader() { stop_worker(); }

  /// @brief Number of clusters.
  [[nodiscard]] std::int32_t num_parts() const { return static_cast<std::int32_t>(ptr_.size()) - 1; }
  /// @brief Batches next() yields per epoch: ceil(trained clusters / batch_size), at most max_steps when that is set.
  [[nodiscard]] std::int64_t steps_per_epoch() const { return steps_; }
  /// @brief The options the loader was built with.
  [[nodiscard]] const TrainLoaderOptions& options() const { return options_; }
  /// @brief The current epoch, -1 before the first start_epoch().
  [[nodiscard]] std::int64_t epoch() const { return epoch_; }
  /// @brief The current epoch's shuffled cluster ids (group k = entries [k * batch_size, (k + 1) * batch_size)).
  [[nodiscard]] std::span<const std::int32_t> order() const { return order_; }

  /// @brief Starts epoch `epoch` (>= 0): abandons whatever is left of the current one, shuffles the clusters with
  /// Rng(seed, epoch) and, depending on the mode, starts the worker or builds every batch of the epoch.
  void start_epoch(std::int64_t epoch) {
    GAS_CHECK(epoch >= 0, value_error, "epoch = " << epoch << " must be non-negative");
    stop_worker();
    epoch_ = epoch;
    step_ = 0;
    order_.resize(static_cast<std::size_t>(options_.end_part - options_.first_part));
    std::iota(order_.begin(), order_.end(), options_.first_part);
    Rng(options_.seed, static_cast<std::uint64_t>(epoch)).shuffle(order_.begin(), order_.end());
    if (options_.precompute) {
      try {
        detail::build_groups(*graph_, ptr_, order_, options_.batch_size, steps_, precomputed_);
      } catch (...) {
        step_ = steps_;  // the epoch cannot be served
        throw;
      }
    } else if (options_.background) {
      worker_ = std::thread([this] { work(); });
    }
  }

  /// @brief Moves the epoch's next batch into `out` (recycling out's storage) and returns true, or returns false
  /// once the epoch is over. Rethrows an exception raised while building the batch. Throws value_error when no
  /// epoch was started.
  bool next(Batch& out) {
    GAS_CHECK(epoch_ >= 0, value_error, "no epoch started; call start_epoch(epoch) before next()");
    if (step_ >= steps_) return false;
    if (options_.precompute) {
      std::swap(out, precomputed_[static_cast<std::size_t>(step_++)]);
      return true;
    }
    if (!options_.background) {
      try {
        detail::build_batch_into(*graph_, ptr_, group(step_), workspace_, out, false);
      } catch (...) {
        step_ = steps_;
        throw;
      }
      ++step_;
      return true;
    }
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return slot_full_ || error_; });
    if (error_) {
      const auto error = std::exchange(error_, nullptr);
      step_ = steps_;
      lock.unlock();
      stop_worker();
      std::rethrow_exception(error);
    }
    std::swap(out, slot_);
    slot_full_ = false;
    ++step_;
    lock.unlock();
    ready_.notify_all();
    return true;
  }

private:
  /// Clusters of step k: the k-th group of batch_size entries of the epoch's order (the last may be short).
  [[nodiscard]] std::span<const std::int32_t> group(std::int64_t k) const {
    const auto first = static_cast<std::size_t>(k * options_.batch_size);
    const auto count = std::min(static_cast<std::size_t>(options_.batch_size), order_.size() - first);
    return std::span<const std::int32_t>(order_).subspan(first, count);
  }

  /// Worker loop: waits for the slot to be empty, then builds the next batch into it, until the epoch is done or
  /// stop_ is raised. The slot belongs to the worker exactly while slot_full_ is false and an epoch runs.
  void work() {
    for (std::int64_t k = 0; k < steps_; ++k) {
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !slot_full_ || stop_; });
        if (stop_) return;
      }
      try {
        detail::build_batch_into(*graph_, ptr_, group(k), workspace_, slot_, false);
        // The backward pass of the batch's aggregations needs the adjacency's transposed index (Csr's cache, which
        // moves with the batch): built here, beside the training step, instead of inside the next one.
        (void)slot_.adj.transposed_index();
      } catch (...) {
        {
          std::lock_guard lock(mutex_);
          error_ = std::current_exception();
        }
        ready_.notify_all();
        return;
      }
      {
        std::lock_guard lock(mutex_);
        slot_full_ = true;
      }
      ready_.notify_all();
    }
  }

  /// Raises stop_, joins the worker and leaves the hand-over state empty for the next epoch.
  void stop_worker() {
    if (worker_.joinable()) {
      {
        std::lock_guard lock(mutex_);
        stop_ = true;
      }
      ready_.notify_all();
      worker_.join();
    }
    stop_ = false;
    slot_full_ = false;
    error_ = nullptr;
  }

  const Graph* graph_;
  std::vector<std::int64_t> ptr_;
  TrainLoaderOptions options_;
  std::int64_t steps_ = 0;
  std::int64_t epoch_ = -1;
  std::int64_t step_ = 0;  // batches handed out in this epoch
  std::vector<std::int32_t> order_;
  BatchWorkspace workspace_;         // foreground builds, or the worker's in background mode
  std::vector<Batch> precomputed_;   // (steps_) precompute mode: the epoch's batches

  // Background hand-over: one slot, guarded by mutex_; ready_ signals both "slot filled" and "slot emptied".
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable ready_;
  Batch slot_;
  bool slot_full_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace gas::loader
