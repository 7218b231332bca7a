#!/bin/bash
# Builds the cuda test programs against the CPU emulation (see README.md): build.sh [test-name or .cu path ...]
# (default: all; a .cu path with its own `int main`, such as benchmarks/cuda_ops.cu, links without doctest's). EXTRA="-fsanitize=..." adds flags; BUILD (default build-emu under the repository) is the output
# folder. One compile at a time: the machines have 2 cores. A test whose source does not exist (yet) is skipped with a
# note, so the list can name programs that are still being written.
set -e
E=$(cd "$(dirname "$0")" && pwd)
M=$(cd "$E/../.." && pwd)
B=${BUILD:-$M/build-emu}
export EMU_GEN=$B/gen
mkdir -p "$B"
CXX="g++ -std=c++20 -O2 -g -pthread -fopenmp -Wno-deprecated-declarations $EXTRA"
INC="-include $E/shim/emu_shim.hpp -I$EMU_GEN/include -I$E/stub -I$M/include -I$M/tests -I$M/tests/cuda -I$M/benchmarks -I/usr/include/eigen3 -DEIGEN_DONT_PARALLELIZE -I/usr/local/cuda/include -I/usr/local/cuda/include/cccl"
# The generated tree is rebuilt from scratch: a stale rewritten header (one whose source lost its launches or was
# removed) would otherwise shadow include/ through -I$EMU_GEN/include.
rm -rf "$EMU_GEN"
python3 "$E/rewrite.py" > "$B/rewrite.log"
[ "$B/emu_runtime.o" -nt "$E/rt/emu_runtime.cpp" ] && [ "$B/emu_runtime.o" -nt "$E/shim/emu_shim.hpp" ] && \
  [ "$B/emu_runtime.o" -nt "$E/shim/emu_counters.h" ] || \
  $CXX $INC -c "$E/rt/emu_runtime.cpp" -o "$B/emu_runtime.o"
[ -f "$B/doctest_main.o" ] || { printf '#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN\n#include <doctest/doctest.h>\n' > "$B/doctest_main.cpp"; $CXX -c "$B/doctest_main.cpp" -o "$B/doctest_main.o"; }
TESTS="$*"
[ -z "$TESTS" ] && TESTS="device_test memory_test tensor_test spmm_matches_host ops_matches_host loss_matches_host elementwise_tape_matches_host dense_tape_matches_host graph_tape_matches_host models_tape_matches_host custom_op_test pipeline_test dist_nccl_test"
for t in $TESTS; do
  src=$EMU_GEN/tests/cuda/$t.cu
  dir_inc=
  if [ -f "$t" ]; then
    src=$B/src/$(basename "$t"); python3 "$E/rewrite.py" "$t" "$src"
    # The program's own headers beside it (examples/gas_train/*.hpp), rewritten alike.
    for h in "$(dirname "$t")"/*.hpp; do [ -f "$h" ] && python3 "$E/rewrite.py" "$h" "$B/src/$(basename "$h")"; done
    dir_inc=-I$B/src
    t=$(basename "$t" .cu)
  fi
  if [ ! -f "$src" ]; then echo "== $t: skipped, no source (tests/cuda/$t.cu or a .cu path)"; continue; fi
  echo "== $t"
  # A program of NCCL ranks (gas/dist/nccl_comm.hpp) links the emulated NCCL, which runs over MPI (rt/emu_nccl.cpp).
  nccl=; mpi_compile=; mpi_link=
  if grep -q 'gas/dist/nccl_comm.hpp' "$src"; then
    mpi_compile=$(mpicxx --showme:compile); mpi_link=$(mpicxx --showme:link); nccl=$B/emu_nccl.o
    [ "$nccl" -nt "$E/rt/emu_nccl.cpp" ] || $CXX $INC $mpi_compile -c "$E/rt/emu_nccl.cpp" -o "$nccl"
  fi
  $CXX $INC $dir_inc $mpi_compile -x c++ -c "$src" -o "$B/$t.o"
  main=$B/doctest_main.o; grep -q '^int main' "$src" && main=  # a benchmark brings its own main
  $CXX "$B/$t.o" "$B/emu_runtime.o" $nccl $main -o "$B/$t" -lz -llzma -lmetis $mpi_link
done
