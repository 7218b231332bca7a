#pragma once
/// @brief The CUDA backend tag and device selection: `set_device`, `current_device`, `DeviceGuard`.

#include <cuda_runtime.h>

#include "gas/core/backend.hpp"  // the backend tag gas::cuda::device
#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"

namespace gas::cuda {

namespace detail {
/// @brief Swallows the status of a cleanup call made where throwing is not allowed (destructors).
/// A failed call also sets the runtime's last-error slot; clearing it keeps a later
/// `GAS_CUDA_CHECK_LAUNCH` from blaming an innocent kernel launch for a failed cleanup.
inline void ignore(cudaError_t status) noexcept {
  if (status != cudaSuccess) (void)cudaGetLastError();
}
}  // namespace detail

/// @brief The device the calling host thread currently targets; throws cuda_error without a GPU or driver.
[[nodiscard]] inline int current_device() {
  int id = 0;
  GAS_CUDA_CHECK(cudaGetDevice(&id));
  return id;
}

/// @brief Makes `id` the calling thread's current device; value_error for a negative id,
/// cuda_error when the runtime rejects it (no such device, no driver).
inline void set_device(int id) {
  GAS_CHECK(id >= 0, value_error, "device id " << id << " is negative");
  GAS_CUDA_CHECK(cudaSetDevice(id));
}

/// @brief Switches the calling thread to a device for one scope and restores the previous one on exit,
/// so a helper that works on another device never leaves its caller on the wrong one.
class DeviceGuard {
public:
  /// @brief Remembers the current device, then switches to `id` (no runtime call to switch when it is already current).
  explicit DeviceGuard(int id) : previous_(current_device()) {
    if (id != previous_) set_device(id);
  }
  /// @brief Restores the device that was current at construction; never throws.
  ~DeviceGuard() {
    int now = -1;
    const cudaError_t got = cudaGetDevice(&now);
    // Only switch back when something changed it: most guards find the device already right.
    if (got != cudaSuccess || now != previous_) detail::ignore(cudaSetDevice(previous_));
    detail::ignore(got);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

  /// @brief The device that will be restored.
  [[nodiscard]] int previous() const { return previous_; }

private:
  int previous_;
};

}  // namespace gas::cuda
