#pragma once
/// @brief Host implementations of the row gathers and scatters (gas/ops/gather.hpp): `Impl<GatherRows, host>`,
/// `Impl<ScatterAddRows, host>`, each the other's backward; the scatter goes through the inverted index
/// (a counting sort, positions grouped by target in increasing order), never through atomics.

#include <algorithm>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

/// @brief Groups the positions of `index` by target in [0, targets): `inverse` becomes a (targets + 1 + n, 1)
/// column holding a CSR pointer (targets + 1 entries) followed by the positions, each group in increasing order.
template <class Backend>
void invert_index(std::span<const node_id> index, std::int64_t targets, Tensor<std::int64_t, Backend>& inverse) {
  const auto n = static_cast<std::int64_t>(index.size());
  inverse.resize(targets + 1 + n, 1);
  std::int64_t* ptr = inverse.data();
  std::int64_t* order = ptr + targets + 1;
  std::fill_n(ptr, targets + 1, std::int64_t{0});
  for (std::int64_t i = 0; i < n; ++i) ++ptr[index[static_cast<std::size_t>(i)] + 1];
  for (std::int64_t t = 0; t < targets; ++t) ptr[t + 1] += ptr[t];
  // Filling advances ptr[t] to the end of group t, which is where group t + 1 starts; shift back after.
  for (std::int64_t i = 0; i < n; ++i) order[ptr[index[static_cast<std::size_t>(i)]]++] = i;
  for (std::int64_t t = targets; t > 0; --t) ptr[t] = ptr[t - 1];
  ptr[0] = 0;
}

/// @brief out[t] (+)= sum over positions i with index[i] == t of src[i], through the inverse built by
/// invert_index; every target row is owned by one thread.
template <class T>
void scatter_rows(MatrixView<const T> src, const std::int64_t* inverse, MatrixView<T> out, bool accumulate) {
  const std::int64_t targets = out.rows();
  if (out.cols() == 0) return;  // nothing to add, and no element to take an address of
  const std::int64_t* ptr = inverse;
  const std::int64_t* order = inverse + targets + 1;
#pragma omp parallel for schedule(static) if (targets > 4096)
  for (std::int64_t t = 0; t < targets; ++t) {
    T* row = &out(t, 0);
    if (!accumulate) std::fill_n(row, out.cols(), T{0});
    for (std::int64_t k = ptr[t]; k < ptr[t + 1]; ++k) {
      const std::int64_t i = order[k];
      for (std::int64_t j = 0; j < out.cols(); ++j) row[j] += src(i, j);
    }
  }
}

/// @brief out[i] (+)= src[index[i]] for every row i of out.
template <class T>
void gather(MatrixView<const T> src, const node_id* index, MatrixView<T> out, bool accumulate) {
#pragma omp parallel for schedule(static) if (out.rows() > 4096)
  for (std::int64_t i = 0; i < out.rows(); ++i) {
    const std::int64_t s = index[i];
    for (std::int64_t j = 0; j < out.cols(); ++j) {
      if (accumulate) out(i, j) += src(s, j);
      else out(i, j) = src(s, j);
    }
  }
}

}  // namespace detail

/// @brief out[i] = x[index[i]]; the backward pass inverts the index into aux_index and scatters through it.
template <>
struct Impl<GatherRows, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const GatherRows& a) {
    detail::gather<T>(tape.node(node.inputs[0]).value, a.index.data(), node.value, false);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const GatherRows& a) {
    auto gx = tape.grad_of(n.inputs[0]);
    detail::invert_index(a.index, gx.rows(), n.aux_index);
    detail::scatter_rows<T>(n.grad, n.aux_index.data(), gx, true);
  }
};

/// @brief out[index[i]] += x[i] through the inverse (aux_index); the backward pass is a gather.
template <>
struct Impl<ScatterAddRows, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const ScatterAddRows& a) {
    detail::invert_index(a.index, node.value.rows(), node.aux_index);
    detail::scatter_rows<T>(tape.node(node.inputs[0]).value, node.aux_index.data(), node.value, false);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const ScatterAddRows& a) {
    auto gx = tape.grad_of(n.inputs[0]);
    detail::gather<T>(n.grad, a.index.data(), gx, true);
  }
};

}  // namespace gas::ops
