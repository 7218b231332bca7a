#pragma once
/// @brief `cuda::DeviceStore<T>`: a history table resident in device memory. Pulls are gather kernels and pushes
/// device-to-device copies, queued on the pipeline's copy streams; nothing crosses the bus. The fastest store when
/// the tables fit the GPU (num_nodes x hidden x (layers - 1) x sizeof(T) bytes), which GAS's large graphs often do
/// not: then the pinned store (pinned_store.cuh) keeps them in host memory.

#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/history/device_history.hpp"
#include "gas/cuda/kernels/gather.cuh"
#include "gas/cuda/space.hpp"
#include "gas/history/concept.hpp"

namespace gas::cuda {

/// @brief A (num_nodes, width) history in device memory; see the file comment. Host access (the HistoryStore
/// calls: tests, checkpoints, the synchronous path) waits for the store's queued copies first and is synchronous.
template <class T>
class DeviceStore {
public:
  using value_type = T;
  static constexpr bool needs_staging = false;

  /// @brief A (num_nodes, width) table with every value `value`. Throws cuda_error without a GPU.
  DeviceStore(std::int64_t num_nodes, std::int64_t width, T value = T{0}) : num_nodes_(num_nodes), width_(width) {
    history::detail::check_table_shape(name(), num_nodes, width);
    table_ = DeviceBuffer<T>(static_cast<std::size_t>(num_nodes * width));
    fill(value);
  }

  [[nodiscard]] static std::string name() {
    return std::string("gas::cuda::DeviceStore<") + history::detail::dtype_name<T>() + ">";
  }
  [[nodiscard]] std::int64_t num_nodes() const { return num_nodes_; }
  [[nodiscard]] std::int64_t width() const { return width_; }
  [[nodiscard]] std::size_t bytes() const { return table_.bytes(); }
  /// @brief The table in device memory (for kernels; wait with drain() before reading it elsewhere).
  [[nodiscard]] DeviceView<const T> table() const { return {table_.data(), num_nodes_, width_}; }

  // Host access: every call drains first (rule 8), then copies synchronously.
  void pull(std::span<const node_id> ids, MatrixView<T> out) {
    history::detail::check_rows_call(&name, "pull", "out", ids, out.rows(), out.cols(), num_nodes_, width_);
    drain();
    // One gather on the device and one copy out (the synchronous path pulls whole halos this way).
    const auto n = static_cast<std::int64_t>(ids.size());
    if (n == 0 || width_ == 0) return;
    DeviceBuffer<node_id> d_ids(ids.size());
    DeviceBuffer<T> rows(static_cast<std::size_t>(n * width_));
    GAS_CUDA_CHECK(cudaMemcpy(d_ids.data(), ids.data(), ids.size() * sizeof(node_id), cudaMemcpyHostToDevice));
    gather_rows(table_.data(), num_nodes_, width_, d_ids.data(), n, rows.data(), false, nullptr);
    copy2d(out.data(), out.ld(), rows.data(), width_, n, cudaMemcpyDeviceToHost);
  }
  void push(std::span<const node_id> ids, MatrixView<const T> rows) {
    history::detail::check_rows_call(&name, "push", "rows", ids, rows.rows(), rows.cols(), num_nodes_, width_);
    drain();
    for (std::size_t i = 0; i < ids.size(); ++i) copy_row_in(ids[i], &rows(static_cast<std::int64_t>(i), 0));
  }
  void pull_chunk(node_id offset, MatrixView<T> out) {
    history::detail::check_chunk_call(&name, "pull_chunk", "out", offset, out.rows(), out.cols(), num_nodes_, width_);
    drain();
    copy2d(out.data(), out.ld(), table_.data() + std::int64_t{offset} * width_, width_, out.rows(), cudaMemcpyDeviceToHost);
  }
  void push_chunk(node_id offset, MatrixView<const T> rows) {
    history::detail::check_chunk_call(&name, "push_chunk", "rows", offset, rows.rows(), rows.cols(), num_nodes_, width_);
    drain();
    copy2d(table_.data() + std::int64_t{offset} * width_, width_, rows.data(), rows.ld(), rows.rows(), cudaMemcpyHostToDevice);
  }
  void fill(T value) {
    drain();
    if (table_.empty()) return;
    if (value == T{0}) {
      GAS_CUDA_CHECK(cudaMemset(table_.data(), 0, table_.bytes()));
      return;
    }
    const std::vector<T> row(static_cast<std::size_t>(width_), value);
    for (std::int64_t r = 0; r < num_nodes_; ++r) copy_row_in(static_cast<node_id>(r), row.data());
  }

  // Queued access, for the pipeline.
  /// @brief Queues out row i = table row ids[i] (a gather kernel over device ids) on `stream`.
  void queue_pull(const PullJob<T>& job, QueueContext ctx, cudaStream_t stream) {
    gather_rows(table_.data(), num_nodes_, width_, job.device_ids, job.count, job.out.data(), false, stream);
    ctx.stats->bytes_d2d += job.count * width_ * static_cast<std::int64_t>(sizeof(T));
    events_.read_on(stream);
  }
  /// @brief Queues one device-to-device copy per chunk on `stream`.
  void queue_push(const PushJob<T>& job, QueueContext ctx, cudaStream_t stream) {
    std::int64_t begin = 0;
    for (const auto& chunk : job.chunks) {
      copy_async(job.rows.slice_rows(begin, begin + chunk.count), rows_of(chunk.offset, chunk.count), stream);
      begin += chunk.count;
    }
    ctx.stats->bytes_d2d += job.count * width_ * static_cast<std::int64_t>(sizeof(T));
    events_.written_on(stream);
  }
  /// @brief Nothing to prepare: pulls and pushes need no scratch.
  void reserve(std::int64_t, QueueContext) {}
  /// @brief Waits for the queued pulls and pushes (what every host access does first).
  void drain() { events_.drain(); }
  /// @brief The store's completion events (the pipeline orders pulls after pushes with them).
  StoreEvents& events() { return events_; }

private:
  DeviceView<T> rows_of(std::int64_t offset, std::int64_t count) {
    return {table_.data() + offset * width_, count, width_};
  }
  void copy_row_in(node_id id, const T* host_row) {
    GAS_CUDA_CHECK(cudaMemcpy(table_.data() + std::int64_t{id} * width_, host_row, row_bytes(), cudaMemcpyHostToDevice));
  }
  [[nodiscard]] std::size_t row_bytes() const { return static_cast<std::size_t>(width_) * sizeof(T); }
  void copy2d(T* dst, std::int64_t dld, const T* src, std::int64_t sld, std::int64_t rows, cudaMemcpyKind kind) const {
    if (rows == 0 || width_ == 0) return;
    GAS_CUDA_CHECK(cudaMemcpy2D(dst, static_cast<std::size_t>(dld) * sizeof(T), src, static_cast<std::size_t>(sld) * sizeof(T),
                                row_bytes(), static_cast<std::size_t>(rows), kind));
  }

  std::int64_t num_nodes_ = 0, width_ = 0;
  DeviceBuffer<T> table_;  // (num_nodes, width) row-major
  StoreEvents events_;
};

}  // namespace gas::cuda
