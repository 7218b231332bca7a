#pragma once
/// @brief Losses over selected rows: log_softmax, nll_loss, cross_entropy (fused) and bce_with_logits.
///
/// A training step computes the loss on the batch's training rows only, so every loss takes the list of rows
/// it averages over. The row list, the labels and the targets are read again by the backward pass: on the host
/// they must outlive it (the node keeps pointers, no copies, so that recording allocates nothing); on the device
/// they are uploaded into the node's buffers, which later steps reuse.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

namespace detail {

/// @brief log(sum_j exp(x_j)) of one row, shifted by the row maximum so that it cannot overflow.
template <class T>
double log_sum_exp(const T* x, std::int64_t cols) {
  double m = -std::numeric_limits<double>::infinity();
  for (std::int64_t j = 0; j < cols; ++j) m = std::max(m, static_cast<double>(x[j]));
  if (std::isinf(m)) return m;  // all -inf (or some +inf): the shift would give nan
  double s = 0;
  for (std::int64_t j = 0; j < cols; ++j) s += std::exp(static_cast<double>(x[j]) - m);
  return m + std::log(s);
}

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
                   << (label == -1 ? " (unlabelled)" : ""));
  }
}

/// @brief Stable logistic function.
inline double sigmoid(double x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1 + e);
}

template <class T, class Backend>
void log_softmax_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto dx = tape.grad_of(n.inputs[0]);
  const auto y = MatrixView<const T>(n.value), g = MatrixView<const T>(n.grad);
#pragma omp parallel for schedule(static) if (y.rows() > 4096)
  for (std::int64_t i = 0; i < y.rows(); ++i) {
    double sum_g = 0;
    for (std::int64_t j = 0; j < y.cols(); ++j) sum_g += g(i, j);
    // dx = g - softmax(x) * sum(g), and softmax(x) = exp(log_softmax(x)).
    for (std::int64_t j = 0; j < y.cols(); ++j)
      dx(i, j) += static_cast<T>(g(i, j) - std::exp(static_cast<double>(y(i, j))) * sum_g);
  }
}

template <class T, class Backend>
void nll_loss_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto* labels = static_cast<const std::int32_t*>(n.refs[0]);
  const std::span<const node_id> selected(static_cast<const node_id*>(n.refs[1]),
                                          static_cast<std::size_t>(n.ints[0]));
  auto dx = tape.grad_of(n.inputs[0]);
  const double coef = static_cast<double>(n.grad(0, 0)) / static_cast<double>(selected.size());
  for (const node_id r : selected) dx(r, labels[r]) -= static_cast<T>(coef);
}

// aux (selected, 1): log-sum-exp of each selected row, to rebuild its softmax.
template <class T, class Backend>
void cross_entropy_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto* labels = static_cast<const std::int32_t*>(n.refs[0]);
  const auto* selected = static_cast<const node_id*>(n.refs[1]);
  const std::int64_t count = n.ints[0];
  const bool increasing = n.ints[1] != 0;  // distinct rows: no two positions write the same row
  const auto x = tape.node(n.inputs[0]).value;
  auto dx = tape.grad_of(n.inputs[0]);
  const double coef = static_cast<double>(n.grad(0, 0)) / static_cast<double>(count);
#pragma omp parallel for schedule(static) if (increasing && count > 1024)
  for (std::int64_t k = 0; k < count; ++k) {
    const node_id r = selected[k];
    const double lse = n.aux(k, 0);
    for (std::int64_t j = 0; j < x.cols(); ++j) {
      const double p = std::exp(static_cast<double>(x(r, j)) - lse);
      dx(r, j) += static_cast<T>(coef * (p - (j == labels[r] ? 1.0 : 0.0)));
    }
  }
}

template <class T, class Backend>
void bce_with_logits_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto& targets = *static_cast<const Tensor<std::uint8_t>*>(n.refs[0]);
  const auto* selected = static_cast<const node_id*>(n.refs[1]);
  const std::int64_t count = n.ints[0];
  const bool increasing = n.ints[1] != 0;
  const auto x = tape.node(n.inputs[0]).value;
  auto dx = tape.grad_of(n.inputs[0]);
  const double coef = static_cast<double>(n.grad(0, 0)) / (static_cast<double>(count) * static_cast<double>(x.cols()));
#pragma omp parallel for schedule(static) if (increasing && count > 1024)
  for (std::int64_t k = 0; k < count; ++k) {
    const node_id r = selected[k];
    for (std::int64_t j = 0; j < x.cols(); ++j)
      dx(r, j) += static_cast<T>(coef * (sigmoid(static_cast<double>(x(r, j))) - targets(r, j)));
  }
}

}  // namespace detail

/// @brief Row-wise log(softmax(x)), computed as x - logsumexp(x) so that large logits do not overflow.
template <class T, class Backend>
ag::Var<T, Backend> log_softmax(ag::Var<T, Backend> x) {
  auto [id, node] = x.tape().push("log_softmax", x.rows(), x.cols(), {x});
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::log_softmax(x.tape(), node);
  } else {
    node.backward = &detail::log_softmax_backward<T, Backend>;
    const auto in = x.value();
    auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i) {
      const double lse = detail::log_sum_exp(&in(i, 0), in.cols());
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = static_cast<T>(in(i, j) - lse);
    }
  }
  return {&x.tape(), id};
}

/// @brief Mean over the selected rows r of -log_probs[r, labels[r]], as a 1 x 1 value.
///
/// `labels` has one entry per row of `log_probs`; only the selected rows' labels are read, and each must lie in
/// [0, cols) (value_error naming the row otherwise, e.g. for -1, unlabelled). A row selected twice counts
/// twice. On the host, `labels` and `rows` must outlive the backward pass.
template <class T, class Backend>
ag::Var<T, Backend> nll_loss(ag::Var<T, Backend> log_probs, std::span<const std::int32_t> labels,
                             std::span<const node_id> rows) {
  [[maybe_unused]] const bool increasing = detail::check_selected_rows(rows, log_probs.rows(), "nll_loss");
  detail::check_labels(labels, rows, log_probs.rows(), log_probs.cols(), "nll_loss");
  auto [id, node] = log_probs.tape().push("nll_loss", 1, 1, {log_probs});
  node.refs = {labels.data(), rows.data()};
  node.ints[0] = static_cast<std::int64_t>(rows.size());
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::nll_loss(log_probs.tape(), node, labels, rows, increasing);
  } else {
    node.backward = &detail::nll_loss_backward<T, Backend>;
    const auto lp = log_probs.value();
    double total = 0;
    for (const node_id r : rows) total -= static_cast<double>(lp(r, labels[static_cast<std::size_t>(r)]));
    node.value(0, 0) = static_cast<T>(total / static_cast<double>(rows.size()));
  }
  return {&log_probs.tape(), id};
}

/// @brief nll_loss(log_softmax(logits), labels, rows) in one op: only the selected rows are normalised, and the
/// gradient softmax - onehot is formed directly. Same label rules and lifetime rules as `nll_loss`.
template <class T, class Backend>
ag::Var<T, Backend> cross_entropy(ag::Var<T, Backend> logits, std::span<const std::int32_t> labels,
                                  std::span<const node_id> rows) {
  const bool increasing = detail::check_selected_rows(rows, logits.rows(), "cross_entropy");
  detail::check_labels(labels, rows, logits.rows(), logits.cols(), "cross_entropy");
  auto [id, node] = logits.tape().push("cross_entropy", 1, 1, {logits});
  node.refs = {labels.data(), rows.data()};
  const auto count = static_cast<std::int64_t>(rows.size());
  node.ints[0] = count;
  node.ints[1] = increasing;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::cross_entropy(logits.tape(), node, labels, rows, increasing);
  } else {
    node.backward = &detail::cross_entropy_backward<T, Backend>;
    auto& aux = node.aux;
    aux.resize(count, 2);  // (log-sum-exp, loss) per selected position
    const auto x = logits.value();
#pragma omp parallel for schedule(static) if (count > 1024)
    for (std::int64_t k = 0; k < count; ++k) {
      const node_id r = rows[static_cast<std::size_t>(k)];
      const double lse = detail::log_sum_exp(&x(r, 0), x.cols());
      aux(k, 0) = static_cast<T>(lse);
      aux(k, 1) = static_cast<T>(lse - static_cast<double>(x(r, labels[static_cast<std::size_t>(r)])));
    }
    double total = 0;  // summed in position order: the same bits for any thread count
    for (std::int64_t k = 0; k < count; ++k) total += static_cast<double>(aux(k, 1));
    node.value(0, 0) = static_cast<T>(total / static_cast<double>(count));
  }
  return {&logits.tape(), id};
}

/// @brief Mean over the selected rows and every class of the binary cross-entropy of sigmoid(logits) against 0/1
/// `targets` (same shape as `logits`), computed as max(x, 0) - x t + log(1 + exp(-|x|)), which never overflows.
/// Throws shape_error for a shape mismatch and value_error for a target other than 0 or 1 in a selected row.
/// On the host, `targets` and `rows` must outlive the backward pass.
template <class T, class Backend>
ag::Var<T, Backend> bce_with_logits(ag::Var<T, Backend> logits, const Tensor<std::uint8_t>& targets,
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
  auto [id, node] = logits.tape().push("bce_with_logits", 1, 1, {logits});
  node.refs = {&targets, rows.data()};
  const auto count = static_cast<std::int64_t>(rows.size());
  node.ints[0] = count;
  node.ints[1] = increasing;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::bce_with_logits(logits.tape(), node, targets, rows, increasing);
  } else {
    node.backward = &detail::bce_with_logits_backward<T, Backend>;
    auto& aux = node.aux;
    aux.resize(count, 1);  // loss summed over the classes of each selected position
    const auto x = logits.value();
#pragma omp parallel for schedule(static) if (count > 1024)
    for (std::int64_t k = 0; k < count; ++k) {
      const node_id r = rows[static_cast<std::size_t>(k)];
      double s = 0;
      for (std::int64_t j = 0; j < x.cols(); ++j) {
        const double v = x(r, j);
        s += std::max(v, 0.0) - v * targets(r, j) + std::log1p(std::exp(-std::abs(v)));
      }
      aux(k, 0) = static_cast<T>(s);
    }
    double total = 0;
    for (std::int64_t k = 0; k < count; ++k) total += static_cast<double>(aux(k, 0));
    node.value(0, 0) = static_cast<T>(total / (static_cast<double>(count) * static_cast<double>(x.cols())));
  }
  return {&logits.tape(), id};
}

}  // namespace gas::ops
