#pragma once
/// @brief `Parameter`: a trainable tensor and its gradient, owned by a layer and read by the tape.

#include <string>
#include <utility>

#include "gas/core/tensor.hpp"

namespace gas::autograd {

/// @brief A trainable (rows, cols) tensor with its accumulated gradient.
///
/// Gradients accumulate across backward passes, as in PyTorch, until `zero_grad()`; optimizers read
/// `value` and `grad`. `decay` selects the weight-decay group an optimizer applies (the reference trains
/// with two groups).
template <class T, class Backend = host>
struct Parameter {
  std::string name;
  Tensor<T, Backend> value;  // (rows, cols)
  Tensor<T, Backend> grad;   // (rows, cols), same shape as value

  Parameter() = default;
  Parameter(std::string name_, Tensor<T, Backend> value_) : name(std::move(name_)), value(std::move(value_)) {
    zero_grad();
  }

  [[nodiscard]] std::int64_t rows() const { return value.rows(); }
  [[nodiscard]] std::int64_t cols() const { return value.cols(); }
  void zero_grad() {
    if (grad.rows() != value.rows() || grad.cols() != value.cols()) grad.resize(value.rows(), value.cols());
    grad.fill(T{0});
  }
};

}  // namespace gas::autograd
