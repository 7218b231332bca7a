#pragma once
/// @brief Ops with a differentiable (1, 1) operand: div_by_scalar (a weight over its spectral norm).
///
/// Unlike `scale`, whose factor is a constant, the scalar here is a tape value and receives a gradient, which
/// is what spectral normalization needs: W / sigma(W) with sigma itself a function of W.

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/scalar.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief x / s elementwise for a differentiable (1, 1) value s; both receive gradients. Throws shape_error
/// naming the shapes when s is not (1, 1), and value_error when s is 0 (an all-zero weight under spectral
/// normalization), where the quotient and its gradient are undefined. On the device that check downloads s (one
/// element, waiting for the stream); the kernels then read s on the device.
template <class T, class Backend>
autograd::Var<T, Backend> div_by_scalar(autograd::Var<T, Backend> x, autograd::Var<T, Backend> s) {
  GAS_CHECK(s.rows() == 1 && s.cols() == 1, shape_error,
            "div_by_scalar needs a (1 x 1) divisor, got (" << s.rows() << " x " << s.cols() << ") for x (" << x.rows()
                                                           << " x " << x.cols() << ")");
  T divisor{};
  s.tape().exec().download(s.value(), MatrixView<T>(&divisor, 1, 1));
  GAS_CHECK(divisor != T{0}, value_error, "div_by_scalar: division by zero (op '" << s.node().op << "')");
  return record(DivByScalar{}, x.rows(), x.cols(), {x, s});
}

}  // namespace gas::ops
