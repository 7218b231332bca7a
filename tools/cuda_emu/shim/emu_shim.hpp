// CPU emulation of the CUDA device side for gas's tests: force-included (g++ -include) before every source.
//
// What it provides: the CUDA built-ins the kernels use (threadIdx/blockIdx/blockDim/gridDim, __syncthreads,
// __shfl_*_sync, __syncwarp, atomics, __fmul_rn/__dmul_rn, clock64), the __global__/__shared__ qualifiers, and
// gas_emu::Launch, the target of the rewritten `kernel<<<grid, block, smem, stream>>>(args)` launches. Kernel bodies
// are the project's own code, untouched. Every block's threads run as cooperating fibers (emu_runtime.cpp), so
// barriers, shared memory and warp shuffles behave as on the device; kernels run on their stream when the host
// synchronizes with it (deferred, stream-ordered execution), not at launch, unless EMU_EAGER or EMU_COPY run some
// streams at enqueue.
#pragma once

#include <cuda_runtime.h>

// Code built against the emulator can say so (`#ifdef GAS_EMU`) and read what it asked of the runtime.
#define GAS_EMU 1
#include "emu_counters.h"

// The CUDA math API is in the global namespace (isinf, fmax, exp, ...), as <math.h> provides it on the host.
#include <math.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <typeinfo>
#include <type_traits>
#include <utility>

#undef __global__
#undef __device__
#if defined(GAS_EMU_FMA)
// nvcc contracts a * b + c into one FMA by default (--fmad=true); with -DGAS_EMU_FMA, GCC may contract in device code
// (kernels and __device__ functions) too, though it need not pick the same pairs as nvcc.
#define GAS_EMU_DEVICE_FP __attribute__((target("fma"), optimize("fp-contract=fast")))
#else
#define GAS_EMU_DEVICE_FP
#endif
#define __global__ inline GAS_EMU_DEVICE_FP
#define __device__ GAS_EMU_DEVICE_FP
#undef __host__
#define __host__
// One instance per kernel, reused by every block in turn (blocks run one after another), so a block sees the previous
// block's values, never zeros. (GCC ignores section attributes on template statics, so no poisoning between blocks.)
#undef __shared__
#define __shared__ static
#undef __forceinline__
#define __forceinline__ inline __attribute__((always_inline))
#undef __launch_bounds__
#define __launch_bounds__(...)

namespace gas_emu {

/// The built-in index variables of the thread that runs now (set by the fiber scheduler before each switch).
struct Builtins {
  uint3 tid{0, 0, 0};
  uint3 bid{0, 0, 0};
  dim3 bdim{1, 1, 1};
  dim3 gdim{1, 1, 1};
};
extern Builtins builtins;

void syncthreads();
void syncwarp(unsigned mask);
/// mode: 0 xor (butterfly), 1 down, 2 up, 3 idx.
std::uint64_t shfl(std::uint64_t bits, unsigned mask, int mode, int arg, int width);
long long clock64();
[[noreturn]] void fatal(const char* what, const char* detail);

/// Queues a kernel: `body` runs once per thread of the grid, with the built-ins set.
void launch(const char* name, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
            std::function<void()> body);
/// Checks (warns about) a kernel argument's bytes that hold a pointer to host memory that is not page-locked.
void check_argument(const char* name, int index, const char* type, const void* bytes, std::size_t size);

template <class P>
void check_copy(const char* name, int index, const P& p) {
  if constexpr (!std::is_empty_v<P>) {
    P copy = p;
    __builtin_clear_padding(&copy);
    check_argument(name, index, typeid(P).name(), &copy, sizeof(P));
  }
}

struct Launch {
  const char* name;
  dim3 grid, block;
  std::size_t smem;
  cudaStream_t stream;
  Launch(const char* n, dim3 g, dim3 b, std::size_t sm = 0, cudaStream_t s = nullptr)
      : name(n), grid(g), block(b), smem(sm), stream(s) {}

  template <class F>
  auto operator*(F f) const {
    return [cfg = *this, f](auto&&... args) {
      // Arguments are copied at the launch, as CUDA copies them into the parameter buffer.
      auto params = std::make_tuple(std::decay_t<decltype(args)>(args)...);
      int index = 0;
      // Padding bytes carry stale stack contents: check a copy with its padding cleared, so that only real members
      // are looked at for host pointers. (Not in place: an empty parameter may share its byte with another one.)
      std::apply([&](const auto&... p) { (check_copy(cfg.name, index++, p), ...); }, params);
      launch(cfg.name, cfg.grid, cfg.block, cfg.smem, cfg.stream,
             [f, params]() { std::apply(f, params); });  // each thread gets its own copy of the parameters
    };
  }
};

template <class V>
inline constexpr bool shfl_type = std::is_same_v<V, int> || std::is_same_v<V, unsigned> || std::is_same_v<V, long> ||
                                  std::is_same_v<V, unsigned long> || std::is_same_v<V, long long> ||
                                  std::is_same_v<V, unsigned long long> || std::is_same_v<V, float> ||
                                  std::is_same_v<V, double>;

template <class V>
inline V shfl_value(unsigned mask, V v, int mode, int arg, int width) {
  static_assert(shfl_type<V>, "__shfl_*_sync: type not among CUDA's overloads");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(V));
  bits = shfl(bits, mask, mode, arg, width);
  V r;
  std::memcpy(&r, &bits, sizeof(V));
  return r;
}

}  // namespace gas_emu

inline const uint3& threadIdx = gas_emu::builtins.tid;
inline const uint3& blockIdx = gas_emu::builtins.bid;
inline const dim3& blockDim = gas_emu::builtins.bdim;
inline const dim3& gridDim = gas_emu::builtins.gdim;
inline constexpr int warpSize = 32;

inline void __syncthreads() { gas_emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { gas_emu::syncwarp(mask); }

template <class V>
inline V __shfl_xor_sync(unsigned mask, V v, int lane_mask, int width = warpSize) {
  return gas_emu::shfl_value(mask, v, 0, lane_mask, width);
}
template <class V>
inline V __shfl_down_sync(unsigned mask, V v, unsigned delta, int width = warpSize) {
  return gas_emu::shfl_value(mask, v, 1, static_cast<int>(delta), width);
}
template <class V>
inline V __shfl_up_sync(unsigned mask, V v, unsigned delta, int width = warpSize) {
  return gas_emu::shfl_value(mask, v, 2, static_cast<int>(delta), width);
}
template <class V>
inline V __shfl_sync(unsigned mask, V v, int src, int width = warpSize) {
  return gas_emu::shfl_value(mask, v, 3, src, width);
}

// Fibers of one block never run at the same time, so a plain read-modify-write is atomic.
template <class T>
inline T atomicMin(T* p, T v) {
  static_assert(std::is_integral_v<T>, "atomicMin on integers");
  const T old = *p;
  if (v < old) *p = v;
  return old;
}
template <class T>
inline T atomicMax(T* p, T v) {
  static_assert(std::is_integral_v<T>, "atomicMax on integers");
  const T old = *p;
  if (old < v) *p = v;
  return old;
}
template <class T>
inline T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <class T>
inline T atomicExch(T* p, T v) {
  const T old = *p;
  *p = v;
  return old;
}
template <class T>
inline T atomicCAS(T* p, T compare, T v) {
  const T old = *p;
  if (old == compare) *p = v;
  return old;
}

// Rounded products that a compiler may not contract into an FMA (volatile keeps GCC from fusing them, too).
inline float __fmul_rn(float a, float b) {
  volatile float p = a * b;
  return p;
}
inline double __dmul_rn(double a, double b) {
  volatile double p = a * b;
  return p;
}
inline long long clock64() { return gas_emu::clock64(); }
