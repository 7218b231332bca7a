// The custom model of examples/custom_model.hpp (GraphSAGE with max aggregation, written against ScalableGNN and
// the configuration bundle) trains with the Trainer, keeps its parameters in the registry with the groups it
// declared, and its layer-wise inference equals its full-graph forward pass. tests/cuda/models_tape_matches_host.cu
// trains the same class on the device.
#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "../../examples/custom_model.hpp"

namespace {

using Model = MaxSAGE<gas::models::Config<float>>;

}  // namespace

TEST_CASE("the custom model registers its layers, one group each") {
  Model model(50, {.in = 6, .hidden = 8, .out = 3, .layers = 3}, 0.5, 1);
  std::vector<std::string> names;
  for (const auto& [name, p] : model.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"convs.0.lin_l.weight", "convs.0.lin_l.bias", "convs.0.lin_r.weight",
                                          "convs.1.lin_l.weight", "convs.1.lin_l.bias", "convs.1.lin_r.weight",
                                          "convs.2.lin_l.weight", "convs.2.lin_l.bias", "convs.2.lin_r.weight"});
  CHECK(model.reg_parameters().size() == 6);
  CHECK(model.nonreg_parameters().size() == 3);
  CHECK(model.nonreg_parameters().front()->name == "convs.2.lin_l.weight");
  CHECK(model.num_layers() == 3);
  CHECK(model.histories().size() == 2);
  static_assert(!Model::traits.gcn_norm);
  static_assert(gas::TrainableModel<Model>);
}

TEST_CASE("the custom model trains with GAS and infers layer-wise as the full graph does") {
  const gas::Dataset data = gas::io::load("sbm:nodes=1500,classes=4,features=16,homophily=0.9,seed=4");
  Model model(data.num_nodes(), {.in = 16, .hidden = 32, .out = 4, .layers = 2}, 0.5, 1);
  gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 10, .seed = 1},
                                                     {.batch_size = 2, .epochs = 30, .lr = 0.01, .seed = 1});
  const gas::TrainResult r = trainer.fit(data);
  CHECK(r.test_at_best_val > 0.85);

  // Layer-wise inference over METIS batches == the full-graph pass (the Trainer permuted its own copy; any order
  // of the nodes works for this check).
  const auto p = gas::partition::Metis{.num_parts = 6, .seed = 2}.partition(data.graph);
  const gas::Dataset permuted = gas::partition::permute(data, p);
  Model fresh(permuted.num_nodes(), {.in = 16, .hidden = 32, .out = 4, .layers = 2}, 0.5, 3);
  const gas::loader::EvalLoader eval(permuted.graph, p.ptr, 2);
  const gas::Tensor<float> layerwise = fresh.inference(permuted.features, eval);
  gas::autograd::Tape<float> tape;
  const auto full = fresh.forward_full(tape, tape.constant(permuted.features.view()), permuted.graph, false, 0);
  double worst = 0;
  for (std::int64_t i = 0; i < full.rows(); ++i)
    for (std::int64_t j = 0; j < full.cols(); ++j)
      worst = std::max(worst, std::abs(static_cast<double>(layerwise(i, j)) - full.value()(i, j)));
  CHECK(worst < 1e-4);
}
