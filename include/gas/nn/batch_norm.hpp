#pragma once
/// @brief `BatchNorm`: torch.nn.BatchNorm1d as a layer: affine parameters plus running statistics.

#include <cstdint>
#include <string>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/nn/module.hpp"
#include "gas/core/check.hpp"
#include "gas/nn/init.hpp"
#include "gas/ops/batch_norm.hpp"

namespace gas::nn {

/// @brief Per-channel batch normalization with learnable scale and shift (PyTorch names `weight`, `bias`).
template <class T, class Backend = host>
struct BatchNorm : Module<T, Backend> {
  autograd::Parameter<T, Backend> weight;       // "weight" (1, C), ones (gamma)
  autograd::Parameter<T, Backend> bias;         // "bias" (1, C), zeros (beta)
  ops::BatchNormState<T, Backend> state;  // running mean and variance, batches tracked
  double momentum = 0.1;
  double eps = 1e-5;

  /// @brief A layer over `channels` channels with PyTorch's initial values, registering `weight` and `bias`.
  /// Throws value_error for channels <= 0.
  explicit BatchNorm(std::int64_t channels, double momentum_ = 0.1, double eps_ = 1e-5)
      : momentum(momentum_), eps(eps_) {
    GAS_CHECK(channels > 0, value_error, "BatchNorm needs channels > 0, got " << channels);
    weight = make_parameter<T, Backend>("weight", 1, channels, T{1});
    bias = make_parameter<T, Backend>("bias", 1, channels, T{0});
    state = ops::make_batch_norm_state<T, Backend>(channels);
    this->register_parameter("weight", weight);
    this->register_parameter("bias", bias);
    this->register_buffer("running_mean", state.running_mean);  // torch's state-dict names
    this->register_buffer("running_var", state.running_var);
    this->register_buffer("num_batches_tracked", state.batches_tracked);
  }

  [[nodiscard]] std::int64_t channels() const { return weight.cols(); }

  /// @brief x (rows, C) -> (rows, C): batch statistics (and a running-statistics update) in training, the
  /// running statistics in evaluation. Errors are those of ops::batch_norm.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, bool training) {
    return ops::batch_norm(x, tape.param(weight), tape.param(bias), state, training, momentum, eps);
  }
};

}  // namespace gas::nn
