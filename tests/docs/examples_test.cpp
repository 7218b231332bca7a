// The code examples of README.md and docs/: each region between example-begin/example-end markers is
// copied verbatim into a document, and tools/check_snippets.py (test doc_snippets) keeps the two equal.
#include <doctest/doctest.h>

#include <gas/gas.hpp>

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
