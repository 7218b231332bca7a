// APPNP as a GAS model on small SBM graphs (GCN-normalized over the whole graph, then permuted by a partition):
// one partition reproduces full-batch training bit for bit; layer-wise inference (its own x0-carrying driver)
// equals the full forward pass; GAS training learns an easy SBM; parameter groups follow the reference; bad
// configurations throw typed errors.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/models/appnp.hpp>

#include "io/io_test_util.hpp"
#include "models/model_test_util.hpp"

using gas::models::APPNP;
using gas::models::APPNPOptions;
using model_test::Prep;

namespace {

std::vector<APPNPOptions> variants(std::int64_t in, std::int64_t out) {
  return {
      {.in = in, .hidden = 16, .out = out, .K = 3, .alpha = 0.1, .dropout = 0.5},
      {.in = in, .hidden = 8, .out = out, .K = 1, .alpha = 0.2, .dropout = 0.3},
      {.in = in, .hidden = 16, .out = out, .K = 6, .alpha = 0.15, .dropout = 0.4},
  };
}

}  // namespace

TEST_CASE_TEMPLATE("APPNP: one partition gives full-batch forward and training bit for bit", T, float, double) {
  const auto p = model_test::make_problem(300, 1, Prep::gcn_normalize);
  for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
    CAPTURE(o.K);
    model_test::check_one_partition<T, APPNP<T>>(
        p, [&] { return std::make_unique<APPNP<T>>(p.data.num_nodes(), o, 7); });
  }
}

TEST_CASE("APPNP: layer-wise inference equals the full forward pass") {
  for (const std::int32_t parts : {1, 4, 10}) {
    CAPTURE(parts);
    const auto p = model_test::make_problem(400, parts, Prep::gcn_normalize, 0.8, 3);
    for (const auto& o : variants(p.data.num_features(), p.data.num_classes)) {
      CAPTURE(o.K);
      APPNP<float> model(p.data.num_nodes(), o, 11);
      const auto full = model_test::full_eval<float>(model, p);
      model_test::check_inference(model, p, full);
    }
  }
}

TEST_CASE("APPNP: after fill_histories, a GAS forward on any batch equals the full forward rows") {
  const auto p = model_test::make_problem(500, 10, Prep::gcn_normalize, 0.8, 5);
  APPNP<float> model(p.data.num_nodes(), variants(p.data.num_features(), p.data.num_classes)[2], 13);
  const auto full = model_test::full_eval<float>(model, p);
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 3);
  model.fill_histories(p.data.features, eval);
  gas::loader::TrainLoader loader(p.data.graph, p.ptr, {.batch_size = 3, .seed = 9, .background = false});
  gas::autograd::Tape<float> tape;
  loader.start_epoch(0);
  for (gas::loader::Batch b; loader.next(b);) {
    tape.reset();
    const gas::autograd::NoGrad<float, gas::host> no_grad(tape);
    auto y = model.forward(tape, p.data.features, b, false, 0);  // (batch_size, out)
    REQUIRE(b.num_halo() > 0);
    double worst = 0;
    for (gas::node_id i = 0; i < b.batch_size; ++i)
      for (std::int64_t j = 0; j < y.cols(); ++j) {
        const double a = y.value()(i, j), e = full(b.n_id[static_cast<std::size_t>(i)], j);
        worst = std::max(worst, std::abs(a - e) / std::max(1.0, std::abs(e)));
      }
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("APPNP: GAS training (METIS 8 parts, 2 per batch) learns an easy SBM") {
  const auto p = model_test::make_problem(2000, 8, Prep::gcn_normalize, 0.9, 2);
  APPNP<float> model(p.data.num_nodes(),
                     {.in = p.data.num_features(), .hidden = 32, .out = p.data.num_classes, .K = 5, .alpha = 0.1,
                      .dropout = 0.5},
                     3);
  REQUIRE(model.histories().size() == 4);
  CHECK(model.histories()[0].width() == p.data.num_classes);
  const double accuracy = model_test::train_gas(model, p, 40, 0.01);
  CHECK(accuracy > 0.85);
}

TEST_CASE("APPNP: parameter names and the reference's weight-decay groups") {
  using V = std::vector<std::string>;
  APPNP<float> m(10, {.in = 4, .hidden = 8, .out = 3, .K = 4});
  CHECK(model_test::names(m.parameters()) == V{"lins.0.weight", "lins.0.bias", "lins.1.weight", "lins.1.bias"});
  CHECK(model_test::names(m.reg_parameters()) == V{"lins.0.weight", "lins.0.bias"});
  CHECK(model_test::names(m.nonreg_parameters()) == V{"lins.1.weight", "lins.1.bias"});
  CHECK(m.num_layers() == 4);
  REQUIRE(m.histories().size() == 3);
  CHECK(m.histories()[0].width() == 3);
}

TEST_CASE("APPNP: bad configurations throw typed errors") {
  const APPNPOptions o{.in = 12, .hidden = 8, .out = 4, .K = 3};
  auto bad_k = o;
  bad_k.K = 0;
  CHECK_THROWS_NAMING(gas::value_error, APPNP<float>(20, bad_k), "K = 0");
  auto bad_alpha = o;
  bad_alpha.alpha = 1.5;
  CHECK_THROWS_NAMING(gas::value_error, APPNP<float>(20, bad_alpha), "alpha = 1.5");
  auto bad_dropout = o;
  bad_dropout.dropout = 1.0;
  CHECK_THROWS_NAMING(gas::value_error, APPNP<float>(20, bad_dropout), "dropout = 1");
  auto bad_width = o;
  bad_width.hidden = 0;
  CHECK_THROWS_NAMING(gas::value_error, APPNP<float>(20, bad_width), "hidden = 0");

  const auto p = model_test::make_problem(120, 4, Prep::gcn_normalize, 0.8, 8);
  APPNP<float> model(p.data.num_nodes(), o, 1);
  gas::autograd::Tape<float> tape;
  const auto ids = model_test::iota_ids(p.data.num_nodes());
  auto x = gas::models::gather_features(tape, p.data.features.view(), std::span<const gas::node_id>(ids));
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(3, tape, x, p.data.graph, true, 0), "layer 3 outside [0, 3)");
  // A later layer without layer 0 before it on this tape has no x0.
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(1, tape, x, p.data.graph, true, 0), "layer 1 reads slot 0");
  auto h = model.run_layer(0, tape, x, p.data.graph, true, 0);
  gas::autograd::Tape<float> other;
  auto y = gas::models::gather_features(other, p.data.features.view(), std::span<const gas::node_id>(ids));
  CHECK_THROWS_NAMING(gas::value_error, model.run_layer(1, other, y, p.data.graph, true, 0), "reads slot 0");
  CHECK(model.run_layer(1, tape, h, p.data.graph, true, 0).rows() == p.data.num_nodes());

  // Inference checks the features and the loader's graph like ScalableGNN's.
  const gas::Tensor<float> narrow(p.data.num_nodes(), p.data.num_features() - 1);
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 2);
  CHECK_THROWS_NAMING(gas::shape_error, model.inference(narrow, eval), "features are (120 x 11)", "in_features = 12");
  CHECK_THROWS_NAMING(gas::shape_error, model.fill_histories(narrow, eval), "features are (120 x 11)");
  const auto small = model_test::make_problem(60, 2, Prep::gcn_normalize, 0.8, 8);
  const gas::loader::EvalLoader other_eval(small.data.graph, small.ptr, 1);
  CHECK_THROWS_NAMING(gas::shape_error, model.inference(p.data.features, other_eval), "60 nodes", "120");
}
