#pragma once
/// @brief `cuda::PinnedStore<T, Format>`: a history table in mapped pinned host memory, the store for histories
/// larger than the GPU. Two gathers of a layer's halo rows:
/// - zero-copy: a kernel on the pull stream reads the rows in place over the bus (no CPU work, no staging copy);
/// - host threads: a host function in stream order gathers the rows with the CPU's threads into pinned staging,
///   then one host-to-device copy (PyGAS's design, without its host waits).
/// Pushes are device-to-host copies per chunk straight into the table. `Format = history::half::bf16` keeps the
/// table in bf16: the zero-copy kernel decodes as it reads (half the bytes cross the bus) and pushes are encoded
/// on the device before they cross; both round exactly as HalfStore<bf16> does, so the two agree bit for bit.

#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/history/device_history.hpp"
#include "gas/cuda/kernels/gather.cuh"
#include "gas/cuda/kernels/history.cuh"
#include "gas/cuda/pinned_matrix.hpp"
#include "gas/cuda/space.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/half_store.hpp"
#include "gas/history/host_store.hpp"

namespace gas::cuda {

/// @brief How a PinnedStore gathers a halo: a kernel reading mapped memory, or CPU threads plus one copy.
enum class PinnedGather { zero_copy, host_threads };

/// @brief "zero-copy" or "host-threads".
inline const char* to_string(PinnedGather g) { return g == PinnedGather::zero_copy ? "zero-copy" : "host-threads"; }

/// @brief A (num_nodes, width) history in mapped pinned host memory; see the file comment.
/// @tparam T the compute type (float or double); @tparam Format T itself (dense) or history::half::bf16 (T = float).
template <class T, class Format = T>
class PinnedStore {
  static constexpr bool dense = std::is_same_v<Format, T>;
  static_assert(dense || (std::is_same_v<Format, history::half::bf16> && std::is_same_v<T, float>),
                "gas::cuda::PinnedStore keeps T itself or bf16 (with T = float)");
  using E = std::conditional_t<dense, T, std::uint16_t>;  // what the table holds

public:
  using value_type = T;
  static constexpr bool needs_staging = true;

  /// @brief A (num_nodes, width) table with every value `value`, gathered as `gather` says. Throws cuda_error
  /// without a GPU.
  PinnedStore(std::int64_t num_nodes, std::int64_t width, PinnedGather gather = PinnedGather::zero_copy,
              T value = T{0})
      : gather_(gather) {
    history::detail::check_table_shape(name(), num_nodes, width);
    table_ = PinnedMatrix<E>(num_nodes, width, /*mapped=*/true);
    fill(value);
  }

  [[nodiscard]] static std::string name() {
    if constexpr (dense) return std::string("gas::cuda::PinnedStore<") + history::detail::dtype_name<T>() + ">";
    else return "gas::cuda::PinnedStore<float, bf16>";
  }
  [[nodiscard]] std::int64_t num_nodes() const { return table_.rows(); }
  [[nodiscard]] std::int64_t width() const { return table_.cols(); }
  [[nodiscard]] std::size_t bytes() const { return static_cast<std::size_t>(table_.rows() * table_.cols()) * sizeof(E); }
  [[nodiscard]] PinnedGather gather() const { return gather_; }
  /// @brief Switches the gather (benchmarks compare both on one table); drains first.
  void set_gather(PinnedGather g) {
    drain();
    gather_ = g;
  }

  // Host access: drain, then plain host loops over the pinned table.
  void pull(std::span<const node_id> ids, MatrixView<T> out) {
    history::detail::check_rows_call(&name, "pull", "out", ids, out.rows(), out.cols(), num_nodes(), width());
    drain();
    gather_host(ids.data(), static_cast<std::int64_t>(ids.size()), out);
  }
  void push(std::span<const node_id> ids, MatrixView<const T> rows) {
    history::detail::check_rows_call(&name, "push", "rows", ids, rows.rows(), rows.cols(), num_nodes(), width());
    drain();
    for (std::size_t i = 0; i < ids.size(); ++i) write_row(ids[i], &rows(static_cast<std::int64_t>(i), 0));
  }
  void pull_chunk(node_id offset, MatrixView<T> out) {
    history::detail::check_chunk_call(&name, "pull_chunk", "out", offset, out.rows(), out.cols(), num_nodes(), width());
    drain();
    for (std::int64_t r = 0; r < out.rows(); ++r) read_row(static_cast<node_id>(offset + r), &out(r, 0));
  }
  void push_chunk(node_id offset, MatrixView<const T> rows) {
    history::detail::check_chunk_call(&name, "push_chunk", "rows", offset, rows.rows(), rows.cols(), num_nodes(), width());
    drain();
    for (std::int64_t r = 0; r < rows.rows(); ++r) write_row(static_cast<node_id>(offset + r), &rows(r, 0));
  }
  void fill(T value) {
    drain();
    const E e = encode(value);
    E* p = table_.data();
    const std::int64_t n = table_.rows() * table_.cols();
#pragma omp parallel for schedule(static) if (n > (std::int64_t{1} << 20))
    for (std::int64_t k = 0; k < n; ++k) p[k] = e;
  }

  // Queued access, for the pipeline.
  void queue_pull(const PullJob<T>& job, QueueContext ctx, cudaStream_t stream) {
    const std::int64_t w = width();
    if (gather_ == PinnedGather::zero_copy) {
      // The kernel reads the mapped table through its device-side address: only the gathered rows cross the bus.
      const E* mapped = table_.device_view().data();
      if constexpr (dense) gather_rows(mapped, num_nodes(), w, job.device_ids, job.count, job.out.data(), false, stream);
      else gather_bf16_rows(mapped, w, job.device_ids, job.count, job.out.data(), stream);
      ctx.stats->bytes_h2d += job.count * w * static_cast<std::int64_t>(sizeof(E));
    } else {
      queue_host_gather(job, ctx, stream, this, [](HostCall& c) {
        auto& self = *static_cast<PinnedStore*>(c.target);
        self.gather_host(c.ids, c.count, MatrixView<T>(static_cast<T*>(c.rows), c.count, self.width()));
      });
    }
    events_.read_on(stream);
  }
  void queue_push(const PushJob<T>& job, QueueContext ctx, cudaStream_t stream) {
    const std::int64_t w = width();
    DeviceView<const E> rows;
    if constexpr (dense) {
      rows = job.rows;
    } else {  // encode on the device: half the bytes cross, and the bits are those the host encoder would give
      encode_bf16(job.rows.data(), job.count * w, encoded_.data(), stream);
      rows = DeviceView<const E>(encoded_.data(), job.count, w);
    }
    std::int64_t begin = 0;
    for (const auto& chunk : job.chunks) {
      copy_async(rows.slice_rows(begin, begin + chunk.count),
                 PinnedView<E>(table_.data() + std::int64_t{chunk.offset} * w, chunk.count, w), stream);
      begin += chunk.count;
    }
    ctx.stats->bytes_d2h += job.count * w * static_cast<std::int64_t>(sizeof(E));
    events_.written_on(stream);
  }
  /// @brief bf16 tables: device scratch for encoding pushes of up to `rows` rows.
  void reserve(std::int64_t rows, QueueContext ctx) {
    if constexpr (!dense) {
      const auto need = static_cast<std::size_t>(rows * width());
      if (need > encoded_.size()) {
        encoded_ = DeviceBuffer<std::uint16_t>(need);
        ++ctx.stats->device_allocs;
      }
    }
  }
  void drain() { events_.drain(); }
  StoreEvents& events() { return events_; }

private:
  static E encode(T v) {
    if constexpr (dense) return v;
    else return history::half::bf16::encode(v);
  }
  static T decode(E e) {
    if constexpr (dense) return e;
    else return history::half::bf16::decode(e);
  }
  void read_row(node_id id, T* out) const {
    const E* src = table_.data() + std::int64_t{id} * width();
    for (std::int64_t j = 0; j < width(); ++j) out[j] = decode(src[j]);
  }
  void write_row(node_id id, const T* in) {
    E* dst = table_.data() + std::int64_t{id} * width();
    for (std::int64_t j = 0; j < width(); ++j) dst[j] = encode(in[j]);
  }
  /// out row i = table row ids[i], with the CPU's threads (the host gather, inside or outside a host function).
  void gather_host(const node_id* ids, std::int64_t n, MatrixView<T> out) const {
#pragma omp parallel for schedule(static) if (n * width() > (std::int64_t{1} << 16))
    for (std::int64_t i = 0; i < n; ++i) read_row(ids[i], &out(i, 0));
  }

  PinnedMatrix<E> table_;                // (num_nodes, width), mapped
  PinnedGather gather_ = PinnedGather::zero_copy;
  DeviceBuffer<std::uint16_t> encoded_;  // bf16: a push's rows, encoded on the device
  StoreEvents events_;
};

}  // namespace gas::cuda
