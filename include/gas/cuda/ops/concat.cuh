#pragma once
/// @brief Device implementations of stacking and slicing (gas/ops/concat.hpp). Device values are contiguous, so a
/// column slice copies (a 2D copy) where the host returns a view; rows of a contiguous value are contiguous, so a row
/// slice stays a view.

#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/gemm.hpp"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/impl.hpp"

namespace gas::cuda::detail {

/// @brief gx's block (rows or columns from `begin`) += the slice's gradient: a slice's backward pass.
template <class T>
void add_slice_gradient(autograd::Tape<T, device>& tape, autograd::Node<T, device>& node, bool along_rows, std::int64_t begin) {
  auto gx = tape.grad_of(node.inputs[0]);
  const auto g = node.grad;
  const auto dst = along_rows ? gx.slice_rows(begin, begin + g.rows()) : gx.slice_cols(begin, begin + g.cols());
  add_strided(g.data(), g.ld(), g.rows(), g.cols(), dst.data(), dst.ld(), tape.exec().blas().get());
}

}  // namespace gas::cuda::detail

namespace gas::ops {

/// @brief The parts stacked along rows or columns, each one 2D copy into its block. The part ids stay on the host,
/// in node.host_inputs (the backward pass reads them there to queue its copies); `inputs` holds the first of them.
template <bool AlongRows>
struct Impl<Concat<AlongRows>, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Concat<AlongRows>&,
                      std::span<const autograd::Var<T, cuda::device>> parts) {
    node.host_inputs.clear();
    for (std::size_t k = 0; k < parts.size(); ++k) {
      node.host_inputs.push_back(parts[k].id());
      if (k < node.inputs.size()) node.inputs[k] = parts[k].id();
    }
    const auto out = node.value;
    std::int64_t offset = 0;
    for (const int in : node.host_inputs) {
      const MatrixView<const T> part = tape.node(in).value;
      const auto dst =
          AlongRows ? out.slice_rows(offset, offset + part.rows()) : out.slice_cols(offset, offset + part.cols());
      tape.exec().copy(part, dst);
      offset += AlongRows ? part.rows() : part.cols();
    }
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Concat<AlongRows>&) {
    const auto g = node.grad;
    std::int64_t offset = 0;
    for (const int in : node.host_inputs) {
      const auto& part = tape.node(in);
      const std::int64_t rows = part.value.rows(), cols = part.value.cols();
      if (part.requires_grad) {
        auto gp = tape.grad_of(in);
        const auto src = AlongRows ? g.slice_rows(offset, offset + rows) : g.slice_cols(offset, offset + cols);
        cuda::add_strided(src.data(), src.ld(), rows, cols, gp.data(), gp.ld(), tape.exec().blas().get());
      }
      offset += AlongRows ? rows : cols;
    }
  }
};

/// @brief Rows [begin, ...) of x: the value is already a view; only the backward pass is the device's.
template <>
struct Impl<SliceRows, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>&, autograd::Node<T, cuda::device>&, const SliceRows&) {}
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const SliceRows& a) {
    cuda::detail::add_slice_gradient(tape, node, true, a.begin);
  }
};

/// @brief Columns [begin, begin + cols) of x copied into the node's contiguous value.
template <>
struct Impl<SliceCols, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const SliceCols& a) {
    const MatrixView<const T> x = tape.node(node.inputs[0]).value;
    tape.exec().copy(x.slice_cols(a.begin, a.begin + node.value.cols()), node.value);
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const SliceCols& a) {
    cuda::detail::add_slice_gradient(tape, node, false, a.begin);
  }
};

}  // namespace gas::ops
