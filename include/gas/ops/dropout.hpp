#pragma once
/// @brief Inverted dropout with a counter-based mask.
///
/// Element (i, j) is kept iff to_unit_double(counter_hash(seed, stream, i * cols + j)) >= p, so the mask is a
/// pure function of (seed, shape): the same on every thread count and every backend, and the same again when a
/// gradient check rebuilds the computation. A trainer derives the seed from (run seed, step, layer).

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"

namespace gas::ops {

namespace detail {

/// @brief The counter_hash stream of dropout masks ("drop"), distinct from other seeded draws.
inline constexpr std::uint64_t dropout_stream = 0x64726f70;

template <class T, class Backend>
void dropout_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto g = tape.grad_of(n.inputs[0]);
  const auto& mask = n.aux;  // (rows, cols): 0 or 1 / (1 - p)
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += mask(i, j) * n.grad(i, j);
}

}  // namespace detail

/// @brief Inverted dropout: in training, zeroes each element with probability p and scales the kept ones by
/// 1 / (1 - p); the same seed gives the same mask. Returns x itself (records nothing) when !training or p == 0.
/// The mask is saved in the node's `aux`. Throws value_error when p is outside [0, 1).
template <class T, class Backend>
ag::Var<T, Backend> dropout(ag::Var<T, Backend> x, double p, std::uint64_t seed, bool training) {
  GAS_CHECK(p >= 0.0 && p < 1.0, value_error, "dropout probability " << p << " outside [0, 1)");
  if (!training || p == 0.0) return x;
  auto [id, node] = x.tape().push("dropout", x.rows(), x.cols(), {x});
  node.scalars[0] = p;
  node.ints[0] = static_cast<std::int64_t>(seed);
  node.backward = &detail::dropout_backward<T, Backend>;
  const auto in = x.value();
  const auto out = node.value;
  const std::int64_t rows = in.rows(), cols = in.cols();
  node.aux.resize(rows, cols);
  auto& mask = node.aux;
  const T kept = static_cast<T>(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static) if (rows > 4096)
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) {
      const auto bits = counter_hash(seed, detail::dropout_stream, static_cast<std::uint64_t>(i * cols + j));
      mask(i, j) = to_unit_double(bits) >= p ? kept : T{0};
      out(i, j) = mask(i, j) * in(i, j);
    }
  return {&x.tape(), id};
}

}  // namespace gas::ops
