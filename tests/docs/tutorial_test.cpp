// The code of docs/tutorial.md: each region between example-begin/example-end markers is copied verbatim into the
// tutorial, and tools/check_snippets.py (test doc_snippets) keeps the two equal. The tests run that code on a small
// SBM graph in a scratch folder (and on Cora when ../shared/data has it) and check what the tutorial says of it.
#include <doctest/doctest.h>

#include <gas/gas.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

// The tutorial's train.cpp is a whole program with its own main(); compiled here as tutorial_main, which the tests
// call with their own arguments (the doctest main is the test program's). Its includes were all included above.
#define main tutorial_main
// example-begin program
#include <gas/gas.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>

namespace {
std::atomic<bool> stop_requested{false};  // set by Ctrl-C: the Trainer finishes its step, saves and returns
}

int main(int argc, char** argv) {
  const std::string spec = argc > 1 ? argv[1] : "planetoid:../shared/data/planetoid/cora";
  gas::Dataset data = gas::io::load(spec);
  gas::row_normalize(data.features);  // as the paper: each feature row sums to 1

  using Model = gas::models::GCN<float>;  // float, on the host, histories in host memory
  Model model(data.num_nodes(), {.in = data.num_features(), .hidden = 16, .out = data.num_classes, .layers = 2,
                                 .dropout = 0.5, .input_dropout = 0.5}, /*seed=*/1);
  gas::TrainerOptions options{.batch_size = 10, .epochs = 200, .lr = 0.01, .grad_clip = 1.0, .seed = 1,
                              .checkpoint = "train.ckpt", .checkpoint_every = 50, .stop = &stop_requested};
  if (argc > 2) options.resume = argv[2];  // continue from a checkpoint, bit for bit
  options.on_epoch = [](const gas::EpochRecord& e, const gas::TrainResult& so_far) {
    if ((e.epoch + 1) % 50 == 0)  // EpochRecord::epoch is 0-based; metrics are fractions
      std::printf("epoch %3d  loss %.4f  val %.2f %%  best val %.2f %%\n", e.epoch + 1, e.loss, 100 * e.val,
                  100 * so_far.best_val);
  };
  std::signal(SIGINT, [](int) {
    stop_requested = true;
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
  });

  gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 40, .seed = 1}, options);
  const gas::TrainResult result = trainer.fit(data);
  std::printf("%s: test %.2f %% at the best val %.2f %% (epoch %d)%s\n", data.name.c_str(),
              100 * result.test_at_best_val, 100 * result.best_val, result.best_epoch + 1,
              result.stopped ? "; stopped, resume from train.ckpt" : "");

  const gas::Prediction<float> out = trainer.predict();  // the best epoch's model, every node, original order
  gas::io::write_npy("logits.npy", std::span<const float>(out.logits.data(), out.logits.size()),
                     {out.logits.rows(), out.logits.cols()});
  return result.stopped ? 130 : 0;
}
// example-end program
#undef main

namespace {

constexpr const char* small_spec = "sbm:nodes=600,classes=3,features=8,seed=2";

/// Runs the tutorial's program in `dir` with `args` (argv[1], ...), as `train ARGS...` there.
int run_program(const std::filesystem::path& dir, std::vector<std::string> args) {
  const std::filesystem::path old = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  args.insert(args.begin(), "train");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = -1;
  try {
    rc = tutorial_main(static_cast<int>(args.size()), argv.data());
  } catch (...) {
    std::filesystem::current_path(old);
    throw;
  }
  std::filesystem::current_path(old);
  return rc;
}

/// Test accuracy (a fraction) of the class scores in the .npy file `path` against `data`'s split 0.
double accuracy_of(const std::filesystem::path& path, const gas::Dataset& data) {
  // example-begin read-npy
  const gas::io::NpyArray scores = gas::io::read_npy(path);  // (num_nodes, classes) float32, original order
  const std::int64_t classes = scores.shape()[1];
  const std::vector<float> s = scores.to_vector<float>();
  std::int64_t correct = 0;
  for (const gas::node_id v : data.splits.front().test) {
    const float* row = s.data() + v * classes;
    correct += std::max_element(row, row + classes) - row == data.labels[static_cast<std::size_t>(v)];
  }
  std::printf("test accuracy %.2f %%\n", 100.0 * correct / data.splits.front().test.size());
  // example-end read-npy
  CHECK(scores.shape()[0] == data.num_nodes());
  CHECK(classes == data.num_classes);
  return static_cast<double>(correct) / static_cast<double>(data.splits.front().test.size());
}

}  // namespace

TEST_CASE("docs/tutorial: train.cpp trains, and interrupted then resumed it ends as one uninterrupted run") {
  gas_test::TempDir whole, parts;
  REQUIRE(run_program(whole.path(), {small_spec}) == 0);
  CHECK(std::filesystem::exists(whole / "train.ckpt"));
  const gas::Dataset data = gas::io::load(small_spec);
  CHECK(accuracy_of(whole / "logits.npy", data) > 0.6);  // 3 classes: chance is 1/3

  // Ctrl-C once the epoch-50 checkpoint exists: the program saves and returns 130; resumed, it ends as above.
  stop_requested = false;
  std::thread interrupt([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(parts / "train.ckpt") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::raise(SIGINT);
  });
  const int rc = run_program(parts.path(), {small_spec});
  interrupt.join();
  if (rc == 0) MESSAGE("the run ended before the interrupt reached it: the resume below only reloads the end");
  CHECK((rc == 130 || rc == 0));
  std::signal(SIGINT, SIG_DFL);
  stop_requested = false;
  REQUIRE(run_program(parts.path(), {small_spec, "train.ckpt"}) == 0);
  CHECK(gas::io::read_file(parts / "logits.npy") == gas::io::read_file(whole / "logits.npy"));
}

TEST_CASE("docs/tutorial: train.cpp on Cora" * doctest::skip(gas_test::missing("planetoid/cora"))) {
  gas_test::TempDir dir;
  // Absolute: the program runs in the scratch folder.
  const std::string spec = "planetoid:" + std::filesystem::absolute(gas_test::data_dir() / "planetoid" / "cora").string();
  REQUIRE(run_program(dir.path(), {spec}) == 0);
  CHECK(accuracy_of(dir / "logits.npy", gas::io::load(spec)) > 0.75);
}

// example-begin custom-model
/// A GCN whose layers also map each node's own input: h = A_hat (x W) + b + x_v R (PyG's GraphConv adds such a
/// "root weight"). `layers - 1` histories of width `hidden`.
template <class C>
class RootGCN : public gas::models::ScalableGNN<RootGCN<C>, C> {
  using Base = gas::models::ScalableGNN<RootGCN<C>, C>;
  using T = typename C::value_type;
  using B = typename C::backend_type;

public:
  // No `traits` declared: the defaults hold (the Trainer GCN-normalizes the graph; no regularization loss).
  RootGCN(std::int64_t nodes, gas::models::Widths w, double dropout, std::uint64_t seed)
      : Base(nodes, w), dropout_(dropout) {
    gas::Rng rng(seed);
    for (std::int32_t l = 0; l < w.layers; ++l) {
      const std::int64_t in = l == 0 ? w.in : w.hidden, out = l + 1 == w.layers ? w.out : w.hidden;
      convs_.emplace_back(in, out, rng);
      roots_.emplace_back(in, out, rng, gas::nn::LinearOptions{.bias = false});
    }
    this->register_module("convs", convs_);  // parameters convs.0.lin.weight, ..., roots.1.weight
    this->register_module("roots", roots_);
  }

  // x: (adj.cols(), in_l), the batch's rows then its halo's -> (adj.rows(), out_l), the batch's rows.
  typename C::var forward_layer(typename C::var x, typename Base::context& ctx) {
    x = ctx.dropout(x, dropout_, 0);
    const auto l = static_cast<std::size_t>(ctx.layer());
    // The root term over every row, then the batch's rows: layer 0's x may be sparse (bag-of-words features),
    // which Linear takes as it is but targets() cannot slice.
    auto self = ctx.targets(roots_[l].forward(ctx.tape(), x));  // (adj.rows(), out_l)
    auto h = gas::ops::add(convs_[l].forward(ctx.tape(), x, ctx.adj()), self);
    return ctx.last() ? h : gas::ops::relu(h);
  }

private:
  double dropout_;
  gas::nn::ModuleList<gas::nn::GCNConv<T, B>> convs_;
  gas::nn::ModuleList<gas::nn::Linear<T, B>> roots_;
};
// example-end custom-model

namespace {

/// Trains RootGCN on `data` as the tutorial does; returns (result, test accuracy of predict()'s logits).
std::pair<gas::TrainResult, double> train_root_gcn(gas::Dataset& data) {
  // example-begin custom-train
  using Model = RootGCN<gas::models::Config<float>>;  // float, host, gas::history::HostStore<float>
  Model model(data.num_nodes(), {.in = data.num_features(), .hidden = 32, .out = data.num_classes, .layers = 2},
              /*dropout=*/0.5, /*seed=*/1);
  gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 40, .seed = 1},
                                                     {.batch_size = 10, .epochs = 100, .lr = 0.01, .seed = 1});
  const gas::TrainResult r = trainer.fit(data);
  std::printf("%s: RootGCN test %.2f %% at the best val %.2f %% (epoch %d), %.2f s training\n", data.name.c_str(),
              100 * r.test_at_best_val, 100 * r.best_val, r.best_epoch + 1, r.train_seconds);
  const gas::Prediction<float> p = trainer.predict();  // logits (n, classes), embeddings (n, 32)
  // example-end custom-train
  CHECK(p.logits.rows() == data.num_nodes());
  CHECK(p.logits.cols() == data.num_classes);
  CHECK(p.embeddings.rows() == data.num_nodes());
  CHECK(p.embeddings.cols() == 32);
  // predict() is the best epoch's model in the dataset's order: its test accuracy is the one fit() reported.
  std::int64_t correct = 0;
  for (const gas::node_id v : data.splits.front().test) {
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < p.logits.cols(); ++c)
      if (p.logits(v, c) > p.logits(v, best)) best = c;
    correct += best == data.labels[static_cast<std::size_t>(v)];
  }
  return {r, static_cast<double>(correct) / static_cast<double>(data.splits.front().test.size())};
}

}  // namespace

TEST_CASE("docs/tutorial: a model of your own trains with the Trainer") {
  gas::Dataset data = gas::io::load(small_spec);
  const auto [r, accuracy] = train_root_gcn(data);
  CHECK(r.test_at_best_val > 0.6);
  CHECK(accuracy == doctest::Approx(r.test_at_best_val).epsilon(1e-12));
  CHECK(std::string(RootGCN<gas::models::Config<float>>(10, {.in = 2, .hidden = 4, .out = 3, .layers = 2}, 0.5, 1)
                        .named_parameters()
                        .back()
                        .first) == "roots.1.weight");
}

TEST_CASE("docs/tutorial: a model of your own on Cora's sparse features" *
          doctest::skip(gas_test::missing("planetoid/cora"))) {
  gas::Dataset data = gas::io::load("planetoid:" + (gas_test::data_dir() / "planetoid" / "cora").string());
  REQUIRE(data.features.is_sparse());  // layer 0 gets a sparse x: the model must not slice it
  gas::row_normalize(data.features);
  using Model = RootGCN<gas::models::Config<float>>;
  Model model(data.num_nodes(), {.in = data.num_features(), .hidden = 32, .out = data.num_classes, .layers = 2}, 0.5, 1);
  gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 40, .seed = 1},
                                                     {.batch_size = 10, .epochs = 20, .lr = 0.01, .seed = 1});
  CHECK(trainer.fit(data).test_at_best_val > 0.75);  // 81.8 % at epoch 18 of the tutorial's 100
}
