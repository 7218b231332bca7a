#pragma once
/// @brief Evaluation metrics on selected rows: accuracy, micro-averaged F1 and exact binary ROC-AUC.
///
/// Each metric reads model outputs (logits, one row per node) and targets for the nodes listed in `rows`, so
/// that one forward pass over the whole graph is scored on the train, validation and test splits in turn.
/// Values equal what the reference computes with torch and scikit-learn: accuracy takes torch.argmax (first
/// maximum wins), micro-F1 thresholds logits at 0 as `f1_score(y, out > 0, average='micro')`, and ROC-AUC is
/// sklearn's `roc_auc_score` (trapezoidal, ties counted half), computed exactly as a Mann-Whitney U statistic.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"

namespace gas::train {

/// @brief What accuracy() counts: {rows whose argmax is the label, rows}. `rows` may be empty (a rank's share of a
/// split in distributed evaluation, whose counts are summed over the ranks). Same errors otherwise.
template <class T>
std::array<std::int64_t, 2> accuracy_counts(MatrixView<const T> logits, std::span<const std::int32_t> labels,
                                            std::span<const node_id> rows) {
  static_assert(std::is_floating_point_v<T>, "gas::train::accuracy scores floating-point logits");
  GAS_CHECK(static_cast<std::int64_t>(labels.size()) == logits.rows(), shape_error,
            labels.size() << " labels for " << logits.rows() << " logit rows");
  std::int64_t correct = 0;
  for (const node_id r : rows) {
    GAS_CHECK(r >= 0 && r < logits.rows(), value_error,
              "row " << r << " outside [0, " << logits.rows() << ")");
    const std::int32_t label = labels[static_cast<std::size_t>(r)];
    GAS_CHECK(label >= 0 && label < logits.cols(), value_error,
              "row " << r << " has label " << label << " outside [0, " << logits.cols() << ")");
    // As torch.argmax: the first maximum, and NaN counts as larger than everything (first NaN wins).
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < logits.cols() && !std::isnan(logits(r, best)); ++j)
      if (std::isnan(logits(r, j)) || logits(r, j) > logits(r, best)) best = j;
    correct += best == label;
  }
  return {correct, static_cast<std::int64_t>(rows.size())};
}

/// @brief Fraction of `rows` whose argmax logit equals the label; ties go to the lowest column, NaN wins.
/// Throws value_error for no rows, a row outside the logits or a row whose label is -1 or not a column.
template <class T>
double accuracy(MatrixView<const T> logits, std::span<const std::int32_t> labels,
                std::span<const node_id> rows) {  // logits: (num_nodes, num_classes)
  GAS_CHECK(!rows.empty(), value_error, "no rows to score");
  const auto [correct, total] = accuracy_counts(logits, labels, rows);
  return static_cast<double>(correct) / static_cast<double>(total);
}

/// @brief Micro-F1 from its counts: 2TP / (2TP + FP + FN), 0 when that is 0/0.
inline double micro_f1_of(std::int64_t tp, std::int64_t fp, std::int64_t fn) {
  const std::int64_t denominator = 2 * tp + fp + fn;
  return denominator == 0 ? 0.0 : static_cast<double>(2 * tp) / static_cast<double>(denominator);
}

/// @brief What micro_f1() counts: {TP, FP, FN}. `rows` may be empty (see accuracy_counts). Same errors otherwise.
template <class T>
std::array<std::int64_t, 3> micro_f1_counts(MatrixView<const T> logits, const Tensor<std::uint8_t>& targets,
                                            std::span<const node_id> rows, std::type_identity_t<T> threshold = 0) {
  static_assert(std::is_floating_point_v<T>, "gas::train::micro_f1 scores floating-point logits");
  GAS_CHECK(targets.rows() == logits.rows() && targets.cols() == logits.cols(), shape_error,
            "targets (" << targets.rows() << ", " << targets.cols() << ") for logits (" << logits.rows() << ", "
                        << logits.cols() << ")");
  std::int64_t tp = 0, fp = 0, fn = 0;
  for (const node_id r : rows) {
    GAS_CHECK(r >= 0 && r < logits.rows(), value_error,
              "row " << r << " outside [0, " << logits.rows() << ")");
    for (std::int64_t j = 0; j < logits.cols(); ++j) {
      const std::uint8_t truth = targets(r, j);
      GAS_CHECK(truth <= 1, value_error,
                "row " << r << " has target " << int{truth} << " in class " << j << ", not 0 or 1");
      const bool predicted = logits(r, j) > threshold;
      tp += predicted && truth;
      fp += predicted && !truth;
      fn += !predicted && truth;
    }
  }
  return {tp, fp, fn};
}

/// @brief Micro-averaged F1 over every (row, class) of `rows`: 2TP / (2TP + FP + FN), 0 when that is 0/0.
/// A class is predicted where its logit exceeds `threshold` (0: the reference thresholds raw logits at 0).
/// Throws shape_error when logits and targets differ in shape, value_error for no rows, a row outside
/// them or a target that is not 0 or 1.
template <class T>
double micro_f1(MatrixView<const T> logits, const Tensor<std::uint8_t>& targets, std::span<const node_id> rows,
                std::type_identity_t<T> threshold = 0) {  // logits, targets: (num_nodes, num_classes)
  GAS_CHECK(!rows.empty(), value_error, "no rows to score");
  const auto [tp, fp, fn] = micro_f1_counts(logits, targets, rows, threshold);
  return micro_f1_of(tp, fp, fn);
}

/// @brief Area under the ROC curve of binary `targets` (0/1) ranked by `scores`, as sklearn's roc_auc_score.
/// Exact: the Mann-Whitney U statistic with tied scores counted half, in O(n log n). Infinite scores, which
/// sklearn refuses, rank as any other (an overflowed logit still orders the nodes).
/// Throws shape_error for different lengths; value_error for NaN scores, targets other than 0/1, or targets
/// of one class only (the AUC is undefined then, as sklearn says).
template <class T>
double roc_auc(std::span<const T> scores, std::span<const std::uint8_t> targets) {
  static_assert(std::is_floating_point_v<T>, "gas::train::roc_auc ranks floating-point scores");
  GAS_CHECK(scores.size() == targets.size(), shape_error,
            scores.size() << " scores for " << targets.size() << " targets");
  std::int64_t positives = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    GAS_CHECK(!std::isnan(scores[i]), value_error, "score " << i << " is NaN");
    GAS_CHECK(targets[i] <= 1, value_error, "target " << i << " is " << int{targets[i]} << ", not 0 or 1");
    positives += targets[i];
  }
  const auto negatives = static_cast<std::int64_t>(scores.size()) - positives;
  GAS_CHECK(positives > 0 && negatives > 0, value_error,
            "targets hold one class only (" << positives << " positive, " << negatives
                                            << " negative): ROC-AUC is undefined");
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Each positive beats every negative scored below it and half of those tied with it. Twice the count is an
  // integer, kept exact in 64 bits (n up to 3e9), and divided only once at the end.
  std::int64_t twice_wins = 0;
  std::int64_t negatives_below = 0;
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin;
    std::int64_t group_positives = 0;
    while (end < order.size() && scores[order[end]] == scores[order[begin]]) group_positives += targets[order[end++]];
    const std::int64_t group_negatives = static_cast<std::int64_t>(end - begin) - group_positives;
    twice_wins += group_positives * (2 * negatives_below + group_negatives);
    negatives_below += group_negatives;
    begin = end;
  }
  return static_cast<double>(twice_wins) / (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
}

/// @brief ROC-AUC of a 2-class single-label task on `rows`, scored by logit[1] - logit[0] (the ranking of the
/// softmax probability of class 1). Throws value_error unless logits have 2 columns, for no rows, a row
/// outside the logits or a row whose label is not 0 or 1 (-1, unlabeled, included).
template <class T>
double roc_auc(MatrixView<const T> logits, std::span<const std::int32_t> labels,
               std::span<const node_id> rows) {  // logits: (num_nodes, 2)
  GAS_CHECK(logits.cols() == 2, value_error, "ROC-AUC needs 2 logit columns, got " << logits.cols());
  GAS_CHECK(static_cast<std::int64_t>(labels.size()) == logits.rows(), shape_error,
            labels.size() << " labels for " << logits.rows() << " logit rows");
  GAS_CHECK(!rows.empty(), value_error, "no rows to score");
  std::vector<T> scores;
  std::vector<std::uint8_t> targets;
  scores.reserve(rows.size());
  targets.reserve(rows.size());
  for (const node_id r : rows) {
    GAS_CHECK(r >= 0 && r < logits.rows(), value_error,
              "row " << r << " outside [0, " << logits.rows() << ")");
    const std::int32_t label = labels[static_cast<std::size_t>(r)];
    GAS_CHECK(label == 0 || label == 1, value_error, "row " << r << " has label " << label << ", not 0 or 1");
    scores.push_back(logits(r, 1) - logits(r, 0));
    targets.push_back(static_cast<std::uint8_t>(label));
  }
  return roc_auc(std::span<const T>(scores), std::span<const std::uint8_t>(targets));
}

// Overloads for owning tensors, mutable views and vectors, whose element type template deduction cannot
// see through the conversion to a view or span.

/// @brief accuracy() of a tensor of logits.
template <class T>
double accuracy(const Tensor<T>& logits, std::span<const std::int32_t> labels, std::span<const node_id> rows) {
  return accuracy(logits.view(), labels, rows);
}
/// @brief accuracy() of a mutable view of logits.
template <class T>
  requires(!std::is_const_v<T>)
double accuracy(MatrixView<T> logits, std::span<const std::int32_t> labels, std::span<const node_id> rows) {
  return accuracy(MatrixView<const T>(logits), labels, rows);
}
/// @brief micro_f1() of a tensor of logits.
template <class T>
double micro_f1(const Tensor<T>& logits, const Tensor<std::uint8_t>& targets, std::span<const node_id> rows,
                std::type_identity_t<T> threshold = 0) {
  return micro_f1(logits.view(), targets, rows, threshold);
}
/// @brief micro_f1() of a mutable view of logits.
template <class T>
  requires(!std::is_const_v<T>)
double micro_f1(MatrixView<T> logits, const Tensor<std::uint8_t>& targets, std::span<const node_id> rows,
                std::type_identity_t<T> threshold = 0) {
  return micro_f1(MatrixView<const T>(logits), targets, rows, threshold);
}
/// @brief roc_auc() of scores held in a vector.
template <class T>
double roc_auc(const std::vector<T>& scores, std::span<const std::uint8_t> targets) {
  return roc_auc(std::span<const T>(scores), targets);
}
/// @brief roc_auc() of a tensor of 2-class logits.
template <class T>
double roc_auc(const Tensor<T>& logits, std::span<const std::int32_t> labels, std::span<const node_id> rows) {
  return roc_auc(logits.view(), labels, rows);
}
/// @brief roc_auc() of a mutable view of 2-class logits.
template <class T>
  requires(!std::is_const_v<T>)
double roc_auc(MatrixView<T> logits, std::span<const std::int32_t> labels, std::span<const node_id> rows) {
  return roc_auc(MatrixView<const T>(logits), labels, rows);
}

/// @brief The metrics a run can report and select its best epoch by.
enum class Metric { accuracy, micro_f1, roc_auc };

/// @brief The metric's name as configurations and logs spell it.
constexpr std::string_view to_string(Metric metric) {
  switch (metric) {
    case Metric::accuracy: return "accuracy";
    case Metric::micro_f1: return "micro_f1";
    case Metric::roc_auc: return "roc_auc";
  }
  return "unknown";
}

/// @brief The metric `data` is published with: micro_f1 for multi-label targets (PPI, Yelp, as the reference),
/// ROC-AUC for the binary heterophilous benchmarks (minesweeper, tolokers, questions: Platonov et al., ICLR 2023,
/// recognised by the name the npz reader gives them, the file stem), accuracy otherwise. A caller that wants
/// another names it (TrainerOptions::metric, gas-train's --metric).
inline Metric metric_for(const Dataset& data) {
  if (data.is_multi_label()) return Metric::micro_f1;
  const bool binary_heterophilous =
      data.num_classes == 2 && (data.name == "minesweeper" || data.name == "tolokers" || data.name == "questions");
  return binary_heterophilous ? Metric::roc_auc : Metric::accuracy;
}

/// @brief The metric named `name` (accuracy, micro_f1, roc_auc); throws config_error naming `flag` otherwise.
inline Metric parse_metric(std::string_view name, std::string_view flag = "--metric") {
  for (Metric m : {Metric::accuracy, Metric::micro_f1, Metric::roc_auc})
    if (to_string(m) == name) return m;
  throw config_error(std::string(flag) + ": unknown metric '" + std::string(name) + "' (accuracy, micro_f1, roc_auc)");
}

}  // namespace gas::train
