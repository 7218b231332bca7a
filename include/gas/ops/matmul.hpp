#pragma once
/// @brief `matmul`: C = op(A) op(B) with optional transposes, through Eigen on the host (gas/ops/host/matmul.hpp)
/// and cuBLAS on the device (gas/cuda/ops/matmul.cuh).

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/matmul.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/sparse.hpp"

namespace gas::ops {

/// @brief Matrix product op(a) op(b), where op transposes when `trans_a` / `trans_b` is set.
/// A sparse `a` (sparse features, untransposed) is multiplied as it is, in nnz(a) x n multiply-adds (the host; the
/// device never holds sparse values); any other sparse operand is made dense first.
/// Throws shape_error naming both shapes when the inner dimensions differ.
template <class T, class Backend>
autograd::Var<T, Backend> matmul(autograd::Var<T, Backend> a, autograd::Var<T, Backend> b, bool trans_a = false, bool trans_b = false) {
  const auto m = trans_a ? a.cols() : a.rows(), k = trans_a ? a.rows() : a.cols();
  const auto k2 = trans_b ? b.cols() : b.rows(), n = trans_b ? b.rows() : b.cols();
  GAS_CHECK(k == k2, shape_error,
            "inner dimensions differ: (" << a.rows() << " x " << a.cols() << ")" << (trans_a ? "^T" : "") << " times ("
                                         << b.rows() << " x " << b.cols() << ")" << (trans_b ? "^T" : ""));
  if (trans_a) a = to_dense(a);
  b = to_dense(b);
  return record(Matmul{.trans_a = trans_a, .trans_b = trans_b}, m, n, {a, b});
}

}  // namespace gas::ops
