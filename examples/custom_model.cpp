// custom-model: a GNN of your own trained with GAS. A GraphSAGE network with max aggregation, written against
// the ScalableGNN base in about sixty lines, then trained by gas::Trainer exactly like the bundled models.
//
//   custom-model [SPEC] [--epochs N]      (default: the built-in SBM graph, 50 epochs)
//
// What a model provides (models/scalable_gnn.hpp): forward_layer(l, ...) mapping the (adj.cols(), in_l) input rows
// of a batch (in-batch rows first, then halo rows) to its (adj.rows(), out_l) in-batch outputs; in_features(),
// out_features(); parameters() split into reg_parameters() and nonreg_parameters() for the two weight-decay
// groups. The base pushes each hidden layer's batch rows into its history and pulls the halo rows back between
// layers, and runs layer-wise exact inference for evaluation. Prints the best validation and its test accuracy.

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <gas/gas.hpp>

namespace {

/// GraphSAGE (max aggregation) with dropout and ReLU between layers: `layers - 1` histories of width `hidden`.
template <class T>
class MaxSAGE : public gas::models::ScalableGNN<MaxSAGE<T>, T> {
  using Base = gas::models::ScalableGNN<MaxSAGE<T>, T>;
  using Conv = gas::nn::SAGEConv<T, gas::host, gas::aggr::Max>;

public:
  using var = gas::ag::Var<T>;
  // SAGE aggregates raw neighbours: the Trainer must not GCN-normalise the graph.
  static constexpr bool needs_gcn_norm = false;

  MaxSAGE(std::int64_t nodes, std::int64_t in, std::int64_t hidden, std::int64_t out, std::int32_t layers,
          double dropout, std::uint64_t seed)
      : Base(nodes, hidden, layers), in_(in), out_(out), dropout_(dropout) {
    gas::Rng rng(seed);
    convs_.reserve(static_cast<std::size_t>(layers));  // parameters must never move: optimisers point at them
    for (std::int32_t l = 0; l < layers; ++l)
      convs_.emplace_back(l == 0 ? in : hidden, l + 1 == layers ? out : hidden, rng);
  }

  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }

  var forward_layer(std::int32_t l, gas::ag::Tape<T>& tape, var x, const gas::Graph& adj, bool training,
                    std::uint64_t seed) {
    // The dropout that follows the previous layer's push/pull opens this layer, so that training and layer-wise
    // inference run the same code (see models/scalable_gnn.hpp).
    x = gas::ops::dropout(x, dropout_, gas::models::dropout_seed(seed, l, 0), training);
    var h = convs_[static_cast<std::size_t>(l)].forward(tape, x, adj);  // (adj.rows(), out_l)
    return l + 1 < this->num_layers() ? gas::ops::relu(h) : h;
  }

  std::vector<gas::ag::Parameter<T>*> parameters() {
    std::vector<gas::ag::Parameter<T>*> all;
    for (auto& conv : convs_)
      for (auto* p : conv.parameters()) all.push_back(p);
    return all;
  }
  // As the reference's GCN: weight decay on every convolution but the last.
  std::vector<gas::ag::Parameter<T>*> reg_parameters() {
    std::vector<gas::ag::Parameter<T>*> out;
    for (std::size_t l = 0; l + 1 < convs_.size(); ++l)
      for (auto* p : convs_[l].parameters()) out.push_back(p);
    return out;
  }
  std::vector<gas::ag::Parameter<T>*> nonreg_parameters() { return convs_.back().parameters(); }

private:
  std::int64_t in_, out_;
  double dropout_;
  std::vector<Conv> convs_;
};

}  // namespace

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
    MaxSAGE<float> model(data.num_nodes(), data.num_features(), 64, data.num_classes, 2, 0.5, /*seed=*/1);
    gas::Trainer<MaxSAGE<float>, gas::partition::Metis, gas::history::HostStore<float>> trainer(
        model, {.num_parts = 20, .seed = 1}, {.batch_size = 5, .epochs = epochs, .lr = 0.01, .seed = 1});
    const gas::TrainResult r = trainer.fit(data);
    std::printf("%s: MaxSAGE (GAS, 20 parts, batch 5): best val %.4f at epoch %d, test %.4f, %.2f s training\n",
                data.name.c_str(), r.best_val, r.best_epoch, r.test_at_best_val, r.train_seconds);
    return 0;
  } catch (const gas::error& e) {
    std::fprintf(stderr, "custom-model: %s\n", e.what());
    return 1;
  }
}
