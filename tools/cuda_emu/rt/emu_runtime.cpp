// CPU stand-in for the CUDA runtime, cuBLAS and the device: see tools/cuda_emu/README.md.
//
// Device memory lives in one reserved address range; while host code runs (between synchronizations, and inside
// host functions queued with cudaLaunchHostFunc) it is PROT_NONE, so a host dereference of a device pointer faults as
// on a real GPU system. Work (kernels, copies, memsets, GEMMs, sorts, host functions, event records, waits) is queued
// per stream and, by default, runs only when the host waits for it (synchronize, event synchronize/query, synchronous
// copies, cudaFree), in stream order, with cross-stream order coming only from events and the legacy default stream's
// implicit synchronization. EMU_EAGER and EMU_COPY move the point where queued work runs (see Settings), so that
// code which depends on one particular interleaving of its streams, rather than on its events, shows it. Each
// block's threads run as fibers (our own x86-64 context switch): __syncthreads is a block barrier, warp shuffles
// exchange values among the lanes named in the mask, and misuse (a lane that exited before a shuffle, divergent
// barriers, deadlocks) is reported and aborts the program.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace gas_emu {

Builtins builtins;

namespace {

// ------------------------------------------------------------------------------------------------ settings
struct Settings {
  bool protect = true;   // EMU_PROTECT=0: device memory stays readable from host code
  bool poison = true;    // EMU_POISON=0: fresh device/pinned memory is not filled with 0xFF
  int sched = 0;         // EMU_SCHED=fwd|rev|rand: order of blocks and of threads within a pass
  unsigned seed = 1;     // EMU_SEED
  bool strict = false;   // EMU_STRICT=1: a host pointer in kernel arguments aborts instead of warning
  bool verbose = false;  // EMU_VERBOSE=1: log launches
  bool eager = false;    // EMU_EAGER=1: queued work runs at once (the other extreme of a device's timing)
  // EMU_COPY=lazy|early|late|rand: when work queued on copy streams runs relative to compute streams. A copy stream
  // is one created with a priority < 0 (gas gives its transfer streams the device's greatest priority); every other
  // stream, the legacy one included, is a compute stream. A real device overlaps the two kinds in any order their
  // events allow, so a missing event shows up only in some interleaving: lazy (default) runs everything when the host
  // waits; early runs copy-stream work at enqueue (copies as early as possible, compute lazy); late runs
  // compute-stream work at enqueue and copy streams only when something forces them (a host wait, an event wait or a
  // legacy-stream synchronization that needs them); rand drains the enqueuing stream with probability 1/2 (EMU_SEED).
  // EMU_EAGER=1 overrides it: every stream runs at enqueue.
  enum Copy { lazy, early, late, rand } copy = lazy;
};
const char* copy_mode_name(Settings::Copy c) {
  static const char* names[] = {"lazy", "early", "late", "rand"};
  return names[c];
}
Settings& settings() {
  static Settings s = [] {
    Settings r;
    if (const char* v = std::getenv("EMU_PROTECT")) r.protect = std::atoi(v) != 0;
    if (const char* v = std::getenv("EMU_POISON")) r.poison = std::atoi(v) != 0;
    if (const char* v = std::getenv("EMU_SCHED")) r.sched = !std::strcmp(v, "rev") ? 1 : !std::strcmp(v, "rand") ? 2 : 0;
    if (const char* v = std::getenv("EMU_SEED")) r.seed = static_cast<unsigned>(std::atoi(v));
    if (const char* v = std::getenv("EMU_STRICT")) r.strict = std::atoi(v) != 0;
    if (const char* v = std::getenv("EMU_VERBOSE")) r.verbose = std::atoi(v) != 0;
    if (const char* v = std::getenv("EMU_EAGER")) r.eager = std::atoi(v) != 0;
    if (const char* v = std::getenv("EMU_COPY"); v != nullptr && *v != 0) {
      bool known = false;
      for (int c = Settings::lazy; c <= Settings::rand; ++c)
        if (!std::strcmp(v, copy_mode_name(static_cast<Settings::Copy>(c)))) {
          r.copy = static_cast<Settings::Copy>(c);
          known = true;
        }
      // A misspelt mode would silently test the default interleaving only.
      if (!known) fatal("EMU_COPY", "expected lazy, early, late or rand");
    }
    return r;
  }();
  return s;
}

std::recursive_mutex& big() {
  static auto* m = new std::recursive_mutex;
  return *m;
}
using Lock = std::lock_guard<std::recursive_mutex>;

thread_local cudaError_t last_error = cudaSuccess;
cudaError_t fail(cudaError_t e) {
  if (e != cudaSuccess) last_error = e;
  return e;
}

struct Stats {
  long long launches = 0, threads = 0, barriers = 0, shuffles = 0, exited_at_barrier = 0, host_ptr_args = 0;
  long long copies = 0, drains = 0, enqueue_drains = 0;
  // What gas_emu_get_counters() returns (emu_counters.h): what a program asked of the runtime, so tests can check
  // that a pipeline allocates once, waits only where it must, and so on.
  long long device_allocs = 0, pinned_allocs = 0, device_frees = 0, pinned_frees = 0, host_waits = 0, host_funcs = 0;
  long long api_in_host_func = 0;  // CUDA calls made by host functions (which CUDA forbids)
} stats;

// ------------------------------------------------------------------------------------------------ device memory
constexpr std::size_t kPage = 4096;
constexpr std::size_t kRegionBytes = std::size_t{64} << 30;  // the emulated device's capacity
char* region = nullptr;
std::size_t hwm_pages = 0;  // pages ever used (for the one-call PROT_NONE)
struct Alloc {
  std::size_t first_page, pages;  // pages include the trailing guard page
  char* user;
  std::size_t size;
};
std::map<std::uintptr_t, Alloc> live;       // by user pointer
std::map<std::size_t, std::size_t> free_runs;  // first page -> pages
int device_mode = 0;
int in_host_func = 0;  // a host function (cudaLaunchHostFunc) runs now

void segv_handler(int sig, siginfo_t* info, void*) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  char msg[512];
  const auto r = reinterpret_cast<std::uintptr_t>(region);
  if (region != nullptr && addr >= r && addr < r + kRegionBytes)
    std::snprintf(msg, sizeof msg,
                  "\n*** GAS_EMU: segfault at %p inside the emulated device memory (%s): %s\n", info->si_addr,
                  device_mode > 0    ? "while device work runs"
                  : in_host_func > 0 ? "from a HOST FUNCTION"
                                     : "from HOST code",
                  device_mode > 0   ? "out of the bounds of a live allocation (or a freed one)"
                  : in_host_func > 0 ? "a function queued with cudaLaunchHostFunc dereferenced a device pointer"
                                     : "host code dereferenced a device pointer");
  else
    std::snprintf(msg, sizeof msg, "\n*** GAS_EMU: signal %d at %p (device work running: %d)\n", sig, info->si_addr,
                  device_mode);
  (void)!write(2, msg, std::strlen(msg));
  signal(sig, SIG_DFL);
  raise(sig);
}

void install_handlers() {
  static bool done = false;
  if (done) return;
  done = true;
  static char altstack[1 << 16];
  stack_t ss{};
  ss.ss_sp = altstack;
  ss.ss_size = sizeof altstack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_sigaction = segv_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
}

void init_region() {
  if (region != nullptr) return;
  void* p = mmap(nullptr, kRegionBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) fatal("mmap", "cannot reserve the emulated device memory");
  region = static_cast<char*>(p);
  free_runs[0] = kRegionBytes / kPage;
  install_handlers();
}

void protect_pages(std::size_t first, std::size_t count, int prot) {
  if (count == 0) return;
  if (mprotect(region + first * kPage, count * kPage, prot) != 0) fatal("mprotect", std::strerror(errno));
}

void enter_device() {
  if (device_mode++ == 0 && settings().protect)
    for (auto& [u, a] : live) protect_pages(a.first_page, a.pages - 1, PROT_READ | PROT_WRITE);
}
void leave_device() {
  if (--device_mode == 0 && settings().protect) protect_pages(0, hwm_pages, PROT_NONE);
}

const Alloc* find_alloc(const void* p) {
  const auto u = reinterpret_cast<std::uintptr_t>(p);
  auto it = live.upper_bound(u);
  if (it == live.begin()) return nullptr;
  --it;
  const Alloc& a = it->second;
  if (u >= it->first && u < it->first + std::max<std::size_t>(a.size, 1)) return &a;
  return nullptr;
}

bool in_region(const void* p) {
  const auto u = reinterpret_cast<std::uintptr_t>(p), r = reinterpret_cast<std::uintptr_t>(region);
  return region != nullptr && u >= r && u < r + kRegionBytes;
}

cudaError_t device_alloc(void** out, std::size_t size) {
  init_region();
  if (size == 0) {
    *out = nullptr;
    return cudaSuccess;
  }
  if (size > kRegionBytes) return cudaErrorMemoryAllocation;
  const std::size_t rounded = (size + 255) / 256 * 256;
  const std::size_t pages = (rounded + kPage - 1) / kPage + 1;
  for (auto it = free_runs.begin(); it != free_runs.end(); ++it) {
    if (it->second < pages) continue;
    const std::size_t first = it->first, run = it->second;
    free_runs.erase(it);
    if (run > pages) free_runs[first + pages] = run - pages;
    hwm_pages = std::max(hwm_pages, first + pages);
    // The allocation ends where the guard page starts, so reading past its (256-rounded) end faults.
    char* user = region + (first + pages - 1) * kPage - rounded;
    live[reinterpret_cast<std::uintptr_t>(user)] = Alloc{first, pages, user, size};
    protect_pages(first, pages - 1, PROT_READ | PROT_WRITE);
    if (settings().poison) std::memset(user, 0xff, rounded);  // uninitialized: NaN floats, -1 integers
    if (device_mode == 0 && settings().protect) protect_pages(first, pages - 1, PROT_NONE);
    *out = user;
    return cudaSuccess;
  }
  return cudaErrorMemoryAllocation;
}

void device_release(const Alloc& a) {
  madvise(region + a.first_page * kPage, a.pages * kPage, MADV_DONTNEED);
  protect_pages(a.first_page, a.pages, PROT_NONE);
  std::size_t first = a.first_page, pages = a.pages;
  auto next = free_runs.lower_bound(first);
  if (next != free_runs.end() && next->first == first + pages) {
    pages += next->second;
    free_runs.erase(next);
  }
  auto prev = free_runs.lower_bound(first);
  if (prev != free_runs.begin()) {
    --prev;
    if (prev->first + prev->second == first) {
      first = prev->first;
      pages += prev->second;
      free_runs.erase(prev);
    }
  }
  free_runs[first] = pages;
  live.erase(reinterpret_cast<std::uintptr_t>(a.user));
}

// ------------------------------------------------------------------------------------------------ pinned memory
struct Pinned {
  std::size_t size, mapped_bytes;
  unsigned flags;
};
std::map<std::uintptr_t, Pinned> pinned;

const std::pair<const std::uintptr_t, Pinned>* find_pinned(const void* p) {
  const auto u = reinterpret_cast<std::uintptr_t>(p);
  auto it = pinned.upper_bound(u);
  if (it == pinned.begin()) return nullptr;
  --it;
  if (u >= it->first && u < it->first + std::max<std::size_t>(it->second.size, 1)) return &*it;
  return nullptr;
}

enum class Mem { null, device, pinned, pageable, bad };
const char* mem_name(Mem m) {
  switch (m) {
    case Mem::null: return "null";
    case Mem::device: return "device";
    case Mem::pinned: return "pinned host";
    case Mem::pageable: return "pageable host";
    default: return "invalid";
  }
}

// What [p, p + n) is: all of it inside one live device allocation, one pinned allocation, or pageable memory.
Mem classify(const void* p, std::size_t n) {
  if (p == nullptr) return Mem::null;
  const auto u = reinterpret_cast<std::uintptr_t>(p);
  if (in_region(p)) {
    const Alloc* a = find_alloc(p);
    if (a == nullptr) return Mem::bad;
    return u + n <= reinterpret_cast<std::uintptr_t>(a->user) + a->size ? Mem::device : Mem::bad;
  }
  if (const auto* q = find_pinned(p)) return u + n <= q->first + q->second.size ? Mem::pinned : Mem::bad;
  return Mem::pageable;
}
bool is_host(Mem m) { return m == Mem::pinned || m == Mem::pageable; }

// ------------------------------------------------------------------------------------------------ streams
struct StreamObj {
  std::deque<std::function<void()>> q;
  std::uint64_t enq = 0, done = 0;
  unsigned flags = 0;
  int priority = 0;
  bool alive = true, running = false, legacy = false;
};
StreamObj legacy_stream = [] {
  StreamObj s;
  s.legacy = true;
  return s;
}();
std::set<StreamObj*> streams;      // created (alive or destroyed, awaiting handle reuse)
std::vector<StreamObj*> dead_pool;  // destroyed handles, reused LIFO as the runtime does

StreamObj* lookup(cudaStream_t s) {
  if (s == nullptr || s == cudaStreamLegacy) return &legacy_stream;
  if (s == cudaStreamPerThread) fatal("cudaStreamPerThread", "not emulated");
  auto* o = reinterpret_cast<StreamObj*>(s);
  if (!streams.count(o) || !o->alive) return nullptr;
  return o;
}

void drain(StreamObj* s, std::uint64_t upto);

int draining = 0;  // drain() frames active: queued work (a kernel, an event wait, a host function) runs now
std::mt19937 copy_rng(settings().seed);  // EMU_COPY=rand's coin, apart from EMU_SCHED's so each mode reproduces

bool is_copy_stream(const StreamObj* s) { return s->priority < 0; }

/// Whether work just queued on `s` runs now rather than when the host waits (EMU_EAGER, EMU_COPY).
bool drain_at_enqueue(const StreamObj* s) {
  // Queued from inside running work (only a host function can do that): draining here could need the stream that is
  // running, which is not a cycle in the program but would read as one. The work runs when its stream gets there.
  if (draining > 0) return false;
  if (settings().eager) return true;
  switch (settings().copy) {
    case Settings::early: return is_copy_stream(s);
    case Settings::late: return !is_copy_stream(s);
    case Settings::rand: return (copy_rng() & 1u) != 0;
    default: return false;
  }
}

/// CUDA forbids CUDA calls from host functions (they may deadlock or fail with cudaErrorNotPermitted); the emulator
/// serves them but says so once (EMU_STRICT=1: aborts).
void check_not_in_host_func(const char* what) {
  if (in_host_func == 0) return;
  ++stats.api_in_host_func;
  if (settings().strict) fatal("host function", (std::string(what) + ": a CUDA call from a host function").c_str());
  static bool warned = false;
  if (!warned) {
    warned = true;
    std::fprintf(stderr, "GAS_EMU WARNING: a host function (cudaLaunchHostFunc) made a CUDA call (%s); CUDA forbids "
                         "it (it may deadlock or fail on a device)\n", what);
  }
}

std::uint64_t enqueue(StreamObj* s, std::function<void()> fn) {
  check_not_in_host_func("work queued");
  if (s->legacy) {
    // The legacy default stream waits for the work already queued on every blocking stream.
    for (StreamObj* b : streams)
      if (b->alive && !(b->flags & cudaStreamNonBlocking) && b->enq > b->done) {
        const std::uint64_t seq = b->enq;
        s->q.push_back([b, seq] { drain(b, seq); });
        ++s->enq;
      }
  } else if (!(s->flags & cudaStreamNonBlocking) && legacy_stream.enq > legacy_stream.done) {
    const std::uint64_t seq = legacy_stream.enq;  // ... and a blocking stream waits for the legacy stream
    s->q.push_back([seq] { drain(&legacy_stream, seq); });
    ++s->enq;
  }
  s->q.push_back(std::move(fn));
  const std::uint64_t seq = ++s->enq;
  if (drain_at_enqueue(s)) {
    ++stats.enqueue_drains;
    drain(s, seq);
  }
  return seq;
}

void drain(StreamObj* s, std::uint64_t upto) {
  // Called by the host function's own code (nested drains of queued work run with device_mode > 0).
  if (in_host_func > 0 && device_mode == 0) check_not_in_host_func("a wait");
  if (s->done >= upto) return;
  // Work only ever waits for work queued before it (an event wait takes the event's latest record), so a drain of
  // a stream that is already running means the emulator itself went wrong, or a host function waited on its stream.
  if (s->running)
    fatal("stream", in_host_func > 0 && device_mode == 0
                        ? "a host function waits for its own stream or one that waits for it (a deadlock)"
                        : "cyclic dependency between streams (work waits for later work)");
  ++stats.drains;
  enter_device();
  s->running = true;
  ++draining;
  while (s->done < upto) {
    std::function<void()> fn = std::move(s->q.front());
    s->q.pop_front();
    fn();
    ++s->done;
  }
  --draining;
  s->running = false;
  leave_device();
}

/// Runs a host function (cudaLaunchHostFunc) as the host code it is: device memory is PROT_NONE meanwhile, however
/// deeply nested the drain that reached it, so a host function that dereferences a device pointer faults. Pinned and
/// pageable memory stay accessible.
void run_host_func(cudaHostFn_t fn, void* data) {
  const int saved = device_mode;
  if (saved > 0 && settings().protect) protect_pages(0, hwm_pages, PROT_NONE);
  device_mode = 0;
  ++in_host_func;
  try {
    fn(data);
  } catch (...) {
    fatal("host function", "threw an exception (CUDA host functions must not)");
  }
  --in_host_func;
  device_mode = saved;
  if (saved > 0 && settings().protect)
    for (auto& [u, a] : live) protect_pages(a.first_page, a.pages - 1, PROT_READ | PROT_WRITE);
}
void drain_all(StreamObj* s) { drain(s, s->enq); }
void drain_everything() {
  for (bool again = true; again;) {
    again = false;
    drain_all(&legacy_stream);
    for (StreamObj* s : streams)
      if (s->enq > s->done) {
        drain_all(s);
        again = true;
      }
  }
}

// ------------------------------------------------------------------------------------------------ events
struct Stamp {
  double ms = 0;
};
struct EventObj {
  unsigned flags = 0;
  bool recorded = false;
  StreamObj* stream = nullptr;
  std::uint64_t seq = 0;
  std::shared_ptr<Stamp> stamp;
};
std::set<EventObj*> events;
EventObj* lookup(cudaEvent_t e) {
  auto* o = reinterpret_cast<EventObj*>(e);
  return events.count(o) ? o : nullptr;
}
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ------------------------------------------------------------------------------------------------ fibers
extern "C" void gas_emu_switch(void** save, void* load);
extern "C" void gas_emu_fiber_entry();
asm(R"(
  .text
  .globl gas_emu_switch
  .type gas_emu_switch,@function
gas_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size gas_emu_switch, .-gas_emu_switch

  .globl gas_emu_fiber_entry
  .type gas_emu_fiber_entry,@function
gas_emu_fiber_entry:
  movq %rbx, %rdi
  call gas_emu_fiber_main
  ud2
  .size gas_emu_fiber_entry, .-gas_emu_fiber_entry
)");

enum State { NEW, READY, AT_BAR, AT_SHFL, DONE };
struct Fiber {
  void* sp = nullptr;
  char* stack = nullptr;
  State state = NEW;
  uint3 tid{};
  unsigned lin = 0;
  std::uint64_t coll_seq = 0;  // warp collectives this lane has entered
  unsigned smask = 0;
  int smode = 0, sarg = 0, swidth = 32;
  bool swarp_only = false;  // __syncwarp: no data
  std::uint64_t sbits = 0, sres = 0;
};

constexpr std::size_t kStack = 256 * 1024;
std::vector<char*> stack_pool;
char* get_stack() {
  if (!stack_pool.empty()) {
    char* s = stack_pool.back();
    stack_pool.pop_back();
    return s;
  }
  void* p = mmap(nullptr, kStack + kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fatal("mmap", "fiber stack");
  mprotect(p, kPage, PROT_NONE);  // guard against stack overflow
  return static_cast<char*>(p) + kPage;
}

void* sched_sp = nullptr;
Fiber* cur = nullptr;
const std::function<void()>* cur_body = nullptr;
const char* cur_kernel = "";
std::mt19937 rng(settings().seed);  // EMU_SCHED=rand's order (EMU_SEED)

}  // namespace

extern "C" [[noreturn]] void gas_emu_fiber_main(Fiber* f) {
  try {
    (*cur_body)();
  } catch (...) {
    fatal("a kernel thread threw an exception", cur_kernel);
  }
  f->state = DONE;
  gas_emu_switch(&f->sp, sched_sp);
  __builtin_unreachable();
}

namespace {

void start_fiber(Fiber& f) {
  f.stack = get_stack();
  auto top = reinterpret_cast<std::uintptr_t>(f.stack + kStack - 64) & ~std::uintptr_t{15};
  auto* sp = reinterpret_cast<std::uint64_t*>(top - 64);
  std::memset(sp, 0, 64);
  std::uint32_t mxcsr = 0x1f80;
  std::uint16_t fpucw = 0x037f;
  std::memcpy(reinterpret_cast<char*>(sp), &mxcsr, 4);
  std::memcpy(reinterpret_cast<char*>(sp) + 4, &fpucw, 2);
  sp[5] = reinterpret_cast<std::uint64_t>(&f);                       // rbx
  sp[7] = reinterpret_cast<std::uint64_t>(&gas_emu_fiber_entry);      // return address
  f.sp = sp;
  f.state = READY;
}

void yield_to_scheduler() {
  Fiber* me = cur;
  gas_emu_switch(&me->sp, sched_sp);
}

std::string describe(const std::vector<Fiber>& fs) {
  std::string s;
  const char* names[] = {"new", "ready", "barrier", "shuffle", "done"};
  std::map<std::string, int> counts;
  for (const Fiber& f : fs) counts[names[f.state]]++;
  for (auto& [k, v] : counts) s += k + "=" + std::to_string(v) + " ";
  return s;
}

void run_block(std::vector<Fiber>& fs, const std::vector<unsigned>& base_order) {
  const unsigned n = static_cast<unsigned>(fs.size());
  std::vector<unsigned> order = base_order;
  for (;;) {
    if (settings().sched == 2) std::shuffle(order.begin(), order.end(), rng);
    for (unsigned t : order) {
      Fiber& f = fs[t];
      if (f.state == NEW) start_fiber(f);
      if (f.state != READY) continue;
      builtins.tid = f.tid;
      cur = &f;
      gas_emu_switch(&sched_sp, f.sp);
      cur = nullptr;
      if (f.state == DONE) {
        stack_pool.push_back(f.stack);
        f.stack = nullptr;
      }
    }
    // Everything is blocked or done: resolve warp collectives first, then the block barrier.
    bool released = false;
    for (unsigned w = 0; w * 32 < n; ++w) {
      const unsigned lo = w * 32, hi = std::min(n, lo + 32);
      std::uint64_t seq = ~std::uint64_t{0};
      for (unsigned t = lo; t < hi; ++t)
        if (fs[t].state == AT_SHFL) seq = std::min(seq, fs[t].coll_seq);
      if (seq == ~std::uint64_t{0}) continue;
      unsigned mask = 0;
      bool first = true;
      for (unsigned t = lo; t < hi; ++t)
        if (fs[t].state == AT_SHFL && fs[t].coll_seq == seq) {
          if (!first && fs[t].smask != mask) fatal("warp collective", (std::string(cur_kernel) + ": lanes disagree on the mask").c_str());
          mask = fs[t].smask;
          first = false;
        }
      bool ready = true;
      for (unsigned l = 0; l < 32; ++l) {
        if (!(mask >> l & 1u)) continue;
        const unsigned t = lo + l;
        if (t >= hi)
          fatal("warp collective", (std::string(cur_kernel) + ": the mask names lane " + std::to_string(l) +
                                    ", which the block does not have").c_str());
        const Fiber& f = fs[t];
        if (f.state == DONE)
          fatal("warp collective", (std::string(cur_kernel) + ": lane " + std::to_string(l) + " of warp " +
                                    std::to_string(w) + " exited before a __shfl/__syncwarp naming it").c_str());
        if (f.state != AT_SHFL || f.coll_seq != seq) ready = false;
        else if (f.swarp_only != fs[lo + static_cast<unsigned>(__builtin_ctz(mask))].swarp_only)
          fatal("warp collective", (std::string(cur_kernel) + ": __syncwarp meets __shfl").c_str());
      }
      if (!ready) continue;
      for (unsigned l = 0; l < 32; ++l) {
        if (!(mask >> l & 1u)) continue;
        Fiber& f = fs[lo + l];
        if (!f.swarp_only) {
          // PTX shfl.sync: c = ((32 - width) << 8) | 0x1f for xor/down/idx, (32 - width) << 8 for up.
          const int width = f.swidth;
          const int segmask = 32 - width;
          const int lane = static_cast<int>(l);
          const int min_lane = lane & segmask;
          const int max_lane = min_lane | (31 & ~segmask);
          int j = lane;
          bool ok = true;
          switch (f.smode) {
            case 0: j = lane ^ f.sarg; ok = j <= max_lane; break;
            case 1: j = lane + f.sarg; ok = j <= max_lane; break;
            case 2: j = lane - f.sarg; ok = j >= min_lane; break;
            default: j = min_lane | (f.sarg & (width - 1)); ok = true; break;  // idx: within the segment
          }
          if (!ok) j = lane;
          if (j < 0 || j > 31 || !(mask >> j & 1u))
            fatal("__shfl_*_sync", (std::string(cur_kernel) + ": lane " + std::to_string(lane) + " reads lane " +
                                    std::to_string(j) + ", which is not in the mask (undefined value)").c_str());
          f.sres = fs[lo + static_cast<unsigned>(j)].sbits;
        }
        f.state = READY;
      }
      released = true;
    }
    if (released) continue;
    unsigned at_bar = 0, done = 0, other = 0;
    for (const Fiber& f : fs) {
      if (f.state == AT_BAR) ++at_bar;
      else if (f.state == DONE) ++done;
      else ++other;
    }
    if (done == n) return;
    if (other == 0 && at_bar > 0) {
      if (done > 0) {
        ++stats.exited_at_barrier;
        static int warned = 0;
        if (warned++ < 5)
          std::fprintf(stderr, "GAS_EMU WARNING: %s: %u threads wait at __syncthreads while %u have exited\n",
                       cur_kernel, at_bar, done);
      }
      ++stats.barriers;
      for (Fiber& f : fs)
        if (f.state == AT_BAR) f.state = READY;
      continue;
    }
    fatal("deadlock", (std::string(cur_kernel) + ": threads wait at barriers and warp collectives that cannot "
                                                 "complete: " + describe(fs)).c_str());
  }
}

void run_grid(const char* name, dim3 grid, dim3 block, const std::function<void()>& body) {
  if (cur != nullptr) fatal("launch", "a kernel launched from device code");
  cur_body = &body;
  cur_kernel = name;
  const unsigned nthreads = block.x * block.y * block.z;
  const std::uint64_t nblocks = std::uint64_t{grid.x} * grid.y * grid.z;
  builtins.bdim = block;
  builtins.gdim = grid;
  std::vector<Fiber> fs(nthreads);
  std::vector<unsigned> order(nthreads);
  std::iota(order.begin(), order.end(), 0u);
  if (settings().sched == 1) std::reverse(order.begin(), order.end());
  std::vector<std::uint64_t> border;
  const bool permute_blocks = settings().sched != 0;
  if (permute_blocks) {
    border.resize(nblocks);
    std::iota(border.begin(), border.end(), std::uint64_t{0});
    if (settings().sched == 1) std::reverse(border.begin(), border.end());
    else std::shuffle(border.begin(), border.end(), rng);
  }
  for (std::uint64_t bi = 0; bi < nblocks; ++bi) {
    const std::uint64_t b = permute_blocks ? border[bi] : bi;
    builtins.bid = uint3{static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                         static_cast<unsigned>(b / grid.x / grid.y)};
    for (unsigned t = 0; t < nthreads; ++t) {
      Fiber& f = fs[t];
      f = Fiber{};
      f.lin = t;
      f.tid = uint3{t % block.x, t / block.x % block.y, t / block.x / block.y};
    }
    run_block(fs, order);
    stats.threads += nthreads;
  }
  cur_body = nullptr;
  cur_kernel = "";
}

}  // namespace

// ------------------------------------------------------------------------------------------------ device built-ins
[[noreturn]] void fatal(const char* what, const char* detail) {
  std::fprintf(stderr, "\n*** GAS_EMU FATAL: %s: %s\n", what, detail);
  std::fflush(stderr);
  std::abort();
}

void syncthreads() {
  if (cur == nullptr) fatal("__syncthreads", "called outside a kernel");
  cur->state = AT_BAR;
  yield_to_scheduler();
}

std::uint64_t shfl(std::uint64_t bits, unsigned mask, int mode, int arg, int width) {
  if (cur == nullptr) fatal("__shfl_*_sync", "called outside a kernel");
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    fatal("__shfl_*_sync", (std::string(cur_kernel) + ": width " + std::to_string(width) + " is not a power of two <= 32").c_str());
  const unsigned lane = cur->lin % 32;
  if (!(mask >> lane & 1u))
    fatal("__shfl_*_sync", (std::string(cur_kernel) + ": the calling lane is not in the mask").c_str());
  ++stats.shuffles;
  Fiber* me = cur;
  me->smask = mask;
  me->smode = mode;
  me->sarg = arg;
  me->swidth = width;
  me->sbits = bits;
  me->swarp_only = false;
  me->state = AT_SHFL;
  yield_to_scheduler();
  ++me->coll_seq;
  return me->sres;
}

void syncwarp(unsigned mask) {
  if (cur == nullptr) fatal("__syncwarp", "called outside a kernel");
  const unsigned lane = cur->lin % 32;
  if (!(mask >> lane & 1u)) fatal("__syncwarp", "the calling lane is not in the mask");
  Fiber* me = cur;
  me->smask = mask;
  me->swarp_only = true;
  me->state = AT_SHFL;
  yield_to_scheduler();
  ++me->coll_seq;
}

long long clock64() {
  static long long clock = 0;
  clock += 1 << 14;
  return clock;
}

void launch(const char* name, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
            std::function<void()> body) {
  Lock lock(big());
  const std::uint64_t threads = std::uint64_t{block.x} * block.y * block.z;
  const bool ok = grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 2147483647u && grid.y <= 65535 &&
                  grid.z <= 65535 && block.x >= 1 && block.y >= 1 && block.z >= 1 && block.x <= 1024 &&
                  block.y <= 1024 && block.z <= 64 && threads <= 1024 && smem <= 48 * 1024;
  if (!ok) {
    if (settings().verbose)
      std::fprintf(stderr, "GAS_EMU: launch of %s refused: grid (%u,%u,%u) block (%u,%u,%u)\n", name, grid.x, grid.y,
                   grid.z, block.x, block.y, block.z);
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  StreamObj* s = lookup(stream);
  if (s == nullptr) {
    fail(cudaErrorInvalidResourceHandle);
    return;
  }
  ++stats.launches;
  if (settings().verbose)
    std::fprintf(stderr, "GAS_EMU: launch %s grid (%u,%u,%u) block (%u,%u,%u)\n", name, grid.x, grid.y, grid.z, block.x,
                 block.y, block.z);
  enqueue(s, [name, grid, block, body = std::move(body)] { run_grid(name, grid, block, body); });
}

void check_argument(const char* name, int index, const char* type, const void* bytes, std::size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  return;  // ASan's shadow memory maps most of the low address space: every integer would look like a pointer
#endif
  Lock lock(big());
  for (std::size_t off = 0; off + 8 <= size; off += 8) {
    std::uint64_t w;
    std::memcpy(&w, static_cast<const char*>(bytes) + off, 8);
    if (w < 0x10000 || w >= 0x800000000000ull) continue;
    const void* p = reinterpret_cast<const void*>(w);
    if (in_region(p) || find_pinned(p) != nullptr) continue;
    if (msync(reinterpret_cast<void*>(w & ~std::uint64_t{kPage - 1}), kPage, MS_ASYNC) != 0) continue;  // unmapped
    ++stats.host_ptr_args;
    static std::set<std::string> seen;
    const std::string key = std::string(name) + "#" + std::to_string(index) + "@" + std::to_string(off);
    if (settings().strict)
      fatal("kernel argument", (key + " holds a pointer to pageable host memory").c_str());
    if (seen.insert(key).second)
      std::fprintf(stderr,
                   "GAS_EMU WARNING: kernel %s, argument %d, byte %zu holds %p, an address of pageable host memory "
                   "(a device would fault if the kernel dereferenced it); argument type %s, %zu bytes\n",
                   name, index, off, p, type, size);
  }
}

/// Queues host-side device work (CUB, cuBLAS) on a stream; false for an invalid stream.
bool enqueue_device_work(cudaStream_t stream, std::function<void()> fn) {
  Lock lock(big());
  StreamObj* s = lookup(stream);
  if (s == nullptr) return false;
  enqueue(s, std::move(fn));
  return true;
}
/// True when [p, p + n) lies in one live device allocation.
bool is_device_range(const void* p, std::size_t n) {
  Lock lock(big());
  return classify(p, n) == Mem::device;
}

namespace {
struct Report {
  ~Report() {
    if (std::getenv("EMU_STATS") == nullptr) return;
    std::fprintf(stderr,
                 "GAS_EMU stats: %lld launches, %lld threads, %lld barriers, %lld shuffles, %lld drains (%lld at "
                 "enqueue, EMU_COPY=%s%s), %lld host-pointer argument words, %lld barrier releases with exited "
                 "threads\n",
                 stats.launches, stats.threads, stats.barriers, stats.shuffles, stats.drains, stats.enqueue_drains,
                 copy_mode_name(settings().copy), settings().eager ? " overridden by EMU_EAGER" : "",
                 stats.host_ptr_args, stats.exited_at_barrier);
    // One "GAS_EMU" line per report, as run_all.sh counts such lines.
    std::fprintf(stderr,
                 "  counters: %lld device allocs, %lld device frees, %lld pinned allocs, %lld pinned frees, "
                 "%lld host waits, %lld host funcs (%lld CUDA calls from them), %lld copies, %lld launches\n",
                 stats.device_allocs, stats.device_frees, stats.pinned_allocs, stats.pinned_frees, stats.host_waits,
                 stats.host_funcs, stats.api_in_host_func, stats.copies, stats.launches);
  }
} report;

cudaError_t count_wait(cudaError_t e) {
  if (e == cudaSuccess) ++stats.host_waits;
  return e;
}

cudaError_t copy_impl(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                      std::size_t height, cudaMemcpyKind kind, cudaStream_t stream, bool async) {
  if (width == 0 || height == 0) return cudaSuccess;
  if (dpitch < width || spitch < width) return fail(cudaErrorInvalidPitchValue);
  StreamObj* s = lookup(stream);
  if (s == nullptr) return fail(cudaErrorInvalidResourceHandle);
  const std::size_t dspan = dpitch * (height - 1) + width, sspan = spitch * (height - 1) + width;
  const Mem dm = classify(dst, dspan), sm = classify(src, sspan);
  auto complain = [&](const char* why) {
    std::fprintf(stderr, "GAS_EMU: cudaMemcpy%s refused (%s): dst %p (%s, %zu bytes) src %p (%s, %zu bytes) kind %d\n",
                 height > 1 ? "2D" : "", why, dst, mem_name(dm), dspan, src, mem_name(sm), sspan, int(kind));
    return fail(cudaErrorInvalidValue);
  };
  if (dm == Mem::null || sm == Mem::null || dm == Mem::bad || sm == Mem::bad) return complain("bad range");
  bool ok = true;
  switch (kind) {
    case cudaMemcpyHostToDevice: ok = dm == Mem::device && is_host(sm); break;
    case cudaMemcpyDeviceToHost: ok = is_host(dm) && sm == Mem::device; break;
    case cudaMemcpyDeviceToDevice: ok = dm == Mem::device && sm == Mem::device; break;
    case cudaMemcpyHostToHost: ok = is_host(dm) && is_host(sm); break;
    case cudaMemcpyDefault: break;
    default: return fail(cudaErrorInvalidMemcpyDirection);
  }
  if (!ok) return complain("pointers do not match the copy kind");
  ++stats.copies;
  auto run = [=](const char* from) {
    for (std::size_t r = 0; r < height; ++r)
      std::memmove(static_cast<char*>(dst) + r * dpitch, from + r * spitch, width);
  };
  if (!async || (is_host(dm) && is_host(sm))) {  // synchronous: runs after the stream's earlier work
    const std::uint64_t seq = enqueue(s, [run, src] { run(static_cast<const char*>(src)); });
    drain(s, seq);
    return cudaSuccess;
  }
  if (sm == Mem::pageable) {
    // A pageable source is staged before the call returns; the copy to the device runs in stream order.
    auto staged = std::make_shared<std::vector<char>>(sspan);
    std::memcpy(staged->data(), src, sspan);
    enqueue(s, [run, staged] { run(staged->data()); });
    return cudaSuccess;
  }
  // Pinned sources and all destinations (pageable ones too, which the CUDA docs allow to be asynchronous) are read
  // and written when the stream reaches the copy.
  enqueue(s, [run, src] { run(static_cast<const char*>(src)); });
  return cudaSuccess;
}

cudaError_t memset_impl(void* dst, std::size_t pitch, int value, std::size_t width, std::size_t height,
                        cudaStream_t stream, bool async) {
  if (width == 0 || height == 0) return cudaSuccess;
  if (pitch < width) return fail(cudaErrorInvalidPitchValue);
  StreamObj* s = lookup(stream);
  if (s == nullptr) return fail(cudaErrorInvalidResourceHandle);
  const std::size_t span = pitch * (height - 1) + width;
  const Mem m = classify(dst, span);
  if (m != Mem::device) {
    std::fprintf(stderr, "GAS_EMU: cudaMemset refused: %p (%s, %zu bytes)\n", dst, mem_name(m), span);
    return fail(cudaErrorInvalidValue);
  }
  const std::uint64_t seq = enqueue(s, [=] {
    for (std::size_t r = 0; r < height; ++r) std::memset(static_cast<char*>(dst) + r * pitch, value, width);
  });
  if (!async) drain(s, seq);
  return cudaSuccess;
}

}  // namespace
}  // namespace gas_emu

using namespace gas_emu;

// ================================================================================================== CUDA runtime
extern "C" {

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
static thread_local int current_device = 0;
cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = current_device;
  return cudaSuccess;
}
// The one emulated device, for programs that print or record what they ran on (the benchmarks).
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "gas_emu (CPU emulation)");
  prop->totalGlobalMem = kRegionBytes;
  prop->multiProcessorCount = 1;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= 1) return fail(cudaErrorInvalidDevice);
  current_device = device;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) {
  Lock lock(big());
  ++stats.host_waits;
  drain_everything();
  return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidPitchValue: return "cudaErrorInvalidPitchValue";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    default: return "cudaErrorUnknown(emulated)";
  }
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    default: return "unknown error (emulated)";
  }
}

cudaError_t cudaMalloc(void** p, size_t size) {
  Lock lock(big());
  if (p == nullptr) return fail(cudaErrorInvalidValue);
  const cudaError_t e = device_alloc(p, size);
  if (e != cudaSuccess) *p = nullptr;
  else if (size > 0) ++stats.device_allocs;
  return fail(e);
}
cudaError_t cudaFree(void* p) {
  Lock lock(big());
  if (p == nullptr) return cudaSuccess;
  ++stats.host_waits;
  drain_everything();  // cudaFree synchronizes with the device
  const Alloc* a = find_alloc(p);
  if (a == nullptr || a->user != p) return fail(cudaErrorInvalidValue);
  device_release(*a);
  ++stats.device_frees;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total) {
  Lock lock(big());
  init_region();
  std::size_t f = 0;
  for (auto& [k, v] : free_runs) f += v * kPage;
  if (free_bytes) *free_bytes = f;
  if (total) *total = kRegionBytes;
  return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** p, size_t size, unsigned int flags) {
  Lock lock(big());
  if (p == nullptr) return fail(cudaErrorInvalidValue);
  if (flags & ~(cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined)) return fail(cudaErrorInvalidValue);
  if (size == 0) {
    *p = nullptr;
    return cudaSuccess;
  }
  const std::size_t bytes = (size + kPage - 1) / kPage * kPage;
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    *p = nullptr;
    return fail(cudaErrorMemoryAllocation);
  }
  if (settings().poison) std::memset(m, 0xff, size);
  pinned[reinterpret_cast<std::uintptr_t>(m)] = Pinned{size, bytes, flags};
  ++stats.pinned_allocs;
  *p = m;
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** p, size_t size) { return cudaHostAlloc(p, size, cudaHostAllocDefault); }
cudaError_t cudaFreeHost(void* p) {
  Lock lock(big());
  if (p == nullptr) return cudaSuccess;
  ++stats.host_waits;
  drain_everything();  // cudaFreeHost synchronizes with the device, as cudaFree does
  auto it = pinned.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == pinned.end()) return fail(cudaErrorInvalidValue);
  munmap(p, it->second.mapped_bytes);
  pinned.erase(it);
  ++stats.pinned_frees;
  return cudaSuccess;
}
cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned int flags) {
  Lock lock(big());
  if (device == nullptr || flags != 0) return fail(cudaErrorInvalidValue);
  if (find_pinned(host) == nullptr) return fail(cudaErrorInvalidValue);
  *device = host;  // unified addressing: the same address on both sides
  return cudaSuccess;
}
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p) {
  Lock lock(big());
  if (attr == nullptr) return fail(cudaErrorInvalidValue);
  std::memset(attr, 0, sizeof *attr);
  const Mem m = classify(p, 1);
  if (m == Mem::device) {
    attr->type = cudaMemoryTypeDevice;
    attr->device = 0;
    attr->devicePointer = const_cast<void*>(p);
  } else if (m == Mem::pinned) {
    attr->type = cudaMemoryTypeHost;
    attr->device = 0;
    attr->devicePointer = const_cast<void*>(p);
    attr->hostPointer = const_cast<void*>(p);
  } else {
    attr->type = cudaMemoryTypeUnregistered;
    attr->device = -2;
  }
  return cudaSuccess;
}

// The synchronous calls block the host until the copy (and the legacy stream's earlier work) is done: a host wait,
// counted when the call is accepted, whether or not anything was pending.
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
  Lock lock(big());
  return count_wait(copy_impl(dst, n, src, n, n, 1, kind, nullptr, false));
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t stream) {
  Lock lock(big());
  return copy_impl(dst, n, src, n, n, 1, kind, stream, true);
}
cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind kind) {
  Lock lock(big());
  return count_wait(copy_impl(dst, dpitch, src, spitch, width, height, kind, nullptr, false));
}
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t stream) {
  Lock lock(big());
  return copy_impl(dst, dpitch, src, spitch, width, height, kind, stream, true);
}
cudaError_t cudaMemset(void* dst, int value, size_t n) {
  Lock lock(big());
  return count_wait(memset_impl(dst, n, value, n, 1, nullptr, false));
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t n, cudaStream_t stream) {
  Lock lock(big());
  return memset_impl(dst, n, value, n, 1, stream, true);
}
cudaError_t cudaMemset2DAsync(void* dst, size_t pitch, int value, size_t width, size_t height, cudaStream_t stream) {
  Lock lock(big());
  return memset_impl(dst, pitch, value, width, height, stream, true);
}

cudaError_t cudaDeviceGetStreamPriorityRange(int* least, int* greatest) {
  if (least) *least = 0;
  if (greatest) *greatest = -5;
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithPriority(cudaStream_t* out, unsigned int flags, int priority) {
  Lock lock(big());
  if (out == nullptr || (flags & ~cudaStreamNonBlocking)) return fail(cudaErrorInvalidValue);
  StreamObj* s;
  if (!dead_pool.empty()) {  // the runtime hands a destroyed stream's handle to the next new one
    s = dead_pool.back();
    dead_pool.pop_back();
  } else {
    s = new StreamObj;
    streams.insert(s);
  }
  s->alive = true;
  s->flags = flags;
  s->priority = std::clamp(priority, -5, 0);
  *out = reinterpret_cast<cudaStream_t>(s);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* out, unsigned int flags) {
  return cudaStreamCreateWithPriority(out, flags, 0);
}
cudaError_t cudaStreamCreate(cudaStream_t* out) { return cudaStreamCreateWithPriority(out, cudaStreamDefault, 0); }
cudaError_t cudaStreamGetPriority(cudaStream_t stream, int* priority) {
  Lock lock(big());
  StreamObj* s = lookup(stream);
  if (s == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (priority == nullptr) return fail(cudaErrorInvalidValue);
  *priority = s->priority;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  Lock lock(big());
  if (stream == nullptr || stream == cudaStreamLegacy) return fail(cudaErrorInvalidResourceHandle);
  StreamObj* s = lookup(stream);
  if (s == nullptr) return fail(cudaErrorInvalidResourceHandle);
  drain_all(s);  // queued work still completes
  s->alive = false;
  dead_pool.push_back(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  Lock lock(big());
  StreamObj* s = lookup(stream);
  if (s == nullptr) return fail(cudaErrorInvalidResourceHandle);
  ++stats.host_waits;
  drain_all(s);
  return cudaSuccess;
}
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  Lock lock(big());
  StreamObj* s = lookup(stream);
  if (s == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (s->done == s->enq) return cudaSuccess;
  drain_all(s);  // the device makes progress meanwhile: the next query answers "done"
  return fail(cudaErrorNotReady);
}
cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* data) {
  Lock lock(big());
  StreamObj* s = lookup(stream);
  if (s == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (fn == nullptr) return fail(cudaErrorInvalidValue);
  ++stats.host_funcs;
  // In stream order like a kernel; it runs on whichever host thread drains the stream (a device runs it on a driver
  // thread), as host code.
  enqueue(s, [fn, data] { run_host_func(fn, data); });
  return cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  Lock lock(big());
  StreamObj* s = lookup(stream);
  EventObj* e = lookup(event);
  if (s == nullptr || e == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (flags != 0) return fail(cudaErrorInvalidValue);
  if (!e->recorded || e->stream == s) return cudaSuccess;
  StreamObj* es = e->stream;
  const std::uint64_t seq = e->seq;
  enqueue(s, [es, seq] { drain(es, seq); });
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* out, unsigned int flags) {
  Lock lock(big());
  if (out == nullptr || (flags & ~(cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess)))
    return fail(cudaErrorInvalidValue);
  auto* e = new EventObj;
  e->flags = flags;
  events.insert(e);
  *out = reinterpret_cast<cudaEvent_t>(e);
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* out) { return cudaEventCreateWithFlags(out, cudaEventDefault); }
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  Lock lock(big());
  EventObj* e = lookup(event);
  if (e == nullptr) return fail(cudaErrorInvalidResourceHandle);
  events.erase(e);
  delete e;  // queued records hold only the shared time stamp
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  Lock lock(big());
  EventObj* e = lookup(event);
  StreamObj* s = lookup(stream);
  if (e == nullptr || s == nullptr) return fail(cudaErrorInvalidResourceHandle);
  auto stamp = std::make_shared<Stamp>();
  e->recorded = true;
  e->stream = s;
  e->stamp = stamp;
  e->seq = enqueue(s, [stamp] { stamp->ms = now_ms(); });
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  Lock lock(big());
  EventObj* e = lookup(event);
  if (e == nullptr) return fail(cudaErrorInvalidResourceHandle);
  ++stats.host_waits;
  if (e->recorded) drain(e->stream, e->seq);
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  Lock lock(big());
  EventObj* e = lookup(event);
  if (e == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (!e->recorded || e->stream->done >= e->seq) return cudaSuccess;
  drain(e->stream, e->seq);  // progress: the next query answers "done"
  return fail(cudaErrorNotReady);
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop) {
  Lock lock(big());
  EventObj* a = lookup(start);
  EventObj* b = lookup(stop);
  if (ms == nullptr) return fail(cudaErrorInvalidValue);
  if (a == nullptr || b == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (((a->flags | b->flags) & cudaEventDisableTiming) || !a->recorded || !b->recorded)
    return fail(cudaErrorInvalidResourceHandle);
  if (a->stream->done < a->seq || b->stream->done < b->seq) return fail(cudaErrorNotReady);
  *ms = static_cast<float>(b->stamp->ms - a->stamp->ms);
  return cudaSuccess;
}

struct gas_emu_counters gas_emu_get_counters(void) {
  Lock lock(big());
  gas_emu_counters c{};
  c.device_allocs = stats.device_allocs;
  c.pinned_allocs = stats.pinned_allocs;
  c.device_frees = stats.device_frees;
  c.pinned_frees = stats.pinned_frees;
  c.host_waits = stats.host_waits;
  c.host_funcs = stats.host_funcs;
  c.copies = stats.copies;
  c.launches = stats.launches;
  return c;
}
const char* gas_emu_copy_mode(void) { return settings().eager ? "eager" : copy_mode_name(settings().copy); }

}  // extern "C"

// ================================================================================================== cuBLAS
namespace {
struct BlasObj {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};
std::set<BlasObj*> blas_handles;

template <class T>
cublasStatus_t gemm(cublasHandle_t handle, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    const T* alpha, const T* A, int lda, const T* B, int ldb, const T* beta, T* C, int ldc) {
  Lock lock(big());
  auto* h = reinterpret_cast<BlasObj*>(handle);
  if (!blas_handles.count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto valid_op = [](cublasOperation_t o) { return o == CUBLAS_OP_N || o == CUBLAS_OP_T || o == CUBLAS_OP_C; };
  if (!valid_op(ta) || !valid_op(tb) || m < 0 || n < 0 || k < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : k) ||
      ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m) || alpha == nullptr || beta == nullptr)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  const T a = *alpha, b = *beta;  // CUBLAS_POINTER_MODE_HOST: read at the call
  // The device would fault (or read another buffer) if an operand is not device memory or is too short.
  auto need = [&](const void* p, int rows, int cols, int ld, const char* what) {
    if (rows == 0 || cols == 0) return;
    const std::size_t bytes = (static_cast<std::size_t>(cols - 1) * ld + rows) * sizeof(T);
    if (!is_device_range(p, bytes))
      fatal("cublas gemm", (std::string(what) + " is not a device range of " + std::to_string(bytes) + " bytes").c_str());
  };
  if (a != T{0} && k > 0) {
    need(A, ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda, "A");
    need(B, tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb, "B");
  }
  need(C, m, n, ldc, "C");
  // EMU_GEMM=double: accumulate in double (near-exact products), to tell reordering error from real differences;
  // EMU_GEMM=reverse: float FMA accumulation in reverse k order (another valid order). Default: float FMA, k order.
  static const int gemm_mode = [] {
    const char* v = std::getenv("EMU_GEMM");
    return v == nullptr ? 0 : !std::strcmp(v, "double") ? 1 : !std::strcmp(v, "reverse") ? 2 : 0;
  }();
  const bool ok = enqueue_device_work(h->stream, [=] {
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        auto x = [&](int l) { return ta == CUBLAS_OP_N ? A[i + static_cast<std::size_t>(l) * lda] : A[l + static_cast<std::size_t>(i) * lda]; };
        auto y = [&](int l) { return tb == CUBLAS_OP_N ? B[l + static_cast<std::size_t>(j) * ldb] : B[j + static_cast<std::size_t>(l) * ldb]; };
        T acc = 0;
        if (a != T{0}) {
          if (gemm_mode == 1) {
            double d = 0;
            for (int l = 0; l < k; ++l) d += static_cast<double>(x(l)) * static_cast<double>(y(l));
            acc = static_cast<T>(d);
          } else if (gemm_mode == 2) {
            for (int l = k - 1; l >= 0; --l) acc = std::fma(x(l), y(l), acc);
          } else {
            for (int l = 0; l < k; ++l) acc = std::fma(x(l), y(l), acc);
          }
        }
        T& c = C[i + static_cast<std::size_t>(j) * ldc];
        c = b == T{0} ? a * acc : a * acc + b * c;  // beta == 0: C is not read (NaN in C does not survive)
      }
  });
  return ok ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

// C = alpha op(A) + beta op(B) (m x n, column-major), with cuBLAS's in-place rule: C may be A (transa N, lda == ldc) or
// B (transb N, ldb == ldc), and must not otherwise overlap either; a zero alpha or beta leaves its operand unread.
template <class T>
cublasStatus_t geam(cublasHandle_t handle, cublasOperation_t ta, cublasOperation_t tb, int m, int n, const T* alpha,
                    const T* A, int lda, const T* beta, const T* B, int ldb, T* C, int ldc) {
  Lock lock(big());
  auto* h = reinterpret_cast<BlasObj*>(handle);
  if (!blas_handles.count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto valid_op = [](cublasOperation_t o) { return o == CUBLAS_OP_N || o == CUBLAS_OP_T || o == CUBLAS_OP_C; };
  if (!valid_op(ta) || !valid_op(tb) || m < 0 || n < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : n) ||
      ldb < std::max(1, tb == CUBLAS_OP_N ? m : n) || ldc < std::max(1, m) || alpha == nullptr || beta == nullptr)
    return CUBLAS_STATUS_INVALID_VALUE;
  if ((C == A && (ta != CUBLAS_OP_N || lda != ldc)) || (C == B && (tb != CUBLAS_OP_N || ldb != ldc)))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  const T a = *alpha, b = *beta;  // CUBLAS_POINTER_MODE_HOST: read at the call
  auto bytes = [](int rows, int cols, int ld) { return (static_cast<std::size_t>(cols - 1) * ld + rows) * sizeof(T); };
  auto need = [&](const void* p, int rows, int cols, int ld, const char* what) {
    if (!is_device_range(p, bytes(rows, cols, ld)))
      fatal("cublas geam", (std::string(what) + " is not a device range of " + std::to_string(bytes(rows, cols, ld)) +
                            " bytes").c_str());
  };
  auto overlap = [&](const void* p, int rows, int cols, int ld) {
    const auto* lo = static_cast<const char*>(p);
    const auto* c = reinterpret_cast<const char*>(C);
    return lo < c + bytes(m, n, ldc) && c < lo + bytes(rows, cols, ld);
  };
  const int a_rows = ta == CUBLAS_OP_N ? m : n, a_cols = ta == CUBLAS_OP_N ? n : m;
  const int b_rows = tb == CUBLAS_OP_N ? m : n, b_cols = tb == CUBLAS_OP_N ? n : m;
  if (a != T{0}) {
    need(A, a_rows, a_cols, lda, "A");
    if (C != A && overlap(A, a_rows, a_cols, lda)) fatal("cublas geam", "C overlaps A without being A");
  }
  if (b != T{0}) {
    need(B, b_rows, b_cols, ldb, "B");
    if (C != B && overlap(B, b_rows, b_cols, ldb)) fatal("cublas geam", "C overlaps B without being B");
  }
  need(C, m, n, ldc, "C");
  const bool ok = enqueue_device_work(h->stream, [=] {
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        const T x = a == T{0} ? T{0} : (ta == CUBLAS_OP_N ? A[i + static_cast<std::size_t>(j) * lda] : A[j + static_cast<std::size_t>(i) * lda]);
        const T y = b == T{0} ? T{0} : (tb == CUBLAS_OP_N ? B[i + static_cast<std::size_t>(j) * ldb] : B[j + static_cast<std::size_t>(i) * ldb]);
        C[i + static_cast<std::size_t>(j) * ldc] = a * x + b * y;
      }
  });
  return ok ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}
}  // namespace

extern "C" {
cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  Lock lock(big());
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  auto* h = new BlasObj;
  blas_handles.insert(h);
  *handle = reinterpret_cast<cublasHandle_t>(h);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  Lock lock(big());
  auto* h = reinterpret_cast<BlasObj*>(handle);
  if (!blas_handles.count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  drain_everything();  // cublasDestroy synchronizes with the device
  blas_handles.erase(h);
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  Lock lock(big());
  auto* h = reinterpret_cast<BlasObj*>(handle);
  if (!blas_handles.count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (lookup(stream) == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  h->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* stream) {
  Lock lock(big());
  auto* h = reinterpret_cast<BlasObj*>(handle);
  if (!blas_handles.count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  *stream = h->stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  Lock lock(big());
  auto* h = reinterpret_cast<BlasObj*>(handle);
  if (!blas_handles.count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
  return gemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
cublasStatus_t cublasDgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const double* alpha, const double* A, int lda, const double* B, int ldb,
                              const double* beta, double* C, int ldc) {
  return gemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
cublasStatus_t cublasSgeam(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                           const float* alpha, const float* A, int lda, const float* beta, const float* B, int ldb,
                           float* C, int ldc) {
  return geam(h, ta, tb, m, n, alpha, A, lda, beta, B, ldb, C, ldc);
}
cublasStatus_t cublasDgeam(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                           const double* alpha, const double* A, int lda, const double* beta, const double* B, int ldb,
                           double* C, int ldc) {
  return geam(h, ta, tb, m, n, alpha, A, lda, beta, B, ldb, C, ldc);
}
const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    default: return "CUBLAS_STATUS_(emulated other)";
  }
}
const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid value was used as an argument";
    default: return "other (emulated)";
  }
}
}  // extern "C"
