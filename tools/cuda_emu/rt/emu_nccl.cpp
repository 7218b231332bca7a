// CPU stand-in for the part of NCCL that gas uses (gas/dist/nccl_comm.hpp): communicators, grouped ncclSend and
// ncclRecv, ncclAllGather, over MPI. Each MPI process is one rank with its own emulated device, so a test started
// by `mpirun -np P` runs the same NCCL calls, in the same order, as P GPUs would. See README.md.
//
// Stream order: an NCCL operation is queued on its stream as device work (it runs with device memory readable, after
// the stream's earlier work and the events it waits for). Unlike a kernel it then runs at once (the host waits for
// the stream right after queuing it): the emulator runs queued work only when the host waits, and a rank whose
// send waited for its host's next synchronization could block a peer that has already entered its matching receive
// while this rank's host is itself waiting in an MPI call of the program (a deadlock a GPU cannot have, as its
// streams progress on their own). Work queued on other streams stays as lazy as the emulator's mode makes it.
//
// Limits (an error, never a silent difference): a group's operations must use one stream and one communicator; only
// sum-free calls are served (no ncclAllReduce: gas sums in rank order itself); counts above 2^31 - 1 bytes.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

namespace gas_emu {
bool enqueue_device_work(cudaStream_t stream, std::function<void()> fn);
bool is_device_range(const void* p, std::size_t n);
}  // namespace gas_emu

struct ncclComm {
  MPI_Comm mpi = MPI_COMM_NULL;
  int rank = 0, size = 1;
};

namespace {

std::size_t type_size(ncclDataType_t t) {
  switch (t) {
    case ncclInt8: case ncclUint8: return 1;
    case ncclFloat16: case ncclBfloat16: return 2;
    case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
    case ncclInt64: case ncclUint64: case ncclFloat64: return 8;
    default: return 0;
  }
}

struct Op {
  enum Kind { send, recv, allgather } kind;
  const void* in = nullptr;
  void* out = nullptr;
  std::size_t bytes = 0;  // per rank for allgather
  int peer = 0;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
};

thread_local int group_depth = 0;
thread_local std::vector<Op> group_ops;

void fail(const char* what) { std::fprintf(stderr, "GAS_EMU NCCL: %s\n", what); }

// Posts the group's point-to-point operations, runs its collectives in order, waits for all: as device work.
ncclResult_t run(std::vector<Op> ops) {
  if (ops.empty()) return ncclSuccess;
  const cudaStream_t stream = ops.front().stream;
  const ncclComm_t comm = ops.front().comm;
  for (const Op& op : ops) {
    if (op.stream != stream || op.comm != comm) {
      fail("a group mixes streams or communicators (the emulator serves one of each per group)");
      return ncclInvalidUsage;
    }
    const std::size_t span = op.kind == Op::allgather ? op.bytes * static_cast<std::size_t>(comm->size) : op.bytes;
    if (op.bytes > static_cast<std::size_t>(INT_MAX)) {
      fail("a message of 2^31 bytes or more");
      return ncclInvalidArgument;
    }
    if (op.bytes == 0) continue;
    if ((op.in != nullptr && !gas_emu::is_device_range(op.in, op.bytes)) ||
        (op.out != nullptr && !gas_emu::is_device_range(op.out, span))) {
      fail("a buffer that is not device memory");
      return ncclInvalidArgument;
    }
    if (op.kind != Op::allgather && (op.peer < 0 || op.peer >= comm->size)) {
      fail("a peer outside the communicator");
      return ncclInvalidArgument;
    }
  }
  const bool queued = gas_emu::enqueue_device_work(stream, [ops = std::move(ops), comm] {
    std::vector<MPI_Request> req;
    for (const Op& op : ops) {
      if (op.kind == Op::allgather || op.bytes == 0) continue;
      req.emplace_back();
      const int n = static_cast<int>(op.bytes);
      if (op.kind == Op::send)
        MPI_Isend(op.in, n, MPI_BYTE, op.peer, 0, comm->mpi, &req.back());
      else
        MPI_Irecv(op.out, n, MPI_BYTE, op.peer, 0, comm->mpi, &req.back());
    }
    for (const Op& op : ops)
      if (op.kind == Op::allgather)
        MPI_Allgather(op.in, static_cast<int>(op.bytes), MPI_BYTE, op.out, static_cast<int>(op.bytes), MPI_BYTE,
                      comm->mpi);
    MPI_Waitall(static_cast<int>(req.size()), req.data(), MPI_STATUSES_IGNORE);
  });
  if (!queued) return ncclInvalidArgument;
  return cudaStreamSynchronize(stream) == cudaSuccess ? ncclSuccess : ncclUnhandledCudaError;
}

ncclResult_t submit(Op op) {
  if (op.comm == nullptr) return ncclInvalidArgument;
  if (group_depth > 0) {
    group_ops.push_back(op);
    return ncclSuccess;
  }
  return run({op});
}

}  // namespace

extern "C" {

const char* ncclGetErrorString(ncclResult_t r) {
  switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (emulated NCCL)";
    case ncclSystemError: return "unhandled system error (emulated NCCL)";
    case ncclInternalError: return "internal error (emulated NCCL)";
    case ncclInvalidArgument: return "invalid argument (emulated NCCL)";
    case ncclInvalidUsage: return "invalid usage (emulated NCCL)";
    default: return "unknown result (emulated NCCL)";
  }
}
const char* ncclGetLastError(ncclComm_t) { return ""; }
ncclResult_t ncclGetVersion(int* version) {
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  std::random_device rd;
  for (auto& c : id->internal) c = static_cast<char>(rd());
  return ncclSuccess;
}

// Collective over MPI_COMM_WORLD: the id picks the ranks that form the communicator (MPI_Comm_split by its first
// bytes), as a real unique id picks the ranks that rendezvous on it.
ncclResult_t ncclCommInitRank(ncclComm_t* out, int nranks, ncclUniqueId id, int rank) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    fail("ncclCommInitRank before MPI_Init (the emulated NCCL runs over MPI)");
    return ncclInvalidUsage;
  }
  int color = 0;
  std::memcpy(&color, id.internal, sizeof(color));
  color &= INT_MAX;
  auto* c = new ncclComm;
  MPI_Comm_split(MPI_COMM_WORLD, color, rank, &c->mpi);
  MPI_Comm_rank(c->mpi, &c->rank);
  MPI_Comm_size(c->mpi, &c->size);
  if (c->size != nranks || c->rank != rank) {
    fail("ncclCommInitRank: the rank or the rank count disagrees with the ranks that share the id");
    MPI_Comm_free(&c->mpi);
    delete c;
    return ncclInvalidArgument;
  }
  *out = c;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (comm == nullptr) return ncclSuccess;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Comm_free(&comm->mpi);
  delete comm;
  return ncclSuccess;
}
ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }
ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  *count = comm->size;
  return ncclSuccess;
}
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  *rank = comm->rank;
  return ncclSuccess;
}
ncclResult_t ncclCommGetAsyncError(ncclComm_t, ncclResult_t* error) {
  *error = ncclSuccess;
  return ncclSuccess;
}

ncclResult_t ncclGroupStart() {
  ++group_depth;
  return ncclSuccess;
}
ncclResult_t ncclGroupEnd() {
  if (group_depth == 0) return ncclInvalidUsage;
  if (--group_depth > 0) return ncclSuccess;
  std::vector<Op> ops;
  ops.swap(group_ops);
  return run(std::move(ops));
}

ncclResult_t ncclSend(const void* buf, size_t count, ncclDataType_t type, int peer, ncclComm_t comm,
                      cudaStream_t stream) {
  if (type_size(type) == 0) return ncclInvalidArgument;
  return submit({Op::send, buf, nullptr, count * type_size(type), peer, comm, stream});
}
ncclResult_t ncclRecv(void* buf, size_t count, ncclDataType_t type, int peer, ncclComm_t comm, cudaStream_t stream) {
  if (type_size(type) == 0) return ncclInvalidArgument;
  return submit({Op::recv, nullptr, buf, count * type_size(type), peer, comm, stream});
}
ncclResult_t ncclAllGather(const void* in, void* out, size_t count, ncclDataType_t type, ncclComm_t comm,
                           cudaStream_t stream) {
  if (type_size(type) == 0) return ncclInvalidArgument;
  return submit({Op::allgather, in, out, count * type_size(type), 0, comm, stream});
}

}  // extern "C"
