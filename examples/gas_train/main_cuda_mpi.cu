// gas-train-cuda-mpi: gas-train-cuda with data-parallel GAS over MPI ranks, one GPU each (docs/distributed.md), built
// with meson's `mpi` feature (and `nccl`, when found).
//
//   mpirun -np P gas-train-cuda-mpi [gas-train-cuda's flags]
//
// Rank r drives GPU (its rank on its node) mod (the node's GPU count). As gas-train-mpi, every rank trains the batches
// of its own parts and holds the history rows of its own nodes, here in a GPU store of the kind --history-store
// names, moved by the overlapped pipeline. Built with NCCL, the halo rows cross between the GPUs over NCCL
// (ncclSend/ncclRecv on the pipeline's copy stream) and the gradient and metric sums too; GAS_TRANSPORT=mpi (or a
// build without NCCL) stages them through the host over MPI instead, with the same results bit for bit. With one
// rank it trains exactly as gas-train-cuda.

#include <cstdlib>
#include <memory>
#include <string>

#include <gas/gas.hpp>
#include <gas/dist/mpi_comm.hpp>
#if defined(GAS_WITH_NCCL)
#include <gas/dist/nccl_comm.hpp>
#endif

#include "app.hpp"
#include "distributed.hpp"

int main(int argc, char** argv) {
  gas::dist::MpiSession session(argc, argv);
  gas::dist::MpiComm mpi;
  // This rank's GPU: its rank among the ranks of its node.
  MPI_Comm node = MPI_COMM_NULL;
  int local = 0, devices = 0;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, mpi.rank(), MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local);
  MPI_Comm_free(&node);
  const bool gpu = cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0;
  if (!gpu) (void)cudaGetLastError();
  const int device = gpu ? local % devices : 0;
  if (gpu) (void)cudaSetDevice(device);
  const char* transport = std::getenv("GAS_TRANSPORT");
  const bool use_mpi = transport != nullptr && std::string(transport) == "mpi";
#if defined(GAS_WITH_NCCL)
  std::unique_ptr<gas::dist::NcclComm> nccl;
  if (!use_mpi && gpu) {
    try {
      nccl = std::make_unique<gas::dist::NcclComm>(mpi, device);
    } catch (const gas::error& e) {
      std::fprintf(stderr, "gas-train-cuda-mpi (rank %d): %s: %s\n", mpi.rank(), gas::kind_of(e), e.what());
      gas::dist::abort_job(1);
    }
  }
  gas::dist::Communicator& comm = nccl ? static_cast<gas::dist::Communicator&>(*nccl) : mpi;
#else
  (void)use_mpi;
  gas::dist::Communicator& comm = mpi;
#endif
  return gas_train::run_rank<gas::cuda::device, gas_train::DeviceDistributedPolicy>(argc, argv, "gas-train-cuda-mpi",
                                                                                   comm, gas::dist::abort_job);
}
