#pragma once
/// @brief Reductions: sum of all elements (more arrive with the rest of the op kit).

#include "gas/autograd/tape.hpp"

namespace gas::ops {

namespace detail {

template <class T, class Backend>
void sum_all_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto g = tape.grad_of(n.inputs[0]);
  const T seed = n.grad(0, 0);
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) g(i, j) += seed;
}

}  // namespace detail

/// @brief The sum of every element, as a 1 x 1 value (accumulated in double for float inputs).
template <class T, class Backend>
ag::Var<T, Backend> sum_all(ag::Var<T, Backend> x) {
  auto [id, node] = x.tape().push("sum_all", 1, 1, {x});
  node.backward = &detail::sum_all_backward<T, Backend>;
  const auto in = x.value();
  double total = 0;
  for (std::int64_t i = 0; i < in.rows(); ++i)
    for (std::int64_t j = 0; j < in.cols(); ++j) total += static_cast<double>(in(i, j));
  node.value(0, 0) = static_cast<T>(total);
  return {&x.tape(), id};
}

}  // namespace gas::ops
