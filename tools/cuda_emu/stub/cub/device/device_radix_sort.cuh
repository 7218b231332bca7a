#pragma once
// Stand-in for CUB's DeviceRadixSort::SortPairs (emulation): the same contract — a size query when d_temp_storage is
// null, a stable sort of (key, value) pairs by bits [begin_bit, end_bit) of the keys (signed keys with the sign bit
// flipped, as CUB does), queued on `stream` (it reads the inputs when the stream reaches it, not at the call).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <type_traits>
#include <vector>

namespace gas_emu {
bool enqueue_device_work(cudaStream_t stream, std::function<void()> fn);
bool is_device_range(const void* p, std::size_t n);
[[noreturn]] void fatal(const char* what, const char* detail);
}  // namespace gas_emu

namespace cub {
struct DeviceRadixSort {
  template <class K, class V, class N>
  static std::size_t temp_bytes(N n) {
    return 1024 + (sizeof(K) + sizeof(V)) * static_cast<std::size_t>(n);
  }
  template <class K, class V, class N>
  static cudaError_t SortPairs(void* d_temp_storage, std::size_t& temp_storage_bytes, const K* d_keys_in, K* d_keys_out,
                               const V* d_values_in, V* d_values_out, N num_items, int begin_bit = 0,
                               int end_bit = sizeof(K) * 8, cudaStream_t stream = 0) {
    static_assert(std::is_integral_v<K>, "stand-in sorts integer keys");
    if (d_temp_storage == nullptr) {
      temp_storage_bytes = temp_bytes<K, V>(num_items);
      return cudaSuccess;
    }
    if (num_items < 0 || begin_bit < 0 || end_bit > static_cast<int>(sizeof(K) * 8) || begin_bit >= end_bit)
      return cudaErrorInvalidValue;
    const auto n = static_cast<std::size_t>(num_items);
    if (temp_storage_bytes < temp_bytes<K, V>(num_items) || !gas_emu::is_device_range(d_temp_storage, temp_storage_bytes))
      gas_emu::fatal("cub::DeviceRadixSort::SortPairs", "temporary storage too small or not device memory");
    if (n == 0) return cudaSuccess;
    if (!gas_emu::is_device_range(d_keys_in, n * sizeof(K)) || !gas_emu::is_device_range(d_keys_out, n * sizeof(K)) ||
        !gas_emu::is_device_range(d_values_in, n * sizeof(V)) || !gas_emu::is_device_range(d_values_out, n * sizeof(V)))
      gas_emu::fatal("cub::DeviceRadixSort::SortPairs", "an input or output is not a device range of num_items elements");
    const bool ok = gas_emu::enqueue_device_work(stream, [=] {
      using U = std::make_unsigned_t<K>;
      auto digit = [&](std::size_t i) {
        U u = static_cast<U>(d_keys_in[i]);
        if constexpr (std::is_signed_v<K>) u ^= static_cast<U>(U{1} << (sizeof(K) * 8 - 1));
        const int bits = end_bit - begin_bit;
        const std::uint64_t mask = bits >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << bits) - 1);
        return (static_cast<std::uint64_t>(u) >> begin_bit) & mask;
      };
      std::vector<std::size_t> idx(n);
      std::iota(idx.begin(), idx.end(), std::size_t{0});
      std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return digit(a) < digit(b); });
      std::vector<K> keys(n);
      std::vector<V> vals(n);
      for (std::size_t i = 0; i < n; ++i) {
        keys[i] = d_keys_in[idx[i]];
        vals[i] = d_values_in[idx[i]];
      }
      std::copy(keys.begin(), keys.end(), d_keys_out);
      std::copy(vals.begin(), vals.end(), d_values_out);
    });
    return ok ? cudaSuccess : cudaErrorInvalidResourceHandle;
  }
};
}  // namespace cub
