// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Parses the input as a training checkpoint (gas::train::Checkpoint::parse, the in-memory half of load).
#include <gas/train/checkpoint.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return gas_fuzz::guarded(
      [&] { (void)gas::train::Checkpoint::parse(std::span<const std::uint8_t>(data, size), "fuzz.ckpt"); });
}
