#pragma once
/// @brief `Communicator`: the collectives distributed GAS needs, over whatever transport runs the ranks (MPI
/// processes, dist/mpi_comm.hpp; threads of one process, dist/thread_comm.hpp; a single rank, `SelfComm`), and the
/// deterministic sum built on them.
///
/// Why an interface of three collectives rather than MPI calls in the training code: the same exchange schedule then
/// runs under MPI, under the in-process stand-in that tests and CI use without MPI, and (later) under NCCL; and every
/// byte that crosses it is counted in one place (`CommStats`).
///
/// Determinism: `allreduce_sum` gathers every rank's vector and adds them in rank order on every rank, so the sum
/// has the same bits on every rank and on every run with the same rank count, whatever the transport's own reduction
/// order would be. It moves P times the vector per rank instead of a reduce-scatter's 2 (P - 1) / P: GAS models have
/// well under a million parameters, so the simpler schedule costs little.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "gas/core/check.hpp"

struct CUstream_st;  // cudaStream_t is a CUstream_st*: named here without the CUDA headers

namespace gas::dist {

/// @brief What a transport that moves device memory itself offers (NcclComm): a personalized all-to-all of device
/// buffers queued on a CUDA stream, with block sizes the ranks agreed on beforehand. Code that holds rows on a GPU
/// (the sharded device history) uses it when the communicator has it, and stages through the host otherwise.
class DeviceCollectives {
public:
  virtual void alltoallv_device(const std::byte* send, std::span<const std::int64_t> send_bytes, std::byte* recv,
                                std::span<const std::int64_t> recv_bytes, CUstream_st* stream) = 0;

protected:
  ~DeviceCollectives() = default;
};

/// @brief Bytes and time one rank spent in collectives.
struct CommStats {
  std::int64_t calls = 0;        ///< collectives entered
  std::int64_t bytes_sent = 0;   ///< payload bytes this rank sent to other ranks (its own share excluded)
  std::int64_t bytes_recv = 0;   ///< payload bytes this rank received from other ranks
  double seconds = 0;            ///< wall time inside collectives (waiting for the slowest rank included)
};

/// @brief A group of ranks and its collectives. Every rank must call the same collectives in the same order; a
/// rank that fails makes the others' pending and later collectives throw comm_error (no rank waits forever).
class Communicator {
public:
  virtual ~Communicator() = default;
  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;

  /// @brief Personalized all-to-all: send holds the blocks for ranks 0, 1, ... back to back (send_bytes[r] bytes
  /// for rank r); recv receives what each rank sent to this one, in rank order, recv_bytes[r] from rank r.
  void alltoallv(std::span<const std::byte> send, std::span<const std::int64_t> send_bytes,
                 std::vector<std::byte>& recv, std::vector<std::int64_t>& recv_bytes) {
    GAS_CHECK(static_cast<int>(send_bytes.size()) == size(), shape_error,
              "alltoallv: " << send_bytes.size() << " block sizes for " << size() << " ranks");
    std::int64_t total = 0;
    for (const auto b : send_bytes) {
      GAS_CHECK(b >= 0, value_error, "alltoallv: negative block size " << b);
      total += b;
    }
    GAS_CHECK(total == static_cast<std::int64_t>(send.size()), shape_error,
              "alltoallv: blocks of " << total << " bytes in a buffer of " << send.size());
    const auto t0 = std::chrono::steady_clock::now();
    do_alltoallv(send, send_bytes, recv, recv_bytes);
    account(send_bytes, recv_bytes, t0);
  }

  /// @brief Every rank's `mine` (the same size on every rank), concatenated in rank order into `all`.
  void allgather(std::span<const std::byte> mine, std::span<std::byte> all) {
    GAS_CHECK(all.size() == mine.size() * static_cast<std::size_t>(size()), shape_error,
              "allgather: " << mine.size() << " bytes from each of " << size() << " ranks into " << all.size());
    const auto t0 = std::chrono::steady_clock::now();
    do_allgather(mine, all);
    const auto others = static_cast<std::int64_t>(mine.size()) * (size() - 1);
    record(others, others, t0);
  }

  /// @brief values = the sum over ranks of every rank's values, added in rank order (the same bits on every rank
  /// and every run with this rank count). Every rank passes the same length.
  template <class T>
    requires std::is_arithmetic_v<T>
  void allreduce_sum(std::span<T> values) {
    const int p = size();
    if (p == 1) {  // nothing to add: a single rank's values stay exactly as they are
      stats_.calls += 1;
      return;
    }
    gather_.resize(values.size_bytes() * static_cast<std::size_t>(p));
    allgather(std::as_bytes(values), std::span<std::byte>(gather_));
    const auto n = values.size();
    std::vector<T> part(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = T{0};
    for (int r = 0; r < p && n > 0; ++r) {  // (memcpy of nothing from a null data() is undefined)
      std::memcpy(part.data(), gather_.data() + values.size_bytes() * static_cast<std::size_t>(r), values.size_bytes());
      for (std::size_t i = 0; i < n; ++i) values[i] += part[i];
    }
  }

  /// @brief Waits until every rank has arrived.
  void barrier() {
    std::byte none{};
    std::vector<std::byte> all(static_cast<std::size_t>(size()));
    allgather(std::span<const std::byte>(&none, 1), std::span<std::byte>(all));
  }

  /// @brief The device collectives of a transport that has them (NcclComm), else null.
  [[nodiscard]] virtual DeviceCollectives* device_collectives() { return nullptr; }

  /// @brief What this rank's collectives have moved and waited so far.
  [[nodiscard]] const CommStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

protected:
  virtual void do_alltoallv(std::span<const std::byte> send, std::span<const std::int64_t> send_bytes,
                            std::vector<std::byte>& recv, std::vector<std::int64_t>& recv_bytes) = 0;
  virtual void do_allgather(std::span<const std::byte> mine, std::span<std::byte> all) = 0;

  /// Counts one collective of a transport's own (device collectives): its bytes to and from other ranks and the
  /// time since t0.
  void record(std::int64_t sent, std::int64_t received, std::chrono::steady_clock::time_point t0) {
    stats_.calls += 1;
    stats_.bytes_sent += sent;
    stats_.bytes_recv += received;
    stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  /// Counts one personalized exchange (the own block excluded).
  void account(std::span<const std::int64_t> send_bytes, std::span<const std::int64_t> recv_bytes,
               std::chrono::steady_clock::time_point t0) {
    stats_.calls += 1;
    for (int r = 0; r < size(); ++r) {
      if (r == rank()) continue;
      stats_.bytes_sent += send_bytes[static_cast<std::size_t>(r)];
      stats_.bytes_recv += recv_bytes[static_cast<std::size_t>(r)];
    }
    stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

private:
  CommStats stats_;
  std::vector<std::byte> gather_;  // allreduce_sum's scratch, reused
};

/// @brief The group of one rank: every collective is a local copy. Distributed code run on it is the
/// single-process computation, bit for bit.
class SelfComm final : public Communicator {
public:
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }

protected:
  void do_alltoallv(std::span<const std::byte> send, std::span<const std::int64_t>, std::vector<std::byte>& recv,
                    std::vector<std::int64_t>& recv_bytes) override {
    recv.assign(send.begin(), send.end());
    recv_bytes.assign(1, static_cast<std::int64_t>(send.size()));
  }
  void do_allgather(std::span<const std::byte> mine, std::span<std::byte> all) override {
    if (!mine.empty()) std::memcpy(all.data(), mine.data(), mine.size());
  }
};

}  // namespace gas::dist
