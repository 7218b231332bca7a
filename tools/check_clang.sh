#!/usr/bin/env bash
# Checks that clang builds the library (issue 16; the fuzzers and sanitizer builds use clang):
#  1. every host header (include/gas minus the nvcc-only include/gas/cuda) in one translation unit, with
#     -Wall -Wextra -Werror and OpenMP on (the headers' `#pragma omp` regions are what clang rejects most);
#  2. tests/consumer/consumer.cpp compiled, linked and run with clang, as a user of the headers would.
# usage: tools/check_clang.sh   (from the source root; needs clang++, libomp-dev, and the library's dependencies)
set -euo pipefail
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cxx=${CLANGXX:-clang++}
flags=(-std=c++20 -fopenmp -Wall -Wextra -Werror -I"$root/include" $(pkg-config --cflags eigen3 zlib liblzma)
       -DEIGEN_DONT_PARALLELIZE -DEIGEN_GEMM_TO_COEFFBASED_THRESHOLD=0)

find include/gas -name '*.hpp' -not -path 'include/gas/cuda/*' -not -name 'mpi_comm.hpp' | LC_ALL=C sort |
  sed -e 's|^include/|#include <|' -e 's|$|>|' > "$work/all_headers.cpp"
"$cxx" "${flags[@]}" -fsyntax-only "$work/all_headers.cpp"
echo "clang: $(wc -l < "$work/all_headers.cpp") headers compile warning-free ($("$cxx" --version | head -n 1))"

"$cxx" "${flags[@]}" -O1 "$root/tests/consumer/consumer.cpp" -o "$work/consumer" -lmetis \
  $(pkg-config --libs zlib liblzma) -pthread
"$work/consumer" >/dev/null
echo "clang consumer: ok"
