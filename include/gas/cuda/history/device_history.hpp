#pragma once
/// @brief What the overlapped history pipeline (gas/cuda/history/pipeline.cuh) asks of a history store on the GPU:
/// the `DeviceHistory` concept, the pull and push jobs it hands a store, the ring of host functions that CPU-side
/// gathers and pushes run in (stream-ordered through cudaLaunchHostFunc, so nobody waits for them), the counters,
/// and `StoreEvents`, which makes every host read of a store wait for the store's queued copies first (rule 8).

#include <cuda_runtime.h>

#include <concepts>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/event.hpp"
#include "gas/cuda/space.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/concept.hpp"
#include "gas/loader/batch.hpp"

namespace gas::cuda {

/// @brief Counters of a pipeline and its stores, cumulative since construction (or reset()).
struct PipelineStats {
  std::int64_t device_allocs = 0;  ///< device buffers the pipeline or its stores allocated or grew
  std::int64_t pinned_allocs = 0;  ///< pinned host buffers allocated or grown
  std::int64_t host_waits = 0;     ///< times the host blocked on queued work (event or stream synchronize)
  std::int64_t bytes_h2d = 0;      ///< bytes queued host -> device (stages, pulls through staging, zero-copy reads)
  std::int64_t bytes_d2h = 0;      ///< bytes queued device -> host (pushes, inference output)
  std::int64_t bytes_d2d = 0;      ///< bytes queued device -> device (device-store pulls and pushes)
  std::int64_t pulls = 0;          ///< layer pulls queued
  std::int64_t pushes = 0;         ///< layer pushes queued
  std::int64_t host_calls = 0;     ///< host functions queued (CPU gathers and host-store pushes)
  std::int64_t steps = 0;          ///< training steps ended (end_step)
  double h2d_busy_ms = 0;          ///< time the host-to-device stream spent on pipeline jobs (PipelineOptions::timing)
  double d2h_busy_ms = 0;          ///< time the device-to-host stream spent on pipeline jobs (PipelineOptions::timing)
};

/// @brief A function the pipeline queues on a copy stream (cudaLaunchHostFunc) with the arguments it needs, kept in
/// a ring so that queuing allocates nothing. A call's arguments are written at enqueue time and read when the
/// stream reaches it, so a record is reused only after its `done` event has fired.
struct HostCall {
  void (*run)(HostCall&) = nullptr;
  void* target = nullptr;                // the store
  const node_id* ids = nullptr;          // pinned ids of a gather
  std::int64_t count = 0;                // ids, or rows of a push
  void* rows = nullptr;                  // pinned staging: (count, width) row-major
  std::vector<loader::Chunk> chunks;     // a push's chunks, copied at enqueue (capacity kept)
  std::exception_ptr error;              // a failure inside the call, rethrown on the host at the next drain
  Event done;                            // recorded after the call on its stream
  bool used = false;
};

/// @brief The ring of HostCall records; `acquire` waits (counted) only when the oldest record has not run yet.
class HostCallRing {
public:
  explicit HostCallRing(std::size_t capacity = 16) {
    for (std::size_t k = 0; k < capacity; ++k) calls_.push_back(std::make_unique<HostCall>());
  }
  /// @brief The next free record (waits for it when the stream has not reached it yet: counted in `stats`).
  HostCall& acquire(PipelineStats& stats) {
    HostCall& c = *calls_[next_++ % calls_.size()];
    if (c.used && !c.done.query()) {
      ++stats.host_waits;
      c.done.synchronize();
    }
    rethrow(c);
    c.used = true;
    c.error = nullptr;
    return c;
  }
  /// @brief Queues `c` on `stream` and records its completion.
  void launch(HostCall& c, cudaStream_t stream, PipelineStats& stats) {
    GAS_CUDA_CHECK(cudaLaunchHostFunc(stream, &trampoline, &c));
    c.done.record(stream);
    ++stats.host_calls;
  }
  /// @brief Rethrows the first failure of a call that has run (after the caller waited for the stream).
  void rethrow_failures() {
    for (auto& c : calls_) rethrow(*c);
  }

private:
  static void rethrow(HostCall& c) {
    if (c.error) std::rethrow_exception(std::exchange(c.error, nullptr));
  }
  static void CUDART_CB trampoline(void* p) {
    auto& c = *static_cast<HostCall*>(p);
    try {
      c.run(c);
    } catch (...) {
      c.error = std::current_exception();
    }
  }

  std::vector<std::unique_ptr<HostCall>> calls_;
  std::size_t next_ = 0;
};

/// @brief One layer's pull, as the pipeline hands it to a store: rows ids[i] -> out row i, on `stream`.
template <class T>
struct PullJob {
  const node_id* device_ids = nullptr;  // (count) on the device (gather kernels)
  const node_id* host_ids = nullptr;    // (count) the same ids in pinned memory (CPU gathers)
  std::int64_t count = 0;
  DeviceView<T> out;                    // (count, width) pipeline-owned slot
  PinnedView<T> staging;                // (>= count, width) pinned staging the store may use
};

/// @brief One layer's push: history rows of each chunk = the next rows of `rows`, on `stream`.
template <class T>
struct PushJob {
  std::span<const loader::Chunk> chunks;  // host memory, read while queuing only
  std::int64_t count = 0;                 // rows: the chunks' counts summed
  DeviceView<const T> rows;               // (count, width) pipeline-owned copy
  PinnedView<T> staging;                  // (>= count, width) pinned staging the store may use
};

/// @brief What the pipeline passes to a store's queue calls besides the job: host-call ring and counters.
struct QueueContext {
  HostCallRing* calls = nullptr;
  PipelineStats* stats = nullptr;
};

/// @brief Queues a CPU-side gather of `job` on `stream`: a host function `run` (a captureless function of the
/// HostCall, whose `target` is `store`) fills the pinned staging with the job's rows, then one copy moves them into
/// the job's device slot. What PinnedStore's host-thread gather and Staged's pull share.
template <class T>
void queue_host_gather(const PullJob<T>& job, QueueContext ctx, cudaStream_t stream, void* store,
                       void (*run)(HostCall&)) {
  HostCall& call = ctx.calls->acquire(*ctx.stats);
  call.target = store;
  call.ids = job.host_ids;
  call.count = job.count;
  call.rows = job.staging.data();
  call.run = run;
  ctx.calls->launch(call, stream, *ctx.stats);
  copy_async(job.staging.slice_rows(0, job.count), job.out, stream);
  ctx.stats->bytes_h2d += job.count * job.out.cols() * static_cast<std::int64_t>(sizeof(T));
}

/// @brief A history store the overlapped pipeline can drive: a HistoryStore (host access, which drains first)
/// that also queues pulls and pushes on a stream. `needs_staging` says whether its jobs need pinned staging;
/// `reserve(rows)` prepares per-call scratch for jobs of up to `rows` rows (so steps allocate nothing).
template <class S>
concept DeviceHistory =
    history::HistoryStore<S> &&
    requires(S& s, const PullJob<typename S::value_type>& pull, const PushJob<typename S::value_type>& push,
             QueueContext ctx, cudaStream_t stream, std::int64_t rows) {
      { S::needs_staging } -> std::convertible_to<bool>;
      { s.queue_pull(pull, ctx, stream) } -> std::same_as<void>;
      { s.queue_push(push, ctx, stream) } -> std::same_as<void>;
      { s.reserve(rows, ctx) } -> std::same_as<void>;
      { s.drain() } -> std::same_as<void>;
    };

/// @brief The last pull and push a store queued, as events; a host read of the store waits for both (rule 8:
/// any host read of a store drains the pipeline first). `skip_drain` is the test-only switch that drops the rule.
class StoreEvents {
public:
  /// @brief Marks the end of queued reads (pulls) on `stream`.
  void read_on(cudaStream_t stream) {
    read_.record(stream);
    pending_ = true;
  }
  /// @brief Marks the end of queued writes (pushes) on `stream`.
  void written_on(cudaStream_t stream) {
    written_.record(stream);
    pending_ = true;
  }
  /// @brief Makes later work on `stream` wait for every push queued so far (what a pull must see: rule 1).
  void wait_written(cudaStream_t stream) const {
    if (pending_) written_.wait(stream);
  }
  /// @brief Waits on the host for everything queued on the store (rule 8); counts in `stats` when given.
  void drain(PipelineStats* stats = nullptr) {
    if (!pending_ || skip_drain) return;
    if (stats != nullptr) stats->host_waits += 2;
    read_.synchronize();
    written_.synchronize();
    pending_ = false;
  }
  /// @brief Test-only: host reads stop waiting for queued copies (drops rule 8).
  bool skip_drain = false;

private:
  Event read_, written_;
  bool pending_ = false;
};

}  // namespace gas::cuda
