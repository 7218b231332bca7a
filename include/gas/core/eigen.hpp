#pragma once
/// @brief Eigen/Core as gas includes it: host only under nvcc, never threading by itself, and without GCC 12's false
/// warnings from its AVX-512 intrinsics. Include this instead of <Eigen/Core> (tests, benchmarks and user code that
/// mixes Eigen with gas, too).

// Eigen runs on the host only here: under nvcc, keep it from annotating its functions __host__ __device__ (which
// makes nvcc warn about defaulted members and host-only constexpr calls in a .cu that includes gas.hpp).
#if defined(__CUDACC__) && !defined(EIGEN_NO_CUDA)
#define EIGEN_NO_CUDA
#endif
// Our matmul parallelizes over fixed row blocks itself; Eigen's own GEMM threading would start a nested, spinning
// OpenMP team inside each block (our num_threads(1) team is an inactive region to Eigen), which collapses under
// load: a 2-thread run was 25x slower than a 1-thread one. gas_dep and gas.pc also pass -DEIGEN_DONT_PARALLELIZE,
// for code that includes Eigen before gas.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif
// Products of small matrices (dimensions summing to under 20) would take Eigen's coefficient-based path, whose
// vectorized reductions peel differently with the operands' alignment: the same product of two views at other
// addresses (a batch's rows against the whole graph's) could then differ in the last bit with AVX. Every product
// takes the blocked GEMM kernel, which packs its operands first.
#ifndef EIGEN_GEMM_TO_COEFFBASED_THRESHOLD
#define EIGEN_GEMM_TO_COEFFBASED_THRESHOLD 0
#endif
// GCC 12 reports its own AVX-512 intrinsics (`__m512 __Y = __Y;` in avx512fintrin.h) as uninitialized when Eigen's
// GEMM inlines them under -march=native (GCC bug 105593, fixed in GCC 13). The warning's location is in that header,
// so silencing it for the span of the include silences exactly those, not our code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>  // IWYU pragma: export
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
