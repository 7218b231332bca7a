#pragma once
/// @brief `cuda::PipelineIO<T, Store>`: the overlapped history pipeline of a device model whose histories are a GPU
/// store (cuda::DeviceHistory: PinnedStore, DeviceStore, Staged<S>), as ../PIPELINE.md designs it. It replaces the
/// synchronous SyncIO (models/history_io.hpp), which stays selectable (HistoryIO::sync) as the bit-for-bit oracle.
///
/// Streams: the tape's compute stream and two copy streams (host-to-device: stage uploads and pulls; device-to-host:
/// pushes and inference output), created non-blocking at the device's highest priority so that transfers that
/// gate compute are scheduled first. Rings of depth options().ring (2 by default): batch stages (pinned host arrays
/// and their device copies), per-layer pull slots and push buffers, each with the events that order them. A step
/// queues every layer's halo pull before the forward pass, pushes from a pipeline-owned copy of each layer's rows,
/// and never waits on the host; the next batch is staged (gathered into pinned memory on the host, uploaded on the
/// copy stream) while the GPU computes the current one, and the loss is read one step late.
///
/// The eight ordering rules, each enforced by an event (options().drop_rule drops one, for the tests only):
/// 1. a pull of history l waits for every push into it queued before (the reference's staleness exactly);
/// 2. a push reads a pipeline-owned copy of h, made on the compute stream after h;
/// 3. compute reads a pull slot only after the pull into it;
/// 4. a pull slot or push buffer is rewritten only after its last reader (a pinned stage only after its batch);
/// 5. a batch's stage is uploaded before layer 0 reads it, and recycled only after the step's optimizer;
/// 6. pushes stay in order: one device-to-host stream, host-store pushes in its FIFO;
/// 7. in layer-wise inference, pass l's pulls wait for pass l-1's pushes into the history they read;
/// 8. any host access to a store waits for its queued copies (the stores' own StoreEvents).

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/device_csr.hpp"
#include "gas/cuda/event.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/history/device_history.hpp"
#include "gas/cuda/history/push_and_pull.cuh"
#include "gas/cuda/kernels/transpose.cuh"
#include "gas/cuda/pinned_matrix.hpp"
#include "gas/cuda/space.hpp"
#include "gas/cuda/stream.hpp"
#include "gas/history/push_and_pull.hpp"
#include "gas/loader/batch.hpp"
#include "gas/loader/bounds.hpp"
#include "gas/models/history_io.hpp"
#include "gas/ops/host/spmm.hpp"
#include "gas/ops/impl.hpp"

namespace gas::cuda {

/// @brief Settings of a PipelineIO.
struct PipelineOptions {
  int ring = 2;               ///< depth of every ring (stages, pull slots, push buffers); >= 1
  int drop_rule = 0;          ///< test-only: 1..8 drops that ordering rule (see the file comment); 0 keeps all
  bool timing = false;        ///< bracket every copy-stream job with timing events (busy time, timeline)
  bool skip_histories = false;  ///< benchmark-only: no pulls or pushes (the halo rows are stale garbage): the
                                ///< no-history epoch the overlapped one is measured against
};

/// @brief One copy-stream job as the device timed it (PipelineOptions::timing), in ms since the pipeline's epoch.
struct CopySpan {
  const char* stream = "";  ///< "h2d" or "d2h"
  const char* what = "";    ///< "stage", "pull", "push" or "output"
  double start_ms = 0, end_ms = 0;
};

template <class T, DeviceHistory Store>
class PipelineIO;

/// @brief The attributes of the pipeline's push_and_pull node (same gradient as history::push_and_pull: the top
/// batch_size rows of the result's gradient go to h; the pulled rows are constants).
struct QueuedPushAndPull {
  static constexpr const char* name = "push_and_pull";
};

}  // namespace gas::cuda

namespace gas::ops {

/// @brief The pipeline's push_and_pull: forward queues through the pipeline; backward is history::push_and_pull's.
template <>
struct Impl<cuda::QueuedPushAndPull, cuda::device> {
  template <class T, class IO, class S>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                      const cuda::QueuedPushAndPull&, IO& io, std::int32_t l, S& store, const loader::Batch& batch) {
    io.queued_push_and_pull(tape, node, l, store, batch);
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                       const cuda::QueuedPushAndPull&) {
    Impl<history::PushAndPull, cuda::device>::backward(tape, node, history::PushAndPull{});
  }
};

}  // namespace gas::ops

namespace gas::cuda {

/// @brief The overlapped pipeline; see the file comment. Owned by the model (ScalableGNN's IO object); reached
/// through model.io() for its options and counters.
template <class T, DeviceHistory Store>
class PipelineIO : public models::SyncIO<T, device, Store> {
  using Base = models::SyncIO<T, device, Store>;

public:
  using var = autograd::Var<T, device>;
  using tape_type = autograd::Tape<T, device>;
  using Inputs = typename Base::Inputs;

  PipelineIO() = default;
  PipelineIO(const PipelineIO&) = delete;
  PipelineIO& operator=(const PipelineIO&) = delete;
  /// @brief Drains every stream (a model destroyed mid-epoch leaves nothing queued behind); never throws.
  ~PipelineIO() {
    try {
      synchronize_all();
    } catch (...) {
    }
  }

  [[nodiscard]] models::HistoryIO mode() const { return mode_; }
  void set_mode(models::HistoryIO mode) {
    drain();
    mode_ = mode;
  }
  [[nodiscard]] const PipelineOptions& options() const { return options_; }
  /// @brief New settings (drains first; the rings are rebuilt on next use). Throws config_error for ring < 1 or a
  /// rule outside 0..8.
  void set_options(PipelineOptions options) {
    GAS_CHECK(options.ring >= 1, config_error, "pipeline ring depth " << options.ring << " must be at least 1");
    GAS_CHECK(options.drop_rule >= 0 && options.drop_rule <= 8, config_error,
              "drop_rule " << options.drop_rule << " is not a rule (1..8) or 0");
    drain();
    options_ = options;
    stages_.clear();
    layers_.clear();
    staged_.clear();
    current_ = nullptr;
  }
  [[nodiscard]] const PipelineStats& stats() const { return stats_; }
  void reset_stats() { stats_ = PipelineStats{}; }

  /// @brief Sizes stages, slots and staging for every batch within `bounds` (in_features wide features, histories
  /// `histories`); afterwards steps allocate nothing.
  void reserve(const loader::BatchBounds& bounds, std::int64_t in_features, std::span<Store> histories) {
    in_features_ = in_features;
    ensure_rings(histories);
    for (auto& s : stages_) reserve_stage(*s, bounds.ids, bounds.rows, bounds.nnz, true);
    for (std::size_t l = 0; l < layers_.size(); ++l) reserve_layer(l, histories[l].width(), bounds.ids, bounds.rows);
    QueueContext ctx{&calls_, &stats_};
    for (auto& h : histories) h.reserve(bounds.ids, ctx);
  }

  /// @brief Queues `batch`'s inputs (pinned gather of its features and adjacency on the host, upload on the
  /// copy stream); the next forward over the same batch takes them. Checks the batch against the histories first.
  template <class F>
  void stage(FeatureView<F> features, const loader::Batch& batch, std::span<Store> histories) {
    if (mode_ == models::HistoryIO::sync) return;
    check_batch(batch, histories);
    stage_now(features, batch, true);
  }
  /// @brief Marks the end of a step: the step's stage may be recycled once the compute stream gets here.
  void end_step(tape_type& tape) {
    if (mode_ == models::HistoryIO::sync) return;
    release_current(tape.exec().stream());
    ++stats_.steps;
  }
  /// @brief Waits for everything queued by the pipeline and its stores; rethrows a failure of a host function.
  void drain() {
    synchronize_all();
    calls_.rethrow_failures();
    collect_spans();
  }
  /// @brief The copy-stream jobs timed since the last clear (PipelineOptions::timing), complete up to the last
  /// drain, in ms since the pipeline's first timed job.
  [[nodiscard]] const std::vector<CopySpan>& timeline() const { return timeline_; }
  void clear_timeline() { timeline_.clear(); }

  Inputs begin_forward(tape_type& tape, FeatureView<float> features, const loader::Batch& batch,
                       std::span<Store> histories) {
    return begin_forward_impl(tape, features, batch, histories);
  }
  Inputs begin_forward(tape_type& tape, FeatureView<double> features, const loader::Batch& batch,
                       std::span<Store> histories) {
    return begin_forward_impl(tape, features, batch, histories);
  }

  var push_and_pull(tape_type& tape, std::int32_t l, std::span<Store> histories, var h, const loader::Batch& batch) {
    if (mode_ == models::HistoryIO::sync) return Base::push_and_pull(tape, l, histories, h, batch);
    Store& store = histories[static_cast<std::size_t>(l)];
    GAS_CHECK(h.cols() == store.width() && h.rows() == batch.batch_size, shape_error,
              "h is (" << h.rows() << " x " << h.cols() << ") but the batch has " << batch.batch_size
                       << " in-batch nodes and the history is " << store.width() << " wide");
    const auto total = static_cast<std::int64_t>(batch.n_id.size());
    return ops::record(QueuedPushAndPull{}, total, h.cols(), {h}, *this, l, store, batch);
  }

  /// @brief The forward pass of the pipeline's push_and_pull node (called through ops::record).
  void queued_push_and_pull(tape_type& tape, autograd::Node<T, device>& node, std::int32_t l, Store& store,
                            const loader::Batch& batch) {
    const cudaStream_t compute = tape.exec().stream();
    const MatrixView<const T> h = tape.node(node.inputs[0]).value;  // (batch_size, width)
    const std::int64_t bs = batch.batch_size, total = node.value.rows();
    copy_async(device_view(h), device_view(node.value.slice_rows(0, bs)), compute);
    if (!options_.skip_histories) queue_push(compute, static_cast<std::size_t>(l), store, h, batch, /*layerwise=*/false);
    Layer& L = layers_[static_cast<std::size_t>(l)];
    const std::size_t k = L.current_pull;
    if (!dropped(3) && !options_.skip_histories) L.pulled[k].wait(compute);
    copy_async(DeviceView<const T>(L.pull[k].data(), total - bs, h.cols()),
               device_view(node.value.slice_rows(bs, total)), compute);
    L.pull_read[k].record(compute);
    L.pull_read_used[k] = true;
  }

  // Layer-wise inference.
  void begin_layerwise(std::span<const loader::Batch> batches) { batches_ = batches; }
  Inputs layer_input(tape_type& tape, std::int32_t l, FeatureView<float> features, std::size_t k,
                     const loader::Batch& batch, std::span<Store> histories) {
    return layer_input_impl(tape, l, features, k, batch, histories);
  }
  Inputs layer_input(tape_type& tape, std::int32_t l, FeatureView<double> features, std::size_t k,
                     const loader::Batch& batch, std::span<Store> histories) {
    return layer_input_impl(tape, l, features, k, batch, histories);
  }
  void push_layer(tape_type& tape, std::int32_t l, std::span<Store> histories, var h, const loader::Batch& batch) {
    if (mode_ == models::HistoryIO::sync) return Base::push_layer(tape, l, histories, h, batch);
    queue_push(tape.exec().stream(), static_cast<std::size_t>(l), histories[static_cast<std::size_t>(l)],
               MatrixView<const T>(h.value()), batch, /*layerwise=*/true);
  }
  /// @brief The last layer's rows go device-to-host into a pinned (num_nodes, out) table from a pipeline-owned copy:
  /// device memory stays at one batch.
  void write_output(tape_type& tape, var h, const loader::Batch& batch, Tensor<T, host>& out) {
    if (mode_ == models::HistoryIO::sync) return Base::write_output(tape, h, batch, out);
    const cudaStream_t compute = tape.exec().stream();
    const std::int64_t n = out.rows(), w = out.cols();
    std::int64_t covered = 0;
    for (const auto& chunk : batch.chunks) {
      GAS_CHECK(chunk.count >= 0 && chunk.offset >= 0 && chunk.offset + chunk.count <= n, value_error,
                "chunk [" << chunk.offset << ", " << chunk.offset + chunk.count << ") outside [0, " << n << ")");
      covered += chunk.count;
    }
    GAS_CHECK(covered == batch.batch_size && h.rows() == batch.batch_size && h.cols() == w, value_error,
              "the batch's chunks cover " << covered << " rows, h is (" << h.rows() << " x " << h.cols()
                                          << "), batch_size = " << batch.batch_size << ", output width " << w);
    if (output_.rows() != n || output_.cols() != w) {
      synchronize_all();
      if (output_.resize(n, w)) ++stats_.pinned_allocs;
    }
    Buffer& b = output_ring_.next(options_.ring);
    grow(b.data, batch.batch_size * w);
    if (b.used && !dropped(4)) b.read.wait(compute);
    copy_async(device_view(MatrixView<const T>(h.value())), DeviceView<T>(b.data.data(), h.rows(), w), compute);
    b.written.record(compute);
    const cudaStream_t d2h = push_stream();
    if (!dropped(2)) b.written.wait(d2h);
    Span* span = begin_span(d2h, "d2h", "output");
    std::int64_t begin = 0;
    for (const auto& chunk : batch.chunks) {
      copy_async(DeviceView<const T>(b.data.data() + begin * w, chunk.count, w),
                 PinnedView<T>(output_.data() + std::int64_t{chunk.offset} * w, chunk.count, w), d2h);
      begin += chunk.count;
      output_chunks_.push_back(chunk);
    }
    end_span(span, d2h);
    b.read.record(d2h);
    b.used = true;
    stats_.bytes_d2h += batch.batch_size * w * static_cast<std::int64_t>(sizeof(T));
  }
  void end_layerwise(Tensor<T, host>* out) {
    if (mode_ == models::HistoryIO::sync) return;
    if (current_ != nullptr) release_current(compute_stream_);
    if (out == nullptr) return;
    ++stats_.host_waits;  // the end of an inference: the output is read on the host
    synchronize_all();
    collect_spans();
    // Only the rows this pass wrote: a rank of a distributed run infers its own nodes, and the rest of `out` keeps
    // its zeros (the pinned table keeps whatever earlier passes left there).
    const std::int64_t w = out->cols();
    for (const auto& c : output_chunks_)
      std::memcpy(out->data() + std::int64_t{c.offset} * w, output_.data() + std::int64_t{c.offset} * w,
                  static_cast<std::size_t>(c.count * w) * sizeof(T));
    output_chunks_.clear();
  }

  /// @brief Queues loss * weight (a 1 x 1 device value) to be read one step late: returns the value queued by the
  /// previous call (waiting for it: the step's one host wait), or nothing on the first call of a run.
  std::optional<double> queue_loss(tape_type& tape, var loss, double weight) {
    if (mode_ == models::HistoryIO::sync) return Base::queue_loss(tape, loss, weight);
    const cudaStream_t compute = tape.exec().stream();
    if (losses_.capacity() == 0) {
      losses_ = PinnedMatrix<T>(1, 2);
      ++stats_.pinned_allocs;
    }
    const std::size_t k = loss_count_ % 2;
    copy_async(DeviceView<const T>(loss.value().data(), 1, 1), PinnedView<T>(losses_.data() + k, 1, 1), compute);
    if (!loss_done_[k]) loss_done_[k].emplace();
    loss_done_[k]->record(compute);
    loss_weight_[k] = weight;
    ++loss_count_;
    if (loss_count_ < 2 || loss_read_ + 1 >= loss_count_) return std::nullopt;
    return read_loss(loss_count_ - 2);
  }
  /// @brief The value queued last and not read yet (waiting for it), or nothing.
  std::optional<double> flush_loss() {
    if (mode_ == models::HistoryIO::sync) return Base::flush_loss();
    if (loss_count_ == 0 || loss_read_ >= loss_count_) return std::nullopt;
    return read_loss(loss_count_ - 1);
  }

private:
  /// A device buffer with the events of its last writer and last reader.
  struct Buffer {
    DeviceBuffer<T> data;
    Event written, read;
    bool used = false;
  };
  struct BufferRing {
    std::vector<std::unique_ptr<Buffer>> buffers;
    std::size_t next_index = 0;
    Buffer& next(int ring) {
      while (buffers.size() < static_cast<std::size_t>(ring)) buffers.push_back(std::make_unique<Buffer>());
      return *buffers[next_index++ % static_cast<std::size_t>(ring)];
    }
  };
  /// One batch's inputs: pinned host arrays and their device copies.
  struct Stage {
    PinnedMatrix<node_id> ids, indices;
    PinnedMatrix<std::int64_t> indptr;
    PinnedMatrix<float> weights;
    PinnedMatrix<T> features;
    DeviceBuffer<node_id> d_ids;
    DeviceBuffer<T> d_features;
    DeviceCsr csr;
    DeviceBuffer<std::byte> t_scratch;  // build_transpose's temporaries
    Event uploaded;   // copy stream, after the uploads (rule 5)
    Event released;   // compute stream, after the batch's last op (rules 4, 5)
    bool used = false, pending = false, with_features = false;
    std::int64_t batch_size = 0, n_ids = 0, nnz = 0;
  };
  /// Per hidden layer: pull slots, push buffers, staging.
  struct Layer {
    std::vector<DeviceBuffer<T>> pull;
    std::vector<Event> pulled, pull_read;
    std::vector<char> pull_read_used;
    std::size_t next_pull = 0, current_pull = 0;
    BufferRing push;
    std::uint64_t push_serial = 0;  // pushes queued (rule 6's test switch alternates streams by it)
    PinnedMatrix<T> pull_staging, push_staging;
  };

  [[nodiscard]] bool dropped(int rule) const { return options_.drop_rule == rule; }

  void ensure_streams() {
    if (h2d_) return;
    int least = 0, greatest = 0;
    GAS_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    h2d_.emplace(StreamOptions{.priority = greatest});
    d2h_.emplace(StreamOptions{.priority = greatest});
    d2h_alt_.emplace(StreamOptions{.priority = greatest});
  }
  /// The device-to-host stream; with rule 6 dropped, every other push of a history (counted by `serial`) goes to
  /// a second stream, unordered with the first.
  cudaStream_t push_stream(std::uint64_t* serial = nullptr) {
    ensure_streams();
    if (dropped(6) && serial != nullptr && ((*serial)++ % 2) == 1) return d2h_alt_->get();
    return d2h_->get();
  }
  void ensure_rings(std::span<Store> histories) {
    ensure_streams();
    for (auto& h : histories) h.events().skip_drain = dropped(8);  // rule 8 lives in the stores
    const auto ring = static_cast<std::size_t>(options_.ring);
    while (stages_.size() < ring) stages_.push_back(std::make_unique<Stage>());
    if (layers_.size() != histories.size()) {
      layers_.clear();
      layers_.resize(histories.size());
      for (auto& L : layers_) {
        L.pull.resize(ring);
        L.pulled.resize(ring);
        L.pull_read.resize(ring);
        L.pull_read_used.assign(ring, 0);
      }
    }
  }
  void synchronize_all() {
    if (!h2d_) return;
    h2d_->synchronize();
    d2h_->synchronize();
    d2h_alt_->synchronize();
    if (compute_stream_ != nullptr || compute_seen_) GAS_CUDA_CHECK(cudaStreamSynchronize(compute_stream_));
  }

  /// Grows a device buffer to `count` elements; a growth waits for all queued work first (the old memory may still
  /// be read), so it is counted, and reserve() exists to make it happen before the first step.
  template <class E>
  void grow(DeviceBuffer<E>& buffer, std::int64_t count) {
    if (static_cast<std::size_t>(count) <= buffer.size()) return;
    synchronize_all();
    buffer = DeviceBuffer<E>(static_cast<std::size_t>(std::max<std::int64_t>(count, 1)));
    ++stats_.device_allocs;
  }
  template <class E>
  void grow(PinnedMatrix<E>& m, std::int64_t rows, std::int64_t cols) {
    if (rows * cols <= static_cast<std::int64_t>(m.capacity())) {
      m.resize(rows, cols);
      return;
    }
    synchronize_all();
    if (m.resize(rows, cols)) ++stats_.pinned_allocs;
  }
  void reserve_stage(Stage& s, std::int64_t ids, std::int64_t rows, std::int64_t nnz, bool weights) {
    grow(s.ids, 1, ids);
    grow(s.indptr, 1, rows + 1);
    grow(s.indices, 1, nnz);
    if (weights) grow(s.weights, 1, nnz);
    grow(s.t_scratch, static_cast<std::int64_t>(transpose_scratch_bytes(nnz, ids)));
    grow(s.features, ids, in_features_);
    grow(s.d_ids, ids);
    grow(s.d_features, ids * in_features_);
    const int grown = s.csr.reserve(rows, ids, nnz, weights, nullptr);
    stats_.device_allocs += grown;
  }
  void reserve_layer(std::size_t l, std::int64_t width, std::int64_t ids, std::int64_t rows) {
    Layer& L = layers_[l];
    for (auto& slot : L.pull) grow(slot, ids * width);
    for (int k = 0; k < options_.ring; ++k) grow(L.push.next(options_.ring).data, rows * width);
    if constexpr (Store::needs_staging) {
      grow(L.pull_staging, ids, width);
      grow(L.push_staging, rows, width);
    }
  }

  /// Checks the batch against the histories (ids inside, chunks tiling batch_size) before anything is queued; every
  /// history has the model's num_nodes rows, so one check covers them all.
  void check_batch(const loader::Batch& batch, std::span<Store> histories) const {
    if (!histories.empty()) history::detail::check_batch_against("PipelineIO", batch, histories.front().num_nodes());
  }

  /// Fills a free stage with `batch` (host) and queues its upload (copy stream).
  template <class F>
  Stage& stage_now(FeatureView<F> features, const loader::Batch& batch, bool with_features) {
    // Without reserve(), the rings are made on first use and buffers grow as batches need them.
    ensure_streams();
    while (stages_.size() < static_cast<std::size_t>(options_.ring)) stages_.push_back(std::make_unique<Stage>());
    Stage& s = *stages_[stage_next_++ % stages_.size()];
    GAS_CHECK(&s != current_, value_error,
              "PipelineIO::stage: the ring (" << options_.ring << ") cannot stage while its only stage is in use");
    if (s.pending) {
      // Staged and never taken (the Trainer skips a batch without training nodes): nothing on the compute stream
      // read it, so its upload is all that must be done before the pinned arrays are rewritten.
      staged_.erase(std::find(staged_.begin(), staged_.end(), &s));
      s.pending = false;
      if (!s.uploaded.query()) {
        ++stats_.host_waits;
        s.uploaded.synchronize();
      }
    }
    // The pinned arrays are rewritten on the host: the stage's last batch must be done with them (rule 4).
    if (s.used && !dropped(4) && !s.released.query()) {
      ++stats_.host_waits;
      s.released.synchronize();
    }
    const Graph& adj = batch.adj;
    const auto n_ids = static_cast<std::int64_t>(batch.n_id.size());
    const std::int64_t rows = adj.rows(), nnz = adj.num_edges(), in = features.cols();
    if (in_features_ != in) in_features_ = in;
    reserve_stage(s, n_ids, rows, nnz, adj.has_weights());
    std::memcpy(s.ids.data(), batch.n_id.data(), static_cast<std::size_t>(n_ids) * sizeof(node_id));
    std::memcpy(s.indptr.data(), adj.indptr().data(), static_cast<std::size_t>(rows + 1) * sizeof(std::int64_t));
    std::memcpy(s.indices.data(), adj.indices().data(), static_cast<std::size_t>(nnz) * sizeof(node_id));
    if (adj.has_weights()) std::memcpy(s.weights.data(), adj.weights().data(), static_cast<std::size_t>(nnz) * sizeof(float));
    if (with_features) {
      T* dst = s.features.data();
      const node_id* ids = batch.n_id.data();
#pragma omp parallel for schedule(static) if (n_ids * in > (std::int64_t{1} << 16))
      for (std::int64_t i = 0; i < n_ids; ++i) features.copy_row(ids[i], dst + i * in);  // sparse rows densified
    }
    // Uploads on the copy stream, after the stage's last batch is done with the device copies (rule 5).
    const cudaStream_t h2d = h2d_->get();
    if (s.used && !dropped(5)) s.released.wait(h2d);
    Span* span = begin_span(h2d, "h2d", "stage");
    copy_async(PinnedView<const node_id>(s.ids.data(), 1, n_ids), DeviceView<node_id>(s.d_ids.data(), 1, n_ids), h2d);
    CsrStage cs{rows, adj.cols(), nnz, s.indptr.data(), s.indices.data(), adj.has_weights() ? s.weights.data() : nullptr};
    stats_.device_allocs += s.csr.upload_async(cs, h2d);
    // The transposed index from the uploaded CSR, on the copy stream before `uploaded`: 12 bytes an edge and 8 a column
    // fewer cross the bus than when the host built it.
    const auto t = s.csr.transpose_arrays();
    build_transpose(s.csr.view(), t.offsets, t.rows, t.edges, s.t_scratch.data(), s.t_scratch.size(), h2d);
    if (with_features)
      copy_async(PinnedView<const T>(s.features.data(), n_ids, in), DeviceView<T>(s.d_features.data(), n_ids, in), h2d);
    end_span(span, h2d);
    s.uploaded.record(h2d);
    stats_.bytes_h2d += (n_ids + nnz) * static_cast<std::int64_t>(sizeof(node_id)) +
                        (rows + 1) * static_cast<std::int64_t>(sizeof(std::int64_t)) +
                        (with_features ? n_ids * in * static_cast<std::int64_t>(sizeof(T)) : 0);
    s.pending = true;
    s.with_features = with_features;
    s.batch_size = batch.batch_size;
    s.n_ids = n_ids;
    s.nnz = nnz;
    staged_.push_back(&s);
    return s;
  }

  [[nodiscard]] static bool same_batch(const Stage& s, const loader::Batch& batch) {
    return s.batch_size == batch.batch_size && s.n_ids == static_cast<std::int64_t>(batch.n_id.size()) &&
           s.nnz == batch.adj.num_edges() &&
           std::memcmp(s.ids.data(), batch.n_id.data(), static_cast<std::size_t>(s.n_ids) * sizeof(node_id)) == 0;
  }

  /// The stage of `batch`: the oldest staged one when it matches, else staged now. Stale stages are released.
  template <class F>
  Stage& take_stage(cudaStream_t compute, FeatureView<F> features, const loader::Batch& batch,
                    bool with_features) {
    compute_stream_ = compute;
    compute_seen_ = true;
    if (current_ != nullptr) release_current(compute);
    while (!staged_.empty() && !(same_batch(*staged_.front(), batch) && (staged_.front()->with_features || !with_features))) {
      Stage* stale = staged_.front();
      staged_.pop_front();
      stale->uploaded.wait(compute);
      stale->released.record(compute);
      stale->pending = false;
      stale->used = true;
    }
    if (staged_.empty()) stage_now(features, batch, with_features);
    Stage& s = *staged_.front();
    staged_.pop_front();
    s.pending = false;
    if (!dropped(5)) s.uploaded.wait(compute);  // rule 5: layer 0 reads the stage after its upload
    current_ = &s;
    return s;
  }
  void release_current(cudaStream_t compute) {
    if (current_ == nullptr) return;
    current_->released.record(compute);
    current_->used = true;
    current_ = nullptr;
  }

  /// The features of a stage as a constant of the tape (a device-to-device copy on the compute stream).
  var features_of(tape_type& tape, Stage& s) {
    const std::int64_t in = in_features_;
    auto [id, node] = tape.push("features", s.n_ids, in);
    copy_async(DeviceView<const T>(s.d_features.data(), s.n_ids, in), device_view(node.value), tape.exec().stream());
    return {&tape, id};
  }

  /// Queues the pull of `count` ids (device ids at `d_ids`, pinned at `h_ids`) from `store` into layer l's next slot.
  void queue_pull(std::size_t l, Store& store, const node_id* d_ids, const node_id* h_ids, std::int64_t count,
                  bool layerwise) {
    Layer& L = layers_[l];
    const std::int64_t w = store.width();
    const std::size_t k = L.next_pull++ % L.pull.size();
    grow(L.pull[k], count * w);
    if constexpr (Store::needs_staging) grow(L.pull_staging, std::max<std::int64_t>(count, L.pull_staging.rows()), w);
    const cudaStream_t h2d = h2d_->get();
    if (L.pull_read_used[k] && !dropped(4)) L.pull_read[k].wait(h2d);  // rule 4
    if (!dropped(layerwise ? 7 : 1)) store.events().wait_written(h2d);  // rules 1 and 7
    PullJob<T> job{d_ids, h_ids, count, DeviceView<T>(L.pull[k].data(), count, w),
                   PinnedView<T>(L.pull_staging.data(), L.pull_staging.rows(), w)};
    Span* span = begin_span(h2d, "h2d", "pull");
    store.queue_pull(job, QueueContext{&calls_, &stats_}, h2d);
    end_span(span, h2d);
    L.pulled[k].record(h2d);
    L.current_pull = k;
    ++stats_.pulls;
  }

  /// Queues the push of h's rows (a pipeline-owned copy made on the compute stream) into `store`.
  void queue_push(cudaStream_t compute, std::size_t l, Store& store, MatrixView<const T> h, const loader::Batch& batch,
                  bool layerwise) {
    (void)layerwise;
    Layer& L = layers_[l];
    const std::int64_t w = store.width(), rows = h.rows();
    Buffer& b = L.push.next(options_.ring);
    grow(b.data, rows * w);
    if constexpr (Store::needs_staging) grow(L.push_staging, std::max<std::int64_t>(rows, L.push_staging.rows()), w);
    if (b.used && !dropped(4)) b.read.wait(compute);  // rule 4: the previous push out of this buffer has read it
    copy_async(device_view(h), DeviceView<T>(b.data.data(), rows, w), compute);
    b.written.record(compute);
    const cudaStream_t d2h = push_stream(&L.push_serial);
    if (!dropped(2)) b.written.wait(d2h);  // rule 2
    PushJob<T> job{std::span<const loader::Chunk>(batch.chunks), rows, DeviceView<const T>(b.data.data(), rows, w),
                   PinnedView<T>(L.push_staging.data(), L.push_staging.rows(), w)};
    Span* span = begin_span(d2h, "d2h", "push");
    store.queue_push(job, QueueContext{&calls_, &stats_}, d2h);
    end_span(span, d2h);
    b.read.record(d2h);
    b.used = true;
    ++stats_.pushes;
  }

  template <class F>
  Inputs begin_forward_impl(tape_type& tape, FeatureView<F> features, const loader::Batch& batch,
                            std::span<Store> histories) {
    if (mode_ == models::HistoryIO::sync) return Base::begin_forward(tape, features, batch, histories);
    // A batch staged ahead was checked by stage(); any other is checked here, before its pulls are queued.
    if (staged_.empty() || !same_batch(*staged_.front(), batch)) check_batch(batch, histories);
    ensure_rings(histories);
    Stage& s = take_stage(tape.exec().stream(), features, batch, true);
    // Every layer's halo pull is queued now, before the forward pass: a batch's halo and its own rows are
    // disjoint, so pull(b, l) needs only the pushes of earlier steps (rule 1), which are queued already.
    const std::int64_t bs = batch.batch_size, halo = batch.num_halo();
    for (std::size_t l = 0; l < histories.size(); ++l) {
      if (options_.skip_histories) {  // the benchmark's no-history baseline: the slot keeps whatever it holds
        grow(layers_[l].pull[0], halo * histories[l].width());
        layers_[l].current_pull = 0;
        continue;
      }
      queue_pull(l, histories[l], s.d_ids.data() + bs, s.ids.data() + bs, halo, false);
    }
    return {features_of(tape, s), &s.csr};
  }

  template <class F>
  Inputs layer_input_impl(tape_type& tape, std::int32_t l, FeatureView<F> features, std::size_t k,
                          const loader::Batch& batch, std::span<Store> histories) {
    if (mode_ == models::HistoryIO::sync) return Base::layer_input(tape, l, features, k, batch, histories);
    if (k == 0) check_batch(batch, histories);
    ensure_rings(histories);
    const cudaStream_t compute = tape.exec().stream();
    Stage& s = take_stage(compute, features, batch, l == 0);
    // Prefetch the next batch of the pass, so its upload overlaps this batch's compute.
    if (options_.ring >= 2 && k + 1 < batches_.size()) stage_now(features, batches_[k + 1], l == 0);
    if (l == 0) return {features_of(tape, s), &s.csr};
    const auto src = static_cast<std::size_t>(l) - 1;
    queue_pull(src, histories[src], s.d_ids.data(), s.ids.data(), s.n_ids, true);
    Layer& L = layers_[src];
    const std::size_t slot = L.current_pull;
    if (!dropped(3)) L.pulled[slot].wait(compute);
    const std::int64_t w = histories[src].width();
    auto [id, node] = tape.push("history_pull", s.n_ids, w);
    copy_async(DeviceView<const T>(L.pull[slot].data(), s.n_ids, w), device_view(node.value), compute);
    L.pull_read[slot].record(compute);
    L.pull_read_used[slot] = true;
    return {var{&tape, id}, &s.csr};
  }

  /// A timed copy-stream job (PipelineOptions::timing): events from a pool that grows between drains.
  struct Span {
    Event start{EventOptions{.timing = true}}, stop{EventOptions{.timing = true}};
    const char* stream = "";
    const char* what = "";
  };
  Span* begin_span(cudaStream_t stream, const char* name, const char* what) {
    if (!options_.timing) return nullptr;
    if (!epoch_) {
      epoch_.emplace(EventOptions{.timing = true});
      epoch_->record(stream);
    }
    if (spans_open_ == spans_.size()) spans_.push_back(std::make_unique<Span>());
    Span& sp = *spans_[spans_open_++];
    sp.stream = name;
    sp.what = what;
    sp.start.record(stream);
    return &sp;
  }
  static void end_span(Span* span, cudaStream_t stream) {
    if (span != nullptr) span->stop.record(stream);
  }
  /// Adds the timed jobs (complete: called after a full synchronization) to the busy times and the timeline.
  void collect_spans() {
    constexpr std::size_t timeline_cap = 200000;
    for (std::size_t k = 0; k < spans_open_; ++k) {
      const Span& sp = *spans_[k];
      const double ms = elapsed_ms(sp.start, sp.stop);
      (std::strcmp(sp.stream, "h2d") == 0 ? stats_.h2d_busy_ms : stats_.d2h_busy_ms) += ms;
      if (timeline_.size() < timeline_cap)
        timeline_.push_back({sp.stream, sp.what, elapsed_ms(*epoch_, sp.start), elapsed_ms(*epoch_, sp.stop)});
    }
    spans_open_ = 0;
  }

  double read_loss(std::uint64_t index) {
    const std::size_t k = index % 2;
    if (!loss_done_[k]->query()) {
      ++stats_.host_waits;
      loss_done_[k]->synchronize();
    }
    loss_read_ = index + 1;
    return static_cast<double>(losses_.data()[k]) * loss_weight_[k];
  }

  models::HistoryIO mode_ = models::HistoryIO::overlapped;
  PipelineOptions options_;
  PipelineStats stats_;
  std::int64_t in_features_ = 0;
  std::optional<Stream> h2d_, d2h_, d2h_alt_;
  cudaStream_t compute_stream_ = nullptr;
  bool compute_seen_ = false;
  HostCallRing calls_{32};
  std::vector<std::unique_ptr<Stage>> stages_;
  std::size_t stage_next_ = 0;
  std::deque<Stage*> staged_;
  Stage* current_ = nullptr;
  std::vector<Layer> layers_;
  BufferRing output_ring_;
  PinnedMatrix<T> output_;
  std::vector<loader::Chunk> output_chunks_;  // the rows of output_ the current inference wrote
  std::span<const loader::Batch> batches_;
  PinnedMatrix<T> losses_;
  std::vector<std::unique_ptr<Span>> spans_;
  std::size_t spans_open_ = 0;
  std::optional<Event> epoch_;
  std::vector<CopySpan> timeline_;
  std::optional<Event> loss_done_[2];  // made on first use: a model is built before any GPU work
  double loss_weight_[2] = {0, 0};
  std::uint64_t loss_count_ = 0, loss_read_ = 0;
};

}  // namespace gas::cuda

namespace gas::models {

/// @brief Device models whose histories are a GPU store use the overlapped pipeline.
template <class T, cuda::DeviceHistory Store>
struct HistoryIOFor<T, cuda::device, Store> {
  using type = cuda::PipelineIO<T, Store>;
};

}  // namespace gas::models
