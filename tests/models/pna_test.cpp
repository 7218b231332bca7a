// PNA and PNA_JK as GAS models on small SBM graphs (the raw graph, as the reference runs PNA, permuted by a
// partition; degree statistics of the whole graph): the reference's branch convolution against a naive
// computation and the gradient check; one partition reproduces full-batch training bit for bit; layer-wise
// inference (PNA_JK: its own driver, which hands the head every layer's rows) equals the full forward pass; GAS
// forwards on exact histories equal the full forward rows; backward never writes the histories; GAS training
// learns an easy SBM; parameter groups follow the reference; bad configurations throw typed errors.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <gas/autograd/gradcheck.hpp>
#include <gas/autograd/tape.hpp>
#include <gas/core/error.hpp>
#include <gas/history/host_store.hpp>
#include <gas/loader/eval_loader.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/models/pna.hpp>
#include <gas/models/pna_jk.hpp>
#include <gas/nn/pna_branch_conv.hpp>
#include <gas/nn/pna_conv.hpp>
#include <gas/ops/arithmetic.hpp>
#include <gas/ops/reduce.hpp>
#include <gas/partition/contiguous.hpp>
#include <gas/train/trainer.hpp>

#include "io/io_test_util.hpp"
#include "models/model_test_util.hpp"
#include "models/raw_graph_test_util.hpp"
#include "nn/nn_test_util.hpp"

using gas::node_id;
using gas::models::PNA;
using gas::models::PNAJK;
using gas::models::PNAModelOptions;
using model_test::make_raw_problem;
using model_test::Problem;
using S = gas::nn::Scaler;

namespace {

/// The model variants the equivalence tests run, with the whole graph's degree statistics.
std::vector<PNAModelOptions> variants(const Problem& p) {
  const auto degrees = gas::nn::degree_statistics(p.data.graph);
  const std::int64_t in = p.data.num_features(), out = p.data.num_classes;
  return {
      {.in = in, .hidden = 16, .out = out, .layers = 2, .degrees = degrees, .dropout = 0.5},
      {.in = in, .hidden = 16, .out = out, .layers = 3, .scalers = {S::identity, S::amplification},
       .degrees = degrees, .dropout = 0.3, .drop_input = false, .batch_norm = true, .residual = true},
      {.in = in, .hidden = 8, .out = out, .layers = 1, .scalers = {S::attenuation}, .degrees = degrees,
       .dropout = 0.4},
  };
}

std::string describe(const PNAModelOptions& o) {
  return "layers " + std::to_string(o.layers) + " scalers " + std::to_string(o.scalers.size()) +
         (o.batch_norm ? " bn" : "") + (o.residual ? " residual" : "");
}

/// A few training forwards so that batch norms hold non-trivial running statistics.
template <class Model>
void warm_running_stats(Model& model, const Problem& p) {
  for (std::uint64_t s = 0; s < 3; ++s) (void)model_test::full_eval<float>(model, p, true, s);
}

/// y = x W^T + b for a Linear's parameters, in double (the naive side of a comparison).
gas::Tensor<double> affine(const gas::Tensor<double>& x, const gas::nn::Linear<double>& lin) {
  const auto& w = lin.weight.value;
  const auto& b = lin.bias.value;
  gas::Tensor<double> y(x.rows(), w.rows());
  for (std::int64_t i = 0; i < x.rows(); ++i)
    for (std::int64_t o = 0; o < w.rows(); ++o) {
      double s = b(0, o);
      for (std::int64_t k = 0; k < w.cols(); ++k) s += x(i, k) * w(o, k);
      y(i, o) = s;
    }
  return y;
}

}  // namespace

// The models declare that they take the raw graph, and satisfy what Trainer needs.
static_assert(!PNA<float>::traits.gcn_norm);
static_assert(!PNAJK<float>::traits.gcn_norm);
static_assert(gas::TrainableModel<PNA<float>>);
static_assert(gas::TrainableModel<PNAJK<double>>);
static_assert(std::is_same_v<gas::models::PNA_JK<float>, PNAJK<float>>);
// Both convolutions are PNA policies; a layer of another kind is refused by the concept.
static_assert(gas::models::PNAConvolution<gas::nn::PNABranchConv<float>, float, gas::host>);
static_assert(gas::models::PNAConvolution<gas::nn::PNAConv<float>, float, gas::host>);
static_assert(!gas::models::PNAConvolution<gas::nn::Linear<float>, float, gas::host>);

TEST_CASE("PNABranchConv equals the naive sum over (aggregator, scaler) branches plus the root term") {
  const auto adj = gas_test::random_graph(6, 9, 31, false);  // bipartite, self-loops, row 5 isolated
  REQUIRE(adj.degree(5) == 0);
  using Aggrs = gas::nn::Aggregators<gas::ops::aggr::Sum, gas::ops::aggr::Mean, gas::ops::aggr::Max>;
  const gas::nn::DegreeStatistics degrees{.avg_log = 1.3, .avg_lin = 2.0};
  gas::Rng rng(32);
  gas::nn::PNABranchConv<double, gas::host, Aggrs> conv(
      {.in = 3, .out = 4, .scalers = {S::identity, S::amplification, S::attenuation}, .degrees = degrees}, rng);
  REQUIRE(conv.branches() == 9);
  const auto x = gas_test::random_tensor(9, 3, 33);
  gas::autograd::Tape<double> tape;
  const gas::Tensor<double> got(conv.forward(tape, tape.constant(x.view()), adj).value());

  gas::Tensor<double> x_dst(6, 3);
  for (std::int64_t i = 0; i < 6; ++i)
    for (std::int64_t j = 0; j < 3; ++j) x_dst(i, j) = x(i, j);
  gas::Tensor<double> expected = affine(x_dst, conv.lin);
  const std::vector<S> scalers = {S::identity, S::amplification, S::attenuation};
  std::size_t k = 0;
  for (int a = 0; a < 3; ++a)
    for (const S s : scalers) {
      auto pre = affine(x, conv.pre[k]);
      for (auto& v : pre.values()) v = std::max(v, 0.0);
      gas::Tensor<double> agg(6, 4);
      for (node_id i = 0; i < 6; ++i) {
        const auto cols = adj.neighbors(i);
        const double deg = static_cast<double>(cols.size());
        for (std::int64_t f = 0; f < 4; ++f) {
          double r = a == 2 && !cols.empty() ? -1e300 : 0.0;
          for (const node_id j : cols) r = a == 2 ? std::max(r, pre(j, f)) : r + pre(j, f);
          if (a == 1 && deg > 0) r /= deg;
          const double l = std::log(deg + 1);
          const double factor = s == S::identity ? 1.0 : s == S::amplification ? l / 1.3 : 1.3 / (l + 1e-5);
          agg(i, f) = factor * r;
        }
      }
      const auto post = affine(agg, conv.post[k]);
      for (std::int64_t i = 0; i < 6; ++i)
        for (std::int64_t f = 0; f < 4; ++f) expected(i, f) += post(i, f);
      ++k;
    }
  CHECK(model_test::max_rel_diff<double>(got.view(), expected.view()) < 1e-12);
  // The isolated row gets the root term plus every post bias, whatever the scaler.
  for (std::int64_t f = 0; f < 4; ++f) {
    double bias = 0;
    for (const auto& post : conv.post) bias += post.bias.value(0, f);
    CHECK(got(5, f) == doctest::Approx(affine(x_dst, conv.lin)(5, f) + bias).epsilon(1e-12));
  }
}

TEST_CASE("PNABranchConv passes the gradient check with every aggregator and scaler") {
  const auto adj = gas_test::random_graph(6, 9, 34, false);
  using All = gas::nn::Aggregators<gas::ops::aggr::Sum, gas::ops::aggr::Mean, gas::ops::aggr::Max, gas::ops::aggr::Min>;
  gas::Rng rng(35);
  gas::nn::PNABranchConv<double, gas::host, All> conv(
      {.in = 3, .out = 2, .scalers = {S::identity, S::amplification, S::attenuation}, .degrees = {.avg_log = 1.1}},
      rng);
  gas::autograd::Parameter<double> x("x", gas_test::random_tensor(9, 3, 36));
  auto params = conv.parameters();
  CHECK(params.size() == 2 * (2 * 12 + 1));  // pre and post per branch, lin; weight and bias each
  params.push_back(&x);
  const auto weights = gas_test::random_tensor(6, 2, 37);
  gas::autograd::Tape<double> tape;
  const auto result = gas::autograd::check_gradients(
      tape,
      [&](gas::autograd::Tape<double>& t) {
        auto out = conv.forward(t, t.param(x), adj);
        return gas::ops::sum_all(gas::ops::mul(out, t.constant(weights.view())));
      },
      params);
  CHECK_MESSAGE(result.ok, result.worst << " (max error " << result.max_error << ")");
}

TEST_CASE("PNABranchConv refuses linear scalers, no scaler and a missing avg_log") {
  gas::Rng rng(38);
  using Conv = gas::nn::PNABranchConv<double>;
  CHECK_THROWS_NAMING(gas::value_error, Conv({.in = 3, .out = 2, .scalers = {S::linear}, .degrees = {1, 1}}, rng),
                      "not the linear ones");
  CHECK_THROWS_NAMING(gas::value_error, Conv({.in = 3, .out = 2, .scalers = {}, .degrees = {1, 1}}, rng),
                      "at least one scaler");
  CHECK_THROWS_NAMING(gas::value_error, Conv({.in = 3, .out = 2}, rng), "avg_log > 0");
  CHECK_NOTHROW(Conv({.in = 3, .out = 2, .scalers = {S::identity}}, rng));  // identity needs no degrees
  CHECK_THROWS_NAMING(gas::value_error, Conv({.in = 0, .out = 2, .scalers = {S::identity}}, rng), "in 0");
  Conv conv({.in = 3, .out = 2, .scalers = {S::identity}}, rng);
  gas::autograd::Tape<double> tape;
  const auto adj = gas_test::random_graph(6, 9, 39, false);
  CHECK_THROWS_NAMING(gas::shape_error, conv.forward(tape, tape.constant(gas::Tensor<double>(9, 4).view()), adj),
                      "PNABranchConv (3 -> 2)", "(9 x 4)");
}

TEST_CASE_TEMPLATE("PNA: one partition gives full-batch forward and training bit for bit", T, float, double) {
  const auto p = make_raw_problem(300, 1);
  for (const auto& o : variants(p)) {
    CAPTURE(describe(o));
    model_test::check_one_partition<T, PNA<T>>(p, [&] { return std::make_unique<PNA<T>>(p.data.num_nodes(), o, 7); });
  }
  SUBCASE("with mean and max only, and with PyG's PNAConv") {
    using MeanMax = gas::nn::PNABranchConv<T, gas::host, gas::nn::Aggregators<gas::ops::aggr::Mean, gas::ops::aggr::Max>>;
    using A = PNA<T, gas::host, gas::history::HostStore<T>, MeanMax>;
    using B = PNA<T, gas::host, gas::history::HostStore<T>, gas::nn::PNAConv<T>>;
    const auto o = variants(p)[1];
    model_test::check_one_partition<T, A>(p, [&] { return std::make_unique<A>(p.data.num_nodes(), o, 8); });
    model_test::check_one_partition<T, B>(p, [&] { return std::make_unique<B>(p.data.num_nodes(), o, 9); });
  }
}

TEST_CASE_TEMPLATE("PNA_JK: one partition gives full-batch forward and training bit for bit", T, float, double) {
  const auto p = make_raw_problem(300, 1);
  for (const auto& o : variants(p)) {
    CAPTURE(describe(o));
    model_test::check_one_partition<T, PNAJK<T>>(p,
                                                 [&] { return std::make_unique<PNAJK<T>>(p.data.num_nodes(), o, 7); });
  }
}

TEST_CASE("PNA and PNA_JK: layer-wise inference equals the full forward pass") {
  for (const std::int32_t parts : {1, 4, 10}) {
    CAPTURE(parts);
    const auto p = make_raw_problem(400, parts, 0.8, 3);
    for (const auto& o : variants(p)) {
      CAPTURE(describe(o));
      PNA<float> pna(p.data.num_nodes(), o, 11);
      warm_running_stats(pna, p);
      model_test::check_inference(pna, p, model_test::full_eval<float>(pna, p));
      PNAJK<float> jk(p.data.num_nodes(), o, 12);
      warm_running_stats(jk, p);
      model_test::check_inference(jk, p, model_test::full_eval<float>(jk, p));
    }
  }
}

TEST_CASE("PNA and PNA_JK: GAS forwards on exact histories equal the full rows; backward never writes histories") {
  const auto p = make_raw_problem(500, 10, 0.8, 5);
  const auto o = variants(p)[1];  // 3 layers, batch norm, residual
  PNA<float> pna(p.data.num_nodes(), o, 13);
  warm_running_stats(pna, p);
  model_test::check_gas_batches(pna, p);
  PNAJK<float> jk(p.data.num_nodes(), o, 14);
  warm_running_stats(jk, p);
  model_test::check_gas_batches(jk, p);
}

TEST_CASE("PNA: GAS training (METIS 8 parts, 2 per batch) learns an easy SBM") {
  const auto p = make_raw_problem(2000, 8, 0.9, 2);
  PNA<float> model(p.data.num_nodes(),
                   {.in = p.data.num_features(), .hidden = 16, .out = p.data.num_classes, .layers = 2,
                    .degrees = gas::nn::degree_statistics(p.data.graph), .dropout = 0.2},
                   3);
  CHECK(model_test::train_gas(model, p, 30, 0.01) > 0.9);
}

TEST_CASE("PNA_JK: GAS training (METIS 8 parts, 2 per batch) learns an easy SBM") {
  // The reference's usual PNA setting: mean aggregation, identity and amplification. With sum aggregation the
  // head's direct path to the features fits each batch's few classes (METIS clusters of a homophilous graph) and
  // GAS training oscillates; full-batch training does not.
  using MeanConv = gas::nn::PNABranchConv<float, gas::host, gas::nn::Aggregators<gas::ops::aggr::Mean>>;
  using Model = PNAJK<float, gas::host, gas::history::HostStore<float>, MeanConv>;
  const auto p = make_raw_problem(2000, 8, 0.9, 2);
  Model model(p.data.num_nodes(),
              {.in = p.data.num_features(), .hidden = 16, .out = p.data.num_classes, .layers = 2,
               .scalers = {S::identity, S::amplification}, .degrees = gas::nn::degree_statistics(p.data.graph),
               .dropout = 0.2, .residual = true},
              4);
  REQUIRE(model.histories().size() == 1);
  CHECK(model_test::train_gas(model, p, 40, 0.01) > 0.9);
}

TEST_CASE("PNA and PNA_JK: parameter names and the reference's weight-decay groups") {
  using V = std::vector<std::string>;
  const PNAModelOptions o{.in = 4, .hidden = 8, .out = 3, .layers = 2, .scalers = {S::identity},
                          .batch_norm = true};
  {
    PNA<float> m(10, o);
    const V conv0{"convs.0.pre_lins.0.weight",  "convs.0.pre_lins.0.bias",  "convs.0.pre_lins.1.weight",
                  "convs.0.pre_lins.1.bias",    "convs.0.pre_lins.2.weight", "convs.0.pre_lins.2.bias",
                  "convs.0.post_lins.0.weight", "convs.0.post_lins.0.bias", "convs.0.post_lins.1.weight",
                  "convs.0.post_lins.1.bias",   "convs.0.post_lins.2.weight", "convs.0.post_lins.2.bias",
                  "convs.0.lin.weight",         "convs.0.lin.bias"};
    auto reg = conv0;
    reg.insert(reg.end(), {"bns.0.weight", "bns.0.bias"});
    CHECK(model_test::names(m.reg_parameters()) == reg);
    const auto nonreg = model_test::names(m.nonreg_parameters());
    REQUIRE(nonreg.size() == 14);
    CHECK(nonreg.front() == "convs.1.pre_lins.0.weight");
    CHECK(m.parameters().size() == 30);
    CHECK(m.parameters()[0]->value.cols() == 4);   // the first conv reads the features
    CHECK(m.parameters()[14]->value.rows() == 3);  // the last conv's pre-layer: hidden -> out
    CHECK(m.parameters()[14]->value.cols() == 8);
    CHECK(m.nonreg_parameters()[13]->value.cols() == 3);
    REQUIRE(m.histories().size() == 1);
    CHECK(m.histories()[0].width() == 8);
  }
  {
    PNAJK<float> m(10, o);
    CHECK(model_test::names(m.nonreg_parameters()) ==
          V{"lins.0.0.weight", "lins.0.0.bias", "lins.0.1.weight", "lins.0.1.bias", "lins.1.weight", "lins.1.bias"});
    const auto reg = model_test::names(m.reg_parameters());
    REQUIRE(reg.size() == 2 * 14 + 4);
    CHECK(reg[14] == "convs.1.pre_lins.0.weight");
    CHECK(V(reg.end() - 4, reg.end()) == V{"bns.0.weight", "bns.0.bias", "bns.1.weight", "bns.1.bias"});
    CHECK(m.parameters().size() == 6 + 32);
    CHECK(m.nonreg_parameters()[4]->value.cols() == 3 * 8);  // the head reads layers + 1 representations
    REQUIRE(m.histories().size() == 1);
  }
  {
    using PyG = PNA<double, gas::host, gas::history::HostStore<double>, gas::nn::PNAConv<double>>;
    PyG m(10, {.in = 4, .hidden = 8, .out = 3, .layers = 2, .scalers = {S::identity}});
    CHECK(model_test::names(m.nonreg_parameters()) ==
          V{"convs.1.pre_nns.0.0.weight", "convs.1.pre_nns.0.0.bias", "convs.1.post_nns.0.0.weight",
            "convs.1.post_nns.0.0.bias", "convs.1.lin.weight", "convs.1.lin.bias"});
  }
}

TEST_CASE("PNA and PNA_JK: bad configurations throw typed errors") {
  const PNAModelOptions o{.in = 12, .hidden = 8, .out = 4, .layers = 3, .degrees = {.avg_log = 1.5}};
  auto bad_layers = o;
  bad_layers.layers = 0;
  CHECK_THROWS_NAMING(gas::value_error, PNA<float>(20, bad_layers), "layers = 0");
  CHECK_THROWS_NAMING(gas::value_error, PNAJK<float>(20, bad_layers), "layers = 0");
  auto bad_width = o;
  bad_width.hidden = 0;
  CHECK_THROWS_NAMING(gas::value_error, PNA<float>(20, bad_width), "hidden = 0");
  CHECK_THROWS_NAMING(gas::value_error, PNAJK<float>(20, bad_width), "hidden = 0");
  auto bad_out = o;
  bad_out.out = -2;
  CHECK_THROWS_NAMING(gas::value_error, PNA<float>(20, bad_out), "out = -2");
  auto bad_dropout = o;
  bad_dropout.dropout = 1.0;
  CHECK_THROWS_NAMING(gas::value_error, PNA<float>(20, bad_dropout), "dropout = 1");
  bad_dropout.dropout = -0.1;
  CHECK_THROWS_NAMING(gas::value_error, PNAJK<float>(20, bad_dropout), "dropout = -0.1");
  auto no_degrees = o;
  no_degrees.degrees = {};
  CHECK_THROWS_NAMING(gas::value_error, PNA<float>(20, no_degrees), "avg_log > 0");
  CHECK_THROWS_NAMING(gas::value_error, PNAJK<float>(20, no_degrees), "avg_log > 0");
  auto narrow_store = [](std::int32_t, std::int64_t rows, std::int64_t width) {
    return gas::history::HostStore<float>(rows, width - 1);
  };
  CHECK_THROWS_NAMING(gas::shape_error, PNA<float>(20, o, 0, narrow_store), "history 0 is (20 x 7)");
  CHECK_THROWS_NAMING(gas::shape_error, PNAJK<float>(20, o, 0, narrow_store), "history 0 is (20 x 7)");

  const auto p = make_raw_problem(120, 4, 0.8, 8);
  PNAJK<float> model(p.data.num_nodes(), o, 1);
  gas::autograd::Tape<float> tape;
  const auto ids = model_test::iota_ids(p.data.num_nodes());
  auto x = gas::models::gather_features(tape, p.data.features.view(), std::span<const node_id>(ids));
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(3, tape, x, p.data.graph, true, 0), "layer 3 outside [0, 3)");
  CHECK_THROWS_NAMING(gas::value_error, PNA<float>(20, o).conv(3), "layer 3 outside [0, 3)");
  auto h = model.run_layer(0, tape, x, p.data.graph, true, 0);
  CHECK_THROWS_NAMING(gas::shape_error, model.run_layer(1, tape, x, p.data.graph, true, 0), "PNABranchConv");
  h = model.run_layer(1, tape, h, p.data.graph, true, 0);
  CHECK(model.run_layer(2, tape, h, p.data.graph, true, 0).cols() == 4);
  gas::autograd::Tape<float> other;
  auto hidden = other.constant(gas::Tensor<float>(p.data.num_nodes(), 8).view());
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(2, other, hidden, p.data.graph, true, 0),
                      "reads slot 0", "run the layers in order");

  const gas::Tensor<float> narrow(p.data.num_nodes(), p.data.num_features() - 1);
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 2);
  CHECK_THROWS_NAMING(gas::shape_error, model.inference(narrow, eval), "features are (120 x 11)", "in_features = 12");
  CHECK_THROWS_NAMING(gas::shape_error, model.fill_histories(narrow, eval), "features are (120 x 11)");
}

TEST_CASE("PNA and PNA_JK: gas::Trainer takes the raw graph; one partition trains exactly as full-batch") {
  const auto data = gas::gen::sbm({.nodes = 400, .classes = 4, .features = 12, .degree = 8, .homophily = 0.9,
                                   .seed = 4});
  const PNAModelOptions o{.in = data.num_features(), .hidden = 16, .out = data.num_classes, .layers = 3,
                          .scalers = {S::identity, S::amplification}, .degrees = gas::nn::degree_statistics(data.graph),
                          .dropout = 0.3, .batch_norm = true, .residual = true};
  const gas::TrainerOptions base{.batch_size = 1, .epochs = 8, .grad_clip = 1.0, .seed = 9};
  auto full_options = base;
  full_options.mode = gas::TrainerOptions::Mode::full;
  auto run = [&]<class Model>(std::type_identity<Model>) {
    using Trainer = gas::Trainer<Model, gas::partition::Contiguous, gas::history::HostStore<float>>;
    Model gas_model(data.num_nodes(), o, 7), full_model(data.num_nodes(), o, 7);
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
  };
  run(std::type_identity<PNA<float>>{});
  run(std::type_identity<PNAJK<float>>{});
}
