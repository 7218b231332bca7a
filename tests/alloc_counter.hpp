#pragma once
// Counts heap allocations, for tests that prove a warm step allocates nothing. It REPLACES the global
// operator new/delete of the program, so include it in exactly one source file of a test program.

#include <atomic>
#include <cstdlib>
#include <new>

// The replacement pairs malloc with free by design; g++ sees new-expressions in inlined library code end in
// free() and warns about a mismatch that is not one.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace gas_test {
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

void* operator new(std::size_t size) {
  if (gas_test::counting.load(std::memory_order_relaxed))
    gas_test::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
