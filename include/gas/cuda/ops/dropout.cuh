#pragma once
/// @brief Device implementation of dropout (gas/ops/dropout.hpp): the host's mask, drawn in the kernels.

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/dropout.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/dropout.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief Training-mode inverted dropout. The mask is not stored: the backward pass rebuilds it from (seed, p),
/// which costs less than reading a saved one.
template <>
struct Impl<Dropout, cuda::device> {
  template <class T>
  static void forward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Dropout& a) {
    const auto x = tape.node(node.inputs[0]).value;
    cuda::dropout_forward<T>(x.data(), x.rows(), x.cols(), a.p, a.seed, node.value.data(), nullptr,
                             tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, cuda::device>& tape, autograd::Node<T, cuda::device>& node, const Dropout& a) {
    auto gx = tape.grad_of(node.inputs[0]);
    cuda::dropout_backward<T>(node.grad.data(), node.value.rows(), node.value.cols(), a.p, a.seed, gx.data(),
                              tape.exec().stream());
  }
};

}  // namespace gas::ops
