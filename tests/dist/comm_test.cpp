#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/dist/comm.hpp"
#include "gas/dist/thread_comm.hpp"

namespace {

/// alltoallv where rank r sends (r + 1) * (k + 1) bytes of value 16 r + k to rank k.
void exchange_pattern(gas::dist::Communicator& comm) {
  const int p = comm.size(), r = comm.rank();
  std::vector<std::byte> send;
  std::vector<std::int64_t> counts;
  for (int k = 0; k < p; ++k) {
    counts.push_back((r + 1) * (k + 1));
    send.insert(send.end(), static_cast<std::size_t>((r + 1) * (k + 1)), static_cast<std::byte>(16 * r + k));
  }
  std::vector<std::byte> recv;
  std::vector<std::int64_t> recv_counts;
  comm.alltoallv(send, counts, recv, recv_counts);
  REQUIRE(recv_counts.size() == static_cast<std::size_t>(p));
  std::size_t at = 0;
  for (int s = 0; s < p; ++s) {
    CHECK(recv_counts[static_cast<std::size_t>(s)] == (s + 1) * (r + 1));
    for (std::int64_t i = 0; i < recv_counts[static_cast<std::size_t>(s)]; ++i)
      CHECK(recv[at++] == static_cast<std::byte>(16 * s + r));
  }
}

}  // namespace

TEST_CASE("SelfComm: every collective is the identity") {
  gas::dist::SelfComm comm;
  exchange_pattern(comm);
  std::vector<double> v{1.5, -2.25};
  comm.allreduce_sum(std::span<double>(v));
  CHECK(v == std::vector<double>{1.5, -2.25});
  comm.barrier();
  CHECK(comm.stats().bytes_sent == 0);
}

TEST_CASE("run_threads: alltoallv, allgather and the rank-ordered sum on 1 to 4 ranks") {
  for (int p = 1; p <= 4; ++p) {
    std::vector<std::vector<float>> sums(static_cast<std::size_t>(p));
    gas::dist::run_threads(p, [&](gas::dist::Communicator& comm) {
      exchange_pattern(comm);
      // Values whose float sum depends on the order: the rank-ordered sum is the same on every rank.
      std::vector<float> v{1e8f * static_cast<float>(comm.rank() % 2 == 0 ? 1 : -1), 0.1f * static_cast<float>(comm.rank() + 1)};
      comm.allreduce_sum(std::span<float>(v));
      sums[static_cast<std::size_t>(comm.rank())] = v;
      comm.barrier();
      if (p > 1) CHECK(comm.stats().bytes_sent > 0);
    });
    float expect0 = 0, expect1 = 0;
    for (int r = 0; r < p; ++r) {
      expect0 += 1e8f * static_cast<float>(r % 2 == 0 ? 1 : -1);
      expect1 += 0.1f * static_cast<float>(r + 1);
    }
    for (const auto& s : sums) {
      CHECK(s[0] == expect0);
      CHECK(s[1] == expect1);
    }
  }
}

TEST_CASE("run_threads: a rank that throws cancels the others' collectives instead of hanging them") {
  std::atomic<int> cancelled{0};
  CHECK_THROWS_WITH_AS(gas::dist::run_threads(3,
                                              [&](gas::dist::Communicator& comm) {
                                                if (comm.rank() == 1) throw gas::value_error("rank 1 failed");
                                                try {
                                                  comm.barrier();
                                                } catch (const gas::comm_error&) {
                                                  cancelled += 1;
                                                  throw;
                                                }
                                              }),
                       "rank 1 failed", gas::value_error);
  CHECK(cancelled == 2);
  // A rank that returns while another still calls a collective: comm_error, not a hang.
  CHECK_THROWS_AS(gas::dist::run_threads(2,
                                         [](gas::dist::Communicator& comm) {
                                           if (comm.rank() == 0) comm.barrier();
                                         }),
                  gas::comm_error);
  CHECK_THROWS_AS(gas::dist::run_threads(0, [](gas::dist::Communicator&) {}), gas::value_error);
}

TEST_CASE("alltoallv checks its block sizes against the buffer and the group") {
  gas::dist::SelfComm comm;
  std::vector<std::byte> send(4), recv;
  std::vector<std::int64_t> counts{5}, two{2, 2}, recv_counts;
  CHECK_THROWS_AS(comm.alltoallv(send, counts, recv, recv_counts), gas::shape_error);
  CHECK_THROWS_AS(comm.alltoallv(send, two, recv, recv_counts), gas::shape_error);
}
