#pragma once
/// @brief Elementwise activations: relu (more arrive with the rest of the op kit).

#include "gas/autograd/tape.hpp"

namespace gas::ops {

namespace detail {

template <class T, class Backend>
void relu_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const int in = n.inputs[0];
  auto g = tape.grad_of(in);
  const auto x = tape.node(in).value;
#pragma omp parallel for schedule(static) if (n.value.rows() > 4096)
  for (std::int64_t i = 0; i < n.value.rows(); ++i)
    for (std::int64_t j = 0; j < n.value.cols(); ++j)
      if (x(i, j) > T{0}) g(i, j) += n.grad(i, j);
}

}  // namespace detail

/// @brief max(x, 0) elementwise; the gradient at 0 is 0, as in PyTorch.
template <class T, class Backend>
ag::Var<T, Backend> relu(ag::Var<T, Backend> x) {
  auto [id, node] = x.tape().push("relu", x.rows(), x.cols(), {x});
  node.backward = &detail::relu_backward<T, Backend>;
  const auto in = x.value();
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
  for (std::int64_t i = 0; i < in.rows(); ++i)
    for (std::int64_t j = 0; j < in.cols(); ++j) node.value(i, j) = in(i, j) > T{0} ? in(i, j) : T{0};
  return {&x.tape(), id};
}

}  // namespace gas::ops
