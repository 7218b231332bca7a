#pragma once
// Counts heap allocations, for tests that prove a warm step allocates nothing. It REPLACES the global
// operator new/delete of the program, so include it in exactly one source file of a test program.
// Except under clang's ThreadSanitizer (tools/sanitize.sh tsan): its runtime is linked statically with its own
// operator new, so a second definition fails to link, and its shared runtime does not start here. There the
// replacement is left out and the counting tests skip themselves (`* doctest::skip(!gas_test::counts_allocations)`).

#include <atomic>
#include <cstdlib>
#include <new>

// The replacement pairs malloc with free by design; g++ sees new-expressions in inlined library code end in
// free() and warns about a mismatch that is not one.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GAS_TEST_NO_ALLOCATION_COUNTER 1
#endif
#endif

namespace gas_test {
#ifdef GAS_TEST_NO_ALLOCATION_COUNTER
inline constexpr bool counts_allocations = false;
#else
inline constexpr bool counts_allocations = true;
#endif
inline std::atomic<bool> counting{false};
inline std::atomic<long> allocations{0};

/// Counts the allocations made while it lives; read them with count().
class CountAllocations {
public:
  CountAllocations() {
    allocations = 0;
    counting = true;
  }
  ~CountAllocations() { counting = false; }
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;
  [[nodiscard]] long count() const { return allocations.load(); }
};
}  // namespace gas_test

#ifndef GAS_TEST_NO_ALLOCATION_COUNTER
void* operator new(std::size_t size) {
  if (gas_test::counting.load(std::memory_order_relaxed))
    gas_test::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif
