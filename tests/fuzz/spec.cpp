// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Parses the input as a dataset spec (gas::io::parse_spec) and, for the generators, as their key=value
// parameters (gas::gen::parse_sbm / parse_rmat, which validate); nothing is generated or read.
#include <gas/io/load.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = gas_fuzz::as_text(data, size);
  gas_fuzz::guarded([&] {
    const auto spec = gas::io::parse_spec(text);
    if (spec.kind == "sbm") (void)gas::gen::parse_sbm(spec.argument);
    if (spec.kind == "rmat") (void)gas::gen::parse_rmat(spec.argument);
  });
  // The parameter parsers on their own, so the fuzzer need not find the "sbm:" prefix first.
  gas_fuzz::guarded([&] { (void)gas::gen::parse_sbm(text); });
  return gas_fuzz::guarded([&] { (void)gas::gen::parse_rmat(text); });
}
