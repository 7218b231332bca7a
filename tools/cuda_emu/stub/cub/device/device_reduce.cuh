#pragma once
// Stand-in for CUB's DeviceReduce::TransformReduce (emulation): the same two-phase contract (a size query when
// d_temp_storage is null; the temporaries must then be device memory of at least that size), the reduction queued on
// `stream` (it reads the input when the stream reaches it), the result written through d_out, which may be a pointer
// or an output iterator such as thrust::tabulate_output_iterator. The order is tiles of 256 items reduced in turn,
// then the tiles' results in turn: fixed, so results repeat, and not the host's one sequential sum, so a test that
// expects the host's bits from a device reduction fails here as it would on a GPU (CUB's real order depends on the
// GPU; see docs/cuda.md).
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <type_traits>

namespace gas_emu {
bool enqueue_device_work(cudaStream_t stream, std::function<void()> fn);
bool is_device_range(const void* p, std::size_t n);
[[noreturn]] void fatal(const char* what, const char* detail);
}  // namespace gas_emu

namespace cub {
struct DeviceReduce {
  static constexpr std::size_t temp_bytes = 512;

  template <class InputIteratorT, class OutputIteratorT, class ReductionOpT, class TransformOpT, class T,
            class NumItemsT>
  static cudaError_t TransformReduce(void* d_temp_storage, std::size_t& temp_storage_bytes, InputIteratorT d_in,
                                     OutputIteratorT d_out, NumItemsT num_items, ReductionOpT reduction_op,
                                     TransformOpT transform_op, T init, cudaStream_t stream = 0) {
    static_assert(std::is_integral_v<NumItemsT>, "num_items must be an integral type");
    if (d_temp_storage == nullptr) {
      temp_storage_bytes = temp_bytes;
      return cudaSuccess;
    }
    if (num_items < 0) return cudaErrorInvalidValue;
    if (temp_storage_bytes < temp_bytes || !gas_emu::is_device_range(d_temp_storage, temp_storage_bytes))
      gas_emu::fatal("cub::DeviceReduce::TransformReduce", "temporary storage too small or not device memory");
    const auto n = static_cast<std::uint64_t>(num_items);
    if constexpr (std::is_pointer_v<InputIteratorT>)
      if (n > 0 && !gas_emu::is_device_range(d_in, n * sizeof(*d_in)))
        gas_emu::fatal("cub::DeviceReduce::TransformReduce", "the input is not a device range of num_items elements");
    if constexpr (std::is_pointer_v<OutputIteratorT>)
      if (!gas_emu::is_device_range(d_out, sizeof(*d_out)))
        gas_emu::fatal("cub::DeviceReduce::TransformReduce", "the output is not device memory");
    gas_emu::check_copy("cub::DeviceReduce::TransformReduce", 0, d_in);
    gas_emu::check_copy("cub::DeviceReduce::TransformReduce", 1, d_out);
    gas_emu::check_copy("cub::DeviceReduce::TransformReduce", 2, reduction_op);
    gas_emu::check_copy("cub::DeviceReduce::TransformReduce", 3, transform_op);
    using Acc = std::decay_t<decltype(reduction_op(init, transform_op(d_in[0])))>;
    const bool ok = gas_emu::enqueue_device_work(stream, [=]() mutable {
      constexpr std::uint64_t tile = 256;
      Acc total = init;
      for (std::uint64_t t0 = 0; t0 < n; t0 += tile) {
        Acc part = transform_op(d_in[t0]);
        for (std::uint64_t i = t0 + 1; i < n && i < t0 + tile; ++i) part = reduction_op(part, transform_op(d_in[i]));
        total = reduction_op(total, part);
      }
      *d_out = total;
    });
    return ok ? cudaSuccess : cudaErrorInvalidResourceHandle;
  }
};
}  // namespace cub
