// gas-train-mpi: gas-train with data-parallel GAS over MPI (docs/distributed.md), built with meson's `mpi` feature.
//
//   mpirun -np P gas-train-mpi [gas-train's flags]
//
// Every rank loads the same dataset and partitions it the same way; rank r trains the batches of its own parts
// (--num-parts must be a multiple of P), holds the history rows of its own nodes, exchanges halo rows with the
// others once per history and step and sums the gradients in rank order, so every rank applies the same step and
// selects the same epoch. Rank 0 prints and writes the report (--json adds the collectives' bytes and time and
// every rank's peak memory); the other ranks are silent. With one rank it trains exactly as gas-train.
// An error on any rank ends the whole job (MPI_Abort) with the message and exit status 1, or 2 for a
// configuration error, so no rank waits forever in a collective.

#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

#include <gas/gas.hpp>
#include <gas/dist/mpi_comm.hpp>

#include "app.hpp"
#include "distributed.hpp"

int main(int argc, char** argv) {
  gas::dist::MpiSession mpi(argc, argv);
  gas::dist::MpiComm comm;
  gas_train::DistributedPolicy::comm = &comm;
  // Only rank 0 speaks; the others would print the same lines.
  if (comm.rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
  int status = 0;
  try {
    status = gas_train::run<gas::host, gas_train::DistributedPolicy>(argc, argv);
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "gas-train-mpi (rank %d): config_error: %s\n", comm.rank(), e.what());
    status = 2;
  } catch (const gas::error& e) {
    std::fprintf(stderr, "gas-train-mpi (rank %d): %s: %s\n", comm.rank(), gas::kind_of(e), e.what());
    status = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gas-train-mpi (rank %d): error: %s\n", comm.rank(), e.what());
    status = 1;
  }
  // A failed rank cannot leave the others waiting in a collective: end the job. When every rank fails alike (a
  // configuration error), rank 0's abort comes first and ends the others: OpenMPI 4.1's mpirun can crash when all
  // ranks abort at the same moment.
  if (status == 1 || status == 2) {
    if (comm.rank() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    gas::dist::abort_job(status);
  }
  return status;
}
