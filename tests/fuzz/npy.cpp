// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Parses the input as a .npy file and converts it to every element type the readers ask for.
#include <gas/io/npy.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return gas_fuzz::guarded([&] {
    const auto a = gas::io::parse_npy(std::vector<std::uint8_t>(data, data + size), "fuzz.npy");
    (void)a.shape_string();
    if (a.is_numeric()) {
      (void)a.to_vector<float>();
      (void)a.to_vector<double>();
      (void)a.to_vector<std::int64_t>();
      (void)a.to_vector<std::int32_t>();
    } else {
      (void)a.to_strings();
    }
  });
}
