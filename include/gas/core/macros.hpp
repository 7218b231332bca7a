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

/// @brief Asks GCC to unroll the next loop 4 times (host loops over a few vector registers). Empty under nvcc, whose
/// front end reports `#pragma GCC` as unrecognized in the host code of a .cu, and under other compilers.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define GAS_UNROLL4 _Pragma("GCC unroll 4")
#else
#define GAS_UNROLL4
#endif
