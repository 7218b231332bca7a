#pragma once
/// @brief Stacking and slicing: concat_rows (vertically), concat_cols (side by side), slice_rows, slice_cols.
///
/// A concatenation takes any number of parts, more than a node's `max_inputs`: its node is pushed without inputs
/// and the backend's forward pass, which receives the parts, wires it. The host keeps the part ids and offsets in
/// `aux_index` (gas/ops/host/concat.hpp); a device node's tensors live in device memory, which the host cannot read
/// without waiting for the stream, so on the device the part ids go to the node's host-side `host_inputs` instead
/// (gas/cuda/ops/concat.cuh). `inputs` lists the parts too where they fit, for tools that walk the tape.

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/concat.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

namespace detail {

/// @brief Records the concatenation of `parts` along rows or columns; the caller has checked that there is at
/// least one part. The node is pushed without inputs (there may be more parts than a node has input slots) and
/// wired by the backend's forward pass, which receives the parts.
template <bool along_rows, class T, class Backend>
autograd::Var<T, Backend> concat(std::span<const autograd::Var<T, Backend>> parts) {
  if (std::any_of(parts.begin(), parts.end(), [](const auto& p) { return p.is_sparse(); })) {
    // Sparse inputs (bag-of-words features) are stacked dense: the kernels read dense values.
    std::vector<autograd::Var<T, Backend>> dense(parts.begin(), parts.end());
    for (auto& p : dense)
      if (p.is_sparse()) p = densify(p);
    return concat<along_rows, T, Backend>(std::span<const autograd::Var<T, Backend>>(dense));
  }
  constexpr const char* name = Concat<along_rows>::name;
  auto& tape = parts.front().tape();
  const std::int64_t fixed = along_rows ? parts.front().cols() : parts.front().rows();
  std::int64_t total = 0;
  bool any_grad = false;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const auto& p = parts[k];
    GAS_CHECK(&p.tape() == &tape, value_error, name << ": part " << k << " belongs to another tape");
    GAS_CHECK((along_rows ? p.cols() : p.rows()) == fixed, shape_error,
              name << ": part " << k << " is (" << p.rows() << " x " << p.cols() << ") but part 0 is ("
                   << parts.front().rows() << " x " << parts.front().cols() << "); they must share their "
                   << (along_rows ? "column" : "row") << " count");
    total += along_rows ? p.rows() : p.cols();
    any_grad |= p.requires_grad();
  }
  auto [id, node] = along_rows ? tape.push(name, total, fixed) : tape.push(name, fixed, total);
  node.requires_grad = tape.grad_enabled() && any_grad;
  return record_pushed(tape, id, Concat<along_rows>{}, parts);
}

}  // namespace detail

/// @brief Stacks the parts vertically: (r0 + r1 + ..., cols). Throws value_error for no parts or parts of two
/// tapes, shape_error naming the first part whose column count differs.
template <class T, class Backend>
autograd::Var<T, Backend> concat_rows(std::span<const autograd::Var<T, Backend>> parts) {
  GAS_CHECK(!parts.empty(), value_error, "nothing to concatenate");
  return detail::concat<true, T, Backend>(parts);
}

/// @brief Stacks a over b: (a.rows + b.rows, cols).
template <class T, class Backend>
autograd::Var<T, Backend> concat_rows(autograd::Var<T, Backend> a, autograd::Var<T, Backend> b) {
  const std::array<autograd::Var<T, Backend>, 2> parts{a, b};
  return concat_rows(std::span<const autograd::Var<T, Backend>>(parts));
}

/// @brief Places the parts side by side: (rows, c0 + c1 + ...) (skip connections, jumping knowledge). Throws
/// value_error for no parts or parts of two tapes, shape_error naming the first part whose row count differs.
template <class T, class Backend>
autograd::Var<T, Backend> concat_cols(std::span<const autograd::Var<T, Backend>> parts) {
  GAS_CHECK(!parts.empty(), value_error, "nothing to concatenate");
  return detail::concat<false, T, Backend>(parts);
}

/// @brief Places a left of b: (rows, a.cols + b.cols).
template <class T, class Backend>
autograd::Var<T, Backend> concat_cols(autograd::Var<T, Backend> a, autograd::Var<T, Backend> b) {
  const std::array<autograd::Var<T, Backend>, 2> parts{a, b};
  return concat_cols(std::span<const autograd::Var<T, Backend>>(parts));
}

/// @brief Rows [begin, end) of x, (end - begin, cols). The result is a view of x's value, not a copy (the
/// batch rows of [batch ; halo] cost nothing), so it is valid as long as x is. Throws shape_error naming the
/// range and the shape when the range is not inside x.
template <class T, class Backend>
autograd::Var<T, Backend> slice_rows(autograd::Var<T, Backend> x, std::int64_t begin, std::int64_t end) {
  GAS_CHECK(0 <= begin && begin <= end && end <= x.rows(), shape_error,
            "row range [" << begin << ", " << end << ") outside x (" << x.rows() << " x " << x.cols() << ")");
  if (x.is_sparse()) x = detail::densify(x);  // a view needs a dense value (LayerContext::targets of sparse features)
  x.tape().materialize(x.id());               // and rows of a table read in place need copying first
  const int id = x.tape().push_view(SliceRows::name, x.node().value.slice_rows(begin, end), {x}).first;
  return record_pushed(x.tape(), id, SliceRows{.begin = begin});
}

/// @brief Columns [begin, end) of x, (rows, end - begin), copied into a contiguous value. Throws shape_error
/// naming the range and the shape when the range is not inside x.
template <class T, class Backend>
autograd::Var<T, Backend> slice_cols(autograd::Var<T, Backend> x, std::int64_t begin, std::int64_t end) {
  GAS_CHECK(0 <= begin && begin <= end && end <= x.cols(), shape_error,
            "column range [" << begin << ", " << end << ") outside x (" << x.rows() << " x " << x.cols() << ")");
  return record(SliceCols{.begin = begin}, x.rows(), end - begin, {x});
}

}  // namespace gas::ops
