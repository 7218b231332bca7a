#pragma once
/// @brief `BatchNorm`: torch.nn.BatchNorm1d as a layer: affine parameters plus running statistics.

#include <cstdint>
#include <string>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/nn/init.hpp"
#include "gas/ops/batch_norm.hpp"

namespace gas::nn {

/// @brief Per-channel batch normalisation with learnable scale and shift (PyTorch names `weight`, `bias`).
template <class T, class Backend = host>
struct BatchNorm {
  ag::Parameter<T, Backend> weight;       // "weight" (1, C), ones (gamma)
  ag::Parameter<T, Backend> bias;         // "bias" (1, C), zeros (beta)
  ops::BatchNormState<T, Backend> state;  // running mean and variance, batches tracked
  double momentum = 0.1;
  double eps = 1e-5;

  BatchNorm() = default;
  /// @brief A layer over `channels` channels with PyTorch's initial values; parameters are named
  /// `<name>.weight` and `<name>.bias`. Throws value_error for channels <= 0.
  explicit BatchNorm(std::int64_t channels, double momentum_ = 0.1, double eps_ = 1e-5, const std::string& name = "")
      : momentum(momentum_), eps(eps_) {
    GAS_CHECK(channels > 0, value_error, "BatchNorm needs channels > 0, got " << channels);
    weight = make_parameter<T, Backend>(qualified_name(name, "weight"), 1, channels, T{1});
    bias = make_parameter<T, Backend>(qualified_name(name, "bias"), 1, channels, T{0});
    state = ops::make_batch_norm_state<T, Backend>(channels);
  }

  [[nodiscard]] std::int64_t channels() const { return weight.cols(); }

  /// @brief x (rows, C) -> (rows, C): batch statistics (and a running-statistics update) in training, the
  /// running statistics in evaluation. Errors are those of ops::batch_norm.
  ag::Var<T, Backend> forward(ag::Tape<T, Backend>& tape, ag::Var<T, Backend> x, bool training) {
    return ops::batch_norm(x, tape.param(weight), tape.param(bias), state, training, momentum, eps);
  }

  /// @brief The trainable parameters: weight, bias (the running statistics are state, not parameters).
  std::vector<ag::Parameter<T, Backend>*> parameters() { return {&weight, &bias}; }
};

}  // namespace gas::nn
