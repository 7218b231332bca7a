// Layers and models on gas::cuda::device against the same code on the host: one template argument apart, built from
// the same seeds, so parameters start identical; forward values, input and parameter gradients, optimizer steps,
// GAS training through the histories and layer-wise inference must agree to fp32 reordering bounds.
// Every case needs a GPU and is skipped (not failed) without one.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include <gas/gas.hpp>

#include "../../examples/custom_model.hpp"
#include "../models/model_test_util.hpp"
#include "../models/raw_graph_test_util.hpp"
#include "../nn/message_passing_layers.hpp"
#include "matches_host_util.hpp"

namespace {

using gas_test::no_gpu;
using gas::cuda::device;
using gas::host;
using HTape = gas::autograd::Tape<float>;
using DTape = gas::autograd::Tape<float, device>;

// Sums and products reordered between the host loops and the device kernels, relative to each tensor's magnitude.
constexpr double kRel = 1e-4;

// Compares the host and device parameter lists (values and gradients), name by name. A gradient is compared
// against its own magnitude, but at least 1 % of the largest gradient of the list: a parameter whose gradient is
// zero in exact arithmetic (a bias followed by batch norm) holds rounding noise on both backends.
template <class HP, class DP>
void check_parameters(const std::vector<HP*>& h, const std::vector<DP*>& d, bool grads) {
  REQUIRE(h.size() == d.size());
  float largest = 0;
  for (const auto* p : h)
    for (const float g : p->grad.values()) largest = std::max(largest, std::abs(g));
  for (std::size_t i = 0; i < h.size(); ++i) {
    INFO("parameter " << h[i]->name);
    CHECK(h[i]->name == d[i]->name);
    const auto dv = d[i]->value.to_host();
    gas_test::check_close_normwise<float>(dv.values(), h[i]->value.values(), kRel);
    if (grads) {
      const auto dg = d[i]->grad.to_host();
      float own = 0;
      for (const float g : h[i]->grad.values()) own = std::max(own, std::abs(g));
      const std::vector<float> scale(dg.values().size(), std::max(own, 0.01f * largest));
      gas_test::check_close<float>(dg.values(), h[i]->grad.values(), kRel, scale);
    }
  }
}

// The graph of a tape's backend: `g` for the host tape, its device copy `dg` for the device tape.
template <class Tape>
const auto& graph_for(const Tape&, const gas::Graph& g, const gas::cuda::DeviceCsr& dg) {
  if constexpr (std::is_same_v<Tape, DTape>) return dg;
  else return g;
}

// Runs f(tape, x) on both backends from the same input X, backpropagates the same seed gradient, and compares the
// output, x's gradient and (for layers that have any) the parameters' gradients.
template <class HLayer, class DLayer, class F>
void check_layer(HLayer& hl, DLayer& dl, const gas::Tensor<float>& X, F&& f, std::uint64_t seed = 91) {
  HTape ht;
  DTape dt;
  auto hx = ht.variable(X.view());
  auto dx = dt.variable_from_host(X.view());
  auto hy = f(hl, ht, hx);
  auto dy = f(dl, dt, dx);
  REQUIRE(hy.rows() == dy.rows());
  REQUIRE(hy.cols() == dy.cols());
  const auto G = gas_test::random_matrix<float>(hy.rows(), hy.cols(), seed);
  ht.backward(hy, G.view());
  dt.backward(dy, dt.constant_from_host(G.view()).value());
  const auto out = gas::autograd::to_host(dy);
  gas_test::check_close_normwise<float>(out.values(), gas_test::as_span(hy.value()), kRel);
  const auto gx = dt.to_host(dx.grad());
  gas_test::check_close_normwise<float>(gx.values(), gas_test::as_span(hx.grad()), kRel);
  if constexpr (requires { hl.parameters(); }) check_parameters(hl.parameters(), dl.parameters(), true);
}

// Builds the same model on both backends from `o` and seed 7, fills the histories, takes `steps` GAS training steps
// (same batches, same dropout seeds, epoch after epoch) comparing each loss and every gradient, then compares every
// parameter and the layer-wise inference. HM and DM are one model template on gas::host and gas::cuda::device.
// SGD, not Adam: Adam's first steps move every weight by about lr whatever its gradient's size, so gradients at
// rounding level whose sign differs between the backends would part the runs; SGD keeps differences at rounding.
template <class HM, class DM, class Options>
void check_model(const model_test::Problem& p, const Options& o, std::uint64_t steps = 3) {
  HM hm(p.data.num_nodes(), o, 7);
  DM dm(p.data.num_nodes(), o, 7);
  check_parameters(hm.parameters(), dm.parameters(), false);
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 2);
  gas::loader::TrainLoader hl(p.data.graph, p.ptr, {.batch_size = 2, .seed = 3, .background = false});
  gas::loader::TrainLoader dl(p.data.graph, p.ptr, {.batch_size = 2, .seed = 3, .background = false});
  gas::train::SGD<float> ho(hm.parameters(), {.lr = 0.05, .momentum = 0.9});
  gas::train::SGD<float, device> dop(dm.parameters(), {.lr = 0.05, .momentum = 0.9});
  hm.fill_histories(p.data.features, eval);
  dm.fill_histories(p.data.features, eval);
  HTape ht;
  DTape dt;
  model_test::BatchTargets targets;
  std::uint64_t step = 0;
  for (std::int64_t epoch = 0; step < steps; ++epoch) {
    hl.start_epoch(epoch);
    dl.start_epoch(epoch);
    gas::loader::Batch hb, db;
    for (; step < steps && hl.next(hb); ++step) {
      REQUIRE(dl.next(db));
      ht.reset();
      dt.reset();
      targets.build(p, hb);
      auto hy = hm.forward(ht, p.data.features, hb, true, step);
      auto dy = dm.forward(dt, p.data.features, db, true, step);
      auto hloss = gas::ops::cross_entropy(hy, targets.labels, targets.rows);
      auto dloss = gas::ops::cross_entropy(dy, targets.labels, targets.rows);
      ho.zero_grad();
      dop.zero_grad();
      ht.backward(hloss);
      dt.backward(dloss);
      check_parameters(hm.parameters(), dm.parameters(), true);
      ho.step();
      dop.step();
      const double h = hloss.value()(0, 0), d = gas::autograd::to_host(dloss)(0, 0);
      INFO("step " << step);
      CHECK(std::abs(h - d) <= 1e-3 * std::max(1.0, std::abs(h)));
    }
  }
  check_parameters(hm.parameters(), dm.parameters(), false);
  const auto hlog = hm.inference(p.data.features, eval);
  const auto dlog = dm.inference(p.data.features, eval);  // host memory on either backend
  gas_test::check_close_normwise<float>(dlog.values(), hlog.values(), kRel);
}

// The host and device fits of one Trainer setting took the same curves: losses to fp32 reordering, validation
// accuracy to a node or two (a node whose top logits nearly tie may flip), and so the same best validation.
void check_same_curves(const gas::TrainResult& hr, const gas::TrainResult& dr) {
  REQUIRE(hr.epochs.size() == dr.epochs.size());
  for (std::size_t e = 0; e < hr.epochs.size(); ++e) {
    CAPTURE(e);
    CHECK(std::abs(hr.epochs[e].loss - dr.epochs[e].loss) <= 1e-3 * std::max(1.0, std::abs(hr.epochs[e].loss)));
    CHECK(std::abs(hr.epochs[e].val - dr.epochs[e].val) <= 0.02);
  }
  CHECK(std::abs(dr.best_val - hr.best_val) <= 0.02);
}

gas::Graph bipartite(gas::node_id rows, gas::node_id cols, bool weighted) {
  return gas_test::random_graph(rows, cols, 17, weighted);
}

}  // namespace

TEST_CASE("Linear, GCNConv and SAGEConv on the device match the host" * doctest::skip(no_gpu)) {
  const auto X = gas_test::random_matrix<float>(60, 37, 3);
  {
    gas::Rng r1(1), r2(1);
    gas::nn::Linear<float> hl(37, 16, r1);
    gas::nn::Linear<float, device> dl(37, 16, r2);
    check_layer(hl, dl, X, [](auto& l, auto& t, auto x) { return l.forward(t, x); });
  }
  for (const bool weighted : {true, false}) {
    const auto g = bipartite(40, 60, weighted);
    gas::cuda::DeviceCsr dg(g, nullptr);
    gas::Rng r1(2), r2(2);
    gas::nn::GCNConv<float> hc(37, 16, r1);
    gas::nn::GCNConv<float, device> dc(37, 16, r2);
    check_layer(hc, dc, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, graph_for(t, g, dg)); }, 5);

    gas::Rng r3(3), r4(3);
    gas::nn::SAGEConv<float> hs(37, 16, r3);
    gas::nn::SAGEConv<float, device> ds(37, 16, r4);
    check_layer(hs, ds, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, graph_for(t, g, dg)); });
  }
}

TEST_CASE("GATConv, GCN2Conv, GINConv, PNAConv, BatchNorm and APPNP on the device match the host" * doctest::skip(no_gpu)) {
  const auto X = gas_test::random_matrix<float>(60, 16, 4);
  const auto g = bipartite(40, 60, true);
  const gas::cuda::DeviceCsr dg(g, nullptr);
  auto on = [&](const auto& t) -> const auto& { return graph_for(t, g, dg); };
  for (const bool concat : {true, false}) {
    gas::Rng r1(6), r2(6);
    const gas::nn::GATOptions o{.in = 16, .out = 8, .heads = 3, .concat = concat};
    gas::nn::GATConv<float> h(o, r1);
    gas::nn::GATConv<float, device> d(o, r2);
    check_layer(h, d, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, on(t)); });
  }
  {
    gas::Rng r1(7), r2(7);
    const gas::nn::GCN2Options o{.channels = 16, .alpha = 0.1, .theta = 0.5, .layer = 2, .shared_weights = false};
    gas::nn::GCN2Conv<float> h(o, r1);
    gas::nn::GCN2Conv<float, device> d(o, r2);
    check_layer(h, d, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, x, on(t)); });
  }
  {
    gas::Rng r1(8), r2(8);
    const gas::nn::MLPOptions o{.channels = {16, 32, 8}, .batch_norm = true};
    gas::nn::GINConv<float, host, gas::nn::MLP<float>> h({.eps = 0.25, .train_eps = true}, o, r1);
    gas::nn::GINConv<float, device, gas::nn::MLP<float, device>> d({.eps = 0.25, .train_eps = true}, o, r2);
    check_layer(h, d, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, on(t), true, 11); });
  }
  for (const bool branch : {false, true}) {  // PyG's PNAConv and the reference's branch form
    const gas::nn::PNAOptions o{.in = 16, .out = 8, .degrees = gas::nn::degree_statistics(g)};
    gas::Rng r1(12), r2(12);
    if (branch) {
      gas::nn::PNABranchConv<float> h(o, r1);
      gas::nn::PNABranchConv<float, device> d(o, r2);
      check_layer(h, d, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, on(t)); });
    } else {
      gas::nn::PNAConv<float> h(o, r1);
      gas::nn::PNAConv<float, device> d(o, r2);
      check_layer(h, d, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, on(t)); });
    }
  }
  {
    gas::nn::BatchNorm<float> h(16);
    gas::nn::BatchNorm<float, device> d(16);
    check_layer(h, d, X, [](auto& l, auto& t, auto x) { return l.forward(t, x, true); });
    check_layer(h, d, X, [](auto& l, auto& t, auto x) { return l.forward(t, x, false); });  // running statistics
  }
  {
    const auto sq = bipartite(60, 60, true);
    const gas::cuda::DeviceCsr dsq(sq, nullptr);
    const gas::nn::APPNP<float> h(4, 0.1);
    const gas::nn::APPNP<float, device> d(4, 0.1);
    check_layer(h, d, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, graph_for(t, sq, dsq)); }, 9);
  }
}

TEST_CASE("Adam and SGD steps on device parameters match the host" * doctest::skip(no_gpu)) {
  const auto V = gas_test::random_matrix<float>(33, 17, 12);
  const auto G = gas_test::random_matrix<float>(33, 17, 13);
  gas::autograd::Parameter<float> hp("w", gas::Tensor<float>(V.view()));
  gas::autograd::Parameter<float, device> dp("w", gas::Tensor<float, device>::from_host(V));
  gas::autograd::Parameter<float> hq("q", gas::Tensor<float>(V.view()));
  gas::autograd::Parameter<float, device> dq("q", gas::Tensor<float, device>::from_host(V));
  gas::train::AdamW<float> ha({&hp}, {.lr = 0.01, .weight_decay = 0.1});
  gas::train::AdamW<float, device> da({&dp}, {.lr = 0.01, .weight_decay = 0.1});
  gas::train::SGD<float> hs({&hq}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  gas::train::SGD<float, device> ds({&dq}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  for (int step = 0; step < 5; ++step) {
    hp.grad = gas::Tensor<float>(G.view());
    dp.grad.copy_from(G);
    hq.grad = gas::Tensor<float>(G.view());
    dq.grad.copy_from(G);
    ha.step();
    da.step();
    hs.step();
    ds.step();
  }
  gas_test::check_close<float>(dp.value.to_host().values(), hp.value.values(), 1e-5);
  gas_test::check_close<float>(dq.value.to_host().values(), hq.value.values(), 1e-5);
}

TEST_CASE("A GCN trains through its histories on the device as on the host" * doctest::skip(no_gpu)) {
  const auto p = model_test::make_problem(400, 8, model_test::Prep::gcn_normalize);
  const gas::models::GCNOptions o{.in = 12, .hidden = 16, .out = 4, .layers = 3, .dropout = 0.5};
  gas::models::GCN<float> hm(p.data.graph.rows(), o, 21);
  gas::models::GCN<float, device> dm(p.data.graph.rows(), o, 21);
  check_parameters(hm.parameters(), dm.parameters(), false);

  // forward_full: the whole graph, with dropout in training (the same masks from the same seed).
  {
    const gas::cuda::DeviceCsr dg(p.data.graph, nullptr);
    HTape ht;
    DTape dt;
    auto hy = hm.forward_full(ht, ht.constant(p.data.features.view()), p.data.graph, true, 3);
    auto dy = dm.forward_full(dt, dt.constant_from_host(p.data.features.view()), dg, true, 3);
    gas_test::check_close_normwise<float>(gas::autograd::to_host(dy).values(), gas_test::as_span(hy.value()), kRel);
  }

  // GAS training through the histories, two epochs of four steps, then layer-wise inference.
  check_model<gas::models::GCN<float>, gas::models::GCN<float, device>>(p, o, 8);
}

TEST_CASE("docs/cuda.md: a GCN trained on the device" * doctest::skip(no_gpu)) {
  const auto p = model_test::make_problem(400, 8, model_test::Prep::gcn_normalize);
  const gas::Dataset& data = p.data;
  const std::vector<std::int64_t>& ptr = p.ptr;
  model_test::BatchTargets targets;
  std::vector<double> epoch_loss;  // mean loss of each epoch
  // example-begin device-gcn
  using Dev = gas::cuda::device;  // the only change from a host model: this template argument
  gas::models::GCN<float, Dev> model(data.graph.rows(), {.in = 12, .hidden = 16, .out = 4, .layers = 2}, 7);
  gas::train::Adam<float, Dev> optimizer(model.parameters(), {.lr = 0.01});
  const gas::loader::EvalLoader eval(data.graph, ptr, 2);
  gas::loader::TrainLoader loader(data.graph, ptr, {.batch_size = 2, .seed = 5, .background = false});
  model.fill_histories(data.features, eval);  // histories stay in host memory
  gas::autograd::Tape<float, Dev> tape;             // its kernels run on tape.exec().stream()
  std::uint64_t step = 0;                     // seeds each step's dropout masks
  for (std::int64_t epoch = 0; epoch < 5; ++epoch) {
    loader.start_epoch(epoch);
    double sum = 0;
    int steps = 0;
    for (gas::loader::Batch batch; loader.next(batch); ++steps) {
      tape.reset();
      targets.build(p, batch);  // labels and training rows of the batch
      auto logits = model.forward(tape, data.features, batch, /*training=*/true, /*seed=*/step++);
      auto loss = gas::ops::cross_entropy(logits, targets.labels, targets.rows);
      optimizer.zero_grad();
      tape.backward(loss);
      optimizer.step();
      sum += gas::autograd::to_host(loss)(0, 0);  // a copy to the host: waits for the stream
    }
    epoch_loss.push_back(sum / steps);
  }
  const gas::Tensor<float> out = model.inference(data.features, eval);  // (nodes, classes), in host memory
  // example-end device-gcn
  CHECK(out.rows() == data.graph.rows());
  CHECK(epoch_loss.back() < epoch_loss.front());
}

TEST_CASE("gas::Trainer fits a device GCN as it fits the host one, in GAS and full mode" * doctest::skip(no_gpu)) {
  auto data = gas::gen::sbm({.nodes = 600, .classes = 4, .features = 12, .degree = 8, .homophily = 0.9, .noise = 1.0,
                             .seed = 3});
  const gas::models::GCNOptions o{.in = 12, .hidden = 16, .out = 4, .layers = 2, .dropout = 0.5};
  using Store = gas::history::HostStore<float>;
  for (const auto mode : {gas::TrainerOptions::Mode::gas, gas::TrainerOptions::Mode::full}) {
    CAPTURE(static_cast<int>(mode));
    gas::models::GCN<float> hm(data.num_nodes(), o, 4);
    gas::models::GCN<float, device> dm(data.num_nodes(), o, 4);
    const gas::TrainerOptions opts{.batch_size = 2, .epochs = 8, .grad_clip = 1.0, .seed = 5, .mode = mode};
    gas::Trainer<gas::models::GCN<float>, gas::partition::Metis, Store> ht(hm, {.num_parts = 6, .seed = 1}, opts);
    gas::Trainer<gas::models::GCN<float, device>, gas::partition::Metis, Store> dt(dm, {.num_parts = 6, .seed = 1},
                                                                                  opts);
    check_same_curves(ht.fit(data), dt.fit(data));
    dt.load_best();
    CHECK(dt.best_parameters().size() == dm.parameters().size());
  }
}

TEST_CASE("GAT, APPNP, GCNII, GIN, PNA and PNA_JK train and infer on the device as on the host" * doctest::skip(no_gpu)) {
  using namespace gas::models;
  using model_test::Prep;
  SUBCASE("GAT") {
    const auto p = model_test::make_problem(400, 8, Prep::self_loops);
    check_model<GAT<float>, GAT<float, device>>(p, GATModelOptions{.in = 12, .hidden = 4, .heads = 2, .out = 4});
  }
  SUBCASE("APPNP") {
    const auto p = model_test::make_problem(400, 8, Prep::gcn_normalize);
    check_model<APPNP<float>, APPNP<float, device>>(p, APPNPOptions{.in = 12, .hidden = 8, .out = 4, .K = 3});
  }
  SUBCASE("GCNII") {
    const auto p = model_test::make_problem(400, 8, Prep::gcn_normalize);
    const GCNIIOptions o{.in = 12, .hidden = 8, .out = 4, .layers = 3, .shared_weights = false, .batch_norm = true};
    check_model<GCNII<float>, GCNII<float, device>>(p, o);
  }
  SUBCASE("GIN") {
    const auto p = model_test::make_raw_problem(400, 8);
    check_model<GIN<float>, GIN<float, device>>(p, GINOptions{.in = 12, .hidden = 8, .out = 4, .layers = 3});
  }
  SUBCASE("PNA and PNA_JK") {
    const auto p = model_test::make_raw_problem(400, 8);
    const PNAModelOptions o{.in = 12, .hidden = 8, .out = 4, .layers = 3,
                            .degrees = gas::nn::degree_statistics(p.data.graph), .batch_norm = true};
    check_model<PNA<float>, PNA<float, device>>(p, o);
    check_model<PNAJK<float>, PNAJK<float, device>>(p, o);
  }
}

TEST_CASE("MessagePassing layers (GraphSAGE, GIN with edge weights) on the device match the host" *
          doctest::skip(no_gpu)) {
  const auto X = gas_test::random_matrix<float>(60, 16, 8);
  for (const bool weighted : {true, false}) {
    const auto g = bipartite(40, 60, weighted);
    const gas::cuda::DeviceCsr dg(g, nullptr);
    auto on = [&](const auto& t) -> const auto& { return graph_for(t, g, dg); };
    gas::Rng r1(9), r2(9);
    mp_example::SAGE<float> hs(16, 8, r1);
    mp_example::SAGE<float, device> ds(16, 8, r2);
    check_layer(hs, ds, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, on(t)); });
    const gas::nn::MLPOptions mlp{.channels = {16, 12, 8}, .batch_norm = true, .plain_last = false};
    gas::Rng r3(10), r4(10);
    mp_example::WeightedGIN<float> hg(mlp, 0.25, r3);
    mp_example::WeightedGIN<float, device> dgin(mlp, 0.25, r4);
    check_layer(hg, dgin, X, [&](auto& l, auto& t, auto x) { return l.forward(t, x, on(t), true, 12); });
  }
}

TEST_CASE("the custom model of examples/custom_model.hpp trains on the device as on the host" * doctest::skip(no_gpu)) {
  auto data = gas::gen::sbm({.nodes = 600, .classes = 4, .features = 12, .degree = 8, .homophily = 0.9, .noise = 1.0,
                             .seed = 5});
  using HM = MaxSAGE<gas::models::Config<float>>;
  using DM = MaxSAGE<gas::models::Config<float, device>>;
  const gas::models::Widths w{.in = 12, .hidden = 16, .out = 4, .layers = 2};
  HM hm(data.num_nodes(), w, 0.5, 4);
  DM dm(data.num_nodes(), w, 0.5, 4);
  const gas::TrainerOptions opts{.batch_size = 2, .epochs = 6, .seed = 5};
  gas::Trainer<HM, gas::partition::Metis> ht(hm, {.num_parts = 6, .seed = 1}, opts);
  gas::Trainer<DM, gas::partition::Metis> dt(dm, {.num_parts = 6, .seed = 1}, opts);
  check_same_curves(ht.fit(data), dt.fit(data));
}
