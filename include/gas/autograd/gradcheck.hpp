#pragma once
/// @brief Finite-difference gradient checks for ops, layers and user code built on the tape.
///
/// Everything to differentiate is a Parameter (wrap plain inputs in one). `check_gradients` rebuilds the
/// computation for every perturbed element, so `build` must be deterministic: seeded dropout draws the same
/// mask for the same seed, which is what makes layers with dropout checkable.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/autograd/tape.hpp"

namespace gas::autograd {

/// @brief Outcome of a gradient check.
struct GradCheck {
  double max_error = 0;  ///< max over elements of |analytic - numeric| / max(1, |analytic|, |numeric|)
  std::string worst;     ///< "param[i, j]: analytic a, numeric n" for the worst element
  bool ok = true;        ///< max_error <= tolerance
};

/// @brief Compares the tape's gradients of the scalar `build(tape)` with respect to every element of `params`
/// against central differences. `build` records the computation on the (already reset) tape and returns a
/// 1 x 1 Var.
template <class Build>
GradCheck check_gradients(Tape<double>& tape, Build&& build, const std::vector<Parameter<double>*>& params,
                          double eps = 1e-6, double tolerance = 1e-6) {
  auto evaluate = [&]() {
    tape.reset();
    Var<double> loss = build(tape);
    GAS_CHECK(loss.rows() == 1 && loss.cols() == 1, shape_error,
              "build must return a 1 x 1 loss, got (" << loss.rows() << " x " << loss.cols() << ")");
    return loss;
  };
  for (auto* p : params) p->zero_grad();
  tape.backward(evaluate());
  std::vector<Tensor<double>> analytic;
  for (auto* p : params) analytic.push_back(p->grad);

  GradCheck result;
  for (std::size_t k = 0; k < params.size(); ++k) {
    auto& p = *params[k];
    for (std::int64_t i = 0; i < p.rows(); ++i)
      for (std::int64_t j = 0; j < p.cols(); ++j) {
        const double saved = p.value(i, j);
        p.value(i, j) = saved + eps;
        const double plus = evaluate().value()(0, 0);
        p.value(i, j) = saved - eps;
        const double minus = evaluate().value()(0, 0);
        p.value(i, j) = saved;
        const double numeric = (plus - minus) / (2 * eps);
        const double a = analytic[k](i, j);
        const double error = std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)});
        if (error > result.max_error) {
          result.max_error = error;
          result.worst = (p.name.empty() ? "param " + std::to_string(k) : p.name) + "[" + std::to_string(i) + ", " +
                         std::to_string(j) + "]: analytic " + std::to_string(a) + ", numeric " +
                         std::to_string(numeric);
        }
      }
  }
  result.ok = result.max_error <= tolerance;
  return result;
}

}  // namespace gas::autograd
