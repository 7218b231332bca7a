#pragma once
/// @brief `Trainer`: GAS training of a ScalableGNN model end to end, as the reference's training scripts do it:
/// whole-graph normalization, partition and permutation, history warm-up, epochs of mini-batch steps with
/// Adam over two weight-decay groups, layer-wise evaluation after each epoch and best-validation selection.
/// `Mode::full` trains the same model full-batch without histories (the baseline GAS is measured against).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/dist/comm.hpp"
#include "gas/dist/ownership.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/graph/transforms.hpp"
#include "gas/history/concept.hpp"
#include "gas/loader/batch.hpp"
#include "gas/loader/bounds.hpp"
#include "gas/loader/eval_loader.hpp"
#include "gas/loader/train_loader.hpp"
#include "gas/models/scalable_gnn.hpp"
#include "gas/ops/loss.hpp"
#include "gas/partition/partition.hpp"
#include "gas/partition/permute.hpp"
#include "gas/train/checkpoint.hpp"
#include "gas/train/clip.hpp"
#include "gas/train/metrics.hpp"
#include "gas/train/optimizer.hpp"

namespace gas {

struct EpochRecord;
struct TrainResult;

/// @brief How a Trainer trains: batching, length, optimizer, clipping, seed and mode.
struct TrainerOptions {
  std::int32_t batch_size = 1;              ///< clusters per GAS step
  std::int64_t max_steps = 0;               ///< GAS steps per epoch at most; 0 = ceil(num_parts / batch_size)
  std::int32_t epochs = 200;                ///< training epochs (>= 1)
  double lr = 0.01;                         ///< Adam's learning rate, both groups
  double reg_weight_decay = 5e-4;           ///< weight decay of the model's reg_parameters()
  double nonreg_weight_decay = 0;           ///< weight decay of the model's nonreg_parameters()
  std::optional<double> grad_clip{};        ///< clip the total gradient norm to this, when set
  std::uint64_t seed = 0;                   ///< batch order and dropout masks; the same seed gives the same Result
  /// GAS mini-batches with histories, or the full-batch baseline (no partition, no histories).
  enum class Mode { gas, full } mode = Mode::gas;
  bool background_loader = true;            ///< build the next GAS batch in a worker thread
  std::int32_t eval_every = 1;              ///< evaluate after every eval_every-th epoch (and after the last)
  /// How histories and batch inputs move on the GPU (models::HistoryIO::sync or overlapped); unset keeps the
  /// model's own setting (overlapped for a device model with a GPU store). Host models accept only sync.
  std::optional<models::HistoryIO> history_io{};
  /// Which of the dataset's splits the fit trains on and scores (gas/graph/splits.hpp draws or picks them per run).
  std::int32_t split = 0;
  /// The metric that scores epochs and selects the best one; unset: train::metric_for(data), the dataset's
  /// published metric. Must suit the targets (micro-F1 for multi-label, ROC-AUC for two classes).
  std::optional<train::Metric> metric{};

  /// Early stopping: end the fit after this many evaluations in a row without a better validation metric
  /// (0: never). The best-validation selection is unchanged, so the result is that of the best epoch.
  std::int32_t patience = 0;
  /// Where the run's state is saved (empty: nowhere): after every checkpoint_every-th epoch, at the end, and
  /// when `stop` ends the fit. A checkpoint holds the state after an evaluated epoch (or before the first
  /// epoch): parameters, buffers, optimizer state and step counter, the curves and the best-so-far; a resumed
  /// run recomputes the histories with that evaluation's layer-wise inference. See TrainerOptions::resume.
  std::filesystem::path checkpoint{};
  std::int32_t checkpoint_every = 0;  ///< 0: only at the end and on stop; else a multiple of eval_every
  /// A checkpoint to continue from: fit() restores it and trains on to `epochs` epochs in all, with the same
  /// steps, seeds and results, bit for bit, as the run that wrote it would have (checkpoint epochs must be
  /// evaluated ones, which checkpoint_every guarantees). Refused with config_error naming what differs when it
  /// was written for another model, dataset, partition or options; format_error when it is damaged.
  std::filesystem::path resume{};
  /// The application's configuration (model kind, hyperparameters), saved and compared on resume.
  std::map<std::string, std::string> checkpoint_meta{};
  /// The application's notes, saved but not compared (Trainer::resumed_info() returns them after a resume).
  std::map<std::string, std::string> checkpoint_info{};
  /// When this becomes true (a signal handler sets it), fit() ends after the current training step, saves the
  /// last checkpoint state (when `checkpoint` is set) and returns with TrainResult::stopped. Null: never.
  const std::atomic<bool>* stop = nullptr;
  /// Called after each epoch (its record, evaluated or not, and the result so far): progress bars, logs.
  std::function<void(const EpochRecord&, const TrainResult&)> on_epoch{};
  /// Called after each training step: (steps done, steps in the epoch).
  std::function<void(std::int64_t, std::int64_t)> on_step{};
  /// Distributed GAS (docs/distributed.md): this rank's communicator, or null for a single process. Every rank runs
  /// the same fit on the same data and partitioner; rank r trains the batches of its own parts (dist::Ownership; the
  /// part count must be a multiple of the rank count), the model's histories must be dist::ShardedStore (bound here),
  /// gradients are summed over the ranks and divided by the number of ranks whose batch had training nodes, and
  /// evaluation sums the ranks' logits before scoring, so every rank selects the same epoch. With one rank this is
  /// the single-process fit bit for bit. Host models, GAS mode; no checkpoints or resume yet.
  dist::Communicator* comm = nullptr;
};

/// @brief What one epoch did. Metrics are NaN for an epoch that was not evaluated.
struct EpochRecord {
  std::int32_t epoch = 0;  ///< 0-based
  double loss = 0;     ///< mean training loss, weighted by the training nodes of each step
  double train = 0;    ///< metric on the training split after the epoch
  double val = 0;      ///< metric on the validation split
  double test = 0;     ///< metric on the test split
  double seconds = 0;  ///< wall time of the epoch's training steps (evaluation excluded)
  double lr = 0;       ///< the learning rate the epoch trained with
};

/// @brief The outcome of Trainer::fit.
struct TrainResult {
  std::vector<EpochRecord> epochs;
  double best_val = 0;                 ///< best validation metric over the evaluated epochs
  double test_at_best_val = 0;         ///< test metric of that epoch (the number papers report)
  std::int32_t best_epoch = -1;        ///< the first epoch that reached best_val
  double train_seconds = 0;            ///< sum of the epochs' training seconds
  double total_seconds = 0;            ///< the whole fit: preprocessing, history warm-up, training, evaluation
  std::int32_t resumed_epochs = 0;     ///< epochs restored from TrainerOptions::resume (their records included)
  bool stopped = false;                ///< TrainerOptions::stop ended the fit before `epochs`
  bool early_stopped = false;          ///< patience ended the fit before `epochs`
};

/// @brief Trainer::predict's outputs, rows in the dataset's original node order, in host memory.
template <class T>
struct Prediction {
  Tensor<T, host> logits;      ///< (num_nodes, classes) the model's outputs (before softmax / sigmoid)
  Tensor<T, host> embeddings;  ///< (num_nodes, hidden) the last hidden layer; empty for a one-layer model
};

/// @brief What Trainer needs of a model: a ScalableGNN (a registry of parameters split into the reference's two
/// weight-decay groups, with histories) whose `traits` are a models::ModelTraits, declared in one place.
template <class M>
concept TrainableModel = requires(M& m) {
  typename M::value_type;
  typename M::backend_type;
  typename M::store_type;
  requires std::same_as<std::remove_cv_t<decltype(M::traits)>, models::ModelTraits>;
  requires requires(std::vector<autograd::Parameter<typename M::value_type, typename M::backend_type>*> params) {
    params = m.parameters();
    params = m.reg_parameters();
    params = m.nonreg_parameters();
  };
  { m.in_features() } -> std::convertible_to<std::int64_t>;
  { m.out_features() } -> std::convertible_to<std::int64_t>;
  { m.num_nodes() } -> std::convertible_to<std::int64_t>;
};

/// @brief Whether a model's regularization_loss(tape) exists (what traits.regularization must say).
template <class M>
concept HasRegularizationLoss =
    requires(M& m, autograd::Tape<typename M::value_type, typename M::backend_type>& tape) { m.regularization_loss(tape); };

namespace detail {

/// @brief The counter_hash stream of the trainer's per-step forward seeds ("trn0").
inline constexpr std::uint64_t trainer_seed_stream = 0x74726e30;

}  // namespace detail

/// @brief Trains `Model` with GAS (or full-batch) on a Dataset and reports curves and the best-validation metric.
/// @tparam Model a TrainableModel (a ScalableGNN such as models::GCN), built for the dataset's node count.
/// @tparam P the partitioner (partition::Metis, Random, Contiguous); its own fields carry its seed.
/// @tparam Store the history store: the model's own (Model::store_type, the default), since the model owns its
/// histories.
///
/// Step k of a run (counted over all epochs) seeds its dropout masks with counter_hash(seed, "trn0", k) in both
/// modes, so on one partition with batch size 1 a GAS run and a full run take the same steps bit for bit.
/// Evaluation in GAS mode is the model's layer-wise inference, which also refreshes the histories (staleness at
/// most one epoch, as in the reference); in full mode it is forward_full in evaluation mode.
/// The trainer holds a reference to the model, which must outlive it.
template <class Model, partition::Partitioner P, history::HistoryStore Store = typename Model::store_type>
  requires TrainableModel<Model>
class Trainer {
  static_assert(std::is_same_v<Store, typename Model::store_type>,
                "gas::Trainer: the Store argument must be the model's history store type (Model::store_type): the "
                "model owns its histories, so build the model with the store you name here, or leave it out");
  static_assert(Model::traits.regularization == HasRegularizationLoss<Model>,
                "gas::Trainer: Model::traits.regularization must say whether the model has regularization_loss(tape) "
                "(declare static constexpr models::ModelTraits traits{.regularization = true} beside it, or fix the "
                "function's name)");

public:
  using Options = TrainerOptions;
  using Result = TrainResult;
  using T = typename Model::value_type;
  using Backend = typename Model::backend_type;

  /// @brief A trainer of `model` (kept by reference) with `partitioner` and `options`. Throws config_error for
  /// batch_size < 1, max_steps < 0, epochs < 1, eval_every < 1, a negative lr or weight decay, a negative or
  /// non-finite grad_clip.
  Trainer(Model& model, P partitioner, Options options = {})
      : model_(&model), partitioner_(std::move(partitioner)), options_(options) {
    const auto& o = options_;
    GAS_CHECK(o.batch_size >= 1, config_error, "batch_size = " << o.batch_size << " must be at least 1");
    GAS_CHECK(o.max_steps >= 0, config_error, "max_steps = " << o.max_steps << " must be non-negative");
    GAS_CHECK(o.epochs >= 1, config_error, "epochs = " << o.epochs << " must be at least 1");
    GAS_CHECK(o.eval_every >= 1, config_error, "eval_every = " << o.eval_every << " must be at least 1");
    GAS_CHECK(o.lr >= 0, config_error, "lr = " << o.lr << " is negative");
    GAS_CHECK(o.reg_weight_decay >= 0 && o.nonreg_weight_decay >= 0, config_error,
              "weight decays reg = " << o.reg_weight_decay << ", nonreg = " << o.nonreg_weight_decay
                                     << " must be non-negative");
    GAS_CHECK(!o.grad_clip || (*o.grad_clip >= 0 && *o.grad_clip < std::numeric_limits<double>::infinity()),
              config_error, "grad_clip = " << o.grad_clip.value_or(0) << " must be finite and non-negative");
    GAS_CHECK(o.patience >= 0, config_error, "patience = " << o.patience << " must be non-negative");
    GAS_CHECK(o.comm == nullptr || (o.mode == Options::Mode::gas && o.checkpoint.empty() && o.resume.empty()),
              config_error,
              "distributed training (TrainerOptions::comm) runs in GAS mode without checkpoints or resume for now");
    GAS_CHECK(o.checkpoint_every >= 0 && o.checkpoint_every % o.eval_every == 0, config_error,
              "checkpoint_every = " << o.checkpoint_every << " must be a non-negative multiple of eval_every = "
                                    << o.eval_every
                                    << ": a checkpoint follows an evaluation, whose inference a resumed run repeats");
  }

  /// @brief The options the trainer was built with.
  [[nodiscard]] const Options& options() const { return options_; }

  /// @brief The parameter values of the best-validation epoch of the last fit (in model.parameters() order);
  /// empty before a fit. Batch-norm running statistics are buffers, not parameters, and are not kept.
  [[nodiscard]] const std::vector<Tensor<T, Backend>>& best_parameters() const { return best_; }

  /// @brief Copies best_parameters() into the model. Its histories then describe other parameters: run the
  /// model's inference (or fill_histories) before reading them. Throws value_error before any fit.
  void load_best() {
    GAS_CHECK(!best_.empty(), value_error, "no best parameters: call fit() first");
    const auto params = model_->parameters();
    GAS_CHECK(params.size() == best_.size(), shape_error,
              "the model has " << params.size() << " parameters but " << best_.size() << " were kept");
    for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = copy_of(best_[k]);
    const auto buffers = model_->named_buffers();
    if (buffers.size() == best_buffers_.size())  // running statistics of the best epoch, too
      for (std::size_t k = 0; k < buffers.size(); ++k) restore_buffer(buffers[k], best_buffers_[k]);
  }

  /// @brief The application's checkpoint_info of the checkpoint the last fit resumed from (empty otherwise).
  [[nodiscard]] const std::map<std::string, std::string>& resumed_info() const { return resumed_info_; }

  /// @brief The outputs of the best-validation model (load_best(), then layer-wise inference over the graph of
  /// the last fit) for every node, in the dataset's original order: logits and the last hidden layer's
  /// embeddings. The model keeps the best parameters afterwards. Throws value_error before any fit.
  Prediction<T> predict() {
    GAS_CHECK(fitted_, value_error, "predict() needs a fit() first: it runs on the graph fit() prepared");
    GAS_CHECK(options_.comm == nullptr, config_error, "predict() after a distributed fit is not built yet");
    if (!best_.empty()) load_best();
    Model& model = *model_;
    std::optional<loader::EvalLoader> whole;
    const loader::EvalLoader* eval = eval_loader_ ? &*eval_loader_ : nullptr;
    if (eval == nullptr) {  // full mode: one batch holding the whole graph, with the same layer-wise inference
      whole.emplace(prep_.data.graph, std::vector<std::int64_t>{0, prep_.data.num_nodes()}, 1);
      eval = &*whole;
    }
    Prediction<T> out;
    out.logits = unpermute(model.inference(prep_.data.features, *eval));
    if (model.num_layers() > 1) {
      model.drain_histories();
      auto& last = model.histories()[static_cast<std::size_t>(model.num_layers() - 2)];
      Tensor<typename Model::store_type::value_type, host> rows(last.num_nodes(), last.width());
      last.pull_chunk(0, rows.view());
      out.embeddings = unpermute(rows);
    }
    return out;
  }

  /// @brief Frees what fit() keeps for predict() (the permuted copy of the dataset, the evaluation batches).
  void release() {
    eval_loader_.reset();
    own_.reset();
    prep_ = Prepared{};
    inverse_.clear();
    fitted_ = false;
  }

  /// @brief Trains the model on split options().split of `data` for options().epochs epochs and returns the curves and the
  /// test metric at the best validation metric (options().metric, else train::metric_for: the dataset's published one).
  ///
  /// Throws config_error when the dataset has no targets, no split, or an empty train/val/test set;
  /// shape_error when the model was built for another node count, feature width or class count;
  /// partition_error from the partitioner in GAS mode (e.g. more parts than nodes; full mode never partitions).
  /// Parameters keep their last values;
  /// best_parameters() holds the selected ones.
  Result fit(const Dataset& data) {
    const auto fit_start = std::chrono::steady_clock::now();
    check_dataset(data);
    Model& model = *model_;
    const std::int64_t classes = data.num_classes;
    metric_ = options_.metric.value_or(train::metric_for(data));
    release();

    // Normalize over the whole graph before any cut: every in-batch row then keeps its exact weights.
    Graph normalized = Model::traits.gcn_norm ? gcn_normalize(data.graph) : Graph();
    const Graph& adj_original = Model::traits.gcn_norm ? normalized : data.graph;

    std::vector<std::int64_t> ptr;
    std::string partition_id = "none";
    if (options_.mode == Options::Mode::gas) {
      const partition::Partition part = partitioner_.partition(data.graph);
      prep_ = prepare(data, adj_original, &part);
      ptr = part.ptr;
      if (options_.comm != nullptr) bind_ranks(model, ptr);
      inverse_ = part.inverse;
      partition_id = partition_fingerprint(part);
    } else {
      prep_ = prepare(data, adj_original, nullptr);
    }
    normalized = Graph();  // the permuted copy (or the original) is all that is needed from here on
    Prepared& prep = prep_;
    fitted_ = true;

    // Adam over the reference's two groups; every trainable parameter must be in exactly one of them.
    const auto all = model.parameters();
    auto reg = model.reg_parameters();
    auto nonreg = model.nonreg_parameters();
    GAS_CHECK(reg.size() + nonreg.size() == all.size(), value_error,
              "the model's reg_parameters (" << reg.size() << ") and nonreg_parameters (" << nonreg.size()
                                             << ") do not split its " << all.size() << " parameters");
    std::vector<train::ParamGroup<T, Backend>> groups;
    if (!reg.empty()) groups.push_back({std::move(reg), {}, options_.reg_weight_decay});
    if (!nonreg.empty()) groups.push_back({std::move(nonreg), {}, options_.nonreg_weight_decay});
    train::Adam<T, Backend> optimizer(std::move(groups), {.lr = options_.lr});

    Result result;
    result.best_val = -std::numeric_limits<double>::infinity();
    result.test_at_best_val = std::numeric_limits<double>::quiet_NaN();
    result.epochs.reserve(static_cast<std::size_t>(options_.epochs));
    best_.clear();
    best_buffers_.clear();
    resumed_info_.clear();
    step_ = 0;
    since_best_ = 0;

    const std::map<std::string, std::string> meta = fingerprint(data, partition_id);
    std::int32_t first_epoch = 0;
    if (!options_.resume.empty()) first_epoch = restore(train::Checkpoint::load(options_.resume), meta, optimizer, result);
    result.resumed_epochs = first_epoch;

    if (options_.history_io) model.set_history_io(*options_.history_io);
    std::optional<loader::TrainLoader> train_loader;
    if (options_.mode == Options::Mode::gas) {
      // Every buffer of the history pipeline is sized once, here, for the largest batch the partition allows.
      model.reserve_io(loader::batch_bounds(prep.data.graph, ptr, options_.batch_size));
      // A rank trains and evaluates its own parts only (all of them without a communicator).
      const std::int32_t first_part = own_ ? own_->first_part(options_.comm->rank()) : 0;
      const std::int32_t end_part = own_ ? own_->end_part(options_.comm->rank()) : -1;
      eval_loader_.emplace(prep.data.graph, ptr, options_.batch_size, first_part, end_part);
      train_loader.emplace(prep.data.graph, ptr,
                           loader::TrainLoaderOptions{.batch_size = options_.batch_size,
                                                      .max_steps = options_.max_steps,
                                                      .seed = options_.seed,
                                                      .background = options_.background_loader,
                                                      .first_part = first_part,
                                                      .end_part = end_part});
      // A resumed run's histories are those of the evaluation that preceded its checkpoint: the same inference.
      if (first_epoch > 0)
        (void)model.inference(prep.data.features, *eval_loader_);
      else
        model.fill_histories(prep.data.features, *eval_loader_);
    }

    // Full mode's one batch is the whole graph in id order: its targets never change.
    if (options_.mode == Options::Mode::full) set_targets(prep, prep.iota, prep.data.num_nodes(), classes);

    // A stop saves the state after the last evaluated epoch, which is kept in memory only when a stop can come.
    const bool saving = !options_.checkpoint.empty(), keep_last = saving && options_.stop != nullptr;
    std::optional<train::Checkpoint> snapshot;
    if (keep_last) snapshot = capture(meta, first_epoch, optimizer, result);
    auto stop_requested = [this] { return options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed); };

    autograd::Tape<T, Backend> tape;
    loader::Batch batch, next_batch;
    const FeatureView<float> features = prep.data.features.view();
    for (std::int32_t epoch = first_epoch; epoch < options_.epochs && !stop_requested(); ++epoch) {
      EpochRecord record;
      record.epoch = epoch;
      record.lr = optimizer.lr();
      const auto start = std::chrono::steady_clock::now();
      double loss_sum = 0;
      std::int64_t loss_count = 0;
      // On the GPU pipeline a step's loss is read one step late (queue_loss returns the previous one) and the
      // last at the end of the epoch; the sum is the same, in the same order.
      auto add_loss = [&loss_sum](std::optional<double> v) {
        if (v) loss_sum += *v;
      };
      if (options_.mode == Options::Mode::gas) {
        train_loader->start_epoch(epoch);
        const std::int64_t steps = train_loader->steps_per_epoch();
        std::int64_t done = 0;
        bool have = train_loader->next(batch);
        if (have) model.stage(features, batch);
        while (have && !stop_requested()) {
          set_targets(prep, batch.n_id, batch.batch_size, classes);
          if (options_.comm != nullptr) {
            add_loss(distributed_step(tape, features, batch, optimizer, all));
            loss_count += static_cast<std::int64_t>(local_rows_.size());
          } else if (!local_rows_.empty()) {  // a batch without a training node has nothing to learn from
            tape.reset();
            auto out = model.forward(tape, features, batch, true, next_seed());  // (batch_size, out)
            add_loss(train_step(tape, out, optimizer, all));
            loss_count += static_cast<std::int64_t>(local_rows_.size());
          }
          // The next batch is staged while the GPU works on this one (a no-op on the synchronous path).
          have = train_loader->next(next_batch);
          if (have) model.stage(features, next_batch);
          std::swap(batch, next_batch);
          if (options_.on_step) options_.on_step(++done, steps);
        }
      } else {
        tape.reset();
        auto x = models::gather_features(tape, features, std::span<const node_id>(prep.iota));  // (num_nodes, in)
        auto out = model.forward_full(tape, x, full_graph_(tape, prep.data.graph), true, next_seed());  // (n, out)
        add_loss(train_step(tape, out, optimizer, all));
        loss_count += static_cast<std::int64_t>(local_rows_.size());
        if (options_.on_step) options_.on_step(1, 1);
      }
      add_loss(model.io().flush_loss());
      if (stop_requested()) {  // the interrupted epoch is dropped: a resumed run redoes it from the checkpoint
        model.drain_histories();
        break;
      }
      record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      record.loss = loss_count > 0 ? loss_sum / static_cast<double>(loss_count)
                                   : std::numeric_limits<double>::quiet_NaN();
      result.train_seconds += record.seconds;

      const bool evaluate = (epoch + 1) % options_.eval_every == 0 || epoch + 1 == options_.epochs;
      if (evaluate) {
        // Metrics read the logits on the host: layer-wise inference writes them there on either backend.
        Tensor<T, host> logits = options_.mode == Options::Mode::gas
                                     ? model.inference(prep.data.features, *eval_loader_)
                                     : full_eval(tape, prep);
        // the prepared copy holds the chosen split only
        if (options_.comm != nullptr) {
          score_over_ranks(logits, prep, record);
        } else {
          record.train = score(logits, prep, prep.data.splits[0].train);
          record.val = score(logits, prep, prep.data.splits[0].val);
          record.test = score(logits, prep, prep.data.splits[0].test);
        }
        if (record.val > result.best_val) {
          result.best_val = record.val;
          result.test_at_best_val = record.test;
          result.best_epoch = epoch;
          keep_best(all);
          since_best_ = 0;
        } else {
          ++since_best_;
        }
      } else {
        record.train = record.val = record.test = std::numeric_limits<double>::quiet_NaN();
      }
      result.epochs.push_back(record);
      const bool early = evaluate && options_.patience > 0 && since_best_ >= options_.patience;
      const bool due = saving && evaluate &&
                       ((options_.checkpoint_every > 0 && (epoch + 1) % options_.checkpoint_every == 0) ||
                        epoch + 1 == options_.epochs || early);
      if (due || (keep_last && evaluate)) {
        train::Checkpoint state = capture(meta, epoch + 1, optimizer, result);
        if (due) state.save(options_.checkpoint);
        if (keep_last) snapshot = std::move(state);
      }
      if (options_.on_epoch) options_.on_epoch(record, result);
      if (early) {
        result.early_stopped = true;
        break;
      }
    }
    if (stop_requested() && static_cast<std::int32_t>(result.epochs.size()) < options_.epochs && !result.early_stopped) {
      result.stopped = true;
      if (snapshot) snapshot->save(options_.checkpoint);
    }
    tape.reset();
    result.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - fit_start).count();
    return result;
  }

private:
  /// The dataset as training reads it: permuted by the partition (GAS) or as given (full), with the adjacency
  /// the model computes on, a per-node training mask and, for full mode, the identity id list.
  struct Prepared {
    Dataset data;                     // graph = the (normalized) adjacency the model uses
    std::vector<std::uint8_t> train;  // (num_nodes) 1 for the training nodes of the chosen split
    std::vector<node_id> iota;        // (num_nodes) 0 .. n - 1, full mode's n_id
  };

  void check_dataset(const Dataset& data) const {
    GAS_CHECK(data.has_targets() && (!data.labels.empty() || data.is_multi_label()), config_error,
              "dataset '" << data.name << "' has no targets (num_classes = " << data.num_classes
                          << "): training needs labels");
    GAS_CHECK(!data.splits.empty(), config_error,
              "dataset '" << data.name << "' has no train/val/test split; training needs one (gas/graph/splits.hpp "
                          << "generates some)");
    GAS_CHECK(options_.split >= 0 && options_.split < static_cast<std::int32_t>(data.splits.size()), config_error,
              "dataset '" << data.name << "' has " << data.splits.size() << " split(s); TrainerOptions::split = "
                          << options_.split << " is not one of them");
    if (options_.metric) {
      const train::Metric m = *options_.metric;
      GAS_CHECK((m == train::Metric::micro_f1) == data.is_multi_label(), config_error,
                "metric " << train::to_string(m) << " does not suit dataset '" << data.name << "': "
                          << (data.is_multi_label() ? "multi-label targets are scored by micro_f1"
                                                    : "micro_f1 scores multi-label targets only"));
      GAS_CHECK(m != train::Metric::roc_auc || data.num_classes == 2, config_error,
                "metric roc_auc needs two classes; dataset '" << data.name << "' has " << data.num_classes);
    }
    const auto& s = data.splits[static_cast<std::size_t>(options_.split)];
    GAS_CHECK(!s.train.empty() && !s.val.empty() && !s.test.empty(), config_error,
              "dataset '" << data.name << "' split " << options_.split << " has " << s.train.size() << " train, " << s.val.size()
                          << " val and " << s.test.size() << " test nodes; each must be non-empty");
    const Model& m = *model_;
    GAS_CHECK(m.num_nodes() == data.num_nodes() && m.in_features() == data.num_features() &&
                  m.out_features() == data.num_classes,
              shape_error,
              "the model is built for " << m.num_nodes() << " nodes, in_features = " << m.in_features()
                                        << ", out_features = " << m.out_features() << " but dataset '" << data.name
                                        << "' has " << data.num_nodes() << " nodes, " << data.num_features()
                                        << " features and " << data.num_classes << " classes");
  }

  /// Permutes features, targets and the chosen split by `part` (or copies them when it is null) next to `adj`.
  Prepared prepare(const Dataset& data, const Graph& adj, const partition::Partition* part) const {
    Prepared p;
    p.data.name = data.name;
    p.data.num_classes = data.num_classes;
    const Split& split = data.splits[static_cast<std::size_t>(options_.split)];
    Split& out = p.data.splits.emplace_back();
    if (part != nullptr) {
      p.data.graph = partition::permute(adj, *part);
      p.data.features = partition::permute_rows(data.features, *part);
      if (!data.labels.empty()) p.data.labels = partition::permute_rows(data.labels, *part);
      if (data.is_multi_label()) p.data.multi_labels = partition::permute_rows(data.multi_labels, *part);
      for (auto [from, to] : {std::pair{&split.train, &out.train}, std::pair{&split.val, &out.val},
                              std::pair{&split.test, &out.test}}) {
        to->resize(from->size());
        for (std::size_t k = 0; k < from->size(); ++k) {
          const node_id v = (*from)[k];
          GAS_CHECK(v >= 0 && v < data.num_nodes(), value_error,
                    "split names node " << v << " outside [0, " << data.num_nodes() << ")");
          (*to)[k] = part->inverse[static_cast<std::size_t>(v)];
        }
        std::sort(to->begin(), to->end());
      }
    } else {
      p.data.graph = adj;
      p.data.features = data.features;
      p.data.labels = data.labels;
      p.data.multi_labels = data.multi_labels;
      out = split;
      p.iota.resize(static_cast<std::size_t>(data.num_nodes()));
      std::iota(p.iota.begin(), p.iota.end(), node_id{0});
    }
    p.train.assign(static_cast<std::size_t>(data.num_nodes()), 0);
    for (const node_id v : out.train) {
      GAS_CHECK(v >= 0 && v < data.num_nodes(), value_error,
                "split names node " << v << " outside [0, " << data.num_nodes() << ")");
      p.train[static_cast<std::size_t>(v)] = 1;
    }
    return p;
  }

  /// Targets of the first `rows` ids of `ids` in their local numbering, and the local rows of training nodes.
  void set_targets(const Prepared& p, std::span<const node_id> ids, std::int64_t rows, std::int64_t classes) {
    local_rows_.clear();
    if (p.data.is_multi_label()) {
      if (local_multi_.rows() != rows || local_multi_.cols() != classes)
        local_multi_ = Tensor<std::uint8_t>(rows, classes);
    } else {
      local_labels_.resize(static_cast<std::size_t>(rows));
    }
    for (std::int64_t i = 0; i < rows; ++i) {
      const auto v = static_cast<std::size_t>(ids[static_cast<std::size_t>(i)]);
      if (p.data.is_multi_label()) {
        for (std::int64_t j = 0; j < classes; ++j)
          local_multi_(i, j) = p.data.multi_labels(static_cast<std::int64_t>(v), j);
      } else {
        local_labels_[static_cast<std::size_t>(i)] = p.data.labels[v];
      }
      if (p.train[v] != 0) local_rows_.push_back(static_cast<node_id>(i));
    }
  }

  /// The loss over the training rows set by set_targets, one optimizer step; returns loss * training rows of this
  /// step (synchronous path) or of the previous one (GPU pipeline: read one step late), or nothing.
  std::optional<double> train_step(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> out, train::Adam<T, Backend>& optimizer,
                    const std::vector<autograd::Parameter<T, Backend>*>& params) {
    const std::span<const node_id> rows(local_rows_);
    auto loss = step_loss(tape, out);
    optimizer.zero_grad();
    tape.backward(loss);
    if (options_.grad_clip) clipper_.clip(params, *options_.grad_clip);  // queued on the device: no wait
    optimizer.step();
    model_->end_step(tape);  // the step's batch buffers may be recycled once the device gets here
    return model_->io().queue_loss(tape, loss, static_cast<double>(rows.size()));
  }

  /// The loss over the training rows set by set_targets: cross-entropy, or BCE for multi-label targets. A model with a
  /// loss-side Lipschitz regularizer (GIN with nn::reg::NoisePerturbation) reports the penalty of the forward pass
  /// just run; it joins the loss with weight 1, as in the reference.
  autograd::Var<T, Backend> step_loss(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> out) {
    const std::span<const node_id> rows(local_rows_);
    auto loss = prep_.data.is_multi_label() ? ops::bce_with_logits(out, local_multi_, rows)
                                            : ops::cross_entropy(out, std::span<const std::int32_t>(local_labels_), rows);
    if constexpr (Model::traits.regularization)
      if (const auto penalty = model_->regularization_loss(tape)) loss = ops::add(loss, *penalty);
    return loss;
  }

  std::uint64_t next_seed() { return counter_hash(options_.seed, detail::trainer_seed_stream, step_++); }

  /// Distributed fit: the ownership of the partition's parts and the model's histories bound to it.
  void bind_ranks(Model& model, const std::vector<std::int64_t>& ptr) {
    auto& comm = *options_.comm;
    const auto parts = static_cast<std::int64_t>(ptr.size()) - 1;
    GAS_CHECK(parts % comm.size() == 0, config_error,
              parts << " parts over " << comm.size() << " ranks: distributed training needs a multiple of the rank "
                    << "count, so that every rank has as many batches (the ranks run in lockstep)");
    own_.emplace(ptr, comm.size());
    if constexpr (requires(typename Model::store_type & h) { h.bind(comm, *own_); }) {
      for (auto& h : model.histories()) h.bind(comm, *own_);
    } else {
      GAS_CHECK(model.num_layers() == 1, config_error,
                "distributed training needs the model's histories to be dist::ShardedStore (build the model with "
                "Store = dist::ShardedStore<history::HostStore<T>>)");
    }
  }

  /// One step of distributed training. The ranks first agree whether any of their batches has training nodes (if
  /// none has, every rank skips the step, as a single process skips such a batch); otherwise every rank runs its
  /// forward pass (its pulls are collectives the others need), those with training nodes their backward pass, and
  /// the gradients are summed over the ranks in rank order and divided by the number of contributing ranks, so
  /// every rank applies the same optimizer step. With one rank this is the single-process step bit for bit.
  std::optional<double> distributed_step(autograd::Tape<T, Backend>& tape, FeatureView<float> features,
                                         const loader::Batch& batch, train::Adam<T, Backend>& optimizer,
                                         const std::vector<autograd::Parameter<T, Backend>*>& params) {
    auto& comm = *options_.comm;
    double contributors = local_rows_.empty() ? 0.0 : 1.0;
    comm.allreduce_sum(std::span<double>(&contributors, 1));
    if (contributors == 0) return std::nullopt;
    tape.reset();
    auto out = model_->forward(tape, features, batch, true, next_seed());  // (batch_size, out)
    std::optional<double> loss_value;
    optimizer.zero_grad();
    if (!local_rows_.empty()) {
      auto loss = step_loss(tape, out);
      tape.backward(loss);
      loss_value = model_->io().queue_loss(tape, loss, static_cast<double>(local_rows_.size()));
    }
    // One collective for all the gradients: concatenated, summed, divided, put back (each element's sum runs in rank
    // order either way, so the bits are those of one collective per parameter).
    std::size_t total = 0;
    for (auto* p : params) {
      if (p->grad.rows() != p->value.rows() || p->grad.cols() != p->value.cols()) p->zero_grad();
      total += static_cast<std::size_t>(p->grad.size());
    }
    // Through host memory on either backend (a device tape's download waits for its stream): GAS models have well
    // under a million parameters, and the sum runs on the host in rank order whatever the transport.
    grad_buffer_.resize(total);
    auto& exec = tape.exec();
    std::size_t at = 0;
    for (auto* p : params) {
      exec.download(MatrixView<const T>(p->grad.view()),
                    MatrixView<T>(grad_buffer_.data() + at, p->grad.rows(), p->grad.cols()));
      at += static_cast<std::size_t>(p->grad.size());
    }
    comm.allreduce_sum(std::span<T>(grad_buffer_));
    if (contributors != 1)
      for (auto& v : grad_buffer_) v /= static_cast<T>(contributors);
    at = 0;
    for (auto* p : params) {
      exec.upload(MatrixView<const T>(grad_buffer_.data() + at, p->grad.rows(), p->grad.cols()), p->grad.view());
      at += static_cast<std::size_t>(p->grad.size());
    }
    if (options_.grad_clip) clipper_.clip(params, *options_.grad_clip);
    optimizer.step();
    model_->end_step(tape);
    return loss_value;
  }

  /// Full-graph evaluation: forward_full in evaluation mode, without recording gradients; logits on the host.
  Tensor<T, host> full_eval(autograd::Tape<T, Backend>& tape, const Prepared& p) {
    tape.reset();
    const autograd::NoGrad<T, Backend> no_grad(tape);
    auto x = models::gather_features(tape, p.data.features, std::span<const node_id>(p.iota));
    auto out = model_->forward_full(tape, x, full_graph_(tape, p.data.graph), false, 0);  // (num_nodes, out)
    Tensor<T, host> logits = tape.to_host(out.value());
    tape.reset();
    return logits;
  }

  /// Distributed evaluation. A rank's inference writes its own rows only (the others stay 0). Accuracy and micro-F1
  /// are counts: each rank counts over the split's nodes it owns and one collective of 3 x 3 numbers sums them (the
  /// totals, hence the metrics, are those of one process, bit for bit). ROC-AUC ranks all of a split's scores
  /// together, so its ranks sum the logits table instead. Every rank gets the same metrics and selects the same epoch.
  void score_over_ranks(Tensor<T, host>& logits, const Prepared& p, EpochRecord& record) {
    auto& comm = *options_.comm;
    const auto& split = p.data.splits[0];
    const std::vector<node_id>* sets[3] = {&split.train, &split.val, &split.test};
    double* out[3] = {&record.train, &record.val, &record.test};
    if (metric_ == train::Metric::roc_auc) {
      comm.allreduce_sum(std::span<T>(logits.data(), static_cast<std::size_t>(logits.size())));
      for (int k = 0; k < 3; ++k) *out[k] = score(logits, p, *sets[k]);
      return;
    }
    const node_id begin = own_->begin(comm.rank()), end = own_->end(comm.rank());
    std::array<double, 9> counts{};
    std::vector<node_id> mine;
    for (int k = 0; k < 3; ++k) {
      mine.clear();
      for (const node_id v : *sets[k])
        if (v >= begin && v < end) mine.push_back(v);
      const std::span<const node_id> rows(mine);
      const MatrixView<const T> view(logits.view());
      double* to = counts.data() + 3 * k;
      if (metric_ == train::Metric::micro_f1) {
        const auto c = train::micro_f1_counts(view, p.data.multi_labels, rows);
        for (std::size_t j = 0; j < 3; ++j) to[j] = static_cast<double>(c[j]);
      } else {
        const auto c = train::accuracy_counts(view, std::span<const std::int32_t>(p.data.labels), rows);
        to[0] = static_cast<double>(c[0]);
        to[1] = static_cast<double>(c[1]);
      }
    }
    comm.allreduce_sum(std::span<double>(counts));  // integers below 2^53: exact in any order
    for (int k = 0; k < 3; ++k) {
      const double* c = counts.data() + 3 * k;
      const auto n = [&](int j) { return static_cast<std::int64_t>(c[j]); };
      if (metric_ == train::Metric::micro_f1) {
        GAS_CHECK(!sets[k]->empty(), value_error, "no rows to score");
        *out[k] = train::micro_f1_of(n(0), n(1), n(2));
      } else {
        GAS_CHECK(n(1) > 0, value_error, "no rows to score");
        *out[k] = static_cast<double>(n(0)) / static_cast<double>(n(1));
      }
    }
  }

  double score(const Tensor<T, host>& logits, const Prepared& p, const std::vector<node_id>& rows) const {
    const std::span<const node_id> r(rows);
    if (metric_ == train::Metric::micro_f1) return train::micro_f1(logits.view(), p.data.multi_labels, r);
    if (metric_ == train::Metric::roc_auc)
      return train::roc_auc(logits.view(), std::span<const std::int32_t>(p.data.labels), r);
    return train::accuracy(logits.view(), std::span<const std::int32_t>(p.data.labels), r);
  }

  void keep_best(const std::vector<autograd::Parameter<T, Backend>*>& params) {
    best_.resize(params.size());
    for (std::size_t k = 0; k < params.size(); ++k) best_[k] = copy_of(params[k]->value);
    best_buffers_.clear();
    for (const auto& named : model_->named_buffers()) best_buffers_.push_back(buffer_value(named.second));
  }

  // ---- checkpoints -------------------------------------------------------------------------------------------

  /// The EpochRecord fields a checkpoint keeps per epoch, as arrays "curve.<name>", in this order.
  static constexpr std::size_t kCurves = 7;
  static constexpr const char* kCurveNames[kCurves] = {"epoch", "loss", "train", "val", "test", "seconds", "lr"};

  using BufferRef = typename Model::buffer_ref;
  /// A buffer's value in host memory: a tensor, a vector of doubles or a counter (see nn::Module::buffer_ref).
  using BufferValue = std::variant<Tensor<T, host>, std::vector<double>, std::int64_t>;

  static Tensor<T, host> host_copy(const Tensor<T, Backend>& t) {
    if constexpr (on_host<Backend>) return copy_of(t);
    else return t.to_host();
  }
  /// Copies `h` into `t` (same shape, checked by the caller's message), waiting for a device copy to land.
  static void assign(Tensor<T, Backend>& t, const Tensor<T, host>& h) {
    if constexpr (on_host<Backend>) {
      t = copy_of(h);
    } else {
      if (t.rows() != h.rows() || t.cols() != h.cols()) t = Tensor<T, Backend>(h.rows(), h.cols());
      t.copy_from(h);
      Exec<Backend>().synchronize();
    }
  }
  static BufferValue buffer_value(const BufferRef& ref) {
    return std::visit([](auto* p) -> BufferValue {
      if constexpr (std::is_same_v<std::remove_pointer_t<decltype(p)>, Tensor<T, Backend>>) return host_copy(*p);
      else return *p;
    }, ref);
  }
  static void restore_buffer(const std::pair<std::string, BufferRef>& named, const BufferValue& v) {
    std::visit([&v](auto* p) {
      using B = std::remove_pointer_t<decltype(p)>;
      if constexpr (std::is_same_v<B, Tensor<T, Backend>>) assign(*p, std::get<Tensor<T, host>>(v));
      else *p = std::get<B>(v);
    }, named.second);
  }

  static void put_tensor(train::Checkpoint& c, const std::string& name, const Tensor<T, host>& t) {
    c.put<T>(name, std::span<const T>(t.data(), static_cast<std::size_t>(t.size())), t.rows(), t.cols());
  }
  static void put_buffer(train::Checkpoint& c, const std::string& name, const BufferValue& v) {
    if (const auto* t = std::get_if<Tensor<T, host>>(&v)) put_tensor(c, name, *t);
    else if (const auto* d = std::get_if<std::vector<double>>(&v)) c.put<double>(name, *d);
    else c.put<std::int64_t>(name, std::vector<std::int64_t>{std::get<std::int64_t>(v)});
  }
  /// The array `name` as a host tensor shaped like `like` (checked: a checkpoint of another model is refused
  /// before this by the fingerprint, but a hand-edited one is not).
  static Tensor<T, host> get_tensor(const train::Checkpoint& c, const std::string& name, std::int64_t rows,
                                    std::int64_t cols) {
    const auto& a = c.array(name);
    GAS_CHECK(a.rows == rows && a.cols == cols, format_error,
              c.source() << ": checkpoint array '" << name << "' is (" << a.rows << " x " << a.cols << "), expected ("
                         << rows << " x " << cols << ")");
    const std::vector<T> values = c.get<T>(name);
    Tensor<T, host> t(rows, cols);
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }
  static BufferValue get_buffer(const train::Checkpoint& c, const std::string& name, const BufferValue& like) {
    if (const auto* t = std::get_if<Tensor<T, host>>(&like)) return get_tensor(c, name, t->rows(), t->cols());
    if (std::holds_alternative<std::vector<double>>(like)) return c.get<double>(name);
    const auto v = c.get<std::int64_t>(name);
    GAS_CHECK(v.size() == 1, format_error, c.source() << ": checkpoint counter '" << name << "' holds " << v.size() << " values");
    return v[0];
  }

  static double parse_number(const train::Checkpoint& c, const std::string& key) {
    const std::string& v = c.info(key);
    char* end = nullptr;
    const double out = std::strtod(v.c_str(), &end);
    GAS_CHECK(end != v.c_str() && *end == '\0', format_error,
              c.source() << ": checkpoint entry '" << key << "' = '" << v << "' is not a number");
    return out;
  }

  /// Which clusters the partition made (a resumed run must train on the same batches): CRC-32 of ptr and perm.
  static std::string partition_fingerprint(const partition::Partition& part) {
    auto crc = static_cast<std::uint32_t>(crc32(0L, nullptr, 0));
    auto add = [&crc](const auto& v) {
      crc = static_cast<std::uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(v.data()),
                                             static_cast<uInt>(v.size() * sizeof(v[0]))));
    };
    add(part.ptr);
    add(part.perm);
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%08x", crc);
    return std::string(buffer) + " (" + std::to_string(part.ptr.size() - 1) + " parts)";
  }

  /// Which nodes the split holds (a resumed run must score the same sets): CRC-32 of the three id lists.
  static std::string split_fingerprint(const Split& split) {
    auto crc = static_cast<std::uint32_t>(crc32(0L, nullptr, 0));
    for (const auto* ids : {&split.train, &split.val, &split.test})
      crc = static_cast<std::uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(ids->data()),
                                             static_cast<uInt>(ids->size() * sizeof(node_id))));
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%08x", crc);
    return std::string(buffer) + ", " + std::to_string(split.train.size()) + "/" + std::to_string(split.val.size()) +
           "/" + std::to_string(split.test.size());
  }

  /// The configuration a checkpoint must match: dataset, model structure, trainer options, partition, and the
  /// application's checkpoint_meta. The epoch count, patience and checkpoint settings may change on resume.
  std::map<std::string, std::string> fingerprint(const Dataset& data, const std::string& partition_id) {
    std::map<std::string, std::string> m = options_.checkpoint_meta;
    m["dataset"] = data.name + " (" + std::to_string(data.num_nodes()) + " nodes, " +
                   std::to_string(data.num_features()) + " features, " + std::to_string(data.num_classes) + " classes)";
    std::string params;
    for (auto* p : model_->parameters())
      params += p->name + "(" + std::to_string(p->value.rows()) + "x" + std::to_string(p->value.cols()) + ") ";
    m["model.parameters"] = params;
    std::string buffers;
    for (const auto& named : model_->named_buffers()) buffers += named.first + " ";
    m["model.buffers"] = buffers;
    m["value_type"] = sizeof(T) == 4 ? "float" : "double";
    const auto& o = options_;
    m["trainer.mode"] = o.mode == Options::Mode::gas ? "gas" : "full";
    m["trainer.batch_size"] = std::to_string(o.batch_size);
    m["trainer.max_steps"] = std::to_string(o.max_steps);
    m["trainer.lr"] = exact_text(o.lr);
    m["trainer.weight_decay"] = exact_text(o.reg_weight_decay) + " / " + exact_text(o.nonreg_weight_decay);
    m["trainer.grad_clip"] = o.grad_clip ? exact_text(*o.grad_clip) : "none";
    m["trainer.seed"] = std::to_string(o.seed);
    m["trainer.eval_every"] = std::to_string(o.eval_every);
    m["partition"] = partition_id;
    m["trainer.metric"] = std::string(train::to_string(metric_));
    m["split"] = std::to_string(o.split) + " (" + split_fingerprint(data.splits[static_cast<std::size_t>(o.split)]) + ")";
    return m;
  }

  /// The state after `epochs` epochs (the parameters and buffers as they are now) as a checkpoint.
  train::Checkpoint capture(const std::map<std::string, std::string>& meta, std::int32_t epochs,
                            train::Adam<T, Backend>& optimizer, const Result& result) {
    train::Checkpoint c;
    for (const auto& [k, v] : meta) c.set_meta(k, v);
    for (const auto& [k, v] : options_.checkpoint_info) c.set_info("app." + k, v);
    c.set_info("epochs", std::to_string(epochs));
    c.set_info("step", std::to_string(step_));
    c.set_info("optimizer_steps", std::to_string(optimizer.steps()));
    c.set_info("since_best", std::to_string(since_best_));
    c.set_info("best_epoch", std::to_string(result.best_epoch));
    c.set_info("best_val", exact_text(result.best_val));
    c.set_info("test_at_best_val", exact_text(result.test_at_best_val));
    c.set_info("train_seconds", exact_text(result.train_seconds));
    for (auto* p : model_->parameters()) put_tensor(c, "param." + p->name, host_copy(p->value));
    for (const auto& named : model_->named_buffers()) put_buffer(c, "buffer." + named.first, buffer_value(named.second));
    const auto state = optimizer.state_tensors();
    for (std::size_t k = 0; k < state.size(); ++k) put_tensor(c, "adam." + std::to_string(k), host_copy(*state[k]));
    for (std::size_t k = 0; k < best_.size(); ++k) put_tensor(c, "best.param." + std::to_string(k), host_copy(best_[k]));
    for (std::size_t k = 0; k < best_buffers_.size(); ++k) put_buffer(c, "best.buffer." + std::to_string(k), best_buffers_[k]);
    c.set_info("best_buffers", std::to_string(best_buffers_.size()));
    std::vector<double> curves[kCurves];
    for (const auto& e : result.epochs) {
      const double row[kCurves] = {static_cast<double>(e.epoch), e.loss, e.train, e.val, e.test, e.seconds, e.lr};
      for (std::size_t k = 0; k < kCurves; ++k) curves[k].push_back(row[k]);
    }
    for (std::size_t k = 0; k < kCurves; ++k) c.put<double>(std::string("curve.") + kCurveNames[k], curves[k]);
    return c;
  }

  /// Restores a checkpoint into the model, the optimizer and `result`; returns the epochs it holds. Throws
  /// config_error naming every difference when it was written for another configuration.
  std::int32_t restore(const train::Checkpoint& c, const std::map<std::string, std::string>& meta,
                       train::Adam<T, Backend>& optimizer, Result& result) {
    const auto diff = c.differences(meta);
    if (!diff.empty()) {
      std::string what;
      for (const auto& d : diff) what += "\n  " + d;
      throw config_error(c.source() + ": the checkpoint was written for another configuration:" + what);
    }
    const auto epochs = c.info_int("epochs");
    GAS_CHECK(epochs >= 0 && epochs <= options_.epochs, config_error,
              c.source() << ": the checkpoint holds " << epochs << " epochs, more than epochs = " << options_.epochs
                         << " to train in all; ask for at least " << epochs);
    for (auto* p : model_->parameters())
      assign(p->value, get_tensor(c, "param." + p->name, p->value.rows(), p->value.cols()));
    for (const auto& named : model_->named_buffers())
      restore_buffer(named, get_buffer(c, "buffer." + named.first, buffer_value(named.second)));
    const auto state = optimizer.state_tensors();
    for (std::size_t k = 0; k < state.size(); ++k)
      assign(*state[k], get_tensor(c, "adam." + std::to_string(k), state[k]->rows(), state[k]->cols()));
    optimizer.set_steps(c.info_int("optimizer_steps"));
    step_ = static_cast<std::uint64_t>(c.info_int("step"));
    since_best_ = static_cast<std::int32_t>(c.info_int("since_best"));
    const auto params = model_->parameters();
    best_.clear();
    for (std::size_t k = 0; c.contains("best.param." + std::to_string(k)); ++k) {
      GAS_CHECK(k < params.size(), format_error, c.source() << ": more best parameters than parameters");
      const auto& like = params[k]->value;
      Tensor<T, Backend> t(like.rows(), like.cols());
      assign(t, get_tensor(c, "best.param." + std::to_string(k), like.rows(), like.cols()));
      best_.push_back(std::move(t));
    }
    best_buffers_.clear();
    const auto buffers = model_->named_buffers();
    const auto kept = c.info_int("best_buffers");
    for (std::int64_t k = 0; k < kept && static_cast<std::size_t>(k) < buffers.size(); ++k)
      best_buffers_.push_back(get_buffer(c, "best.buffer." + std::to_string(k), buffer_value(buffers[static_cast<std::size_t>(k)].second)));
    result.best_epoch = static_cast<std::int32_t>(c.info_int("best_epoch"));
    result.best_val = parse_number(c, "best_val");
    result.test_at_best_val = parse_number(c, "test_at_best_val");
    result.train_seconds = parse_number(c, "train_seconds");
    std::vector<double> curves[kCurves];
    for (std::size_t k = 0; k < kCurves; ++k) {
      curves[k] = c.get<double>(std::string("curve.") + kCurveNames[k]);
      GAS_CHECK(curves[k].size() == static_cast<std::size_t>(epochs), format_error,
                c.source() << ": curve '" << kCurveNames[k] << "' has " << curves[k].size() << " entries for " << epochs
                           << " epochs");
    }
    result.epochs.clear();
    for (std::size_t e = 0; e < static_cast<std::size_t>(epochs); ++e)
      result.epochs.push_back({.epoch = static_cast<std::int32_t>(curves[0][e]), .loss = curves[1][e],
                               .train = curves[2][e], .val = curves[3][e], .test = curves[4][e],
                               .seconds = curves[5][e], .lr = curves[6][e]});
    for (const auto& [k, v] : c.info())
      if (k.starts_with("app.")) resumed_info_[k.substr(4)] = v;
    return static_cast<std::int32_t>(epochs);
  }

  /// Rows of a (num_nodes x w) table in the prepared (permuted) order, back in the dataset's order.
  template <class S>
  Tensor<T, host> unpermute(const Tensor<S, host>& permuted) const {
    Tensor<T, host> out(permuted.rows(), permuted.cols());
    for (std::int64_t v = 0; v < out.rows(); ++v) {
      const std::int64_t from = inverse_.empty() ? v : static_cast<std::int64_t>(inverse_[static_cast<std::size_t>(v)]);
      for (std::int64_t j = 0; j < out.cols(); ++j) out(v, j) = static_cast<T>(permuted(from, j));
    }
    return out;
  }

  Model* model_;
  P partitioner_;
  Options options_;
  train::Metric metric_ = train::Metric::accuracy;
  std::uint64_t step_ = 0;
  std::vector<std::int32_t> local_labels_;  // (rows) labels of the current step's rows, local numbering
  Tensor<std::uint8_t> local_multi_;        // (rows, classes) multi-label targets, local numbering
  std::vector<node_id> local_rows_;         // the current step's training rows, local numbering
  std::vector<Tensor<T, Backend>> best_;    // parameter values at the best validation epoch
  std::vector<BufferValue> best_buffers_;   // buffer values (running statistics) at the best validation epoch
  std::int32_t since_best_ = 0;             // evaluations since the best validation metric improved (patience)
  std::map<std::string, std::string> resumed_info_;  // the application's notes of the checkpoint resumed from
  Prepared prep_;                           // the last fit's graph, features and split, for predict()
  std::vector<node_id> inverse_;            // original id -> prepared row (empty: identity, full mode)
  std::optional<loader::EvalLoader> eval_loader_;  // over prep_.data.graph: declared after it, destroyed first
  std::optional<dist::Ownership> own_;  // distributed fit: which parts each rank owns
  std::vector<T> grad_buffer_;          // distributed fit: every gradient, concatenated for the one sum per step
  bool fitted_ = false;
  train::GradClipper<T, Backend> clipper_;  // its scratch is kept step after step
  models::detail::BackendGraph<Backend> full_graph_;  // full mode's graph on the backend (a device copy)
};

}  // namespace gas
