#pragma once
/// @brief `MpiComm`: the Communicator of ranks run by MPI (`mpirun -np P program ...`), one process each. Needs
/// <mpi.h>, so it is not part of gas/gas.hpp: programs built with meson's `mpi` feature include it.
///
/// Failure: MPI's default handler aborts the whole job on a transport error; the communicator switches to
/// MPI_ERRORS_RETURN and throws comm_error naming the call and MPI's message instead. A rank that fails in the
/// library's own code must not leave the others waiting in a collective: the programs call `abort_job` (MPI_Abort)
/// when they catch an error while other ranks run, which ends every rank.

// MPI's C API only: OpenMPI's deprecated C++ bindings (and MPICH's) warn under -Wextra and are not used here.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/error.hpp"
#include "gas/dist/comm.hpp"

namespace gas::dist {

/// @brief Starts and ends MPI for a program: construct first in main (MPI_Init_thread, FUNNELED: only the main
/// thread calls MPI), destroy last (MPI_Finalize). A program run without mpirun is one rank.
class MpiSession {
public:
  MpiSession(int& argc, char**& argv) {
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw comm_error("MPI_Init_thread failed");
  }
  ~MpiSession() { MPI_Finalize(); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

/// @brief Ends every rank of the job with exit code `code` (after an error on one rank).
inline void abort_job(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

/// @brief A Communicator over an MPI communicator (MPI_COMM_WORLD by default).
class MpiComm final : public Communicator {
public:
  explicit MpiComm(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }

protected:
  void do_alltoallv(std::span<const std::byte> send, std::span<const std::int64_t> send_bytes,
                    std::vector<std::byte>& recv, std::vector<std::int64_t>& recv_bytes) override {
    const auto p = static_cast<std::size_t>(size_);
    counts_.assign(p, 0);
    for (std::size_t r = 0; r < p; ++r) counts_[r] = to_int(send_bytes[r], "alltoallv block");
    recv_counts_.assign(p, 0);
    check(MPI_Alltoall(counts_.data(), 1, MPI_INT, recv_counts_.data(), 1, MPI_INT, comm_), "MPI_Alltoall");
    send_displs_.assign(p, 0);
    recv_displs_.assign(p, 0);
    std::int64_t s = 0, t = 0;
    for (std::size_t r = 0; r < p; ++r) {
      send_displs_[r] = to_int(s, "alltoallv send offset");
      recv_displs_[r] = to_int(t, "alltoallv receive offset");
      s += counts_[r];
      t += recv_counts_[r];
    }
    recv.resize(static_cast<std::size_t>(t));
    recv_bytes.assign(recv_counts_.begin(), recv_counts_.end());
    check(MPI_Alltoallv(send.data(), counts_.data(), send_displs_.data(), MPI_BYTE, recv.data(), recv_counts_.data(),
                        recv_displs_.data(), MPI_BYTE, comm_),
          "MPI_Alltoallv");
  }
  void do_allgather(std::span<const std::byte> mine, std::span<std::byte> all) override {
    const int n = to_int(static_cast<std::int64_t>(mine.size()), "allgather block");
    check(MPI_Allgather(mine.data(), n, MPI_BYTE, all.data(), n, MPI_BYTE, comm_), "MPI_Allgather");
  }

private:
  // MPI 3 counts are int: a block of 2 GiB or more would need the large-count calls of MPI 4.
  static int to_int(std::int64_t v, const char* what) {
    GAS_CHECK(v >= 0 && v <= INT_MAX, value_error,
              what << " of " << v << " bytes exceeds MPI's int counts (2 GiB); use more ranks or smaller batches");
    return static_cast<int>(v);
  }
  static void check(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw comm_error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(len)));
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<int> counts_, recv_counts_, send_displs_, recv_displs_;
};

}  // namespace gas::dist
