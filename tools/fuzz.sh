#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of tests/fuzz/ (issue 16): clang++ with
# -fsanitize=fuzzer,address,undefined, outside meson (one direct clang++ line). All targets are compiled into one
# binary, FUZZ_DIR/bin/gas_fuzz (tests/fuzz/all.cpp), so the headers are compiled once; GAS_FUZZ_TARGET picks
# the target. To reproduce a finding: GAS_FUZZ_TARGET=npy build-fuzz/bin/gas_fuzz build-fuzz/findings/npy/crash-...
#
# usage: tools/fuzz.sh TARGET SECONDS      run one target (npy, zip, npz, pickle, json, edgelist, dimacs, ogb,
#        tools/fuzz.sh all SECONDS         saint, spec, checkpoint, mapped_header) for SECONDS, or each in turn
#        tools/fuzz.sh build               only build (and write the seeds)
# Run from the source root. Environment: FUZZ_DIR (default build-fuzz) holds the binaries, the working corpora
# (FUZZ_DIR/corpus/TARGET, kept between runs) and the crash files (FUZZ_DIR/findings/TARGET/); CLANGXX (clang++);
# FUZZ_JOBS (1) parallel fuzzing processes per target; FUZZ_REBUILD=0 runs the binaries already built even when a
# header is newer (a long series of runs while unrelated headers are being edited).
#
# Each target starts from seeds written by tests/fuzz/make_seeds (built with the same flags) plus, when
# ../shared/data exists, a few cuts of the real datasets (never stored in the repository), and uses the
# dictionary tests/fuzz/dicts/TARGET.dict. A finding is anything but a gas::error: a crash, an uncaught
# exception of another type, a sanitizer report, an input slower than -timeout, an allocation above
# -malloc_limit_mb or a resident size above -rss_limit_mb. Prints per target: seconds, executions,
# cov/ft (libFuzzer's final coverage and feature counts), corpus size and findings; exits 1 on a finding.
# A timeout whose input runs within the limit when run again is a stall of the (shared) machine, kept as
# stall-* and not counted; fuzzing then goes on for the seconds left, so the runs add up to SECONDS.
set -euo pipefail
root=$(pwd)
[[ -f tests/fuzz/fuzz_util.hpp ]] || { echo "fuzz.sh: run from the source root" >&2; exit 2; }
fuzz_dir=$(realpath -m "${FUZZ_DIR:-build-fuzz}")
cxx=${CLANGXX:-clang++}
jobs=${FUZZ_JOBS:-1}
all_targets=(npy zip npz pickle json edgelist dimacs ogb saint spec checkpoint mapped_header)

# Per-format limits: the largest input worth mutating (-max_len) and the memory one input may take.
max_len() {
  case $1 in
    npz|zip|saint) echo 16384 ;;
    pickle|checkpoint|ogb|npy) echo 8192 ;;
    spec) echo 256 ;;
    *) echo 4096 ;;
  esac
}
rss_limit=1024      # MB; ASan's shadow memory included
malloc_limit=256    # MB in one allocation: inputs of a few KB never need more, a lying size field does
timeout=5           # seconds per input: every reader is linear, so a slower input is a hang

flags=(-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I"$root/include" -I"$root/tests" $(pkg-config --cflags eigen3 zlib liblzma)
       -DEIGEN_DONT_PARALLELIZE)
libs=($(pkg-config --libs zlib liblzma) -pthread)

build() {  # build: the fuzzer binary, rebuilt when a header, a target or a test writer changed
  local bin=$fuzz_dir/bin/gas_fuzz
  mkdir -p "$fuzz_dir/bin"
  if [[ -x $bin ]] && { [[ ${FUZZ_REBUILD:-1} == 0 ]] ||
      [[ -z $(find include tests/fuzz tests/io/npz_writer.hpp tests/io/pickle_writer.hpp -newer "$bin" -print -quit) ]]; }; then
    return
  fi
  echo "fuzz.sh: building $bin" >&2
  "$cxx" "${flags[@]}" tests/fuzz/all.cpp -o "$bin.tmp" "${libs[@]}"
  mv "$bin.tmp" "$bin"
}

seeds() {  # seeds: (re)writes FUZZ_DIR/seeds/* from make_seeds and the real data
  local bin=$fuzz_dir/bin/make_seeds
  mkdir -p "$fuzz_dir/bin"
  if [[ ! -x $bin ]] || { [[ ${FUZZ_REBUILD:-1} != 0 ]] && [[ -n $(find include tests/fuzz tests/io -newer "$bin" -print -quit) ]]; }; then
    echo "fuzz.sh: building make_seeds" >&2
    # -fsanitize=fuzzer-no-link: the same instrumentation, without libFuzzer's main.
    "$cxx" "${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=address,undefined}" \
      tests/fuzz/make_seeds.cpp tests/fuzz/make_seeds_pickle.cpp -o "$bin" "${libs[@]}"
  fi
  rm -rf "$fuzz_dir/seeds"
  "$bin" "$fuzz_dir/seeds"
  local data=$root/../shared/data
  if [[ -d $data ]]; then
    # Real files, cut to the targets' -max_len: a whole small pickle, the heads of larger ones, decompressed
    # DIMACS text and the raw head of an xz stream (a truncated stream the reader must refuse cleanly).
    local pk=$data/planetoid/cora
    [[ -f $pk/ind.cora.y ]] && cp "$pk/ind.cora.y" "$fuzz_dir/seeds/pickle/real_cora_y"
    [[ -f $pk/ind.cora.graph ]] && head -c 8000 "$pk/ind.cora.graph" > "$fuzz_dir/seeds/pickle/real_cora_graph_head"
    [[ -f $pk/ind.cora.x ]] && head -c 8000 "$pk/ind.cora.x" > "$fuzz_dir/seeds/pickle/real_cora_x_head"
    if [[ -f $data/road/NY.gr.xz ]]; then
      xz -dc "$data/road/NY.gr.xz" 2>/dev/null | head -c 4000 > "$fuzz_dir/seeds/dimacs/real_ny_head" || true
      head -c 4000 "$data/road/NY.gr.xz" > "$fuzz_dir/seeds/dimacs/real_ny_xz_head"
    fi
    for f in "$data"/heterophilous/chameleon_filtered.npz "$data"/gnn-benchmark/cora.npz; do
      # The zip central directory sits at the end: the tail is what exercises the index.
      [[ -f $f ]] && tail -c 8000 "$f" > "$fuzz_dir/seeds/zip/real_tail_$(basename "$f")"
    done
  fi
  for f in tests/data/*.npz; do  # small fixtures in the repository
    cp "$f" "$fuzz_dir/seeds/zip/"
    cp "$f" "$fuzz_dir/seeds/npz/"
  done
}

count_findings() {  # the inputs libFuzzer saved as findings in folder $1
  find "$1" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l
}

run() {  # run TARGET SECONDS: fuzz, then print the figures; returns 1 on a finding
  local t=$1 secs=$2
  local corpus=$fuzz_dir/corpus/$t findings=$fuzz_dir/findings/$t log=$fuzz_dir/logs/$t.log
  mkdir -p "$corpus" "$findings" "$fuzz_dir/logs"
  local dict=()
  [[ -f tests/fuzz/dicts/$t.dict ]] && dict=(-dict="$root/tests/fuzz/dicts/$t.dict")
  local seeddir=$fuzz_dir/seeds/$t
  [[ -d $seeddir ]] || seeddir=
  local before
  before=$(count_findings "$findings")
  local began=$SECONDS left=$secs rc=0
  : > "$log"
  # A shared, loaded machine can stall a process (another job's SIGSTOP, swapping) for longer than -timeout:
  # libFuzzer then stops at a timeout whose input, run again, finishes within the limit. That is a stall, not a
  # hang: the input is kept as stall-*, reported and not counted, and fuzzing goes on for the seconds left (the
  # corpus carries over), so that the runs add up to SECONDS; the figures printed are their sums.
  while :; do
    touch "$log.start"
    set +e
    # -jobs/-workers run independent processes; their logs go to fuzz-N.log in the working directory.
    (cd "$findings" && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      GAS_FUZZ_TARGET=$t "$fuzz_dir/bin/gas_fuzz" "$corpus" $seeddir "${dict[@]}" -max_total_time="$left" \
      -max_len="$(max_len "$t")" -timeout=$timeout -rss_limit_mb=$rss_limit -malloc_limit_mb=$malloc_limit \
      -print_final_stats=1 -artifact_prefix="$findings/" -reload=0 \
      $( ((jobs > 1)) && echo "-jobs=$jobs -workers=$jobs" ) ) >> "$log" 2>&1
    rc=$?
    set -e
    local f stalled=0
    for f in $(find "$findings" -type f -name 'timeout-*' -newer "$log.start" 2>/dev/null); do
      if (cd "$findings" && GAS_FUZZ_TARGET=$t timeout $((timeout * 3)) "$fuzz_dir/bin/gas_fuzz" -timeout=$timeout \
          -rss_limit_mb=$rss_limit -malloc_limit_mb=$malloc_limit "$f") > "$log.rerun" 2>&1; then
        mv "$f" "${f/timeout-/stall-}"
        echo "  $t: $(basename "$f") did not time out when run again: a stall of the machine, not counted" >&2
        stalled=1
        rc=0
      fi
    done
    left=$((secs - (SECONDS - began)))
    if ((stalled && rc == 0 && left >= 15)); then
      echo "  $t: continuing for the $left s left" >&2
      continue
    fi
    break
  done
  local took=$((SECONDS - began))  # less than asked when a finding stopped the run
  local after execs cov ft
  after=$(count_findings "$findings")
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}' || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | awk '{print $2}' || true)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | awk '{print $2}' || true)
  local new=$((after - before)) status=ok
  if ((rc != 0)) || ((new > 0)); then status=FINDING; fi
  printf 'fuzz %-14s %5ss  execs %-9s cov %-5s ft %-6s corpus %-5s findings %s (%s)\n' "$t" "$took" "$execs" \
    "${cov:-?}" "${ft:-?}" "$(find "$corpus" -type f | wc -l)" "$new" "$status"
  if [[ $status != ok ]]; then
    grep -m 5 -E 'ERROR|SUMMARY|terminate|what\(\)|runtime error' "$log" | sed 's/^/  /' || true
    echo "  log: $log; inputs: $findings/" >&2
    return 1
  fi
}

case ${1:-} in
  build)
    build
    seeds ;;
  all)
    secs=${2:?usage: tools/fuzz.sh all SECONDS}
    build
    seeds
    failed=0
    for t in "${all_targets[@]}"; do run "$t" "$secs" || failed=1; done
    exit $failed ;;
  ''|-h|--help)
    sed -n '2,20p' "$0"; exit 2 ;;
  *)
    t=$1 secs=${2:?usage: tools/fuzz.sh TARGET SECONDS}
    [[ -f tests/fuzz/$t.cpp ]] || { echo "fuzz.sh: no target tests/fuzz/$t.cpp" >&2; exit 2; }
    build
    seeds
    run "$t" "$secs" ;;
esac
