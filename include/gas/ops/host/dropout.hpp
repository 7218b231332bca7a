#pragma once
/// @brief Host implementation of dropout (gas/ops/dropout.hpp): `Impl<Dropout, host>`, and the mask's definition
/// that the device kernels share (dropout_stream, dropout_threshold).

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

/// @brief The counter_hash stream of dropout masks ("drop"), distinct from other seeded draws.
inline constexpr std::uint64_t dropout_stream = 0x64726f70;

/// @brief Elements whose 32 random bits are at least this are kept: ceil(p * 2^32), so P(keep) = 1 - p up to
/// 2^-32. Exact in double arithmetic (a scaling by a power of two).
inline std::uint64_t dropout_threshold(double p) { return static_cast<std::uint64_t>(std::ceil(std::ldexp(p, 32))); }

}  // namespace detail

/// @brief Inverted dropout; the mask (rows, cols: 0 or 1 / (1 - p)) is saved in the node's aux for the backward pass.
template <>
struct Impl<Dropout, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Dropout& a) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    const auto out = node.value;
    const std::int64_t rows = in.rows(), cols = in.cols();
    node.aux.resize(rows, cols);
    auto& mask = node.aux;
    const T kept = static_cast<T>(1.0 / (1.0 - a.p));
    const CounterStream draws(a.seed, detail::dropout_stream);
    const auto threshold = detail::dropout_threshold(a.p);
    const std::int64_t size = rows * cols;
    if (!in.contiguous()) {  // a strided input: element by element, one draw per element (same mask)
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j) {
          const auto e = static_cast<std::uint64_t>(i * cols + j);
          const auto half = static_cast<std::uint32_t>(draws(e / 2) >> (32 * (e % 2)));
          mask(i, j) = half >= threshold ? kept : T{0};
          out(i, j) = mask(i, j) * in(i, j);
        }
      return;
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
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Dropout&) {
    auto g = tape.grad_of(n.inputs[0]);
    const auto& mask = n.aux;  // (rows, cols): 0 or 1 / (1 - p)
#pragma omp parallel for schedule(static) if (g.rows() * g.cols() > (std::int64_t{1} << 16))
    for (std::int64_t i = 0; i < g.rows(); ++i)
      for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += mask(i, j) * n.grad(i, j);
  }
};

}  // namespace gas::ops
