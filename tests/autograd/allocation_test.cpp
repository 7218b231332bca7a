// The steady state of a training step allocates nothing: the tape reuses its nodes and their buffers and the
// optimizer owns its state. Counted with a replaced global operator new, only around the third step.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <gas/gas.hpp>

#include "alloc_counter.hpp"

using gas_test::allocations;
using gas_test::counting;

TEST_CASE("a GCN training step allocates nothing once the tape is warm" *
          doctest::skip(!gas_test::counts_allocations)) {
  const gas::Dataset data = gas::io::load("sbm:nodes=500,classes=4,features=16,seed=3");
  const gas::Graph a_hat = gas::gcn_normalize(data.graph);
  gas::Rng init(1);
  gas::nn::GCNConv<float> conv1(16, 32, init), conv2(32, 4, init);
  std::vector<gas::autograd::Parameter<float>*> params;
  for (auto* p : conv1.parameters()) params.push_back(p);
  for (auto* p : conv2.parameters()) params.push_back(p);
  gas::train::Adam<float> adam(params, {.lr = 0.01});
  const auto& rows = data.splits.front().train;
  gas::autograd::Tape<float> tape;

  auto step = [&](std::uint64_t seed) {
    tape.reset();
    auto x = gas::ops::dropout(tape.constant(data.features.view()), 0.5, seed, true);
    auto h = gas::ops::relu(conv1.forward(tape, x, a_hat));
    h = gas::ops::dropout(h, 0.5, seed + 1, true);
    auto logits = conv2.forward(tape, h, a_hat);
    auto loss = gas::ops::cross_entropy(logits, std::span<const std::int32_t>(data.labels), rows);
    adam.zero_grad();
    tape.backward(loss);
    gas::train::clip_grad_norm(params, 1.0);
    adam.step();
    return loss.value()(0, 0);
  };
  step(1);
  step(2);
  allocations = 0;
  counting = true;
  const float loss = step(3);
  counting = false;
  CHECK(allocations.load() == 0);
  CHECK(loss > 0);
}
