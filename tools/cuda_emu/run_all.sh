#!/bin/bash
# Usage: run_all.sh [build-dir] ; env EMU_* passes through. Prints one summary line per test program.
B=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build-emu}
for t in device_test memory_test tensor_test spmm_matches_host ops_matches_host loss_matches_host elementwise_tape_matches_host dense_tape_matches_host graph_tape_matches_host models_tape_matches_host custom_op_test; do
  [ -x $B/$t ] || continue
  out=$(OMP_NUM_THREADS=2 ASAN_OPTIONS=detect_leaks=0 timeout 1200 $B/$t 2>&1); rc=$?
  echo "$out" > $B/$t.out
  summary=$(echo "$out" | grep "test cases:" | tail -1)
  extra=$(echo "$out" | grep -c "GAS_EMU\|AddressSanitizer\|runtime error")
  printf "%-32s rc=%-3s %s  emu/san-msgs=%s\n" $t $rc "$summary" $extra
done
