#pragma once
/// @brief `GINConv`: out = nn((1 + eps) x_i + sum_j x_j), as PyG's GINConv.

#include <concepts>
#include <cstdint>
#include <utility>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/init.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/mlp.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief What GINConv needs of its inner network: a forward with a training flag and a dropout seed, and
/// its parameters.
template <class Net, class T, class Backend>
concept Network = requires(Net net, ag::Tape<T, Backend>& tape, ag::Var<T, Backend> x) {
  { net.forward(tape, x, true, std::uint64_t{0}) } -> std::same_as<ag::Var<T, Backend>>;
  { net.parameters() } -> std::same_as<std::vector<ag::Parameter<T, Backend>*>>;
};

/// @brief Graph isomorphism convolution with an optional trainable eps.
/// @tparam Net the network applied after aggregation (`MLP` by default; anything satisfying `Network`).
template <class T, class Backend = host, Network<T, Backend> Net = MLP<T, Backend>>
struct GINConv {
  Net nn;                         // its parameters should be named "nn.*" to match PyG's state_dict
  ag::Parameter<T, Backend> eps;  // "eps" (1, 1); a constant unless train_eps
  bool train_eps = false;

  GINConv() = default;
  /// @brief Wraps `net`; eps starts at `initial_eps` (PyG's default 0) and is trained when `train_eps`.
  explicit GINConv(Net net, double initial_eps = 0.0, bool train_eps_ = false)
      : nn(std::move(net)),
        eps(make_parameter<T, Backend>("eps", 1, 1, static_cast<T>(initial_eps))),
        train_eps(train_eps_) {}

  /// @brief x (adj.cols(), F) with the targets as its first adj.rows() rows (GAS's [batch ; halo]) ->
  /// nn's output for adj.rows() rows. The neighbour sum is spmm<Sum>, which uses edge weights when the graph
  /// has them; PyG's GIN ignores weights, so pass an unweighted graph to match it. `adj` must outlive the
  /// backward pass. `training` and `seed` go to nn. Throws shape_error naming the shapes.
  ag::Var<T, Backend> forward(ag::Tape<T, Backend>& tape, ag::Var<T, Backend> x, const Graph& adj,
                              bool training = false, std::uint64_t seed = 0) {
    GAS_CHECK(x.rows() == adj.cols() && adj.rows() <= adj.cols(), shape_error,
              "GINConv got x (" << x.rows() << " x " << x.cols() << ") for adjacency (" << adj.rows() << " x "
                                << adj.cols() << "): x needs adj.cols() rows, the targets being its first adj.rows()");
    auto x_dst = x.rows() == adj.rows() ? x : ops::slice_rows(x, 0, adj.rows());
    return forward(tape, x, x_dst, adj, training, seed);
  }

  /// @brief Bipartite call with separate target features x_dst (adj.rows(), F).
  ag::Var<T, Backend> forward(ag::Tape<T, Backend>& tape, ag::Var<T, Backend> x_src, ag::Var<T, Backend> x_dst,
                              const Graph& adj, bool training = false, std::uint64_t seed = 0) {
    GAS_CHECK(x_src.rows() == adj.cols() && x_dst.rows() == adj.rows() && x_src.cols() == x_dst.cols(), shape_error,
              "GINConv got x_src (" << x_src.rows() << " x " << x_src.cols() << ") and x_dst (" << x_dst.rows() << " x "
                                    << x_dst.cols() << ") for adjacency (" << adj.rows() << " x " << adj.cols() << ")");
    auto agg = ops::spmm<aggr::Sum>(adj, x_src);  // (rows, F)
    ag::Var<T, Backend> root;
    if (train_eps) {  // (1 + eps) x_dst with a gradient for eps: x_dst + (ones eps) .* x_dst
      root = ops::add(x_dst, ops::mul_rows(x_dst, detail::broadcast_rows(tape.param(eps), adj.rows())));
    } else {
      root = ops::scale(x_dst, T{1} + eps.value(0, 0));
    }
    return nn.forward(tape, ops::add(agg, root), training, seed);
  }

  /// @brief The trainable parameters: nn's, then eps when it is trained.
  std::vector<ag::Parameter<T, Backend>*> parameters() {
    auto p = nn.parameters();
    if (train_eps) p.push_back(&eps);
    return p;
  }
};

}  // namespace gas::nn
