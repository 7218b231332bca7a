// GAT as a GAS model on small SBM graphs (self-loops added to the whole graph, then permuted by a partition):
// one partition reproduces full-batch training bit for bit; layer-wise inference equals the full forward pass;
// GAS training learns an easy SBM; parameter groups follow the reference; bad configurations throw typed errors.

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/models/gat.hpp>

#include "io/io_test_util.hpp"
#include "models/model_test_util.hpp"

using gas::models::GAT;
using gas::models::GATModelOptions;
using model_test::Prep;

namespace {

std::vector<GATModelOptions> variants(std::int64_t in, std::int64_t out) {
  return {
      {.in = in, .hidden = 4, .heads = 3, .out = out, .out_heads = 1, .layers = 2, .dropout = 0.5},
      {.in = in, .hidden = 3, .heads = 2, .out = out, .out_heads = 2, .layers = 3, .dropout = 0.3},
      {.in = in, .hidden = 8, .heads = 1, .out = out, .out_heads = 3, .layers = 1, .dropout = 0.4},
  };
}

std::string describe(const GATModelOptions& o) {
  return "layers " + std::to_string(o.layers) + " heads " + std::to_string(o.heads) + " out_heads " +
         std::to_string(o.out_heads);
}

}  // namespace

TEST_CASE_TEMPLATE("GAT: one partition gives full-batch forward and training bit for bit", T, float, double) {
  const auto p = model_test::make_problem(300, 1, Prep::self_loops);
  for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
    CAPTURE(describe(o));
    model_test::check_one_partition<T, GAT<T>>(
        p, [&] { return std::make_unique<GAT<T>>(p.data.num_nodes(), o, 7); });
  }
}

TEST_CASE("GAT: layer-wise inference equals the full forward pass") {
  for (const std::int32_t parts : {1, 4, 10}) {
    CAPTURE(parts);
    const auto p = model_test::make_problem(400, parts, Prep::self_loops, 0.8, 3);
    for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
      CAPTURE(describe(o));
      GAT<float> model(p.data.num_nodes(), o, 11);
      const auto full = model_test::full_eval<float>(model, p);
      model_test::check_inference(model, p, full);
    }
  }
}

TEST_CASE("GAT: GAS training (METIS 8 parts, 2 per batch) learns an easy SBM") {
  const auto p = model_test::make_problem(2000, 8, Prep::self_loops, 0.9, 2);
  GAT<float> model(p.data.num_nodes(),
                   {.in = p.data.num_features(), .hidden = 8, .heads = 4, .out = p.data.num_classes, .layers = 2,
                    .dropout = 0.5},
                   3);
  CHECK(model.histories()[0].width() == 32);
  const double accuracy = model_test::train_gas(model, p, 40, 0.01);
  CHECK(accuracy > 0.85);
}

TEST_CASE("GAT: parameter names and the reference's weight-decay groups") {
  using V = std::vector<std::string>;
  GAT<float> m(10, {.in = 4, .hidden = 2, .heads = 3, .out = 5, .out_heads = 2, .layers = 2});
  CHECK(model_test::names(m.parameters()) == V{"convs.0.lin_src.weight", "convs.0.att_src", "convs.0.att_dst",
                                              "convs.0.bias", "convs.1.lin_src.weight", "convs.1.att_src",
                                              "convs.1.att_dst", "convs.1.bias"});
  // PyGAS's GAT decays every convolution (reg_modules = convs) and has no nonreg group.
  CHECK(model_test::names(m.reg_parameters()) == model_test::names(m.parameters()));
  CHECK(m.nonreg_parameters().empty());
  CHECK(m.parameters()[0]->value.rows() == 6);  // hidden * heads outputs
  CHECK(m.parameters()[4]->value.cols() == 6);  // the last layer reads the concatenated heads
  CHECK(m.parameters()[7]->value.cols() == 5);  // averaged output heads: out wide
  REQUIRE(m.histories().size() == 1);
  CHECK(m.histories()[0].width() == 6);
}

TEST_CASE("GAT: bad configurations throw typed errors") {
  const GATModelOptions o{.in = 12, .hidden = 4, .heads = 2, .out = 4, .layers = 2};
  auto bad_layers = o;
  bad_layers.layers = 0;
  CHECK_THROWS_NAMING(gas::value_error, GAT<float>(20, bad_layers), "layers = 0");
  auto bad_heads = o;
  bad_heads.heads = 0;
  CHECK_THROWS_NAMING(gas::value_error, GAT<float>(20, bad_heads), "heads = 0");
  auto bad_out_heads = o;
  bad_out_heads.out_heads = -1;
  CHECK_THROWS_NAMING(gas::value_error, GAT<float>(20, bad_out_heads), "out_heads = -1");
  auto bad_dropout = o;
  bad_dropout.dropout = 1.0;
  CHECK_THROWS_NAMING(gas::value_error, GAT<float>(20, bad_dropout), "dropout = 1");
  auto narrow = [](std::int32_t, std::int64_t rows, std::int64_t width) {
    return gas::history::HostStore<float>(rows, width - 1);
  };
  CHECK_THROWS_NAMING(gas::shape_error, GAT<float>(20, o, 0, narrow), "history 0 is (20 x 7)", "(20 x 8)");

  const auto p = model_test::make_problem(120, 4, Prep::self_loops, 0.8, 8);
  GAT<float> model(p.data.num_nodes(), o, 1);
  gas::autograd::Tape<float> tape;
  const auto ids = model_test::iota_ids(p.data.num_nodes());
  auto x = gas::models::gather_features(tape, p.data.features.view(), std::span<const gas::node_id>(ids));
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(2, tape, x, p.data.graph, true, 0), "layer 2 outside [0, 2)");
  CHECK_THROWS_NAMING(gas::shape_error, model.run_layer(1, tape, x, p.data.graph, true, 0), "GATConv");
}
