#pragma once
/// @brief Device parameter updates of the optimizers (gas/train/optimizer.hpp): `Impl<AdamUpdate, cuda::device>` and
/// `Impl<SgdUpdate, cuda::device>`, each one kernel on the parameter's stream; and the gradient clipping of
/// gas/train/clip.hpp, `Impl<ClipGradNorm, cuda::device>`, queued on the gradients' stream without a host wait.

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>

#include "gas/autograd/parameter.hpp"
#include "gas/core/check.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/error.hpp"
#include "gas/cuda/kernels/clip.cuh"
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

/// @brief Gradient clipping on the device (kernels/clip.cuh): per gradient, in order, its squares summed by
/// cub::DeviceReduce and added to a running total in device memory; the last also forms the norm and the factor there; then one
/// kernel per gradient scales it by the factor it reads from device memory (when below 1). Everything is queued on
/// the gradients' stream (they must share one: the scratch is reused from gradient to gradient in stream order);
/// nothing waits and, once `Scratch` holds its buffers, nothing is allocated. 2 or 3 launches per parameter.
template <>
struct Impl<ClipGradNorm, cuda::device> {
  /// @brief The device state (cuda::ClipSlots: sum of squares, norm, factor) and CUB's temporaries for one gradient's
  /// sum (sized for the largest gradient), allocated at the first clip on the gradients' stream and kept.
  struct Scratch {
    cuda::DeviceBuffer<double> state;
    cuda::DeviceBuffer<std::byte> temp;
  };
  template <class T>
  static void run(const ClipGradNorm& a, std::span<autograd::Parameter<T, cuda::device>* const> params,
                  Scratch& scratch) {
    const cudaStream_t stream = params.empty() ? scratch.state.stream() : params[0]->grad.stream();
    for (std::size_t k = 1; k < params.size(); ++k)
      GAS_CHECK(params[k]->grad.stream() == stream, value_error,
                "parameter " << k << " ('" << params[k]->name << "'): its gradient is on another stream than parameter "
                             << "0's ('" << params[0]->name << "'); a clip queues on one stream");
    std::size_t temp_bytes = std::max<std::size_t>(1, cuda::clip_scratch_bytes<T>(0));  // never null: null asks CUB
    for (auto* p : params) temp_bytes = std::max(temp_bytes, cuda::clip_scratch_bytes<T>(p->grad.size()));
    if (scratch.state.empty()) scratch.state = cuda::DeviceBuffer<double>(cuda::ClipSlots::count, stream);
    else if (scratch.state.stream() != stream) {  // the caller orders the old stream's work before `stream`
      scratch.state.set_stream(stream);
      scratch.temp.set_stream(stream);
    }
    if (scratch.temp.size() < temp_bytes) scratch.temp = cuda::DeviceBuffer<std::byte>(temp_bytes, stream);
    double* state = scratch.state.data();
    if (params.empty()) {  // no gradients: norm 0, as on the host
      cuda::clip_add_squares<T>(nullptr, 0, scratch.temp.data(), temp_bytes, state, true, true, a.max_norm, stream);
      return;
    }
    for (std::size_t k = 0; k < params.size(); ++k) {
      const auto& g = params[k]->grad;
      cuda::clip_add_squares(g.data(), g.size(), scratch.temp.data(), scratch.temp.size(), state, k == 0,
                             k + 1 == params.size(), a.max_norm, stream);
    }
    for (auto* p : params) cuda::clip_scale(p->grad.data(), p->grad.size(), state + cuda::ClipSlots::factor, stream);
  }
  /// @brief The norm of the last clip (0 before the first): one 8-byte download that waits for the stream.
  static double norm(const Scratch& scratch) {
    if (scratch.state.empty()) return 0;
    double norm = 0;
    GAS_CUDA_CHECK(cudaMemcpyAsync(&norm, scratch.state.data() + cuda::ClipSlots::norm, sizeof norm,
                                   cudaMemcpyDeviceToHost, scratch.state.stream()));
    GAS_CUDA_CHECK(cudaStreamSynchronize(scratch.state.stream()));
    return norm;
  }
  /// @brief The device address of the last clip's norm (null before the first clip), for a caller that copies it
  /// out in its own time.
  static const double* norm_data(const Scratch& scratch) {
    return scratch.state.empty() ? nullptr : scratch.state.data() + cuda::ClipSlots::norm;
  }
};

}  // namespace gas::ops
