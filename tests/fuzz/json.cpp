// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Parses the input as JSON into a DOM, with default options and with a shallow depth limit.
#include <gas/io/json.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = gas_fuzz::as_text(data, size);
  gas_fuzz::guarded([&] { (void)gas::io::parse_json(text, "fuzz.json"); });
  return gas_fuzz::guarded([&] { (void)gas::io::parse_json(text, "fuzz.json", {.max_depth = 4}); });
}
