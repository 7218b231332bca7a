#pragma once
/// @brief Row gathers and scatters by an index list: gather_rows (out[i] = x[index[i]]) and scatter_add_rows
/// (out[index[i]] += x[i]), each the other's backward.
///
/// A scatter-add is made deterministic without atomics by inverting the index first: a counting sort groups
/// the positions by target row, in increasing position order, and each target row then sums its own sources
/// in that order. The result is the serial loop's to the last bit, for any thread count. The inverse lives in
/// the node's `aux_index`, so a step allocates nothing once the tape has warmed up (gas/ops/host/gather.hpp). On
/// the device the index is uploaded into the node when the op is recorded (so only the host backend reads the
/// caller's index again) and inverted there by a stable radix sort whose scratch also lives in the node
/// (gas/cuda/ops/gather.cuh).

#include <algorithm>
#include <cstdint>
#include <span>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/gather.hpp"
#include "gas/ops/impl.hpp"

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

}  // namespace detail

/// @brief out[i] = x[index[i]]: (index.size(), cols). Rows may repeat or be left out; the backward pass adds
/// the gradient of every copy into its source row, reproducibly for any thread count. On the host `index` is read
/// again by the backward pass, so it must outlive it (the device keeps a copy). Throws value_error naming the first
/// position whose entry is outside [0, x.rows()).
template <class T, class Backend>
autograd::Var<T, Backend> gather_rows(autograd::Var<T, Backend> x, std::span<const node_id> index) {
  const auto bad = detail::first_out_of_range(index, x.rows());
  GAS_CHECK(bad == index.size(), value_error,
            "index[" << bad << "] = " << (bad < index.size() ? index[bad] : 0) << " outside [0, " << x.rows()
                     << "), the rows of x (" << x.rows() << " x " << x.cols() << ")");
  return record(GatherRows{.index = index}, static_cast<std::int64_t>(index.size()), x.cols(), {x});
}

/// @brief out[index[i]] += x[i] into a zeroed (num_rows, cols) value (sums messages per target); rows no
/// entry points at stay zero. Summation order is increasing i, for any thread count. On the host `index` is read
/// again by the backward pass, so it must outlive it (the device keeps a copy). Throws shape_error when
/// index.size() != x.rows(), value_error for a negative num_rows or naming the first position whose entry is
/// outside [0, num_rows).
template <class T, class Backend>
autograd::Var<T, Backend> scatter_add_rows(autograd::Var<T, Backend> x, std::span<const node_id> index, std::int64_t num_rows) {
  GAS_CHECK(static_cast<std::int64_t>(index.size()) == x.rows(), shape_error,
            index.size() << " indices for x (" << x.rows() << " x " << x.cols() << "): one per row expected");
  GAS_CHECK(num_rows >= 0, value_error, "negative num_rows " << num_rows);
  const auto bad = detail::first_out_of_range(index, num_rows);
  GAS_CHECK(bad == index.size(), value_error,
            "index[" << bad << "] = " << (bad < index.size() ? index[bad] : 0) << " outside [0, " << num_rows
                     << "), the rows of the output");
  return record(ScatterAddRows{.index = index}, num_rows, x.cols(), {x});
}

}  // namespace gas::ops
