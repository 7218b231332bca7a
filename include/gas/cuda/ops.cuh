#pragma once
/// @brief The device implementations of the ops: every `gas::ops::Impl<Op, gas::cuda::device>`, from gas/cuda/ops/.
///
/// With this header (nvcc only), every op of gas/ops/ and so every layer and model runs on `gas::cuda::device`
/// tensors: `autograd::Tape<T, gas::cuda::device>` records the same ops as the host tape (ops::record, one dispatch point)
/// and their kernels run on the stream of `tape.exec()`. Each file of gas/cuda/ops/ holds the device implementations
/// of the ops of the gas/ops/ header of the same name, over the kernels of gas/cuda/kernels/; optim.cuh holds the
/// optimizers' parameter updates and the gradient clipping of gas/train/clip.hpp. The history op's device
/// implementation is gas/cuda/history/push_and_pull.cuh.

#include "gas/cuda/ops/activation.cuh"
#include "gas/cuda/ops/arithmetic.cuh"
#include "gas/cuda/ops/batch_norm.cuh"
#include "gas/cuda/ops/concat.cuh"
#include "gas/cuda/ops/dropout.cuh"
#include "gas/cuda/ops/edge.cuh"
#include "gas/cuda/ops/gather.cuh"
#include "gas/cuda/ops/loss.cuh"
#include "gas/cuda/ops/matmul.cuh"
#include "gas/cuda/ops/norm.cuh"
#include "gas/cuda/ops/optim.cuh"
#include "gas/cuda/ops/reduce.cuh"
#include "gas/cuda/ops/scalar.cuh"
#include "gas/cuda/ops/spmm.cuh"
