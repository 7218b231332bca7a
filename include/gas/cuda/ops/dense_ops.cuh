#pragma once
/// @brief Device implementations of the dense ops of the tape (see gas/ops/device_ops.hpp for the contract).

#include "gas/autograd/tape.hpp"
#include "gas/cuda/exec.hpp"
#include "gas/cuda/tensor.hpp"

namespace gas::cuda::tape_ops {

struct DenseOps {};

}  // namespace gas::cuda::tape_ops
