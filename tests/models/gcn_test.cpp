// GCN as a GAS model on small SBM graphs (GCN-normalized over the whole graph, then permuted by a partition):
// one partition reproduces full-batch training bit for bit; layer-wise inference and GAS forwards on exact
// histories equal the full forward pass; backward never writes the histories; GAS training learns an easy SBM;
// parameter groups follow the reference; bad configurations throw typed errors.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <gas/autograd/tape.hpp>
#include <gas/core/error.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/graph/transforms.hpp>
#include <gas/history/host_store.hpp>
#include <gas/loader/batch.hpp>
#include <gas/loader/eval_loader.hpp>
#include <gas/loader/train_loader.hpp>
#include <gas/models/gcn.hpp>
#include <gas/models/scalable_gnn.hpp>
#include <gas/ops/loss.hpp>
#include <gas/partition/metis.hpp>
#include <gas/partition/permute.hpp>
#include <gas/train/optimizer.hpp>

#include "io/io_test_util.hpp"
#include "models/model_test_util.hpp"

using gas::node_id;
using gas::models::GCN;
using gas::models::GCNOptions;

namespace {

using model_test::Problem;

/// An SBM dataset whose graph is GCN-normalized over the whole graph (data.graph = A_hat), then permuted by a
/// METIS partition.
Problem make_problem(std::int64_t nodes, std::int32_t parts, double homophily = 0.8, std::uint64_t seed = 1) {
  auto d = gas::gen::sbm({.nodes = nodes, .classes = 4, .features = 12, .degree = 8, .homophily = homophily,
                          .noise = 1.0, .seed = seed});
  const auto p = gas::partition::Metis{.num_parts = parts, .seed = seed}.partition(d.graph);
  d.graph = gas::gcn_normalize(d.graph);  // the whole graph first: every batch row keeps its exact weights
  Problem out{gas::partition::permute(d, p), p.ptr, {}};
  out.train.assign(static_cast<std::size_t>(nodes), 0);
  for (auto v : out.data.splits[0].train) out.train[static_cast<std::size_t>(v)] = 1;
  return out;
}

// Batch targets and comparison helpers are shared with the other model tests.
using model_test::BatchTargets;
using model_test::iota_ids;
using model_test::max_rel_diff;
using model_test::same_bits;

/// The model variants the equivalence tests run: plain, deep with every option, and with linear heads.
std::vector<GCNOptions> variants(std::int64_t in, std::int64_t out) {
  return {
      {.in = in, .hidden = 16, .out = out, .layers = 2, .dropout = 0.5},
      {.in = in, .hidden = 16, .out = out, .layers = 3, .dropout = 0.3, .input_dropout = 0.2, .batch_norm = true,
       .residual = true},
      {.in = in, .hidden = 16, .out = out, .layers = 2, .dropout = 0.4, .batch_norm = true, .residual = true,
       .linear_head = true},
      {.in = in, .hidden = 8, .out = out, .layers = 1, .dropout = 0.5},
  };
}

std::string describe(const GCNOptions& o) {
  return "layers " + std::to_string(o.layers) + (o.batch_norm ? " bn" : "") + (o.residual ? " residual" : "") +
         (o.linear_head ? " linear" : "");
}

/// The full-graph forward pass of `model` on all of p's features in evaluation mode, as a tensor.
template <class T>
gas::Tensor<T> full_eval(GCN<T>& model, const Problem& p) {
  gas::autograd::Tape<T> tape;
  const auto ids = iota_ids(p.data.num_nodes());
  auto x = gas::models::gather_features(tape, p.data.features.view(), ids);
  auto y = model.forward_full(tape, x, p.data.graph, false, 0);
  return gas::Tensor<T>(y.value());
}

/// A few training forwards so that batch norms hold non-trivial running statistics.
template <class T>
void warm_running_stats(GCN<T>& model, const Problem& p) {
  gas::autograd::Tape<T> tape;
  const auto ids = iota_ids(p.data.num_nodes());
  for (std::uint64_t s = 0; s < 3; ++s) {
    tape.reset();
    auto x = gas::models::gather_features(tape, p.data.features.view(), ids);
    (void)model.forward_full(tape, x, p.data.graph, true, s);
  }
}

}  // namespace

TEST_CASE_TEMPLATE("GCN: one partition gives full-batch forward and training bit for bit", T, float, double) {
  const auto p = make_problem(300, 1);
  const std::vector<std::int64_t> one_part{0, p.data.num_nodes()};
  gas::loader::BatchWorkspace ws;
  const std::vector<std::int32_t> cluster0{0};
  const auto batch = gas::loader::build_batch(p.data.graph, one_part, cluster0, ws);
  REQUIRE(batch.n_id == iota_ids(p.data.num_nodes()));  // row order is the identity
  BatchTargets targets;
  targets.build(p, batch);

  for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
    CAPTURE(describe(o));
    GCN<T> gas_model(p.data.num_nodes(), o, 7), full_model(p.data.num_nodes(), o, 7);
    gas::train::Adam<T> gas_opt(gas_model.parameters(), {.lr = 0.01}), full_opt(full_model.parameters(), {.lr = 0.01});
    gas::autograd::Tape<T> gas_tape, full_tape;
    const auto ids = iota_ids(p.data.num_nodes());
    for (std::uint64_t step = 0; step < 5; ++step) {
      gas_tape.reset();
      full_tape.reset();
      auto a = gas_model.forward(gas_tape, p.data.features, batch, true, 100 + step);
      auto x = gas::models::gather_features(full_tape, p.data.features.view(), ids);
      auto b = full_model.forward_full(full_tape, x, p.data.graph, true, 100 + step);
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
    const auto pa = gas_model.parameters(), pb = full_model.parameters();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t k = 0; k < pa.size(); ++k) {
      CAPTURE(pa[k]->name);
      CHECK(same_bits<T>(pa[k]->value.view(), pb[k]->value.view()));
    }
  }
}

TEST_CASE("GCN: layer-wise inference equals the full forward pass") {
  for (const std::int32_t parts : {1, 4, 10}) {
    const auto p = make_problem(400, parts, 0.8, 3);
    for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
      GCN<float> model(p.data.num_nodes(), o, 11);
      warm_running_stats(model, p);
      const auto full = full_eval(model, p);
      for (const std::int32_t batch_size : {1, 3}) {
        CAPTURE(parts);
        CAPTURE(batch_size);
        CAPTURE(describe(o));
        const gas::loader::EvalLoader loader(p.data.graph, p.ptr, batch_size);
        for (auto& h : model.histories()) h.fill(123.0f);  // stale garbage: inference must not read it
        const auto out = model.inference(p.data.features, loader);
        CHECK(max_rel_diff<float>(out.view(), full.view()) < 1e-5);
      }
    }
  }
}

TEST_CASE("GCN: after inference, a GAS forward on any batch equals the full forward rows") {
  const auto p = make_problem(500, 10, 0.8, 5);
  auto o = variants(p.data.num_features(), p.data.num_classes)[1];  // 3 layers, batch norm, residual
  GCN<float> model(p.data.num_nodes(), o, 13);
  warm_running_stats(model, p);
  const auto full = full_eval(model, p);

  // The histories hold the exact hidden embeddings: compare against the full pass cut after each hidden layer.
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 3);
  model.fill_histories(p.data.features, eval);
  {
    gas::autograd::Tape<float> tape;
    const auto ids = iota_ids(p.data.num_nodes());
    auto x = gas::models::gather_features(tape, p.data.features.view(), ids);
    for (std::int32_t l = 0; l + 1 < model.num_layers(); ++l) {
      x = model.run_layer(l, tape, x, p.data.graph, false, 0);
      CHECK(max_rel_diff<float>(model.histories()[static_cast<std::size_t>(l)].table(), x.value()) < 1e-5);
    }
  }

  gas::loader::TrainLoader loader(p.data.graph, p.ptr, {.batch_size = 3, .seed = 9, .background = false});
  gas::autograd::Tape<float> tape;
  int batches = 0;
  for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    for (gas::loader::Batch b; loader.next(b);) {
      ++batches;
      tape.reset();
      const gas::autograd::NoGrad<float, gas::host> no_grad(tape);
      auto y = model.forward(tape, p.data.features, b, false, 0);  // (batch_size, out)
      REQUIRE(y.rows() == b.batch_size);
      REQUIRE(b.num_halo() > 0);
      double worst = 0;
      for (node_id i = 0; i < b.batch_size; ++i)
        for (std::int64_t j = 0; j < y.cols(); ++j) {
          const double a = y.value()(i, j), e = full(b.n_id[static_cast<std::size_t>(i)], j);
          worst = std::max(worst, std::abs(a - e) / std::max(1.0, std::abs(e)));
        }
      CHECK(worst < 1e-5);
    }
  }
  CHECK(batches == 8);
}

TEST_CASE("GCN: backward never writes the histories; pulled rows receive no gradient") {
  const auto p = make_problem(400, 8, 0.8, 7);
  GCNOptions o{.in = p.data.num_features(), .hidden = 16, .out = p.data.num_classes, .layers = 3, .dropout = 0.5};
  GCN<double> model(p.data.num_nodes(), o, 17);
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 2);
  model.fill_histories(p.data.features, eval);
  gas::loader::TrainLoader loader(p.data.graph, p.ptr, {.batch_size = 2, .seed = 4, .background = false});
  loader.start_epoch(0);
  gas::autograd::Tape<double> tape;
  BatchTargets targets;
  for (gas::loader::Batch b; loader.next(b);) {
    tape.reset();
    targets.build(p, b);
    auto y = model.forward(tape, p.data.features, b, true, 21);
    auto loss = gas::ops::cross_entropy(y, targets.labels, targets.rows);
    std::vector<gas::Tensor<double>> before;
    for (const auto& h : model.histories()) before.emplace_back(h.table());

    // The pushes wrote this batch's hidden rows: chunk rows of history l equal the input rows of push_and_pull l.
    std::vector<int> pp;
    for (int id = 0; id < tape.size(); ++id)
      if (std::string(tape.node(id).op) == "push_and_pull") pp.push_back(id);
    REQUIRE(pp.size() == 2);
    for (std::size_t l = 0; l < pp.size(); ++l) {
      const auto h = tape.node(tape.node(pp[l]).inputs[0]).value;  // (batch_size, hidden)
      std::int64_t begin = 0;
      for (const auto& c : b.chunks) {
        const auto table = model.histories()[l].table().slice_rows(c.offset, c.offset + c.count);
        CHECK(same_bits<double>(table, h.slice_rows(begin, begin + c.count)));
        begin += c.count;
      }
    }

    tape.keep_grads(true);  // the checks below read intermediate gradients
    tape.backward(loss);
    for (std::size_t l = 0; l < before.size(); ++l) CHECK(same_bits<double>(before[l].view(), model.histories()[l].table()));
    for (const int id : pp) {
      const auto& n = tape.node(id);
      REQUIRE(n.grad_live);
      const auto& in = tape.node(n.inputs[0]);
      REQUIRE(in.grad_live);
      // The whole gradient of the layer output is the top (batch) block: nothing flows from the halo block.
      CHECK(same_bits<double>(in.grad, n.grad.slice_rows(0, b.batch_size)));
      double halo_norm = 0;
      for (std::int64_t i = b.batch_size; i < n.grad.rows(); ++i)
        for (std::int64_t j = 0; j < n.grad.cols(); ++j) halo_norm += std::abs(n.grad(i, j));
      CHECK(halo_norm > 0);  // the halo rows did get a gradient, which backward dropped
    }
  }
}

TEST_CASE("GCN: GAS training (METIS 8 parts, 2 per batch) learns an easy SBM") {
  const auto p = make_problem(2000, 8, 0.9, 2);
  GCNOptions o{.in = p.data.num_features(), .hidden = 16, .out = p.data.num_classes, .layers = 2, .dropout = 0.5};
  GCN<float> model(p.data.num_nodes(), o, 3);
  REQUIRE(gas::loader::TrainLoader(p.data.graph, p.ptr, {.batch_size = 2}).steps_per_epoch() == 4);
  const double accuracy = model_test::train_gas(model, p, 50, 0.01);  // also checks that the loss fell
  MESSAGE("GAS GCN test accuracy " << accuracy);
  CHECK(accuracy > 0.9);
}

/// True when GCN<T, host, S> names a valid model: the store must be a HistoryStore computing in T.
template <class T, class S>
concept valid_gcn = requires { typename GCN<T, gas::host, S>; };

static_assert(valid_gcn<float, gas::history::HostStore<float>>);
static_assert(valid_gcn<double, gas::history::HostStore<double>>);
static_assert(!valid_gcn<float, gas::history::HostStore<double>>);  // a store computing in another type
static_assert(!valid_gcn<float, std::vector<float>>);                // not a history store at all

TEST_CASE("GCN: parameter names and the reference's weight-decay groups") {
  auto names = [](const std::vector<gas::autograd::Parameter<float>*>& ps) {
    std::vector<std::string> out;
    for (auto* q : ps) out.push_back(q->name);
    return out;
  };
  using V = std::vector<std::string>;
  {
    GCN<float> m(10, {.in = 4, .hidden = 8, .out = 3, .layers = 2});
    CHECK(names(m.parameters()) == V{"convs.0.lin.weight", "convs.0.bias", "convs.1.lin.weight", "convs.1.bias"});
    CHECK(names(m.reg_parameters()) == V{"convs.0.lin.weight", "convs.0.bias"});
    CHECK(names(m.nonreg_parameters()) == V{"convs.1.lin.weight", "convs.1.bias"});
    CHECK(m.histories().size() == 1);
    CHECK(m.histories()[0].num_nodes() == 10);
    CHECK(m.histories()[0].width() == 8);
  }
  {
    GCN<float> m(10, {.in = 4, .hidden = 8, .out = 3, .layers = 3, .batch_norm = true});
    CHECK(names(m.reg_parameters()) == V{"convs.0.lin.weight", "convs.0.bias", "convs.1.lin.weight", "convs.1.bias",
                                         "bns.0.weight", "bns.0.bias", "bns.1.weight", "bns.1.bias"});
    CHECK(names(m.nonreg_parameters()) == V{"convs.2.lin.weight", "convs.2.bias"});
    CHECK(m.histories().size() == 2);
  }
  {
    GCN<float> m(10, {.in = 4, .hidden = 8, .out = 3, .layers = 2, .batch_norm = true, .linear_head = true});
    CHECK(names(m.reg_parameters()) == V{"convs.0.lin.weight", "convs.0.bias", "convs.1.lin.weight", "convs.1.bias",
                                         "bns.0.weight", "bns.0.bias", "bns.1.weight", "bns.1.bias"});
    CHECK(names(m.nonreg_parameters()) == V{"lins.0.weight", "lins.0.bias", "lins.1.weight", "lins.1.bias"});
    CHECK(m.parameters().size() == 12);
  }
}

TEST_CASE("GCN: bad configurations throw typed errors") {
  const auto p = make_problem(120, 4, 0.8, 8);
  const GCNOptions o{.in = p.data.num_features(), .hidden = 8, .out = p.data.num_classes, .layers = 2};
  const auto n = static_cast<std::int64_t>(p.data.num_nodes());

  auto bad_layers = o;
  bad_layers.layers = 0;
  CHECK_THROWS_NAMING(gas::value_error, GCN<float>(n, bad_layers), "layers = 0");
  auto bad_width = o;
  bad_width.hidden = 0;
  CHECK_THROWS_NAMING(gas::value_error, GCN<float>(n, bad_width), "hidden = 0");
  auto bad_dropout = o;
  bad_dropout.dropout = 1.0;
  CHECK_THROWS_NAMING(gas::value_error, GCN<float>(n, bad_dropout), "dropout = 1");

  // A store factory that builds histories of the wrong width (or size): refused at construction.
  auto wider = [](std::int32_t, std::int64_t rows, std::int64_t width) {
    return gas::history::HostStore<float>(rows, width + 1);
  };
  CHECK_THROWS_NAMING(gas::shape_error, GCN<float>(n, o, 0, wider), "history 0 is (120 x 9)", "(120 x 8)");
  auto shorter = [](std::int32_t, std::int64_t rows, std::int64_t width) {
    return gas::history::HostStore<float>(rows - 1, width);
  };
  CHECK_THROWS_NAMING(gas::shape_error, GCN<float>(n, o, 0, shorter), "history 0 is (119 x 8)");

  GCN<float> model(n, o, 1);
  gas::loader::BatchWorkspace ws;
  const std::vector<std::int32_t> clusters{1, 2};
  const auto batch = gas::loader::build_batch(p.data.graph, p.ptr, clusters, ws);
  gas::autograd::Tape<float> tape;

  // Features of the wrong width or for another graph.
  const gas::Tensor<float> narrow(n, p.data.num_features() - 1);
  CHECK_THROWS_NAMING(gas::shape_error, model.forward(tape, narrow, batch, true, 0), "features are (120 x 11)",
                      "in_features = 12");
  const gas::Tensor<float> fewer(n - 1, p.data.num_features());
  CHECK_THROWS_NAMING(gas::shape_error, model.forward(tape, fewer, batch, true, 0), "features are (119 x 12)");
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 2);
  CHECK_THROWS_NAMING(gas::shape_error, model.inference(narrow, eval), "features are (120 x 11)");
  CHECK_THROWS_NAMING(gas::shape_error, model.fill_histories(narrow, eval), "features are (120 x 11)");

  // A loader cut from a different (smaller) graph.
  const auto other = make_problem(60, 2, 0.8, 8);
  const gas::loader::EvalLoader other_eval(other.data.graph, other.ptr, 1);
  CHECK_THROWS_NAMING(gas::shape_error, model.inference(p.data.features, other_eval), "60 nodes", "120");

  // A batch whose adjacency does not match its ids, and a layer index out of range.
  auto broken = batch;
  broken.n_id.push_back(0);
  CHECK_THROWS_NAMING(gas::shape_error, model.forward(tape, p.data.features, broken, true, 0), "batch adjacency");
  auto x = gas::models::gather_features(tape, p.data.features.view(), std::span<const node_id>(batch.n_id));
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(2, tape, x, batch.adj, true, 0), "layer 2 outside [0, 2)");

  // The full pass needs a square adjacency over x's rows, and x as wide as the input.
  CHECK_THROWS_NAMING(gas::shape_error, model.forward_full(tape, x, batch.adj, true, 0), "must be square");
  auto all = gas::models::gather_features(tape, narrow.view(), std::span<const node_id>(iota_ids(n)));
  CHECK_THROWS_NAMING(gas::shape_error, model.forward_full(tape, all, p.data.graph, true, 0), "in_features = 12");

  // Feature ids outside the feature rows.
  const std::vector<node_id> outside{0, 5, static_cast<node_id>(n)};
  CHECK_THROWS_NAMING(gas::value_error, gas::models::gather_features(tape, p.data.features.view(),
                                                                     std::span<const node_id>(outside)),
                      "id 120 at position 2");
}
