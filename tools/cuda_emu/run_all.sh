#!/bin/bash
# Usage: run_all.sh [build-dir] ; env EMU_* passes through. Prints one summary line per test program.
# EMU_MODES="lazy early late rand" runs every program once per EMU_COPY mode (one line each; full output in
# <build-dir>/<test>.<mode>.out), to show code whose result depends on how its streams interleave.
B=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build-emu}
# Programs of NCCL ranks run as two MPI processes, each emulating a device of its own.
MPIRUN="mpirun --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none -np 2"
run_one() {  # run_one TEST MODE-or-empty
  local t=$1 mode=$2 out rc summary extra log=$B/$1.out launch=
  case $t in dist_*) launch=$MPIRUN ;; esac
  if [ -n "$mode" ]; then
    log=$B/$t.$mode.out
    out=$(EMU_COPY=$mode OMP_NUM_THREADS=2 ASAN_OPTIONS=detect_leaks=0 timeout 1200 $launch $B/$t 2>&1); rc=$?
  else
    out=$(OMP_NUM_THREADS=2 ASAN_OPTIONS=detect_leaks=0 timeout 1200 $launch $B/$t 2>&1); rc=$?
  fi
  echo "$out" > $log
  summary=$(echo "$out" | grep "test cases:\|: ok (" | tail -1)
  extra=$(echo "$out" | grep -c "GAS_EMU\|AddressSanitizer\|runtime error")
  if [ -n "$mode" ]; then
    printf "%-32s %-5s rc=%-3s %s  emu/san-msgs=%s\n" $t $mode $rc "$summary" $extra
  else
    printf "%-32s rc=%-3s %s  emu/san-msgs=%s\n" $t $rc "$summary" $extra
  fi
}
for t in device_test memory_test tensor_test spmm_matches_host ops_matches_host loss_matches_host elementwise_tape_matches_host dense_tape_matches_host graph_tape_matches_host models_tape_matches_host custom_op_test pipeline_test dist_nccl_test; do
  [ -x $B/$t ] || continue
  if [ -z "$EMU_MODES" ]; then run_one $t ""; else for m in $EMU_MODES; do run_one $t $m; done; fi
done
