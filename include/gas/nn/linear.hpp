#pragma once
/// @brief `Linear`: y = x W^T + b, as torch.nn.Linear (and PyG's Linear, whose initializers it can take).
///
/// Layers are modules (nn/module.hpp): they hold their parameters by value and register them, so a layer never
/// moves; models build their layers in place.
///
/// A reparametrizing regularizer policy (`reg::SpectralNorm`) replaces the weight by what its
/// `transform_weight` returns in every forward; the default `reg::None` records nothing extra.

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/nn/init.hpp"
#include "gas/nn/module.hpp"
#include "gas/nn/regularizer.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/matmul.hpp"

namespace gas::nn {

namespace detail {

/// @brief A (rows, 1) constant whose row i is f(i): per-row factors (degree scalers, masks) as a tape value,
/// so that the backward pass reads the tape's copy and no buffer of the layer has to outlive it.
template <class T, class Backend, class F>
autograd::Var<T, Backend> row_constant(autograd::Tape<T, Backend>& tape, std::int64_t rows, F&& f) {
  auto [id, node] = tape.push("row_constant", rows, 1);
  if constexpr (!on_host<Backend>) {  // computed in the node's host staging tensor, then copied over
    node.host_stage.resize(rows, 1);
    for (std::int64_t i = 0; i < rows; ++i) node.host_stage(i, 0) = static_cast<T>(f(i));
    tape.exec().upload(MatrixView<const T>(node.host_stage.view()), node.value);
  } else {
    for (std::int64_t i = 0; i < rows; ++i) node.value(i, 0) = static_cast<T>(f(i));
  }
  return {&tape, id};
}

/// @brief The (rows, k) value whose every row is the (1, k) value v, differentiable in v (a trainable scalar
/// such as GIN's eps spread over the rows): ones(rows, 1) v.
template <class T, class Backend>
autograd::Var<T, Backend> broadcast_rows(autograd::Var<T, Backend> v, std::int64_t rows) {
  GAS_CHECK(v.rows() == 1, shape_error,
            "broadcast needs a (1 x k) value, got (" << v.rows() << " x " << v.cols() << ")");
  return ops::matmul(row_constant(v.tape(), rows, [](std::int64_t) { return 1.0; }), v);
}

}  // namespace detail

/// @brief How a `Linear` is built: bias or none, and the initializers (torch.nn.Linear's by default).
struct LinearOptions {
  bool bias = true;
  WeightInit weight_init = WeightInit::kaiming_uniform;
  BiasInit bias_init = BiasInit::uniform;
};

/// @brief Affine map y = x W^T + b with W (out, in) and b (1, out), PyTorch's layout and names.
/// @tparam Reg a regularizer policy applied to the weight (`reg::None`, `reg::SpectralNorm`); penalizing
/// policies belong to the layer that owns the regularized function (GINConv), not here.
template <class T, class Backend = host, reg::Regularizer<T, Backend> Reg = reg::None>
struct Linear : Module<T, Backend> {
  static_assert(!Reg::penalizes, "Linear takes weight reparametrizations (reg::SpectralNorm); give a penalty "
                                 "policy to the layer whose function it regularizes (GINConv<T, B, Net, Reg>)");

  autograd::Parameter<T, Backend> weight;  // (out, in)
  autograd::Parameter<T, Backend> bias;    // (1, out); (0, 0) without a bias
  [[no_unique_address]] Reg regularizer{};  // with its state (SpectralNorm's u, v): one per layer

  /// @brief A layer from `in` to `out` features initialized from `rng`, registering `weight` and `bias`; `reg`
  /// is the weight's policy. Throws value_error for non-positive sizes.
  Linear(std::int64_t in, std::int64_t out, Rng& rng, LinearOptions options = {}, Reg reg = {})
      : regularizer(std::move(reg)) {
    GAS_CHECK(in > 0 && out > 0, value_error, "Linear needs positive sizes, got in " << in << ", out " << out);
    weight = make_parameter<T, Backend>("weight", out, in);
    switch (options.weight_init) {
      case WeightInit::kaiming_uniform: kaiming_uniform_(weight.value, in, std::sqrt(5.0), rng); break;
      case WeightInit::glorot: glorot_(weight.value, rng); break;
      case WeightInit::zeros: break;
    }
    if (options.bias) {
      bias = make_parameter<T, Backend>("bias", 1, out);
      if (options.bias_init == BiasInit::uniform) uniform_(bias.value, 1.0 / std::sqrt(static_cast<double>(in)), rng);
    }
    this->register_parameter("weight", weight);
    if (options.bias) this->register_parameter("bias", bias);
    // A stateful policy's estimates (SpectralNorm's u and v) are buffers: a resumed run continues from them.
    if constexpr (requires { regularizer.u; regularizer.v; }) {
      this->register_buffer("weight_u", regularizer.u);
      this->register_buffer("weight_v", regularizer.v);
    }
  }

  [[nodiscard]] std::int64_t in_features() const { return weight.cols(); }
  [[nodiscard]] std::int64_t out_features() const { return weight.rows(); }
  [[nodiscard]] bool has_bias() const { return bias.value.size() > 0; }

  /// @brief x (rows, in) -> (rows, out). `training` goes to the policy (SpectralNorm updates its estimate only
  /// in training). Throws shape_error naming both shapes when x has the wrong width.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, bool training = false) {
    GAS_CHECK(x.cols() == in_features(), shape_error,
              "Linear " << weight.name << " (" << in_features() << " -> " << out_features() << ") got x (" << x.rows()
                        << " x " << x.cols() << ")");
    auto w = regularizer.transform_weight(tape, tape.param(weight), training);  // (out, in)
    auto y = ops::matmul(x, w, false, true);                                    // (rows, out)
    return has_bias() ? ops::bias_add(y, tape.param(bias)) : y;
  }
};

}  // namespace gas::nn
