// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Reads the input as an .npz dataset (heterophilous or gnn-benchmark layout) through gas::io::read_npz,
// which goes zip -> npy -> CSR/COO parts -> Graph; also as a plain array archive (read_npz_arrays).
#include <gas/io/npz_dataset.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = gas_fuzz::scratch() / "fuzz.npz";
  gas_fuzz::write_file(file, gas_fuzz::as_text(data, size));
  gas_fuzz::guarded([&] { (void)gas::io::read_npz(file); });
  gas_fuzz::guarded([&] { (void)gas::io::read_npz(file, {.symmetrize = false, .remove_self_loops = false, .sparse_features = gas::SparseFeatures::always}); });
  return gas_fuzz::guarded([&] { (void)gas::io::read_npz_arrays(file); });
}
