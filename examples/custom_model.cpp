// custom-model: a GNN of your own trained with GAS. A GraphSAGE network with max aggregation (custom_model.hpp,
// about twenty lines), trained by gas::Trainer exactly like the bundled models.
//
//   custom-model [SPEC] [--epochs N]      (default: the built-in SBM graph, 50 epochs)
//
// What a model provides (models/scalable_gnn.hpp): forward_layer(x, ctx) mapping the (ctx.adj().cols(), in_l)
// input rows of a batch (in-batch rows first, then halo rows) to its (ctx.adj().rows(), out_l) in-batch outputs,
// and its layers, registered at construction (register_module), which give parameters() and the two weight-decay
// groups. The base pushes each hidden layer's batch rows into its history and pulls the halo rows back between
// layers, and runs layer-wise exact inference for evaluation. Prints the best validation and its test accuracy.

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

#include "custom_model.hpp"

int main(int argc, char** argv) {
  try {
    std::string spec = "sbm:nodes=3000,classes=4,features=32,homophily=0.9,seed=1";
    std::int32_t epochs = 50;
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (arg == "--epochs" && i + 1 < argc) {
        const std::string_view v = argv[++i];
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), epochs);
        if (ec != std::errc{} || end != v.data() + v.size() || epochs < 1)
          throw gas::config_error("--epochs: '" + std::string(v) + "' is not a positive integer");
      } else {
        spec = arg;
      }
    }
    const gas::Dataset data = gas::io::load(spec);
    using Model = MaxSAGE<gas::models::Config<float>>;
    Model model(data.num_nodes(),
                {.in = data.num_features(), .hidden = 64, .out = data.num_classes, .layers = 2}, 0.5, /*seed=*/1);
    gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 20, .seed = 1},
                                                       {.batch_size = 5, .epochs = epochs, .lr = 0.01, .seed = 1});
    const gas::TrainResult r = trainer.fit(data);
    std::printf("%s: MaxSAGE (GAS, 20 parts, batch 5): best val %.4f at epoch %d, test %.4f, %.2f s training\n",
                data.name.c_str(), r.best_val, r.best_epoch, r.test_at_best_val, r.train_seconds);
    return 0;
  } catch (const gas::error& e) {
    std::fprintf(stderr, "custom-model: %s\n", e.what());
    return 1;
  }
}
