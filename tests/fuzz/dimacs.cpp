// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Reads the input as a DIMACS graph (`p sp N M` / `p tw N M` header, `a u v w` or `u v` lines).
#include <gas/io/edgelist.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = gas_fuzz::scratch() / "fuzz.gr";
  gas_fuzz::write_file(file, gas_fuzz::as_text(data, size));
  return gas_fuzz::guarded([&] { (void)gas::io::read_dimacs(file); });
}
