#pragma once
/// @brief `DeviceOps<Backend>`: where a backend other than the host keeps the implementations of the ops.
///
/// Every op is written once (in gas/ops/): it checks its arguments, records its node on the tape, and then, on
/// the host, computes with OpenMP loops; on another backend it hands the node to `DeviceOps<Backend>::<op>`,
/// which computes `node.value` from the inputs' values and sets `node.backward` to its own backward function.
/// The CUDA backend specialises this template in gas/cuda/ops.cuh (nvcc only); the name is looked up when an op is
/// instantiated for that backend, so the host library needs no CUDA header.

#include "gas/core/tensor.hpp"

namespace gas::ops {

/// @brief The ops of a non-host backend; see the file comment. The primary template only reports a missing include.
template <class Backend>
struct DeviceOps {
  static_assert(dependent_false<Backend>,
                "gas::ops::DeviceOps: no op implementations for this backend (for gas::cuda::device, compile with "
                "nvcc and include <gas/cuda/ops.cuh> or <gas/gas.hpp>)");
};

}  // namespace gas::ops
