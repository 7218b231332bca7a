#pragma once
// Shared pieces of the tests of models that take the raw graph (GIN, PNA, PNA_JK): an SBM problem on its
// unnormalized, loop-free graph, and the check that GAS forwards on exact histories give the full forward rows
// while backward leaves the histories alone.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <gas/autograd/tape.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/loader/batch.hpp>
#include <gas/loader/eval_loader.hpp>
#include <gas/loader/train_loader.hpp>
#include <gas/ops/loss.hpp>
#include <gas/partition/metis.hpp>
#include <gas/partition/permute.hpp>

#include "models/model_test_util.hpp"

namespace model_test {

/// An SBM dataset on its raw graph (no self-loops, no normalization: how the reference runs GIN and PNA),
/// permuted by a METIS partition.
inline Problem make_raw_problem(std::int64_t nodes, std::int32_t parts, double homophily = 0.8,
                                std::uint64_t seed = 1) {
  auto d = gas::gen::sbm({.nodes = nodes, .classes = 4, .features = 12, .degree = 8, .homophily = homophily,
                          .noise = 1.0, .seed = seed});
  const auto p = gas::partition::Metis{.num_parts = parts, .seed = seed}.partition(d.graph);
  Problem out{gas::partition::permute(d, p), p.ptr, {}};
  out.train.assign(static_cast<std::size_t>(nodes), 0);
  for (auto v : out.data.splits[0].train) out.train[static_cast<std::size_t>(v)] = 1;
  return out;
}

/// For every batch of one epoch (3 parts per batch): with exact histories (fill_histories), a GAS forward in
/// evaluation mode gives the full forward rows of its nodes; then a GAS training step's backward leaves the
/// histories exactly as its forward wrote them. Expects 10 parts.
template <class Model>
void check_gas_batches(Model& model, const Problem& p) {
  const gas::loader::EvalLoader eval(p.data.graph, p.ptr, 3);
  gas::loader::TrainLoader loader(p.data.graph, p.ptr, {.batch_size = 3, .seed = 9, .background = false});
  gas::autograd::Tape<float> tape;
  BatchTargets targets;
  int batches = 0;
  loader.start_epoch(0);
  for (gas::loader::Batch b; loader.next(b);) {
    ++batches;
    REQUIRE(b.num_halo() > 0);
    // Exact histories and the full pass for the current running statistics (the training step below moves them).
    const auto full = full_eval<float>(model, p);
    model.fill_histories(p.data.features, eval);
    {
      tape.reset();
      const gas::autograd::NoGrad<float, gas::host> no_grad(tape);
      auto y = model.forward(tape, p.data.features, b, false, 0);  // (batch_size, out)
      double worst = 0;
      for (gas::node_id i = 0; i < b.batch_size; ++i)
        for (std::int64_t j = 0; j < y.cols(); ++j) {
          const double a = y.value()(i, j), e = full(b.n_id[static_cast<std::size_t>(i)], j);
          worst = std::max(worst, std::abs(a - e) / std::max(1.0, std::abs(e)));
        }
      CHECK(worst < 1e-5);
    }
    tape.reset();
    targets.build(p, b);
    auto y = model.forward(tape, p.data.features, b, true, 21);
    auto loss = gas::ops::cross_entropy(y, targets.labels, targets.rows);
    std::vector<gas::Tensor<float>> before;
    for (const auto& h : model.histories()) before.emplace_back(h.table());
    tape.backward(loss);
    for (std::size_t l = 0; l < before.size(); ++l)
      CHECK(same_bits<float>(before[l].view(), model.histories()[l].table()));
  }
  CHECK(batches == 4);
}

}  // namespace model_test
