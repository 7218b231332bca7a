#pragma once
/// @brief Inverted dropout with a counter-based mask.
///
/// Element e = i * cols + j is kept iff its 32 bits of CounterStream(seed, stream)(e / 2) (the low half for even e,
/// the high half for odd e; one 64-bit draw serves two elements) are at least ceil(p * 2^32), so the mask is a
/// pure function of (seed, shape): the same on every thread count and every backend, and the same again when a
/// gradient check rebuilds the computation. A trainer derives the seed from (run seed, step, layer).

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

namespace detail {

/// @brief The counter_hash stream of dropout masks ("drop"), distinct from other seeded draws.
inline constexpr std::uint64_t dropout_stream = 0x64726f70;

/// @brief Elements whose 32 random bits are at least this are kept: ceil(p * 2^32), so P(keep) = 1 - p up to
/// 2^-32. Exact in double arithmetic (a scaling by a power of two).
inline std::uint64_t dropout_threshold(double p) { return static_cast<std::uint64_t>(std::ceil(std::ldexp(p, 32))); }

template <class T, class Backend>
void dropout_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto g = tape.grad_of(n.inputs[0]);
  const auto& mask = n.aux;  // (rows, cols): 0 or 1 / (1 - p)
#pragma omp parallel for schedule(static) if (g.rows() * g.cols() > (std::int64_t{1} << 16))
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += mask(i, j) * n.grad(i, j);
}

}  // namespace detail

/// @brief Inverted dropout: in training, zeroes each element with probability p and scales the kept ones by
/// 1 / (1 - p); the same seed gives the same mask. Returns x itself (records nothing) when !training or p == 0.
/// On the host the mask is saved in the node's `aux`; the device rebuilds it from the seed in the backward pass.
/// Throws value_error when p is outside [0, 1).
template <class T, class Backend>
ag::Var<T, Backend> dropout(ag::Var<T, Backend> x, double p, std::uint64_t seed, bool training) {
  GAS_CHECK(p >= 0.0 && p < 1.0, value_error, "dropout probability " << p << " outside [0, 1)");
  if (!training || p == 0.0) return x;
  auto [id, node] = x.tape().push("dropout", x.rows(), x.cols(), {x});
  node.scalars[0] = p;
  node.ints[0] = static_cast<std::int64_t>(seed);
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::dropout(x.tape(), node);
  } else {
    node.backward = &detail::dropout_backward<T, Backend>;
    const auto in = x.value();
    const auto out = node.value;
    const std::int64_t rows = in.rows(), cols = in.cols();
    node.aux.resize(rows, cols);
    auto& mask = node.aux;
    const T kept = static_cast<T>(1.0 / (1.0 - p));
    const CounterStream draws(seed, detail::dropout_stream);
    const auto threshold = detail::dropout_threshold(p);
    const std::int64_t size = rows * cols;
    if (!in.contiguous()) {  // a strided input: element by element, one draw per element (same mask)
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j) {
          const auto e = static_cast<std::uint64_t>(i * cols + j);
          const auto half = static_cast<std::uint32_t>(draws(e / 2) >> (32 * (e % 2)));
          mask(i, j) = half >= threshold ? kept : T{0};
          out(i, j) = mask(i, j) * in(i, j);
        }
      return {&x.tape(), id};
    }
    T* const m = mask.data();  // mask and out are the node's own contiguous tensors
    T* const o = out.data();
    const T* const v = in.data();
#pragma omp parallel for schedule(static) if (size > (std::int64_t{1} << 16))
    for (std::int64_t pair = 0; pair < (size + 1) / 2; ++pair) {
      const std::uint64_t bits = draws(static_cast<std::uint64_t>(pair));
      for (std::int64_t e = 2 * pair; e < std::min(2 * pair + 2, size); ++e) {
        const auto half = static_cast<std::uint32_t>(bits >> (32 * (e % 2)));
        m[e] = half >= threshold ? kept : T{0};
        o[e] = m[e] * v[e];
      }
    }
  }
  return {&x.tape(), id};
}

}  // namespace gas::ops
