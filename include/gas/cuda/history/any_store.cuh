#pragma once
/// @brief `cuda::AnyStore`: one GPU history store type whose kind is chosen at run time (pinned with zero-copy or
/// host-thread gathers, pinned bf16, device, staged dense host memory, staged memory-mapped file), so that a program
/// offering every store (gas-train-cuda --history-store, bench_cuda_pipeline) compiles each model once instead of
/// once per store. The dispatch is one std::visit per queued pull or push, nothing per row.

#include <cuda_runtime.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "gas/core/check.hpp"
#include "gas/core/error.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/history/device_history.hpp"
#include "gas/cuda/history/device_store.cuh"
#include "gas/cuda/history/pinned_store.cuh"
#include "gas/cuda/history/staged_store.cuh"
#include "gas/history/half_store.hpp"
#include "gas/history/host_store.hpp"
#include "gas/history/mapped_store.hpp"

namespace gas::cuda {

/// @brief The kinds of AnyStore, named as gas-train-cuda's --history-store takes them.
enum class StoreKind { pinned, zero_copy, bf16, device, host, mapped };

/// @brief "pinned", "zero-copy", "bf16", "device", "host" or "mapped".
inline const char* to_string(StoreKind k) {
  switch (k) {
    case StoreKind::pinned: return "pinned";
    case StoreKind::zero_copy: return "zero-copy";
    case StoreKind::bf16: return "bf16";
    case StoreKind::device: return "device";
    case StoreKind::host: return "host";
    case StoreKind::mapped: return "mapped";
  }
  return "?";
}

/// @brief The kind named `name`; config_error listing the names otherwise.
inline StoreKind store_kind_from(std::string_view name) {
  for (const auto k : {StoreKind::pinned, StoreKind::zero_copy, StoreKind::bf16, StoreKind::device, StoreKind::host,
                       StoreKind::mapped})
    if (name == to_string(k)) return k;
  throw config_error("unknown history store '" + std::string(name) +
                     "': expected pinned, zero-copy, bf16, device, host or mapped");
}

/// @brief A float history of a run-time kind; see the file comment. `mapped` keeps its table in a file under
/// `dir` (created if missing, named history_<layer>.gas).
class AnyStore {
public:
  using value_type = float;
  static constexpr bool needs_staging = true;

  /// @brief A (num_nodes, width) table of kind `kind`, zero-filled. `layer` names a mapped store's file.
  AnyStore(StoreKind kind, std::int64_t num_nodes, std::int64_t width, std::int32_t layer = 0,
           const std::filesystem::path& dir = std::filesystem::temp_directory_path())
      : kind_(kind), store_(make(kind, num_nodes, width, layer, dir)) {}

  [[nodiscard]] StoreKind kind() const { return kind_; }
  [[nodiscard]] std::string name() const {
    return std::visit([](const auto& s) { return s.name(); }, store_);
  }
  [[nodiscard]] std::int64_t num_nodes() const {
    return std::visit([](const auto& s) { return s.num_nodes(); }, store_);
  }
  [[nodiscard]] std::int64_t width() const {
    return std::visit([](const auto& s) { return s.width(); }, store_);
  }
  void pull(std::span<const node_id> ids, MatrixView<float> out) {
    std::visit([&](auto& s) { s.pull(ids, out); }, store_);
  }
  void push(std::span<const node_id> ids, MatrixView<const float> rows) {
    std::visit([&](auto& s) { s.push(ids, rows); }, store_);
  }
  void pull_chunk(node_id offset, MatrixView<float> out) {
    std::visit([&](auto& s) { s.pull_chunk(offset, out); }, store_);
  }
  void push_chunk(node_id offset, MatrixView<const float> rows) {
    std::visit([&](auto& s) { s.push_chunk(offset, rows); }, store_);
  }
  void fill(float value) {
    std::visit([&](auto& s) { s.fill(value); }, store_);
  }
  void queue_pull(const PullJob<float>& job, QueueContext ctx, cudaStream_t stream) {
    std::visit([&](auto& s) { s.queue_pull(job, ctx, stream); }, store_);
  }
  void queue_push(const PushJob<float>& job, QueueContext ctx, cudaStream_t stream) {
    std::visit([&](auto& s) { s.queue_push(job, ctx, stream); }, store_);
  }
  void reserve(std::int64_t rows, QueueContext ctx) {
    std::visit([&](auto& s) { s.reserve(rows, ctx); }, store_);
  }
  void drain() {
    std::visit([](auto& s) { s.drain(); }, store_);
  }
  StoreEvents& events() {
    return std::visit([](auto& s) -> StoreEvents& { return s.events(); }, store_);
  }

private:
  using Mapped = history::MappedStore<float>;
  using Variant = std::variant<PinnedStore<float>, PinnedStore<float, history::half::bf16>, DeviceStore<float>,
                               Staged<history::HostStore<float>>, Staged<Mapped>>;

  static Variant make(StoreKind kind, std::int64_t n, std::int64_t w, std::int32_t layer,
                      const std::filesystem::path& dir) {
    switch (kind) {
      case StoreKind::pinned: return PinnedStore<float>(n, w, PinnedGather::host_threads);
      case StoreKind::zero_copy: return PinnedStore<float>(n, w, PinnedGather::zero_copy);
      case StoreKind::bf16: return PinnedStore<float, history::half::bf16>(n, w, PinnedGather::zero_copy);
      case StoreKind::device: return DeviceStore<float>(n, w);
      case StoreKind::host: return Staged<history::HostStore<float>>(n, w);
      case StoreKind::mapped: {
        std::filesystem::create_directories(dir);
        return Staged<Mapped>(Mapped(dir / ("history_" + std::to_string(layer) + ".gas"), n, w,
                                     history::Mode::overwrite));
      }
    }
    throw config_error("unknown history store kind");
  }

  StoreKind kind_;
  Variant store_;
};

}  // namespace gas::cuda
