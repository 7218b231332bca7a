// CUDA memory layer: devices, streams, events, the caching arena, device and pinned buffers.
// Cases that need a GPU skip (not fail) where none is present; the rest check the no-GPU paths.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <gas/cuda/memory.hpp>

namespace {

using gas::cuda::CachingArena;

const bool no_gpu = !gas::cuda::available();

// Spins for about `cycles` clock ticks, then writes `value` everywhere: long enough that work queued on
// another stream without a dependency would overtake it.
__global__ void spin_then_fill(int* data, int n, int value, long long cycles) {
  const long long start = clock64();
  while (clock64() - start < cycles) {
  }
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) data[i] = value;
}

__global__ void add_one(const float* in, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] + 1.0f;
}

constexpr long long long_spin = 200'000'000;  // ~0.1 s at 2 GHz: far longer than the launches that race it

std::string message_of(const std::exception& e) { return e.what(); }

}  // namespace

// ---- no GPU needed --------------------------------------------------------------------------------

TEST_CASE("cuda_arena_size_classes_round_up_by_less_than_an_eighth") {
  static_assert(CachingArena::round_size(0) == 0);
  static_assert(CachingArena::round_size(1) == 512);
  static_assert(CachingArena::round_size(512) == 512);
  static_assert(CachingArena::round_size(513) == 1024);
  static_assert(CachingArena::round_size(std::size_t{1} << 20) == std::size_t{1} << 20);
  static_assert(CachingArena::round_size((std::size_t{1} << 20) + 1) == (std::size_t{1} << 20) + (std::size_t{1} << 17));
  static_assert(CachingArena::round_size(~std::size_t{0}) == ~std::size_t{0});  // no overflow: left for the driver

  std::size_t previous = 0;
  for (std::size_t bytes = 1; bytes < (std::size_t{1} << 40); bytes = bytes * 3 / 2 + 7) {
    const std::size_t size = CachingArena::round_size(bytes);
    CHECK(size >= bytes);
    CHECK(size % CachingArena::small_granularity == 0);          // every class keeps 512-byte alignment
    CHECK(CachingArena::round_size(size) == size);               // a class is its own class
    if (bytes > CachingArena::small_limit) CHECK(size - bytes < bytes / 8 + 1);
    CHECK(size >= previous);                                     // monotone
    previous = size;
  }
  // Few classes per octave: sizes that vary from batch to batch share blocks.
  std::vector<std::size_t> classes;
  for (std::size_t bytes = std::size_t{1} << 24; bytes <= std::size_t{1} << 25; bytes += 4096)
    if (classes.empty() || classes.back() != CachingArena::round_size(bytes))
      classes.push_back(CachingArena::round_size(bytes));
  CHECK(classes.size() == 9);  // 8 classes per power of two, plus the next power itself
}

TEST_CASE("cuda_memory_owners_are_move_only") {
  using gas::cuda::DeviceBuffer;
  using gas::cuda::Event;
  using gas::cuda::PinnedBuffer;
  using gas::cuda::Stream;
  static_assert(!std::is_copy_constructible_v<Stream> && std::is_nothrow_move_constructible_v<Stream>);
  static_assert(!std::is_copy_assignable_v<Stream> && std::is_nothrow_move_assignable_v<Stream>);
  static_assert(!std::is_copy_constructible_v<Event> && std::is_nothrow_move_constructible_v<Event>);
  static_assert(!std::is_copy_constructible_v<DeviceBuffer<float>> &&
                std::is_nothrow_move_constructible_v<DeviceBuffer<float>>);
  static_assert(!std::is_copy_constructible_v<PinnedBuffer<double>> &&
                std::is_nothrow_move_constructible_v<PinnedBuffer<double>>);
  static_assert(!std::is_copy_constructible_v<CachingArena> && !std::is_move_constructible_v<CachingArena>);
  static_assert(!std::is_copy_constructible_v<gas::cuda::DeviceGuard>);
  static_assert(std::is_nothrow_destructible_v<CachingArena> && std::is_nothrow_destructible_v<DeviceBuffer<int>>);
  static_assert(std::is_empty_v<gas::cuda::device>);  // a backend tag carries no state
  CHECK(true);
}

TEST_CASE("cuda_pinned_allocator_meets_allocator_requirements") {
  using Alloc = gas::cuda::PinnedAllocator<float>;
  using Traits = std::allocator_traits<Alloc>;
  static_assert(std::is_same_v<Traits::value_type, float>);
  static_assert(std::is_same_v<Traits::rebind_alloc<int>, gas::cuda::PinnedAllocator<int>>);
  static_assert(Traits::is_always_equal::value);
  static_assert(std::is_empty_v<Alloc>);
  const Alloc a;
  const gas::cuda::PinnedAllocator<int> b(a);
  CHECK(a == b);
  CHECK_FALSE(a != Alloc{});
  gas::cuda::PinnedVector<float> empty;  // an empty vector never asks for memory, GPU or not
  CHECK(empty.empty());
  CHECK(Alloc{}.allocate(0) == nullptr);
}

TEST_CASE("cuda_empty_buffers_and_arenas_need_no_gpu") {
  gas::cuda::DeviceBuffer<float> none;
  CHECK(none.empty());
  CHECK(none.data() == nullptr);
  CHECK(none.arena() == nullptr);
  gas::cuda::DeviceBuffer<float> zero(0);
  CHECK(zero.size() == 0);
  CHECK(zero.to_host().empty());
  CHECK_THROWS_AS(zero.copy_from(std::vector<float>(3)), gas::shape_error);
  gas::cuda::PinnedBuffer<double> pinned(0);
  CHECK(pinned.span().empty());

  CachingArena arena(0);
  CHECK(arena.allocate(0, nullptr) == nullptr);
  arena.deallocate(nullptr, nullptr);  // freeing nothing is allowed, as with free(nullptr)
  arena.release_cached();              // nothing cached: no CUDA call
  gas::cuda::DeviceBuffer<int> from_arena(0, nullptr, arena);
  CHECK(from_arena.empty());
  const gas::cuda::ArenaStats stats = arena.stats();
  CHECK(stats.allocations == 0);
  CHECK(stats.bytes_reserved() == 0);
  CHECK(arena.device_id() == 0);
}

TEST_CASE("cuda_arena_rejects_foreign_pointers_and_bad_ids") {
  CachingArena arena(0);
  int local = 0;
  CHECK_THROWS_AS(arena.deallocate(&local, nullptr), gas::value_error);
  CHECK_THROWS_AS(arena.deallocate(&local), gas::value_error);
  try {
    arena.deallocate(&local, nullptr);
  } catch (const gas::value_error& e) {
    CHECK(message_of(e).find("not allocated by this arena") != std::string::npos);
  }
  CHECK_FALSE(arena.owns(&local));
  CHECK(arena.stats().bytes_in_use == 0);  // a rejected free changes nothing
  CHECK_THROWS_AS(CachingArena(-1), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::set_device(-1), gas::value_error);
  CHECK_THROWS_AS((void)gas::cuda::default_arena(-1), gas::value_error);
}

TEST_CASE("cuda_memory_without_gpu_throws_cuda_error" * doctest::skip(!no_gpu)) {
  // Without a driver every runtime call answers cudaErrorInsufficientDriver (without a device,
  // cudaErrorNoDevice); each must surface as gas::cuda_error, never as a crash.
  CachingArena arena(0);
  try {
    (void)arena.allocate(1000, nullptr);
    FAIL("allocate succeeded without a GPU");
  } catch (const gas::cuda_error& e) {
    CHECK(message_of(e).find("1000 bytes") != std::string::npos);
    CHECK(message_of(e).find("0 bytes in use") != std::string::npos);
  }
  const gas::cuda::ArenaStats stats = arena.stats();
  CHECK(stats.allocations == 0);
  CHECK(stats.driver_allocations == 0);
  CHECK(stats.bytes_reserved() == 0);

  CHECK_THROWS_AS(gas::cuda::DeviceBuffer<float>(16, nullptr, arena), gas::cuda_error);
  CHECK_THROWS_AS(gas::cuda::DeviceBuffer<float>(16), gas::cuda_error);
  CHECK_THROWS_AS((void)gas::cuda::default_arena(), gas::cuda_error);
  CHECK_THROWS_AS((void)gas::cuda::default_arena(0), gas::cuda_error);
  CHECK_THROWS_AS(gas::cuda::PinnedBuffer<float>(16), gas::cuda_error);
  gas::cuda::PinnedVector<float> pinned;
  CHECK_THROWS_AS(pinned.resize(16), gas::cuda_error);
  CHECK(pinned.empty());
  CHECK_THROWS_AS(gas::cuda::Stream{}, gas::cuda_error);
  CHECK_THROWS_AS(gas::cuda::Event{}, gas::cuda_error);
  CHECK_THROWS_AS((void)gas::cuda::current_device(), gas::cuda_error);
  CHECK_THROWS_AS(gas::cuda::set_device(0), gas::cuda_error);
  CHECK_THROWS_AS(gas::cuda::DeviceGuard(0), gas::cuda_error);
  CHECK(gas::cuda::device_count() == 0);
}

// ---- GPU ------------------------------------------------------------------------------------------

TEST_CASE("cuda_arena_reuses_freed_blocks" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream stream;
  void* first = arena.allocate(1000, stream.get());
  REQUIRE(first != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(first) % CachingArena::small_granularity == 0);
  CHECK(arena.owns(first));
  arena.deallocate(first, stream.get());
  CHECK(arena.owns(first));  // cached, not returned to the driver
  void* again = arena.allocate(1000, stream.get());
  CHECK(again == first);
  arena.deallocate(again);  // defaults to the stream it was allocated for
  void* same_class = arena.allocate(600, stream.get());  // 600 and 1000 share the 1024-byte class
  CHECK(same_class == first);
  const gas::cuda::ArenaStats stats = arena.stats();
  CHECK(stats.driver_allocations == 1);
  CHECK(stats.cache_hits == 2);
  CHECK(stats.allocations == 3);
  CHECK(stats.cross_stream_reuses == 0);
  arena.deallocate(same_class, stream.get());
}

TEST_CASE("cuda_arena_steady_state_allocates_nothing_from_driver" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream stream;
  // A "step" allocates activations whose sizes vary from batch to batch, then frees them all.
  auto step = [&](std::size_t batch) {
    std::vector<gas::cuda::DeviceBuffer<float>> live;
    for (std::size_t layer = 0; layer < 4; ++layer)
      live.emplace_back(batch * (64 + 16 * layer), stream.get(), arena);
    live.emplace_back(batch * 7, stream.get(), arena);
  };
  const std::vector<std::size_t> batches = {5000, 5100, 4900, 5050};  // one class per layer across these
  for (std::size_t b : batches) step(b);
  const std::size_t warm = arena.stats().driver_allocations;
  for (int epoch = 0; epoch < 10; ++epoch)
    for (std::size_t b : batches) step(b);
  const gas::cuda::ArenaStats stats = arena.stats();
  CHECK(stats.driver_allocations == warm);
  CHECK(stats.bytes_in_use == 0);
  CHECK(stats.cache_hits == stats.allocations - warm);
  stream.synchronize();
}

TEST_CASE("cuda_arena_stats_track_use_cache_and_peak" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream stream;
  void* a = arena.allocate(100, stream.get());           // class 512
  void* b = arena.allocate(3 << 20, stream.get());       // 3 MiB: already a class
  gas::cuda::ArenaStats stats = arena.stats();
  CHECK(stats.bytes_in_use == 512 + (3u << 20));
  CHECK(stats.peak_bytes_in_use == stats.bytes_in_use);
  CHECK(stats.bytes_cached == 0);
  arena.deallocate(b, stream.get());
  stats = arena.stats();
  CHECK(stats.bytes_in_use == 512);
  CHECK(stats.bytes_cached == 3u << 20);
  CHECK(stats.peak_bytes_in_use == 512 + (3u << 20));
  CHECK(stats.bytes_reserved() == 512 + (3u << 20));
  arena.reset_peak();
  CHECK(arena.stats().peak_bytes_in_use == 512);
  arena.deallocate(a, stream.get());
  CHECK(arena.stats().bytes_in_use == 0);
}

TEST_CASE("cuda_arena_release_cached_returns_memory_to_driver" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream stream;
  void* kept = arena.allocate(4096, stream.get());
  void* freed = arena.allocate(8192, stream.get());
  arena.deallocate(freed, stream.get());
  arena.release_cached();
  gas::cuda::ArenaStats stats = arena.stats();
  CHECK(stats.bytes_cached == 0);
  CHECK(stats.driver_frees == 1);
  CHECK(stats.bytes_in_use == 4096);  // blocks in use are untouched
  CHECK_FALSE(arena.owns(freed));
  CHECK(arena.owns(kept));
  void* fresh = arena.allocate(8192, stream.get());
  CHECK(arena.stats().driver_allocations == 3);  // the released class must come from the driver again
  arena.deallocate(fresh, stream.get());
  arena.deallocate(kept, stream.get());
  CHECK(cudaGetLastError() == cudaSuccess);
}

TEST_CASE("cuda_arena_cross_stream_reuse_waits_on_event" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream producer, consumer;
  const int n = 1 << 16;
  auto* first = static_cast<int*>(arena.allocate(n * sizeof(int), producer.get()));
  spin_then_fill<<<1, 256, 0, producer.get()>>>(first, n, 1, long_spin);  // still running when freed
  GAS_CUDA_CHECK_LAUNCH();
  arena.deallocate(first, producer.get());
  auto* second = static_cast<int*>(arena.allocate(n * sizeof(int), consumer.get()));
  REQUIRE(second == first);  // the only cached block of the class, taken across streams
  CHECK(arena.stats().cross_stream_reuses == 1);
  // Without the event wait this fill would run at once and the producer's late fill would overwrite it.
  spin_then_fill<<<1, 256, 0, consumer.get()>>>(second, n, 2, 0);
  GAS_CUDA_CHECK_LAUNCH();
  consumer.synchronize();
  CHECK(producer.query());  // the consumer's work could only finish after the producer's
  std::vector<int> host(n);
  GAS_CUDA_CHECK(cudaMemcpy(host.data(), second, n * sizeof(int), cudaMemcpyDeviceToHost));
  CHECK(std::all_of(host.begin(), host.end(), [](int v) { return v == 2; }));
  arena.deallocate(second, consumer.get());
}

TEST_CASE("cuda_arena_prefers_blocks_of_the_requesting_stream" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream a, b;
  void* on_a = arena.allocate(2048, a.get());
  void* on_b = arena.allocate(2048, b.get());
  arena.deallocate(on_a, a.get());
  arena.deallocate(on_b, b.get());
  CHECK(arena.allocate(2048, b.get()) == on_b);
  CHECK(arena.allocate(2048, a.get()) == on_a);
  CHECK(arena.stats().cross_stream_reuses == 0);
  arena.deallocate(on_a);
  arena.deallocate(on_b);
}

TEST_CASE("cuda_arena_double_free_throws_value_error" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream stream;
  void* ptr = arena.allocate(1 << 12, stream.get());
  arena.deallocate(ptr, stream.get());
  const gas::cuda::ArenaStats before = arena.stats();
  try {
    arena.deallocate(ptr, stream.get());
    FAIL("double free accepted");
  } catch (const gas::value_error& e) {
    CHECK(message_of(e).find("double free") != std::string::npos);
  }
  CHECK_THROWS_AS(arena.deallocate(static_cast<char*>(ptr) + 512, stream.get()), gas::value_error);  // interior
  const gas::cuda::ArenaStats after = arena.stats();
  CHECK(after.bytes_cached == before.bytes_cached);
  CHECK(after.bytes_in_use == before.bytes_in_use);
  // The block was not listed twice: two allocations of its class get two different blocks.
  void* x = arena.allocate(1 << 12, stream.get());
  void* y = arena.allocate(1 << 12, stream.get());
  CHECK(x != y);
  arena.deallocate(x);
  arena.deallocate(y);
}

TEST_CASE("cuda_arena_out_of_memory_flushes_cache_then_throws_cuda_error" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream stream;
  void* kept = arena.allocate(1 << 20, stream.get());
  arena.deallocate(arena.allocate(1 << 21, stream.get()), stream.get());  // something cached to flush
  const std::size_t huge = std::size_t{1} << 50;                          // 1 PiB: no device has it
  try {
    (void)arena.allocate(huge, stream.get());
    FAIL("a 1 PiB allocation succeeded");
  } catch (const gas::cuda_error& e) {
    CHECK(message_of(e).find(std::to_string(huge) + " bytes") != std::string::npos);
    CHECK(message_of(e).find(std::to_string(1 << 20) + " bytes in use") != std::string::npos);
  }
  const gas::cuda::ArenaStats stats = arena.stats();
  CHECK(stats.cache_flushes == 1);
  CHECK(stats.bytes_cached == 0);
  CHECK(stats.bytes_in_use == std::size_t{1} << 20);
  CHECK(cudaGetLastError() == cudaSuccess);  // a caller may catch and fall back to host memory
  void* after = arena.allocate(1 << 21, stream.get());
  CHECK(after != nullptr);
  arena.deallocate(after);
  arena.deallocate(kept);
}

TEST_CASE("cuda_arena_is_thread_safe" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  const int device = gas::cuda::current_device();
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      try {
        gas::cuda::set_device(device);
        gas::cuda::Stream stream;
        for (int i = 0; i < 500; ++i) {
          const std::size_t bytes = 512 * static_cast<std::size_t>(1 + (i + t) % 7);
          void* a = arena.allocate(bytes, stream.get());
          void* b = arena.allocate(bytes * 3, stream.get());
          arena.deallocate(a, stream.get());
          arena.deallocate(b, stream.get());
        }
        stream.synchronize();
      } catch (...) {
        ++failures;
      }
    });
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  const gas::cuda::ArenaStats stats = arena.stats();
  CHECK(stats.bytes_in_use == 0);
  CHECK(stats.allocations == 4 * 500 * 2);
  CHECK(stats.driver_allocations < 100);
}

TEST_CASE("cuda_device_buffer_round_trip" * doctest::skip(no_gpu)) {
  gas::cuda::Stream stream;
  const int n = 1000;
  std::vector<float> host(n);
  std::iota(host.begin(), host.end(), -10.0f);
  gas::cuda::DeviceBuffer<float> in(n, stream.get());
  gas::cuda::DeviceBuffer<float> out(n, stream.get());
  CHECK(in.arena() == &gas::cuda::default_arena());
  CHECK(in.bytes() == n * sizeof(float));
  in.copy_from(host);
  add_one<<<(n + 255) / 256, 256, 0, stream.get()>>>(in.data(), out.data(), n);
  GAS_CUDA_CHECK_LAUNCH();
  const std::vector<float> back = out.to_host();
  for (int i = 0; i < n; ++i) CHECK(back[i] == host[i] + 1.0f);
  std::vector<float> wrong(n - 1);
  CHECK_THROWS_AS(out.copy_to(wrong), gas::shape_error);
  out.fill_zero();
  CHECK(out.to_host() == std::vector<float>(n, 0.0f));
}

TEST_CASE("cuda_device_buffer_moves_and_returns_memory" * doctest::skip(no_gpu)) {
  CachingArena arena(gas::cuda::current_device());
  gas::cuda::Stream stream;
  {
    gas::cuda::DeviceBuffer<double> a(100, stream.get(), arena);
    const double* where = a.data();
    gas::cuda::DeviceBuffer<double> b(std::move(a));
    CHECK(a.empty());
    CHECK(a.data() == nullptr);
    CHECK(b.data() == where);
    gas::cuda::DeviceBuffer<double> c;
    c = std::move(b);
    CHECK(c.data() == where);
    CHECK(arena.stats().bytes_in_use == 1024);  // 800 bytes in the 1024-byte class, counted once
  }
  CHECK(arena.stats().bytes_in_use == 0);
  CHECK(arena.stats().bytes_cached == 1024);
}

TEST_CASE("cuda_stream_and_event_order_work_across_streams" * doctest::skip(no_gpu)) {
  gas::cuda::Stream first, second(gas::cuda::StreamOptions{.priority = 0});
  CHECK(first.device_id() == gas::cuda::current_device());
  const int n = 1 << 12;
  gas::cuda::DeviceBuffer<int> data(n, first.get());
  gas::cuda::Event done;
  CHECK_FALSE(done.timing());
  spin_then_fill<<<1, 256, 0, first.get()>>>(data.data(), n, 1, long_spin);
  GAS_CUDA_CHECK_LAUNCH();
  done.record(first.get());
  CHECK_FALSE(done.query());  // the spin is still running
  CHECK(cudaGetLastError() == cudaSuccess);  // "not ready" did not linger as an error
  done.wait(second.get());
  spin_then_fill<<<1, 256, 0, second.get()>>>(data.data(), n, 2, 0);  // must land after the first fill
  GAS_CUDA_CHECK_LAUNCH();
  second.synchronize();
  CHECK(done.query());
  done.synchronize();
  first.synchronize();
  CHECK(first.query());
  data.set_stream(second.get());
  const std::vector<int> host = data.to_host();
  CHECK(std::all_of(host.begin(), host.end(), [](int v) { return v == 2; }));

  gas::cuda::Stream moved(std::move(first));
  CHECK(first.get() == nullptr);
  CHECK(moved.get() != nullptr);
}

TEST_CASE("cuda_event_timing" * doctest::skip(no_gpu)) {
  gas::cuda::Stream stream;
  gas::cuda::Event start(gas::cuda::EventOptions{.timing = true});
  gas::cuda::Event stop(gas::cuda::EventOptions{.timing = true, .blocking_sync = true});
  gas::cuda::DeviceBuffer<int> data(256, stream.get());
  start.record(stream.get());
  spin_then_fill<<<1, 256, 0, stream.get()>>>(data.data(), 256, 0, long_spin / 10);
  GAS_CUDA_CHECK_LAUNCH();
  stop.record(stream.get());
  CHECK(gas::cuda::elapsed_ms(start, stop) > 0.0f);
  gas::cuda::Event plain;
  plain.record(stream.get());
  CHECK_THROWS_AS((void)gas::cuda::elapsed_ms(start, plain), gas::value_error);
}

TEST_CASE("cuda_device_guard_restores_device" * doctest::skip(no_gpu)) {
  const int before = gas::cuda::current_device();
  const int other = gas::cuda::device_count() - 1;
  {
    gas::cuda::DeviceGuard guard(other);
    CHECK(guard.previous() == before);
    CHECK(gas::cuda::current_device() == other);
  }
  CHECK(gas::cuda::current_device() == before);
  CHECK_THROWS_AS(gas::cuda::set_device(gas::cuda::device_count()), gas::cuda_error);
  (void)cudaGetLastError();  // the refusal is not sticky; clear it for the cases after this one
  CHECK(gas::cuda::current_device() == before);
}

TEST_CASE("cuda_default_arena_is_one_per_device" * doctest::skip(no_gpu)) {
  const int id = gas::cuda::current_device();
  CHECK(&gas::cuda::default_arena() == &gas::cuda::default_arena(id));
  CHECK(gas::cuda::default_arena(id).device_id() == id);
  CHECK_THROWS_AS((void)gas::cuda::default_arena(gas::cuda::device_count()), gas::value_error);
}

TEST_CASE("cuda_pinned_buffer_round_trip" * doctest::skip(no_gpu)) {
  gas::cuda::Stream stream;
  const int n = 4096;
  gas::cuda::PinnedBuffer<float> up(n), down(n);
  for (int i = 0; i < n; ++i) up[i] = 0.25f * static_cast<float>(i);
  cudaPointerAttributes attributes{};
  GAS_CUDA_CHECK(cudaPointerGetAttributes(&attributes, up.data()));
  CHECK(attributes.type == cudaMemoryTypeHost);  // really page-locked, not pageable
  CHECK_THROWS_AS((void)up.device_pointer(), gas::value_error);

  gas::cuda::DeviceBuffer<float> in(n, stream.get()), out(n, stream.get());
  in.copy_from(up.span());
  add_one<<<(n + 255) / 256, 256, 0, stream.get()>>>(in.data(), out.data(), n);
  GAS_CUDA_CHECK_LAUNCH();
  out.copy_to(down.span());
  stream.synchronize();
  for (int i = 0; i < n; ++i) CHECK(down[i] == up[i] + 1.0f);

  // Mapped memory: a kernel reads the host buffer in place (the zero-copy gather path).
  gas::cuda::PinnedBuffer<float> mapped(n, gas::cuda::PinnedOptions{.mapped = true});
  for (int i = 0; i < n; ++i) mapped[i] = static_cast<float>(i);
  add_one<<<(n + 255) / 256, 256, 0, stream.get()>>>(mapped.device_pointer(), out.data(), n);
  GAS_CUDA_CHECK_LAUNCH();
  const std::vector<float> back = out.to_host();
  for (int i = 0; i < n; ++i) CHECK(back[i] == static_cast<float>(i) + 1.0f);

  gas::cuda::PinnedBuffer<float> moved(std::move(up));
  CHECK(up.empty());
  CHECK(moved.size() == static_cast<std::size_t>(n));
}

TEST_CASE("cuda_pinned_vector_round_trip" * doctest::skip(no_gpu)) {
  gas::cuda::Stream stream;
  gas::cuda::PinnedVector<int> host(10000);
  std::iota(host.begin(), host.end(), 7);
  host.push_back(-1);  // growth reallocates through the allocator
  cudaPointerAttributes attributes{};
  GAS_CUDA_CHECK(cudaPointerGetAttributes(&attributes, host.data()));
  CHECK(attributes.type == cudaMemoryTypeHost);
  gas::cuda::DeviceBuffer<int> device(host.size(), stream.get());
  device.copy_from(host);
  gas::cuda::PinnedVector<int> back(host.size());
  device.copy_to(back);
  stream.synchronize();
  CHECK(std::equal(host.begin(), host.end(), back.begin(), back.end()));
}
