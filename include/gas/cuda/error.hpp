#pragma once
/// @brief `GAS_CUDA_CHECK` and device discovery; CUDA failures become `gas::cuda_error` naming the call and place.

#if !defined(__CUDACC__)
#error "gas/cuda/error.hpp needs nvcc; host-only code includes gas/gas.hpp, which leaves CUDA out"
#endif

#include <cuda_runtime.h>

#include <string>

#include "gas/core/error.hpp"
#include "gas/core/macros.hpp"

namespace gas::cuda {

/// @brief Kernels live in this inline namespace so that objects built for different architectures or
/// versions of gas never collide at link time.
inline namespace v0 {}

namespace detail {
[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  // Clear the runtime's last-error slot: a caller that catches this must not see it again blamed on its next launch.
  (void)cudaGetLastError();
  throw cuda_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                   cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}
}  // namespace detail

/// @brief Number of usable CUDA devices; 0 (not an error) on a machine without a GPU or driver.
inline int device_count() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" status so later calls start clean
    return 0;
  }
  return count;
}

/// @brief True when at least one CUDA device can run kernels.
inline bool available() { return device_count() > 0; }

}  // namespace gas::cuda

/// @brief Wraps a CUDA runtime call; throws gas::cuda_error with the call text and location on failure.
#define GAS_CUDA_CHECK(call)                                                                  \
  do {                                                                                        \
    const cudaError_t gas_cuda_status_ = (call);                                              \
    if (gas_cuda_status_ != cudaSuccess)                                                      \
      ::gas::cuda::detail::throw_cuda_error(gas_cuda_status_, #call, __FILE__, __LINE__);     \
  } while (false)

/// @brief Checks the last kernel launch (configuration errors) without synchronizing.
#define GAS_CUDA_CHECK_LAUNCH() GAS_CUDA_CHECK(cudaGetLastError())
