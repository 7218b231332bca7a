#pragma once
/// @brief `clip_grad_norm`: rescales gradients whose total L2 norm exceeds a bound (torch.nn.utils.clip_grad_norm_).

#include <cmath>
#include <span>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"

namespace gas::train {

/// @brief Scales every gradient by max_norm / (norm + 1e-6) when that factor is below 1, where norm is the L2
/// norm of all gradients together; returns the norm before clipping.
///
/// As in PyTorch 1.13 the factor decides, not norm > max_norm: a norm within 1e-6 below max_norm is scaled by a
/// factor just under 1. A non-finite norm is returned, not thrown, as PyTorch does by default. The sum of squares
/// is accumulated in double, parameter by parameter in order, so the result does not depend on threads.
template <class T, class Backend>
double clip_grad_norm(std::span<autograd::Parameter<T, Backend>* const> params, double max_norm) {
  GAS_CHECK(max_norm >= 0, value_error, "max_norm " << max_norm << " must be non-negative");
  double squares = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    GAS_CHECK(params[k] != nullptr, value_error, "parameter " << k << " is null");
    if constexpr (on_host<Backend>) {
      for (const T g : std::as_const(params[k]->grad).values()) squares += static_cast<double>(g) * g;
    } else {  // device gradients are summed on the host, in the same order: a copy out per parameter
      const Tensor<T, host> copy = params[k]->grad.to_host();  // named: a temporary in the range-for would dangle
      for (const T g : copy.values()) squares += static_cast<double>(g) * g;
    }
  }
  const double norm = std::sqrt(squares);
  const double factor = max_norm / (norm + 1e-6);
  if (factor < 1)
    for (auto* p : params) {
      if constexpr (on_host<Backend>) {
        for (T& g : p->grad.values()) g = static_cast<T>(g * factor);
      } else {
        auto g = p->grad.to_host();
        for (T& v : g.values()) v = static_cast<T>(v * factor);
        p->grad.copy_from(g);  // pageable: staged before the call returns, so `g` may die
      }
    }
  return norm;
}

/// @brief `clip_grad_norm` over a vector of parameters (template arguments cannot be deduced through a span).
template <class T, class Backend>
double clip_grad_norm(const std::vector<autograd::Parameter<T, Backend>*>& params, double max_norm) {
  return clip_grad_norm(std::span<autograd::Parameter<T, Backend>* const>(params), max_norm);
}

}  // namespace gas::train
