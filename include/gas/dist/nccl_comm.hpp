#pragma once
/// @brief `NcclComm`: the Communicator of ranks that each drive one GPU, over NCCL (shipped with the CUDA toolkit).
/// Needs <nccl.h> and the CUDA runtime, so it is not part of gas/gas.hpp: programs built with meson's `nccl` feature
/// include it. It is bootstrapped by another Communicator (MPI's, normally), which carries NCCL's unique id.
///
/// Two faces:
/// - the `Communicator` collectives on host memory (what the sharded history and the Trainer call), staged through
///   device buffers: the same exchange schedule as MPI's, byte for byte, with the GPUs' links carrying it;
/// - stream-ordered collectives on device memory (`alltoallv_device`, `allgather_device`) for code whose rows are
///   already on the GPU: grouped ncclSend/ncclRecv and ncclAllGather queued on the caller's stream, with no host
///   wait, so the exchange can overlap compute like the single-process pipeline's pulls.
///
/// Determinism: no NCCL reduction is used. `allreduce_sum` (the base class) gathers every rank's vector and adds in
/// rank order on the host, the same bits as over MPI and on one rank; NCCL's own ring or tree sums would depend on
/// the topology it detects.
///
/// Rules NCCL imposes: one GPU per rank (two ranks on one GPU fail at construction with NCCL's "duplicate GPU"),
/// every rank calls the same collectives in the same order, and a rank that fails leaves the others blocked in the
/// GPU's collective (NCCL has no timeout by default): programs end the job (dist::abort_job) on an error, as over MPI.

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/error.hpp"
#include "gas/dist/comm.hpp"

namespace gas::dist {

namespace detail {
inline void nccl_check(ncclResult_t rc, const char* call) {
  if (rc == ncclSuccess) return;
  throw comm_error(std::string(call) + " failed: " + ncclGetErrorString(rc));
}
inline void nccl_cuda_check(cudaError_t rc, const char* call) {
  if (rc == cudaSuccess) return;
  (void)cudaGetLastError();
  throw cuda_error(std::string(call) + " failed: " + cudaGetErrorName(rc) + " (" + cudaGetErrorString(rc) + ")");
}

/// A device buffer that grows (never shrinks) to the largest request: the staging of the host collectives.
class DeviceScratch {
public:
  DeviceScratch() = default;
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  ~DeviceScratch() {
    if (data_ != nullptr) (void)cudaFree(data_);
  }
  std::byte* reserve(std::size_t bytes) {
    bytes = std::max<std::size_t>(bytes, 1);
    if (bytes > size_) {
      if (data_ != nullptr) nccl_cuda_check(cudaFree(data_), "cudaFree");
      data_ = nullptr;
      size_ = 0;
      void* p = nullptr;
      nccl_cuda_check(cudaMalloc(&p, bytes), "cudaMalloc (NcclComm staging)");
      data_ = static_cast<std::byte*>(p);
      size_ = bytes;
    }
    return data_;
  }

private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};
}  // namespace detail

/// @brief A Communicator over an NCCL communicator of `bootstrap.size()` ranks, rank i on `device` of its process.
class NcclComm final : public Communicator, public DeviceCollectives {
public:
  /// @brief Makes the NCCL communicator: rank 0 creates the unique id, `bootstrap` (every rank calls this
  /// constructor at the same point) delivers it, each rank binds `device` (cudaSetDevice) and joins. Throws
  /// comm_error when NCCL refuses (two ranks on one GPU among others), cuda_error for a bad device.
  NcclComm(Communicator& bootstrap, int device) : rank_(bootstrap.rank()), size_(bootstrap.size()), device_(device) {
    detail::nccl_cuda_check(cudaSetDevice(device), "cudaSetDevice");
    ncclUniqueId id{};
    if (rank_ == 0) detail::nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    std::vector<std::byte> ids(sizeof(id) * static_cast<std::size_t>(size_));
    bootstrap.allgather(std::as_bytes(std::span(&id, 1)), std::span<std::byte>(ids));
    std::memcpy(&id, ids.data(), sizeof(id));  // rank 0's
    detail::nccl_check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    cudaError_t rc = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
    if (rc == cudaSuccess) rc = cudaEventCreateWithFlags(&last_, cudaEventDisableTiming);
    if (rc != cudaSuccess) {
      (void)ncclCommDestroy(comm_);
      if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
      detail::nccl_cuda_check(rc, "cudaStreamCreateWithFlags / cudaEventCreateWithFlags");
    }
  }
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  ~NcclComm() override {
    (void)cudaStreamSynchronize(stream_);
    (void)cudaEventSynchronize(last_);
    (void)ncclCommDestroy(comm_);
    (void)cudaEventDestroy(last_);
    (void)cudaStreamDestroy(stream_);
  }

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }
  /// @brief The GPU this rank drives.
  [[nodiscard]] int device() const { return device_; }
  /// @brief The stream the host collectives run on.
  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  /// @brief The NCCL communicator, for code that queues NCCL calls of its own.
  [[nodiscard]] ncclComm_t handle() const { return comm_; }

  /// @brief Personalized all-to-all of device memory, queued on `stream` (no host wait): send holds the blocks for
  /// ranks 0, 1, ... back to back, recv receives rank r's block to this one at the sum of recv_bytes[< r]. Both
  /// size lists must be what the ranks agreed on (a host exchange of counts, as the sharded store does with the
  /// requested ids): NCCL matches a send with its receive by order and size only.
  void alltoallv_device(const std::byte* send, std::span<const std::int64_t> send_bytes, std::byte* recv,
                        std::span<const std::int64_t> recv_bytes, cudaStream_t stream) override {
    check_blocks(send_bytes, "send");
    check_blocks(recv_bytes, "receive");
    const auto t0 = std::chrono::steady_clock::now();
    queue_alltoallv(send, send_bytes, recv, recv_bytes, stream);
    account(send_bytes, recv_bytes, t0);
  }

  [[nodiscard]] DeviceCollectives* device_collectives() override { return this; }

  /// @brief Every rank's `bytes` at `mine` concatenated in rank order at `all` (device memory), queued on `stream`.
  void allgather_device(const std::byte* mine, std::size_t bytes, std::byte* all, cudaStream_t stream) {
    const auto t0 = std::chrono::steady_clock::now();
    after_last(stream);
    detail::nccl_check(ncclAllGather(mine, all, bytes, ncclChar, comm_, stream), "ncclAllGather");
    mark_last(stream);
    const auto others = static_cast<std::int64_t>(bytes) * (size_ - 1);
    record(others, others, t0);
  }

protected:
  void do_alltoallv(std::span<const std::byte> send, std::span<const std::int64_t> send_bytes,
                    std::vector<std::byte>& recv, std::vector<std::int64_t>& recv_bytes) override {
    const auto p = static_cast<std::size_t>(size_);
    // The counts first: every rank's P block sizes, gathered, give each rank what it will receive.
    std::byte* counts = counts_.reserve(2 * p * p * sizeof(std::int64_t));
    copy(counts, send_bytes.data(), p * sizeof(std::int64_t), cudaMemcpyHostToDevice);
    after_last(stream_);
    detail::nccl_check(ncclAllGather(counts, counts + p * sizeof(std::int64_t), p, ncclInt64, comm_, stream_),
                       "ncclAllGather (alltoallv counts)");
    mark_last(stream_);
    std::vector<std::int64_t> matrix(p * p);
    copy(matrix.data(), counts + p * sizeof(std::int64_t), p * p * sizeof(std::int64_t), cudaMemcpyDeviceToHost);
    sync();
    recv_bytes.assign(p, 0);
    std::int64_t total = 0;
    for (std::size_t r = 0; r < p; ++r) {
      recv_bytes[r] = matrix[r * p + static_cast<std::size_t>(rank_)];
      total += recv_bytes[r];
    }
    recv.resize(static_cast<std::size_t>(total));
    std::byte* d_send = send_.reserve(send.size());
    std::byte* d_recv = recv_.reserve(recv.size());
    copy(d_send, send.data(), send.size(), cudaMemcpyHostToDevice);
    queue_alltoallv(d_send, send_bytes, d_recv, recv_bytes, stream_);
    copy(recv.data(), d_recv, recv.size(), cudaMemcpyDeviceToHost);
    sync();
  }

  void do_allgather(std::span<const std::byte> mine, std::span<std::byte> all) override {
    std::byte* d_mine = send_.reserve(mine.size());
    std::byte* d_all = recv_.reserve(all.size());
    copy(d_mine, mine.data(), mine.size(), cudaMemcpyHostToDevice);
    after_last(stream_);
    detail::nccl_check(ncclAllGather(d_mine, d_all, mine.size(), ncclChar, comm_, stream_), "ncclAllGather");
    mark_last(stream_);
    copy(all.data(), d_all, all.size(), cudaMemcpyDeviceToHost);
    sync();
  }

private:
  void check_blocks(std::span<const std::int64_t> bytes, const char* what) const {
    GAS_CHECK(static_cast<int>(bytes.size()) == size_, shape_error,
              "alltoallv_device: " << bytes.size() << " " << what << " block sizes for " << size_ << " ranks");
    for (const auto b : bytes) GAS_CHECK(b >= 0, value_error, "alltoallv_device: negative " << what << " block " << b);
  }

  // One NCCL group: a send and a receive per other rank with a non-empty block (NCCL pairs them in group order),
  // the own block a device copy.
  void queue_alltoallv(const std::byte* send, std::span<const std::int64_t> send_bytes, std::byte* recv,
                       std::span<const std::int64_t> recv_bytes, cudaStream_t stream) {
    std::int64_t own_send = 0, own_recv = 0;
    after_last(stream);
    detail::nccl_check(ncclGroupStart(), "ncclGroupStart");
    std::int64_t s = 0, t = 0;
    for (int r = 0; r < size_; ++r) {
      const auto sb = send_bytes[static_cast<std::size_t>(r)], rb = recv_bytes[static_cast<std::size_t>(r)];
      if (r == rank_) {
        own_send = s;
        own_recv = t;
      } else {
        if (sb > 0)
          detail::nccl_check(ncclSend(send + s, static_cast<std::size_t>(sb), ncclChar, r, comm_, stream), "ncclSend");
        if (rb > 0)
          detail::nccl_check(ncclRecv(recv + t, static_cast<std::size_t>(rb), ncclChar, r, comm_, stream), "ncclRecv");
      }
      s += sb;
      t += rb;
    }
    detail::nccl_check(ncclGroupEnd(), "ncclGroupEnd");
    mark_last(stream);
    const auto me = static_cast<std::size_t>(rank_);
    GAS_CHECK(send_bytes[me] == recv_bytes[me], shape_error,
              "alltoallv_device: this rank sends itself " << send_bytes[me] << " bytes but expects "
                                                          << recv_bytes[me]);
    if (send_bytes[me] > 0)
      detail::nccl_cuda_check(cudaMemcpyAsync(recv + own_recv, send + own_send, static_cast<std::size_t>(send_bytes[me]),
                                              cudaMemcpyDeviceToDevice, stream),
                              "cudaMemcpyAsync (own block)");
  }

  // NCCL runs a communicator's operations in the order each GPU executes them, and two of them on different streams
  // may execute in different orders on two GPUs, each then waiting for a peer that waits for it. Every operation
  // therefore waits for the one queued before it (an event), so the GPU executes them in the order they were issued,
  // the same on every rank.
  void after_last(cudaStream_t stream) {
    if (last_stream_ != nullptr && last_stream_ != stream)
      detail::nccl_cuda_check(cudaStreamWaitEvent(stream, last_, 0), "cudaStreamWaitEvent (NCCL order)");
  }
  void mark_last(cudaStream_t stream) {
    detail::nccl_cuda_check(cudaEventRecord(last_, stream), "cudaEventRecord (NCCL order)");
    last_stream_ = stream;
  }

  void copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
    if (bytes == 0) return;
    detail::nccl_cuda_check(cudaMemcpyAsync(dst, src, bytes, kind, stream_), "cudaMemcpyAsync (NcclComm staging)");
  }
  void sync() { detail::nccl_cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize (NcclComm)"); }

  int rank_ = 0, size_ = 1, device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t last_ = nullptr;          // recorded after the latest NCCL operation ...
  cudaStream_t last_stream_ = nullptr;  // ... on this stream
  detail::DeviceScratch send_, recv_, counts_;
};

}  // namespace gas::dist
