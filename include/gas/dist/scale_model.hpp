#pragma once
/// @brief The model of scale of distributed GAS: what one step exchanges and what each rank holds, as functions of
/// the rank count P, counted from the partition and the batches a run would train (not estimated from averages).
///
/// Per step, every rank trains one batch of its own parts (dist::Ownership, loader::TrainLoader over its part range)
/// and, for each of the L - 1 histories, pulls the batch's halo rows: those it owns come from its own store, the
/// others cross the network as one request id (4 bytes) and one row (width x sizeof(T) bytes) each. Then the
/// gradients are summed over the ranks (Communicator::allreduce_sum: an allgather, so each rank sends its
/// gradient to P - 1 ranks and receives theirs). Features are held whole by every rank in this version, so layer 0
/// exchanges nothing. History memory per rank: its own nodes x width x (L - 1) values.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/dist/ownership.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/loader/batch.hpp"
#include "gas/loader/train_loader.hpp"

namespace gas::dist {

/// @brief The model's inputs besides the graph: the model's sizes and the run's batching.
struct ScaleInputs {
  std::int64_t hidden = 64;          ///< history width
  std::int32_t layers = 2;           ///< layers (L - 1 histories)
  std::int64_t parameters = 0;       ///< trainable values (the gradient allreduce)
  std::int64_t value_bytes = 4;      ///< sizeof(T): 4 for float
  std::int32_t batch_size = 1;       ///< parts per batch
  std::uint64_t seed = 0;            ///< the TrainLoader's seed (epoch 0 is counted)
};

/// @brief One rank's figures over one epoch.
struct RankScale {
  int rank = 0;
  std::int64_t nodes = 0;             ///< nodes it owns
  std::int32_t parts = 0;             ///< parts it owns
  std::int64_t steps = 0;             ///< batches per epoch
  std::int64_t halo_rows = 0;         ///< halo rows of its batches, summed over the epoch's steps (one history)
  std::int64_t remote_rows = 0;       ///< of which other ranks own (each crosses the network once per history)
  std::int64_t history_bytes = 0;     ///< its history tables: nodes x hidden x (layers - 1) x value_bytes
  double halo_bytes_per_step = 0;     ///< bytes it receives and sends for its own pulls per step, all histories:
                                      ///< remote rows x (4 + hidden x value_bytes) per history
  double served_bytes_per_step = 0;   ///< bytes it sends and receives answering other ranks' pulls per step
  double gradient_bytes_per_step = 0; ///< allreduce: parameters x value_bytes x 2 (P - 1) (sent and received)
};

/// @brief The whole run's figures: one entry per rank and the maxima a step waits for.
struct Scale {
  int ranks = 1;
  std::vector<RankScale> per_rank;
  [[nodiscard]] double max_bytes_per_step() const {
    double m = 0;
    for (const auto& r : per_rank)
      m = std::max(m, r.halo_bytes_per_step + r.served_bytes_per_step + r.gradient_bytes_per_step);
    return m;
  }
  [[nodiscard]] std::int64_t max_history_bytes() const {
    std::int64_t m = 0;
    for (const auto& r : per_rank) m = std::max(m, r.history_bytes);
    return m;
  }
};

/// @brief Counts the figures of `ranks` ranks training `graph` (clusters contiguous, pointer `ptr`) with `in`.
/// Throws what Ownership and TrainLoader throw for impossible inputs, value_error for layers < 1.
inline Scale scale_model(const Graph& graph, std::span<const std::int64_t> ptr, int ranks, const ScaleInputs& in) {
  GAS_CHECK(in.layers >= 1 && in.hidden >= 0 && in.parameters >= 0 && in.value_bytes > 0, value_error,
            "scale model: layers = " << in.layers << ", hidden = " << in.hidden << ", parameters = " << in.parameters
                                     << ", value_bytes = " << in.value_bytes);
  const Ownership own(ptr, ranks);
  Scale s;
  s.ranks = ranks;
  const std::int64_t histories = in.layers - 1;
  const double row_bytes = 4.0 + static_cast<double>(in.hidden * in.value_bytes);
  std::vector<std::int64_t> served(static_cast<std::size_t>(ranks), 0);  // rows each rank answers over the epoch
  for (int r = 0; r < ranks; ++r) {
    RankScale rs;
    rs.rank = r;
    rs.nodes = own.size(r);
    rs.parts = own.end_part(r) - own.first_part(r);
    rs.history_bytes = rs.nodes * in.hidden * histories * in.value_bytes;
    loader::TrainLoader loader(graph, std::vector<std::int64_t>(ptr.begin(), ptr.end()),
                               {.batch_size = in.batch_size, .seed = in.seed, .background = false,
                                .first_part = own.first_part(r), .end_part = own.end_part(r)});
    loader.start_epoch(0);
    for (loader::Batch b; loader.next(b);) {
      rs.steps += 1;
      rs.halo_rows += b.num_halo();
      for (const auto v : b.halo()) {
        const int o = own.owner(v);
        if (o != r) {
          rs.remote_rows += 1;
          served[static_cast<std::size_t>(o)] += 1;
        }
      }
    }
    const double steps = static_cast<double>(std::max<std::int64_t>(rs.steps, 1));
    rs.halo_bytes_per_step = static_cast<double>(rs.remote_rows * histories) * row_bytes / steps;
    rs.gradient_bytes_per_step = static_cast<double>(in.parameters * in.value_bytes) * 2.0 * (ranks - 1);
    s.per_rank.push_back(rs);
  }
  for (auto& rs : s.per_rank) {
    const double steps = static_cast<double>(std::max<std::int64_t>(rs.steps, 1));
    rs.served_bytes_per_step = static_cast<double>(served[static_cast<std::size_t>(rs.rank)] * histories) * row_bytes / steps;
  }
  return s;
}

}  // namespace gas::dist
