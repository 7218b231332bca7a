#pragma once
/// @brief `GINConv`: out = nn((1 + eps) x_i + sum_j x_j), as PyG's GINConv, with an optional Lipschitz penalty
/// on nn.
///
/// The penalty protocol: `forward` records nn's input h and output nn(h) on the tape; `regularization(tape,
/// training, seed)`, called after that forward and before the tape's next reset, returns the policy's penalty
/// of nn at h (for reg::NoisePerturbation: mean_v |nn(h)_v - nn(h + sigma N(0, I))_v|, reusing the recorded
/// nn(h)), or nothing in evaluation or under reg::None. A model adds the penalties to its loss. The reference's
/// GIN, with L layers of which the first L-1 are hidden (each with a history), takes the hidden layers but the
/// first and adds each penalty divided by L-1, with weight 1:
///
///     auto loss = ops::cross_entropy(logits, labels, rows);
///     const double share = 1.0 / static_cast<double>(hidden.size());  // hidden.size() == L - 1
///     for (std::size_t i = 1; i < hidden.size(); ++i)
///       if (auto r = hidden[i].regularization(tape, training, counter_hash(seed, step, i)))
///         loss = ops::add_scaled(loss, 1.0, *r, share);
///
/// A weight reparametrization (reg::SpectralNorm) goes on the network instead: GINConv<T, B, MLP<T, B,
/// reg::SpectralNorm>>.

#include <concepts>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/init.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/mlp.hpp"
#include "gas/nn/module.hpp"
#include "gas/nn/regularizer.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief What GINConv needs of its inner network: a module (its parameters registered) with a forward taking
/// a training flag and a dropout seed.
template <class Net, class T, class Backend>
concept Network = std::derived_from<Net, Module<T, Backend>> &&
                  requires(Net& net, autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x) {
                    { net.forward(tape, x, true, std::uint64_t{0}) } -> std::same_as<autograd::Var<T, Backend>>;
                  };

/// @brief GINConv's own switches (PyG's names).
struct GINConvOptions {
  double eps = 0.0;        ///< initial eps (PyG's default 0)
  bool train_eps = false;  ///< train eps, or keep it constant
};

/// @brief Graph isomorphism convolution with an optional trainable eps and an optional penalty on its network.
/// @tparam Net the network applied after aggregation (`MLP` by default; anything satisfying `Network`).
/// @tparam Reg a penalizing regularizer policy (`reg::NoisePerturbation`) for `regularization`, or `reg::None`.
template <class T, class Backend = host, Network<T, Backend> Net = MLP<T, Backend>,
          reg::Regularizer<T, Backend> Reg = reg::None>
struct GINConv : Module<T, Backend> {
  static_assert(!Reg::reparametrizes, "GINConv has no weight of its own to reparametrize: give the policy to its "
                                      "network instead, GINConv<T, B, MLP<T, B, reg::SpectralNorm>>");

  Net nn;                         // registered as "nn", as PyG's state_dict
  autograd::Parameter<T, Backend> eps;  // "eps" (1, 1); a constant unless train_eps
  bool train_eps = false;
  [[no_unique_address]] Reg regularizer{};

  /// @brief Builds the network in place from `net_args` (Net(net_args...)); eps starts at `options.eps` and is
  /// trained (registered as a parameter) when `options.train_eps`.
  template <class... NetArgs>
    requires std::constructible_from<Net, NetArgs...>
  explicit GINConv(GINConvOptions options, NetArgs&&... net_args)
      : GINConv(options, Reg{}, std::forward<NetArgs>(net_args)...) {}

  /// @brief As above with the penalty policy `reg`.
  template <class... NetArgs>
    requires std::constructible_from<Net, NetArgs...>
  GINConv(GINConvOptions options, Reg reg, NetArgs&&... net_args)
      : nn(std::forward<NetArgs>(net_args)...),
        eps(make_parameter<T, Backend>("eps", 1, 1, static_cast<T>(options.eps))),
        train_eps(options.train_eps),
        regularizer(std::move(reg)) {
    this->register_module("nn", nn);
    if (train_eps) this->register_parameter("eps", eps);
  }

  /// @brief x (adj.cols(), F) with the targets as its first adj.rows() rows (GAS's [batch ; halo]) ->
  /// nn's output for adj.rows() rows. The neighbor sum is spmm<Sum>, which uses edge weights when the graph
  /// has them; PyG's GIN ignores weights, so pass an unweighted graph to match it. `adj` must outlive the
  /// backward pass. `training` and `seed` go to nn. Throws shape_error naming the shapes.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, const GraphOf<Backend>& adj,
                              bool training = false, std::uint64_t seed = 0) {
    GAS_CHECK(x.rows() == adj.cols() && adj.rows() <= adj.cols(), shape_error,
              "GINConv got x (" << x.rows() << " x " << x.cols() << ") for adjacency (" << adj.rows() << " x "
                                << adj.cols() << "): x needs adj.cols() rows, the targets being its first adj.rows()");
    auto x_dst = x.rows() == adj.rows() ? x : ops::slice_rows(x, 0, adj.rows());
    return forward(tape, x, x_dst, adj, training, seed);
  }

  /// @brief Bipartite call with separate target features x_dst (adj.rows(), F).
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x_src, autograd::Var<T, Backend> x_dst,
                              const GraphOf<Backend>& adj, bool training = false, std::uint64_t seed = 0) {
    GAS_CHECK(x_src.rows() == adj.cols() && x_dst.rows() == adj.rows() && x_src.cols() == x_dst.cols(), shape_error,
              "GINConv got x_src (" << x_src.rows() << " x " << x_src.cols() << ") and x_dst (" << x_dst.rows() << " x "
                                    << x_dst.cols() << ") for adjacency (" << adj.rows() << " x " << adj.cols() << ")");
    auto agg = ops::spmm<ops::aggr::Sum>(adj, x_src);  // (rows, F)
    autograd::Var<T, Backend> root;
    if (train_eps) {  // (1 + eps) x_dst with a gradient for eps: x_dst + (ones eps) .* x_dst
      root = ops::add(x_dst, ops::mul_rows(x_dst, detail::broadcast_rows(tape.param(eps), adj.rows())));
    } else {
      T e{};
      if constexpr (on_host<Backend>) e = eps.value(0, 0);
      else e = tape.to_host(eps.value.view())(0, 0);  // a fixed eps: one scalar read per forward
      root = ops::scale(x_dst, T{1} + e);
    }
    auto h = ops::add(agg, root);  // (rows, F)
    auto out = nn.forward(tape, h, training, seed);
    if constexpr (Reg::penalizes) {
      recorded_ = Recorded{&tape, h, out, h.rows(), h.cols(), out.cols(), seed};
    }
    return out;
  }

  /// @brief The penalty of nn at the input it saw in the last forward on `tape` (see the file comment), drawn
  /// from `seed`; nn runs again with `training` and the forward's dropout seed. Nothing under reg::None or when
  /// the policy has none (evaluation). Throws value_error when no forward was recorded on this tape since its
  /// last reset.
  std::optional<autograd::Var<T, Backend>> regularization(autograd::Tape<T, Backend>& tape, bool training, std::uint64_t seed) {
    if constexpr (!Reg::penalizes) {
      return std::nullopt;
    } else {
      // Vars carry no generation, so a forward recorded before the tape's last reset cannot be told apart with
      // certainty; the tape, the ids and the shapes are what can be checked.
      const auto& r = recorded_;
      GAS_CHECK(r.tape == &tape && r.output.id() < tape.size() && r.input.rows() == r.rows &&
                    r.input.cols() == r.input_cols && r.output.rows() == r.rows && r.output.cols() == r.output_cols,
                value_error,
                "GINConv::regularization needs this layer's forward on the same tape since its last reset");
      auto f = [&](autograd::Var<T, Backend> x) { return nn.forward(tape, x, training, recorded_.seed); };
      return regularizer.penalty(tape, f, recorded_.input, seed, training, recorded_.output);
    }
  }

private:
  struct Recorded {  // what `regularization` needs of the last forward
    autograd::Tape<T, Backend>* tape = nullptr;
    autograd::Var<T, Backend> input{}, output{};  // nn's input h (rows, F) and nn(h) (rows, out)
    std::int64_t rows = 0, input_cols = 0, output_cols = 0;
    std::uint64_t seed = 0;  // the forward's dropout seed
  };
  Recorded recorded_{};
};

}  // namespace gas::nn
