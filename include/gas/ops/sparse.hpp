#pragma once
/// @brief Sparse values on the tape: `to_dense` and the dense copies ops::record makes for ops that read dense
/// values. A sparse value (Tape::push_sparse) is what sparse features become on a batch (models::gather_features);
/// dropout and matmul (as the left operand) take it as it is, every other op a dense copy. Host:
/// gas/ops/host/sparse.hpp.

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/sparse.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief A dense copy of x when it is sparse, x itself otherwise.
template <class T, class Backend>
autograd::Var<T, Backend> to_dense(autograd::Var<T, Backend> x) {
  return x.is_sparse() ? detail::densify(x) : x;
}

namespace detail {

template <class T, class Backend>
autograd::Var<T, Backend> densify(autograd::Var<T, Backend> x) {
  if constexpr (on_host<Backend>) {
    auto& tape = x.tape();
    const int id = tape.push(ToDense::name, x.rows(), x.cols(), {x}).first;
    return record_pushed(tape, id, ToDense{});
  } else {
    // The device never holds sparse values: its feature gathers densify a batch's rows on the host (see
    // models::gather_features), so there is nothing to convert here.
    GAS_CHECK(!x.is_sparse(), value_error, "sparse values are host-only; the device gathers features densely");
    return x;
  }
}

}  // namespace detail

}  // namespace gas::ops
