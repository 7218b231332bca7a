#pragma once
/// @brief Inverted dropout on the device with exactly the host's mask (ops::dropout): element e = i * cols + j
/// is kept iff its 32 bits of CounterStream(seed, 0x64726f70)(e / 2) (low half for even e, high for odd) are at
/// least ceil(p * 2^32). The decision is one GAS_HD function, so host and device cannot drift apart.

#include <cuda_runtime.h>

#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::cuda {

/// @brief Whether dropout keeps element `e` given the 64 bits its pair drew (bits = draws(e / 2)).
GAS_HD inline bool dropout_keeps_bits(std::uint64_t bits, std::uint64_t e, std::uint64_t threshold) {
  const auto half = static_cast<std::uint32_t>(bits >> (32 * (e % 2)));
  return half >= threshold;
}

/// @brief Whether dropout keeps element `e` of the mask of `draws` (= CounterStream(seed, dropout_stream)).
GAS_HD inline bool dropout_keeps(const CounterStream& draws, std::uint64_t e, std::uint64_t threshold) {
  return dropout_keeps_bits(draws(e / 2), e, threshold);
}

inline namespace v0 {
namespace kernels {

// One call per pair of elements: one 64-bit draw serves both, as on the host.
// Forward: out = m * in (mask = m when non-null). Backward: out += m * in (in = g, out = gx), m rebuilt from the seed.
template <class T, bool Backward>
struct DropoutPair {
  CounterStream draws;
  std::uint64_t threshold;
  T kept;
  const T* in;
  T* out;
  T* mask;
  std::int64_t size;
  __device__ void operator()(std::int64_t pair) const {
    const std::uint64_t bits = draws(static_cast<std::uint64_t>(pair));
    for (std::int64_t e = 2 * pair; e < 2 * pair + 2 && e < size; ++e) {
      const T m = dropout_keeps_bits(bits, static_cast<std::uint64_t>(e), threshold) ? kept : T{0};
      if constexpr (Backward) {
        out[e] += m * in[e];
      } else {
        if (mask != nullptr) mask[e] = m;
        out[e] = m * in[e];
      }
    }
  }
};

}  // namespace kernels
}  // namespace v0

namespace detail {
inline void check_dropout(double p, std::int64_t rows, std::int64_t cols, const char* what) {
  GAS_CHECK(p >= 0.0 && p < 1.0, value_error, what << ": dropout probability " << p << " outside [0, 1)");
  GAS_CHECK(rows >= 0 && cols >= 0, shape_error, what << ": negative shape (" << rows << ", " << cols << ")");
}
}  // namespace detail

/// @brief Training-mode dropout of a contiguous (rows, cols) device array: out = mask * in with the host's mask
/// for `seed`, mask (optional, may be nullptr) = 0 or 1 / (1 - p). Throws value_error for p outside [0, 1).
template <class T>
void dropout_forward(const T* in, std::int64_t rows, std::int64_t cols, double p, std::uint64_t seed, T* out, T* mask,
                     cudaStream_t stream) {
  detail::check_dropout(p, rows, cols, "cuda::dropout_forward");
  const std::int64_t size = rows * cols;
  detail::launch_elementwise(
      kernels::DropoutPair<T, false>{CounterStream(seed, ops::detail::dropout_stream), ops::detail::dropout_threshold(p),
                                     static_cast<T>(1.0 / (1.0 - p)), in, out, mask, size},
      (size + 1) / 2, "cuda::dropout_forward", stream);
}

/// @brief gx (rows, cols) += mask * g, the mask rebuilt from (seed, p) rather than stored: the same values the
/// forward pass used, without keeping a mask per element. Throws value_error for p outside [0, 1).
template <class T>
void dropout_backward(const T* g, std::int64_t rows, std::int64_t cols, double p, std::uint64_t seed, T* gx,
                      cudaStream_t stream) {
  detail::check_dropout(p, rows, cols, "cuda::dropout_backward");
  const std::int64_t size = rows * cols;
  detail::launch_elementwise(
      kernels::DropoutPair<T, true>{CounterStream(seed, ops::detail::dropout_stream), ops::detail::dropout_threshold(p),
                                    static_cast<T>(1.0 / (1.0 - p)), g, gx, nullptr, size},
      (size + 1) / 2, "cuda::dropout_backward", stream);
}

}  // namespace gas::cuda
