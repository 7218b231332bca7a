#pragma once
/// @brief Device optimiser updates for train/optimizer.hpp (Adam, AdamW, SGD on device parameters).

#include <cmath>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/kernels/optim.cuh"
#include "gas/cuda/tensor.hpp"

namespace gas::cuda::tape_ops {

/// @brief Parameter updates on the device; each runs on the parameter's stream.
struct OptimOps {
  /// @brief One Adam (l2 != 0: decay added to the gradient) or AdamW (decoupled != 0) update of `p`, at step `step`.
  template <class T>
  static void adam_update(Tensor<T, device>& p, const Tensor<T, device>& grad, Tensor<T, device>& m,
                          Tensor<T, device>& v, double lr, double l2, double decoupled, double beta1, double beta2,
                          double eps, std::int64_t step) {
    AdamStep s;
    s.lr = lr;
    s.l2 = l2;
    s.decoupled = decoupled;
    s.beta1 = beta1;
    s.beta2 = beta2;
    s.eps = eps;
    s.bias1 = 1 - std::pow(beta1, static_cast<double>(step));
    s.bias2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
    cuda::adam_update(p.data(), grad.data(), m.data(), v.data(), p.size(), s, p.stream());
  }

  /// @brief One SGD update of `p`; `buf` is the momentum buffer (unused when momentum is 0).
  template <class T>
  static void sgd_update(Tensor<T, device>& p, const Tensor<T, device>& grad, Tensor<T, device>* buf, double lr,
                         double weight_decay, double momentum, double dampening, bool nesterov, bool first) {
    SgdStep s;
    s.lr = lr;
    s.weight_decay = weight_decay;
    s.momentum = momentum;
    s.dampening = dampening;
    s.nesterov = nesterov;
    s.first = first;
    cuda::sgd_update(p.data(), grad.data(), buf != nullptr ? buf->data() : nullptr, p.size(), s, p.stream());
  }
};

}  // namespace gas::cuda::tape_ops
