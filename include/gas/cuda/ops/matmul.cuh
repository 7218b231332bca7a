#pragma once
/// @brief Device implementation of the matrix product (gas/ops/matmul.hpp): cuBLAS on the tape's stream.

#include <cstdint>

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/gemm.hpp"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/matmul.hpp"

namespace gas::cuda::detail {

/// @brief c = op(a) op(b) + beta c through cuBLAS on `exec`'s stream (beta 0 or 1; c (m, n) given by its view). An
/// empty inner dimension is a product of zeros: c is cleared (beta 0) or left alone (beta 1), without asking
/// cuBLAS, whose strides must be positive.
template <class T>
void matmul_gemm(Exec<device>& exec, MatrixView<const T> a, bool ta, MatrixView<const T> b, bool tb, MatrixView<T> c,
                 T beta) {
  const std::int64_t m = c.rows(), n = c.cols(), k = ta ? a.rows() : a.cols();
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == T{0}) exec.fill(c, T{0});
    return;
  }
  gemm<T>(exec.blas(), {.m = m, .n = n, .k = k, .trans_a = ta, .trans_b = tb, .lda = a.ld(), .ldb = b.ld(),
                        .ldc = c.ld()},
          T{1}, a.data(), b.data(), beta, c.data());
}

}  // namespace gas::cuda::detail

namespace gas::ops {

/// @brief op(a) op(b). As on the host, C = op(A) op(B) gives dop(A) = G op(B)^T and dop(B) = op(A)^T G; a
/// transposed operand takes the transposed product, so every gradient is formed in its stored layout; beta = 1
/// accumulates.
template <>
struct Impl<Matmul, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Matmul& m) {
    const auto a = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    cuda::detail::matmul_gemm<T>(tape.exec(), a, m.trans_a, b, m.trans_b, node.value, T{0});
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Matmul& m) {
    const int ia = node.inputs[0], ib = node.inputs[1];
    const bool ta = m.trans_a, tb = m.trans_b;
    const MatrixView<const T> g = node.grad;
    const MatrixView<const T> a = tape.node(ia).value, b = tape.node(ib).value;
    auto& exec = tape.exec();
    if (tape.node(ia).requires_grad) {
      if (!ta) cuda::detail::matmul_gemm<T>(exec, g, false, b, !tb, tape.grad_of(ia), T{1});
      else cuda::detail::matmul_gemm<T>(exec, b, tb, g, true, tape.grad_of(ia), T{1});
    }
    if (tape.node(ib).requires_grad) {
      if (!tb) cuda::detail::matmul_gemm<T>(exec, a, !ta, g, false, tape.grad_of(ib), T{1});
      else cuda::detail::matmul_gemm<T>(exec, g, true, a, ta, tape.grad_of(ib), T{1});
    }
  }
};

}  // namespace gas::ops
