#pragma once
/// @brief Host implementation of the sparse-value ops (gas/ops/sparse.hpp): `Impl<ToDense, host>`.

#include <algorithm>
#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief Scatters a sparse value's entries into a zeroed dense matrix. No backward: sparse values never need a
/// gradient (Tape::push_sparse).
template <>
struct Impl<ToDense, host> {
  static constexpr bool takes_sparse = true;
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const ToDense&) {
    const auto x = tape.node(node.inputs[0]).sparse_value();
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (out.rows() * out.cols() > (std::int64_t{1} << 16))
    for (std::int64_t i = 0; i < x.rows; ++i) {
      T* row = &out(i, 0);
      std::fill_n(row, out.cols(), T{0});
      for (std::int64_t k = x.indptr[i]; k < x.indptr[i + 1]; ++k) row[x.indices[k]] = x.values[k];
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, host>&, autograd::Node<T, host>&, const ToDense&) {}
};

}  // namespace gas::ops
