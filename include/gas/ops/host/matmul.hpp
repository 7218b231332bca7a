#pragma once
/// @brief Host implementation of the matrix product (gas/ops/matmul.hpp): `Impl<Matmul, host>`, through Eigen in
/// fixed blocks of output rows (detail::gemm).

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include "gas/core/eigen.hpp"
#include "gas/core/sparse_rows.hpp"
#include <omp.h>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

template <class T>
using EigenMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using EigenStride = Eigen::OuterStride<Eigen::Dynamic>;

/// @brief An Eigen view of a row-major MatrixView (any leading dimension), without copying.
template <class T>
auto eigen(MatrixView<T> m) {
  using Plain = EigenMatrix<std::remove_const_t<T>>;
  using Target = std::conditional_t<std::is_const_v<T>, const Plain, Plain>;
  return Eigen::Map<Target, Eigen::Unaligned, EigenStride<T>>(m.data(), m.rows(), m.cols(), EigenStride<T>(m.ld()));
}

/// @brief out (+)= op(a) op(b) in the calling thread (EIGEN_DONT_PARALLELIZE: Eigen never starts threads).
template <class T>
void gemm_block(MatrixView<const T> a, bool ta, MatrixView<const T> b, bool tb, MatrixView<T> out, bool accumulate) {
  auto ea = eigen(a);
  auto eb = eigen(b);
  auto eo = eigen(out);
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (accumulate) eo.noalias() += lhs * rhs;
    else eo.noalias() = lhs * rhs;
  };
  if (!ta && !tb) run(ea, eb);
  else if (ta && !tb) run(ea.transpose(), eb);
  else if (!ta && tb) run(ea, eb.transpose());
  else run(ea.transpose(), eb.transpose());
}

/// @brief Output rows per block of `gemm`: fixed, so results do not depend on the thread count.
inline constexpr std::int64_t gemm_rows_per_block = 64;

/// @brief out (+)= op(a) op(b) on the host, OpenMP over fixed blocks of output rows.
///
/// Why not Eigen's own threading: its parallel GEMM synchronizes by spinning, which collapses when the
/// machine is oversubscribed (tests running side by side, a loader thread), and its blocking depends on the
/// thread count. Here every block of 64 output rows is one sequential Eigen product (Eigen is built with
/// EIGEN_DONT_PARALLELIZE), whichever thread runs it, so the bits of the result are the same for every thread
/// count.
template <class T>
void gemm(MatrixView<const T> a, bool ta, MatrixView<const T> b, bool tb, MatrixView<T> out, bool accumulate) {
  const std::int64_t m = out.rows(), k = ta ? a.rows() : a.cols();
  const std::int64_t blocks = (m + gemm_rows_per_block - 1) / gemm_rows_per_block;
  const double work = static_cast<double>(m) * static_cast<double>(out.cols()) * static_cast<double>(k);
  auto block = [&](std::int64_t i) {
    const std::int64_t r0 = i * gemm_rows_per_block, r1 = std::min(m, r0 + gemm_rows_per_block);
    // Rows [r0, r1) of op(a): a block of a's rows, or of its columns when a is transposed.
    const MatrixView<const T> rows_of_a = ta ? a.slice_cols(r0, r1) : a.slice_rows(r0, r1);
    gemm_block<T>(rows_of_a, ta, b, tb, out.slice_rows(r0, r1), accumulate);
  };
  const bool parallel = blocks > 1 && work >= double(1 << 20) && !omp_in_parallel();
#pragma omp parallel num_threads(parallel ? omp_get_max_threads() : 1) if (!omp_in_parallel())
  {
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < blocks; ++i) block(i);
  }
}

/// @brief out = a b for a sparse (rows x k) and a dense b (k x n): each output row sums the rows of b its entries
/// name, scaled; rows in parallel, each owned by one thread (the same bits for every thread count).
template <class T>
void sparse_times_dense(SparseRowsView<T> a, MatrixView<const T> b, MatrixView<T> out) {
  const std::int64_t n = out.cols();
#pragma omp parallel for schedule(dynamic, 64) if (a.rows > 64 && static_cast<double>(out.cols()) * static_cast<double>(a.rows) > 65536.0)
  for (std::int64_t i = 0; i < a.rows; ++i) {
    T* __restrict row = &out(i, 0);
    std::fill_n(row, n, T{0});
    for (std::int64_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k) {
      const T v = a.values[k];
      const T* __restrict src = &b(a.indices[k], 0);
      for (std::int64_t j = 0; j < n; ++j) row[j] += v * src[j];
    }
  }
}

/// @brief out (k x n) += a^T g for a sparse a (rows x k) and a dense g (rows x n). Each thread owns a range of
/// out's rows (a's columns) and scans a's entries in order, so out(c, :) sums its contributions in ascending row
/// order whatever the thread count; no atomics, no transposed copy of a.
template <class T>
void sparse_transpose_times_dense(SparseRowsView<T> a, MatrixView<const T> g, MatrixView<T> out) {
  const std::int64_t n = out.cols(), k = out.rows();
  const std::int64_t nnz = a.rows > 0 ? a.indptr[a.rows] : 0;
#pragma omp parallel if (static_cast<double>(nnz) * static_cast<double>(n) > 65536.0)
  {
    std::int64_t first = 0, last = k;
#ifdef _OPENMP
    const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    first = k * t / threads;
    last = k * (t + 1) / threads;
#endif
    for (std::int64_t i = 0; i < a.rows; ++i) {
      const T* __restrict gi = &g(i, 0);
      for (std::int64_t e = a.indptr[i]; e < a.indptr[i + 1]; ++e) {
        const std::int64_t c = a.indices[e];
        if (c < first || c >= last) continue;
        const T v = a.values[e];
        T* __restrict dst = &out(c, 0);
        for (std::int64_t j = 0; j < n; ++j) dst[j] += v * gi[j];
      }
    }
  }
}

/// @brief dst (n x k) += src^T for src (k x n), in parallel over dst's rows.
template <class T>
void add_transposed(MatrixView<const T> src, MatrixView<T> dst) {
#pragma omp parallel for schedule(static) if (src.rows() * src.cols() > (std::int64_t{1} << 16))
  for (std::int64_t o = 0; o < dst.rows(); ++o)
    for (std::int64_t c = 0; c < dst.cols(); ++c) dst(o, c) += src(c, o);
}

}  // namespace detail

/// @brief op(a) op(b). C = op(A) op(B) gives dop(A) = G op(B)^T and dop(B) = op(A)^T G; a transposed operand takes
/// the transposed product, so every gradient is formed in its stored layout.
///
/// A sparse a (untransposed; ops::matmul makes every other sparse operand dense) takes detail::sparse_times_dense,
/// with op(b) materialized as (k x n) rows in the node's aux when b is transposed (a Linear's weight: small).
template <>
struct Impl<Matmul, host> {
  static constexpr bool takes_sparse = true;
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Matmul& m) {
    const auto& a = tape.node(node.inputs[0]);
    if (a.sparse) {
      const MatrixView<const T> b = tape.node(node.inputs[1]).value;
      MatrixView<const T> rows = b;  // (k x n): row c multiplies a's column c
      if (m.trans_b) {
        node.aux.resize(b.cols(), b.rows());
        for (std::int64_t c = 0; c < b.cols(); ++c)
          for (std::int64_t o = 0; o < b.rows(); ++o) node.aux(c, o) = b(o, c);
        rows = node.aux.view();
      }
      detail::sparse_times_dense<T>(a.sparse_value(), rows, node.value);
      return;
    }
    detail::gemm<T>(tape.node(node.inputs[0]).value, m.trans_a, tape.node(node.inputs[1]).value, m.trans_b,
                    node.value, false);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Matmul& m) {
    const int ia = n.inputs[0], ib = n.inputs[1];
    const bool ta = m.trans_a, tb = m.trans_b;
    if (tape.node(ia).sparse) {  // only b can need a gradient: sparse values never do
      if (!tape.node(ib).requires_grad) return;
      const auto a = tape.node(ia).sparse_value();
      if (!tb) {
        detail::sparse_transpose_times_dense<T>(a, n.grad, tape.grad_of(ib));
      } else {  // d b = (a^T g)^T: formed as rows of a's columns in aux, then added transposed
        n.aux.resize(a.cols, n.grad.cols());
        n.aux.fill(T{0});
        detail::sparse_transpose_times_dense<T>(a, n.grad, n.aux.view());
        detail::add_transposed<T>(std::as_const(n.aux).view(), tape.grad_of(ib));
      }
      return;
    }
    MatrixView<const T> g = n.grad;
    MatrixView<const T> a = tape.node(ia).value, b = tape.node(ib).value;
    if (tape.node(ia).requires_grad) {
      if (!ta) detail::gemm<T>(g, false, b, !tb, tape.grad_of(ia), true);
      else detail::gemm<T>(b, tb, g, true, tape.grad_of(ia), true);
    }
    if (tape.node(ib).requires_grad) {
      if (!tb) detail::gemm<T>(a, !ta, g, false, tape.grad_of(ib), true);
      else detail::gemm<T>(g, true, a, ta, tape.grad_of(ib), true);
    }
  }
};

}  // namespace gas::ops
