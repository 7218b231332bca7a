#pragma once
/// @brief Device implementations of the dense ops of the tape: matmul (cuBLAS), the losses, dropout and batch norm
/// (see gas/ops/device_ops.hpp for the contract).

#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/batch_norm.cuh"
#include "gas/cuda/kernels/dropout.cuh"
#include "gas/cuda/kernels/gemm.hpp"
#include "gas/cuda/kernels/loss.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/batch_norm.hpp"

namespace gas::cuda::tape_ops {

/// @brief Matrix products, losses, dropout and batch norm on device values.
///
/// Host data an op receives (labels, row selections, targets) is uploaded into the node's `aux_ids`, so the
/// backward pass reads device copies and the caller's spans need not outlive it on the device.
struct DenseOps {
  template <class T>
  using Tape = ag::Tape<T, device>;
  template <class T>
  using Node = ag::Node<T, device>;

  // ---- matmul ----------------------------------------------------------------------------------------------

  /// @brief c = op(a) op(b) + beta c through cuBLAS on the tape's stream (beta 0 or 1; c (m, n) given by its view).
  /// An empty inner dimension is a product of zeros: c is cleared (beta 0) or left alone (beta 1), without asking
  /// cuBLAS, whose strides must be positive.
  template <class T>
  static void matmul_gemm(Tape<T>& tape, MatrixView<const T> a, bool ta, MatrixView<const T> b, bool tb,
                          MatrixView<T> c, T beta) {
    const std::int64_t m = c.rows(), n = c.cols(), k = ta ? a.rows() : a.cols();
    if (m == 0 || n == 0) return;
    if (k == 0) {
      if (beta == T{0}) tape.exec().fill(c, T{0});
      return;
    }
    gemm<T>(tape.exec().blas(), {.m = m, .n = n, .k = k, .trans_a = ta, .trans_b = tb, .lda = a.ld(), .ldb = b.ld(),
                                 .ldc = c.ld()},
            T{1}, a.data(), b.data(), beta, c.data());
  }

  /// @brief node.value = op(a) op(b); ints 0 and 1 are the transpose flags.
  template <class T>
  static void matmul(Tape<T>& tape, Node<T>& node) {
    const auto a = tape.node(node.inputs[0]).value, b = tape.node(node.inputs[1]).value;
    matmul_gemm<T>(tape, a, node.ints[0] != 0, b, node.ints[1] != 0, node.value, T{0});
    node.backward = &matmul_backward<T>;
  }
  template <class T>
  static void matmul_backward(Tape<T>& tape, Node<T>& node) {
    const int ia = node.inputs[0], ib = node.inputs[1];
    const bool ta = node.ints[0] != 0, tb = node.ints[1] != 0;
    const MatrixView<const T> g = node.grad;
    const MatrixView<const T> a = tape.node(ia).value, b = tape.node(ib).value;
    // As the host: C = op(A) op(B) gives dop(A) = G op(B)^T and dop(B) = op(A)^T G; a transposed operand takes
    // the transposed product, so every gradient is formed in its stored layout. beta = 1 accumulates.
    if (tape.node(ia).requires_grad) {
      if (!ta) matmul_gemm<T>(tape, g, false, b, !tb, tape.grad_of(ia), T{1});
      else matmul_gemm<T>(tape, b, tb, g, true, tape.grad_of(ia), T{1});
    }
    if (tape.node(ib).requires_grad) {
      if (!tb) matmul_gemm<T>(tape, a, !ta, g, false, tape.grad_of(ib), T{1});
      else matmul_gemm<T>(tape, g, true, a, ta, tape.grad_of(ib), T{1});
    }
  }

  // ---- losses ------------------------------------------------------------------------------------------------

  /// @brief node.value = x - logsumexp(x) per row.
  template <class T>
  static void log_softmax(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    log_softmax_forward(x.data(), x.rows(), x.cols(), node.value.data(), tape.exec().stream());
    node.backward = &log_softmax_backward<T>;
  }
  template <class T>
  static void log_softmax_backward(Tape<T>& tape, Node<T>& node) {
    const int in = node.inputs[0];
    auto gx = tape.grad_of(in);
    cuda::log_softmax_backward(node.value.data(), node.grad.data(), node.value.rows(), node.value.cols(), gx.data(),
                               tape.exec().stream());
  }

  /// @brief Uploads a loss's labels (one per input row) and row selection into node.aux_ids = [labels | rows];
  /// ints[0] = the selection's size (set by the op), ints[1] = whether it is strictly increasing.
  template <class T>
  static void upload_loss_rows(Tape<T>& tape, Node<T>& node, std::span<const std::int32_t> labels,
                               std::span<const node_id> rows, bool increasing) {
    const auto nl = static_cast<std::int64_t>(labels.size()), nr = static_cast<std::int64_t>(rows.size());
    node.aux_ids.resize(1, nl + nr);
    std::int32_t* ids = node.aux_ids.data();
    tape.exec().upload(MatrixView<const std::int32_t>(labels.data(), 1, nl), MatrixView<std::int32_t>(ids, 1, nl));
    tape.exec().upload(MatrixView<const node_id>(rows.data(), 1, nr), MatrixView<node_id>(ids + nl, 1, nr));
    node.ints[1] = increasing;
  }
  /// @brief The device labels and selection that upload_loss_rows stored, for a loss on an input of `rows` rows.
  template <class T>
  static LossRows loss_rows(Node<T>& node, std::int64_t rows) {
    const std::int32_t* ids = node.aux_ids.data();
    return {ids, ids + rows, node.ints[0], node.ints[1] != 0};
  }

  /// @brief node.value (1 x 1) = mean of -log_probs[r, labels[r]] over the selected rows (already validated).
  template <class T>
  static void nll_loss(Tape<T>& tape, Node<T>& node, std::span<const std::int32_t> labels,
                       std::span<const node_id> rows, bool increasing) {
    upload_loss_rows(tape, node, labels, rows, increasing);
    const auto lp = tape.node(node.inputs[0]).value;
    nll_loss_forward(lp.data(), lp.rows(), lp.cols(), loss_rows(node, lp.rows()), node.value.data(),
                     tape.exec().stream());
    node.backward = &nll_loss_backward<T>;
  }
  template <class T>
  static void nll_loss_backward(Tape<T>& tape, Node<T>& node) {
    const int in = node.inputs[0];
    const auto lp = tape.node(in).value;
    auto gx = tape.grad_of(in);
    cuda::nll_loss_backward(node.grad.data(), lp.rows(), lp.cols(), loss_rows(node, lp.rows()), gx.data(),
                            tape.exec().stream());
  }

  /// @brief Fused cross-entropy (1 x 1) over the selected rows; aux (count, 2) keeps (log-sum-exp, loss) per
  /// position for the backward pass, as on the host.
  template <class T>
  static void cross_entropy(Tape<T>& tape, Node<T>& node, std::span<const std::int32_t> labels,
                            std::span<const node_id> rows, bool increasing) {
    upload_loss_rows(tape, node, labels, rows, increasing);
    const auto x = tape.node(node.inputs[0]).value;
    node.aux.resize(node.ints[0], 2);
    cross_entropy_forward(x.data(), x.rows(), x.cols(), loss_rows(node, x.rows()), node.aux.data(), node.value.data(),
                          tape.exec().stream());
    node.backward = &cross_entropy_backward<T>;
  }
  template <class T>
  static void cross_entropy_backward(Tape<T>& tape, Node<T>& node) {
    const int in = node.inputs[0];
    const auto x = tape.node(in).value;
    auto gx = tape.grad_of(in);
    cuda::cross_entropy_backward(node.grad.data(), x.data(), x.rows(), x.cols(), loss_rows(node, x.rows()),
                                 node.aux.data(), gx.data(), tape.exec().stream());
  }

  /// @brief The device row selection and targets that bce_with_logits stored in aux_ids = [rows | target bytes].
  template <class T>
  static TargetRows bce_rows(Node<T>& node) {
    const std::int32_t* ids = node.aux_ids.data();
    const std::int64_t count = node.ints[0];
    return {reinterpret_cast<const std::uint8_t*>(ids + count), ids, count, node.ints[1] != 0};
  }

  /// @brief Binary cross-entropy with logits (1 x 1) over the selected rows (already validated). The row
  /// selection and the whole (rows, cols) target matrix, one byte per target, are uploaded into aux_ids (the
  /// bytes after the selection, in whole 32-bit words); aux (count, 1) keeps each position's loss, as on the host.
  template <class T>
  static void bce_with_logits(Tape<T>& tape, Node<T>& node, const Tensor<std::uint8_t, host>& targets,
                              std::span<const node_id> rows, bool increasing) {
    const auto x = tape.node(node.inputs[0]).value;
    const auto count = static_cast<std::int64_t>(rows.size());
    const std::int64_t bytes = targets.rows() * targets.cols();
    node.aux_ids.resize(1, count + (bytes + 3) / 4);
    std::int32_t* ids = node.aux_ids.data();
    tape.exec().upload(MatrixView<const node_id>(rows.data(), 1, count), MatrixView<node_id>(ids, 1, count));
    tape.exec().upload(MatrixView<const std::uint8_t>(targets.data(), 1, bytes),
                       MatrixView<std::uint8_t>(reinterpret_cast<std::uint8_t*>(ids + count), 1, bytes));
    node.ints[1] = increasing;  // ints[0] = count, set by the op
    node.aux.resize(count, 1);
    bce_with_logits_forward(x.data(), x.rows(), x.cols(), bce_rows(node), node.aux.data(), node.value.data(),
                            tape.exec().stream());
    node.backward = &bce_with_logits_backward<T>;
  }
  template <class T>
  static void bce_with_logits_backward(Tape<T>& tape, Node<T>& node) {
    const int in = node.inputs[0];
    const auto x = tape.node(in).value;
    auto gx = tape.grad_of(in);
    cuda::bce_with_logits_backward(node.grad.data(), x.data(), x.rows(), x.cols(), bce_rows(node), gx.data(),
                                   tape.exec().stream());
  }

  // ---- dropout -----------------------------------------------------------------------------------------------

  /// @brief Training-mode inverted dropout with the host's mask; scalars[0] = p, ints[0] = the seed. The mask is
  /// not stored: the backward pass rebuilds it from (seed, p), which costs less than reading a saved one.
  template <class T>
  static void dropout(Tape<T>& tape, Node<T>& node) {
    const auto x = tape.node(node.inputs[0]).value;
    dropout_forward<T>(x.data(), x.rows(), x.cols(), node.scalars[0], static_cast<std::uint64_t>(node.ints[0]),
                       node.value.data(), nullptr, tape.exec().stream());
    node.backward = &dropout_backward<T>;
  }
  template <class T>
  static void dropout_backward(Tape<T>& tape, Node<T>& node) {
    const int in = node.inputs[0];
    auto gx = tape.grad_of(in);
    cuda::dropout_backward<T>(node.grad.data(), node.value.rows(), node.value.cols(), node.scalars[0],
                              static_cast<std::uint64_t>(node.ints[0]), gx.data(), tape.exec().stream());
  }

  // ---- batch norm --------------------------------------------------------------------------------------------

  /// @brief The launcher arguments of a batch-norm node: inputs (x, gamma, beta), ints[0] = training, scalars
  /// (momentum, eps); the running statistics are only read and written by the forward pass.
  template <class T>
  static BatchNormArgs<T> batch_norm_args(Tape<T>& tape, Node<T>& node, T* running_mean, T* running_var) {
    const auto x = tape.node(node.inputs[0]).value;
    BatchNormArgs<T> a;
    a.x = x.data();
    a.rows = x.rows();
    a.cols = x.cols();
    a.gamma = tape.node(node.inputs[1]).value.data();
    a.beta = tape.node(node.inputs[2]).value.data();
    a.running_mean = running_mean;
    a.running_var = running_var;
    a.momentum = node.scalars[0];
    a.eps = node.scalars[1];
    a.training = node.ints[0] != 0;
    return a;
  }

  /// @brief Batch normalisation with the statistics of the batch (training, which also updates `state` on the
  /// device) or of `state` (evaluation); aux (2, cols) keeps the mean and inverse deviation used.
  template <class T>
  static void batch_norm(Tape<T>& tape, Node<T>& node, gas::ops::BatchNormState<T, device>& state, double momentum,
                         double eps) {
    node.scalars[0] = momentum;
    node.scalars[1] = eps;
    const auto args = batch_norm_args(tape, node, state.running_mean.data(), state.running_var.data());
    node.aux.resize(2, args.cols);
    batch_norm_forward(args, node.value.data(), node.aux.data(), tape.exec().stream());
    if (args.training) ++state.batches_tracked;
    node.backward = &batch_norm_backward<T>;
  }
  template <class T>
  static void batch_norm_backward(Tape<T>& tape, Node<T>& node) {
    const int ix = node.inputs[0], ig = node.inputs[1], ib = node.inputs[2];
    const auto args = batch_norm_args<T>(tape, node, nullptr, nullptr);
    T* dx = tape.node(ix).requires_grad ? tape.grad_of(ix).data() : nullptr;
    T* dgamma = tape.node(ig).requires_grad ? tape.grad_of(ig).data() : nullptr;
    T* dbeta = tape.node(ib).requires_grad ? tape.grad_of(ib).data() : nullptr;
    cuda::batch_norm_backward(args, node.aux.data(), node.grad.data(), dx, dgamma, dbeta, tape.exec().stream());
  }
};

}  // namespace gas::cuda::tape_ops
