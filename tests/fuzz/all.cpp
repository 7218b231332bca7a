// Every fuzz target in one libFuzzer binary, the one tools/fuzz.sh builds: the headers are compiled once
// instead of once per target (minutes on a CI machine). GAS_FUZZ_TARGET picks the target, e.g.
//   GAS_FUZZ_TARGET=npy build-fuzz/bin/gas_fuzz CORPUS...   (or a crash file, to reproduce a finding).
// Each target file stays a complete libFuzzer target of its own: included here, its entry point is renamed.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define LLVMFuzzerTestOneInput gas_fuzz_npy
#include "npy.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_zip
#include "zip.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_npz
#include "npz.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_pickle
#include "pickle.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_json
#include "json.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_edgelist
#include "edgelist.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_dimacs
#include "dimacs.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_ogb
#include "ogb.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_saint
#include "saint.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_spec
#include "spec.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_checkpoint
#include "checkpoint.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput gas_fuzz_mapped_header
#include "mapped_header.cpp"
#undef LLVMFuzzerTestOneInput

namespace {

using Entry = int (*)(const std::uint8_t*, std::size_t);
Entry chosen = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static constexpr struct {
    std::string_view name;
    Entry entry;
  } targets[] = {{"npy", gas_fuzz_npy},       {"zip", gas_fuzz_zip},           {"npz", gas_fuzz_npz},
                 {"pickle", gas_fuzz_pickle}, {"json", gas_fuzz_json},         {"edgelist", gas_fuzz_edgelist},
                 {"dimacs", gas_fuzz_dimacs}, {"ogb", gas_fuzz_ogb},           {"saint", gas_fuzz_saint},
                 {"spec", gas_fuzz_spec},     {"checkpoint", gas_fuzz_checkpoint},
                 {"mapped_header", gas_fuzz_mapped_header}};
  const char* want = std::getenv("GAS_FUZZ_TARGET");
  for (const auto& t : targets)
    if (want != nullptr && t.name == want) chosen = t.entry;
  if (chosen == nullptr) {
    std::fprintf(stderr, "gas_fuzz: set GAS_FUZZ_TARGET to one of:");
    for (const auto& t : targets) std::fprintf(stderr, " %.*s", static_cast<int>(t.name.size()), t.name.data());
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { return chosen(data, size); }
