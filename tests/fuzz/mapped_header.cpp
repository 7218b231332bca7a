// libFuzzer target (tools/fuzz.sh); see fuzz_util.hpp for the contract.
// Opens the input as an existing MappedStore history file (Mode::open), which must check the header and the
// file size before mapping, for a few fixed table shapes and for the shape the header itself declares (as a
// tool inspecting a history file would), both value types.
//
// Two modes, picked by the low bit of the header's reserved word (byte 68, which the reader ignores), so that
// half of the inputs get past the checksums:
//  - as is: the input is the file. Nearly every mutation fails the header's CRC-32 there, and -max_len (4 KiB)
//    leaves no room for a table behind the 4096-byte header.
//  - sealed: the input is a 72-byte header followed by the table's bytes. The file is that header, zeros up to
//    the data offset (4096), then the table, with the header's CRC-32 recomputed, and the table's too unless
//    bit 1 of byte 68 is set, so mutations reach the checks of the fields, the size and the state.
#include <zlib.h>

#include <cstddef>
#include <cstring>
#include <string>

#include <gas/history/mapped_store.hpp>

#include "fuzz_util.hpp"

namespace {

constexpr std::size_t header_bytes = sizeof(gas::history::detail::MappedHeader);  // 72
static_assert(header_bytes == 72);

std::uint32_t crc_of(const char* p, std::size_t n) {
  return static_cast<std::uint32_t>(crc32_z(crc32_z(0L, nullptr, 0), reinterpret_cast<const Bytef*>(p), n));
}

/// The file a sealed input stands for: header, zeros up to the data offset, table; correct checksums.
std::string seal(const std::uint8_t* data, std::size_t size) {
  using gas::history::detail::MappedHeader;
  const auto offset = static_cast<std::size_t>(gas::history::detail::mapped_data_offset);
  std::string file(offset + (size - header_bytes), '\0');
  std::memcpy(file.data(), data, header_bytes);
  std::memcpy(file.data() + offset, data + header_bytes, size - header_bytes);
  if ((data[offsetof(MappedHeader, reserved)] & 2) == 0) {
    const std::uint32_t table = crc_of(file.data() + offset, file.size() - offset);
    std::memcpy(file.data() + offsetof(MappedHeader, table_crc), &table, sizeof table);
  }
  const std::uint32_t header = crc_of(file.data(), offsetof(MappedHeader, header_crc));
  std::memcpy(file.data() + offsetof(MappedHeader, header_crc), &header, sizeof header);
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using gas::history::detail::MappedHeader;
  const bool sealed = size >= header_bytes && (data[offsetof(MappedHeader, reserved)] & 1) != 0;
  const std::string bytes = sealed ? seal(data, size) : std::string(gas_fuzz::as_text(data, size));
  const auto file = gas_fuzz::scratch() / "fuzz.hist";
  gas_fuzz::write_file(file, bytes);
  std::vector<std::pair<std::int64_t, std::int64_t>> shapes{{4, 2}, {1, 1}, {0, 3}};
  if (bytes.size() >= header_bytes) {  // the shape the header declares, whatever it is
    std::int64_t n = 0, w = 0;
    std::memcpy(&n, bytes.data() + offsetof(MappedHeader, num_nodes), sizeof n);
    std::memcpy(&w, bytes.data() + offsetof(MappedHeader, width), sizeof w);
    shapes.emplace_back(n, w);
  }
  for (const auto& shape : shapes) {
    const std::int64_t n = shape.first, w = shape.second;  // clang 14 cannot capture structured bindings
    gas_fuzz::guarded([&] { const gas::history::MappedStore<float> s(file, n, w, gas::history::Mode::open); });
    gas_fuzz::guarded([&] { const gas::history::MappedStore<double> s(file, n, w, gas::history::Mode::open); });
  }
  return 0;
}
