#pragma once
/// @brief The one dispatch point of the ops: `Impl<Op, Backend>` holds an op's forward and backward for one
/// backend, and `record` puts an op on the tape through it.
///
/// An op is three things. Its attributes: a small trivially copyable struct naming the op (`name`) and holding what
/// the forward and backward passes need besides the input values (`Dropout{p, seed}`, a pointer to the graph, the
/// spans of labels); the built-in ones are in gas/ops/attributes.hpp. Its implementations, one per backend, as
/// specializations of `Impl<Op, Backend>` with two static member templates:
///
///     template <class T> static void forward(autograd::Tape<T, B>& tape, autograd::Node<T, B>& node, const Op& attrs, extra...);
///     template <class T> static void backward(autograd::Tape<T, B>& tape, autograd::Node<T, B>& node, const Op& attrs);
///
/// `forward` computes node.value from the inputs' values (tape.node(node.inputs[k]).value) and saves in the node's
/// aux tensors what the backward pass needs; `backward` adds into the inputs' gradients (tape.grad_of(input)) from
/// node.grad. The host ones are in gas/ops/host/, the device ones in gas/cuda/ops/ (nvcc only). And its public
/// function, which checks the arguments and calls `record`. Nothing in this scheme is closed: a user adds an op from
/// their own code by writing the three (docs/autograd.md, "A custom op").

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <span>
#include <utility>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"

namespace gas::ops {

/// @brief The implementation of op `Op` on `Backend`; specialized per op and backend (gas/ops/host/ for the host,
/// gas/cuda/ops/ for the device). The primary template only reports a missing specialization.
template <class Op, class Backend>
struct Impl {
  static_assert(dependent_false<Op>,
                "gas::ops::Impl<Op, Backend>: no implementation of op Op for backend Backend (both named in the "
                "instantiation above); for gas::cuda::device compile with nvcc and include <gas/gas.hpp>");
};

/// @brief What an op's attributes must be: trivially copyable (they live in the node's fixed slot) and named.
template <class A>
concept OpAttributes = std::is_trivially_copyable_v<A> && requires(const A& a) {
  { a.name } -> std::convertible_to<const char*>;
};

/// @brief Whether op Op's implementation on Backend takes sparse inputs as they are (it declares
/// `static constexpr bool takes_sparse = true;`): record hands every other op a dense copy of a sparse input
/// (ops::to_dense), so an op written for dense values never meets a sparse one.
template <class Op, class Backend>
concept TakesSparse = requires {
  requires Impl<Op, Backend>::takes_sparse;
};

/// @brief Whether op Op's implementation on Backend reads deferred rows (autograd::Tape::push_rows: rows of a table
/// not copied yet) in place: it declares `static constexpr bool takes_rows = true;`. Every other op gets them
/// copied first (Tape::materialize), so an op written for ordinary values never meets deferred ones.
template <class Op, class Backend>
concept TakesRows = requires {
  requires Impl<Op, Backend>::takes_rows;
};

namespace detail {

/// @brief A dense copy of a sparse value (defined in gas/ops/sparse.hpp, which gas/gas.hpp includes).
template <class T, class Backend>
autograd::Var<T, Backend> densify(autograd::Var<T, Backend> x);

/// @brief The backward function record installs: Impl<Op, Backend>::backward with the attributes stored in the node.
template <class Op, class T, class Backend>
void backward_of(autograd::Tape<T, Backend>& tape, autograd::Node<T, Backend>& node) {
  Impl<Op, Backend>::backward(tape, node, std::as_const(node).template attrs<Op>());
}

}  // namespace detail

/// @brief Records op `attrs` on node `id`, which the caller has pushed (with `tape.push_view`, or with inputs wired
/// by hand, as a concatenation of many parts does): stores the attributes, runs Impl<Op, Backend>::forward(tape,
/// node, attrs, extra...) and installs the backward function. Returns the node's Var.
template <OpAttributes Op, class T, class Backend, class... Extra>
autograd::Var<T, Backend> record_pushed(autograd::Tape<T, Backend>& tape, int id, const Op& attrs, Extra&&... extra) {
  auto& node = tape.node(id);
  if constexpr (!TakesSparse<Op, Backend>)
    for (const int in : node.inputs)
      GAS_CHECK(in < 0 || !tape.node(in).sparse, value_error,
                "op '" << attrs.name << "' does not take sparse values and its inputs were wired by hand; pass "
                       << "ops::to_dense(x)");
  if constexpr (!TakesRows<Op, Backend>)
    for (const int in : node.inputs)
      if (in >= 0) tape.materialize(in);
  node.set_attrs(attrs);
  Impl<Op, Backend>::forward(tape, node, std::as_const(node).template attrs<Op>(), std::forward<Extra>(extra)...);
  node.backward = &detail::backward_of<Op, T, Backend>;
  return {&tape, id};
}

/// @brief Records op `attrs` with a (rows, cols) value computed from `inputs` (at least one; their tape is the
/// op's): pushes the node named attrs.name, then as record_pushed. `extra` reaches the forward pass only (host
/// data it uploads or state it updates); what the backward pass needs must be in the attributes or the node.
template <OpAttributes Op, class T, class Backend, class... Extra>
autograd::Var<T, Backend> record(const Op& attrs, std::int64_t rows, std::int64_t cols,
                           std::initializer_list<autograd::Var<T, Backend>> inputs, Extra&&... extra) {
  GAS_CHECK(inputs.size() > 0, value_error, "op '" << attrs.name << "' has no input to take its tape from");
  auto& tape = inputs.begin()->tape();
  int id = -1;
  const bool any_sparse = std::any_of(inputs.begin(), inputs.end(), [](const auto& v) { return v.is_sparse(); });
  if (TakesSparse<Op, Backend> || !any_sparse) {
    id = tape.push(attrs.name, rows, cols, inputs).first;
  } else {  // this op reads dense values: give it dense copies of its sparse inputs
    std::array<autograd::Var<T, Backend>, autograd::Node<T, Backend>::max_inputs> dense{};
    GAS_CHECK(inputs.size() <= dense.size(), value_error, "op '" << attrs.name << "' has " << inputs.size() << " inputs");
    std::size_t k = 0;
    for (const auto& v : inputs) dense[k++] = v.is_sparse() ? detail::densify(v) : v;
    id = tape.push(attrs.name, rows, cols, std::span<const autograd::Var<T, Backend>>(dense.data(), k)).first;
  }
  return record_pushed(tape, id, attrs, std::forward<Extra>(extra)...);
}

}  // namespace gas::ops

// The definition of detail::densify, which record instantiates; included last, as it uses record_pushed.
#include "gas/ops/sparse.hpp"  // IWYU pragma: keep
