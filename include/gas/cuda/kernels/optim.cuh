#pragma once
/// @brief Optimizer updates on device parameters: Adam / AdamW and SGD with momentum, elementwise, in double
/// arithmetic on T storage exactly as train/optimizer.hpp's host loops (torch.optim's operation order).

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "gas/core/check.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/common.cuh"
#include "gas/cuda/kernels/launch.hpp"

namespace gas::cuda {

/// @brief The scalars of one Adam step (host-side values; the kernel takes it by value).
struct AdamStep {
  double lr = 0, l2 = 0, decoupled = 0, beta1 = 0, beta2 = 0, eps = 0;
  double bias1 = 1, bias2_sqrt = 1;  // 1 - beta1^t and sqrt(1 - beta2^t)
};

/// @brief The scalars of one SGD step.
struct SgdStep {
  double lr = 0, weight_decay = 0, momentum = 0, dampening = 0;
  bool nesterov = false, first = false;
};

inline namespace v0 {
namespace kernels {

template <class T>
struct AdamUpdate {
  T* p;
  const T* grad;
  T* m;
  T* v;
  AdamStep s;
  __device__ void operator()(std::int64_t i) const {
    const double step_size = s.lr / s.bias1;
    T pi = p[i];
    if (s.decoupled != 0) pi = static_cast<T>(pi * (1 - s.decoupled));
    double g = grad[i];
    if (s.l2 != 0) g += s.l2 * static_cast<double>(pi);
    const T mi = static_cast<T>(static_cast<double>(m[i]) * s.beta1 + g * (1 - s.beta1));
    const T vi = static_cast<T>(static_cast<double>(v[i]) * s.beta2 + (1 - s.beta2) * g * g);
    m[i] = mi;
    v[i] = vi;
    const double denom = sqrt(static_cast<double>(vi)) / s.bias2_sqrt + s.eps;
    p[i] = static_cast<T>(pi - step_size * static_cast<double>(mi) / denom);
  }
};

template <class T>
struct SgdUpdate {
  T* p;
  const T* grad;
  T* buf;
  SgdStep s;
  __device__ void operator()(std::int64_t i) const {
    double d = grad[i];
    if (s.weight_decay != 0) d += s.weight_decay * static_cast<double>(p[i]);
    if (s.momentum != 0) {
      const T b = static_cast<T>(s.first ? d : static_cast<double>(buf[i]) * s.momentum + (1 - s.dampening) * d);
      buf[i] = b;
      d = s.nesterov ? d + s.momentum * static_cast<double>(b) : static_cast<double>(b);
    }
    p[i] = static_cast<T>(p[i] - s.lr * d);
  }
};

}  // namespace kernels
}  // namespace v0

/// @brief One Adam / AdamW update of n contiguous device elements (p, its gradient, both moments), queued on
/// `stream`. Throws value_error for a negative count.
template <class T>
void adam_update(T* p, const T* grad, T* m, T* v, std::int64_t n, const AdamStep& step, cudaStream_t stream) {
  detail::launch_elementwise(kernels::AdamUpdate<T>{p, grad, m, v, step}, n, "cuda::adam_update", stream);
}

/// @brief One SGD update of n contiguous device elements; `buf` (the momentum buffer) may be null when
/// step.momentum is 0. Throws value_error for a negative count or a missing buffer.
template <class T>
void sgd_update(T* p, const T* grad, T* buf, std::int64_t n, const SgdStep& step, cudaStream_t stream) {
  GAS_CHECK(step.momentum == 0 || buf != nullptr || n <= 0, value_error, "cuda::sgd_update: momentum without a buffer");
  detail::launch_elementwise(kernels::SgdUpdate<T>{p, grad, buf, step}, n, "cuda::sgd_update", stream);
}

}  // namespace gas::cuda
