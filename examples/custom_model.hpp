// The model of examples/custom_model.cpp: GraphSAGE with max aggregation as a GAS model, written once for every
// backend and history store (the configuration bundle C = gas::models::Config<T, Backend, Store>), so the same
// class trains on the host (MaxSAGE<gas::models::Config<float>>) and on the GPU (MaxSAGE<gas::models::Config<float,
// gas::cuda::device>>, under nvcc). tests/examples/custom_model_test.cpp and tests/cuda/custom_model_test.cu train it.
#pragma once

#include <gas/gas.hpp>

// example-begin custom-model
/// GraphSAGE (max aggregation) with dropout and ReLU between layers: `layers - 1` histories of width `hidden`.
template <class C>
class MaxSAGE : public gas::models::ScalableGNN<MaxSAGE<C>, C> {
  using Base = gas::models::ScalableGNN<MaxSAGE<C>, C>;
  using var = typename C::var;

public:
  // SAGE aggregates raw neighbors: the Trainer must not GCN-normalize the graph.
  static constexpr gas::models::ModelTraits traits{.gcn_norm = false};

  MaxSAGE(std::int64_t nodes, gas::models::Widths w, double dropout, std::uint64_t seed)
      : Base(nodes, w), dropout_(dropout) {
    gas::Rng rng(seed);
    for (std::int32_t l = 0; l < w.layers; ++l)
      convs_.emplace_back(l == 0 ? w.in : w.hidden, l + 1 == w.layers ? w.out : w.hidden, rng);
    this->register_module("convs", convs_);
    convs_.back().set_decay(gas::nn::Decay::nonreg);  // as the reference's GCN: no weight decay on the last layer
  }

  // The dropout that follows the previous layer's push/pull opens this layer, so training and layer-wise
  // inference run the same code: (adj.cols(), in_l) batch + halo rows -> (adj.rows(), out_l).
  var forward_layer(var x, typename Base::context& ctx) {
    var h = convs_[ctx.layer()].forward(ctx.tape(), ctx.dropout(x, dropout_, 0), ctx.adj());
    return ctx.last() ? h : gas::ops::relu(h);
  }

private:
  double dropout_;
  gas::nn::ModuleList<gas::nn::SAGEConv<typename C::value_type, typename C::backend_type, gas::ops::aggr::Max>> convs_;
};
// example-end custom-model
