#pragma once
/// @brief Host implementation of dropout (gas/ops/dropout.hpp): `Impl<Dropout, host>`, and the mask's definition
/// that the device kernels share (dropout_stream, dropout_threshold).

#include <algorithm>
#include <bit>
#include <type_traits>
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

/// @brief `kernel(e, scale)` for every element e of a (rows x cols) contiguous matrix, with scale = 1 / (1 - p) when e
/// is kept and 0 when it is dropped: the mask of the dropout op, drawn pair by pair (one 64-bit draw per two
/// elements), in parallel over fixed chunks of pairs.
///
/// Why rebuild rather than save: a saved mask costs a matrix per dropout on the tape (a 64-layer GCNII keeps 64 of
/// them) and a full extra read and write per pass, while the draw is a few integer operations per pair that
/// vectorize. Forward and backward call this with the same (seed, size), so they see the same mask.
template <class T, class Kernel>
void for_each_dropout_scale(std::uint64_t seed, double p, std::int64_t size, Kernel&& kernel) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const Bits kept = std::bit_cast<Bits>(static_cast<T>(1.0 / (1.0 - p)));
  const CounterStream draws(seed, dropout_stream);
  // Compared in 64 bits: a threshold of 2^32 (p within 2^-32 of 1) then keeps nothing. Selected with a bit mask,
  // not a branch or a multiply by a bool (which GCC turns back into a branch): the keep test is a coin flip that a
  // branch mispredicts half the time; the scalar loop with it ran at 4.7 ns per element.
  const std::uint64_t threshold = dropout_threshold(p);
  auto scale = [&](std::uint64_t half) { return std::bit_cast<T>(kept & (Bits{0} - static_cast<Bits>(half >= threshold))); };
  // Blocks of an even number of elements: each draws its pairs into a local array (a loop without stores to user
  // memory, which vectorizes), then hands them out. The last block may draw a few pairs past the end, unused.
  constexpr std::int64_t block = 512;
  const std::int64_t blocks = (size + block - 1) / block;
#pragma omp parallel for schedule(static) if (size > (std::int64_t{1} << 16))
  for (std::int64_t b = 0; b < blocks; ++b) {
    alignas(64) T scales[block];
    const std::uint64_t first_pair = static_cast<std::uint64_t>(b * block / 2);
    for (std::int64_t i = 0; i < block / 2; ++i) {
      const std::uint64_t bits = draws(first_pair + static_cast<std::uint64_t>(i));
      scales[2 * i] = scale(bits & 0xFFFFFFFFull);
      scales[2 * i + 1] = scale(bits >> 32);
    }
    const std::int64_t e0 = b * block, n = std::min(block, size - e0);
    for (std::int64_t i = 0; i < n; ++i) kernel(e0 + i, scales[i]);
  }
}

}  // namespace detail

/// @brief Inverted dropout. Nothing is saved: the backward pass rebuilds the mask from (seed, shape), as the device
/// does (detail::for_each_dropout_scale).
template <>
struct Impl<Dropout, host> {
  static constexpr bool takes_sparse = true;
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Dropout& a) {
    const auto& input = tape.node(node.inputs[0]);
    if (node.sparse) {  // same pattern, entries masked (ops::dropout pushed a sparse node of input's shape)
      const auto x = input.sparse_value();
      std::copy_n(x.indptr, x.rows + 1, node.aux_index.data());
      std::copy_n(x.indices, node.aux_ids.size(), node.aux_ids.data());
      T* __restrict const o = node.aux.data();
      detail::for_each_dropout_scale<T>(a.seed, a.p, node.aux.size(),
                                        [&](std::int64_t e, T scale) { o[e] = scale * x.values[e]; });
      return;
    }
    const MatrixView<const T> in = input.value;
    const std::int64_t cols = in.cols();
    T* __restrict const o = node.value.data();  // the node's own contiguous tensor
    const T* const v = in.data();
    const std::int64_t ld = in.ld();
    if (in.contiguous())
      detail::for_each_dropout_scale<T>(a.seed, a.p, in.rows() * cols,
                                        [&](std::int64_t e, T scale) { o[e] = scale * v[e]; });
    else  // a strided input (a column slice): element e of the mask is (e / cols, e % cols)
      detail::for_each_dropout_scale<T>(a.seed, a.p, in.rows() * cols,
                                        [&](std::int64_t e, T scale) { o[e] = scale * v[(e / cols) * ld + e % cols]; });
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Dropout& a) {
    auto g = tape.grad_of(n.inputs[0]);
    const T* __restrict const go = n.grad.data();
    T* const gi = g.data();
    const std::int64_t cols = g.cols(), ld = g.ld();
    if (g.contiguous())
      detail::for_each_dropout_scale<T>(a.seed, a.p, g.rows() * cols,
                                        [&](std::int64_t e, T scale) { gi[e] += scale * go[e]; });
    else
      detail::for_each_dropout_scale<T>(
          a.seed, a.p, g.rows() * cols, [&](std::int64_t e, T scale) { gi[(e / cols) * ld + e % cols] += scale * go[e]; });
  }
};

}  // namespace gas::ops
