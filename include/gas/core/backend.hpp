#pragma once
/// @brief Backend tags: algorithms are written once and specialized per backend by these tags.

namespace gas {

/// @brief The host backend (Eigen + OpenMP); the reference every other backend is tested against.
struct host {};

namespace cuda {
/// @brief The CUDA device backend: `Tensor<T, gas::cuda::device>` and the device ops specialize on it. Declared
/// here, outside gas/cuda/, so host-only code can name it (in a type list, a static_assert) without nvcc.
struct device {};
}  // namespace cuda

/// @brief The graph type the ops of a backend aggregate over: `gas::Graph` on the host (graph/dataset.hpp),
/// `cuda::DeviceCsr` on the device (cuda/device_csr.hpp). Specialized where those types are defined.
template <class Backend>
struct backend_graph;

/// @brief `gas::Graph` for `gas::host`, `cuda::DeviceCsr` for `gas::cuda::device`: what layers' forward takes.
template <class Backend>
using GraphOf = typename backend_graph<Backend>::type;

}  // namespace gas
