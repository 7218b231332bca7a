#pragma once
/// @brief `ShardedStore<Inner>`: a history table of the whole graph (num_nodes x width, global ids) of which this
/// rank holds only its own rows, in an Inner store (HostStore, HalfStore, MappedStore, ...) of size(rank) rows.
///
/// Pushes are local: a rank pushes only the rows of its own batches, which are its own nodes (dist/ownership.hpp).
/// A pull is a collective: the rows this rank owns are read from Inner, the others are requested from their owners
/// with one exchange of ids and one of rows (Communicator::alltoallv), so every rank of the group must call pull
/// the same number of times, in the same order (distributed GAS runs its ranks in lockstep: one pull per hidden
/// layer and step). A rank answers from its store as it is when it enters the pull: in a step every rank pushes
/// layer l before it pulls layer l, so a halo row owned by another rank is that rank's newest (this step's, when
/// the node is in its batch). Because every one of this rank's requests goes through the exchange, with one rank
/// it is exactly Inner's pull (SelfComm makes the exchange a local copy).

#include <cstddef>
#include <cstdint>
#include <concepts>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/dist/comm.hpp"
#include "gas/dist/ownership.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/history/concept.hpp"

namespace gas::dist {

/// @brief Rows and bytes one rank's pulls moved.
struct ExchangeStats {
  std::int64_t pulls = 0;         ///< collective pulls
  std::int64_t local_rows = 0;    ///< rows read from this rank's own store
  std::int64_t remote_rows = 0;   ///< rows this rank requested from other ranks
  std::int64_t served_rows = 0;   ///< rows this rank sent to other ranks
};

/// @brief The rows of one rank of a history table sharded by `Ownership`; satisfies history::HistoryStore with
/// global ids. The communicator must outlive the store (the store keeps its own copy of the ownership).
template <history::HistoryStore Inner>
class ShardedStore {
public:
  using value_type = typename Inner::value_type;
  using T = value_type;

  /// @brief This rank's rows of a (ownership.num_nodes() x width) table, in `inner`, which must have
  /// ownership.size(comm.rank()) rows of `width`. Throws shape_error when it does not, value_error when the
  /// communicator's size is not the ownership's rank count.
  ShardedStore(Communicator& comm, Ownership ownership, Inner inner)
      : comm_(&comm), own_(std::move(ownership)), inner_(std::move(inner)), width_(inner_.width()) {
    // own_ holds the ownership now (the argument was moved from).
    GAS_CHECK(comm.size() == own_.ranks(), value_error,
              "the communicator has " << comm.size() << " ranks but the ownership splits the nodes over "
                                      << own_.ranks());
    GAS_CHECK(inner_.num_nodes() == own_.size(comm.rank()), shape_error,
              "rank " << comm.rank() << " owns " << own_.size(comm.rank()) << " nodes but its store has "
                      << inner_.num_nodes() << " rows");
    begin_ = own_.begin(comm.rank());
    end_ = own_.end(comm.rank());
    if constexpr (std::constructible_from<Inner, std::int64_t, std::int64_t>)
      make_ = [](std::int64_t rows, std::int64_t w) { return Inner(rows, w); };
  }

  /// @brief An unbound store of a (num_nodes x width) table: what a model builds (Store(num_nodes, width)) before
  /// the partition, hence the ownership, is known. bind() gives it its rank's rows (zeros); until then every call
  /// but fill (a no-op: bind starts from zeros) throws value_error.
  ShardedStore(std::int64_t num_nodes, std::int64_t width)
    requires std::constructible_from<Inner, std::int64_t, std::int64_t>
      : ShardedStore(num_nodes, width, [](std::int64_t rows, std::int64_t w) { return Inner(rows, w); }) {}

  /// @brief An unbound store whose rows bind() makes with make(rows, width): for an Inner chosen at run time (a
  /// store kind, a file per layer) that Inner(rows, width) cannot build.
  ShardedStore(std::int64_t num_nodes, std::int64_t width, std::function<Inner(std::int64_t, std::int64_t)> make)
      : inner_(make(0, width)), make_(std::move(make)), unbound_nodes_(num_nodes), width_(width) {
    history::detail::check_table_shape(name(), num_nodes, width);
  }

  /// @brief Binds an unbound store (or rebinds a bound one) to `comm` and `ownership`: this rank's rows become a new
  /// zero-filled Inner(ownership.size(rank), width()), or what the store's make function returns. Throws shape_error
  /// when the ownership covers another node count, value_error when the communicator's size is not its rank count or
  /// the store was built from an Inner that (rows, width) cannot construct (it has no way to make new rows).
  void bind(Communicator& comm, Ownership ownership) {
    GAS_CHECK(make_ != nullptr, value_error, name() << ": a store built from its rows cannot be rebound");
    GAS_CHECK(ownership.num_nodes() == num_nodes(), shape_error,
              name() << ": the ownership covers " << ownership.num_nodes() << " nodes but the table has "
                     << num_nodes());
    GAS_CHECK(comm.size() == ownership.ranks(), value_error,
              "the communicator has " << comm.size() << " ranks but the ownership splits the nodes over "
                                      << ownership.ranks());
    comm_ = &comm;
    own_ = std::move(ownership);
    inner_ = make_(own_.size(comm.rank()), width_);
    begin_ = own_.begin(comm.rank());
    end_ = own_.end(comm.rank());
  }
  /// @brief Whether the store has a communicator and its rows.
  [[nodiscard]] bool bound() const { return comm_ != nullptr; }
  /// @brief The ownership it is bound to (empty before bind).
  [[nodiscard]] const Ownership& ownership() const { return own_; }

  [[nodiscard]] static std::string name() { return "gas::dist::ShardedStore<" + inner_name() + ">"; }
  [[nodiscard]] std::int64_t num_nodes() const { return bound() ? own_.num_nodes() : unbound_nodes_; }
  [[nodiscard]] std::int64_t width() const { return width_; }
  /// @brief This rank's store (its own rows, local ids: global id - begin()).
  [[nodiscard]] Inner& local() { return inner_; }
  [[nodiscard]] const Inner& local() const { return inner_; }
  [[nodiscard]] node_id begin() const { return begin_; }
  [[nodiscard]] node_id end() const { return end_; }
  [[nodiscard]] const ExchangeStats& exchange_stats() const { return stats_; }

  /// @brief out row i = table row ids[i], wherever it lives. A collective (see the file comment).
  void pull(std::span<const node_id> ids, MatrixView<T> out) {
    check_bound("pull");
    history::detail::check_rows_call(&name, "pull", "out", ids, out.rows(), out.cols(), num_nodes(), width());
    const int p = comm_->size();
    const auto w = width();
    const auto row_bytes = static_cast<std::size_t>(w) * sizeof(T);
    const auto asked = request(ids);
    // 2. Answers: the requested rows of this rank's store, in request order, per requester.
    answer_.resize(asked * row_bytes);
    if (asked > 0)
      inner_.pull(local_ids_, MatrixView<T>(reinterpret_cast<T*>(answer_.data()), static_cast<std::int64_t>(asked), w));
    answer_bytes(row_bytes);
    comm_->alltoallv(answer_, counts_, recv_, recv_counts_);
    // 3. Rows into place: owner r's answers arrive in the order this rank asked.
    std::size_t at = 0;
    for (int r = 0; r < p; ++r) {
      check_answer(r, row_bytes);
      for (const auto i : positions_[static_cast<std::size_t>(r)]) {
        if (w > 0) std::memcpy(&out(i, 0), recv_.data() + at, row_bytes);
        at += row_bytes;
      }
    }
    count_pull(asked);
  }

protected:
  /// Step 1 of a pull, a collective: this rank's requests grouped by owner (requests_, in the order of ids within
  /// each owner; positions_: where each answer goes), exchanged for the other ranks' requests to this one
  /// (local_ids_: the local ids to answer, in requester order; recv_counts_: the bytes of ids each rank asked).
  /// Returns how many rows this rank must answer.
  std::size_t request(std::span<const node_id> ids) {
    const int p = comm_->size();
    requests_.resize(static_cast<std::size_t>(p));
    positions_.resize(static_cast<std::size_t>(p));
    for (auto& q : requests_) q.clear();
    for (auto& q : positions_) q.clear();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const int r = own_.owner(ids[i]);
      requests_[static_cast<std::size_t>(r)].push_back(ids[i]);
      positions_[static_cast<std::size_t>(r)].push_back(static_cast<std::int64_t>(i));
    }
    send_.clear();
    counts_.assign(static_cast<std::size_t>(p), 0);
    for (int r = 0; r < p; ++r) {
      const auto& q = requests_[static_cast<std::size_t>(r)];
      const auto* b = reinterpret_cast<const std::byte*>(q.data());
      send_.insert(send_.end(), b, b + q.size() * sizeof(node_id));
      counts_[static_cast<std::size_t>(r)] = static_cast<std::int64_t>(q.size() * sizeof(node_id));
    }
    comm_->alltoallv(send_, counts_, recv_, recv_counts_);
    const auto asked = recv_.size() / sizeof(node_id);
    local_ids_.resize(asked);
    if (asked > 0) std::memcpy(local_ids_.data(), recv_.data(), asked * sizeof(node_id));  // data() may be null
    for (auto& v : local_ids_) {
      GAS_CHECK(v >= begin_ && v < end_, comm_error,
                "rank " << comm_->rank() << " was asked for node " << v << ", which it does not own");
      v -= begin_;
    }
    return asked;
  }
  /// After request(): counts_ = the bytes of rows this rank sends each rank (its answers).
  void answer_bytes(std::size_t row_bytes) {
    for (int r = 0; r < comm_->size(); ++r)
      counts_[static_cast<std::size_t>(r)] =
          recv_counts_[static_cast<std::size_t>(r)] / static_cast<std::int64_t>(sizeof(node_id)) *
          static_cast<std::int64_t>(row_bytes);
  }
  /// Owner r's answer (recv_counts_[r] bytes) must hold a row of row_bytes for every id this rank asked it.
  void check_answer(int r, std::size_t row_bytes) const {
    const auto& pos = positions_[static_cast<std::size_t>(r)];
    GAS_CHECK(recv_counts_[static_cast<std::size_t>(r)] == static_cast<std::int64_t>(pos.size() * row_bytes),
              comm_error,
              "rank " << r << " answered " << recv_counts_[static_cast<std::size_t>(r)] << " bytes for " << pos.size()
                      << " rows of " << row_bytes << " bytes");
  }
  /// Counts one pull that answered `asked` rows.
  void count_pull(std::size_t asked) {
    for (int r = 0; r < comm_->size(); ++r) {
      const auto n = static_cast<std::int64_t>(positions_[static_cast<std::size_t>(r)].size());
      if (r == comm_->rank()) stats_.local_rows += n;
      else stats_.remote_rows += n;
    }
    stats_.pulls += 1;
    stats_.served_rows += static_cast<std::int64_t>(asked - requests_[static_cast<std::size_t>(comm_->rank())].size());
  }

public:
  /// @brief Table row ids[i] = rows row i; every id must be this rank's (value_error naming the id and its owner).
  void push(std::span<const node_id> ids, MatrixView<const T> rows) {
    check_bound("push");
    history::detail::check_rows_call(&name, "push", "rows", ids, rows.rows(), rows.cols(), num_nodes(), width());
    local_ids_.resize(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      check_own(ids[i], "push");
      local_ids_[i] = ids[i] - begin_;
    }
    inner_.push(local_ids_, rows);
  }
  /// @brief Rows [offset, offset + out.rows()), which must be this rank's.
  void pull_chunk(node_id offset, MatrixView<T> out) {
    check_bound("pull_chunk");
    check_own_chunk(offset, out.rows(), "pull_chunk");
    inner_.pull_chunk(offset - begin_, out);
  }
  void push_chunk(node_id offset, MatrixView<const T> rows) {
    check_bound("push_chunk");
    check_own_chunk(offset, rows.rows(), "push_chunk");
    inner_.push_chunk(offset - begin_, rows);
  }
  /// @brief Fills this rank's rows (nothing before bind, which starts from zeros).
  void fill(T value) {
    if (bound()) inner_.fill(value);
  }

protected:
  /// Inner's name, or what it is when the kind is chosen at run time (cuda::AnyStore names its instance only).
  static std::string inner_name() {
    if constexpr (requires { Inner::name(); }) return Inner::name();
    else return "a store of a run-time kind";
  }
  void check_bound(const char* op) const {
    GAS_CHECK(bound(), value_error,
              name() << "::" << op << ": the store is not bound to a communicator and an ownership yet (bind(); the "
                     << "Trainer binds its model's histories when TrainerOptions::comm is set)");
  }
  void check_own(node_id v, const char* op) const {
    GAS_CHECK(v >= begin_ && v < end_, value_error,
              name() << "::" << op << ": node " << v << " belongs to rank " << own_.owner(v) << "; rank "
                     << comm_->rank() << " owns [" << begin_ << ", " << end_ << ") and writes only those");
  }
  void check_own_chunk(node_id offset, std::int64_t count, const char* op) const {
    GAS_CHECK(offset >= begin_ && count >= 0 && offset + count <= end_, value_error,
              name() << "::" << op << ": rows [" << offset << ", " << offset + count << ") are not all rank "
                     << comm_->rank() << "'s [" << begin_ << ", " << end_ << ")");
  }

  Communicator* comm_ = nullptr;
  Ownership own_;
  Inner inner_;  // before bind: a store of no rows
  std::function<Inner(std::int64_t, std::int64_t)> make_;  // what bind() makes this rank's rows with
  std::int64_t unbound_nodes_ = 0;
  std::int64_t width_ = 0;
  node_id begin_ = 0, end_ = 0;
  ExchangeStats stats_;
  // Scratch reused by every pull: a warm step allocates nothing.
  std::vector<std::vector<node_id>> requests_;
  std::vector<std::vector<std::int64_t>> positions_;
  std::vector<node_id> local_ids_;
  std::vector<std::byte> send_, recv_, answer_;
  std::vector<std::int64_t> counts_, recv_counts_;
};

}  // namespace gas::dist
