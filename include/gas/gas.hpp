#pragma once
/// @brief Umbrella header: `#include <gas/gas.hpp>` gives the whole host library (CUDA parts only under nvcc).

#include "gas/fwd.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/error.hpp"
#include "gas/core/json_writer.hpp"
#include "gas/core/macros.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/csr.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/graph/generators/rmat.hpp"
#include "gas/graph/generators/sbm.hpp"
#include "gas/graph/io/load.hpp"
#include "gas/graph/transforms.hpp"
#include "gas/loader/batch.hpp"
#include "gas/loader/eval_loader.hpp"
#include "gas/loader/train_loader.hpp"
#include "gas/partition/contiguous.hpp"
#include "gas/partition/from_spec.hpp"
#include "gas/partition/metis.hpp"
#include "gas/partition/partition.hpp"
#include "gas/partition/permute.hpp"
#include "gas/partition/random.hpp"

#if defined(__CUDACC__)
#include "gas/cuda/error.hpp"
#endif
