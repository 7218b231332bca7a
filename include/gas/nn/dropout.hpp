#pragma once
/// @brief `Dropout`: inverted dropout as a layer holding its probability.

#include <cstdint>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/nn/module.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::nn {

/// @brief Zeroes each element with probability p in training and scales the rest by 1 / (1 - p); the identity
/// in evaluation.
///
/// The layer keeps no generator: the caller passes a seed per call (a trainer derives it from the run seed,
/// the step and the layer), so a step can be replayed exactly and a gradient check sees the same mask on
/// every rebuild.
template <class T, class Backend = host>
struct Dropout : Module<T, Backend> {
  double p = 0.0;

  /// @brief Throws value_error when p is outside [0, 1).
  explicit Dropout(double p_) : p(p_) {
    GAS_CHECK(p >= 0.0 && p < 1.0, value_error, "dropout probability " << p << " outside [0, 1)");
  }

  /// @brief x -> x with the mask drawn from `seed` in training; x itself otherwise.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>&, autograd::Var<T, Backend> x, bool training, std::uint64_t seed) {
    return ops::dropout(x, p, seed, training);
  }
};

}  // namespace gas::nn
