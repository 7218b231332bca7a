// GIN as a GAS model on small SBM graphs (the raw graph, as the reference's GIN runs, permuted by a partition),
// under each Lipschitz policy (nn::reg::None, nn::reg::NoisePerturbation, nn::reg::SpectralNorm): one partition reproduces
// full-batch training bit for bit, penalty included; layer-wise inference equals the full forward pass; GAS
// forwards on exact histories equal the full rows and backward never writes the histories; GAS training learns
// an easy SBM, with and without the penalty in the loss; the penalty is the reference's (positive in training,
// absent in evaluation, the share of each layer) and passes the gradient check; parameter groups follow the
// reference; bad configurations throw typed errors.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <gas/autograd/gradcheck.hpp>
#include <gas/autograd/tape.hpp>
#include <gas/core/error.hpp>
#include <gas/core/rng.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/history/host_store.hpp>
#include <gas/loader/batch.hpp>
#include <gas/loader/eval_loader.hpp>
#include <gas/loader/train_loader.hpp>
#include <gas/models/gin.hpp>
#include <gas/nn/regularizer.hpp>
#include <gas/ops/arithmetic.hpp>
#include <gas/ops/loss.hpp>
#include <gas/ops/reduce.hpp>
#include <gas/partition/contiguous.hpp>
#include <gas/train/optimizer.hpp>
#include <gas/train/trainer.hpp>

#include "io/io_test_util.hpp"
#include "models/model_test_util.hpp"
#include "models/raw_graph_test_util.hpp"
#include "nn/nn_test_util.hpp"

using gas::node_id;
using gas::models::GINOptions;
using model_test::make_raw_problem;
using model_test::Problem;

template <class T, class Reg = gas::nn::reg::None>
using GIN = gas::models::GIN<T, gas::host, gas::history::HostStore<T>, Reg>;
using Noise = gas::nn::reg::NoisePerturbation;
using Spectral = gas::nn::reg::SpectralNorm;

namespace {

std::vector<GINOptions> variants(std::int64_t in, std::int64_t out) {
  return {
      {.in = in, .hidden = 16, .out = out, .layers = 3, .dropout = 0.3},
      {.in = in, .hidden = 16, .out = out, .layers = 2, .dropout = 0.5, .batch_norm = false, .residual = false,
       .train_eps = false, .eps = 0.2},
      {.in = in, .hidden = 8, .out = out, .layers = 1},
      {.in = in, .hidden = 8, .out = out, .layers = 4, .dropout = 0.2, .eps = -0.1},
  };
}

std::string describe(const GINOptions& o) {
  return "layers " + std::to_string(o.layers) + (o.batch_norm ? " bn" : "") + (o.residual ? " residual" : "") +
         (o.train_eps ? " train_eps" : "");
}

/// A few training forwards so that batch norms hold non-trivial running statistics (and SpectralNorm's
/// estimates move).
template <class Model>
void warm_running_stats(Model& model, const Problem& p) {
  for (std::uint64_t s = 0; s < 3; ++s) (void)model_test::full_eval<float>(model, p, true, s);
}

/// Five Adam steps of a penalized GIN on one partition (GAS) and of an identically built one on the full graph,
/// with the penalty in the loss: outputs, penalties, losses and parameters agree bit for bit.
template <class T>
void check_one_partition_penalized(const Problem& p, const GINOptions& o) {
  const std::vector<std::int64_t> one_part{0, p.data.num_nodes()};
  gas::loader::BatchWorkspace ws;
  const std::vector<std::int32_t> cluster0{0};
  const auto batch = gas::loader::build_batch(p.data.graph, one_part, cluster0, ws);
  model_test::BatchTargets targets;
  targets.build(p, batch);
  GIN<T, Noise> gas_model(p.data.num_nodes(), o, 7), full_model(p.data.num_nodes(), o, 7);
  gas::train::Adam<T> gas_opt(gas_model.parameters(), {.lr = 0.01}), full_opt(full_model.parameters(), {.lr = 0.01});
  gas::autograd::Tape<T> gas_tape, full_tape;
  const auto ids = model_test::iota_ids(p.data.num_nodes());
  for (std::uint64_t step = 0; step < 5; ++step) {
    gas_tape.reset();
    full_tape.reset();
    auto a = gas_model.forward(gas_tape, p.data.features, batch, true, 100 + step);
    auto x = gas::models::gather_features(full_tape, p.data.features.view(), std::span<const node_id>(ids));
    auto b = full_model.forward_full(full_tape, x, p.data.graph, true, 100 + step);
    CHECK(model_test::same_bits<T>(a.value(), b.value()));
    const auto ra = gas_model.regularization_loss(gas_tape), rb = full_model.regularization_loss(full_tape);
    REQUIRE(ra.has_value() == (o.layers >= 3));
    REQUIRE(rb.has_value() == ra.has_value());
    auto la = gas::ops::cross_entropy(a, targets.labels, targets.rows);
    auto lb = gas::ops::cross_entropy(b, targets.labels, targets.rows);
    if (ra) {
      CHECK(ra->value()(0, 0) == rb->value()(0, 0));  // exact
      CHECK(ra->value()(0, 0) > 0);
      la = gas::ops::add(la, *ra);
      lb = gas::ops::add(lb, *rb);
    }
    CHECK(la.value()(0, 0) == lb.value()(0, 0));
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
    CHECK(model_test::same_bits<T>(pa[k]->value.view(), pb[k]->value.view()));
  }
}

/// Test accuracy of the layer-wise inference of `model`.
template <class Model>
double test_accuracy(Model& model, const Problem& p, const gas::loader::EvalLoader& eval) {
  const auto logits = model.inference(p.data.features, eval);
  const auto& test = p.data.splits[0].test;
  std::int64_t correct = 0;
  for (const node_id v : test) {
    const auto row = logits.view().row(v);
    correct += std::max_element(row.begin(), row.end()) - row.begin() == p.data.labels[static_cast<std::size_t>(v)];
  }
  return static_cast<double>(correct) / static_cast<double>(test.size());
}

}  // namespace

// The model takes the raw graph and satisfies what Trainer needs; each policy lands where it acts.
static_assert(!GIN<float>::traits.gcn_norm);
static_assert(gas::TrainableModel<GIN<float>>);
static_assert(gas::TrainableModel<GIN<double, Noise>>);
// The penalty exists exactly when the policy penalizes, and the traits say so.
static_assert(gas::HasRegularizationLoss<GIN<float, Noise>> && GIN<float, Noise>::traits.regularization);
static_assert(!gas::HasRegularizationLoss<GIN<float>> && !GIN<float>::traits.regularization);
static_assert(!gas::HasRegularizationLoss<GIN<float, Spectral>> && !GIN<float, Spectral>::traits.regularization);
static_assert(std::is_same_v<GIN<float, Noise>::conv_type,
                             gas::nn::GINConv<float, gas::host, gas::models::GINMLP<float>, Noise>>);
static_assert(std::is_same_v<GIN<float, Spectral>::conv_type,
                             gas::nn::GINConv<float, gas::host, gas::models::GINMLP<float, gas::host, Spectral>>>);
static_assert(gas::nn::Network<gas::models::GINMLP<double, gas::host, Spectral>, double, gas::host>);

TEST_CASE_TEMPLATE("GIN: one partition gives full-batch forward and training bit for bit", T, float, double) {
  const auto p = make_raw_problem(300, 1);
  for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
    CAPTURE(describe(o));
    model_test::check_one_partition<T, GIN<T>>(p, [&] { return std::make_unique<GIN<T>>(p.data.num_nodes(), o, 7); });
    model_test::check_one_partition<T, GIN<T, Spectral>>(
        p, [&] { return std::make_unique<GIN<T, Spectral>>(p.data.num_nodes(), o, 7); });
    check_one_partition_penalized<T>(p, o);
  }
}

TEST_CASE("GIN: layer-wise inference equals the full forward pass") {
  for (const std::int32_t parts : {1, 4, 10}) {
    CAPTURE(parts);
    const auto p = make_raw_problem(400, parts, 0.8, 3);
    for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
      CAPTURE(describe(o));
      GIN<float> plain(p.data.num_nodes(), o, 11);
      warm_running_stats(plain, p);
      model_test::check_inference(plain, p, model_test::full_eval<float>(plain, p));
      GIN<float, Spectral> spectral(p.data.num_nodes(), o, 12);
      warm_running_stats(spectral, p);
      model_test::check_inference(spectral, p, model_test::full_eval<float>(spectral, p));
    }
  }
}

TEST_CASE("GIN: GAS forwards on exact histories equal the full rows; backward never writes histories") {
  const auto p = make_raw_problem(500, 10, 0.8, 5);
  const auto o = variants(p.data.num_features(), p.data.num_classes)[3];  // 4 layers, batch norm, skip
  GIN<float> model(p.data.num_nodes(), o, 13);
  warm_running_stats(model, p);
  model_test::check_gas_batches(model, p);
}

// The training tests leave the MLPs' batch norm out: a batch of two METIS clusters of this homophilous graph
// holds mostly two classes, so its statistics are far from the graph's and the running statistics lag behind
// (the equivalence tests above cover batch norm).
TEST_CASE("GIN: GAS training (METIS 8 parts, 2 per batch) learns an easy SBM") {
  const auto p = make_raw_problem(2000, 8, 0.9, 2);
  GIN<float> model(p.data.num_nodes(),
                   {.in = p.data.num_features(), .hidden = 16, .out = p.data.num_classes, .layers = 3,
                    .batch_norm = false},
                   3);
  REQUIRE(model.histories().size() == 2);
  CHECK(model_test::train_gas(model, p, 30, 0.01) > 0.9);
}

TEST_CASE("GIN: GAS training with the noise-perturbation penalty in the loss learns an easy SBM") {
  const auto p = make_raw_problem(2000, 8, 0.9, 2);
  GIN<float, Noise> model(p.data.num_nodes(),
                          {.in = p.data.num_features(), .hidden = 16, .out = p.data.num_classes, .layers = 3,
                           .batch_norm = false},
                          3);
  gas::train::Adam<float> opt(model.parameters(), {.lr = 0.01});
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 2);
  gas::loader::TrainLoader loader(p.data.graph, p.ptr, {.batch_size = 2, .seed = 5, .background = false});
  model.fill_histories(p.data.features, eval);
  gas::autograd::Tape<float> tape;
  model_test::BatchTargets targets;
  std::uint64_t step = 0;
  double first_penalty = 0, last_penalty = 0;
  for (std::int64_t epoch = 0; epoch < 30; ++epoch) {
    loader.start_epoch(epoch);
    for (gas::loader::Batch b; loader.next(b);) {
      tape.reset();
      targets.build(p, b);
      // example-begin gin-penalty
      auto y = model.forward(tape, p.data.features, b, true, step++);
      auto loss = gas::ops::cross_entropy(y, targets.labels, targets.rows);
      const auto penalty = model.regularization_loss(tape);  // the pass's Lipschitz penalty, or nothing
      if (penalty) loss = gas::ops::add(loss, *penalty);
      // example-end gin-penalty
      REQUIRE(penalty.has_value());
      opt.zero_grad();
      tape.backward(loss);
      opt.step();
      if (step == 1) first_penalty = penalty->value()(0, 0);
      last_penalty = penalty->value()(0, 0);
    }
    (void)model.inference(p.data.features, eval);
  }
  const double accuracy = test_accuracy(model, p, eval);
  MESSAGE("test accuracy " << accuracy << ", penalty " << first_penalty << " -> " << last_penalty);
  CHECK(accuracy > 0.9);
  CHECK(last_penalty > 0);
}

TEST_CASE("GIN: the noise-perturbation penalty is each hidden layer's share, in training only") {
  const auto p = make_raw_problem(200, 4, 0.8, 6);
  const auto ids = model_test::iota_ids(p.data.num_nodes());
  const GINOptions base{.in = p.data.num_features(), .hidden = 8, .out = p.data.num_classes, .layers = 3};
  gas::autograd::Tape<double> tape;
  auto full_forward = [&](auto& model, bool training, std::uint64_t seed) {
    tape.reset();
    auto x = gas::models::gather_features(tape, p.data.features.view(), std::span<const node_id>(ids));
    return model.forward_full(tape, x, p.data.graph, training, seed);
  };
  auto noise_seed = [](std::uint64_t seed, std::uint64_t layer) {
    return gas::counter_hash(seed, gas::models::detail::gin_noise_stream, layer);
  };

  SUBCASE("three layers: layer 1's penalty over the two hidden layers") {
    GIN<double, Noise> model(p.data.num_nodes(), base, 1);
    (void)full_forward(model, true, 5);
    const auto r = model.regularization_loss(tape);
    REQUIRE(r.has_value());
    CHECK(r->rows() == 1);
    CHECK(r->cols() == 1);
    CHECK(r->value()(0, 0) > 0);
    const double r1 = model.conv(1).regularization(tape, true, noise_seed(5, 1))->value()(0, 0);
    CHECK(r->value()(0, 0) == doctest::Approx(r1 / 2).epsilon(1e-12));

    // Evaluation on the same tape: no penalty, not even the previous pass's.
    (void)full_forward(model, false, 5);
    CHECK_FALSE(model.regularization_loss(tape).has_value());
    gas::autograd::Tape<double> other;
    CHECK_FALSE(model.regularization_loss(other).has_value());
  }
  SUBCASE("four layers: layers 1 and 2, each over three") {
    auto o = base;
    o.layers = 4;
    GIN<double, Noise> model(p.data.num_nodes(), o, 2, Noise{.sigma = 0.3});
    (void)full_forward(model, true, 6);
    const auto r = model.regularization_loss(tape);
    REQUIRE(r.has_value());
    const double r1 = model.conv(1).regularization(tape, true, noise_seed(6, 1))->value()(0, 0);
    const double r2 = model.conv(2).regularization(tape, true, noise_seed(6, 2))->value()(0, 0);
    CHECK(r->value()(0, 0) == doctest::Approx((r1 + r2) / 3).epsilon(1e-12));
  }
  SUBCASE("the policy's settings reach every layer: weight scales the penalty, sigma = 0 zeroes it") {
    GIN<double, Noise> one(p.data.num_nodes(), base, 3), two(p.data.num_nodes(), base, 3, Noise{.weight = 2.0}),
        none(p.data.num_nodes(), base, 3, Noise{.sigma = 0.0});
    (void)full_forward(one, true, 7);
    const double a = one.regularization_loss(tape)->value()(0, 0);
    (void)full_forward(two, true, 7);
    const double b = two.regularization_loss(tape)->value()(0, 0);
    (void)full_forward(none, true, 7);
    CHECK(b == doctest::Approx(2 * a).epsilon(1e-12));
    CHECK(none.regularization_loss(tape)->value()(0, 0) == 0.0);
  }
  SUBCASE("no penalty without a hidden layer after the first, or under the other policies") {
    auto o = base;
    o.layers = 2;
    GIN<double, Noise> shallow(p.data.num_nodes(), o, 4);
    (void)full_forward(shallow, true, 8);
    CHECK_FALSE(shallow.regularization_loss(tape).has_value());
    // nn::reg::None and nn::reg::SpectralNorm have no regularization_loss at all (static_asserts above).
  }
  SUBCASE("in a GAS step, over the batch rows") {
    GIN<double, Noise> model(p.data.num_nodes(), base, 5);
    const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 1);
    model.fill_histories(p.data.features, eval);
    gas::loader::BatchWorkspace ws;
    const std::vector<std::int32_t> clusters{2, 0};
    const auto batch = gas::loader::build_batch(p.data.graph, p.ptr, clusters, ws);
    tape.reset();
    (void)model.forward(tape, p.data.features, batch, true, 9);
    const auto r = model.regularization_loss(tape);
    REQUIRE(r.has_value());
    CHECK(r->value()(0, 0) > 0);
    tape.reset();
    (void)model.forward(tape, p.data.features, batch, false, 9);
    CHECK_FALSE(model.regularization_loss(tape).has_value());
  }
}

TEST_CASE("GIN: output plus penalty passes the gradient check, full graph and GAS batch") {
  const auto p = make_raw_problem(40, 4, 0.8, 7);
  const GINOptions o{.in = p.data.num_features(), .hidden = 4, .out = p.data.num_classes, .layers = 3,
                     .dropout = 0.2, .eps = 0.1};
  GIN<double, Noise> model(p.data.num_nodes(), o, 8, Noise{.sigma = 0.3});
  const auto params = model.parameters();
  REQUIRE(params.size() == 2 * 2 + 3 + 3 * 6);  // lins, eps, MLPs (two Linears and a norm each)
  gas::autograd::Tape<double> tape;
  const auto ids = model_test::iota_ids(p.data.num_nodes());

  SUBCASE("full graph") {
    const auto weights = gas_test::random_tensor(p.data.num_nodes(), o.out, 10);
    const auto result = gas::autograd::check_gradients(
        tape,
        [&](gas::autograd::Tape<double>& t) {
          auto x = gas::models::gather_features(t, p.data.features.view(), std::span<const node_id>(ids));
          auto y = model.forward_full(t, x, p.data.graph, true, 11);
          auto loss = gas::ops::sum_all(gas::ops::mul(y, t.constant(weights.view())));
          return gas::ops::add(loss, *model.regularization_loss(t));
        },
        params);
    CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
  }
  SUBCASE("GAS batch: pulled rows are constants, pushes do not change the function") {
    const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 1);
    model.fill_histories(p.data.features, eval);
    gas::loader::BatchWorkspace ws;
    const std::vector<std::int32_t> clusters{1, 3};
    const auto batch = gas::loader::build_batch(p.data.graph, p.ptr, clusters, ws);
    REQUIRE(batch.num_halo() > 0);
    const auto weights = gas_test::random_tensor(batch.batch_size, o.out, 12);
    const auto result = gas::autograd::check_gradients(
        tape,
        [&](gas::autograd::Tape<double>& t) {
          auto y = model.forward(t, p.data.features, batch, true, 13);
          auto loss = gas::ops::sum_all(gas::ops::mul(y, t.constant(weights.view())));
          return gas::ops::add(loss, *model.regularization_loss(t));
        },
        params);
    CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
  }
}

TEST_CASE("GIN: parameter names and the weight-decay groups") {
  using V = std::vector<std::string>;
  {
    GIN<float> m(10, {.in = 4, .hidden = 8, .out = 3, .layers = 2});
    CHECK(model_test::names(m.nonreg_parameters()) ==
          V{"lins.0.weight", "lins.0.bias", "lins.1.weight", "lins.1.bias"});
    CHECK(model_test::names(m.reg_parameters()) ==
          V{"convs.0.eps", "convs.1.eps", "mlps.0.0.weight", "mlps.0.0.bias", "mlps.0.1.weight", "mlps.0.1.bias",
            "mlps.0.3.weight", "mlps.0.3.bias", "mlps.1.0.weight", "mlps.1.0.bias", "mlps.1.1.weight",
            "mlps.1.1.bias", "mlps.1.3.weight", "mlps.1.3.bias"});
    CHECK(m.parameters().size() == 18);
    CHECK(model_test::names(m.parameters())[4] == "convs.0.eps");
    REQUIRE(m.histories().size() == 1);
    CHECK(m.histories()[0].width() == 8);
  }
  {
    GIN<float, Spectral> m(10, {.in = 4, .hidden = 8, .out = 3, .layers = 1, .batch_norm = false,
                                .train_eps = false});
    CHECK(model_test::names(m.reg_parameters()) ==
          V{"mlps.0.0.weight", "mlps.0.0.bias", "mlps.0.2.weight", "mlps.0.2.bias"});
    CHECK(m.histories().empty());
    CHECK(m.conv(0).eps.value(0, 0) == 0.0f);
  }
}

TEST_CASE("GIN: bad configurations throw typed errors") {
  using Penalized = GIN<float, Noise>;  // names without commas, for the macro
  using Normalized = GIN<float, Spectral>;
  const GINOptions o{.in = 12, .hidden = 8, .out = 4, .layers = 3};
  auto bad_layers = o;
  bad_layers.layers = 0;
  CHECK_THROWS_NAMING(gas::value_error, GIN<float>(20, bad_layers), "layers = 0");
  auto bad_width = o;
  bad_width.hidden = -1;
  CHECK_THROWS_NAMING(gas::value_error, GIN<float>(20, bad_width), "hidden = -1");
  auto bad_in = o;
  bad_in.in = 0;
  CHECK_THROWS_NAMING(gas::value_error, Penalized(20, bad_in), "in = 0");
  auto bad_dropout = o;
  bad_dropout.dropout = 1.0;
  CHECK_THROWS_NAMING(gas::value_error, GIN<float>(20, bad_dropout), "dropout = 1");
  bad_dropout.dropout = -0.5;
  CHECK_THROWS_NAMING(gas::value_error, Normalized(20, bad_dropout), "dropout = -0.5");
  auto bad_eps = o;
  bad_eps.eps = std::numeric_limits<double>::infinity();
  CHECK_THROWS_NAMING(gas::value_error, GIN<float>(20, bad_eps), "eps = inf");
  auto narrow_store = [](std::int32_t, std::int64_t rows, std::int64_t width) {
    return gas::history::HostStore<float>(rows, width - 1);
  };
  CHECK_THROWS_NAMING(gas::shape_error, GIN<float>(20, o, 0, narrow_store), "history 0 is (20 x 7)");

  // A bad policy setting is refused when the penalty is drawn, in training.
  const auto p = make_raw_problem(120, 4, 0.8, 8);
  GIN<float, Noise> model(p.data.num_nodes(), o, 1, Noise{.sigma = -1.0});
  gas::autograd::Tape<float> tape;
  const auto ids = model_test::iota_ids(p.data.num_nodes());
  auto x = gas::models::gather_features(tape, p.data.features.view(), std::span<const node_id>(ids));
  CHECK_THROWS_NAMING(gas::value_error, model.forward_full(tape, x, p.data.graph, true, 0), "sigma -1");
  CHECK_NOTHROW(model.forward_full(tape, x, p.data.graph, false, 0));
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(3, tape, x, p.data.graph, true, 0), "layer 3 outside [0, 3)");
  CHECK_THROWS_NAMING(gas::value_error, model.conv(-1), "layer -1 outside [0, 3)");
  auto h = model.run_layer(0, tape, x, p.data.graph, false, 0);
  CHECK_THROWS_NAMING(gas::shape_error, model.run_layer(1, tape, x, p.data.graph, false, 0), "Linear");
  CHECK(model.run_layer(1, tape, h, p.data.graph, false, 0).cols() == 8);
}

TEST_CASE("GIN: gas::Trainer takes the raw graph; one partition trains exactly as full-batch") {
  const auto data = gas::gen::sbm({.nodes = 400, .classes = 4, .features = 12, .degree = 8, .homophily = 0.9,
                                   .seed = 4});
  const GINOptions o{.in = data.num_features(), .hidden = 16, .out = data.num_classes, .layers = 3, .dropout = 0.2};
  const gas::TrainerOptions base{.batch_size = 1, .epochs = 8, .grad_clip = 1.0, .seed = 9};
  auto full_options = base;
  full_options.mode = gas::TrainerOptions::Mode::full;
  using Trainer = gas::Trainer<GIN<float>, gas::partition::Contiguous, gas::history::HostStore<float>>;
  GIN<float> gas_model(data.num_nodes(), o, 7), full_model(data.num_nodes(), o, 7);
  const auto a = Trainer(gas_model, {.num_parts = 1}, base).fit(data);
  const auto b = Trainer(full_model, {.num_parts = 1}, full_options).fit(data);
  REQUIRE(a.epochs.size() == b.epochs.size());
  for (std::size_t e = 0; e < a.epochs.size(); ++e) {
    CAPTURE(e);
    CHECK(a.epochs[e].loss == b.epochs[e].loss);
    CHECK(a.epochs[e].val == b.epochs[e].val);
    CHECK(a.epochs[e].test == b.epochs[e].test);
  }
  CHECK(a.epochs.back().loss < a.epochs.front().loss);
}
