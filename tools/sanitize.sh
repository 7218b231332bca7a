#!/usr/bin/env bash
# Builds and runs the host tests under sanitizers (issue 16), each in its own build folder:
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer, g++, every host test (default build-asan).
#   tsan  ThreadSanitizer, clang++ with LLVM's libomp and its Archer tool, the tests that run threads
#         (the loader's prefetch thread, OpenMP loops, the Trainer) (default build-tsan).
# usage: tools/sanitize.sh asan|tsan [BUILD_DIR]    (from the source root)
# environment: GAS_SANITIZE_JOBS  ninja's -j (default 2)
#              GAS_SANITIZE_TESTS space-separated meson test names to build and run instead of the default set
#                                 (e.g. "history_store io_npy"); the build then compiles only their programs.
#
# Why clang for TSan: libgomp is not built with TSan, so its barriers and task queues are invisible to it and
# every OpenMP parallel loop is reported as a race (false positives). LLVM's libomp announces its synchronization
# to TSan through the OMPT tool libarcher (loaded by OMP_TOOL_LIBRARIES), so OpenMP regions are checked with
# their real threads instead of being hidden behind OMP_NUM_THREADS=1.
# A sanitizer report fails the test: halt_on_error for all three, and UBSan prints a stack trace.
set -euo pipefail
kind=${1:-}
case "$kind" in
  asan) build=${2:-build-asan} ;;
  tsan) build=${2:-build-tsan} ;;
  *) echo "usage: tools/sanitize.sh asan|tsan [BUILD_DIR]" >&2; exit 2 ;;
esac
jobs=${GAS_SANITIZE_JOBS:-2}
root=$(pwd)
[ -f "$root/include/gas/gas.hpp" ] || { echo "run from the source root" >&2; exit 2; }

# Threaded tests: the loader (prefetch thread), the history ops (OpenMP gathers/scatters and push_and_pull), the
# models and Trainer (OpenMP GEMM and elementwise loops, the loader thread), the OpenMP ops, and the distributed code
# on thread ranks (dist/thread_comm.hpp: one thread per rank, collectives through shared memory).
tsan_tests="loader_train_loader loader_eval_loader history_store history_push_and_pull ops_spmm ops_gather
            models_gcn train_trainer dist_comm dist_sharded_store dist_trainer"

common=(-Dcuda=disabled -Dbenchmarks=false -Dexamples=false -Dfetch=disabled -Dbuildtype=debugoptimized)
if [ "$kind" = asan ]; then
  setup=(-Db_sanitize=address,undefined -Db_lundef=false)
  compiler=${CXX:-g++}
  tests=${GAS_SANITIZE_TESTS:-}
else
  # -Dnative=false: the native flags include GCC's -fvect-cost-model, which clang refuses.
  setup=(-Db_sanitize=thread -Db_lundef=false -Dnative=false)
  compiler=${CXX_TSAN:-clang++}
  tests=${GAS_SANITIZE_TESTS:-$tsan_tests}
fi

if [ ! -f "$build/build.ninja" ]; then
  CXX=$compiler meson setup "$build" "${common[@]}" "${setup[@]}"
fi

targets=()
for t in $tests; do targets+=("tests/test_$t"); done
ninja -C "$build" -j "$jobs" "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
# ignore_noninstrumented_modules: libomp itself is not built with TSan; Archer tells TSan about its synchronization,
# and this keeps TSan from reporting the runtime's own internals (Archer asks for it at startup).
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1}
if [ "$kind" = tsan ]; then
  archer=$("$compiler" -print-file-name=libarcher.so)  # the bare name when the driver does not know it
  [[ "$archer" = /* && -f "$archer" ]] || archer=$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | head -n 1)
  [ -f "$archer" ] || { echo "libarcher.so not found (install libomp-dev)" >&2; exit 2; }
  export OMP_TOOL_LIBRARIES=$archer
  # Two threads at least, so OpenMP regions really race if they can, on a machine of any size.
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
fi
# The sanitizers slow the tests 2-15x: meson's timeouts are multiplied accordingly.
meson test -C "$build" --no-rebuild --print-errorlogs --timeout-multiplier 10 $tests
