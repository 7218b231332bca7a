#pragma once
/// @brief `CachingArena`: a cudaMalloc-backed caching allocator, so a warm training step asks the driver for nothing.
///
/// Sizes are rounded to classes and freed blocks are kept per (class, stream) for reuse.
///
/// Stream rule. A block belongs to the stream it was allocated for. `deallocate(p, s)` promises that all
/// work touching the block has been queued on `s` (order any other stream before `s` with an Event first,
/// as with cudaFreeAsync); the arena records the block's event on `s` right then. A later `allocate` on
/// the same stream `s` reuses the block at once: stream order already puts the new work after the old.
/// An `allocate` on another stream takes a cached block only after making that stream wait on the
/// block's event (cudaStreamWaitEvent), so the new owner's work cannot start before the old owner's
/// has finished; the host never blocks. The arena searches the requesting stream's blocks first.
/// Streams are told apart by handle, and the runtime may give a destroyed stream's handle to a new one;
/// `gas::cuda::Stream` therefore drains its work before it is destroyed. Raw streams must do the same
/// (cudaStreamSynchronize before cudaStreamDestroy) while blocks freed on them are cached.

#include <cuda_runtime.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/cuda/device.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/event.hpp"

namespace gas::cuda {

/// @brief Counters of a `CachingArena`; sizes are rounded (class) sizes, in bytes.
struct ArenaStats {
  std::size_t bytes_in_use = 0;         ///< bytes of blocks handed out and not yet returned
  std::size_t bytes_cached = 0;         ///< bytes of returned blocks kept for reuse
  std::size_t peak_bytes_in_use = 0;    ///< highest `bytes_in_use` since construction or `reset_peak`
  std::size_t allocations = 0;          ///< `allocate` calls that returned memory
  std::size_t cache_hits = 0;           ///< allocations served from the cache
  std::size_t cross_stream_reuses = 0;  ///< cache hits on a block last freed on another stream (event-guarded)
  std::size_t driver_allocations = 0;   ///< successful cudaMalloc calls
  std::size_t driver_frees = 0;         ///< cudaFree calls (release_cached, out-of-memory retries)
  std::size_t cache_flushes = 0;        ///< out-of-memory cudaMalloc calls answered by emptying the cache and retrying

  /// @brief Bytes the arena holds from the driver: in use plus cached.
  [[nodiscard]] std::size_t bytes_reserved() const { return bytes_in_use + bytes_cached; }
};

/// @brief A thread-safe caching allocator of device memory for one device.
/// The arena must outlive every block it handed out; its destructor returns all of them to the driver.
class CachingArena {
public:
  /// @brief Requests up to this size are rounded up to a multiple of `small_granularity`.
  static constexpr std::size_t small_limit = static_cast<std::size_t>(1) << 20;
  /// @brief Granularity of small size classes; also the alignment every class keeps.
  static constexpr std::size_t small_granularity = 512;
  /// @brief Large requests are rounded to one of 2^class_bits classes per power of two (waste under 1/8).
  static constexpr int class_bits = 3;

  /// @brief An empty arena for device `id`; makes no CUDA call, so it can be built without a GPU.
  explicit CachingArena(int id) : device_(id) {
    GAS_CHECK(id >= 0, value_error, "device id " << id << " is negative");
  }
  /// @brief Returns every block, cached or not, to the driver; never throws.
  ~CachingArena() {
    if (blocks_.empty()) return;
    try {
      const DeviceGuard guard(device_);
      for (auto& entry : blocks_) detail::ignore(cudaFree(entry.first));
    } catch (const error&) {
      // The device cannot be selected (the runtime is shutting down); nothing more can be returned.
    }
  }
  CachingArena(const CachingArena&) = delete;
  CachingArena& operator=(const CachingArena&) = delete;

  /// @brief The size class of a request: 512-byte steps up to 1 MiB, then 8 classes per power of two.
  /// Requests too large to round without overflow are kept as they are (the driver will refuse them).
  [[nodiscard]] static constexpr std::size_t round_size(std::size_t bytes) noexcept {
    if (bytes <= small_limit) return (bytes + small_granularity - 1) / small_granularity * small_granularity;
    const int octave = static_cast<int>(std::bit_width(bytes)) - 1;  // 2^octave <= bytes < 2^(octave+1)
    const std::size_t step = static_cast<std::size_t>(1) << (octave - class_bits);
    if (bytes > std::numeric_limits<std::size_t>::max() - step) return bytes;
    return (bytes + step - 1) / step * step;
  }

  /// @brief `bytes` of device memory for work on `stream` (nullptr for 0 bytes); aligned to 512 bytes.
  /// Throws cuda_error naming the request and the bytes in use when the driver refuses, after one retry
  /// with the cache emptied; the arena is unchanged then.
  [[nodiscard]] void* allocate(std::size_t bytes, cudaStream_t stream) {
    if (bytes == 0) return nullptr;
    const std::size_t size = round_size(bytes);
    const std::lock_guard lock(mutex_);
    // The common case of a warm step: a block this stream freed earlier, reused with no runtime call at all.
    if (auto list = free_.find({size, key(stream)}); list != free_.end() && !list->second.empty()) {
      void* ptr = list->second.back();
      list->second.pop_back();
      return hand_out(ptr, stream, false);
    }
    try {
      const DeviceGuard guard(device_);
      if (void* ptr = take_from_other_stream(size, stream)) return ptr;
      return allocate_from_driver(size, stream);
    } catch (const cuda_error& failure) {
      (void)cudaGetLastError();  // a caller that catches this (to fall back to host memory) starts clean
      GAS_FAIL(cuda_error, bytes << " bytes (class " << size << ") on device " << device_ << " failed with "
                                 << stats_.bytes_in_use << " bytes in use and " << stats_.bytes_cached
                                 << " cached: " << failure.what());
    }
  }

  /// @brief Returns a block after the work queued so far on `stream` (see the stream rule above).
  /// nullptr is ignored; a pointer this arena did not hand out, or one already returned, throws
  /// value_error and changes nothing.
  void deallocate(void* ptr, cudaStream_t stream) {
    if (ptr == nullptr) return;
    const std::lock_guard lock(mutex_);
    const auto found = blocks_.find(ptr);
    GAS_CHECK(found != blocks_.end(), value_error,
              "pointer " << ptr << " was not allocated by this arena (device " << device_ << ")");
    Block& block = found->second;
    GAS_CHECK(block.in_use, value_error,
              "double free of " << ptr << " (" << block.size << " bytes): the block is already back in the arena");
    std::vector<void*>& list = free_[{block.size, key(stream)}];
    list.reserve(list.size() + 1);  // the last step that can fail for host memory, taken before any change
    {
      const DeviceGuard guard(device_);  // stream 0 means the current device's default stream
      block.event.record(stream);
    }
    list.push_back(ptr);
    block.in_use = false;
    block.stream = stream;
    stats_.bytes_in_use -= block.size;
    stats_.bytes_cached += block.size;
  }

  /// @brief Returns a block on the stream it was allocated for (or last handed to).
  void deallocate(void* ptr) {
    cudaStream_t stream = nullptr;
    {
      const std::lock_guard lock(mutex_);
      const auto found = blocks_.find(ptr);
      if (found != blocks_.end()) stream = found->second.stream;
    }
    deallocate(ptr, stream);  // checks again under the lock: another thread may have freed it meanwhile
  }

  /// @brief Gives every cached block back to the driver (cudaFree) after its last work has finished.
  void release_cached() {
    const std::lock_guard lock(mutex_);
    if (stats_.bytes_cached == 0) return;
    const DeviceGuard guard(device_);
    release_cached_locked();
  }

  /// @brief A snapshot of the counters.
  [[nodiscard]] ArenaStats stats() const {
    const std::lock_guard lock(mutex_);
    return stats_;
  }
  /// @brief Restarts peak tracking from the bytes in use now.
  void reset_peak() {
    const std::lock_guard lock(mutex_);
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }
  /// @brief True when `ptr` starts a block of this arena, in use or cached.
  [[nodiscard]] bool owns(const void* ptr) const {
    const std::lock_guard lock(mutex_);
    return blocks_.contains(const_cast<void*>(ptr));
  }
  /// @brief The device this arena allocates on.
  [[nodiscard]] int device_id() const { return device_; }

private:
  struct Block {
    std::size_t size;      // class size, bytes
    cudaStream_t stream;   // owner while in use; the freeing stream while cached
    bool in_use;
    Event event;           // recorded at every free; made once per block so warm steps create none
  };
  using FreeKey = std::pair<std::size_t, std::uintptr_t>;  // (class size, stream): class first so one class is a range

  static std::uintptr_t key(cudaStream_t stream) { return reinterpret_cast<std::uintptr_t>(stream); }

  void* hand_out(void* ptr, cudaStream_t stream, bool other_stream) {
    Block& block = blocks_.at(ptr);
    block.in_use = true;
    block.stream = stream;
    stats_.bytes_cached -= block.size;
    ++stats_.cache_hits;
    if (other_stream) ++stats_.cross_stream_reuses;
    return count_in_use(block.size, ptr);
  }

  void* count_in_use(std::size_t size, void* ptr) {
    stats_.bytes_in_use += size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    ++stats_.allocations;
    return ptr;
  }

  // A block of this class last freed on another stream; `stream` waits on its event before the block is handed out.
  void* take_from_other_stream(std::size_t size, cudaStream_t stream) {
    for (auto list = free_.lower_bound({size, 0}); list != free_.end() && list->first.first == size; ++list) {
      if (list->second.empty()) continue;
      void* ptr = list->second.back();
      blocks_.at(ptr).event.wait(stream);  // may throw; the block stays cached then
      list->second.pop_back();
      return hand_out(ptr, stream, true);
    }
    return nullptr;
  }

  // Caller holds the lock and a guard on device_.
  void* allocate_from_driver(std::size_t size, cudaStream_t stream) {
    void* ptr = nullptr;
    if (const cudaError_t status = cudaMalloc(&ptr, size); status != cudaSuccess) {
      if (status != cudaErrorMemoryAllocation || stats_.bytes_cached == 0)
        detail::throw_cuda_error(status, "cudaMalloc", __FILE__, __LINE__);
      // Out of memory while holding cached blocks: give them back and try once more.
      (void)cudaGetLastError();
      release_cached_locked();
      ++stats_.cache_flushes;
      GAS_CUDA_CHECK(cudaMalloc(&ptr, size));
    }
    try {
      blocks_.emplace(ptr, Block{size, stream, true, Event{}});
    } catch (...) {
      detail::ignore(cudaFree(ptr));  // no record of the block could be kept: hand it straight back
      throw;
    }
    ++stats_.driver_allocations;
    return count_in_use(size, ptr);
  }

  // Caller holds the lock and a guard on device_. Consistent after each block, so a failure midway loses nothing.
  void release_cached_locked() {
    for (auto& [class_key, list] : free_) {
      while (!list.empty()) {
        void* ptr = list.back();
        const auto found = blocks_.find(ptr);
        // cudaFree happens to wait for the device today; the block's event states the dependency outright.
        found->second.event.synchronize();
        GAS_CUDA_CHECK(cudaFree(ptr));
        list.pop_back();
        stats_.bytes_cached -= found->second.size;
        ++stats_.driver_frees;
        blocks_.erase(found);
      }
    }
    free_.clear();
  }

  int device_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, Block> blocks_;         // every block held from the driver, in use or cached
  std::map<FreeKey, std::vector<void*>> free_;      // cached blocks; empty lists stay so warm steps allocate no nodes
  ArenaStats stats_;
};

/// @brief The process-wide arena of device `id`, made on first use and never destroyed, so buffers freed
/// during static destruction still find it. value_error for a bad id, cuda_error when there is no GPU.
inline CachingArena& default_arena(int id) {
  struct Registry {
    std::mutex mutex;
    std::vector<std::unique_ptr<CachingArena>> arenas;
  };
  static Registry* const registry = new Registry;  // leaked on purpose: see above
  GAS_CHECK(id >= 0, value_error, "device id " << id << " is negative");
  const std::lock_guard lock(registry->mutex);
  const auto slot = static_cast<std::size_t>(id);
  if (slot < registry->arenas.size() && registry->arenas[slot]) return *registry->arenas[slot];
  const int count = device_count();
  if (count == 0) GAS_FAIL(cuda_error, "no CUDA device is available (device_count() == 0)");
  GAS_CHECK(id < count, value_error, "device " << id << " out of range [0, " << count << ")");
  if (registry->arenas.size() <= slot) registry->arenas.resize(slot + 1);
  registry->arenas[slot] = std::make_unique<CachingArena>(id);
  return *registry->arenas[slot];
}

/// @brief The process-wide arena of the calling thread's current device.
inline CachingArena& default_arena() { return default_arena(current_device()); }

}  // namespace gas::cuda
