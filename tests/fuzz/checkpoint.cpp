// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Parses the input as a training checkpoint (gas::train::Checkpoint::parse, the in-memory half of load), once
// as it is and once with a correct CRC-32 appended, so that mutations reach the header parser behind the
// checksum; every accepted array must be exactly rows x cols elements of its dtype.
#include <zlib.h>

#include <cstdlib>

#include <gas/train/checkpoint.hpp>

#include "fuzz_util.hpp"

namespace {

void check(const gas::train::Checkpoint& ck) {
  for (const auto& [name, a] : ck.arrays()) {
    const std::uint64_t item = a.dtype == "f4" ? 4 : 8;
    std::uint64_t elements = 0, bytes = 0;
    if (a.rows < 0 || a.cols < 0 ||
        __builtin_mul_overflow(static_cast<std::uint64_t>(a.rows), static_cast<std::uint64_t>(a.cols), &elements) ||
        __builtin_mul_overflow(elements, item, &bytes) || bytes != a.bytes.size())
      std::abort();  // accepted an array whose shape does not describe its bytes
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gas_fuzz::guarded([&] { check(gas::train::Checkpoint::parse(std::span<const std::uint8_t>(data, size), "fuzz.ckpt")); });
  std::vector<std::uint8_t> sealed(data, data + size);
  const auto crc = static_cast<std::uint32_t>(crc32(crc32(0L, nullptr, 0), data, static_cast<uInt>(size)));
  for (int k = 0; k < 4; ++k) sealed.push_back(static_cast<std::uint8_t>(crc >> (8 * k)));
  return gas_fuzz::guarded([&] { check(gas::train::Checkpoint::parse(sealed, "fuzz.ckpt")); });
}
