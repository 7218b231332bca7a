// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Indexes the input as a zip archive and reads every entry (stored or DEFLATE, CRC-checked).
#include <gas/io/zip.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return gas_fuzz::guarded([&] {
    const gas::io::ZipArchive zip(std::vector<std::uint8_t>(data, data + size), "fuzz.zip");
    for (const auto& e : zip.entries()) {
      try {
        (void)zip.read(e.name);
      } catch (const gas::error&) {  // one bad entry must not hide the others from the fuzzer
      }
    }
  });
}
