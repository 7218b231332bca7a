// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Reads a GraphSAINT folder packed into one input: sections (fuzz_util.hpp's separator) are adj_full.npz,
// feats.npy, class_map.json and role.json.
#include <gas/io/saint.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = gas_fuzz::sections(gas_fuzz::as_text(data, size));
  const auto dir = gas_fuzz::fresh_folder("saint");
  static constexpr const char* names[] = {"adj_full.npz", "feats.npy", "class_map.json", "role.json"};
  for (std::size_t i = 0; i < parts.size() && i < std::size(names); ++i) gas_fuzz::write_file(dir / names[i], parts[i]);
  return gas_fuzz::guarded([&] { (void)gas::io::read_saint(dir); });
}
