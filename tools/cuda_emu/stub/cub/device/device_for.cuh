#pragma once
// Stand-in for CUB's DeviceFor::Bulk (emulation): op(i) for every i in [0, shape), queued on `stream` as a kernel of
// the emulator (one fiber per thread, 256 threads a block), so the launch is counted, its functor is checked for
// pointers to pageable host memory as kernel arguments are, and it runs in stream order.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

namespace cub {
struct DeviceFor {
  template <class ShapeT, class OpT>
  static cudaError_t Bulk(ShapeT shape, OpT op, cudaStream_t stream = {}) {
    static_assert(std::is_integral_v<ShapeT>, "ShapeT must be an integral type");
    if (shape < 0) return cudaErrorInvalidValue;
    if (shape == 0) return cudaSuccess;
    constexpr unsigned threads = 256;
    const auto blocks = (static_cast<std::uint64_t>(shape) + threads - 1) / threads;
    if (blocks > 2147483647u) return cudaErrorInvalidConfiguration;
    gas_emu::check_copy("cub::DeviceFor::Bulk", 0, op);
    gas_emu::launch("cub::DeviceFor::Bulk", dim3(static_cast<unsigned>(blocks)), dim3(threads), 0, stream, [op, shape] {
      const std::uint64_t i = std::uint64_t{blockIdx.x} * threads + threadIdx.x;
      if (i < static_cast<std::uint64_t>(shape)) op(static_cast<ShapeT>(i));
    });
    return cudaPeekAtLastError();  // as CUB: the launch's error, left in the runtime's slot
  }
};
}  // namespace cub
