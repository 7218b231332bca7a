#pragma once
/// @brief Row gathers and scatters by an index list: gather_rows (out[i] = x[index[i]]) and scatter_add_rows
/// (out[index[i]] += x[i]), each the other's backward.
///
/// A scatter-add is made deterministic without atomics by inverting the index first: a counting sort groups
/// the positions by target row, in increasing position order, and each target row then sums its own sources
/// in that order. The result is the serial loop's to the last bit, for any thread count. The inverse lives in
/// the node's `aux_index`, so a step allocates nothing once the tape has warmed up. On the device the index is
/// uploaded into the node when the op is recorded (so only the host backend reads the caller's index again) and
/// inverted there by a stable radix sort whose scratch also lives in the node (gas/cuda/ops/graph_ops.cuh).

#include <algorithm>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

namespace detail {

/// @brief The first position whose entry is outside [0, bound), or index.size() when all are inside.
inline std::size_t first_out_of_range(std::span<const node_id> index, std::int64_t bound) {
  const auto n = static_cast<std::int64_t>(index.size());
  std::int64_t first = n;
#pragma omp parallel for schedule(static) reduction(min : first) if (n > 65536)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto v = index[static_cast<std::size_t>(i)];
    if (v < 0 || v >= bound) first = std::min(first, i);
  }
  return static_cast<std::size_t>(first);
}

/// @brief Groups the positions of `index` by target in [0, targets): `inverse` becomes a (targets + 1 + n, 1)
/// column holding a CSR pointer (targets + 1 entries) followed by the positions, each group in increasing order.
template <class Backend>
void invert_index(std::span<const node_id> index, std::int64_t targets, Tensor<std::int64_t, Backend>& inverse) {
  const auto n = static_cast<std::int64_t>(index.size());
  inverse.resize(targets + 1 + n, 1);
  std::int64_t* ptr = inverse.data();
  std::int64_t* order = ptr + targets + 1;
  std::fill_n(ptr, targets + 1, std::int64_t{0});
  for (std::int64_t i = 0; i < n; ++i) ++ptr[index[static_cast<std::size_t>(i)] + 1];
  for (std::int64_t t = 0; t < targets; ++t) ptr[t + 1] += ptr[t];
  // Filling advances ptr[t] to the end of group t, which is where group t + 1 starts; shift back after.
  for (std::int64_t i = 0; i < n; ++i) order[ptr[index[static_cast<std::size_t>(i)]]++] = i;
  for (std::int64_t t = targets; t > 0; --t) ptr[t] = ptr[t - 1];
  ptr[0] = 0;
}

/// @brief out[t] (+)= sum over positions i with index[i] == t of src[i], through the inverse built by
/// invert_index; every target row is owned by one thread.
template <class T>
void scatter_rows(MatrixView<const T> src, const std::int64_t* inverse, MatrixView<T> out, bool accumulate) {
  const std::int64_t targets = out.rows();
  if (out.cols() == 0) return;  // nothing to add, and no element to take an address of
  const std::int64_t* ptr = inverse;
  const std::int64_t* order = inverse + targets + 1;
#pragma omp parallel for schedule(static) if (targets > 4096)
  for (std::int64_t t = 0; t < targets; ++t) {
    T* row = &out(t, 0);
    if (!accumulate) std::fill_n(row, out.cols(), T{0});
    for (std::int64_t k = ptr[t]; k < ptr[t + 1]; ++k) {
      const std::int64_t i = order[k];
      for (std::int64_t j = 0; j < out.cols(); ++j) row[j] += src(i, j);
    }
  }
}

/// @brief out[i] (+)= src[index[i]] for every row i of out.
template <class T>
void gather(MatrixView<const T> src, const node_id* index, MatrixView<T> out, bool accumulate) {
#pragma omp parallel for schedule(static) if (out.rows() > 4096)
  for (std::int64_t i = 0; i < out.rows(); ++i) {
    const std::int64_t s = index[i];
    for (std::int64_t j = 0; j < out.cols(); ++j) {
      if (accumulate) out(i, j) += src(s, j);
      else out(i, j) = src(s, j);
    }
  }
}

template <class T, class Backend>
void gather_rows_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto gx = tape.grad_of(n.inputs[0]);
  const std::span<const node_id> index(static_cast<const node_id*>(n.refs[0]), static_cast<std::size_t>(n.ints[0]));
  invert_index(index, gx.rows(), n.aux_index);
  scatter_rows<T>(n.grad, n.aux_index.data(), gx, true);
}

template <class T, class Backend>
void scatter_add_rows_backward(ag::Tape<T, Backend>& tape, ag::Node<T, Backend>& n) {
  auto gx = tape.grad_of(n.inputs[0]);
  gather<T>(n.grad, static_cast<const node_id*>(n.refs[0]), gx, true);
}

}  // namespace detail

/// @brief out[i] = x[index[i]]: (index.size(), cols). Rows may repeat or be left out; the backward pass adds
/// the gradient of every copy into its source row, reproducibly for any thread count. On the host `index` is read
/// again by the backward pass, so it must outlive it (the device keeps a copy). Throws value_error naming the first
/// position whose entry is outside [0, x.rows()).
template <class T, class Backend>
ag::Var<T, Backend> gather_rows(ag::Var<T, Backend> x, std::span<const node_id> index) {
  const auto bad = detail::first_out_of_range(index, x.rows());
  GAS_CHECK(bad == index.size(), value_error,
            "index[" << bad << "] = " << (bad < index.size() ? index[bad] : 0) << " outside [0, " << x.rows()
                     << "), the rows of x (" << x.rows() << " x " << x.cols() << ")");
  auto [id, node] = x.tape().push("gather_rows", static_cast<std::int64_t>(index.size()), x.cols(), {x});
  node.refs[0] = index.data();
  node.ints[0] = static_cast<std::int64_t>(index.size());
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::gather_rows(x.tape(), node, index);  // uploads the index into the node
  } else {
    node.backward = &detail::gather_rows_backward<T, Backend>;
    detail::gather<T>(x.value(), index.data(), node.value, false);
  }
  return {&x.tape(), id};
}

/// @brief out[index[i]] += x[i] into a zeroed (num_rows, cols) value (sums messages per target); rows no
/// entry points at stay zero. Summation order is increasing i, for any thread count. On the host `index` is read
/// again by the backward pass, so it must outlive it (the device keeps a copy). Throws shape_error when
/// index.size() != x.rows(), value_error for a negative num_rows or naming the first position whose entry is
/// outside [0, num_rows).
template <class T, class Backend>
ag::Var<T, Backend> scatter_add_rows(ag::Var<T, Backend> x, std::span<const node_id> index, std::int64_t num_rows) {
  GAS_CHECK(static_cast<std::int64_t>(index.size()) == x.rows(), shape_error,
            index.size() << " indices for x (" << x.rows() << " x " << x.cols() << "): one per row expected");
  GAS_CHECK(num_rows >= 0, value_error, "negative num_rows " << num_rows);
  const auto bad = detail::first_out_of_range(index, num_rows);
  GAS_CHECK(bad == index.size(), value_error,
            "index[" << bad << "] = " << (bad < index.size() ? index[bad] : 0) << " outside [0, " << num_rows
                     << "), the rows of the output");
  auto [id, node] = x.tape().push("scatter_add_rows", num_rows, x.cols(), {x});
  node.refs[0] = index.data();
  node.ints[0] = static_cast<std::int64_t>(index.size());
  if constexpr (!on_host<Backend>) {
    DeviceOps<Backend>::scatter_add_rows(x.tape(), node, index);  // uploads the index into the node
  } else {
    node.backward = &detail::scatter_add_rows_backward<T, Backend>;
    detail::invert_index(index, num_rows, node.aux_index);
    detail::scatter_rows<T>(x.value(), node.aux_index.data(), node.value, false);
  }
  return {&x.tape(), id};
}

}  // namespace gas::ops
