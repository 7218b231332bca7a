#pragma once
/// @brief Elementwise activations: relu, elu, leaky_relu, sigmoid, tanh, exp, log.
///
/// Each checks its arguments and records its op (attributes in gas/ops/attributes.hpp); the host implementations
/// are in gas/ops/host/activation.hpp, the device ones in gas/cuda/ops/activation.cuh.

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/activation.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief max(x, 0) elementwise; the gradient at 0 is 0, as in PyTorch.
template <class T, class Backend>
autograd::Var<T, Backend> relu(autograd::Var<T, Backend> x) {
  return record(Relu{}, x.rows(), x.cols(), {x});
}

/// @brief x > 0 ? x : alpha (e^x - 1) elementwise (GAT's default is alpha = 1); the gradient at 0 is alpha.
template <class T, class Backend>
autograd::Var<T, Backend> elu(autograd::Var<T, Backend> x, double alpha = 1.0) {
  return record(Elu{.alpha = alpha}, x.rows(), x.cols(), {x});
}

/// @brief x > 0 ? x : negative_slope x elementwise (GAT's attention uses 0.2); the gradient at 0 is the slope.
template <class T, class Backend>
autograd::Var<T, Backend> leaky_relu(autograd::Var<T, Backend> x, double negative_slope = 0.01) {
  return record(LeakyRelu{.negative_slope = negative_slope}, x.rows(), x.cols(), {x});
}

/// @brief 1 / (1 + e^-x) elementwise, without overflow for large |x|.
template <class T, class Backend>
autograd::Var<T, Backend> sigmoid(autograd::Var<T, Backend> x) {
  return record(Sigmoid{}, x.rows(), x.cols(), {x});
}

/// @brief Hyperbolic tangent elementwise.
template <class T, class Backend>
autograd::Var<T, Backend> tanh(autograd::Var<T, Backend> x) {
  return record(Tanh{}, x.rows(), x.cols(), {x});
}

/// @brief e^x elementwise.
template <class T, class Backend>
autograd::Var<T, Backend> exp(autograd::Var<T, Backend> x) {
  return record(Exp{}, x.rows(), x.cols(), {x});
}

/// @brief Natural logarithm elementwise. Throws value_error naming the first (row-major) element that is not
/// positive, before anything is recorded (on the device this check waits for the input: one scan and a download
/// of the position).
template <class T, class Backend>
autograd::Var<T, Backend> log(autograd::Var<T, Backend> x) {
  const auto in = x.value();
  const auto [first_bad, bad_value] = Impl<Log, Backend>::first_non_positive(x.tape(), in);
  if (first_bad >= 0) {
    const std::int64_t r = first_bad / in.cols(), c = first_bad % in.cols();
    GAS_FAIL(value_error, "log of a non-positive value: x(" << r << ", " << c << ") = " << bad_value << " in a ("
                                                            << in.rows() << " x " << in.cols() << ") input");
  }
  return record(Log{}, x.rows(), x.cols(), {x});
}

}  // namespace gas::ops
