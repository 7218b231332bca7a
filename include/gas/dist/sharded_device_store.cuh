#pragma once
/// @brief `ShardedDeviceStore<Inner>`: the sharded history (dist/sharded_store.hpp) for the GPU pipeline: a
/// `ShardedStore` whose rank rows live in a device-side store (`cuda::DeviceStore`, `cuda::PinnedStore`, ...), and
/// which the overlapped pipeline (cuda/models/history_io.cuh) drives like any `cuda::DeviceHistory`.
///
/// A pull the pipeline queues is a collective, as the host store's: every rank queues the same pulls in the same
/// order (the ranks run in lockstep). When it is queued:
/// 1. on the host, the requested ids are grouped by owner and exchanged for the other ranks' requests (one
///    `alltoallv` of ids: block sizes the ranks then agree on);
/// 2. on the pull's stream, the inner store gathers the rows this rank serves into a device buffer (the inner
///    store's own queued pull: a gather kernel, or a CPU gather through pinned staging);
/// 3. the rows cross: `alltoallv_device` on the same stream when the communicator moves device memory (NcclComm), else
///    staged through the host (a copy out, a wait, the host alltoallv, a copy in);
/// 4. a gather kernel places every row at its position in the pipeline's slot.
/// Pushes are local (a batch's rows are its rank's nodes): the chunks are shifted into the rank's range and queued on
/// the inner store.
///
/// Staleness: a pull is queued when the pipeline starts a step, before the step's pushes, so a halo row owned by
/// another rank is that rank's row as of the end of the previous step, the single-process pipeline's rule (rule 1:
/// a pull sees the pushes of earlier steps). With one rank every call goes straight to the inner store: the
/// single-process pipeline, bit for bit.

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/event.hpp"
#include "gas/cuda/history/device_history.hpp"
#include "gas/cuda/kernels/gather.cuh"
#include "gas/cuda/pinned.hpp"
#include "gas/dist/sharded_store.hpp"

namespace gas::dist {

/// @brief This rank's rows of a sharded history table, in a device-side store the GPU pipeline can drive.
template <class Inner>
  requires cuda::DeviceHistory<Inner>
class ShardedDeviceStore : public ShardedStore<Inner> {
  using Base = ShardedStore<Inner>;

public:
  using value_type = typename Inner::value_type;
  using T = value_type;
  static constexpr bool needs_staging = Inner::needs_staging;

  using Base::Base;

  [[nodiscard]] static std::string name() { return "gas::dist::ShardedDeviceStore<" + Base::inner_name() + ">"; }

  // Host access (tests, checkpoints, the synchronous path): the queued pulls and pushes first (rule 8).
  void pull(std::span<const node_id> ids, MatrixView<T> out) {
    drain();
    Base::pull(ids, out);
  }
  void push(std::span<const node_id> ids, MatrixView<const T> rows) {
    drain();
    Base::push(ids, rows);
  }
  void pull_chunk(node_id offset, MatrixView<T> out) {
    drain();
    Base::pull_chunk(offset, out);
  }
  void push_chunk(node_id offset, MatrixView<const T> rows) {
    drain();
    Base::push_chunk(offset, rows);
  }
  void fill(T value) {
    drain();
    Base::fill(value);
  }

  /// @brief Queues out row i = table row ids[i] on `stream` (see the file comment). A collective.
  void queue_pull(const cuda::PullJob<T>& job, cuda::QueueContext ctx, cudaStream_t stream) {
    this->check_bound("queue_pull");
    if (this->comm_->size() == 1) {  // every id is this rank's and local == global: the inner store's pull
      this->inner_.queue_pull(job, ctx, stream);
      events_.read_on(stream);
      return;
    }
    const std::int64_t w = this->width();
    const auto row_bytes = static_cast<std::size_t>(w) * sizeof(T);
    const int p = this->comm_->size();
    // This pull's pinned ids and positions: a slot of the ring whose last pull has finished with them (its uploads,
    // and the inner store's CPU gather, which reads the served ids when the stream gets there).
    Slot& slot = slots_[next_slot_++ % slots_.size()];
    if (slot.used) {
      if (!slot.done.query()) ++ctx.stats->host_waits;
      slot.done.synchronize();
    }
    auto& served = slot.served;
    auto& place = slot.place;
    const std::size_t asked = this->request(std::span<const node_id>(job.host_ids, static_cast<std::size_t>(job.count)));
    std::size_t asked_here = 0;  // rows this rank asked, from every owner (= job.count)
    for (const auto& q : this->requests_) asked_here += q.size();
    // Where each received row goes: owner r's answers arrive in the order this rank asked them.
    grow_pinned(place, static_cast<std::size_t>(job.count));
    std::int64_t at = 0;
    for (int r = 0; r < p; ++r)
      for (const auto i : this->positions_[static_cast<std::size_t>(r)]) place.data()[i] = static_cast<node_id>(at++);
    grow_pinned(served, asked);
    std::copy(this->local_ids_.begin(), this->local_ids_.end(), served.data());
    grow_device(d_served_, asked, stream, ctx);
    grow_device(d_place_, static_cast<std::size_t>(job.count), stream, ctx);
    grow_device(send_rows_, asked * static_cast<std::size_t>(w), stream, ctx);
    grow_device(recv_rows_, asked_here * static_cast<std::size_t>(w), stream, ctx);
    copy_in(d_served_.data(), served.data(), asked * sizeof(node_id), stream, ctx);
    copy_in(d_place_.data(), place.data(), static_cast<std::size_t>(job.count) * sizeof(node_id), stream, ctx);
    // The served rows, gathered by the inner store.
    if (asked > 0) {
      if constexpr (needs_staging) grow_staging(asked, stream, ctx);
      cuda::PullJob<T> serve{d_served_.data(), served.data(), static_cast<std::int64_t>(asked),
                             cuda::DeviceView<T>(send_rows_.data(), static_cast<std::int64_t>(asked), w),
                             cuda::PinnedView<T>(staging_.data(), staging_rows_, w)};
      this->inner_.queue_pull(serve, ctx, stream);
    }
    // The rows cross.
    this->answer_bytes(row_bytes);
    recv_bytes_.assign(static_cast<std::size_t>(p), 0);
    for (int r = 0; r < p; ++r)
      recv_bytes_[static_cast<std::size_t>(r)] =
          static_cast<std::int64_t>(this->requests_[static_cast<std::size_t>(r)].size() * row_bytes);
    auto* send = reinterpret_cast<std::byte*>(send_rows_.data());
    auto* recv = reinterpret_cast<std::byte*>(recv_rows_.data());
    if (auto* device = this->comm_->device_collectives()) {
      device->alltoallv_device(send, this->counts_, recv, recv_bytes_, stream);
    } else {  // staged through the host: the exchange needs the rows there, so this pull waits for its gather
      host_send_.resize(asked * row_bytes);
      if (!host_send_.empty())
        GAS_CUDA_CHECK(cudaMemcpyAsync(host_send_.data(), send, host_send_.size(), cudaMemcpyDeviceToHost, stream));
      GAS_CUDA_CHECK(cudaStreamSynchronize(stream));
      ++ctx.stats->host_waits;
      ctx.stats->bytes_d2h += static_cast<std::int64_t>(host_send_.size());
      this->comm_->alltoallv(host_send_, this->counts_, this->recv_, this->recv_counts_);
      for (int r = 0; r < p; ++r) this->check_answer(r, row_bytes);
      copy_in(recv, this->recv_.data(), this->recv_.size(), stream, ctx);
      GAS_CUDA_CHECK(cudaStreamSynchronize(stream));  // recv_ is pageable scratch, reused by the next exchange
      ++ctx.stats->host_waits;
    }
    // Every row in its place.
    cuda::gather_rows(recv_rows_.data(), static_cast<std::int64_t>(asked_here), w, d_place_.data(), job.count,
                      job.out.data(), false, stream);
    slot.done.record(stream);
    slot.used = true;
    events_.read_on(stream);
    this->count_pull(asked);
  }

  /// @brief Queues the push of a batch's rows (this rank's nodes) on the inner store; value_error for a chunk that
  /// is not this rank's.
  void queue_push(const cuda::PushJob<T>& job, cuda::QueueContext ctx, cudaStream_t stream) {
    this->check_bound("queue_push");
    chunks_.assign(job.chunks.begin(), job.chunks.end());
    for (auto& c : chunks_) {
      this->check_own_chunk(c.offset, c.count, "queue_push");
      c.offset -= this->begin_;
    }
    cuda::PushJob<T> local{std::span<const loader::Chunk>(chunks_), job.count, job.rows, job.staging};
    this->inner_.queue_push(local, ctx, stream);
    events_.written_on(stream);
  }

  /// @brief Prepares the inner store for jobs of `rows` rows (what this rank serves may be more: the buffers then
  /// grow at the pull, counted as allocations).
  void reserve(std::int64_t rows, cuda::QueueContext ctx) {
    this->check_bound("reserve");
    this->inner_.reserve(rows, ctx);
  }
  /// @brief Waits for every queued pull and push.
  void drain() {
    if (!this->bound()) return;
    this->inner_.drain();
    events_.drain();
  }
  /// @brief The store's completion events (the pipeline orders pulls after pushes with them).
  cuda::StoreEvents& events() { return events_; }

private:
  template <class E>
  static void grow_pinned(cuda::PinnedBuffer<E>& b, std::size_t n) {
    if (b.size() < n) b = cuda::PinnedBuffer<E>(std::max(n, b.size() * 2));
  }
  // The device buffers and the staging are used on the pull's stream only: a growth first waits for that stream
  // (the old memory may still be read), counted, as the pipeline's own growths are; buffers double, so a run's
  // growths stop after its first steps.
  template <class E>
  static void grow_device(cuda::DeviceBuffer<E>& b, std::size_t n, cudaStream_t stream, cuda::QueueContext ctx) {
    if (b.size() >= n) return;
    wait_for(stream, ctx);
    b = cuda::DeviceBuffer<E>(std::max(n, b.size() * 2));
    ++ctx.stats->device_allocs;
  }
  void grow_staging(std::size_t rows, cudaStream_t stream, cuda::QueueContext ctx) {
    if (staging_rows_ >= static_cast<std::int64_t>(rows)) return;
    wait_for(stream, ctx);
    staging_rows_ = static_cast<std::int64_t>(std::max(rows, static_cast<std::size_t>(staging_rows_) * 2));
    staging_ = cuda::PinnedBuffer<T>(static_cast<std::size_t>(staging_rows_ * this->width()));
    ++ctx.stats->pinned_allocs;
  }
  static void wait_for(cudaStream_t stream, cuda::QueueContext ctx) {
    GAS_CUDA_CHECK(cudaStreamSynchronize(stream));
    ++ctx.stats->host_waits;
  }
  static void copy_in(void* to, const void* from, std::size_t bytes, cudaStream_t stream, cuda::QueueContext ctx) {
    if (bytes == 0) return;
    GAS_CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, cudaMemcpyHostToDevice, stream));
    ctx.stats->bytes_h2d += static_cast<std::int64_t>(bytes);
  }

  /// A pull's pinned host data: the local ids it serves and where each received row goes; rewritten by a later pull
  /// only once `done` (recorded after the pull's last operation) has fired.
  struct Slot {
    cuda::PinnedBuffer<node_id> served, place;
    cuda::Event done;
    bool used = false;
  };
  cuda::StoreEvents events_;
  std::array<Slot, 4> slots_;  // a model's layers queue their pulls back to back: 4 slots rarely wait
  std::size_t next_slot_ = 0;
  cuda::DeviceBuffer<node_id> d_served_, d_place_;
  cuda::DeviceBuffer<T> send_rows_, recv_rows_;
  cuda::PinnedBuffer<T> staging_;
  std::int64_t staging_rows_ = 0;
  std::vector<std::byte> host_send_;
  std::vector<std::int64_t> recv_bytes_;
  std::vector<loader::Chunk> chunks_;
};

}  // namespace gas::dist
