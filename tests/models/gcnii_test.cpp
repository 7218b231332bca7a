// GCNII as a GAS model on small SBM graphs (GCN-normalized over the whole graph, then permuted by a partition):
// one partition reproduces full-batch training bit for bit; layer-wise inference (its own x0-carrying driver)
// equals the full forward pass; GAS training learns an easy SBM; parameter groups follow the reference; bad
// configurations throw typed errors.

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/models/gcnii.hpp>

#include "io/io_test_util.hpp"
#include "models/model_test_util.hpp"

using gas::models::GCNII;
using gas::models::GCNIIOptions;
using model_test::Prep;

namespace {

std::vector<GCNIIOptions> variants(std::int64_t in, std::int64_t out) {
  return {
      {.in = in, .hidden = 16, .out = out, .layers = 2, .alpha = 0.1, .theta = 0.5, .dropout = 0.5},
      {.in = in, .hidden = 16, .out = out, .layers = 4, .alpha = 0.2, .theta = 0.6, .shared_weights = false,
       .dropout = 0.3, .drop_input = false, .batch_norm = true, .residual = true},
      {.in = in, .hidden = 8, .out = out, .layers = 1, .dropout = 0.4},
  };
}

std::string describe(const GCNIIOptions& o) {
  return "layers " + std::to_string(o.layers) + (o.shared_weights ? "" : " separate") + (o.batch_norm ? " bn" : "") +
         (o.residual ? " residual" : "");
}

/// A few training forwards so that batch norms hold non-trivial running statistics.
void warm_running_stats(GCNII<float>& model, const model_test::Problem& p) {
  for (std::uint64_t s = 0; s < 3; ++s) (void)model_test::full_eval<float>(model, p, true, s);
}

}  // namespace

TEST_CASE_TEMPLATE("GCNII: one partition gives full-batch forward and training bit for bit", T, float, double) {
  const auto p = model_test::make_problem(300, 1, Prep::gcn_normalize);
  for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
    CAPTURE(describe(o));
    model_test::check_one_partition<T, GCNII<T>>(
        p, [&] { return std::make_unique<GCNII<T>>(p.data.num_nodes(), o, 7); });
  }
}

TEST_CASE("GCNII: layer-wise inference equals the full forward pass") {
  for (const std::int32_t parts : {1, 4, 10}) {
    CAPTURE(parts);
    const auto p = model_test::make_problem(400, parts, Prep::gcn_normalize, 0.8, 3);
    for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
      CAPTURE(describe(o));
      GCNII<float> model(p.data.num_nodes(), o, 11);
      warm_running_stats(model, p);
      const auto full = model_test::full_eval<float>(model, p);
      model_test::check_inference(model, p, full);
    }
  }
}

TEST_CASE("GCNII: GAS training (METIS 8 parts, 2 per batch) learns an easy SBM") {
  const auto p = model_test::make_problem(2000, 8, Prep::gcn_normalize, 0.9, 2);
  GCNII<float> model(p.data.num_nodes(),
                     {.in = p.data.num_features(), .hidden = 32, .out = p.data.num_classes, .layers = 4,
                      .alpha = 0.1, .theta = 0.5, .dropout = 0.5},
                     3);
  REQUIRE(model.histories().size() == 3);
  const double accuracy = model_test::train_gas(model, p, 40, 0.01);
  CHECK(accuracy > 0.85);
}

TEST_CASE("GCNII: parameter names and the reference's weight-decay groups") {
  using V = std::vector<std::string>;
  {
    GCNII<float> m(10, {.in = 4, .hidden = 8, .out = 3, .layers = 2});
    CHECK(model_test::names(m.parameters()) ==
          V{"lins.0.weight", "lins.0.bias", "lins.1.weight", "lins.1.bias", "convs.0.weight1", "convs.1.weight1"});
    CHECK(model_test::names(m.reg_parameters()) == V{"convs.0.weight1", "convs.1.weight1"});
    CHECK(model_test::names(m.nonreg_parameters()) ==
          V{"lins.0.weight", "lins.0.bias", "lins.1.weight", "lins.1.bias"});
    REQUIRE(m.histories().size() == 1);
    CHECK(m.histories()[0].width() == 8);
  }
  {
    GCNII<float> m(10, {.in = 4, .hidden = 8, .out = 3, .layers = 2, .shared_weights = false, .batch_norm = true});
    CHECK(model_test::names(m.reg_parameters()) ==
          V{"convs.0.weight1", "convs.0.weight2", "convs.1.weight1", "convs.1.weight2", "bns.0.weight", "bns.0.bias",
            "bns.1.weight", "bns.1.bias"});
  }
}

TEST_CASE("GCNII: bad configurations throw typed errors") {
  const GCNIIOptions o{.in = 12, .hidden = 8, .out = 4, .layers = 3};
  auto bad_layers = o;
  bad_layers.layers = 0;
  CHECK_THROWS_NAMING(gas::value_error, GCNII<float>(20, bad_layers), "layers = 0");
  auto bad_alpha = o;
  bad_alpha.alpha = -0.5;
  CHECK_THROWS_NAMING(gas::value_error, GCNII<float>(20, bad_alpha), "alpha = -0.5");
  auto bad_theta = o;
  bad_theta.theta = 0;
  CHECK_THROWS_NAMING(gas::value_error, GCNII<float>(20, bad_theta), "theta = 0");
  auto bad_dropout = o;
  bad_dropout.dropout = 1.0;
  CHECK_THROWS_NAMING(gas::value_error, GCNII<float>(20, bad_dropout), "dropout = 1");
  auto bad_width = o;
  bad_width.out = 0;
  CHECK_THROWS_NAMING(gas::value_error, GCNII<float>(20, bad_width), "out = 0");
  auto narrow_store = [](std::int32_t, std::int64_t rows, std::int64_t width) {
    return gas::history::HostStore<float>(rows, width - 1);
  };
  CHECK_THROWS_NAMING(gas::shape_error, GCNII<float>(20, o, 0, narrow_store), "history 0 is (20 x 7)");

  const auto p = model_test::make_problem(120, 4, Prep::gcn_normalize, 0.8, 8);
  GCNII<float> model(p.data.num_nodes(), o, 1);
  gas::autograd::Tape<float> tape;
  const auto ids = model_test::iota_ids(p.data.num_nodes());
  auto x = gas::models::gather_features(tape, p.data.features.view(), std::span<const gas::node_id>(ids));
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(3, tape, x, p.data.graph, true, 0), "layer 3 outside [0, 3)");
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(2, tape, x, p.data.graph, true, 0), "layer 2 reads slot 0");
  auto h = model.run_layer(0, tape, x, p.data.graph, true, 0);
  CHECK(model.run_layer(1, tape, h, p.data.graph, true, 0).cols() == 8);
  CHECK_THROWS_NAMING(gas::shape_error, model.run_layer(1, tape, x, p.data.graph, true, 0), "GCN2Conv");

  const gas::Tensor<float> narrow(p.data.num_nodes(), p.data.num_features() - 1);
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 2);
  CHECK_THROWS_NAMING(gas::shape_error, model.inference(narrow, eval), "features are (120 x 11)", "in_features = 12");
  CHECK_THROWS_NAMING(gas::shape_error, model.fill_histories(narrow, eval), "features are (120 x 11)");
}
