// The distributed Trainer (TrainerOptions::comm) on thread ranks: one rank trains exactly as a single process;
// two ranks are reproducible bit for bit and agree with each other; they learn as well as one process within a
// few points; configurations it cannot run yet are config errors.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "gas/dist/comm.hpp"
#include "gas/dist/sharded_store.hpp"
#include "gas/dist/thread_comm.hpp"
#include "gas/gen/sbm.hpp"
#include "gas/history/host_store.hpp"
#include "gas/models/gcn.hpp"
#include "gas/partition/metis.hpp"
#include "gas/train/trainer.hpp"

namespace {

using Host = gas::history::HostStore<float>;
using Sharded = gas::dist::ShardedStore<Host>;
using gas::models::GCN;

gas::Dataset easy_sbm() {
  return gas::gen::sbm({.nodes = 1200, .classes = 4, .features = 12, .degree = 8, .homophily = 0.8, .noise = 1.5,
                        .seed = 3});
}

gas::models::GCNOptions options_of(const gas::Dataset& d) {
  return {.in = d.num_features(), .hidden = 16, .out = d.num_classes, .layers = 3, .dropout = 0.5};
}

bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// What a fit leaves that determinism must reproduce: every epoch's loss and metrics, and the final parameters.
struct Outcome {
  std::vector<double> curves;
  std::vector<float> parameters;
  double test = 0;
  bool operator==(const Outcome& o) const {
    if (curves.size() != o.curves.size() || parameters.size() != o.parameters.size() || !same(test, o.test)) return false;
    for (std::size_t k = 0; k < curves.size(); ++k)
      if (!same(curves[k], o.curves[k])) return false;
    return std::memcmp(parameters.data(), o.parameters.data(), parameters.size() * sizeof(float)) == 0;
  }
};

template <class Model>
Outcome outcome(const gas::TrainResult& r, Model& model, bool with_loss = true) {
  Outcome o;
  for (const auto& e : r.epochs) {
    if (with_loss) o.curves.push_back(e.loss);
    o.curves.insert(o.curves.end(), {e.train, e.val, e.test});
  }
  for (const auto* p : model.parameters()) o.parameters.insert(o.parameters.end(), p->value.values().begin(), p->value.values().end());
  o.test = r.test_at_best_val;
  return o;
}

gas::TrainerOptions trainer_options() { return {.batch_size = 2, .epochs = 25, .seed = 5}; }

/// A distributed fit on `ranks` thread ranks; every rank's outcome (the loss is each rank's own, so compared
/// across ranks without it).
std::vector<Outcome> distributed(const gas::Dataset& data, int ranks, bool with_loss) {
  std::vector<Outcome> out(static_cast<std::size_t>(ranks));
  gas::dist::run_threads(ranks, [&](gas::dist::Communicator& comm) {
    GCN<float, gas::host, Sharded> model(data.num_nodes(), options_of(data), 7);
    auto o = trainer_options();
    o.comm = &comm;
    o.background_loader = comm.rank() == 0;  // the loader mode does not change the batches
    gas::Trainer<GCN<float, gas::host, Sharded>, gas::partition::Metis> trainer(model, {.num_parts = 8, .seed = 1}, o);
    const auto r = trainer.fit(data);
    out[static_cast<std::size_t>(comm.rank())] = outcome(r, model, with_loss);
  });
  return out;
}

}  // namespace

TEST_CASE("distributed Trainer: one rank (SelfComm) trains exactly as a single process") {
  const auto data = easy_sbm();
  GCN<float> single(data.num_nodes(), options_of(data), 7);
  gas::Trainer<GCN<float>, gas::partition::Metis> plain(single, {.num_parts = 8, .seed = 1}, trainer_options());
  const auto expected = outcome(plain.fit(data), single);

  gas::dist::SelfComm self;
  GCN<float, gas::host, Sharded> model(data.num_nodes(), options_of(data), 7);
  auto o = trainer_options();
  o.comm = &self;
  gas::Trainer<GCN<float, gas::host, Sharded>, gas::partition::Metis> trainer(model, {.num_parts = 8, .seed = 1}, o);
  const auto got = outcome(trainer.fit(data), model);
  CHECK(got == expected);
  // And on one thread rank of run_threads: the same.
  CHECK(distributed(data, 1, true).front() == expected);
}

TEST_CASE("distributed Trainer: two ranks agree with each other, are reproducible, and learn as one process does") {
  const auto data = easy_sbm();
  const auto first = distributed(data, 2, false);
  const auto second = distributed(data, 2, false);
  CHECK(first[0] == first[1]);   // the same parameters and metrics on every rank
  CHECK(first[0] == second[0]);  // run to run, bit for bit
  CHECK(first[1] == second[1]);
  GCN<float> single(data.num_nodes(), options_of(data), 7);
  gas::Trainer<GCN<float>, gas::partition::Metis> plain(single, {.num_parts = 8, .seed = 1}, trainer_options());
  const double one = plain.fit(data).test_at_best_val;
  MESSAGE("test accuracy: 1 process " << one << ", 2 ranks " << first[0].test);
  CHECK(first[0].test > 0.8);
  CHECK(first[0].test > one - 0.05);
}

TEST_CASE("distributed Trainer: micro-F1 from summed counts equals one process's on one rank and agrees over two") {
  auto data = easy_sbm();
  data.multi_labels = gas::Tensor<std::uint8_t>(data.num_nodes(), data.num_classes);
  for (gas::node_id v = 0; v < data.num_nodes(); ++v)
    data.multi_labels(v, data.labels[static_cast<std::size_t>(v)]) = 1;  // one-hot: BCE loss, micro-F1 metric
  GCN<float> single(data.num_nodes(), options_of(data), 7);
  gas::Trainer<GCN<float>, gas::partition::Metis> plain(single, {.num_parts = 8, .seed = 1}, trainer_options());
  const auto expected = outcome(plain.fit(data), single);
  CHECK(distributed(data, 1, true).front() == expected);
  const auto two = distributed(data, 2, false);
  CHECK(two[0] == two[1]);
  CHECK(two[0].test > 0.5);
}

TEST_CASE("distributed Trainer: what it cannot run yet is a config error naming it") {
  const auto data = easy_sbm();
  gas::dist::SelfComm self;
  {  // histories that are not sharded
    GCN<float> model(data.num_nodes(), options_of(data), 7);
    auto o = trainer_options();
    o.comm = &self;
    gas::Trainer<GCN<float>, gas::partition::Metis> trainer(model, {.num_parts = 8, .seed = 1}, o);
    CHECK_THROWS_WITH_AS(trainer.fit(data), doctest::Contains("ShardedStore"), gas::config_error);
  }
  {  // full-batch mode, checkpoints
    GCN<float, gas::host, Sharded> model(data.num_nodes(), options_of(data), 7);
    auto o = trainer_options();
    o.comm = &self;
    o.mode = gas::TrainerOptions::Mode::full;
    using T = gas::Trainer<GCN<float, gas::host, Sharded>, gas::partition::Metis>;
    CHECK_THROWS_AS(T(model, {.num_parts = 8, .seed = 1}, o), gas::config_error);
    o.mode = gas::TrainerOptions::Mode::gas;
    o.checkpoint = "never-written.ckpt";
    CHECK_THROWS_AS(T(model, {.num_parts = 8, .seed = 1}, o), gas::config_error);
  }
  // 9 parts over 2 ranks: the ranks would have different step counts.
  gas::dist::run_threads(2, [&](gas::dist::Communicator& comm) {
    GCN<float, gas::host, Sharded> model(data.num_nodes(), options_of(data), 7);
    auto o = trainer_options();
    o.comm = &comm;
    gas::Trainer<GCN<float, gas::host, Sharded>, gas::partition::Metis> trainer(model, {.num_parts = 9, .seed = 1}, o);
    CHECK_THROWS_WITH_AS(trainer.fit(data), doctest::Contains("multiple of the rank count"), gas::config_error);
  });
}
