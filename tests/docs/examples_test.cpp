// The code examples of README.md and docs/: each region between example-begin/example-end markers is
// copied verbatim into a document, and tools/check_snippets.py (test doc_snippets) keeps the two equal.
#include <doctest/doctest.h>

#include <gas/gas.hpp>

#include <cassert>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <span>
#include <vector>

#include "test_util.hpp"

TEST_CASE("readme: load a dataset and inspect it") {
  // example-begin load
  gas::Dataset data = gas::io::load("sbm:nodes=2000,classes=4,features=16,seed=1");
  std::printf("%s: %d nodes, %lld directed edges, %lld features, %d classes\n", data.name.c_str(),
              data.num_nodes(), static_cast<long long>(data.num_edges()),
              static_cast<long long>(data.num_features()), data.num_classes);
  const gas::Split& split = data.splits.front();  // sorted node ids
  // example-end load
  CHECK(data.num_nodes() == 2000);
  CHECK(data.num_classes == 4);
  CHECK(split.train.size() + split.val.size() + split.test.size() == 2000);
}

TEST_CASE("docs/datasets: preprocess as the GAS paper does") {
  gas::Dataset data = gas::io::load("sbm:nodes=300,classes=3,features=5,seed=2");
  // example-begin preprocess
  gas::row_normalize(data.features);                  // each feature row sums to 1
  gas::Graph a_hat = gas::gcn_normalize(data.graph);  // D^-1/2 (A + I) D^-1/2 as edge weights
  // example-end preprocess
  CHECK(a_hat.has_weights());
  CHECK(a_hat.num_edges() == data.num_edges() + data.num_nodes());
}

TEST_CASE("docs/datasets: sparse features") {
  gas::Tensor<float> bag(4, 50);  // a bag-of-words matrix: 2 % non-zero
  bag(0, 3) = bag(1, 7) = bag(2, 7) = bag(3, 49) = 1;
  gas::Dataset data = gas::io::load("sbm:nodes=4,classes=2,features=50,degree=1,seed=1");
  data.features = gas::make_features(bag, gas::SparseFeatures::automatic);
  // example-begin sparse-features
  if (data.features.is_sparse()) {
    const gas::SparseRows<float>& x = data.features.sparse();  // CSR: indptr, indices, values
    std::printf("%lld x %lld features, %lld non-zeros, %.1f KiB\n", static_cast<long long>(x.rows()),
                static_cast<long long>(x.cols()), static_cast<long long>(x.nnz()), x.bytes() / 1024.0);
  }
  gas::Tensor<float> dense = data.features.to_dense();  // when a dense copy is really wanted
  // example-end sparse-features
  CHECK(data.features.is_sparse());
  CHECK(data.features.nnz() == 4);
  CHECK(dense == bag);
}

TEST_CASE("docs/datasets: bad input is a typed error naming the file") {
  // example-begin errors
  try {
    gas::Dataset data = gas::io::load("npz:/no/such/file.npz");
  } catch (const gas::io_error& e) {  // format_error, a kind of io_error, for corrupt content
    std::fprintf(stderr, "cannot load: %s\n", e.what());
  }
  // example-end errors
  CHECK_THROWS_AS(gas::io::load("npz:/no/such/file.npz"), gas::io_error);
  CHECK_THROWS_AS(gas::io::load("bogus:x"), gas::config_error);
}

TEST_CASE("docs/partitioning: partition, permute and iterate cluster batches") {
  const gas::Dataset data = gas::io::load("sbm:nodes=3000,classes=4,features=8,seed=5");
  // example-begin batches
  namespace part = gas::partition;
  const part::Partition p = part::Metis{.num_parts = 40, .seed = 1}.partition(data.graph);
  const part::Stats quality = part::stats(data.graph, p);  // edge cut and balance
  const gas::Dataset permuted = part::permute(data, p);    // cluster c = ids [p.ptr[c], p.ptr[c + 1])

  gas::loader::TrainLoader loader(permuted.graph, p.ptr, {.batch_size = 10, .seed = 1});
  for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    for (gas::loader::Batch batch; loader.next(batch);) {
      // batch.n_id = [in-batch ids ; halo ids], batch.adj = (batch_size x n_id.size()) full rows,
      // batch.chunks = contiguous in-batch ranges for history copies.
      assert(batch.adj.rows() == batch.batch_size);
    }
  }
  gas::loader::EvalLoader inference(permuted.graph, p.ptr, /*batch_size=*/10);  // consecutive clusters
  // example-end batches
  CHECK(quality.parts == 40);
  const auto random = part::stats(data.graph, part::Random{.num_parts = 40, .seed = 1}.partition(data.graph));
  CHECK(quality.edge_cut_fraction < 0.8 * random.edge_cut_fraction);
  CHECK(loader.steps_per_epoch() == 4);
  CHECK(inference.size() == 4);
  // Results computed in permuted order go back to original ids:
  const auto labels = part::to_original(permuted.labels, p);
  CHECK(labels == data.labels);
}

// example-begin custom-layer
/// A custom layer: h' = relu(A_hat (h W) + b) + h, written from ops; the tape derives its backward.
template <class T>
struct ResidualGcn {
  gas::autograd::Parameter<T> weight, bias;
  explicit ResidualGcn(std::int64_t width, std::uint64_t seed)
      : weight("weight", gas::Tensor<T>(width, width)), bias("bias", gas::Tensor<T>(1, width)) {
    gas::Rng rng(seed);
    const double bound = std::sqrt(6.0 / (2.0 * static_cast<double>(width)));  // glorot
    for (auto& w : weight.value.values()) w = static_cast<T>(rng.uniform(-bound, bound));
  }
  gas::autograd::Var<T> forward(gas::autograd::Tape<T>& tape, const gas::Graph& a_hat, gas::autograd::Var<T> h) {
    namespace ops = gas::ops;
    auto z = ops::spmm<gas::ops::aggr::Sum>(a_hat, ops::matmul(h, tape.param(weight)));  // (nodes, width)
    return ops::add(ops::relu(ops::bias_add(z, tape.param(bias))), h);
  }
};
// example-end custom-layer

TEST_CASE("docs/autograd: a custom layer trains and passes the gradient check") {
  const gas::Dataset data = gas::io::load("sbm:nodes=40,classes=2,features=3,degree=4,seed=9");
  const gas::Graph a_hat = gas::gcn_normalize(data.graph);
  // example-begin gradcheck
  ResidualGcn<double> layer(3, /*seed=*/1);
  gas::autograd::Parameter<double> input("x", gas::Tensor<double>(40, 3));
  gas::Rng rng(2);
  for (auto& x : input.value.values()) x = rng.normal();
  gas::autograd::Tape<double> tape;
  const auto check = gas::autograd::check_gradients(
      tape, [&](gas::autograd::Tape<double>& t) { return gas::ops::sum_all(layer.forward(t, a_hat, t.param(input))); },
      {&layer.weight, &layer.bias, &input});
  // check.ok, check.max_error, check.worst ("weight[1, 2]: analytic ..., numeric ...")
  // example-end gradcheck
  CHECK_MESSAGE(check.ok, check.worst);

  // example-begin train-step
  std::vector<gas::autograd::Parameter<double>*> params{&layer.weight, &layer.bias};
  gas::train::Adam<double> adam(params, {.lr = 0.01});
  const std::vector<gas::node_id> rows = data.splits.front().train;
  gas::Tensor<double> x0(40, 3);
  for (auto& x : x0.values()) x = rng.normal();
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    tape.reset();
    auto logits = layer.forward(tape, a_hat, tape.constant(x0.view()));
    auto loss = gas::ops::cross_entropy(logits, std::span<const std::int32_t>(data.labels), rows);
    adam.zero_grad();
    tape.backward(loss);
    adam.step();
    (step == 0 ? first : last) = loss.value()(0, 0);
  }
  // example-end train-step
  CHECK(last < first);
}

TEST_CASE("docs/autograd: rows read in place") {
  const gas::Dataset data = gas::io::load("sbm:nodes=400,classes=4,features=12,seed=3");
  const auto p = gas::partition::Metis{.num_parts = 4, .seed = 1}.partition(data.graph);
  const gas::Dataset permuted = gas::partition::permute(data, p);
  const gas::Tensor<float>& features = permuted.features.dense();
  const std::vector<std::int32_t> clusters{1};
  gas::loader::BatchWorkspace workspace;
  const gas::loader::Batch batch = gas::loader::build_batch(permuted.graph, p.ptr, clusters, workspace);
  REQUIRE(batch.num_halo() > 0);
  // example-begin rows-in-place
  gas::autograd::Tape<float> tape;
  auto x = tape.push_rows("features", features.view(), batch.n_id);  // nothing copied
  auto h = gas::ops::spmm<gas::ops::aggr::Sum>(batch.adj, x);          // reads features(n_id[j], :) in place
  // example-end rows-in-place
  CHECK(x.node().deferred());
  gas::autograd::Tape<float> copied;
  const auto g = gas::ops::spmm<gas::ops::aggr::Sum>(batch.adj, gas::models::gather_features(copied, features.view(),
                                                                                               std::span<const gas::node_id>(batch.n_id)));
  CHECK(g.value()(0, 0) == h.value()(0, 0));
  CHECK(g.value()(batch.batch_size - 1, 11) == h.value()(batch.batch_size - 1, 11));
}

TEST_CASE("docs/distributed: a sharded history on two ranks") {
  const gas::Dataset data = gas::io::load("sbm:nodes=800,classes=4,features=8,seed=4");
  const auto p = gas::partition::Metis{.num_parts = 8, .seed = 1}.partition(data.graph);
  const gas::Graph graph = gas::partition::permute(data.graph, p);
  std::atomic<std::int64_t> remote{0};
  // example-begin sharded-history
  const gas::dist::Ownership own(p.ptr, /*ranks=*/2);  // rank r: parts [4 r, 4 r + 4), a contiguous id range
  gas::dist::run_threads(2, [&](gas::dist::Communicator& comm) {  // or gas::dist::MpiComm under mpirun
    const int r = comm.rank();
    gas::dist::ShardedStore<gas::history::HostStore<float>> history(
        comm, own, gas::history::HostStore<float>(own.size(r), /*width=*/16));  // this rank's rows only
    gas::loader::TrainLoader loader(graph, p.ptr, {.batch_size = 2, .first_part = own.first_part(r),
                                                   .end_part = own.end_part(r)});
    loader.start_epoch(0);
    for (gas::loader::Batch batch; loader.next(batch);) {  // the same number of steps on every rank
      gas::Tensor<float> halo(batch.num_halo(), 16);
      history.pull(batch.halo(), halo.view());  // a collective: rows owned elsewhere cross ranks
    }
    remote += history.exchange_stats().remote_rows;
  });
  // example-end sharded-history
  CHECK(remote > 0);
}

TEST_CASE("docs/autograd: the reference layers compose into a model") {
  const gas::Dataset data = gas::io::load("sbm:nodes=200,classes=3,features=8,seed=4");
  const gas::Graph a_hat = gas::gcn_normalize(data.graph);
  gas::autograd::Tape<float> tape;
  // example-begin layers
  gas::Rng init(0);
  gas::nn::GCNConv<float> gcn(8, 16, init);  // glorot weight, zero bias, as PyG
  gas::nn::GATConv<float> gat({.in = 16, .out = 4, .heads = 2, .concat = true, .dropout = 0.6}, init);
  gas::nn::SAGEConv<float, gas::host, gas::ops::aggr::Max> sage(8, 3, init);  // the aggregation is a policy

  auto x = tape.constant(data.features.view());           // (200, 8)
  auto h = gas::ops::relu(gcn.forward(tape, x, a_hat));   // (200, 16)
  auto z = gat.forward(tape, h, a_hat, /*training=*/true, /*seed=*/7);  // (200, 8): 2 heads x 4
  auto s = sage.forward(tape, x, data.graph);             // (200, 3)
  // example-end layers
  CHECK(z.cols() == 8);
  CHECK(s.cols() == 3);
}

TEST_CASE("docs/histories: a GAS training epoch and layer-wise inference with a GCN") {
  gas::Dataset raw = gas::io::load("sbm:nodes=1000,classes=4,features=12,homophily=0.9,seed=2");
  // example-begin gas-epoch
  namespace part = gas::partition;
  const part::Partition p = part::Metis{.num_parts = 10, .seed = 1}.partition(raw.graph);
  raw.graph = gas::gcn_normalize(raw.graph);  // over the WHOLE graph, so every batch row is exact
  const gas::Dataset data = part::permute(raw, p);

  gas::models::GCN<float> model(data.num_nodes(), {.in = 12, .hidden = 32, .out = 4}, /*seed=*/1);
  gas::train::Adam<float> adam({{.params = model.reg_parameters(), .weight_decay = 5e-4},
                                {.params = model.nonreg_parameters(), .weight_decay = 0.0}},
                               {.lr = 0.01});
  gas::loader::TrainLoader loader(data.graph, p.ptr, {.batch_size = 2, .seed = 1});
  gas::loader::EvalLoader eval(data.graph, p.ptr, /*batch_size=*/2);
  model.fill_histories(data.features, eval);  // exact embeddings to start from

  std::vector<std::uint8_t> is_train(static_cast<std::size_t>(data.num_nodes()), 0);
  for (auto v : data.splits[0].train) is_train[static_cast<std::size_t>(v)] = 1;
  gas::autograd::Tape<float> tape;
  std::vector<std::int32_t> labels;  // batch-local targets
  std::vector<gas::node_id> rows;    // batch-local training rows
  for (std::int64_t epoch = 0; epoch < 30; ++epoch) {
    loader.start_epoch(epoch);
    for (gas::loader::Batch batch; loader.next(batch);) {
      labels.clear();
      rows.clear();
      for (gas::node_id i = 0; i < batch.batch_size; ++i) {
        const auto v = static_cast<std::size_t>(batch.n_id[static_cast<std::size_t>(i)]);
        labels.push_back(data.labels[v]);
        if (is_train[v]) rows.push_back(i);
      }
      if (rows.empty()) continue;
      tape.reset();
      // layer 0 on the batch, then push/pull through every hidden layer's history
      auto logits = model.forward(tape, data.features, batch, /*training=*/true, /*seed=*/epoch);
      auto loss = gas::ops::cross_entropy(logits, std::span<const std::int32_t>(labels), rows);
      adam.zero_grad();
      tape.backward(loss);
      adam.step();
    }
    // layer-wise exact inference refreshes every history, so staleness stays within one epoch
    const gas::Tensor<float> out = model.inference(data.features, eval);  // (nodes, classes)
  }
  // example-end gas-epoch
  const gas::Tensor<float> out = model.inference(data.features, eval);
  const double acc = gas::train::accuracy(out, std::span<const std::int32_t>(data.labels), data.splits[0].test);
  CHECK(acc > 0.8);
}

TEST_CASE("docs/histories: the Trainer") {
  // example-begin trainer
  const gas::Dataset data = gas::io::load("sbm:nodes=2000,classes=4,features=16,homophily=0.9,seed=3");
  using Model = gas::models::GCN<float>;
  Model model(data.num_nodes(), {.in = 16, .hidden = 32, .out = 4, .dropout = 0.5}, /*seed=*/1);
  gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 8, .seed = 1},
                                                     {.batch_size = 2, .epochs = 30, .lr = 0.01, .seed = 1});
  const gas::TrainResult result = trainer.fit(data);  // GCN-normalizes, partitions, fills the histories, trains
  std::printf("best val %.3f at epoch %d, test %.3f\n", result.best_val, result.best_epoch, result.test_at_best_val);
  // example-end trainer
  CHECK(result.test_at_best_val > 0.85);
}

TEST_CASE("docs/training: checkpoints, resume, early stopping and predictions from C++") {
  const gas_test::TempDir tmp;
  const std::filesystem::path ckpt = tmp / "run.ckpt", npy = tmp / "probs.npy";
  const gas::Dataset data = gas::io::load("sbm:nodes=1200,classes=4,features=16,homophily=0.9,seed=3");
  using Model = gas::models::GCN<float>;
  auto options = [&](std::int32_t epochs) {
    gas::TrainerOptions o;
    o.batch_size = 2, o.epochs = epochs, o.seed = 1;
    o.checkpoint = ckpt;
    return o;
  };
  {  // the first 10 epochs, checkpointed at the end
    Model model(data.num_nodes(), {.in = 16, .hidden = 32, .out = 4, .dropout = 0.5}, 1);
    gas::Trainer<Model, gas::partition::Metis>(model, {.num_parts = 8, .seed = 1}, options(10)).fit(data);
  }
  Model model(data.num_nodes(), {.in = 16, .hidden = 32, .out = 4, .dropout = 0.5}, 1);
  const auto opts = options(40);
  // example-begin trainer-session
  gas::TrainerOptions o = opts;   // batch_size, epochs (40 in all), seed, checkpoint = "run.ckpt", ...
  o.resume = o.checkpoint;        // continue the run that wrote it: bit for bit as if never stopped
  o.checkpoint_every = 5;         // and save again every 5 epochs, at the end and when stopped
  o.patience = 10;                // stop after 10 evaluations without a better validation metric
  static std::atomic<bool> stop{false};
  o.stop = &stop;                 // set it from a signal handler: the fit ends after the current step
  o.on_epoch = [](const gas::EpochRecord& e, const gas::TrainResult& so_far) {
    std::printf("epoch %d  loss %.4f  val %.3f  best %.3f\n", e.epoch + 1, e.loss, e.val, so_far.best_val);
  };
  gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 8, .seed = 1}, o);
  const gas::TrainResult result = trainer.fit(data);      // result.resumed_epochs == 10
  const gas::Prediction<float> p = trainer.predict();     // best model, every node, the dataset's order
  gas::io::write_npy<float>(npy, std::span<const float>(p.logits.data(), static_cast<std::size_t>(p.logits.size())),
                            {p.logits.rows(), p.logits.cols()});  // numpy.load reads it
  // example-end trainer-session
  CHECK(result.resumed_epochs == 10);
  CHECK(result.test_at_best_val > 0.85);
  CHECK(gas::io::read_npy(npy).shape() == std::vector<std::int64_t>{1200, 4});
  CHECK(p.embeddings.cols() == 32);
}
