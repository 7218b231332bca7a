// The code example of docs/training.md's "Splits and metrics": the region between example-begin/example-end is
// copied verbatim into the document, and tools/check_snippets.py (test doc_snippets) keeps the two equal.
#include <doctest/doctest.h>

#include <gas/gas.hpp>

#include <cstdint>
#include <vector>

namespace {

// example-begin split-protocol
// The reference's Coauthor / Amazon protocol: run r trains on per-class random split r (20 training and 30
// validation nodes of every class, the rest test), and the runs report the mean of the test metric.
std::vector<double> run_protocol(gas::Dataset& data, std::int32_t runs, std::int32_t epochs) {
  data.splits = gas::make_splits(data, gas::parse_split_protocol("per-class:train=20,val=30"), runs);
  using Model = gas::models::GCN<float>;
  std::vector<double> tests;
  for (std::int32_t r = 0; r < runs; ++r) {
    Model model(data.num_nodes(), {.in = data.num_features(), .hidden = 64, .out = data.num_classes}, r);
    gas::Trainer<Model, gas::partition::Metis> trainer(
        model, {.num_parts = 8}, {.batch_size = 4, .epochs = epochs, .seed = static_cast<std::uint64_t>(r), .split = r});
    tests.push_back(trainer.fit(data).test_at_best_val);  // accuracy here: the dataset's published metric
  }
  return tests;
}
// example-end split-protocol

}  // namespace

TEST_CASE("docs/training: runs over generated per-class splits") {
  auto data = gas::gen::sbm({.nodes = 1200, .classes = 4, .features = 16, .degree = 8, .homophily = 0.9, .seed = 4});
  const auto tests = run_protocol(data, 3, 30);
  REQUIRE(tests.size() == 3);
  for (double t : tests) CHECK(t > 0.8);
  CHECK(data.splits.size() == 3);
  CHECK(data.splits[0].train.size() == 80);  // 20 of each of the 4 classes
  CHECK(data.splits[0].train != data.splits[1].train);
}
