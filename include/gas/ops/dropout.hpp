#pragma once
/// @brief Inverted dropout with a counter-based mask.
///
/// Element e = i * cols + j is kept iff its 32 bits of CounterStream(seed, stream)(e / 2) (the low half for even e,
/// the high half for odd e; one 64-bit draw serves two elements) are at least ceil(p * 2^32), so the mask is a
/// pure function of (seed, shape): the same on every thread count and every backend, and the same again when a
/// gradient check rebuilds the computation. A trainer derives the seed from (run seed, step, layer). Host:
/// gas/ops/host/dropout.hpp; device: gas/cuda/ops/dropout.cuh.

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/dropout.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief Inverted dropout: in training, zeroes each element with probability p and scales the kept ones by
/// 1 / (1 - p); the same seed gives the same mask. Returns x itself (records nothing) when !training or p == 0.
/// Nothing is saved for the backward pass: both backends rebuild the mask from the seed. On a sparse value (sparse
/// features) the mask runs over its stored entries (entry k of the CSR arrays is element k) and the result is sparse
/// with the same pattern.
/// Throws value_error when p is outside [0, 1).
template <class T, class Backend>
autograd::Var<T, Backend> dropout(autograd::Var<T, Backend> x, double p, std::uint64_t seed, bool training) {
  GAS_CHECK(p >= 0.0 && p < 1.0, value_error, "dropout probability " << p << " outside [0, 1)");
  if (!training || p == 0.0) return x;
  if (x.is_sparse()) {  // a sparse value stays sparse: only its stored entries are drawn (PyG drops those too)
    auto& tape = x.tape();
    const int id = tape.push_sparse(Dropout::name, x.rows(), x.cols(), x.nnz(), {x}).first;
    return record_pushed(tape, id, Dropout{.p = p, .seed = seed});
  }
  return record(Dropout{.p = p, .seed = seed}, x.rows(), x.cols(), {x});
}

}  // namespace gas::ops
