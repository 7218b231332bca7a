#pragma once
/// @brief The tape's ops on the device: `gas::ops::DeviceOps<gas::cuda::device>`, gathered from gas/cuda/ops/.
///
/// With this header (nvcc only), every op of gas/ops/ and so every layer and model runs on `gas::cuda::device`
/// tensors: `ag::Tape<float, gas::cuda::device>` records the same ops as the host tape and its kernels run on the
/// stream of `tape.exec()`. Each group's implementations live in one struct of static member templates; the
/// groups share no names.

#include "gas/core/backend.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/ops/dense_ops.cuh"
#include "gas/cuda/ops/edge.cuh"
#include "gas/cuda/ops/elementwise_ops.cuh"
#include "gas/cuda/ops/graph_ops.cuh"
#include "gas/cuda/ops/history_ops.cuh"
#include "gas/cuda/ops/optim_ops.cuh"
#include "gas/ops/device_ops.hpp"

namespace gas::ops {

/// @brief The CUDA backend's op implementations.
template <>
struct DeviceOps<cuda::device> : cuda::tape_ops::ElementwiseOps,
                                 cuda::tape_ops::GraphOps,
                                 cuda::tape_ops::DenseOps,
                                 cuda::tape_ops::HistoryOps,
                                 cuda::tape_ops::OptimOps {};

}  // namespace gas::ops
