#pragma once
/// @brief `cuda::Staged<S>`: any host history store (HostStore, HalfStore<bf16|fp16>, MappedStore) driven by the
/// overlapped pipeline through pinned staging. A pull is a host function in stream order (the store's own pull
/// into pinned staging) followed by one host-to-device copy; a push is one device-to-host copy into pinned staging
/// followed by a host function (the store's push_chunk per chunk). The host functions run on CUDA's callback
/// thread, ordered by the copy streams and events, so neither the host nor the GPU waits for them.
///
/// Concurrent calls touch disjoint rows (a pull reads halo rows, a push writes batch rows, and anything else is
/// ordered by events), which every host store supports without a lock.

#include <cuda_runtime.h>

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/history/device_history.hpp"
#include "gas/cuda/space.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/push_and_pull.hpp"

namespace gas::cuda {

/// @brief A host store S behind pinned staging; see the file comment.
template <history::HistoryStore S>
class Staged {
public:
  using value_type = typename S::value_type;
  using store_type = S;
  static constexpr bool needs_staging = true;

  /// @brief Wraps S(num_nodes, width).
  Staged(std::int64_t num_nodes, std::int64_t width)
    requires std::constructible_from<S, std::int64_t, std::int64_t>
      : store_(num_nodes, width) {}
  /// @brief Wraps an existing store (a MappedStore opened on a file, say).
  explicit Staged(S store) : store_(std::move(store)) {}

  [[nodiscard]] std::string name() const { return "gas::cuda::Staged<" + store_.name() + ">"; }
  [[nodiscard]] std::int64_t num_nodes() const { return store_.num_nodes(); }
  [[nodiscard]] std::int64_t width() const { return store_.width(); }
  /// @brief The wrapped store, after the queued copies have landed.
  S& store() {
    drain();
    return store_;
  }

  // Host access: drain, then the wrapped store's own call.
  void pull(std::span<const node_id> ids, MatrixView<value_type> out) {
    drain();
    store_.pull(ids, out);
  }
  void push(std::span<const node_id> ids, MatrixView<const value_type> rows) {
    drain();
    store_.push(ids, rows);
  }
  void pull_chunk(node_id offset, MatrixView<value_type> out) {
    drain();
    store_.pull_chunk(offset, out);
  }
  void push_chunk(node_id offset, MatrixView<const value_type> rows) {
    drain();
    store_.push_chunk(offset, rows);
  }
  void fill(value_type value) {
    drain();
    store_.fill(value);
  }

  // Queued access, for the pipeline.
  void queue_pull(const PullJob<value_type>& job, QueueContext ctx, cudaStream_t stream) {
    queue_host_gather(job, ctx, stream, this, [](HostCall& c) {
      auto& self = *static_cast<Staged*>(c.target);
      self.store_.pull(std::span<const node_id>(c.ids, static_cast<std::size_t>(c.count)),
                       MatrixView<value_type>(static_cast<value_type*>(c.rows), c.count, self.width()));
    });
    events_.read_on(stream);
  }
  void queue_push(const PushJob<value_type>& job, QueueContext ctx, cudaStream_t stream) {
    copy_async(job.rows, job.staging.slice_rows(0, job.count), stream);
    HostCall& call = ctx.calls->acquire(*ctx.stats);
    call.target = this;
    call.count = job.count;
    call.rows = job.staging.data();
    call.chunks.assign(job.chunks.begin(), job.chunks.end());
    call.run = [](HostCall& c) {
      auto& self = *static_cast<Staged*>(c.target);
      const MatrixView<const value_type> rows(static_cast<const value_type*>(c.rows), c.count, self.width());
      std::int64_t begin = 0;
      for (const auto& chunk : c.chunks) {
        self.store_.push_chunk(chunk.offset, rows.slice_rows(begin, begin + chunk.count));
        begin += chunk.count;
      }
    };
    ctx.calls->launch(call, stream, *ctx.stats);
    ctx.stats->bytes_d2h += job.count * width() * static_cast<std::int64_t>(sizeof(value_type));
    events_.written_on(stream);
  }
  void reserve(std::int64_t, QueueContext) {}
  void drain() { events_.drain(); }
  StoreEvents& events() { return events_; }

private:
  S store_;
  StoreEvents events_;
};

}  // namespace gas::cuda
