#pragma once
/// @brief Device implementation of batch normalization (gas/ops/batch_norm.hpp): the running statistics are device
/// tensors, updated by the forward kernels on the tape's stream.

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/batch_norm.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/batch_norm.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief Batch normalization with the statistics of the batch (training, which also updates the state) or of the
/// state (evaluation); aux (2, cols) keeps the mean and inverse deviation used.
template <>
struct Impl<BatchNorm, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const BatchNorm& a,
                      BatchNormState<T, cuda::device>& state) {
    const auto args = arguments(tape, node, a, state.running_mean.data(), state.running_var.data());
    node.aux.resize(2, args.cols);
    cuda::batch_norm_forward(args, node.value.data(), node.aux.data(), tape.exec().stream());
    if (args.training) ++state.batches_tracked;
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const BatchNorm& a) {
    const int ix = node.inputs[0], ig = node.inputs[1], ib = node.inputs[2];
    const auto args = arguments<T>(tape, node, a, nullptr, nullptr);
    T* dx = tape.node(ix).requires_grad ? tape.grad_of(ix).data() : nullptr;
    T* dgamma = tape.node(ig).requires_grad ? tape.grad_of(ig).data() : nullptr;
    T* dbeta = tape.node(ib).requires_grad ? tape.grad_of(ib).data() : nullptr;
    cuda::batch_norm_backward(args, node.aux.data(), node.grad.data(), dx, dgamma, dbeta, tape.exec().stream());
  }

private:
  /// @brief The launcher arguments of the node: inputs (x, gamma, beta) and the attributes; the running statistics
  /// are only read and written by the forward pass.
  template <class T>
  static cuda::BatchNormArgs<T> arguments(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node,
                                          const BatchNorm& attrs, T* running_mean, T* running_var) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::BatchNormArgs<T> a;
    a.x = x.data();
    a.rows = x.rows();
    a.cols = x.cols();
    a.gamma = tape.node(node.inputs[1]).value.data();
    a.beta = tape.node(node.inputs[2]).value.data();
    a.running_mean = running_mean;
    a.running_var = running_var;
    a.momentum = attrs.momentum;
    a.eps = attrs.eps;
    a.training = attrs.training;
    return a;
  }
};

}  // namespace gas::ops
