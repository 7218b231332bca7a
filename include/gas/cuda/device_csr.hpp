#pragma once
/// @brief `DeviceCsr`: a `gas::Graph` copied to the device, with the stable transposed index the backward
/// passes scatter through; `DeviceCsrView` is its plain-pointer form that kernels take by value.
///
/// Every column of the transpose lists its entries in row order, so gradients that flow against the edges sum in a
/// fixed order on the device too, with no atomics. A DeviceCsr made from a Graph uploads the host's stable counting
/// sort (Csr::transposed_index); the history pipeline's stages upload the CSR only and build the same index on the
/// device (cuda::build_transpose, kernels/transpose.cuh).

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/host/spmm.hpp"

namespace gas::cuda {

/// @brief Device pointers and sizes of a CSR matrix and (optionally) its transpose; trivially copyable.
struct DeviceCsrView {
  std::int64_t rows = 0;                    ///< rows of the matrix (destination nodes)
  std::int64_t cols = 0;                    ///< columns (source nodes)
  std::int64_t nnz = 0;                     ///< stored entries (edges)
  const std::int64_t* indptr = nullptr;     ///< (rows + 1)
  const node_id* indices = nullptr;         ///< (nnz): column of each entry
  const float* weights = nullptr;           ///< (nnz) or nullptr for an unweighted graph
  const std::int64_t* t_offsets = nullptr;  ///< (cols + 1): column j's entries are [t_offsets[j], t_offsets[j + 1])
  const node_id* t_rows = nullptr;          ///< (nnz): row of each transposed entry, ascending within a column
  const std::int64_t* t_edges = nullptr;    ///< (nnz): CSR position of each transposed entry

  /// @brief True when the transposed index is present (backward passes of sum, mean, max and min need it).
  [[nodiscard]] bool has_transpose() const { return nnz == 0 || t_offsets != nullptr; }
};

/// @brief A CSR matrix and its transposed index in pinned host memory (a pipeline's batch stage), the source of
/// DeviceCsr::upload_async. `weights` is null for an unweighted graph; the transposed index's arrays are null when the
/// caller builds it on the device instead (cuda::build_transpose into transpose_arrays()).
struct CsrStage {
  std::int64_t rows = 0, cols = 0, nnz = 0;
  const std::int64_t* indptr = nullptr;     // (rows + 1)
  const node_id* indices = nullptr;         // (nnz)
  const float* weights = nullptr;           // (nnz) or null
  const std::int64_t* t_offsets = nullptr;  // (cols + 1)
  const node_id* t_rows = nullptr;          // (nnz)
  const std::int64_t* t_edges = nullptr;    // (nnz)
};

/// @brief A CSR matrix owned on the device, copied from a host `Graph` on one stream.
class DeviceCsr {
public:
  /// @brief An empty 0 x 0 matrix; makes no CUDA call.
  DeviceCsr() = default;

  /// @brief Queues copies of `graph` (and, when `with_transpose`, its transposed index) on `stream`. The host
  /// graph may change once this returns: pageable sources are staged before the copy call returns. Pass the
  /// stream of the tape whose ops read it (`tape.exec().stream()`): the upload, the kernels and the final free are
  /// then ordered; on another stream the caller orders them.
  DeviceCsr(const Graph& graph, cudaStream_t stream, bool with_transpose = true)
      : rows_(graph.rows()), cols_(graph.cols()), nnz_(graph.num_edges()),
        indptr_(static_cast<std::size_t>(rows_ + 1), stream), indices_(static_cast<std::size_t>(nnz_), stream),
        weights_(graph.has_weights() ? static_cast<std::size_t>(nnz_) : 0, stream),
        host_indptr_(graph.indptr().begin(), graph.indptr().end()), has_weights_(graph.has_weights()) {
    indptr_.copy_from(graph.indptr());
    indices_.copy_from(graph.indices());
    if (graph.has_weights()) weights_.copy_from(graph.weights());
    if (with_transpose) upload_transpose(graph, stream);
  }

  /// @brief Grows the buffers to hold a (rows x cols) matrix of `nnz` entries with its transpose and (when
  /// `weights`) edge weights, so that upload_async of any batch within those bounds allocates nothing. Returns the
  /// number of device buffers it allocated.
  int reserve(std::int64_t rows, std::int64_t cols, std::int64_t nnz, bool weights, cudaStream_t stream) {
    int grown = 0;
    grown += grow(indptr_, rows + 1, stream);
    grown += grow(indices_, nnz, stream);
    if (weights) grown += grow(weights_, nnz, stream);
    grown += grow(t_offsets_, cols + 1, stream);
    grown += grow(t_rows_, nnz, stream);
    grown += grow(t_edges_, nnz, stream);
    host_indptr_.reserve(static_cast<std::size_t>(rows + 1));
    return grown;
  }

  /// @brief Becomes the matrix `stage` holds in pinned memory (CSR and transposed index), copied on `stream`; the
  /// pinned arrays must stay unchanged until the stream has passed the copies (order it with an event). Allocates
  /// only when the matrix exceeds what reserve() prepared (returns the number of buffers allocated).
  int upload_async(const CsrStage& stage, cudaStream_t stream) {
    const int grown = reserve(stage.rows, stage.cols, stage.nnz, stage.weights != nullptr, stream);
    rows_ = stage.rows;
    cols_ = stage.cols;
    nnz_ = stage.nnz;
    has_weights_ = stage.weights != nullptr;
    has_transpose_ = true;
    put(indptr_.data(), stage.indptr, rows_ + 1, stream);
    put(indices_.data(), stage.indices, nnz_, stream);
    if (has_weights_) put(weights_.data(), stage.weights, nnz_, stream);
    if (stage.t_offsets != nullptr) {
      put(t_offsets_.data(), stage.t_offsets, cols_ + 1, stream);
      put(t_rows_.data(), stage.t_rows, nnz_, stream);
      put(t_edges_.data(), stage.t_edges, nnz_, stream);
    }
    host_indptr_.assign(stage.indptr, stage.indptr + rows_ + 1);  // within the reserved capacity
    return grown;
  }

  /// @brief The transposed index's device arrays (capacity as reserved), for a caller that builds the index on the
  /// device after an upload_async whose stage carried none; it must do so on the upload's stream, before any reader.
  struct TransposeArrays {
    std::int64_t* offsets;
    node_id* rows;
    std::int64_t* edges;
  };
  [[nodiscard]] TransposeArrays transpose_arrays() { return {t_offsets_.data(), t_rows_.data(), t_edges_.data()}; }

  /// @brief The plain-pointer form for launchers.
  [[nodiscard]] DeviceCsrView view() const {
    DeviceCsrView v;
    v.rows = rows_;
    v.cols = cols_;
    v.nnz = nnz_;
    v.indptr = indptr_.data();
    v.indices = indices_.data();
    v.weights = has_weights_ ? weights_.data() : nullptr;
    if (has_transpose_) {
      v.t_offsets = t_offsets_.data();
      v.t_rows = t_rows_.data();
      v.t_edges = t_edges_.data();
    }
    return v;
  }

  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] std::int64_t num_edges() const { return nnz_; }
  /// @brief True when the graph carries edge weights (a sum aggregation then scales by them), as Graph::has_weights.
  [[nodiscard]] bool has_weights() const { return has_weights_; }
  /// @brief True when the transposed index was uploaded, which every backward pass against the edges needs.
  [[nodiscard]] bool has_transpose() const { return has_transpose_ || nnz_ == 0; }
  /// @brief Number of stored entries in row i, read from a host copy of the row offsets (layers compute per-row
  /// factors such as PNA's degree scalers on the host, as with a Graph); unchecked, as Graph::degree.
  [[nodiscard]] std::int64_t degree(node_id i) const {
    return host_indptr_[static_cast<std::size_t>(i) + 1] - host_indptr_[static_cast<std::size_t>(i)];
  }

private:
  template <class E>
  static int grow(DeviceBuffer<E>& buffer, std::int64_t count, cudaStream_t stream) {
    if (static_cast<std::size_t>(count) <= buffer.size()) return 0;
    buffer = DeviceBuffer<E>(static_cast<std::size_t>(count), stream);
    return 1;
  }
  template <class E>
  static void put(E* device, const E* pinned, std::int64_t count, cudaStream_t stream) {
    if (count > 0)
      GAS_CUDA_CHECK(cudaMemcpyAsync(device, pinned, static_cast<std::size_t>(count) * sizeof(E), cudaMemcpyHostToDevice,
                                     stream));
  }

  void upload_transpose(const Graph& graph, cudaStream_t stream) {
    const auto t = graph.transposed_index();  // built once per graph (Csr's cache), rows as node_id
    t_offsets_ = DeviceBuffer<std::int64_t>(static_cast<std::size_t>(cols_ + 1), stream);
    t_rows_ = DeviceBuffer<node_id>(static_cast<std::size_t>(nnz_), stream);
    t_edges_ = DeviceBuffer<std::int64_t>(static_cast<std::size_t>(nnz_), stream);
    t_offsets_.copy_from({t->offsets.data(), static_cast<std::size_t>(cols_ + 1)});
    t_rows_.copy_from({t->rows.data(), static_cast<std::size_t>(nnz_)});
    t_edges_.copy_from({t->edges.data(), static_cast<std::size_t>(nnz_)});
    // Pageable copies are staged before cudaMemcpyAsync returns, so the index may be released now.
    has_transpose_ = true;
  }

  std::int64_t rows_ = 0, cols_ = 0, nnz_ = 0;
  DeviceBuffer<std::int64_t> indptr_;
  DeviceBuffer<node_id> indices_;
  DeviceBuffer<float> weights_;
  DeviceBuffer<std::int64_t> t_offsets_;
  DeviceBuffer<node_id> t_rows_;
  DeviceBuffer<std::int64_t> t_edges_;
  std::vector<std::int64_t> host_indptr_{0};  // (rows + 1) on the host, for degree()
  bool has_weights_ = false;
  bool has_transpose_ = false;
};

}  // namespace gas::cuda

namespace gas {
/// @brief The device backend's ops aggregate over a `cuda::DeviceCsr` (built with its transpose for backward).
template <>
struct backend_graph<cuda::device> {
  using type = cuda::DeviceCsr;
};
}  // namespace gas
