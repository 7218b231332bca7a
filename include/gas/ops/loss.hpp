#pragma once
/// @brief Losses over selected rows: log_softmax, nll_loss, cross_entropy (fused) and bce_with_logits.
///
/// A training step computes the loss on the batch's training rows only, so every loss takes the list of rows
/// it averages over. The row list, the labels and the targets are read again by the backward pass: on the host
/// they must outlive it (the node's attributes keep spans and a pointer, no copies, so that recording allocates
/// nothing; gas/ops/host/loss.hpp); on the device they are uploaded into the node's buffers, which later steps reuse
/// (gas/cuda/ops/loss.cuh).

#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/loss.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

/// @brief Checks a row selection against a (rows x cols) input; returns whether it is strictly increasing, which
/// is when a backward pass may scatter into the selected rows in parallel.
inline bool check_selected_rows(std::span<const node_id> selected, std::int64_t rows, const char* what) {
  GAS_CHECK(!selected.empty(), value_error, what << ": the row selection is empty (the mean would divide by 0)");
  bool increasing = true;
  for (std::size_t k = 0; k < selected.size(); ++k) {
    GAS_CHECK(selected[k] >= 0 && selected[k] < rows, value_error,
              what << ": selected row " << selected[k] << " (position " << k << ") outside [0, " << rows << ")");
    increasing = increasing && (k == 0 || selected[k] > selected[k - 1]);
  }
  return increasing;
}

/// @brief Checks that every selected row has a label in [0, classes).
inline void check_labels(std::span<const std::int32_t> labels, std::span<const node_id> selected, std::int64_t rows,
                         std::int64_t classes, const char* what) {
  GAS_CHECK(static_cast<std::int64_t>(labels.size()) == rows, shape_error,
            what << ": " << labels.size() << " labels for an input of " << rows << " rows (one label per row)");
  for (const node_id r : selected) {
    const std::int32_t label = labels[static_cast<std::size_t>(r)];
    GAS_CHECK(label >= 0 && label < classes, value_error,
              what << ": row " << r << " has label " << label << ", outside [0, " << classes << ")"
                   << (label == -1 ? " (unlabeled)" : ""));
  }
}

}  // namespace detail

/// @brief Row-wise log(softmax(x)), computed as x - logsumexp(x) so that large logits do not overflow.
template <class T, class Backend>
autograd::Var<T, Backend> log_softmax(autograd::Var<T, Backend> x) {
  return record(LogSoftmax{}, x.rows(), x.cols(), {x});
}

/// @brief Mean over the selected rows r of -log_probs[r, labels[r]], as a 1 x 1 value.
///
/// `labels` has one entry per row of `log_probs`; only the selected rows' labels are read, and each must lie in
/// [0, cols) (value_error naming the row otherwise, e.g. for -1, unlabeled). A row selected twice counts
/// twice. On the host, `labels` and `rows` must outlive the backward pass.
template <class T, class Backend>
autograd::Var<T, Backend> nll_loss(autograd::Var<T, Backend> log_probs, std::span<const std::int32_t> labels,
                             std::span<const node_id> rows) {
  const bool increasing = detail::check_selected_rows(rows, log_probs.rows(), "nll_loss");
  detail::check_labels(labels, rows, log_probs.rows(), log_probs.cols(), "nll_loss");
  return record(NllLoss{.labels = labels, .rows = rows, .increasing = increasing}, 1, 1, {log_probs});
}

/// @brief nll_loss(log_softmax(logits), labels, rows) in one op: only the selected rows are normalized, and the
/// gradient softmax - onehot is formed directly. Same label rules and lifetime rules as `nll_loss`.
template <class T, class Backend>
autograd::Var<T, Backend> cross_entropy(autograd::Var<T, Backend> logits, std::span<const std::int32_t> labels,
                                  std::span<const node_id> rows) {
  const bool increasing = detail::check_selected_rows(rows, logits.rows(), "cross_entropy");
  detail::check_labels(labels, rows, logits.rows(), logits.cols(), "cross_entropy");
  return record(CrossEntropy{.labels = labels, .rows = rows, .increasing = increasing}, 1, 1, {logits});
}

/// @brief Mean over the selected rows and every class of the binary cross-entropy of sigmoid(logits) against 0/1
/// `targets` (same shape as `logits`), computed as max(x, 0) - x t + log(1 + exp(-|x|)), which never overflows.
/// Throws shape_error for a shape mismatch and value_error for a target other than 0 or 1 in a selected row.
/// On the host, `targets` and `rows` must outlive the backward pass.
template <class T, class Backend>
autograd::Var<T, Backend> bce_with_logits(autograd::Var<T, Backend> logits, const Tensor<std::uint8_t>& targets,
                                    std::span<const node_id> rows) {
  GAS_CHECK(targets.rows() == logits.rows() && targets.cols() == logits.cols(), shape_error,
            "logits are (" << logits.rows() << " x " << logits.cols() << "), targets (" << targets.rows() << " x "
                           << targets.cols() << ")");
  GAS_CHECK(logits.cols() > 0, shape_error, "logits have no classes (" << logits.rows() << " x 0)");
  const bool increasing = detail::check_selected_rows(rows, logits.rows(), "bce_with_logits");
  for (const node_id r : rows)
    for (std::int64_t j = 0; j < targets.cols(); ++j)
      GAS_CHECK(targets(r, j) <= 1, value_error,
                "row " << r << " has target " << int{targets(r, j)} << " in class " << j << "; targets are 0 or 1");
  return record(BceWithLogits{.targets = &targets, .rows = rows, .increasing = increasing}, 1, 1, {logits});
}

}  // namespace gas::ops
