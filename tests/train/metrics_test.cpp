#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gas/train/metrics.hpp"
#include "io/io_test_util.hpp"

// Expected values are worked out by hand in the comments; each equals what torch.argmax and scikit-learn
// (f1_score(average='micro'), roc_auc_score) give on the same inputs.

namespace {

using gas::node_id;

/// The O(n^2) definition of AUC: the fraction of (positive, negative) pairs ranked correctly, ties half.
double pairwise_auc(const std::vector<double>& scores, const std::vector<std::uint8_t>& targets) {
  double wins = 0;
  double pairs = 0;
  for (std::size_t i = 0; i < scores.size(); ++i)
    for (std::size_t j = 0; j < scores.size(); ++j)
      if (targets[i] == 1 && targets[j] == 0) {
        pairs += 1;
        wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

template <class T>
gas::Tensor<T> matrix(std::int64_t rows, std::int64_t cols, std::vector<T> values) {
  return gas::Tensor<T>(rows, cols, std::move(values));
}

}  // namespace

TEST_CASE_TEMPLATE("accuracy takes the first maximum per selected row, as torch.argmax", T, float, double) {
  const auto logits = matrix<T>(5, 3,
                                {1, 3, 2,       // argmax 1
                                 5, 5, 0,       // tie: 0, the lowest column
                                 0, 0, 0,       // all tied: 0
                                 -1, -2, -0.5,  // argmax 2
                                 9, 9, 9});     // unlabeled, never selected here
  const std::vector<std::int32_t> labels{1, 1, 0, 2, -1};
  const std::vector<node_id> all{0, 1, 2, 3};
  CHECK(gas::train::accuracy(logits.view(), labels, all) == 0.75);
  CHECK(gas::train::accuracy(logits.view(), labels, std::vector<node_id>{1}) == 0.0);
  CHECK(gas::train::accuracy(logits.view(), labels, std::vector<node_id>{1, 2}) == 0.5);
  CHECK(gas::train::accuracy(logits.view(), labels, std::vector<node_id>{3, 0, 2}) == 1.0);
  CHECK(gas::train::accuracy(logits.view(), labels, std::vector<node_id>{0, 0, 1, 1}) == 0.5);  // repeats count
  // Tensors and mutable views are accepted directly.
  CHECK(gas::train::accuracy(logits, labels, all) == 0.75);
  auto copy = logits;
  CHECK(gas::train::accuracy(copy.view(), labels, all) == 0.75);
}

TEST_CASE_TEMPLATE("accuracy reads a column block of a wider matrix and lets NaN win, as torch does", T, float,
                   double) {
  // Columns 1..2 of a (3, 4) matrix: ld 4, cols 2.
  const auto wide = matrix<T>(3, 4,
                              {100, 1, 2, 100,  // argmax 1 of the block
                               100, 4, 3, -100, // argmax 0
                               100, 7, 7, 100}); // tie: 0
  const auto block = wide.view().slice_cols(1, 3);
  CHECK(gas::train::accuracy(block, std::vector<std::int32_t>{1, 0, 0}, std::vector<node_id>{0, 1, 2}) == 1.0);
  CHECK(gas::train::accuracy(block, std::vector<std::int32_t>{0, 1, 1}, std::vector<node_id>{0, 1, 2}) == 0.0);

  const T nan = std::numeric_limits<T>::quiet_NaN();
  const auto with_nan = matrix<T>(3, 3, {1, nan, 5, nan, nan, 0, 2, 8, nan});
  const std::vector<node_id> rows{0, 1, 2};
  CHECK(gas::train::accuracy(with_nan.view(), std::vector<std::int32_t>{1, 0, 2}, rows) == 1.0);
  CHECK(gas::train::accuracy(with_nan.view(), std::vector<std::int32_t>{2, 1, 1}, rows) == 0.0);
}

TEST_CASE("accuracy rejects unlabeled or out-of-range rows, naming the row") {
  const auto logits = matrix<float>(4, 3, {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1});
  const std::vector<std::int32_t> labels{0, 1, -1, 3};
  CHECK_THROWS_NAMING(gas::value_error, gas::train::accuracy(logits, labels, std::vector<node_id>{0, 2}),
                      "gas::train::accuracy", "row 2", "label -1");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::accuracy(logits, labels, std::vector<node_id>{3}), "row 3",
                      "label 3", "[0, 3)");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::accuracy(logits, labels, std::vector<node_id>{1, 4}), "row 4",
                      "[0, 4)");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::accuracy(logits, labels, std::vector<node_id>{-1}), "row -1");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::accuracy(logits, labels, std::vector<node_id>{}), "no rows");
  CHECK_THROWS_NAMING(gas::shape_error, gas::train::accuracy(logits, std::vector<std::int32_t>{0, 1}, std::vector<node_id>{0}),
                      "2 labels for 4 logit rows");
}

TEST_CASE_TEMPLATE("micro_f1 pools true and false positives over every selected (row, class)", T, float, double) {
  const auto logits = matrix<T>(3, 3,
                                {2, -1, 0.5,  // predicted {0, 2}, true {0}: TP 1, FP 1
                                 -3, 0, 4,    // predicted {2} (0 is not > 0), true {1, 2}: TP 1, FN 1
                                 1, 1, -2});  // predicted {0, 1}, true {2}: FP 2, FN 1
  const gas::Tensor<std::uint8_t> targets(3, 3, std::vector<std::uint8_t>{1, 0, 0, 0, 1, 1, 0, 0, 1});
  const std::vector<node_id> all{0, 1, 2};
  // TP 2, FP 3, FN 2: 4 / 9 (precision 2/5, recall 2/4, F1 = 2 * 0.4 * 0.5 / 0.9).
  CHECK(gas::train::micro_f1(logits.view(), targets, all) == doctest::Approx(4.0 / 9.0).epsilon(1e-15));
  CHECK(gas::train::micro_f1(logits, targets, std::vector<node_id>{0}) == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  CHECK(gas::train::micro_f1(logits, targets, std::vector<node_id>{1}) == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  CHECK(gas::train::micro_f1(logits, targets, std::vector<node_id>{2}) == 0.0);
  // Threshold 0.5: row 0 predicts {0} only: TP 2, FP 2, FN 2 -> 1/2.
  CHECK(gas::train::micro_f1(logits, targets, all, 0.5) == 0.5);
  // Threshold -1.5: rows predict {0,1,2}, {1,2}, {0,1}: TP 3, FP 4, FN 1 -> 6/11.
  auto copy = logits;
  CHECK(gas::train::micro_f1(copy.view(), targets, all, -1.5) == doctest::Approx(6.0 / 11.0).epsilon(1e-15));
  // Perfect predictions; and nothing predicted or true at all is 0/0, reported as 0 as sklearn does.
  const auto perfect = matrix<T>(3, 3, {1, -1, -1, -1, 1, 1, -1, -1, 1});
  CHECK(gas::train::micro_f1(perfect, targets, all) == 1.0);
  const gas::Tensor<std::uint8_t> none(3, 3, std::uint8_t{0});
  CHECK(gas::train::micro_f1(matrix<T>(3, 3, std::vector<T>(9, T(-1))), none, all) == 0.0);
  CHECK(gas::train::micro_f1(perfect, none, all) == 0.0);  // TP 0, FP 4
}

TEST_CASE("the counts behind accuracy and micro_f1 add up over any split of the rows, empty parts included") {
  // What distributed evaluation relies on: each rank counts its own rows and the sums give the whole's metric.
  const auto logits = matrix<double>(3, 3, {2, -1, 0.5, -3, 0, 4, 1, 1, -2});
  const gas::Tensor<std::uint8_t> targets(3, 3, std::vector<std::uint8_t>{1, 0, 0, 0, 1, 1, 0, 0, 1});
  const std::vector<std::int32_t> labels{0, 2, 1};
  const std::vector<node_id> all{0, 1, 2}, first{0, 2}, second{1}, none{};
  const auto f1 = [&](const std::vector<node_id>& r) { return gas::train::micro_f1_counts(logits.view(), targets, r); };
  const auto acc = [&](const std::vector<node_id>& r) {
    return gas::train::accuracy_counts(logits.view(), std::span<const std::int32_t>(labels), r);
  };
  const auto whole = f1(all), a = f1(first), b = f1(second);
  CHECK(f1(none) == std::array<std::int64_t, 3>{0, 0, 0});
  for (std::size_t j = 0; j < 3; ++j) CHECK(a[j] + b[j] == whole[j]);
  CHECK(whole == std::array<std::int64_t, 3>{2, 3, 2});  // TP 2, FP 3, FN 2 (the case above)
  CHECK(gas::train::micro_f1_of(whole[0], whole[1], whole[2]) == gas::train::micro_f1(logits.view(), targets, all));
  CHECK(gas::train::micro_f1_of(0, 0, 0) == 0.0);
  // Argmaxes 0, 2, 0 against labels 0, 2, 1: 2 of 3.
  CHECK(acc(all) == std::array<std::int64_t, 2>{2, 3});
  CHECK(acc(first)[0] + acc(second)[0] == 2);
  CHECK(acc(none) == std::array<std::int64_t, 2>{0, 0});
}

TEST_CASE("micro_f1 rejects mismatched shapes, bad rows and non-binary targets") {
  const auto logits = matrix<double>(2, 2, {1, -1, -1, 1});
  const gas::Tensor<std::uint8_t> targets(2, 2, std::vector<std::uint8_t>{1, 0, 2, 1});
  CHECK_THROWS_NAMING(gas::shape_error,
                      gas::train::micro_f1(logits, gas::Tensor<std::uint8_t>(2, 3), std::vector<node_id>{0}),
                      "gas::train::micro_f1", "targets (2, 3) for logits (2, 2)");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::micro_f1(logits, targets, std::vector<node_id>{1}), "row 1",
                      "target 2", "class 0");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::micro_f1(logits, targets, std::vector<node_id>{0, 2}), "row 2");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::micro_f1(logits, targets, std::vector<node_id>{}), "no rows");
}

TEST_CASE_TEMPLATE("roc_auc equals sklearn's roc_auc_score on hand-worked cases, ties counted half", T, float,
                   double) {
  using V = std::vector<T>;
  using Y = std::vector<std::uint8_t>;
  // sklearn's documented example: positives 0.35 and 0.8 beat 1 and 2 of the 2 negatives: 3 / 4.
  CHECK(gas::train::roc_auc(V{0.1, 0.4, 0.35, 0.8}, Y{0, 0, 1, 1}) == 0.75);
  CHECK(gas::train::roc_auc(V{0.1, 0.2, 0.3, 0.4}, Y{0, 0, 1, 1}) == 1.0);
  CHECK(gas::train::roc_auc(V{0.1, 0.2, 0.3, 0.4}, Y{1, 1, 0, 0}) == 0.0);
  // Everything tied: 0.5.
  CHECK(gas::train::roc_auc(V{0.5, 0.5, 0.5, 0.5}, Y{0, 1, 0, 1}) == 0.5);
  // A positive tied with a negative: 0.5 beats 0.1 and half of 0.5 (1.5), 0.9 beats both (2): 3.5 / 4.
  CHECK(gas::train::roc_auc(V{0.1, 0.5, 0.5, 0.9}, Y{0, 0, 1, 1}) == 0.875);
  // 0.9 (pos) ties 0.9 (neg), beats 0.1: 1.5; 0.3 and 0.7 beat 0.1: 1 each -> 3.5 / 6.
  CHECK(gas::train::roc_auc(V{0.9, 0.9, 0.3, 0.7, 0.1}, Y{1, 0, 1, 1, 0}) == doctest::Approx(7.0 / 12.0).epsilon(1e-15));
  // Infinite scores (sklearn refuses them) rank like any other: +inf beats -inf and 0, ties +inf: 2.5 / 3.
  const T inf = std::numeric_limits<T>::infinity();
  CHECK(gas::train::roc_auc(V{-inf, inf, 0, inf}, Y{0, 1, 0, 0}) == doctest::Approx(5.0 / 6.0).epsilon(1e-15));
  // The span form.
  const V s{0.1, 0.4, 0.35, 0.8};
  const Y y{0, 0, 1, 1};
  CHECK(gas::train::roc_auc(std::span<const T>(s), std::span<const std::uint8_t>(y)) == 0.75);
}

TEST_CASE("roc_auc matches the O(n^2) pairwise definition on random data with many ties") {
  std::mt19937 rng(14);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 2 + static_cast<int>(rng() % 300);
    const int levels = 1 + static_cast<int>(rng() % 20);  // few levels: many ties
    std::vector<double> scores(static_cast<std::size_t>(n));
    std::vector<std::uint8_t> targets(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      scores[static_cast<std::size_t>(i)] = trial % 2 ? static_cast<int>(rng() % static_cast<unsigned>(levels)) * 0.25
                                                      : std::uniform_real_distribution<double>(-3, 3)(rng);
      targets[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(rng() % 3 == 0);
    }
    targets[0] = 0;
    targets[1] = 1;
    CAPTURE(trial);
    const double expected = pairwise_auc(scores, targets);
    CHECK(gas::train::roc_auc(scores, targets) == doctest::Approx(expected).epsilon(1e-14));
    // Float scores (same values: quarters and ranks survive the cast up to ties created by rounding).
    std::vector<float> narrow(scores.begin(), scores.end());
    std::vector<double> widened(narrow.begin(), narrow.end());
    CHECK(gas::train::roc_auc(narrow, targets) == doctest::Approx(pairwise_auc(widened, targets)).epsilon(1e-14));
    // Negating the scores mirrors the curve.
    std::vector<double> negated(scores.size());
    for (std::size_t i = 0; i < scores.size(); ++i) negated[i] = -scores[i];
    CHECK(gas::train::roc_auc(negated, targets) == doctest::Approx(1.0 - expected).epsilon(1e-12));
  }
}

TEST_CASE_TEMPLATE("roc_auc of 2-class logits ranks selected rows by logit[1] - logit[0]", T, float, double) {
  // Differences 0.1, 0.4, 0.35 (0.65 vs 1.0), 0.8; row 4 is unlabeled and not selected.
  const auto logits = matrix<T>(5, 2, {0, 0.1, 0, 0.4, 0.625, 0.975, -0.8, 0, 3, 3});
  const std::vector<std::int32_t> labels{0, 0, 1, 1, -1};
  const std::vector<node_id> rows{0, 1, 2, 3};
  CHECK(gas::train::roc_auc(logits.view(), labels, rows) == 0.75);
  CHECK(gas::train::roc_auc(logits, labels, std::vector<node_id>{3, 2, 1, 0}) == 0.75);  // order is irrelevant
  auto copy = logits;
  CHECK(gas::train::roc_auc(copy.view(), labels, std::vector<node_id>{0, 3}) == 1.0);
}

TEST_CASE("roc_auc rejects one-class targets, NaN, bad labels and logits that are not 2-class") {
  using Y = std::vector<std::uint8_t>;
  CHECK_THROWS_NAMING(gas::value_error, gas::train::roc_auc(std::vector<double>{0.1, 0.2}, Y{1, 1}),
                      "gas::train::roc_auc", "one class", "2 positive, 0 negative");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::roc_auc(std::vector<double>{0.1, 0.2}, Y{0, 0}), "one class");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::roc_auc(std::vector<double>{}, Y{}), "one class");
  CHECK_THROWS_NAMING(gas::value_error,
                      gas::train::roc_auc(std::vector<float>{0.1f, std::numeric_limits<float>::quiet_NaN()}, Y{0, 1}),
                      "score 1 is NaN");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::roc_auc(std::vector<double>{0.1, 0.2, 0.3}, Y{0, 1, 2}),
                      "target 2 is 2");
  CHECK_THROWS_NAMING(gas::shape_error, gas::train::roc_auc(std::vector<double>{0.1, 0.2}, Y{0, 1, 1}),
                      "2 scores for 3 targets");

  const auto three = matrix<double>(2, 3, {0, 1, 2, 3, 4, 5});
  CHECK_THROWS_NAMING(gas::value_error,
                      gas::train::roc_auc(three, std::vector<std::int32_t>{0, 1}, std::vector<node_id>{0, 1}),
                      "2 logit columns, got 3");
  const auto two = matrix<double>(3, 2, {0, 1, 1, 0, 2, 2});
  const std::vector<std::int32_t> labels{0, 1, -1};
  CHECK_THROWS_NAMING(gas::value_error, gas::train::roc_auc(two, labels, std::vector<node_id>{0, 2}), "row 2",
                      "label -1");
  CHECK_THROWS_NAMING(gas::value_error,
                      gas::train::roc_auc(two, std::vector<std::int32_t>{0, 2, 1}, std::vector<node_id>{1}), "row 1",
                      "label 2");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::roc_auc(two, labels, std::vector<node_id>{0, 3}), "row 3");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::roc_auc(two, labels, std::vector<node_id>{}), "no rows");
  CHECK_THROWS_NAMING(gas::value_error, gas::train::roc_auc(two, labels, std::vector<node_id>{0}), "one class");
}

TEST_CASE("metric_for picks micro_f1 for multi-label datasets and accuracy otherwise; to_string names them") {
  CHECK(gas::train::to_string(gas::train::Metric::accuracy) == "accuracy");
  CHECK(gas::train::to_string(gas::train::Metric::micro_f1) == "micro_f1");
  CHECK(gas::train::to_string(gas::train::Metric::roc_auc) == "roc_auc");
  static_assert(gas::train::to_string(gas::train::Metric::roc_auc) == "roc_auc");

  gas::Dataset single;
  single.labels = {0, 1, 2, -1};
  single.num_classes = 3;
  CHECK(gas::train::metric_for(single) == gas::train::Metric::accuracy);

  gas::Dataset binary;  // 2-class: accuracy, unless it is a binary heterophilous benchmark published with ROC-AUC
  binary.labels = {0, 1};
  binary.num_classes = 2;
  CHECK(gas::train::metric_for(binary) == gas::train::Metric::accuracy);
  for (const char* name : {"minesweeper", "tolokers", "questions"}) {
    binary.name = name;
    CHECK(gas::train::metric_for(binary) == gas::train::Metric::roc_auc);
  }
  binary.name = "minesweeper";
  binary.num_classes = 3;  // not the published binary task: the name alone does not decide
  binary.labels = {0, 1, 2};
  CHECK(gas::train::metric_for(binary) == gas::train::Metric::accuracy);

  gas::Dataset multi;
  multi.multi_labels = gas::Tensor<std::uint8_t>(2, 4, std::uint8_t{1});
  multi.num_classes = 4;
  CHECK(gas::train::metric_for(multi) == gas::train::Metric::micro_f1);

  CHECK(gas::train::parse_metric("roc_auc") == gas::train::Metric::roc_auc);
  CHECK(gas::train::parse_metric("micro_f1") == gas::train::Metric::micro_f1);
  CHECK_THROWS_NAMING(gas::config_error, (void)gas::train::parse_metric("auc"), "unknown metric 'auc'");
}
