// Trainer: GAS and full-batch training of GCN end to end. Both modes learn an easy SBM; one partition with batch
// size 1 reproduces full-batch training bit for bit (losses and metrics); the same seed gives the same Result with
// either loader; bad datasets, partitions and models throw typed errors; GCN on Cora reaches the reference's
// accuracy band.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/io/planetoid.hpp>
#include <gas/graph/splits.hpp>
#include <gas/graph/transforms.hpp>
#include <gas/history/host_store.hpp>
#include <gas/models/gcn.hpp>
#include <gas/partition/contiguous.hpp>
#include <gas/partition/metis.hpp>
#include <gas/partition/random.hpp>
#include <gas/train/trainer.hpp>

#include "io/io_test_util.hpp"
#include "test_util.hpp"

using gas::models::GCN;
using gas::models::GCNOptions;
using Store = gas::history::HostStore<float>;
using Mode = gas::TrainerOptions::Mode;

namespace {

gas::Dataset easy_sbm(std::int64_t nodes = 1000, std::uint64_t seed = 2) {
  return gas::gen::sbm({.nodes = nodes, .classes = 4, .features = 12, .degree = 8, .homophily = 0.9, .noise = 1.0,
                        .seed = seed});
}

GCNOptions gcn_options(const gas::Dataset& d) {
  return {.in = d.num_features(), .hidden = 16, .out = d.num_classes, .layers = 2, .dropout = 0.5};
}

/// Bitwise equality of doubles (NaN equals NaN): determinism means the same bits, not approximately equal.
bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// Same curves and selection, timings aside.
bool same_result(const gas::TrainResult& a, const gas::TrainResult& b) {
  if (a.epochs.size() != b.epochs.size() || a.best_epoch != b.best_epoch || !same(a.best_val, b.best_val) ||
      !same(a.test_at_best_val, b.test_at_best_val))
    return false;
  for (std::size_t e = 0; e < a.epochs.size(); ++e) {
    const auto &x = a.epochs[e], &y = b.epochs[e];
    if (!same(x.loss, y.loss) || !same(x.train, y.train) || !same(x.val, y.val) || !same(x.test, y.test)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("Trainer: GAS (METIS 8 parts, batch 2) and full-batch both learn an easy SBM") {
  const auto data = easy_sbm();
  for (const Mode mode : {Mode::gas, Mode::full}) {
    const std::string name = mode == Mode::gas ? "GAS" : "full";
    CAPTURE(name);
    GCN<float> model(data.num_nodes(), gcn_options(data), 3);
    gas::Trainer<GCN<float>, gas::partition::Metis, Store> trainer(
        model, {.num_parts = 8, .seed = 1}, {.batch_size = 2, .epochs = 60, .seed = 5, .mode = mode});
    const auto r = trainer.fit(data);
    REQUIRE(r.epochs.size() == 60);
    MESSAGE(name << ": test at best val " << r.test_at_best_val << " (epoch " << r.best_epoch << ", val "
                 << r.best_val << "), loss " << r.epochs.front().loss << " -> " << r.epochs.back().loss << ", "
                 << r.train_seconds << " s training");
    CHECK(r.epochs.back().loss < r.epochs.front().loss);
    CHECK(r.test_at_best_val > 0.85);
    CHECK(r.best_epoch >= 0);
    CHECK(r.best_val == r.epochs[static_cast<std::size_t>(r.best_epoch)].val);
    CHECK(r.test_at_best_val == r.epochs[static_cast<std::size_t>(r.best_epoch)].test);
    for (const auto& e : r.epochs) CHECK(e.val <= r.best_val);
    CHECK(r.train_seconds > 0);
    CHECK(r.total_seconds >= r.train_seconds);

    // The kept parameters are those of the best epoch: loading them reproduces its validation metric (checked in
    // full mode, where the dataset is not permuted and the full forward pass is the evaluation).
    REQUIRE(trainer.best_parameters().size() == model.parameters().size());
    trainer.load_best();
    if (mode == Mode::full) {
      const auto adj = gas::gcn_normalize(data.graph);
      gas::autograd::Tape<float> tape;
      std::vector<gas::node_id> ids(static_cast<std::size_t>(data.num_nodes()));
      std::iota(ids.begin(), ids.end(), gas::node_id{0});
      auto x = gas::models::gather_features(tape, data.features.view(), std::span<const gas::node_id>(ids));
      auto y = model.forward_full(tape, x, adj, false, 0);
      CHECK(same(gas::train::accuracy(y.value(), std::span<const std::int32_t>(data.labels),
                                      std::span<const gas::node_id>(data.splits[0].val)),
                 r.best_val));
    }
  }
}

TEST_CASE("Trainer: one partition with batch 1 trains exactly as full-batch") {
  // Step k seeds its dropout with counter_hash(seed, k) in both modes, and on one contiguous partition the batch
  // is the whole graph in id order with no halo, so the two runs take the same steps and evaluate the same
  // logits (layer-wise inference over one batch computes the full forward pass).
  const auto data = easy_sbm(400, 4);
  GCNOptions o = gcn_options(data);
  o.layers = 3;
  o.batch_norm = true;
  GCN<float> gas_model(data.num_nodes(), o, 7), full_model(data.num_nodes(), o, 7);
  const gas::TrainerOptions base{.batch_size = 1, .epochs = 15, .grad_clip = 1.0, .seed = 9};
  auto gas_options = base, full_options = base;
  full_options.mode = Mode::full;
  gas::Trainer<GCN<float>, gas::partition::Contiguous, Store> gas_trainer(gas_model, {.num_parts = 1}, gas_options);
  gas::Trainer<GCN<float>, gas::partition::Contiguous, Store> full_trainer(full_model, {.num_parts = 1}, full_options);
  const auto a = gas_trainer.fit(data);
  const auto b = full_trainer.fit(data);
  CHECK(same_result(a, b));
  for (std::size_t e = 0; e < a.epochs.size(); ++e) {
    CAPTURE(e);
    CHECK(same(a.epochs[e].loss, b.epochs[e].loss));
  }
  const auto pa = gas_model.parameters(), pb = full_model.parameters();
  for (std::size_t k = 0; k < pa.size(); ++k) {
    CAPTURE(pa[k]->name);
    const auto bytes = sizeof(float) * static_cast<std::size_t>(pa[k]->value.size());
    CHECK(std::memcmp(pa[k]->value.data(), pb[k]->value.data(), bytes) == 0);
  }
}

TEST_CASE("Trainer: multi-label targets train with BCE and are scored by micro-F1") {
  auto data = easy_sbm(800, 10);
  data.multi_labels = gas::Tensor<std::uint8_t>(data.num_nodes(), data.num_classes);
  for (gas::node_id v = 0; v < data.num_nodes(); ++v)
    data.multi_labels(v, data.labels[static_cast<std::size_t>(v)]) = 1;  // one-hot: the same task, other loss
  data.labels.clear();
  REQUIRE(gas::train::metric_for(data) == gas::train::Metric::micro_f1);
  GCN<float> model(data.num_nodes(), gcn_options(data), 4);
  gas::Trainer<GCN<float>, gas::partition::Metis, Store> trainer(model, {.num_parts = 4, .seed = 2},
                                                                 {.batch_size = 2, .epochs = 60, .seed = 3});
  const auto r = trainer.fit(data);
  MESSAGE("multi-label GAS: micro-F1 " << r.test_at_best_val << " at best val " << r.best_val);
  CHECK(r.epochs.back().loss < r.epochs.front().loss);
  CHECK(r.test_at_best_val > 0.8);
}

TEST_CASE("Trainer: TrainerOptions::split trains and scores on that split, as if it were the only one") {
  auto data = easy_sbm(600, 5);
  data.splits = gas::per_class_splits(data, 10, 20, 3, 4);
  auto run = [](const gas::Dataset& d, std::int32_t split) {
    GCN<float> model(d.num_nodes(), gcn_options(d), 1);
    gas::Trainer<GCN<float>, gas::partition::Metis, Store> trainer(model, {.num_parts = 6, .seed = 3},
                                                                   {.batch_size = 2, .epochs = 6, .seed = 9, .split = split});
    return trainer.fit(d);
  };
  gas::Dataset only = data;
  only.splits = {data.splits[2]};
  CHECK(same_result(run(data, 2), run(only, 0)));
  CHECK(!same_result(run(data, 1), run(only, 0)));
  CHECK_THROWS_NAMING(gas::config_error, run(data, 3), "has 3 split(s)", "split = 3");
}

TEST_CASE("Trainer: TrainerOptions::metric overrides the dataset's metric when it suits the targets") {
  auto data = gas::gen::sbm({.nodes = 400, .classes = 2, .features = 8, .degree = 8, .homophily = 0.9, .seed = 3});
  REQUIRE(gas::train::metric_for(data) == gas::train::Metric::accuracy);
  auto run = [&](std::optional<gas::train::Metric> metric) {
    GCN<float> model(data.num_nodes(), gcn_options(data), 1);
    gas::Trainer<GCN<float>, gas::partition::Metis, Store> trainer(model, {.num_parts = 4, .seed = 3},
                                                                   {.batch_size = 2, .epochs = 20, .seed = 1, .metric = metric});
    return trainer.fit(data);
  };
  const auto auc = run(gas::train::Metric::roc_auc);
  const auto acc = run(std::nullopt);
  MESSAGE("2-class SBM: ROC-AUC " << auc.test_at_best_val << ", accuracy " << acc.test_at_best_val);
  CHECK(auc.test_at_best_val > 0.9);
  CHECK(same(auc.epochs.back().loss, acc.epochs.back().loss));  // the metric scores; it does not change training
  CHECK_THROWS_NAMING(gas::config_error, run(gas::train::Metric::micro_f1), "micro_f1 scores multi-label targets only");
  data.name = "minesweeper";  // the published binary heterophilous task: ROC-AUC without asking
  CHECK(gas::train::metric_for(data) == gas::train::Metric::roc_auc);
}

TEST_CASE("Trainer: the same seed gives the same result, with either loader") {
  const auto data = easy_sbm(600, 6);
  auto run = [&](std::uint64_t seed, bool background, std::int32_t eval_every) {
    GCN<float> model(data.num_nodes(), gcn_options(data), 1);
    gas::Trainer<GCN<float>, gas::partition::Random, Store> trainer(
        model, {.num_parts = 6, .seed = 3},
        {.batch_size = 2, .epochs = 8, .seed = seed, .background_loader = background, .eval_every = eval_every});
    return trainer.fit(data);
  };
  const auto a = run(11, false, 1);
  CHECK(same_result(a, run(11, false, 1)));
  CHECK(same_result(a, run(11, true, 1)));
  CHECK(!same_result(a, run(12, false, 1)));  // another seed: other batches and masks

  // Evaluating every third epoch (and the last) leaves NaN metrics on the others; histories are then staler, so
  // only the curve's first evaluation-free epochs match.
  const auto sparse = run(11, false, 3);
  REQUIRE(sparse.epochs.size() == 8);
  for (std::size_t e = 0; e < 8; ++e) {
    CAPTURE(e);
    const bool evaluated = (e + 1) % 3 == 0 || e == 7;
    CHECK(std::isnan(sparse.epochs[e].val) != evaluated);
  }
  CHECK(same(sparse.epochs[0].loss, a.epochs[0].loss));
  CHECK((sparse.best_epoch % 3 == 2 || sparse.best_epoch == 7));
}

TEST_CASE("Trainer: batches without training nodes are skipped; max_steps shortens GAS epochs") {
  auto data = easy_sbm(500, 8);
  // Training nodes only in the first half of the ids: with Contiguous parts, clusters 5..9 have none, and
  // cross_entropy over an empty selection would throw.
  auto& train = data.splits[0].train;
  std::erase_if(train, [&](gas::node_id v) { return v >= 250; });
  REQUIRE(!train.empty());
  auto run = [&](std::int64_t max_steps) {
    GCN<float> model(data.num_nodes(), gcn_options(data), 2);
    gas::Trainer<GCN<float>, gas::partition::Contiguous, Store> trainer(
        model, {.num_parts = 10},
        {.batch_size = 2, .max_steps = max_steps, .epochs = 10, .seed = 1, .background_loader = false});
    return trainer.fit(data);
  };
  const auto all = run(0);
  for (const auto& e : all.epochs) {
    CHECK(std::isfinite(e.loss));
    CHECK(std::isfinite(e.val));
  }
  // One step per epoch instead of five: the same first batch, so the same first step, then other curves.
  const auto short_epochs = run(1);
  CHECK(!same_result(all, short_epochs));
  CHECK(short_epochs.epochs.size() == 10);
}

TEST_CASE("Trainer: bad datasets, partitions, models and options throw typed errors") {
  const auto data = easy_sbm(200, 9);
  GCN<float> model(data.num_nodes(), gcn_options(data), 1);
  using MetisTrainer = gas::Trainer<GCN<float>, gas::partition::Metis, Store>;

  {
    auto no_split = data;
    no_split.splits.clear();
    MetisTrainer t(model, {.num_parts = 4}, {.epochs = 1});
    CHECK_THROWS_NAMING(gas::config_error, t.fit(no_split), "no train/val/test split");
    auto no_targets = data;
    no_targets.labels.clear();
    no_targets.num_classes = 0;
    CHECK_THROWS_NAMING(gas::config_error, t.fit(no_targets), "has no targets");
    auto empty_val = data;
    empty_val.splits[0].val.clear();
    CHECK_THROWS_NAMING(gas::config_error, t.fit(empty_val), "0 val");
  }
  {
    MetisTrainer t(model, {.num_parts = 201}, {.epochs = 1});
    CHECK_THROWS_NAMING(gas::partition_error, t.fit(data), "num_parts = 201 exceeds the graph's 200 nodes");
  }
  {
    GCN<float> wrong_in(data.num_nodes(), {.in = data.num_features() + 1, .hidden = 8, .out = data.num_classes}, 1);
    MetisTrainer t(wrong_in, {.num_parts = 4}, {.epochs = 1});
    CHECK_THROWS_NAMING(gas::shape_error, t.fit(data), "in_features = 13", "12 features");
    GCN<float> wrong_out(data.num_nodes(), {.in = data.num_features(), .hidden = 8, .out = 3}, 1);
    MetisTrainer u(wrong_out, {.num_parts = 4}, {.epochs = 1});
    CHECK_THROWS_NAMING(gas::shape_error, u.fit(data), "out_features = 3", "4 classes");
    GCN<float> wrong_nodes(data.num_nodes() + 5, gcn_options(data), 1);
    MetisTrainer w(wrong_nodes, {.num_parts = 4}, {.epochs = 1});
    CHECK_THROWS_NAMING(gas::shape_error, w.fit(data), "built for 205 nodes", "200 nodes");
  }
  CHECK_THROWS_NAMING(gas::config_error, MetisTrainer(model, {}, {.batch_size = 0}), "batch_size = 0");
  CHECK_THROWS_NAMING(gas::config_error, MetisTrainer(model, {}, {.epochs = 0}), "epochs = 0");
  CHECK_THROWS_NAMING(gas::config_error, MetisTrainer(model, {}, {.lr = -1}), "lr = -1");
  CHECK_THROWS_NAMING(gas::config_error, MetisTrainer(model, {}, {.grad_clip = -1.0}), "grad_clip = -1");
  CHECK_THROWS_NAMING(gas::config_error, MetisTrainer(model, {}, {.eval_every = 0}), "eval_every = 0");
  {
    MetisTrainer t(model, {}, {});
    CHECK_THROWS_NAMING(gas::value_error, t.load_best(), "call fit() first");
  }
}

/// True when Trainer<GCN<float>, P, S> names a valid type.
template <class P, class S>
concept valid_trainer = requires { sizeof(gas::Trainer<GCN<float>, P, S>); };
static_assert(valid_trainer<gas::partition::Metis, Store>);
static_assert(!valid_trainer<int, Store>);                                         // not a partitioner
static_assert(!valid_trainer<gas::partition::Metis, std::vector<float>>);          // not a history store
static_assert(GCN<float>::traits.gcn_norm);                                        // GCN: the default, true
static_assert(requires { sizeof(gas::Trainer<GCN<float>, gas::partition::Metis>); });  // the store deduced
static_assert(std::is_same_v<gas::Trainer<GCN<float>, gas::partition::Metis>,
                             gas::Trainer<GCN<float>, gas::partition::Metis, Store>>);
static_assert(!gas::HasRegularizationLoss<GCN<float>> && !GCN<float>::traits.regularization);

/// A model whose traits are not a ModelTraits (a loose bool flag, say) is not trainable.
struct LooseTraits : GCN<float> {
  using GCN<float>::GCN;
  static constexpr bool traits = false;
};
static_assert(!gas::TrainableModel<LooseTraits>);

TEST_CASE("Trainer: GCN on Cora (METIS 40 parts, batch 10, 100 epochs) reaches the reference's accuracy" *
          doctest::skip(gas_test::missing("planetoid/cora"))) {
  // The reference's small-benchmark configuration: 2/16/0.5 with input dropout, 40 parts, batch 10, lr 0.01,
  // reg weight decay 5e-4, gradient norm 1. Its 200 epochs gave 81.9, 81.8, 81.7, 83.2 for seeds 0..3 (reference
  // 82.29 +- 0.76); the test runs 100 epochs to stay near 20 s (81.4, 81.8, 81.8, 83.2 for seeds 0..3).
  auto data = gas::io::read_planetoid(gas_test::data_dir() / "planetoid/cora");
  gas::row_normalize(data.features);
  GCNOptions o = gcn_options(data);
  o.input_dropout = 0.5;
  GCN<float> model(data.num_nodes(), o, 0);
  gas::Trainer<GCN<float>, gas::partition::Metis, Store> trainer(
      model, {.num_parts = 40},
      {.batch_size = 10, .epochs = 100, .lr = 0.01, .reg_weight_decay = 5e-4, .grad_clip = 1.0, .seed = 0});
  const auto r = trainer.fit(data);
  MESSAGE("Cora GCN (GAS, 100 epochs): test " << r.test_at_best_val << " at best val " << r.best_val << " (epoch "
                                  << r.best_epoch << "); reference 82.29 +- 0.76; " << r.train_seconds
                                  << " s training, " << r.total_seconds << " s in all");
  CHECK(r.test_at_best_val > 0.78);
}
