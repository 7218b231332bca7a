#pragma once
// Helpers of the *_matches_host suites: random inputs, device round trips, and comparisons with the host ops.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <gas/core/rng.hpp>
#include <gas/core/tensor.hpp>
#include <gas/cuda/device_buffer.hpp>
#include <gas/cuda/error.hpp>
#include <gas/graph/dataset.hpp>

namespace gas_test {

inline const bool no_gpu = !gas::cuda::available();

/// A (rows, cols) matrix of uniform values in [lo, hi).
template <class T>
gas::Tensor<T, gas::host> random_matrix(std::int64_t rows, std::int64_t cols, std::uint64_t seed, double lo = -1,
                                        double hi = 1) {
  gas::Rng rng(seed);
  gas::Tensor<T, gas::host> m(rows, cols);
  for (auto& v : m.values()) v = static_cast<T>(rng.uniform(lo, hi));
  return m;
}

/// A device copy of `host`, queued on `stream`.
template <class T>
gas::cuda::DeviceBuffer<T> to_device(std::span<const T> host, cudaStream_t stream) {
  gas::cuda::DeviceBuffer<T> d(host.size(), stream);
  d.copy_from(host);
  return d;
}

/// A random graph (rows x cols) with skewed degrees: a hub row adjacent to about 2 * cols columns (with repeated
/// entries), empty rows, and otherwise 0..8 random neighbors; weights in [0.1, 1) when `weighted`.
inline gas::Graph random_graph(gas::node_id rows, gas::node_id cols, std::uint64_t seed, bool weighted) {
  gas::Rng rng(seed);
  std::vector<std::int64_t> indptr{0};
  std::vector<gas::node_id> indices;
  std::vector<float> weights;
  for (gas::node_id r = 0; r < rows; ++r) {
    const std::uint64_t deg = r == 1 ? 2 * static_cast<std::uint64_t>(cols) : (r % 7 == 3 ? 0 : rng.below(9));
    std::vector<gas::node_id> row;
    for (std::uint64_t k = 0; k < deg; ++k) row.push_back(static_cast<gas::node_id>(rng.below(static_cast<std::uint64_t>(cols))));
    std::sort(row.begin(), row.end());
    for (const auto c : row) {
      indices.push_back(c);
      if (weighted) weights.push_back(static_cast<float>(rng.uniform(0.1, 1.0)));
    }
    indptr.push_back(static_cast<std::int64_t>(indices.size()));
  }
  return {rows, cols, std::move(indptr), std::move(indices), std::move(weights)};
}

/// Checks |device - host| <= rel * max(|host|, scale[i], tiny) elementwise; `scale` (optional, same size) is the
/// magnitude of the summed terms, which bounds the error of a reordered sum.
template <class T>
void check_close(std::span<const T> device, std::span<const T> host, double rel, std::span<const T> scale = {}) {
  REQUIRE(device.size() == host.size());
  std::size_t bad = 0, first = 0;
  double worst = 0, first_device = 0, first_host = 0;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const double h = host[i], d = device[i];
    double mag = std::max(std::abs(h), 1e-30);
    if (!scale.empty()) mag = std::max(mag, static_cast<double>(std::abs(scale[i])));
    const double err = std::abs(d - h) / mag;
    if (!(err <= rel)) {  // NaN counts as bad
      if (bad++ == 0) {
        first = i;
        first_device = d;
        first_host = h;
      }
    }
    if (err > worst || std::isnan(err)) worst = err;
  }
  INFO("worst relative error " << worst << " over " << host.size() << " values; " << bad << " bad, the first at "
                                << first << ": device " << first_device << ", host " << first_host);
  CHECK(bad == 0);
}

/// check_close against the tensor's magnitude: |device - host| <= rel * max_k |host_k| elementwise. The bound for
/// values formed by reordered sums that cancel (a gradient near zero is a difference of large terms), where a
/// per-element relative error means nothing.
template <class T>
void check_close_normwise(std::span<const T> device, std::span<const T> host, double rel) {
  T magnitude = 0;
  for (const T v : host) magnitude = std::max(magnitude, static_cast<T>(std::abs(v)));
  const std::vector<T> scale(host.size(), magnitude);
  check_close<T>(device, host, rel, scale);
}

template <class T>
std::span<const T> as_span(gas::MatrixView<const T> v) {
  REQUIRE(v.contiguous());
  return {v.data(), static_cast<std::size_t>(v.rows() * v.cols())};
}

}  // namespace gas_test
