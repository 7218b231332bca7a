#pragma once
/// @brief Host implementations of stacking and slicing (gas/ops/concat.hpp): `Impl<Concat<AlongRows>, host>`,
/// `Impl<SliceRows, host>`, `Impl<SliceCols, host>`.
///
/// A concatenation takes any number of parts, more than a node's `max_inputs`, so its node keeps the part ids and
/// offsets in `aux_index` (one row per part: id, offset) and its backward reads them from there; `inputs` is filled
/// too when the parts fit, for tools that walk the tape.

#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

/// @brief dst(i, j) += g(i, j) over a block of rows or columns of the input's gradient (a slice's backward).
template <class T>
void add_block(MatrixView<const T> g, MatrixView<T> dst) {
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) dst(i, j) += g(i, j);
}

}  // namespace detail

/// @brief The parts stacked along rows or side by side; the forward pass receives them (any number).
template <bool AlongRows>
struct Impl<Concat<AlongRows>, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>&, autograd::Node<T, host>& node, const Concat<AlongRows>&,
                      std::span<const autograd::Var<T, host>> parts) {
    node.aux_index.resize(static_cast<std::int64_t>(parts.size()), 2);  // (parts, 2): id, offset
    const auto out = node.value;
    std::int64_t offset = 0;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const auto& p = parts[k];
      if (parts.size() <= node.inputs.size()) node.inputs[k] = p.id();
      node.aux_index(static_cast<std::int64_t>(k), 0) = p.id();
      node.aux_index(static_cast<std::int64_t>(k), 1) = offset;
      const auto in = p.value();
      const auto dst =
          AlongRows ? out.slice_rows(offset, offset + in.rows()) : out.slice_cols(offset, offset + in.cols());
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
      for (std::int64_t i = 0; i < in.rows(); ++i)
        for (std::int64_t j = 0; j < in.cols(); ++j) dst(i, j) = in(i, j);
      offset += AlongRows ? in.rows() : in.cols();
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const Concat<AlongRows>&) {
    const auto g = n.grad;
    for (std::int64_t k = 0; k < n.aux_index.rows(); ++k) {
      const int in = static_cast<int>(n.aux_index(k, 0));
      if (!tape.node(in).requires_grad) continue;
      const std::int64_t offset = n.aux_index(k, 1);
      auto gp = tape.grad_of(in);
      const auto part =
          AlongRows ? g.slice_rows(offset, offset + gp.rows()) : g.slice_cols(offset, offset + gp.cols());
#pragma omp parallel for schedule(static) if (gp.rows() > 4096)
      for (std::int64_t i = 0; i < gp.rows(); ++i)
        for (std::int64_t j = 0; j < gp.cols(); ++j) gp(i, j) += part(i, j);
    }
  }
};

/// @brief Rows [begin, ...) of x: the value is a view of x's (the op pushes it), so only the backward pass works.
template <>
struct Impl<SliceRows, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>&, autograd::Node<T, host>&, const SliceRows&) {}
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const SliceRows& a) {
    auto gx = tape.grad_of(n.inputs[0]);
    detail::add_block<T>(n.grad, gx.slice_rows(a.begin, a.begin + n.grad.rows()));
  }
};

/// @brief Columns [begin, begin + cols) of x, copied into the node's value.
template <>
struct Impl<SliceCols, host> {
  template <class T>
  static void forward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& node, const SliceCols& a) {
    const MatrixView<const T> x = tape.node(node.inputs[0]).value;
    const auto in = x.slice_cols(a.begin, a.begin + node.value.cols());
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = in(i, j);
  }
  template <class T>
  static void backward(autograd::Tape<T, host>& tape, autograd::Node<T, host>& n, const SliceCols& a) {
    auto gx = tape.grad_of(n.inputs[0]);
    detail::add_block<T>(n.grad, gx.slice_cols(a.begin, a.begin + n.grad.cols()));
  }
};

}  // namespace gas::ops
