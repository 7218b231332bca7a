#!/bin/bash
# Teeth of the pipeline's ordering rules (tests/cuda/pipeline_test.cu, docs/cuda.md): runs the teeth case once per
# copy-stream mode, ring depth (GAS_RING=1|2|3) and dropped rule (GAS_DROP_RULE=1..8) and requires every rule to bite (the result differs from the
# synchronous oracle, or the program fails) in at least one mode. Usage: check_rules.sh [build-dir]
B=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build-emu}
prog=$B/pipeline_test
[ -x "$prog" ] || { echo "no $prog: build it with tools/cuda_emu/build.sh pipeline_test"; exit 2; }
status=0
for rule in 1 2 3 4 5 6 7 8; do
  bit=""
  for run in lazy:1 early:1 late:1 rand:1 lazy:2 early:2 late:2 rand:2 lazy:3 late:3 rand:3; do
    mode=${run%:*} ring=${run#*:}
    out=$(EMU_COPY=$mode EMU_SEED=$rule GAS_RING=$ring GAS_DROP_RULE=$rule OMP_NUM_THREADS=2 timeout 600 "$prog" -tc="each ordering rule*" 2>&1)
    rc=$?
    if echo "$out" | grep -q "RULE $rule mode .*: differs"; then verdict=differs
    elif [ $rc -ne 0 ]; then verdict="fails (exit $rc)"
    else verdict=same; fi
    printf "rule %d, %-5s ring %d: %s\n" "$rule" "$mode" "$ring" "$verdict"
    [ "$verdict" != same ] && bit="$bit $mode/ring$ring"
  done
  if [ -z "$bit" ]; then echo "RULE $rule HAS NO TEETH"; status=1; else echo "rule $rule bites in:$bit"; fi
done
exit $status
