#pragma once
/// @brief Gradient clipping by the total L2 norm on the device (train::clip_grad_norm, train::GradClipper): the sum
/// of squares, the norm and the factor stay in device memory, so clipping is queued on a stream and never waits.
///
/// The squares of one gradient are summed in double by total_reduce (reduce.cuh: cub::DeviceReduce), whose finish adds
/// that sum to the running total, parameter by parameter in stream order. No atomics: the result is the same bits on
/// every run on one GPU; it differs from the host's one sequential sum only by the order of the additions. The last parameter's step also forms norm = sqrt(total) and factor = max_norm / (norm + 1e-6), both
/// correctly rounded in double, so the host's formula applied to the device's norm gives the device's factor.

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/cuda/kernels/reduce.cuh"

namespace gas::cuda {

/// @brief The doubles of a clip's device state: the running sum of squares, the norm and the factor.
struct ClipSlots {
  static constexpr int squares = 0, norm = 1, factor = 2, count = 3;
};

inline namespace v0 {
namespace kernels {

template <class T>
struct Square {
  const T* x;
  __device__ double operator()(std::int64_t e) const {
    const double v = x[e];
    return v * v;
  }
};

// state[squares] = (first ? 0 : state[squares]) + s; when last, the norm and the factor too (one thread).
struct AddSquares {
  double* state;
  double max_norm;
  bool first, last;
  __device__ void operator()(double s) const {
    const double squares = first ? s : state[ClipSlots::squares] + s;
    state[ClipSlots::squares] = squares;
    if (last) {
      const double norm = sqrt(squares);
      state[ClipSlots::norm] = norm;
      state[ClipSlots::factor] = max_norm / (norm + 1e-6);
    }
  }
};

// g[i] = T(g[i] * factor) when the factor (read from device memory) is below 1; a factor >= 1 or NaN writes nothing.
template <class T>
struct ClipScale {
  T* g;
  const double* factor;
  __device__ void operator()(std::int64_t i) const {
    const double f = *factor;
    if (f < 1) g[i] = static_cast<T>(g[i] * f);
  }
};

}  // namespace kernels
}  // namespace v0

/// @brief The bytes of scratch clip_add_squares needs for a gradient of n elements (CUB's size query: no allocation).
template <class T>
std::size_t clip_scratch_bytes(std::int64_t n) {
  return total_reduce_scratch_bytes(n, kernels::Square<T>{nullptr}, kernels::AddSquares{});
}

/// @brief Adds the squares of the n contiguous elements of the device gradient g (in double) to the running sum of
/// `state` (ClipSlots::count doubles): the sum replaces it when `first`; when `last`, the norm and the factor
/// max_norm / (norm + 1e-6) follow. `scratch` is at least clip_scratch_bytes<T>(n) bytes, free for reuse once the
/// stream has passed this call (in stream order: the next gradient may use it at once). n may be 0 (g unread): a list
/// without gradients is one call with n = 0, first and last. Queued on `stream`; allocates nothing; throws value_error
/// for a negative n or too little scratch.
template <class T>
void clip_add_squares(const T* g, std::int64_t n, void* scratch, std::size_t scratch_bytes, double* state, bool first,
                      bool last, double max_norm, cudaStream_t stream) {
  GAS_CHECK(n >= 0, value_error, "cuda::clip_add_squares: negative element count " << n);
  total_reduce_into(n, kernels::Square<T>{g}, kernels::AddSquares{state, max_norm, first, last}, scratch, scratch_bytes,
                    stream);
}

/// @brief g = T(g * factor) for n contiguous device elements when *factor (device memory, e.g. the ClipSlots::factor
/// slot of a clip's state) is below 1, with the product in double, as the host clip; otherwise g is left untouched.
/// Queued on `stream`; throws value_error for a negative n.
template <class T>
void clip_scale(T* g, std::int64_t n, const double* factor, cudaStream_t stream) {
  detail::launch_elementwise(kernels::ClipScale<T>{g, factor}, n, "cuda::clip_scale", stream);
}

}  // namespace gas::cuda
