#pragma once
/// @brief Device implementations of the reductions (gas/ops/reduce.hpp). Sums are formed in double in a fixed order
/// (kernels/reduce.cuh), so they are the same bits on every run; the seed of a backward pass is read on the device.

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/arith.cuh"
#include "gas/cuda/kernels/reduce.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"
#include "gas/ops/reduce.hpp"

namespace gas::ops {

/// @brief The sum of every element, in double.
template <>
struct Impl<SumAll, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const SumAll&) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::total_sum(x.data(), x.rows() * x.cols(), node.value.data(), 1.0, tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const SumAll&) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::add_broadcast(node.grad.data(), cuda::Broadcast::scalar, T{1}, gx.data(), gx.rows(), gx.cols(),
                        tape.exec().stream());
  }
};

/// @brief The mean of every element (accumulated in double).
template <>
struct Impl<MeanAll, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const MeanAll&) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::total_sum(x.data(), x.rows() * x.cols(), node.value.data(), static_cast<double>(x.rows() * x.cols()),
                    tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const MeanAll& a) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::add_broadcast(node.grad.data(), cuda::Broadcast::scalar, static_cast<T>(a.scale), gx.data(), gx.rows(),
                        gx.cols(), tape.exec().stream());
  }
};

/// @brief factor times the column sums, (1, cols).
template <>
struct Impl<ReduceRows, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const ReduceRows& a) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::column_sums(x.data(), x.rows(), x.cols(), node.value.data(), false, tape.exec().stream(),
                      static_cast<T>(a.factor));
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const ReduceRows& a) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::add_broadcast(node.grad.data(), cuda::Broadcast::row, static_cast<T>(a.factor), gx.data(), gx.rows(),
                        gx.cols(), tape.exec().stream());
  }
};

/// @brief factor times the row sums, (rows, 1).
template <>
struct Impl<ReduceCols, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const ReduceCols& a) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::row_sums(x.data(), x.rows(), x.cols(), node.value.data(), static_cast<T>(a.factor), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const ReduceCols& a) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::add_broadcast(node.grad.data(), cuda::Broadcast::column, static_cast<T>(a.factor), gx.data(), gx.rows(),
                        gx.cols(), tape.exec().stream());
  }
};

}  // namespace gas::ops
