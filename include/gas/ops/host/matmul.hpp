#pragma once
/// @brief Host implementation of the matrix product (gas/ops/matmul.hpp): `Impl<Matmul, host>`, through Eigen in
/// fixed blocks of output rows (detail::gemm).

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include "gas/core/eigen.hpp"
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

}  // namespace detail

/// @brief op(a) op(b). C = op(A) op(B) gives dop(A) = G op(B)^T and dop(B) = op(A)^T G; a transposed operand takes
/// the transposed product, so every gradient is formed in its stored layout.
template <>
struct Impl<Matmul, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const Matmul& m) {
    detail::gemm<T>(tape.node(node.inputs[0]).value, m.trans_a, tape.node(node.inputs[1]).value, m.trans_b,
                    node.value, false);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Matmul& m) {
    const int ia = n.inputs[0], ib = n.inputs[1];
    const bool ta = m.trans_a, tb = m.trans_b;
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
