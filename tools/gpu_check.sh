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
# line per step with its exit status; its own status is 1 when a test failed.
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
    ninja -C "$build" $targets
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
    failed=0
    nvidia-smi > "$out/nvidia-smi.txt" 2>&1
    for t in "$bundle"/bin/test_cuda_*; do
      [ -x "$t" ] || continue
      name=$(basename "$t")
      "$t" > "$out/$name.log" 2>&1
      rc=$?
      echo "$name: exit $rc ($(tail -3 "$out/$name.log" | head -1))"
      [ $rc -eq 0 ] || failed=1
    done
    sanitizer=$(command -v compute-sanitizer || echo "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer")
    [ -x "$sanitizer" ] || { echo "compute-sanitizer not found: memcheck not run"; failed=1; }
    checked="test_cuda_models_tape_matches_host test_cuda_graph_tape_matches_host"
    checked="$checked test_cuda_elementwise_tape_matches_host test_cuda_dense_tape_matches_host"
    [ -x "$sanitizer" ] && for t in $checked; do
      "$sanitizer" --tool memcheck --error-exitcode 9 "$bundle/bin/$t" > "$out/memcheck_$t.log" 2>&1
      rc=$?
      echo "memcheck $t: exit $rc ($(grep -m1 'ERROR SUMMARY' "$out/memcheck_$t.log"))"
      [ $rc -eq 0 ] || failed=1
    done
    "$bundle/bin/bench_cuda_spmm" --json "$out/cuda_spmm.json" > "$out/bench_cuda_spmm.log" 2>&1
    echo "bench_cuda_spmm: exit $?"
    "$bundle/bin/bench_cuda_train" --json "$out/cuda_train.json" > "$out/bench_cuda_train.log" 2>&1
    echo "bench_cuda_train: exit $?"
    exit $failed
    ;;
  *)
    echo "usage: tools/gpu_check.sh prepare|run" >&2
    exit 2
    ;;
esac
