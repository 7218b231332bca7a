#pragma once
/// @brief `Event`: an owned CUDA event (RAII) to order streams without host syncs, and `elapsed_ms` to time them.

#include <cuda_runtime.h>

#include <utility>

#include "gas/core/check.hpp"
#include "gas/cuda/device.hpp"
#include "gas/cuda/error.hpp"

namespace gas::cuda {

/// @brief Settings of a new event.
struct EventOptions {
  /// @brief Record timestamps so `elapsed_ms` works. Off by default: timing makes record and wait slower.
  bool timing = false;
  /// @brief `synchronize()` sleeps the host thread instead of spinning (saves a core during long waits).
  bool blocking_sync = false;
};

/// @brief An owned CUDA event on the device that was current at construction; movable, not copyable.
class Event {
public:
  /// @brief An event without timing; throws cuda_error without a GPU.
  Event() : Event(EventOptions{}) {}
  /// @brief An event with the given options.
  explicit Event(EventOptions options) : timing_(options.timing) {
    unsigned flags = options.timing ? cudaEventDefault : cudaEventDisableTiming;
    if (options.blocking_sync) flags |= cudaEventBlockingSync;
    GAS_CUDA_CHECK(cudaEventCreateWithFlags(&event_, flags));
  }
  /// @brief Destroys the event; never throws. Pending waits on it stay valid (the runtime defers the release).
  ~Event() { reset(); }

  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  /// @brief Takes the event over; `other` is left holding none.
  Event(Event&& other) noexcept
      : event_(std::exchange(other.event_, nullptr)), timing_(std::exchange(other.timing_, false)) {}
  /// @brief Destroys the held event, then takes `other`'s over.
  Event& operator=(Event&& other) noexcept {
    if (this != &other) {
      reset();
      event_ = std::exchange(other.event_, nullptr);
      timing_ = std::exchange(other.timing_, false);
    }
    return *this;
  }

  /// @brief Captures the work queued on `stream` so far; a later record replaces the capture.
  void record(cudaStream_t stream) {
    GAS_CHECK(event_ != nullptr, value_error, "record on a moved-from event");
    GAS_CUDA_CHECK(cudaEventRecord(event_, stream));
  }
  /// @brief Makes work queued later on `stream` wait for the last record; the host does not block.
  /// Records made after this call do not affect the wait.
  void wait(cudaStream_t stream) const {
    GAS_CHECK(event_ != nullptr, value_error, "wait on a moved-from event");
    GAS_CUDA_CHECK(cudaStreamWaitEvent(stream, event_, 0));
  }
  /// @brief Blocks the host until the recorded work has finished (returns at once if never recorded).
  void synchronize() const {
    GAS_CHECK(event_ != nullptr, value_error, "synchronize on a moved-from event");
    GAS_CUDA_CHECK(cudaEventSynchronize(event_));
  }
  /// @brief True when the recorded work has finished (or nothing was recorded); never blocks.
  [[nodiscard]] bool query() const {
    GAS_CHECK(event_ != nullptr, value_error, "query on a moved-from event");
    const cudaError_t status = cudaEventQuery(event_);
    if (status == cudaErrorNotReady) {
      // "Not ready" is an answer, not a failure: drop it from the last-error slot, unless an older error sits there.
      if (cudaPeekAtLastError() == cudaErrorNotReady) (void)cudaGetLastError();
      return false;
    }
    GAS_CUDA_CHECK(status);
    return true;
  }

  /// @brief The raw handle (nullptr after a move).
  [[nodiscard]] cudaEvent_t get() const { return event_; }
  /// @brief Whether this event records timestamps.
  [[nodiscard]] bool timing() const { return timing_; }

private:
  void reset() noexcept {
    if (event_ != nullptr) detail::ignore(cudaEventDestroy(std::exchange(event_, nullptr)));
  }

  cudaEvent_t event_ = nullptr;
  bool timing_ = false;
};

/// @brief Milliseconds between two recorded timing events; waits for `stop` to complete first.
/// value_error when either event was made without timing (CUDA would only say "invalid handle").
inline float elapsed_ms(const Event& start, const Event& stop) {
  GAS_CHECK(start.timing() && stop.timing(), value_error,
            "both events need EventOptions{.timing = true} (start: " << start.timing() << ", stop: " << stop.timing()
                                                                      << ")");
  stop.synchronize();  // cudaEventElapsedTime answers "not ready" rather than waiting
  float ms = 0.0f;
  GAS_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
  return ms;
}

}  // namespace gas::cuda
