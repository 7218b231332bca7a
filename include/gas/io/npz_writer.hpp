#pragma once
/// @brief Writing `.npz` archives: numpy arrays as stored (uncompressed) zip entries, readable by `numpy.load`
/// and by gas's own npz reader.
///
/// Stored entries keep the writer small (a zip container and a CRC-32 from zlib, no DEFLATE stream); what gas
/// writes this way is small (split masks, exported arrays). Entries and the archive stay under 4 GiB each, the
/// limit of a zip without ZIP64 records: a larger archive is refused with an io_error before anything is written.

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gas/core/atomic_file.hpp"
#include "gas/core/error.hpp"

namespace gas::io {

namespace detail {

inline void put16(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
}
inline void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

}  // namespace detail

/// @brief A zip archive of stored entries (name, bytes) in the given order. Throws io_error when an entry or the
/// archive would exceed the 4 GiB a zip without ZIP64 records can address, or a name exceeds 65535 bytes.
inline std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& entries) {
  constexpr std::uint64_t limit = std::numeric_limits<std::uint32_t>::max();
  std::uint64_t total = 22;
  for (const auto& [name, bytes] : entries) {
    if (name.size() > 0xffff) throw io_error("zip entry name of " + std::to_string(name.size()) + " bytes is too long");
    total += 30 + 46 + 2 * name.size() + bytes.size();
  }
  if (total > limit || entries.size() > 0xffff)
    throw io_error("the archive would hold " + std::to_string(total) + " bytes in " + std::to_string(entries.size()) +
                   " entries, beyond what a zip without ZIP64 records addresses (4 GiB, 65535 entries)");
  constexpr std::uint32_t dos_date = (1 << 5) | 1;  // 1980-01-01 00:00: reproducible archives, no clock in them
  std::string out, central;
  out.reserve(static_cast<std::size_t>(total));
  for (const auto& [name, bytes] : entries) {
    const auto crc = static_cast<std::uint32_t>(
        crc32(crc32(0L, nullptr, 0), reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto size = static_cast<std::uint32_t>(bytes.size());
    const auto name_size = static_cast<std::uint32_t>(name.size());
    detail::put32(out, 0x04034b50);  // local file header
    detail::put16(out, 20), detail::put16(out, 0), detail::put16(out, 0);  // version needed, flags, stored
    detail::put16(out, 0), detail::put16(out, dos_date);
    detail::put32(out, crc), detail::put32(out, size), detail::put32(out, size);
    detail::put16(out, name_size), detail::put16(out, 0);
    out += name;
    out += bytes;
    detail::put32(central, 0x02014b50);  // central directory header
    detail::put16(central, 20), detail::put16(central, 20), detail::put16(central, 0), detail::put16(central, 0);
    detail::put16(central, 0), detail::put16(central, dos_date);
    detail::put32(central, crc), detail::put32(central, size), detail::put32(central, size);
    detail::put16(central, name_size), detail::put16(central, 0), detail::put16(central, 0);
    detail::put16(central, 0), detail::put16(central, 0), detail::put32(central, 0);
    detail::put32(central, offset);
    central += name;
  }
  const auto central_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  detail::put32(out, 0x06054b50);  // end of central directory
  detail::put16(out, 0), detail::put16(out, 0);
  detail::put16(out, static_cast<std::uint32_t>(entries.size())), detail::put16(out, static_cast<std::uint32_t>(entries.size()));
  detail::put32(out, static_cast<std::uint32_t>(central.size())), detail::put32(out, central_offset);
  detail::put16(out, 0);
  return out;
}

/// @brief Writes arrays given as (key, .npy bytes from npy_bytes) to `path` as an npz archive (entries key.npy),
/// atomically (core/atomic_file.hpp). Throws io_error as zip_stored and when the file cannot be written.
inline void write_npz(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& arrays) {
  std::vector<std::pair<std::string, std::string>> entries;
  entries.reserve(arrays.size());
  for (const auto& [key, bytes] : arrays) entries.emplace_back(key + ".npy", bytes);
  write_file_atomic(path, zip_stored(entries));
}

}  // namespace gas::io
