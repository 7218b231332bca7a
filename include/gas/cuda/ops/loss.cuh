#pragma once
/// @brief Device implementations of the losses (gas/ops/loss.hpp).
///
/// Host data a loss receives (labels, row selection, targets) is uploaded into the node's `aux_ids` by the forward
/// pass, so the backward pass reads device copies: on the device the caller's spans need not outlive the op, and
/// the attributes' spans are used for their sizes only.

#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/loss.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/loss.hpp"

namespace gas::cuda::detail {

/// @brief Uploads a loss's labels (one per input row) and row selection into node.aux_ids = [labels | rows].
template <class T, class Loss>
void upload_loss_rows(autograd::Tape<T, device>& tape, autograd::Node<T, device>& node, const Loss& a) {
  const auto nl = static_cast<std::int64_t>(a.labels.size()), nr = static_cast<std::int64_t>(a.rows.size());
  node.aux_ids.resize(1, nl + nr);
  std::int32_t* ids = node.aux_ids.data();
  tape.exec().upload(MatrixView<const std::int32_t>(a.labels.data(), 1, nl), MatrixView<std::int32_t>(ids, 1, nl));
  tape.exec().upload(MatrixView<const node_id>(a.rows.data(), 1, nr), MatrixView<node_id>(ids + nl, 1, nr));
}

/// @brief The device labels and selection that upload_loss_rows stored, for a loss on an input of `rows` rows.
template <class T, class Loss>
LossRows loss_rows(const autograd::Node<T, device>& node, const Loss& a, std::int64_t rows) {
  const std::int32_t* ids = node.aux_ids.data();
  return {ids, ids + rows, static_cast<std::int64_t>(a.rows.size()), a.increasing};
}

}  // namespace gas::cuda::detail

namespace gas::ops {

/// @brief x - logsumexp(x) per row.
template <>
struct Impl<LogSoftmax, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const LogSoftmax&) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::log_softmax_forward(x.data(), x.rows(), x.cols(), node.value.data(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const LogSoftmax&) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::log_softmax_backward(node.value.data(), node.grad.data(), node.value.rows(), node.value.cols(), gx.data(),
                               tape.exec().stream());
  }
};

/// @brief (1 x 1) mean of -log_probs[r, labels[r]] over the selected rows (validated by the op).
template <>
struct Impl<NllLoss, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const NllLoss& a) {
    cuda::detail::upload_loss_rows(tape, node, a);
    const auto lp = tape.node(node.inputs[0]).value;
    cuda::nll_loss_forward(lp.data(), lp.rows(), lp.cols(), cuda::detail::loss_rows(node, a, lp.rows()),
                           node.value.data(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const NllLoss& a) {
    const auto lp = tape.node(node.inputs[0]).value;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::nll_loss_backward(node.grad.data(), lp.rows(), lp.cols(), cuda::detail::loss_rows(node, a, lp.rows()),
                            gx.data(), tape.exec().stream());
  }
};

/// @brief Fused cross-entropy (1 x 1) over the selected rows; aux (count, 2) keeps (log-sum-exp, loss) per
/// position for the backward pass, as on the host.
template <>
struct Impl<CrossEntropy, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const CrossEntropy& a) {
    cuda::detail::upload_loss_rows(tape, node, a);
    const auto x = tape.node(node.inputs[0]).value;
    node.aux.resize(static_cast<std::int64_t>(a.rows.size()), 2);
    cuda::cross_entropy_forward(x.data(), x.rows(), x.cols(), cuda::detail::loss_rows(node, a, x.rows()),
                                node.aux.data(), node.value.data(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const CrossEntropy& a) {
    const auto x = tape.node(node.inputs[0]).value;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::cross_entropy_backward(node.grad.data(), x.data(), x.rows(), x.cols(),
                                 cuda::detail::loss_rows(node, a, x.rows()), node.aux.data(), gx.data(),
                                 tape.exec().stream());
  }
};

/// @brief Binary cross-entropy with logits (1 x 1) over the selected rows (validated by the op). The row selection
/// and the whole (rows, cols) target matrix, one byte per target, are uploaded into aux_ids = [rows | target bytes]
/// (the bytes in whole 32-bit words); aux (count, 1) keeps each position's loss, as on the host.
template <>
struct Impl<BceWithLogits, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const BceWithLogits& a) {
    const auto x = tape.node(node.inputs[0]).value;
    const auto count = static_cast<std::int64_t>(a.rows.size());
    const auto& targets = *a.targets;
    const std::int64_t bytes = targets.rows() * targets.cols();
    node.aux_ids.resize(1, count + (bytes + 3) / 4);
    std::int32_t* ids = node.aux_ids.data();
    tape.exec().upload(MatrixView<const node_id>(a.rows.data(), 1, count), MatrixView<node_id>(ids, 1, count));
    tape.exec().upload(MatrixView<const std::uint8_t>(targets.data(), 1, bytes),
                       MatrixView<std::uint8_t>(reinterpret_cast<std::uint8_t*>(ids + count), 1, bytes));
    node.aux.resize(count, 1);
    cuda::bce_with_logits_forward(x.data(), x.rows(), x.cols(), rows_of(node, a), node.aux.data(), node.value.data(),
                                  tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const BceWithLogits& a) {
    const auto x = tape.node(node.inputs[0]).value;
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::bce_with_logits_backward(node.grad.data(), x.data(), x.rows(), x.cols(), rows_of(node, a), gx.data(),
                                   tape.exec().stream());
  }

private:
  /// @brief The device row selection and targets that the forward pass stored in aux_ids.
  template <class T>
  static cuda::TargetRows rows_of(const autograd::Node<T, cuda::device>& node, const BceWithLogits& a) {
    const std::int32_t* ids = node.aux_ids.data();
    const auto count = static_cast<std::int64_t>(a.rows.size());
    return {reinterpret_cast<const std::uint8_t*>(ids + count), ids, count, a.increasing};
  }
};

}  // namespace gas::ops
