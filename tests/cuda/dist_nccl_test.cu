// NcclComm under real MPI processes, one GPU each: run as `mpirun -np P test_cuda_dist_nccl` (meson's test
// cuda_dist_nccl uses P = 1, which one GPU can run; tools/cuda_emu/run_all.sh runs P = 2 under the CPU emulation, each
// process its own emulated device). Checks that NCCL carries the same exchange schedule as MPI, bit for bit: the host
// collectives, the device collectives, a sharded history's pulls, and a distributed fit of the Trainer.
// Its own main: doctest's would run on every rank. Exit 77 (a skip) without a GPU or with fewer GPUs on a node than
// ranks on it; exit 1 on the first failed check (MPI_Abort ends the others).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "gas/dist/mpi_comm.hpp"
#include "gas/dist/nccl_comm.hpp"
#include "gas/dist/sharded_device_store.cuh"
#include "gas/dist/sharded_store.hpp"
#include "gas/gas.hpp"

namespace {

int rank_of_all = 0;

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "rank %d: check failed: %s\n", rank_of_all, what);
  gas::dist::abort_job(1);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Rank r's alltoallv: an uneven block for every rank (some empty), bytes that name sender, receiver and position.
void alltoallv_input(int r, int p, std::vector<std::byte>& send, std::vector<std::int64_t>& sizes) {
  sizes.assign(static_cast<std::size_t>(p), 0);
  send.clear();
  for (int q = 0; q < p; ++q) {
    const std::int64_t n = ((r + 1) * (q + 3) * 37) % 11 == 0 ? 0 : ((r + 1) * (q + 3) * 37) % 11 * 1000 + r;
    sizes[static_cast<std::size_t>(q)] = n;
    for (std::int64_t i = 0; i < n; ++i) send.push_back(static_cast<std::byte>((r * 31 + q * 7 + i) & 0xff));
  }
}

void check_collectives(gas::dist::MpiComm& mpi, gas::dist::NcclComm& nccl) {
  const int r = mpi.rank(), p = mpi.size();
  // The rank-ordered sum: the same bits as over MPI (large terms that cancel, small ones that round).
  std::vector<float> a{1e8f * static_cast<float>(r % 2 == 0 ? 1 : -1), 0.1f * static_cast<float>(r + 1), 3.0f};
  std::vector<double> d{1.0 / (r + 3), -2.5e300 * (r % 2 == 0 ? 1 : -1)};
  auto a2 = a;
  auto d2 = d;
  mpi.allreduce_sum(std::span<float>(a));
  nccl.allreduce_sum(std::span<float>(a2));
  mpi.allreduce_sum(std::span<double>(d));
  nccl.allreduce_sum(std::span<double>(d2));
  require(same_bits(a, a2) && same_bits(d, d2), "allreduce_sum over NCCL equals it over MPI bit for bit");

  // Host alltoallv: the same bytes, the same sizes and the same counters as MPI's.
  std::vector<std::byte> send;
  std::vector<std::int64_t> sizes;
  alltoallv_input(r, p, send, sizes);
  std::vector<std::byte> got_mpi, got_nccl;
  std::vector<std::int64_t> from_mpi, from_nccl;
  mpi.reset_stats();
  nccl.reset_stats();
  mpi.alltoallv(send, sizes, got_mpi, from_mpi);
  nccl.alltoallv(send, sizes, got_nccl, from_nccl);
  require(same_bits(got_mpi, got_nccl) && from_mpi == from_nccl, "alltoallv over NCCL equals it over MPI");
  require(mpi.stats().bytes_sent == nccl.stats().bytes_sent && mpi.stats().bytes_recv == nccl.stats().bytes_recv,
          "NcclComm counts the bytes MpiComm counts");

  // Device alltoallv and allgather, queued on a stream of the caller's.
  cudaStream_t stream = nullptr;
  require(cudaStreamCreate(&stream) == cudaSuccess, "cudaStreamCreate");
  std::byte *d_send = nullptr, *d_recv = nullptr;
  require(cudaMalloc(&d_send, send.size() + 1) == cudaSuccess && cudaMalloc(&d_recv, got_mpi.size() + 1) == cudaSuccess,
          "cudaMalloc");
  cudaMemcpy(d_send, send.data(), send.size(), cudaMemcpyHostToDevice);
  nccl.alltoallv_device(d_send, sizes, d_recv, from_mpi, stream);
  std::vector<std::byte> back(got_mpi.size());
  cudaMemcpyAsync(back.data(), d_recv, back.size(), cudaMemcpyDeviceToHost, stream);
  require(cudaStreamSynchronize(stream) == cudaSuccess, "stream");
  require(same_bits(back, got_mpi), "alltoallv_device delivers what the host alltoallv does");
  std::vector<std::int64_t> mine{r * 10 + 1, -r}, all(static_cast<std::size_t>(2 * p));
  std::int64_t *d_mine = nullptr, *d_all = nullptr;
  cudaMalloc(&d_mine, 2 * sizeof(std::int64_t));
  cudaMalloc(&d_all, all.size() * sizeof(std::int64_t));
  cudaMemcpy(d_mine, mine.data(), 2 * sizeof(std::int64_t), cudaMemcpyHostToDevice);
  nccl.allgather_device(reinterpret_cast<const std::byte*>(d_mine), 2 * sizeof(std::int64_t),
                        reinterpret_cast<std::byte*>(d_all), stream);
  cudaMemcpyAsync(all.data(), d_all, all.size() * sizeof(std::int64_t), cudaMemcpyDeviceToHost, stream);
  cudaStreamSynchronize(stream);
  for (int q = 0; q < p; ++q)
    require(all[static_cast<std::size_t>(2 * q)] == q * 10 + 1 && all[static_cast<std::size_t>(2 * q + 1)] == -q,
            "allgather_device lays the ranks' blocks out in rank order");
  // A wrong block list is refused on the host, before NCCL sees it.
  bool refused = false;
  try {
    nccl.alltoallv_device(d_send, std::span<const std::int64_t>(sizes).first(0), d_recv, from_mpi, stream);
  } catch (const gas::shape_error&) {
    refused = true;
  }
  require(refused, "alltoallv_device refuses a block list of the wrong length");
  cudaFree(d_send);
  cudaFree(d_recv);
  cudaFree(d_mine);
  cudaFree(d_all);
  cudaStreamDestroy(stream);
}

using Sharded = gas::dist::ShardedStore<gas::history::HostStore<float>>;
using Model = gas::models::GCN<float, gas::host, Sharded>;

gas::Dataset sbm() {
  return gas::gen::sbm({.nodes = 600, .classes = 3, .features = 8, .degree = 6, .homophily = 0.9, .noise = 1.0,
                        .seed = 4});
}

// A distributed fit: each epoch's loss and metrics, then the final parameters, as doubles.
std::vector<double> fit(gas::dist::Communicator& comm, const gas::Dataset& data) {
  Model model(data.num_nodes(), {.in = data.num_features(), .hidden = 8, .out = data.num_classes, .layers = 2,
                                 .dropout = 0.5},
              7);
  gas::TrainerOptions o{.batch_size = 2, .epochs = 15, .seed = 5};
  o.comm = &comm;
  gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 4 * comm.size(), .seed = 1}, o);
  const auto result = trainer.fit(data);
  std::vector<double> out;
  for (const auto& e : result.epochs) out.insert(out.end(), {e.loss, e.train, e.val, e.test});
  for (const auto* q : model.parameters())
    for (const float v : q->value.values()) out.push_back(static_cast<double>(v));
  out.push_back(result.test_at_best_val);
  return out;
}

// The same fit of a device GCN whose histories live on the GPU: sharded over `comm`'s ranks, or (comm null) the
// single-process device model with the same inner store.
using DeviceStore = gas::cuda::DeviceStore<float>;
template <class Store>
using DeviceGCN = gas::models::GCN<float, gas::cuda::device, Store>;

template <class Store>
std::vector<double> fit_device(gas::dist::Communicator* comm, const gas::Dataset& data, int ranks) {
  DeviceGCN<Store> model(data.num_nodes(), {.in = data.num_features(), .hidden = 8, .out = data.num_classes,
                                            .layers = 2, .dropout = 0.5},
                         7);
  gas::TrainerOptions o{.batch_size = 2, .epochs = 15, .seed = 5};
  o.comm = comm;
  gas::Trainer<DeviceGCN<Store>, gas::partition::Metis> trainer(model, {.num_parts = 4 * ranks, .seed = 1}, o);
  const auto result = trainer.fit(data);
  std::vector<double> out;
  for (const auto& e : result.epochs) out.insert(out.end(), {e.loss, e.train, e.val, e.test});
  for (const auto* q : model.parameters()) {
    const auto h = q->value.to_host();
    for (const float v : h.values()) out.push_back(static_cast<double>(v));
  }
  out.push_back(result.test_at_best_val);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  gas::dist::MpiSession session(argc, argv);
  gas::dist::MpiComm mpi;
  rank_of_all = mpi.rank();
  // One GPU per rank of a node (NCCL refuses two ranks on one GPU).
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, mpi.rank(), MPI_INFO_NULL, &node);
  int local = 0, local_size = 1;
  MPI_Comm_rank(node, &local);
  MPI_Comm_size(node, &local_size);
  MPI_Comm_free(&node);
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
  int device = local;
#if defined(GAS_EMU)
  if (devices > 0) devices = local_size, device = 0;  // every emulating process has a device 0 of its own
#endif
  if (devices < local_size) {
    if (mpi.rank() == 0)
      std::printf("skipped: %d ranks on this node, %d GPUs (NCCL needs one GPU per rank)\n", local_size, devices);
    return 77;
  }
  try {
    // example-begin nccl-comm
    // Every rank at once: rank 0 creates NCCL's unique id and the MPI communicator carries it to the others.
    gas::dist::NcclComm nccl(mpi, device);  // device: this rank's GPU (one per rank)
    // Any code written for a Communicator runs over it: the sharded histories and the Trainer's TrainerOptions::comm.
    // example-end nccl-comm
    check_collectives(mpi, nccl);

    // A sharded history's pulls over NCCL: every rank's rows, as over MPI.
    const auto data = sbm();
    const auto part = gas::partition::Metis{.num_parts = 4 * mpi.size(), .seed = 1}.partition(data.graph);
    const gas::dist::Ownership own(part.ptr, nccl.size());
    Sharded store(nccl, own, gas::history::HostStore<float>(own.size(nccl.rank()), 5));
    std::vector<gas::node_id> mine;
    for (gas::node_id u = store.begin(); u < store.end(); ++u) mine.push_back(u);
    gas::Tensor<float> rows(static_cast<std::int64_t>(mine.size()), 5);
    for (std::int64_t i = 0; i < rows.rows(); ++i)
      for (std::int64_t f = 0; f < 5; ++f) rows(i, f) = static_cast<float>(mine[static_cast<std::size_t>(i)]) + 0.25f * f;
    store.push(mine, rows.view());
    std::vector<gas::node_id> every;
    for (gas::node_id u = data.num_nodes() - 1; u >= 0; u -= 3) every.push_back(u);  // all owners, out of order
    gas::Tensor<float> pulled(static_cast<std::int64_t>(every.size()), 5);
    store.pull(every, pulled.view());
    for (std::int64_t i = 0; i < pulled.rows(); ++i)
      for (std::int64_t f = 0; f < 5; ++f)
        require(pulled(i, f) == static_cast<float>(every[static_cast<std::size_t>(i)]) + 0.25f * f,
                "a row pulled over NCCL is its owner's row");

    // The same table in a sharded device store: a pull queued as the GPU pipeline queues it (ids on the device and
    // in pinned memory, a device slot for the rows) delivers every owner's rows, over NCCL and over MPI.
    for (gas::dist::Communicator* c : {static_cast<gas::dist::Communicator*>(&nccl), static_cast<gas::dist::Communicator*>(&mpi)}) {
      gas::dist::ShardedDeviceStore<DeviceStore> dstore(data.num_nodes(), 5);
      dstore.bind(*c, own);
      dstore.push(mine, rows.view());
      const auto n = static_cast<std::int64_t>(every.size());
      gas::cuda::PinnedBuffer<gas::node_id> h_ids(every.size());
      std::copy(every.begin(), every.end(), h_ids.data());
      gas::cuda::DeviceBuffer<gas::node_id> d_ids(every.size());
      d_ids.copy_from(std::span<const gas::node_id>(every));
      gas::cuda::DeviceBuffer<float> slot(every.size() * 5);
      gas::cuda::HostCallRing calls;
      gas::cuda::PipelineStats stats;
      cudaStream_t stream = nullptr;
      cudaStreamCreate(&stream);
      gas::cuda::PullJob<float> job{d_ids.data(), h_ids.data(), n, gas::cuda::DeviceView<float>(slot.data(), n, 5), {}};
      dstore.queue_pull(job, gas::cuda::QueueContext{&calls, &stats}, stream);
      cudaStreamSynchronize(stream);
      const auto got = slot.to_host();
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t f = 0; f < 5; ++f)
          require(got[static_cast<std::size_t>(i * 5 + f)] == static_cast<float>(every[static_cast<std::size_t>(i)]) + 0.25f * f,
                  "a row pulled by a sharded device store is its owner's row");
      cudaStreamDestroy(stream);
    }

    // The distributed Trainer over NCCL equals it over MPI, bit for bit (the same schedule, the same sums).
    const auto over_mpi = fit(mpi, data);
    const auto over_nccl = fit(nccl, data);
    require(same_bits(over_mpi, over_nccl), "a distributed fit over NCCL equals the fit over MPI bit for bit");

    // Device models with sharded GPU histories: the rows cross as device memory over NCCL (alltoallv_device) or
    // staged through the host over MPI, with the same bits; one rank is the single-process device fit, bit for bit.
    using Sharded = gas::dist::ShardedDeviceStore<DeviceStore>;
    const auto device_nccl = fit_device<Sharded>(&nccl, data, nccl.size());
    const auto device_mpi = fit_device<Sharded>(&mpi, data, mpi.size());
    require(same_bits(device_nccl, device_mpi), "a device fit over NCCL equals the device fit over MPI bit for bit");
    if (nccl.size() == 1)
      require(same_bits(device_nccl, fit_device<DeviceStore>(nullptr, data, 1)),
              "one rank's device fit equals the single-process device fit bit for bit");
    // The device pipeline pulls a step's halo before the step's pushes (the single-process pipeline's rule), the host
    // store after each layer's: other ranks' rows are a step older, so the two fits differ but learn alike.
    if (!(device_nccl.back() > 0.6 && std::abs(device_nccl.back() - over_nccl.back()) < 0.05))
      std::fprintf(stderr, "rank %d: test accuracy host %.4f, device %.4f\n", nccl.rank(), over_nccl.back(),
                   device_nccl.back());
    require(device_nccl.back() > 0.6 && std::abs(device_nccl.back() - over_nccl.back()) < 0.05,
            "the sharded device fit learns as the host one (test accuracy above 0.6, within 5 points)");
    std::printf("rank %d of %d: ok (NCCL %d.%d, device %d; host fit of %zu values and device fit of %zu values equal "
                "over MPI and NCCL; test accuracy host %.4f, device %.4f; %lld bytes sent over NCCL)\n",
                nccl.rank(), nccl.size(), NCCL_MAJOR, NCCL_MINOR, nccl.device(), over_nccl.size(), device_nccl.size(),
                over_nccl.back(), device_nccl.back(), static_cast<long long>(nccl.stats().bytes_sent));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", mpi.rank(), e.what());
    gas::dist::abort_job(1);
  }
  return 0;
}
