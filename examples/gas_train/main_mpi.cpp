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

#include <gas/gas.hpp>
#include <gas/dist/mpi_comm.hpp>

#include "app.hpp"
#include "distributed.hpp"

int main(int argc, char** argv) {
  gas::dist::MpiSession mpi(argc, argv);
  gas::dist::MpiComm comm;
  return gas_train::run_rank<gas::host, gas_train::DistributedPolicy>(argc, argv, "gas-train-mpi", comm,
                                                                      gas::dist::abort_job);
}
