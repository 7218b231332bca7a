// Two layers written as PyG users write them, on nn::MessagePassing: GraphSAGE (the default message, mean
// aggregation) and GIN with edge weights (a message of its own). docs/autograd.md shows them;
// tests/nn/message_passing_test.cpp checks them against the bundled SAGEConv and GINConv and by gradient checks,
// tests/cuda/models_tape_matches_host.cu on the device.
#pragma once

#include <gas/gas.hpp>

namespace mp_example {

// example-begin message-passing
/// GraphSAGE: out = lin_l(mean_j x_j) + lin_r(x_i). No message() of its own: x_j, fused into one spmm.
template <class T, class Backend = gas::host>
struct SAGE : gas::nn::MessagePassing<SAGE<T, Backend>, T, Backend, gas::ops::aggr::Mean> {
  gas::nn::Linear<T, Backend> lin_l, lin_r;

  SAGE(std::int64_t in, std::int64_t out, gas::Rng& rng) : lin_l(in, out, rng), lin_r(in, out, rng, {.bias = false}) {
    this->register_module("lin_l", lin_l);
    this->register_module("lin_r", lin_r);
  }
  gas::autograd::Var<T, Backend> forward(gas::autograd::Tape<T, Backend>& tape, gas::autograd::Var<T, Backend> x,
                                   const gas::GraphOf<Backend>& adj) {
    auto x_i = gas::ops::slice_rows(x, 0, adj.rows());  // GAS: the targets are x's first rows
    return gas::ops::add(lin_l.forward(tape, this->propagate(tape, adj, x)), lin_r.forward(tape, x_i));
  }
};

/// GIN with edge weights: out = nn((1 + eps) x_i + sum_j w_ij x_j).
template <class T, class Backend = gas::host>
struct WeightedGIN : gas::nn::MessagePassing<WeightedGIN<T, Backend>, T, Backend, gas::ops::aggr::Sum> {
  gas::nn::MLP<T, Backend> nn;
  double eps;

  WeightedGIN(const gas::nn::MLPOptions& mlp, double eps_, gas::Rng& rng) : nn(mlp, rng), eps(eps_) {
    this->register_module("nn", nn);
  }
  gas::autograd::Var<T, Backend> message(gas::nn::Edges<T, Backend>& e) {
    return gas::ops::mul_rows(e.x_j(), e.weight());  // (E, F): w_ij x_j
  }
  gas::autograd::Var<T, Backend> update(gas::autograd::Var<T, Backend> aggregated, gas::autograd::Var<T, Backend> x_i) {
    return gas::ops::add_scaled(aggregated, T{1}, x_i, static_cast<T>(1 + eps));
  }
  gas::autograd::Var<T, Backend> forward(gas::autograd::Tape<T, Backend>& tape, gas::autograd::Var<T, Backend> x,
                                   const gas::GraphOf<Backend>& adj, bool training = false, std::uint64_t seed = 0) {
    return nn.forward(tape, this->propagate(tape, adj, x), training, seed);
  }
};
static_assert(WeightedGIN<float>::defines_message && WeightedGIN<float>::defines_update);
// example-end message-passing

}  // namespace mp_example
