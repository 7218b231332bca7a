#pragma once
/// @brief Device implementations of the activations (gas/ops/activation.hpp): `Impl<Relu, cuda::device>`...
///
/// Each maps its attributes to the device policy of kernels/elementwise.cuh (`activation_of`) and runs one
/// elementwise kernel over the contiguous value on the tape's stream. ops::log's positivity check waits for the
/// stream (one scan, one 8-byte download): the op must fail before it records anything.

#include <cstdint>
#include <utility>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/kernels/elementwise.cuh"
#include "gas/cuda/kernels/reduce.cuh"
#include "gas/cuda/tensor.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/impl.hpp"

namespace gas::cuda::detail {

/// @brief The device policy (cuda::act) of an activation's attributes.
inline act::Relu activation_of(const ops::Relu&) { return {}; }
inline act::Elu activation_of(const ops::Elu& a) { return {a.alpha}; }
inline act::LeakyRelu activation_of(const ops::LeakyRelu& a) { return {a.negative_slope}; }
inline act::Sigmoid activation_of(const ops::Sigmoid&) { return {}; }
inline act::Tanh activation_of(const ops::Tanh&) { return {}; }
inline act::Exp activation_of(const ops::Exp&) { return {}; }
inline act::Log activation_of(const ops::Log&) { return {}; }

/// @brief The device forward and backward of an activation: one elementwise kernel each.
template <class Op>
struct DeviceActivation {
  template <class T>
  static void forward(autograd::Tape<T, device>& tape, autograd::Node<T, device>& node, const Op& a) {
    const auto x = tape.node(node.inputs[0]).value;
    activation_forward(activation_of(a), x.data(), node.value.data(), x.rows() * x.cols(), tape.exec().stream());
  }
  template <class T>
  static void backward(autograd::Tape<T, device>& tape, autograd::Node<T, device>& node, const Op& a) {
    const int in = node.inputs[0];
    const auto x = tape.node(in).value;
    auto gx = tape.grad_of(in);
    activation_backward(activation_of(a), x.data(), node.value.data(), node.grad.data(), gx.data(),
                        x.rows() * x.cols(), tape.exec().stream());
  }
};

}  // namespace gas::cuda::detail

namespace gas::ops {

template <>
struct Impl<Relu, cuda::device> : cuda::detail::DeviceActivation<Relu> {};
template <>
struct Impl<Elu, cuda::device> : cuda::detail::DeviceActivation<Elu> {};
template <>
struct Impl<LeakyRelu, cuda::device> : cuda::detail::DeviceActivation<LeakyRelu> {};
template <>
struct Impl<Sigmoid, cuda::device> : cuda::detail::DeviceActivation<Sigmoid> {};
template <>
struct Impl<Tanh, cuda::device> : cuda::detail::DeviceActivation<Tanh> {};
template <>
struct Impl<Exp, cuda::device> : cuda::detail::DeviceActivation<Exp> {};

/// @brief log, and the check ops::log makes before recording.
template <>
struct Impl<Log, cuda::device> : cuda::detail::DeviceActivation<Log> {
  /// @brief The row-major position of the first element of the device value x that is not positive (NaN included)
  /// and that element, or (-1, 0) when every element is positive. Waits for the tape's stream; the element is
  /// downloaded only on failure.
  template <class T>
  static std::pair<std::int64_t, T> first_non_positive(autograd::Tape<T, cuda::device>& tape, MatrixView<const T> x) {
    GAS_CHECK(x.contiguous(), value_error, "log: a device value must be contiguous (ld " << x.ld() << ")");
    const std::int64_t first = cuda::first_non_positive(x.data(), x.rows() * x.cols(), tape.exec().stream());
    if (first < 0) return {-1, T{0}};
    T value{};
    tape.exec().download(MatrixView<const T>(x.data() + first, 1, 1), MatrixView<T>(&value, 1, 1));
    return {first, value};
  }
};

}  // namespace gas::ops
