#pragma once
/// @brief `run_threads(P, fn)`: P ranks as threads of this process, each calling fn(Communicator&) with its own
/// `ThreadComm`. The stand-in for MPI that tests and CI use: the same collectives, the same exchange schedule and
/// the same byte counts as under mpirun, without MPI installed.
///
/// A collective publishes each rank's buffer, waits for all ranks (a barrier), copies what this rank receives, and
/// waits again before anyone reuses a buffer. When a rank's fn throws, the group is marked failed and every rank
/// waiting in or later entering a collective throws comm_error, so no thread waits forever; run_threads then
/// rethrows the first failure that is not such a consequence.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/error.hpp"
#include "gas/dist/comm.hpp"

namespace gas::dist {

namespace detail {

/// @brief What the ranks of one run_threads share: the published buffers and a barrier that can be broken.
struct ThreadGroup {
  explicit ThreadGroup(int n) : size(n), send(static_cast<std::size_t>(n)), counts(static_cast<std::size_t>(n)) {}

  /// Waits until every rank has arrived. Throws comm_error once a rank has failed, or has returned while others
  /// still call collectives (their counts differ: the barrier could never complete).
  void arrive() {
    std::unique_lock lock(mutex);
    check_broken();
    const std::uint64_t gen = generation;
    if (++waiting == size) {
      waiting = 0;
      ++generation;
      cv.notify_all();
      return;
    }
    cv.wait(lock, [&] { return generation != gen || failed || left; });
    if (generation == gen) check_broken();
  }
  /// A rank failed: break every pending and later collective.
  void fail() {
    std::lock_guard lock(mutex);
    failed = true;
    cv.notify_all();
  }
  /// A rank returned: no later collective can complete.
  void leave() {
    std::lock_guard lock(mutex);
    left = true;
    cv.notify_all();
  }
  void check_broken() const {
    if (failed) throw comm_error("a collective was cancelled: another rank failed");
    if (left)
      throw comm_error("a collective was cancelled: another rank returned without entering it (the ranks call "
                       "different numbers of collectives)");
  }

  const int size;
  std::vector<const std::byte*> send;                  // rank -> its published buffer
  std::vector<std::span<const std::int64_t>> counts;   // rank -> its block sizes (alltoallv)
  std::mutex mutex;
  std::condition_variable cv;
  int waiting = 0;
  std::uint64_t generation = 0;
  bool failed = false;
  bool left = false;
};

}  // namespace detail

/// @brief One rank of a run_threads group.
class ThreadComm final : public Communicator {
public:
  ThreadComm(detail::ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return group_.size; }

protected:
  void do_alltoallv(std::span<const std::byte> send, std::span<const std::int64_t> send_bytes,
                    std::vector<std::byte>& recv, std::vector<std::int64_t>& recv_bytes) override {
    auto& g = group_;
    g.send[static_cast<std::size_t>(rank_)] = send.data();
    g.counts[static_cast<std::size_t>(rank_)] = send_bytes;
    g.arrive();
    recv_bytes.assign(static_cast<std::size_t>(g.size), 0);
    std::int64_t total = 0;
    for (int r = 0; r < g.size; ++r) total += recv_bytes[static_cast<std::size_t>(r)] = g.counts[static_cast<std::size_t>(r)][static_cast<std::size_t>(rank_)];
    recv.resize(static_cast<std::size_t>(total));
    std::int64_t at = 0;
    for (int r = 0; r < g.size; ++r) {
      const auto& c = g.counts[static_cast<std::size_t>(r)];
      std::int64_t offset = 0;
      for (int k = 0; k < rank_; ++k) offset += c[static_cast<std::size_t>(k)];
      const auto bytes = c[static_cast<std::size_t>(rank_)];
      if (bytes > 0) std::memcpy(recv.data() + at, g.send[static_cast<std::size_t>(r)] + offset, static_cast<std::size_t>(bytes));
      at += bytes;
    }
    g.arrive();  // nobody reuses a buffer before every rank has read it
  }
  void do_allgather(std::span<const std::byte> mine, std::span<std::byte> all) override {
    auto& g = group_;
    g.send[static_cast<std::size_t>(rank_)] = mine.data();
    g.arrive();
    for (int r = 0; r < g.size; ++r)
      if (!mine.empty())
        std::memcpy(all.data() + mine.size() * static_cast<std::size_t>(r), g.send[static_cast<std::size_t>(r)], mine.size());
    g.arrive();
  }

private:
  detail::ThreadGroup& group_;
  int rank_;
};

/// @brief Runs fn(comm) on `ranks` threads, one rank each, and waits for all. Rethrows the first failure that is
/// not a comm_error caused by another rank's failure (or that comm_error when it is the only kind). Throws
/// value_error for ranks < 1.
inline void run_threads(int ranks, const std::function<void(Communicator&)>& fn) {
  GAS_CHECK(ranks >= 1, value_error, "run_threads needs at least one rank, got " << ranks);
  detail::ThreadGroup group(ranks);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(ranks));
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      ThreadComm comm(group, r);
      try {
        fn(comm);
        group.leave();
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        group.fail();
      }
    });
  for (auto& t : threads) t.join();
  std::exception_ptr consequence;
  for (const auto& e : errors) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const comm_error&) {
      if (!consequence) consequence = e;
    } catch (...) {
      std::rethrow_exception(e);
    }
  }
  if (consequence) std::rethrow_exception(consequence);
}

}  // namespace gas::dist
