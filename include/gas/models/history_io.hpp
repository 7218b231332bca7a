#pragma once
/// @brief How a model's driver moves its inputs and histories, and the synchronous way to do it: `HistoryIO`
/// (sync or overlapped), `SyncIO` (what every host model and every device model with a plain host store uses, and
/// the bit-for-bit oracle of the overlapped GPU pipeline), the selector `HistoryIOFor`, and the helpers both
/// share (feature gathers, a batch's adjacency on the backend, row pushes and output writes).
///
/// ScalableGNN calls an IO object at five points: begin_forward (a batch's features and adjacency on the
/// backend), push_and_pull (per hidden layer), layer_input / push_layer / write_output (layer-wise inference), and
/// stage / end_step / drain, which only a pipeline uses. The device pipeline (gas/cuda/models/history_io.cuh)
/// specializes HistoryIOFor for the GPU stores (cuda::DeviceHistory).

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <variant>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/graph/features.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"
#include "gas/history/push_and_pull.hpp"
#include "gas/loader/batch.hpp"
#include "gas/loader/bounds.hpp"
#include "gas/ops/gather.hpp"

namespace gas::models {

/// @brief How histories and batch inputs move on the GPU: `sync` (every copy waits; the oracle) or `overlapped`
/// (copy streams, events and rings; gas/cuda/models/history_io.cuh). On the host both are the same.
enum class HistoryIO { sync, overlapped };

/// @brief "sync" or "overlapped".
inline const char* to_string(HistoryIO io) { return io == HistoryIO::sync ? "sync" : "overlapped"; }

/// @brief Feature rows ids[i] of `features` as a constant (ids.size(), features.cols()) of `tape`, converted to T.
/// Sparse features stay sparse on the host (a sparse value: Tape::push_sparse, nnz of the rows); dense ones of type T
/// are not copied on the host (Tape::push_rows: read in place, so `features` and `ids` must outlive the tape's
/// next reset, as a batch does); the device gathers them densely (its ops take dense values). Throws value_error
/// naming the first id outside [0, features.rows()).
template <class T, class Backend, class F>
  requires std::floating_point<F>
autograd::Var<T, Backend> gather_features(autograd::Tape<T, Backend>& tape, FeatureView<F> features,
                                          std::span<const node_id> ids) {
  const auto bad = ops::detail::first_out_of_range(ids, features.rows());
  GAS_CHECK(bad == ids.size(), value_error,
            "id " << (bad < ids.size() ? ids[bad] : 0) << " at position " << bad << " outside [0, "
                  << features.rows() << "), the rows of the features (" << features.rows() << " x "
                  << features.cols() << ")");
  const auto n = static_cast<std::int64_t>(ids.size());
  const std::int64_t cols = features.cols();
  if constexpr (on_host<Backend>) {
    if (features.is_sparse()) {
      const auto x = features.sparse();
      std::int64_t nnz = 0;
      for (const auto v : ids) nnz += x.indptr[v + 1] - x.indptr[v];
      auto [id, node] = tape.push_sparse("features", n, cols, nnz);
      std::int64_t* ptr = node.aux_index.data();
      ptr[0] = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const auto v = ids[static_cast<std::size_t>(i)];
        ptr[i + 1] = ptr[i] + (x.indptr[v + 1] - x.indptr[v]);
      }
      // Plain pointers: OpenMP regions may not capture structured bindings (clang refuses them).
      auto* const out_ids = node.aux_ids.data();
      auto* const out_values = node.aux.data();
#pragma omp parallel for schedule(static) if (nnz > (std::int64_t{1} << 16))
      for (std::int64_t i = 0; i < n; ++i) {
        const auto v = ids[static_cast<std::size_t>(i)];
        for (std::int64_t k = x.indptr[v], at = ptr[i]; k < x.indptr[v + 1]; ++k, ++at) {
          out_ids[at] = x.indices[k];
          out_values[at] = static_cast<T>(x.values[k]);
        }
      }
      return {&tape, id};
    }
    // Dense features of the compute type are not copied at all: the rows are read where they lie (spmm reads a
    // batch's rows in place, any other op gets them copied on first use; a full-graph batch is a view).
    if constexpr (std::same_as<F, T>) return tape.push_rows("features", features.dense(), ids);
  }
  auto [id, node] = tape.push("features", n, cols);  // (ids.size(), cols)
  // On the device the rows are gathered on the host, where the features live, into the node's staging tensor (its
  // memory reused step after step), and copied over in one transfer.
  if constexpr (!on_host<Backend>) node.host_stage.resize(n, cols);
  const MatrixView<T> out = on_host<Backend> ? node.value : node.host_stage.view();
  if (cols > 0) {
    // The rows are scattered over the table: each would wait a full memory latency, so rows a few ahead are
    // prefetched, as the history stores' gathers do (dense features; a sparse row is a few entries).
    const bool prefetch = !features.is_sparse();
    const F* base = prefetch ? features.dense().data() : nullptr;
    const std::int64_t ld = prefetch ? features.dense().ld() : 0;
    const auto bytes = static_cast<std::size_t>(cols) * sizeof(F);
    constexpr std::int64_t ahead = history::detail::prefetch_distance;
#pragma omp parallel for schedule(static) if (n * cols > (std::int64_t{1} << 16))
    for (std::int64_t i = 0; i < n; ++i) {
      if (prefetch && i + ahead < n)
        history::detail::prefetch_row<false>(base + std::int64_t{ids[static_cast<std::size_t>(i + ahead)]} * ld, bytes);
      features.copy_row(ids[static_cast<std::size_t>(i)], &out(i, 0));
    }
  }
  if constexpr (!on_host<Backend>) tape.exec().upload(MatrixView<const T>(out), node.value);
  return {&tape, id};
}

/// @brief gather_features of any feature source (a MatrixView, a Tensor, SparseRows, a Dataset's Features).
template <class T, class Backend, FeatureSource X>
autograd::Var<T, Backend> gather_features(autograd::Tape<T, Backend>& tape, const X& features,
                                          std::span<const node_id> ids) {
  return gather_features(tape, as_feature_view(features), ids);
}

namespace detail {

/// @brief A host graph in the backend's form: the graph itself on the host; on the device a copy (with its
/// transpose, for the backward passes) kept until the next call replaces it, so that it outlives the backward pass
/// of the step that asked for it (a batch's adjacency, the whole graph of full-batch training).
template <class Backend>
class BackendGraph {
public:
  template <class T>
  const GraphOf<Backend>& operator()(autograd::Tape<T, Backend>& tape, const Graph& graph) {
    if constexpr (on_host<Backend>) {
      (void)tape;
      return graph;
    } else {
      return device_.emplace(graph, tape.exec().stream());
    }
  }

private:
  std::conditional_t<on_host<Backend>, std::monostate, std::optional<GraphOf<Backend>>> device_{};
};

/// @brief history::push_batch of rows of a tape of any backend (a device tape's rows are copied out first).
template <class T, class Backend, history::HistoryStore S>
void push_rows(S& store, autograd::Tape<T, Backend>& tape, MatrixView<const T> rows, const loader::Batch& batch) {
  if constexpr (on_host<Backend>) {
    (void)tape;
    history::push_batch(store, rows, batch);
  } else {
    history::push_batch(store, MatrixView<const T>(tape.to_host(rows).view()), batch);
  }
}

/// @brief Copies a batch's output rows (batch order, on the tape's backend) into the host table `out` (num_nodes
/// rows) chunk by chunk, after checking that the chunks lie in [0, out.rows()) and cover the batch. On the device
/// the rows are downloaded first (a wait: the synchronous path).
template <class T, class Backend>
void write_rows(autograd::Tape<T, Backend>& tape, MatrixView<const T> rows, const loader::Batch& batch,
                Tensor<T, host>& out) {
  const std::int64_t n = out.rows();
  std::int64_t covered = 0;
  for (const auto& chunk : batch.chunks) {
    GAS_CHECK(chunk.count >= 0 && chunk.offset >= 0 && chunk.offset + chunk.count <= n, value_error,
              "chunk [" << chunk.offset << ", " << chunk.offset + chunk.count << ") outside [0, " << n << ")");
    covered += chunk.count;
  }
  GAS_CHECK(covered == batch.batch_size, value_error,
            "the batch's chunks cover " << covered << " rows but batch_size = " << batch.batch_size);
  Tensor<T, host> staged;
  MatrixView<const T> host_rows = rows;
  if constexpr (!on_host<Backend>) {
    staged = tape.to_host(rows);
    host_rows = staged.view();
  }
  std::int64_t begin = 0;
  for (const auto& chunk : batch.chunks) {
    history::detail::copy_rows<T>(&out(chunk.offset, 0), out.cols(), &host_rows(begin, 0), host_rows.ld(), chunk.count,
                                  out.cols());
    begin += chunk.count;
  }
}

}  // namespace detail

/// @brief The synchronous IO: features gathered on the host and copied over, the batch adjacency copied per
/// batch, history rows pushed and pulled through the store's host calls (history::push_and_pull). On a device
/// tape each of these waits for the GPU: the baseline the overlapped pipeline is measured and tested against.
template <class T, class Backend, class Store>
class SyncIO {
public:
  using var = autograd::Var<T, Backend>;
  using tape_type = autograd::Tape<T, Backend>;

  /// @brief A batch's first inputs on the backend: x (n_id.size(), in) and the adjacency.
  struct Inputs {
    var x;
    const GraphOf<Backend>* adj;
  };

  /// @brief Always sync; asking for overlapped throws config_error (it needs a device model with a device store).
  [[nodiscard]] HistoryIO mode() const { return HistoryIO::sync; }
  void set_mode(HistoryIO io) {
    GAS_CHECK(io == HistoryIO::sync, config_error,
              "overlapped history I/O needs a device model (gas::cuda::device) whose histories are a GPU store "
              "(cuda::PinnedStore, cuda::DeviceStore or cuda::Staged<...>); this model uses "
                  << (on_host<Backend> ? "the host backend" : "a host store"));
  }
  /// @brief Nothing to prepare: the synchronous path sizes its buffers as it goes.
  void reserve(const loader::BatchBounds&, std::int64_t, std::span<Store>) {}
  /// @brief Nothing to prefetch.
  template <class F>
  void stage(FeatureView<F>, const loader::Batch&, std::span<Store>) {}
  void end_step(tape_type&) {}
  void drain() {}

  template <class F>
  Inputs begin_forward(tape_type& tape, FeatureView<F> features, const loader::Batch& batch, std::span<Store>) {
    var x = gather_features(tape, features, std::span<const node_id>(batch.n_id));  // (n_id.size(), in)
    return {x, &graph_(tape, batch.adj)};
  }
  var push_and_pull(tape_type&, std::int32_t l, std::span<Store> histories, var h, const loader::Batch& batch) {
    return history::push_and_pull(histories[static_cast<std::size_t>(l)], h, batch);  // (n_id.size(), width)
  }

  void begin_layerwise(std::span<const loader::Batch>) {}
  template <class F>
  Inputs layer_input(tape_type& tape, std::int32_t l, FeatureView<F> features, std::size_t k,
                     const loader::Batch& batch, std::span<Store> histories) {
    (void)k;
    const std::span<const node_id> ids(batch.n_id);
    var x = l == 0 ? gather_features(tape, features, ids)
                   : history::pull(tape, histories[static_cast<std::size_t>(l) - 1], ids);  // (n_id.size(), in_l)
    return {x, &graph_(tape, batch.adj)};
  }
  void push_layer(tape_type& tape, std::int32_t l, std::span<Store> histories, var h, const loader::Batch& batch) {
    detail::push_rows(histories[static_cast<std::size_t>(l)], tape, h.value(), batch);
  }
  void write_output(tape_type& tape, var h, const loader::Batch& batch, Tensor<T, host>& out) {
    detail::write_rows(tape, MatrixView<const T>(h.value()), batch, out);
  }
  void end_layerwise(Tensor<T, host>*) {}

  /// @brief loss * weight of a 1 x 1 loss, read now (on the device: a wait). The pipeline returns the previous
  /// step's instead and flush_loss() the last; the sums come out the same, in the same order.
  std::optional<double> queue_loss(tape_type& tape, var loss, double weight) {
    T value{};
    if constexpr (on_host<Backend>) {
      (void)tape;
      value = loss.value()(0, 0);
    } else {
      value = autograd::to_host(loss)(0, 0);
    }
    return static_cast<double>(value) * weight;
  }
  std::optional<double> flush_loss() { return std::nullopt; }

private:
  detail::BackendGraph<Backend> graph_;  // the current batch's adjacency on the backend
};

/// @brief The IO a model of (T, Backend, Store) uses: SyncIO, unless a pipeline specializes this (the device
/// pipeline does for GPU stores).
template <class T, class Backend, class Store>
struct HistoryIOFor {
  using type = SyncIO<T, Backend, Store>;
};

}  // namespace gas::models
