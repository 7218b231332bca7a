// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Reads the input as an edge list file (plain, or gzip/xz when its magic bytes say so).
#include <gas/io/edgelist.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = gas_fuzz::scratch() / "fuzz.txt";
  gas_fuzz::write_file(file, gas_fuzz::as_text(data, size));
  return gas_fuzz::guarded([&] { (void)gas::io::read_edgelist(file); });
}
