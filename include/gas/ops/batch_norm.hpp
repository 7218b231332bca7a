#pragma once
/// @brief `batch_norm`: per-channel normalization of a (rows, channels) batch with running statistics, as
/// torch.nn.BatchNorm1d (host: gas/ops/host/batch_norm.hpp; device: gas/cuda/ops/batch_norm.cuh).

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/batch_norm.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief Running statistics of a batch norm layer: what evaluation normalizes with.
template <class T, class Backend = host>
struct BatchNormState {
  Tensor<T, Backend> running_mean;  // (1, channels)
  Tensor<T, Backend> running_var;   // (1, channels), unbiased estimates
  std::int64_t batches_tracked = 0;
};

/// @brief A fresh state for `channels` channels: running mean 0, running variance 1 (PyTorch's initial values).
/// A device state is filled on the default stream and waited for (initialization, not a step), so that a tape on
/// a non-blocking stream, which the default stream does not order, reads the filled values.
template <class T, class Backend = host>
BatchNormState<T, Backend> make_batch_norm_state(std::int64_t channels) {
  GAS_CHECK(channels >= 0, value_error, "negative channel count " << channels);
  if constexpr (on_host<Backend>) {
    return {Tensor<T, Backend>(1, channels, T{0}), Tensor<T, Backend>(1, channels, T{1}), 0};
  } else {  // a device tensor has no fill constructor
    BatchNormState<T, Backend> state{Tensor<T, Backend>(1, channels), Tensor<T, Backend>(1, channels), 0};
    state.running_mean.fill(T{0});
    state.running_var.fill(T{1});
    if (channels > 0) Exec<Backend>().synchronize();  // no channels: no CUDA call at all
    return state;
  }
}

/// @brief Batch normalization of x (rows, C) with per-channel scale `gamma` (1, C) and shift `beta` (1, C).
///
/// Training normalizes with the batch mean and biased variance and updates `state` with `momentum` using the
/// unbiased variance, exactly as torch.nn.BatchNorm1d (cumulative averaging, momentum=None, is not offered);
/// evaluation normalizes with the running statistics. The statistics used are copied into the node, so `state`
/// may change or die before the backward pass. On the device, `state` holds device tensors, updated on the tape's
/// stream. Throws shape_error for mismatched shapes and value_error for a training batch of fewer than two rows, a
/// momentum outside [0, 1] or a non-positive eps.
template <class T, class Backend>
autograd::Var<T, Backend> batch_norm(autograd::Var<T, Backend> x, autograd::Var<T, Backend> gamma, autograd::Var<T, Backend> beta,
                               BatchNormState<T, Backend>& state, bool training, double momentum = 0.1,
                               double eps = 1e-5) {
  const std::int64_t rows = x.rows(), cols = x.cols();
  GAS_CHECK(gamma.rows() == 1 && gamma.cols() == cols && beta.rows() == 1 && beta.cols() == cols, shape_error,
            "x is (" << rows << " x " << cols << "), gamma (" << gamma.rows() << " x " << gamma.cols() << "), beta ("
                     << beta.rows() << " x " << beta.cols() << "); gamma and beta must be (1 x " << cols << ")");
  GAS_CHECK(state.running_mean.rows() == 1 && state.running_mean.cols() == cols && state.running_var.rows() == 1 &&
                state.running_var.cols() == cols,
            shape_error,
            "x is (" << rows << " x " << cols << "), running mean (" << state.running_mean.rows() << " x "
                     << state.running_mean.cols() << "), running var (" << state.running_var.rows() << " x "
                     << state.running_var.cols() << "); the state must be (1 x " << cols << ")");
  GAS_CHECK(momentum >= 0 && momentum <= 1, value_error, "momentum " << momentum << " outside [0, 1]");
  GAS_CHECK(eps > 0, value_error, "eps " << eps << " must be positive");
  GAS_CHECK(!training || rows > 1, value_error,
            "training needs more than one row per channel to estimate a variance, got " << rows << " rows");

  return record(BatchNorm{.momentum = momentum, .eps = eps, .training = training}, rows, cols, {x, gamma, beta},
                state);
}

}  // namespace gas::ops
