#pragma once
/// @brief Stacking and slicing: concat_rows (vertically), concat_cols (side by side), slice_rows, slice_cols.
///
/// A concatenation takes any number of parts, more than a node's `max_inputs`, so its node keeps the part ids
/// and offsets in `aux_index` (one row per part: id, offset) and its backward reads them from there; `inputs`
/// is filled too when the parts fit, for tools that walk the tape. A device node's tensors live in device memory,
/// which the host cannot read without waiting for the stream, so on the device the part ids go to the node's
/// host-side `host_inputs` instead (one copy of each part, however many there are).

#include <array>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

namespace detail {

/// @brief Backward of a concatenation along rows (`along_rows`) or columns, parts listed in n.aux_index.
template <bool along_rows, class T, class Backend>
void concat_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  const auto g = n.grad;
  for (std::int64_t k = 0; k < n.aux_index.rows(); ++k) {
    const int in = static_cast<int>(n.aux_index(k, 0));
    if (!tape.node(in).requires_grad) continue;
    const std::int64_t offset = n.aux_index(k, 1);
    auto gp = tape.grad_of(in);
    const auto part = along_rows ? g.slice_rows(offset, offset + gp.rows()) : g.slice_cols(offset, offset + gp.cols());
#pragma omp parallel for schedule(static) if (gp.rows() > 4096)
    for (std::int64_t i = 0; i < gp.rows(); ++i)
      for (std::int64_t j = 0; j < gp.cols(); ++j) gp(i, j) += part(i, j);
  }
}

/// @brief Records the concatenation of `parts` along rows or columns; the caller has checked that there is at
/// least one part.
template <bool along_rows, class T, class Backend>
ag::Var<T, Backend> concat(const char* name, std::span<const ag::Var<T, Backend>> parts) {
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
  if constexpr (!on_host<Backend>) {
    // The part ids stay on the host (the device op reads them on the host to queue its copies); `inputs` holds the
    // first of them, as on the host.
    node.host_inputs.clear();
    for (std::size_t k = 0; k < parts.size(); ++k) {
      node.host_inputs.push_back(parts[k].id());
      if (k < node.inputs.size()) node.inputs[k] = parts[k].id();
    }
    DeviceOps<Backend>::template concat_parts<along_rows>(tape, node);
  } else {
    node.backward = &concat_backward<along_rows, T, Backend>;
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
          along_rows ? out.slice_rows(offset, offset + in.rows()) : out.slice_cols(offset, offset + in.cols());
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
      for (std::int64_t i = 0; i < in.rows(); ++i)
        for (std::int64_t j = 0; j < in.cols(); ++j) dst(i, j) = in(i, j);
      offset += along_rows ? in.rows() : in.cols();
    }
  }
  return {&tape, id};
}

template <class T, class Backend>
void slice_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto gx = tape.grad_of(n.inputs[0]);
  const bool along_rows = n.ints[0] != 0;
  const std::int64_t begin = n.ints[1];
  const auto g = n.grad;
  const auto dst = along_rows ? gx.slice_rows(begin, begin + g.rows()) : gx.slice_cols(begin, begin + g.cols());
#pragma omp parallel for schedule(static) if (g.rows() > 4096)
  for (std::int64_t i = 0; i < g.rows(); ++i)
    for (std::int64_t j = 0; j < g.cols(); ++j) dst(i, j) += g(i, j);
}

}  // namespace detail

/// @brief Stacks the parts vertically: (r0 + r1 + ..., cols). Throws value_error for no parts or parts of two
/// tapes, shape_error naming the first part whose column count differs.
template <class T, class Backend>
ag::Var<T, Backend> concat_rows(std::span<const ag::Var<T, Backend>> parts) {
  GAS_CHECK(!parts.empty(), value_error, "nothing to concatenate");
  return detail::concat<true, T, Backend>("concat_rows", parts);
}

/// @brief Stacks a over b: (a.rows + b.rows, cols).
template <class T, class Backend>
ag::Var<T, Backend> concat_rows(ag::Var<T, Backend> a, ag::Var<T, Backend> b) {
  const std::array<ag::Var<T, Backend>, 2> parts{a, b};
  return concat_rows(std::span<const ag::Var<T, Backend>>(parts));
}

/// @brief Places the parts side by side: (rows, c0 + c1 + ...) (skip connections, jumping knowledge). Throws
/// value_error for no parts or parts of two tapes, shape_error naming the first part whose row count differs.
template <class T, class Backend>
ag::Var<T, Backend> concat_cols(std::span<const ag::Var<T, Backend>> parts) {
  GAS_CHECK(!parts.empty(), value_error, "nothing to concatenate");
  return detail::concat<false, T, Backend>("concat_cols", parts);
}

/// @brief Places a left of b: (rows, a.cols + b.cols).
template <class T, class Backend>
ag::Var<T, Backend> concat_cols(ag::Var<T, Backend> a, ag::Var<T, Backend> b) {
  const std::array<ag::Var<T, Backend>, 2> parts{a, b};
  return concat_cols(std::span<const ag::Var<T, Backend>>(parts));
}

/// @brief Rows [begin, end) of x, (end - begin, cols). The result is a view of x's value, not a copy (the
/// batch rows of [batch ; halo] cost nothing), so it is valid as long as x is. Throws shape_error naming the
/// range and the shape when the range is not inside x.
template <class T, class Backend>
ag::Var<T, Backend> slice_rows(ag::Var<T, Backend> x, std::int64_t begin, std::int64_t end) {
  GAS_CHECK(0 <= begin && begin <= end && end <= x.rows(), shape_error,
            "row range [" << begin << ", " << end << ") outside x (" << x.rows() << " x " << x.cols() << ")");
  auto [id, node] = x.tape().push_view("slice_rows", x.node().value.slice_rows(begin, end), {x});
  node.ints[0] = 1;
  node.ints[1] = begin;
  if constexpr (!on_host<Backend>) DeviceOps<Backend>::slice_rows(x.tape(), node);  // device values are contiguous
  else node.backward = &detail::slice_backward<T, Backend>;
  return {&x.tape(), id};
}

/// @brief Columns [begin, end) of x, (rows, end - begin), copied into a contiguous value. Throws shape_error
/// naming the range and the shape when the range is not inside x.
template <class T, class Backend>
ag::Var<T, Backend> slice_cols(ag::Var<T, Backend> x, std::int64_t begin, std::int64_t end) {
  GAS_CHECK(0 <= begin && begin <= end && end <= x.cols(), shape_error,
            "column range [" << begin << ", " << end << ") outside x (" << x.rows() << " x " << x.cols() << ")");
  auto [id, node] = x.tape().push("slice_cols", x.rows(), end - begin, {x});
  node.ints[0] = 0;
  node.ints[1] = begin;
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::slice_cols(x.tape(), node);
  } else {
    node.backward = &detail::slice_backward<T, Backend>;
    const auto in = x.value().slice_cols(begin, end);
    const auto out = node.value;
#pragma omp parallel for schedule(static) if (in.rows() > 4096)
    for (std::int64_t i = 0; i < in.rows(); ++i)
      for (std::int64_t j = 0; j < in.cols(); ++j) out(i, j) = in(i, j);
  }
  return {&x.tape(), id};
}

}  // namespace gas::ops
