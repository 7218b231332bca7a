// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Reads an OGB node-property folder packed into one input: sections (fuzz_util.hpp's separator) are
// num-node-list, num-edge-list, edge, node-label, then optionally node-feat, and split/x/{train,valid,test}.
#include <gas/io/ogb.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = gas_fuzz::sections(gas_fuzz::as_text(data, size));
  const auto dir = gas_fuzz::fresh_folder("ogb");
  static constexpr const char* names[] = {"raw/num-node-list.csv", "raw/num-edge-list.csv", "raw/edge.csv",
                                          "raw/node-label.csv",    "raw/node-feat.csv",     "split/x/train.csv",
                                          "split/x/valid.csv",     "split/x/test.csv"};
  for (std::size_t i = 0; i < parts.size() && i < std::size(names); ++i) gas_fuzz::write_file(dir / names[i], parts[i]);
  return gas_fuzz::guarded([&] { (void)gas::io::read_ogb(dir); });
}
