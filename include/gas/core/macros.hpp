#pragma once
/// @brief Portability macros shared by host and device code.

#if defined(__CUDACC__)
/// @brief Marks a function callable from host and device code (empty on a host-only build).
#define GAS_HD __host__ __device__
#else
#define GAS_HD
#endif

#define GAS_STRINGIFY_IMPL(x) #x
#define GAS_STRINGIFY(x) GAS_STRINGIFY_IMPL(x)
