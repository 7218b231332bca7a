#pragma once
// Shared checks of the GAS model tests (GAT, APPNP, GCNII): an SBM problem permuted by a METIS partition, the
// one-partition == full-batch check, the layer-wise inference == full forward check, and a GAS training run.
// Every check is generic over the model: it needs forward, forward_full, inference, fill_histories, parameters.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <gas/autograd/tape.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/graph/transforms.hpp>
#include <gas/loader/batch.hpp>
#include <gas/loader/eval_loader.hpp>
#include <gas/loader/train_loader.hpp>
#include <gas/models/scalable_gnn.hpp>
#include <gas/ops/loss.hpp>
#include <gas/partition/metis.hpp>
#include <gas/partition/permute.hpp>
#include <gas/train/optimizer.hpp>

namespace model_test {

using gas::node_id;

/// An SBM dataset whose graph is transformed over the whole graph (GCN normalization, or self-loops for GAT)
/// and then permuted by a METIS partition.
struct Problem {
  gas::Dataset data;                // permuted
  std::vector<std::int64_t> ptr;    // cluster pointer
  std::vector<std::uint8_t> train;  // (nodes) 1 for training nodes
};

/// How the graph is prepared before partitioning.
enum class Prep { gcn_normalize, self_loops };

inline Problem make_problem(std::int64_t nodes, std::int32_t parts, Prep prep, double homophily = 0.8,
                            std::uint64_t seed = 1) {
  auto d = gas::gen::sbm({.nodes = nodes, .classes = 4, .features = 12, .degree = 8, .homophily = homophily,
                          .noise = 1.0, .seed = seed});
  const auto p = gas::partition::Metis{.num_parts = parts, .seed = seed}.partition(d.graph);
  d.graph = prep == Prep::gcn_normalize ? gas::gcn_normalize(d.graph) : gas::add_self_loops(d.graph);
  Problem out{gas::partition::permute(d, p), p.ptr, {}};
  out.train.assign(static_cast<std::size_t>(nodes), 0);
  for (auto v : out.data.splits[0].train) out.train[static_cast<std::size_t>(v)] = 1;
  return out;
}

/// Labels and training rows of a batch in its local (n_id) numbering, as cross_entropy reads them.
struct BatchTargets {
  std::vector<std::int32_t> labels;
  std::vector<node_id> rows;

  void build(const Problem& p, const gas::loader::Batch& b) {
    labels.assign(static_cast<std::size_t>(b.batch_size), 0);
    rows.clear();
    for (node_id i = 0; i < b.batch_size; ++i) {
      const auto v = static_cast<std::size_t>(b.n_id[static_cast<std::size_t>(i)]);
      labels[static_cast<std::size_t>(i)] = p.data.labels[v];
      if (p.train[v] != 0) rows.push_back(i);
    }
  }
};

inline std::vector<node_id> iota_ids(std::int64_t n) {
  std::vector<node_id> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), node_id{0});
  return ids;
}

template <class T>
bool same_bits(gas::MatrixView<const T> a, gas::MatrixView<const T> b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    if (a.cols() > 0 && std::memcmp(&a(i, 0), &b(i, 0), static_cast<std::size_t>(a.cols()) * sizeof(T)) != 0)
      return false;
  return true;
}

/// Max over elements of |a - b| / max(1, |b|).
template <class T>
double max_rel_diff(gas::MatrixView<const T> a, gas::MatrixView<const T> b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  double worst = 0;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    for (std::int64_t j = 0; j < a.cols(); ++j) {
      const double x = a(i, j), y = b(i, j);
      worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
    }
  return worst;
}

/// The full-graph forward pass of `model` on all of p's features, as a tensor.
template <class T, class Model>
gas::Tensor<T> full_eval(Model& model, const Problem& p, bool training = false, std::uint64_t seed = 0) {
  gas::autograd::Tape<T> tape;
  const auto ids = iota_ids(p.data.num_nodes());
  auto x = gas::models::gather_features(tape, p.data.features.view(), ids);
  auto y = model.forward_full(tape, x, p.data.graph, training, seed);
  return gas::Tensor<T>(y.value());
}

/// Five Adam steps of a GAS model on one partition and of an identically built model on the full graph: the
/// outputs, losses and parameters agree bit for bit. `make` builds a model in place.
template <class T, class Model>
void check_one_partition(const Problem& p, const std::function<std::unique_ptr<Model>()>& make) {
  const std::vector<std::int64_t> one_part{0, p.data.num_nodes()};
  gas::loader::BatchWorkspace ws;
  const std::vector<std::int32_t> cluster0{0};
  const auto batch = gas::loader::build_batch(p.data.graph, one_part, cluster0, ws);
  REQUIRE(batch.n_id == iota_ids(p.data.num_nodes()));  // row order is the identity
  BatchTargets targets;
  targets.build(p, batch);
  auto gas_model = make(), full_model = make();
  gas::train::Adam<T> gas_opt(gas_model->parameters(), {.lr = 0.01}), full_opt(full_model->parameters(), {.lr = 0.01});
  gas::autograd::Tape<T> gas_tape, full_tape;
  const auto ids = iota_ids(p.data.num_nodes());
  for (std::uint64_t step = 0; step < 5; ++step) {
    gas_tape.reset();
    full_tape.reset();
    auto a = gas_model->forward(gas_tape, p.data.features, batch, true, 100 + step);
    auto x = gas::models::gather_features(full_tape, p.data.features.view(), ids);
    auto b = full_model->forward_full(full_tape, x, p.data.graph, true, 100 + step);
    CHECK(same_bits<T>(a.value(), b.value()));
    auto la = gas::ops::cross_entropy(a, targets.labels, targets.rows);
    auto lb = gas::ops::cross_entropy(b, targets.labels, targets.rows);
    CHECK(la.value()(0, 0) == lb.value()(0, 0));  // exact
    gas_opt.zero_grad();
    full_opt.zero_grad();
    gas_tape.backward(la);
    full_tape.backward(lb);
    gas_opt.step();
    full_opt.step();
  }
  const auto pa = gas_model->parameters(), pb = full_model->parameters();
  REQUIRE(pa.size() == pb.size());
  REQUIRE(!pa.empty());
  for (std::size_t k = 0; k < pa.size(); ++k) {
    CAPTURE(pa[k]->name);
    CHECK(same_bits<T>(pa[k]->value.view(), pb[k]->value.view()));
  }
}

/// Layer-wise inference (histories pre-filled with garbage) equals the full forward pass, for batch sizes 1, 3.
template <class Model>
void check_inference(Model& model, const Problem& p, const gas::Tensor<float>& full) {
  for (const std::int32_t batch_size : {1, 3}) {
    CAPTURE(batch_size);
    const gas::loader::EvalLoader loader(p.data.graph, p.ptr, batch_size);
    for (auto& h : model.histories()) h.fill(123.0f);  // stale garbage: inference must not read it
    const auto out = model.inference(p.data.features, loader);
    CHECK(max_rel_diff<float>(out.view(), full.view()) < 1e-5);
  }
}

/// GAS training (METIS parts, 2 per batch, 4 steps per epoch) with evaluation after each epoch; returns the
/// test accuracy of the final layer-wise inference and checks that the loss fell.
template <class Model>
double train_gas(Model& model, const Problem& p, std::int64_t epochs, double lr, double weight_decay = 0) {
  gas::train::Adam<float> opt(model.parameters(), {.lr = lr, .weight_decay = weight_decay});
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 2);
  gas::loader::TrainLoader loader(p.data.graph, p.ptr, {.batch_size = 2, .seed = 5, .background = false});
  model.fill_histories(p.data.features, eval);
  gas::autograd::Tape<float> tape;
  BatchTargets targets;
  std::uint64_t step = 0;
  double first_loss = 0, last_loss = 0;
  for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
    loader.start_epoch(epoch);
    for (gas::loader::Batch b; loader.next(b);) {
      tape.reset();
      targets.build(p, b);
      auto y = model.forward(tape, p.data.features, b, true, step++);
      auto loss = gas::ops::cross_entropy(y, targets.labels, targets.rows);
      opt.zero_grad();
      tape.backward(loss);
      opt.step();
      if (step == 1) first_loss = loss.value()(0, 0);
      last_loss = loss.value()(0, 0);
    }
    (void)model.inference(p.data.features, eval);  // evaluation refreshes the histories, as in the reference
  }
  const auto logits = model.inference(p.data.features, eval);
  const auto& test = p.data.splits[0].test;
  std::int64_t correct = 0;
  for (const node_id v : test) {
    const auto row = logits.view().row(v);
    const auto predicted = std::max_element(row.begin(), row.end()) - row.begin();
    correct += predicted == p.data.labels[static_cast<std::size_t>(v)];
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(test.size());
  MESSAGE("test accuracy " << accuracy << ", loss " << first_loss << " -> " << last_loss);
  CHECK(last_loss < first_loss);
  return accuracy;
}

/// The names of a parameter list.
template <class P>
std::vector<std::string> names(const std::vector<P*>& ps) {
  std::vector<std::string> out;
  for (auto* q : ps) out.push_back(q->name);
  return out;
}

}  // namespace model_test
