#pragma once
/// @brief The CUDA memory layer in one include: devices, streams, events, the caching arena, device and pinned buffers.

#include "gas/cuda/arena.hpp"
#include "gas/cuda/device.hpp"
#include "gas/cuda/device_buffer.hpp"
#include "gas/cuda/event.hpp"
#include "gas/cuda/pinned.hpp"
#include "gas/cuda/stream.hpp"
