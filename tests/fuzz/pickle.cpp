// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Runs the pickle VM on the input, walks the result, and reads it as the Planetoid readers do
// (dense matrix or CSR matrix, both as float and double).
#include <gas/io/planetoid.hpp>

#include "fuzz_util.hpp"

namespace {
void walk(const gas::io::PyRef& v, int depth) {
  if (depth > 8) return;
  switch (v.kind()) {
    case gas::io::PyKind::list:
    case gas::io::PyKind::tuple:
      for (std::size_t i = 0; i < v.size() && i < 64; ++i) walk(v[i], depth + 1);
      break;
    case gas::io::PyKind::dict:
      for (std::size_t i = 0; i < v.size() && i < 64; ++i) {
        walk(v.key(i), depth + 1);
        walk(v.value(i), depth + 1);
      }
      break;
    default:
      break;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return gas_fuzz::guarded([&] {
    const auto pickle = gas::io::parse_pickle(std::span<const std::uint8_t>(data, size), "fuzz.pkl");
    walk(pickle.root(), 0);
    gas_fuzz::guarded([&] { (void)gas::io::detail::planetoid_matrix<float>(pickle); });
    gas_fuzz::guarded([&] { (void)gas::io::detail::planetoid_matrix<double>(pickle); });
  });
}
