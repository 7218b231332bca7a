#!/usr/bin/env bash
# The GPU checks of the CUDA backend (docs/cuda.md, docs/performance.md) in two steps, for a device machine that
# has the CUDA toolkit but not Eigen, METIS or doctest:
#
#   tools/gpu_check.sh prepare   # here: configure build-gpu for sm_90, build the cuda tests, benchmarks and
#                                # gas-train-cuda, and put them, stripped, with the shared libraries the device
#                                # lacks, into gpu-bundle/ (bin/, lib/): small enough to carry (git ignores it)
#   tools/gpu_check.sh run       # there (gpu-bundle carried over): cuda suite, memcheck, benchmarks -> $OUT
#
# `run` writes one log per program and the benchmarks' JSON under $OUT (default /tmp/gpu-check) and prints one
# line per step with its exit status and seconds; every step runs under `timeout` and the whole run within
# GPU_CHECK_BUDGET_S seconds (480 by default; see the budget below). Its own status is 1 when a test or a memcheck
# failed or bench_cuda_pipeline reported a failed item. tools/timeline.py $OUT/cuda_pipeline.json draws the copy
# streams' timeline from the benchmark's JSON.
set -u
cmd=${1:-}
build=build-gpu
bundle=gpu-bundle

case "$cmd" in
  prepare)
    set -e
    [ -d "$build" ] || meson setup "$build" -Dcuda=enabled -Dcuda_args=-arch=sm_90 -Dbuildtype=debugoptimized
    pattern='tests/cuda/test_cuda_[a-z_]*\|benchmarks/bench_cuda_[a-z_]*\|examples/gas-train-cuda'
    targets=$(cd "$build" && ninja -t targets all | sed -n "s#^\($pattern\): .*#\1#p" | sort -u)
    ninja -C "$build" -j "${JOBS:-1}" $targets  # one nvcc at a time by default: the build machines have 2 cores
    rm -rf "$bundle" && mkdir -p "$bundle/bin" "$bundle/lib"
    for t in $targets; do strip --strip-debug -o "$bundle/bin/$(basename "$t")" "$build/$t"; done
    # Everything the binaries load from /usr/lib (METIS, GKlib, OpenMP, zlib, xz, ...) but not the CUDA libraries,
    # which the device machine's toolkit provides, nor the C library (glibc's pieces) and C++ runtime it has.
    for t in $targets; do ldd "$build/$t"; done | awk '$3 ~ /^\/(usr\/)?lib/ {print $3}' | sort -u |
      grep -v -e libcuda -e libcublas -e libcudart -e libcusparse -e 'libc\.so' -e 'libm\.so' -e ld-linux \
              -e 'libstdc++' -e libgcc_s -e libdl -e libpthread -e librt |
      while read -r lib; do cp -L "$lib" "$bundle/lib/"; done
    size=$(du -sh "$bundle" | cut -f1)
    echo "prepared $bundle: $(ls "$bundle/bin" | wc -l) programs, $(ls "$bundle/lib" | wc -l) libraries, $size"
    ;;
  run)
    out=${OUT:-/tmp/gpu-check}
    mkdir -p "$out"
    export LD_LIBRARY_PATH="$PWD/$bundle/lib:${LD_LIBRARY_PATH:-}"
    export GAS_DATA_DIR=${GAS_DATA_DIR:-$PWD/../shared/data}
    bin=$bundle/bin
    # Time: the whole run stays within GPU_CHECK_BUDGET_S (default 480 s); each step runs under `timeout`, its own
    # limit cut to what is left. In order: the cuda suite (pipeline test first; 170 s in all, 120 s a program),
    # memcheck of the pipeline test's staleness case (70 s), bench_cuda_pipeline (240 s; its --deadline-s leaves
    # 35 s for the item in flight, and it rewrites $out/cuda_pipeline.json after every item), then, as the budget
    # allows, memcheck of the tape tests (60 s each), bench_cuda_spmm (60 s), bench_cuda_ops (90 s) and
    # bench_cuda_train (120 s).
    budget=${GPU_CHECK_BUDGET_S:-480}
    start=$SECONDS
    failed=0
    rc=0
    left() { echo $((budget - (SECONDS - start))); }
    cap() { local l; l=$(left); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; }
    # step NAME LIMIT LOG KIND CMD...: runs CMD under `timeout LIMIT` (cut to the budget) with its output in LOG and
    # prints "NAME: exit RC, Ns (detail)", the detail by KIND (test: doctest's summary, memcheck: the ERROR SUMMARY,
    # bench: the last line). Sets rc; rc=skipped when the budget no longer allows 10 s.
    step() {
      local name=$1 limit=$2 log=$3 kind=$4 t0=$SECONDS detail note=""
      shift 4
      limit=$(cap "$limit")
      if [ "$limit" -lt 10 ]; then
        echo "$name: skipped (${budget}s budget spent)"
        rc=skipped
        return
      fi
      timeout -k 5 "$limit" "$@" > "$log" 2>&1
      rc=$?
      case "$kind" in
        test) detail=$(grep -m1 'test cases:' "$log") ;;
        memcheck) detail=$(grep -m1 'ERROR SUMMARY' "$log") ;;
        *) detail=$(tail -1 "$log") ;;
      esac
      if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then note=", timed out at ${limit}s"; fi
      echo "$name: exit $rc, $((SECONDS - t0))s$note (${detail:-no output})"
    }

    timeout 30 nvidia-smi > "$out/nvidia-smi.txt" 2>&1

    # The cuda suite, the pipeline test first.
    suite_start=$SECONDS
    suite_budget=170
    first="$bin/test_cuda_pipeline_test"
    for t in "$first" "$bin"/test_cuda_*; do
      [ -x "$t" ] || continue
      [ "$t" = "$first" ] && [ -n "${first_done:-}" ] && continue
      [ "$t" = "$first" ] && first_done=1
      name=$(basename "$t")
      limit=$((suite_budget - (SECONDS - suite_start)))
      [ $limit -gt 120 ] && limit=120
      if [ "$name" = test_cuda_dist_nccl ]; then  # NCCL's ranks start under MPI, which the device image may lack
        if ! command -v mpirun > /dev/null; then echo "$name: skipped (no mpirun here)"; continue; fi
        step "$name" "$limit" "$out/$name.log" bench mpirun --allow-run-as-root -np 1 "$t"
        [ "$rc" = 0 ] || [ "$rc" = 77 ] || failed=1
        continue
      fi
      step "$name" "$limit" "$out/$name.log" test "$t"
      [ "$rc" = 0 ] || [ "$rc" = skipped ] || failed=1
    done

    sanitizer=$(command -v compute-sanitizer || echo "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer")
    memcheck() {  # memcheck NAME LIMIT PROGRAM [ARGS...]
      local name=$1 limit=$2
      shift 2
      step "memcheck $name" "$limit" "$out/memcheck_$name.log" memcheck \
        "$sanitizer" --tool memcheck --error-exitcode 9 "$@"
      [ "$rc" = 0 ] || [ "$rc" = skipped ] || failed=1
    }
    if [ -x "$sanitizer" ]; then
      memcheck test_cuda_pipeline_test_staleness 70 "$bin/test_cuda_pipeline_test" '-tc=staleness*'
    else
      echo "compute-sanitizer not found: memcheck not run"
      failed=1
    fi

    # The pipeline benchmark: JSON after every item; exit 1 means an item failed.
    limit=$(cap 240)
    deadline=$((limit - 35))
    [ $deadline -lt 1 ] && deadline=1
    step bench_cuda_pipeline "$limit" "$out/bench_cuda_pipeline.log" bench \
      "$bin/bench_cuda_pipeline" --json "$out/cuda_pipeline.json" --deadline-s "$deadline"
    [ "$rc" = 1 ] && failed=1

    # What the budget still allows.
    if [ -x "$sanitizer" ]; then
      for t in test_cuda_models_tape_matches_host test_cuda_graph_tape_matches_host \
               test_cuda_elementwise_tape_matches_host test_cuda_dense_tape_matches_host; do
        memcheck "$t" 60 "$bin/$t"
      done
    fi
    step bench_cuda_spmm 60 "$out/bench_cuda_spmm.log" bench "$bin/bench_cuda_spmm" --json "$out/cuda_spmm.json"
    # Issue 17: each CCCL / cuBLAS primitive against the kernel it replaced; exit 1 means a result check failed.
    step bench_cuda_ops 90 "$out/bench_cuda_ops.log" bench "$bin/bench_cuda_ops" --json "$out/cuda_ops.json"
    [ "$rc" = 1 ] && failed=1
    step bench_cuda_train 120 "$out/bench_cuda_train.log" bench "$bin/bench_cuda_train" --json "$out/cuda_train.json"
    echo "gpu_check run: $((SECONDS - start))s of a ${budget}s budget, status $failed"
    exit $failed
    ;;
  *)
    echo "usage: tools/gpu_check.sh prepare|run" >&2
    exit 2
    ;;
esac
