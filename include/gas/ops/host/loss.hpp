#pragma once
/// @brief Host implementations of the losses (gas/ops/loss.hpp): `Impl<LogSoftmax, host>`, `Impl<NllLoss, host>`,
/// `Impl<CrossEntropy, host>`, `Impl<BceWithLogits, host>`.
///
/// The losses read the caller's labels, row selection and targets through the spans and pointer of their
/// attributes, in the forward and again in the backward pass (no copies: recording allocates nothing). Sums over the
/// selected positions run in position order, so the loss has the same bits for any thread count.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

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

/// @brief Stable logistic function.
inline double sigmoid(double x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1 + e);
}

}  // namespace detail

/// @brief x - logsumexp(x) per row; dx = g - softmax(x) * sum(g), with softmax(x) = exp(log_softmax(x)).
template <>
struct Impl<LogSoftmax, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const LogSoftmax&) {
    const MatrixView<const T> in = tape.node(node.inputs[0]).value;
    auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i) {
      const double lse = detail::log_sum_exp(&in(i, 0), in.cols());
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = static_cast<T>(in(i, j) - lse);
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const LogSoftmax&) {
    auto dx = tape.grad_of(n.inputs[0]);
    const auto y = MatrixView<const T>(n.value), g = MatrixView<const T>(n.grad);
#pragma omp parallel for schedule(static) if (y.rows() > 4096)
    for (std::int64_t i = 0; i < y.rows(); ++i) {
      double sum_g = 0;
      for (std::int64_t j = 0; j < y.cols(); ++j) sum_g += g(i, j);
      for (std::int64_t j = 0; j < y.cols(); ++j)
        dx(i, j) += static_cast<T>(g(i, j) - std::exp(static_cast<double>(y(i, j))) * sum_g);
    }
  }
};

/// @brief Mean over the selected rows of -log_probs[r, labels[r]].
template <>
struct Impl<NllLoss, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const NllLoss& a) {
    const MatrixView<const T> lp = tape.node(node.inputs[0]).value;
    double total = 0;
    for (const node_id r : a.rows) total -= static_cast<double>(lp(r, a.labels[static_cast<std::size_t>(r)]));
    node.value(0, 0) = static_cast<T>(total / static_cast<double>(a.rows.size()));
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const NllLoss& a) {
    auto dx = tape.grad_of(n.inputs[0]);
    const double coef = static_cast<double>(n.grad(0, 0)) / static_cast<double>(a.rows.size());
    for (const node_id r : a.rows) dx(r, a.labels[static_cast<std::size_t>(r)]) -= static_cast<T>(coef);
  }
};

/// @brief Fused cross-entropy: only the selected rows are normalized; aux (selected, 2) keeps each position's
/// (log-sum-exp, loss), and the backward pass forms softmax - onehot directly.
template <>
struct Impl<CrossEntropy, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const CrossEntropy& a) {
    const auto count = static_cast<std::int64_t>(a.rows.size());
    auto& aux = node.aux;
    aux.resize(count, 2);  // (log-sum-exp, loss) per selected position
    const MatrixView<const T> x = tape.node(node.inputs[0]).value;
#pragma omp parallel for schedule(static) if (count > 1024)
    for (std::int64_t k = 0; k < count; ++k) {
      const node_id r = a.rows[static_cast<std::size_t>(k)];
      const double lse = detail::log_sum_exp(&x(r, 0), x.cols());
      aux(k, 0) = static_cast<T>(lse);
      aux(k, 1) = static_cast<T>(lse - static_cast<double>(x(r, a.labels[static_cast<std::size_t>(r)])));
    }
    double total = 0;  // summed in position order: the same bits for any thread count
    for (std::int64_t k = 0; k < count; ++k) total += static_cast<double>(aux(k, 1));
    node.value(0, 0) = static_cast<T>(total / static_cast<double>(count));
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const CrossEntropy& a) {
    const std::int32_t* labels = a.labels.data();
    const node_id* selected = a.rows.data();
    const auto count = static_cast<std::int64_t>(a.rows.size());
    const auto x = tape.node(n.inputs[0]).value;
    auto dx = tape.grad_of(n.inputs[0]);
    const double coef = static_cast<double>(n.grad(0, 0)) / static_cast<double>(count);
    // Distinct (increasing) rows: no two positions write the same row.
#pragma omp parallel for schedule(static) if (a.increasing && count > 1024)
    for (std::int64_t k = 0; k < count; ++k) {
      const node_id r = selected[k];
      const double lse = n.aux(k, 0);
      for (std::int64_t j = 0; j < x.cols(); ++j) {
        const double p = std::exp(static_cast<double>(x(r, j)) - lse);
        dx(r, j) += static_cast<T>(coef * (p - (j == labels[r] ? 1.0 : 0.0)));
      }
    }
  }
};

/// @brief Binary cross-entropy with logits, max(x, 0) - x t + log(1 + exp(-|x|)); aux (selected, 1) keeps each
/// position's loss summed over the classes.
template <>
struct Impl<BceWithLogits, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const BceWithLogits& a) {
    const auto& targets = *a.targets;
    const auto count = static_cast<std::int64_t>(a.rows.size());
    auto& aux = node.aux;
    aux.resize(count, 1);  // loss summed over the classes of each selected position
    const MatrixView<const T> x = tape.node(node.inputs[0]).value;
#pragma omp parallel for schedule(static) if (count > 1024)
    for (std::int64_t k = 0; k < count; ++k) {
      const node_id r = a.rows[static_cast<std::size_t>(k)];
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
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const BceWithLogits& a) {
    const auto& targets = *a.targets;
    const node_id* selected = a.rows.data();
    const auto count = static_cast<std::int64_t>(a.rows.size());
    const auto x = tape.node(n.inputs[0]).value;
    auto dx = tape.grad_of(n.inputs[0]);
    const double coef =
        static_cast<double>(n.grad(0, 0)) / (static_cast<double>(count) * static_cast<double>(x.cols()));
#pragma omp parallel for schedule(static) if (a.increasing && count > 1024)
    for (std::int64_t k = 0; k < count; ++k) {
      const node_id r = selected[k];
      for (std::int64_t j = 0; j < x.cols(); ++j)
        dx(r, j) += static_cast<T>(coef * (detail::sigmoid(static_cast<double>(x(r, j))) - targets(r, j)));
    }
  }
};

}  // namespace gas::ops
