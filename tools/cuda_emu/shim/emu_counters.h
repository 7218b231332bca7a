/* What a program asked of the emulated CUDA runtime (tools/cuda_emu), readable by the program itself.
 *
 * Plain C, so any test can include it; emu_shim.hpp includes it and defines GAS_EMU, so code built against the
 * emulator writes
 *     #ifdef GAS_EMU
 *     const gas_emu_counters before = gas_emu_get_counters();
 *     ... the code under test ...
 *     CHECK(gas_emu_get_counters().host_waits - before.host_waits == 1);
 *     #endif
 * to check properties a GPU run cannot easily show: that a pipeline allocates its buffers once, not per step, and
 * that it blocks the host only where it means to. The counts are totals since the program started. */
#ifndef GAS_EMU_COUNTERS_H
#define GAS_EMU_COUNTERS_H

#ifdef __cplusplus
extern "C" {
#endif

struct gas_emu_counters {
  long long device_allocs; /* successful cudaMalloc of more than 0 bytes */
  long long pinned_allocs; /* successful cudaHostAlloc / cudaMallocHost of more than 0 bytes */
  long long device_frees;  /* successful cudaFree of a non-null pointer */
  long long pinned_frees;  /* successful cudaFreeHost of a non-null pointer */
  /* calls by which the host blocks on device work, counted whether or not anything was pending (a program cannot
   * know): cudaStreamSynchronize, cudaEventSynchronize, cudaDeviceSynchronize, accepted synchronous cudaMemcpy /
   * cudaMemcpy2D / cudaMemset, cudaFree and cudaFreeHost of non-null pointers. Not cudaStreamQuery/cudaEventQuery,
   * cudaStreamDestroy or cublasDestroy. */
  long long host_waits;
  long long host_funcs; /* cudaLaunchHostFunc calls accepted */
  long long copies;     /* accepted cudaMemcpy* calls (1-D and 2-D, synchronous and asynchronous; not memsets) */
  long long launches;   /* accepted kernel launches (not the fake cuBLAS/CUB work) */
};

struct gas_emu_counters gas_emu_get_counters(void);

/* EMU_COPY's mode: "lazy", "early", "late" or "rand"; "eager" when EMU_EAGER=1 overrides it. */
const char* gas_emu_copy_mode(void);

#ifdef __cplusplus
}
#endif

#endif /* GAS_EMU_COUNTERS_H */
