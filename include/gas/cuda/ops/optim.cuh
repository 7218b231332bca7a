#pragma once
/// @brief Device parameter updates of the optimizers (gas/train/optimizer.hpp): `Impl<AdamUpdate, cuda::device>` and
/// `Impl<SgdUpdate, cuda::device>`, each one kernel on the parameter's stream.

#include <cmath>

#include "gas/cuda/kernels/optim.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief One Adam (l2 != 0: decay added to the gradient) or AdamW (decoupled != 0) update.
template <>
struct Impl<AdamUpdate, cuda::device> {
  template <class T>
  static void run(const AdamUpdate& a, Tensor<T, cuda::device>& p, const Tensor<T, cuda::device>& grad,
                  Tensor<T, cuda::device>& m, Tensor<T, cuda::device>& v) {
    cuda::AdamStep s;
    s.lr = a.lr;
    s.l2 = a.l2;
    s.decoupled = a.decoupled;
    s.beta1 = a.beta1;
    s.beta2 = a.beta2;
    s.eps = a.eps;
    s.bias1 = 1 - std::pow(a.beta1, static_cast<double>(a.step));
    s.bias2_sqrt = std::sqrt(1 - std::pow(a.beta2, static_cast<double>(a.step)));
    cuda::adam_update(p.data(), grad.data(), m.data(), v.data(), p.size(), s, p.stream());
  }
};

/// @brief One SGD update; `momentum` is the parameter's momentum buffer (null when the momentum is 0).
template <>
struct Impl<SgdUpdate, cuda::device> {
  template <class T>
  static void run(const SgdUpdate& a, Tensor<T, cuda::device>& p, const Tensor<T, cuda::device>& grad,
                  Tensor<T, cuda::device>* momentum) {
    cuda::SgdStep s;
    s.lr = a.lr;
    s.weight_decay = a.weight_decay;
    s.momentum = a.momentum;
    s.dampening = a.dampening;
    s.nesterov = a.nesterov;
    s.first = a.first;
    cuda::sgd_update(p.data(), grad.data(), momentum != nullptr ? momentum->data() : nullptr, p.size(), s,
                     p.stream());
  }
};

}  // namespace gas::ops
