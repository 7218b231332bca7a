#pragma once
/// @brief Backend tags: algorithms are written once and specialised per backend by these tags.

namespace gas {

/// @brief The host backend (Eigen + OpenMP); the reference every other backend is tested against.
struct host {};

}  // namespace gas
