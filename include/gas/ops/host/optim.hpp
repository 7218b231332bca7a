#pragma once
/// @brief Host parameter updates of the optimizers (gas/train/optimizer.hpp): `Impl<AdamUpdate, host>` and
/// `Impl<SgdUpdate, host>`, and the gradient clipping of gas/train/clip.hpp, `Impl<ClipGradNorm, host>`. They are not
/// recorded on a tape: an optimizer calls Impl<Update, Backend>::run once per parameter and step, on whichever backend
/// the parameter lives, and a train::GradClipper calls Impl<ClipGradNorm, Backend>::run once per step.

#include <cmath>
#include <cstdint>
#include <span>

#include "gas/autograd/parameter.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief The Adam moment update and parameter step shared by Adam (`l2`: decay added to the gradient) and AdamW
/// (`decoupled`: p *= 1 - decoupled first), in torch's operation order.
template <>
struct Impl<AdamUpdate, host> {
  template <class T>
  static void run(const AdamUpdate& a, Tensor<T, host>& param, const Tensor<T, host>& gradient, Tensor<T, host>& m1,
                  Tensor<T, host>& m2) {
    const std::span<T> p = param.values(), m = m1.values(), v = m2.values();
    const std::span<const T> grad = gradient.values();
    const double bias1 = 1 - std::pow(a.beta1, static_cast<double>(a.step));
    const double bias2_sqrt = std::sqrt(1 - std::pow(a.beta2, static_cast<double>(a.step)));
    const double step_size = a.lr / bias1;
    const auto n = static_cast<std::int64_t>(p.size());
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::int64_t i = 0; i < n; ++i) {
      if (a.decoupled != 0) p[i] = static_cast<T>(p[i] * (1 - a.decoupled));
      double g = grad[i];
      if (a.l2 != 0) g += a.l2 * static_cast<double>(p[i]);
      const double mi = static_cast<double>(m[i]) * a.beta1 + g * (1 - a.beta1);
      const double vi = static_cast<double>(v[i]) * a.beta2 + (1 - a.beta2) * g * g;
      m[i] = static_cast<T>(mi);
      v[i] = static_cast<T>(vi);
      const double denom = std::sqrt(static_cast<double>(v[i])) / bias2_sqrt + a.eps;
      p[i] = static_cast<T>(p[i] - step_size * static_cast<double>(m[i]) / denom);
    }
  }
};

/// @brief One SGD step; `momentum` is the parameter's momentum buffer (null when the momentum is 0).
template <>
struct Impl<SgdUpdate, host> {
  template <class T>
  static void run(const SgdUpdate& a, Tensor<T, host>& param, const Tensor<T, host>& gradient,
                  Tensor<T, host>* momentum) {
    auto value = param.values();
    const auto grad = gradient.values();
    const std::span<T> buf = a.momentum != 0 ? momentum->values() : std::span<T>();
    const double lr = a.lr, wd = a.weight_decay, mu = a.momentum, damp = a.dampening;
    const auto n = static_cast<std::int64_t>(value.size());
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::int64_t i = 0; i < n; ++i) {
      double d = grad[i];
      if (wd != 0) d += wd * static_cast<double>(value[i]);
      if (mu != 0) {
        buf[i] = static_cast<T>(a.first ? d : static_cast<double>(buf[i]) * mu + (1 - damp) * d);
        d = a.nesterov ? d + mu * static_cast<double>(buf[i]) : static_cast<double>(buf[i]);
      }
      value[i] = static_cast<T>(value[i] - lr * d);
    }
  }
};

/// @brief Gradient clipping on the host: the squares summed in double in one sequential pass, parameter by parameter
/// in order (so the result does not depend on threads); `Scratch` keeps the last norm.
template <>
struct Impl<ClipGradNorm, host> {
  /// @brief The norm of the last clip (0 before the first).
  struct Scratch {
    double norm = 0;
  };
  template <class T>
  static void run(const ClipGradNorm& a, std::span<autograd::Parameter<T, host>* const> params, Scratch& scratch) {
    double squares = 0;
    for (const auto* p : params)
      for (const T g : p->grad.values()) squares += static_cast<double>(g) * g;
    scratch.norm = std::sqrt(squares);
    const double factor = a.max_norm / (scratch.norm + 1e-6);
    if (factor < 1)
      for (auto* p : params)
        for (T& g : p->grad.values()) g = static_cast<T>(g * factor);
  }
  /// @brief The norm of the last clip.
  static double norm(const Scratch& scratch) { return scratch.norm; }
  /// @brief Where the norm of the last clip is kept.
  static const double* norm_data(const Scratch& scratch) { return &scratch.norm; }
};

}  // namespace gas::ops
