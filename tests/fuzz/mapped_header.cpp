// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Opens the input as an existing MappedStore history file (Mode::open), which must check the header and the
// file size before mapping; a few table shapes, both value types.
#include <gas/history/mapped_store.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = gas_fuzz::scratch() / "fuzz.hist";
  gas_fuzz::write_file(file, gas_fuzz::as_text(data, size));
  for (const auto& shape : {std::pair<std::int64_t, std::int64_t>{4, 2}, {1, 1}, {0, 3}}) {
    const std::int64_t n = shape.first, w = shape.second;  // clang 14 cannot capture structured bindings
    gas_fuzz::guarded([&] { const gas::history::MappedStore<float> s(file, n, w, gas::history::Mode::open); });
    gas_fuzz::guarded([&] { const gas::history::MappedStore<double> s(file, n, w, gas::history::Mode::open); });
  }
  return 0;
}
