// The code examples of README.md and docs/: each region between example-begin/example-end markers is
// copied verbatim into a document, and tools/check_snippets.py (test doc_snippets) keeps the two equal.
#include <doctest/doctest.h>

#include <gas/gas.hpp>

#include <cassert>

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
  gas::row_normalise(data.features);                  // each feature row sums to 1
  gas::Graph a_hat = gas::gcn_normalise(data.graph);  // D^-1/2 (A + I) D^-1/2 as edge weights
  // example-end preprocess
  CHECK(a_hat.has_weights());
  CHECK(a_hat.num_edges() == data.num_edges() + data.num_nodes());
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
