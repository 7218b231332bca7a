#pragma once
/// @brief Gradient clipping by the total L2 norm (torch.nn.utils.clip_grad_norm_): `GradClipper`, which a training
/// step calls without waiting for the device, and `clip_grad_norm`, which also returns the norm.

#include <cstddef>
#include <span>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/optim.hpp"
#include "gas/ops/impl.hpp"

namespace gas::train {

/// @brief Scales every gradient by max_norm / (norm + 1e-6) when that factor is below 1, where norm is the L2 norm of
/// all gradients together, keeping what a step needs so that it allocates nothing and, on the device, waits for
/// nothing: the norm stays where it was computed until last_norm() is asked for it.
///
/// As in PyTorch 1.13 the factor decides, not norm > max_norm: a norm within 1e-6 below max_norm is scaled by a
/// factor just under 1. A non-finite norm is kept, not thrown, as PyTorch does by default (a NaN factor scales
/// nothing). The sum of squares is accumulated in double, parameter by parameter in order, so the result does not
/// depend on threads or timing: on the host in one sequential pass, on the device by a fixed tree per parameter
/// (ops::Impl<ops::ClipGradNorm, Backend>: gas/ops/host/optim.hpp, gas/cuda/ops/optim.cuh), which differs from the
/// host only by the order of the additions. Each gradient is then set to static_cast<T>(g * factor), the product in
/// double, on both backends. The device clip queues on the gradients' stream, which they must share.
/// @tparam Backend gas::host, or gas::cuda::device (compiled by nvcc with gas/cuda/ops.cuh)
template <class T, class Backend = host>
class GradClipper {
  using impl = ops::Impl<ops::ClipGradNorm, Backend>;

public:
  /// @brief Clips the gradients of `params` to a total norm of max_norm (queued on the device: returns at once).
  /// Throws value_error for a negative max_norm or a null parameter, before anything is changed or queued; on the
  /// device, also for gradients on different streams.
  void clip(std::span<autograd::Parameter<T, Backend>* const> params, double max_norm) {
    GAS_CHECK(max_norm >= 0, value_error, "max_norm " << max_norm << " must be non-negative");
    for (std::size_t k = 0; k < params.size(); ++k)
      GAS_CHECK(params[k] != nullptr, value_error, "parameter " << k << " is null");
    impl::run(ops::ClipGradNorm{.max_norm = max_norm}, params, scratch_);
  }
  /// @brief `clip` over a vector of parameters (template arguments cannot be deduced through a span).
  void clip(const std::vector<autograd::Parameter<T, Backend>*>& params, double max_norm) {
    clip(std::span<autograd::Parameter<T, Backend>* const>(params), max_norm);
  }
  /// @brief The norm before clipping of the last clip (0 before the first); on the device, waits for the stream.
  [[nodiscard]] double last_norm() const { return impl::norm(scratch_); }
  /// @brief Where the last norm is kept, in Backend's memory (a device pointer on the device, null before the first
  /// clip there): for a pipeline that copies it out after an event instead of waiting in last_norm().
  [[nodiscard]] const double* norm_data() const { return impl::norm_data(scratch_); }

private:
  typename impl::Scratch scratch_{};
};

/// @brief Clips as GradClipper::clip and returns the norm before clipping; on the device this waits for the stream
/// (a step that must not wait keeps a GradClipper instead).
template <class T, class Backend>
double clip_grad_norm(std::span<autograd::Parameter<T, Backend>* const> params, double max_norm) {
  GradClipper<T, Backend> clipper;
  clipper.clip(params, max_norm);
  return clipper.last_norm();
}

/// @brief `clip_grad_norm` over a vector of parameters (template arguments cannot be deduced through a span).
template <class T, class Backend>
double clip_grad_norm(const std::vector<autograd::Parameter<T, Backend>*>& params, double max_norm) {
  return clip_grad_norm(std::span<autograd::Parameter<T, Backend>* const>(params), max_norm);
}

}  // namespace gas::train
