#pragma once
/// @brief A read-only zip archive reader, enough for NumPy `.npz` files and scipy `save_npz` output.
///
/// The central directory is the authority (local headers written in streaming mode may carry zero or
/// 0xFFFFFFFF sizes); ZIP64 end records and extra fields are understood because numpy writes every entry
/// with `force_zip64`. Entries are stored (method 0) or DEFLATE-compressed (method 8, raw inflate through
/// zlib); every entry's CRC-32 is verified. An entry must inflate to exactly its declared size, which both
/// detects corruption and bounds memory against zip bombs: a declared size beyond DEFLATE's ratio is refused,
/// and so is one above `read_limits().max_inflated_bytes` (gas/io/limits.hpp), before anything is allocated.
/// Every size and offset read from the archive is checked against the buffer before it is used.

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/io/file.hpp"
#include "gas/io/limits.hpp"
#include "gas/io/npy.hpp"

namespace gas::io {

/// @brief One entry of a zip central directory, with ZIP64 fields already resolved.
struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;             ///< 0 stored, 8 deflate
  std::uint16_t flags = 0;              ///< general-purpose bit flags
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;
};

namespace detail {

inline std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
inline std::uint32_t le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
inline std::uint64_t le64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(le32(p)) | static_cast<std::uint64_t>(le32(p + 4)) << 32;
}

/// @brief True when [offset, offset + length) lies inside a buffer of `size` bytes (overflow-safe).
inline bool in_bounds(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

inline constexpr std::uint32_t zip_local_sig = 0x04034b50;
inline constexpr std::uint32_t zip_central_sig = 0x02014b50;
inline constexpr std::uint32_t zip_eocd_sig = 0x06054b50;
inline constexpr std::uint32_t zip64_eocd_sig = 0x06064b50;
inline constexpr std::uint32_t zip64_locator_sig = 0x07064b50;

/// @brief DEFLATE cannot expand data by more than about 1032:1; a larger declared ratio is a lie or a bomb.
inline constexpr std::uint64_t max_deflate_ratio = 1032;

}  // namespace detail

/// @brief A zip archive held in memory; entries are listed on construction and decompressed on `read`.
class ZipArchive {
public:
  /// @brief Reads and indexes the archive at `path`; io_error when unreadable, format_error when malformed.
  explicit ZipArchive(const std::filesystem::path& path) : ZipArchive(read_file(path), path.string()) {}

  /// @brief Indexes an archive image; `source` names it in error messages.
  ZipArchive(std::vector<std::uint8_t> bytes, std::string source) : bytes_(std::move(bytes)), source_(std::move(source)) {
    index();
  }

  /// @brief The file (or label) the archive came from.
  [[nodiscard]] const std::string& source() const { return source_; }
  /// @brief Entry names in central-directory order.
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
  }
  /// @brief Central-directory records in archive order.
  [[nodiscard]] const std::vector<ZipEntry>& entries() const { return entries_; }
  /// @brief True when the archive has an entry named exactly `name`.
  [[nodiscard]] bool contains(std::string_view name) const { return by_name_.contains(std::string(name)); }

  /// @brief The central-directory record of `name`; format_error naming the archive when absent.
  [[nodiscard]] const ZipEntry& entry(std::string_view name) const {
    const auto it = by_name_.find(std::string(name));
    if (it == by_name_.end()) throw format_error(source_ + ": no entry '" + std::string(name) + "' in the archive");
    return entries_[it->second];
  }

  /// @brief Decompresses entry `name` and verifies its size and CRC-32.
  /// Throws format_error naming the archive and the entry on any inconsistency.
  [[nodiscard]] std::vector<std::uint8_t> read(std::string_view name) const {
    const ZipEntry& e = entry(name);
    const std::string where = source_ + ": entry '" + e.name + "'";
    auto fail = [&where](const std::string& what) { throw format_error(where + ": " + what); };
    if (e.flags & 0x0001) fail("is encrypted, which is not supported");
    if (e.flags & 0x0040) fail("uses strong encryption, which is not supported");
    if (e.method != 0 && e.method != 8)
      fail("uses compression method " + std::to_string(e.method) + "; only 0 (stored) and 8 (deflate) are supported");

    const std::uint64_t size = bytes_.size();
    const std::uint64_t lh = e.local_header_offset;
    if (!detail::in_bounds(lh, 30, size) || detail::le32(bytes_.data() + lh) != detail::zip_local_sig)
      fail("local header at offset " + std::to_string(lh) + " is missing (truncated or corrupt archive)");
    const std::uint8_t* p = bytes_.data() + lh;
    const std::uint16_t local_method = detail::le16(p + 8);
    const std::uint64_t name_len = detail::le16(p + 26), extra_len = detail::le16(p + 28);
    if (!detail::in_bounds(lh + 30, name_len + extra_len, size)) fail("local header runs past the end of the archive");
    if (std::string_view(reinterpret_cast<const char*>(p + 30), name_len) != e.name)
      fail("local header names a different entry (corrupt archive)");
    if (local_method != e.method) fail("local header and central directory disagree on the compression method");
    const std::uint64_t data_at = lh + 30 + name_len + extra_len;
    if (!detail::in_bounds(data_at, e.compressed_size, size))
      fail("compressed data (" + std::to_string(e.compressed_size) + " bytes at offset " + std::to_string(data_at) +
           ") runs past the end of the archive (truncated)");
    const std::span<const std::uint8_t> packed(bytes_.data() + data_at, static_cast<std::size_t>(e.compressed_size));

    if (e.uncompressed_size > std::numeric_limits<std::size_t>::max() / 2)
      fail("declared uncompressed size " + std::to_string(e.uncompressed_size) + " is impossible");
    std::vector<std::uint8_t> out;
    if (e.method == 0) {
      if (e.compressed_size != e.uncompressed_size)
        fail("is stored but its compressed size " + std::to_string(e.compressed_size) + " differs from its size " +
             std::to_string(e.uncompressed_size));
      out.assign(packed.begin(), packed.end());
    } else {
      // A declared size beyond DEFLATE's maximum ratio cannot be honest; refuse before allocating it.
      if (e.uncompressed_size / detail::max_deflate_ratio > e.compressed_size + 1)
        fail("declared uncompressed size " + std::to_string(e.uncompressed_size) + " is impossible for " +
             std::to_string(e.compressed_size) + " compressed bytes");
      // An honest ratio can still be a bomb (a few MiB of zeros claiming GiBs): the user's limit decides.
      if (e.uncompressed_size > read_limits().max_inflated_bytes)
        fail("inflates to " + std::to_string(e.uncompressed_size) + " bytes, more than the limit of " +
             std::to_string(read_limits().max_inflated_bytes) + " bytes per entry" +
             detail::limit_hint("max_inflated_bytes", read_limits().max_inflated_bytes) +
             " or call gas::io::set_max_inflated_bytes");
      out.resize(static_cast<std::size_t>(e.uncompressed_size));
      inflate_raw(packed, out, where);
    }
    const std::uint32_t crc = checksum(out);
    if (crc != e.crc32)
      fail("CRC-32 mismatch (stored " + hex(e.crc32) + ", computed " + hex(crc) + "): the data is corrupt");
    return out;
  }

private:
  static std::string hex(std::uint32_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s = "0x00000000";
    for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(9 - i)] = digits[(v >> (4 * i)) & 0xF];
    return s;
  }

  static std::uint32_t checksum(std::span<const std::uint8_t> data) {
    uLong crc = ::crc32(0L, Z_NULL, 0);
    constexpr std::size_t chunk = 1u << 30;  // zlib lengths are 32-bit
    for (std::size_t at = 0; at < data.size(); at += chunk)
      crc = ::crc32(crc, data.data() + at, static_cast<uInt>(std::min(chunk, data.size() - at)));
    return static_cast<std::uint32_t>(crc);
  }

  /// @brief Inflates a raw DEFLATE stream into `out`, which must come out exactly full.
  static void inflate_raw(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, const std::string& where) {
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw io_error(where + ": zlib inflateInit2 failed");
    struct End {
      z_stream* zs;
      ~End() { inflateEnd(zs); }
    } end{&zs};
    constexpr std::size_t chunk = 1u << 30;  // zlib counts are 32-bit: feed both sides in chunks
    std::size_t in_at = 0, out_at = 0;
    std::uint8_t spill = 0;
    bool probing = false;  // output is full; a one-byte spill buffer tells whether the stream would go on
    while (true) {
      if (zs.avail_in == 0 && in_at < in.size()) {
        const std::size_t n = std::min(chunk, in.size() - in_at);
        zs.next_in = const_cast<Bytef*>(in.data() + in_at);  // zlib's API is not const-correct
        zs.avail_in = static_cast<uInt>(n);
        in_at += n;
      }
      if (!probing && zs.avail_out == 0) {
        if (out_at < out.size()) {
          const std::size_t n = std::min(chunk, out.size() - out_at);
          zs.next_out = out.data() + out_at;
          zs.avail_out = static_cast<uInt>(n);
          out_at += n;
        } else {
          probing = true;
          zs.next_out = &spill;
          zs.avail_out = 1;
        }
      }
      const int rc = inflate(&zs, Z_NO_FLUSH);
      if (probing && zs.avail_out == 0)
        throw format_error(where + ": inflates to more than its declared " + std::to_string(out.size()) + " bytes");
      if (rc == Z_STREAM_END) {
        const std::size_t produced = probing ? out.size() : out_at - zs.avail_out;
        if (produced != out.size())
          throw format_error(where + ": inflates to " + std::to_string(produced) + " bytes, not the declared " +
                             std::to_string(out.size()));
        return;
      }
      if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
        throw format_error(where + ": corrupt DEFLATE data (" + (zs.msg ? zs.msg : "invalid stream") + ")");
      if (rc == Z_MEM_ERROR) throw io_error(where + ": out of memory while inflating");
      // Both sides always have room when inflate is called, so no progress means the input ran out mid-stream.
      if (rc == Z_BUF_ERROR)
        throw format_error(where + ": compressed data ends before the DEFLATE stream does (truncated)");
    }
  }

  /// @brief Finds the end-of-central-directory record and reads every central-directory entry.
  void index() {
    auto fail = [this](const std::string& what) { throw format_error(source_ + ": " + what); };
    const std::uint8_t* b = bytes_.data();
    const std::uint64_t size = bytes_.size();
    if (size < 22) fail("too short to be a zip archive (" + std::to_string(size) + " bytes; truncated?)");

    // The EOCD record is 22 bytes plus a comment of up to 65535 bytes; the comment must end the file.
    std::uint64_t eocd = size;
    const std::uint64_t lowest = size >= 22 + 65535 ? size - 22 - 65535 : 0;
    for (std::uint64_t at = size - 22 + 1; at-- > lowest;) {
      if (detail::le32(b + at) == detail::zip_eocd_sig && at + 22 + detail::le16(b + at + 20) == size) {
        eocd = at;
        break;
      }
    }
    if (eocd == size) fail("no end-of-central-directory record (not a zip archive, or truncated)");
    const std::uint8_t* e = b + eocd;
    if (detail::le16(e + 4) != 0 || detail::le16(e + 6) != 0) fail("multi-disk zip archives are not supported");
    std::uint64_t count = detail::le16(e + 10);
    std::uint64_t cd_size = detail::le32(e + 12);
    std::uint64_t cd_offset = detail::le32(e + 16);
    std::uint64_t cd_end_limit = eocd;  // the central directory must end before the record that describes it

    if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
      // ZIP64: a 20-byte locator right before the EOCD points at the 56-byte ZIP64 EOCD record.
      if (eocd < 20 || detail::le32(b + eocd - 20) != detail::zip64_locator_sig)
        fail("ZIP64 end-of-central-directory locator missing (corrupt archive)");
      const std::uint64_t rec = detail::le64(b + eocd - 20 + 8);
      if (!detail::in_bounds(rec, 56, eocd - 20) || detail::le32(b + rec) != detail::zip64_eocd_sig)
        fail("ZIP64 end-of-central-directory record missing or out of range (corrupt archive)");
      count = detail::le64(b + rec + 32);
      cd_size = detail::le64(b + rec + 40);
      cd_offset = detail::le64(b + rec + 48);
      cd_end_limit = rec;
    }
    if (!detail::in_bounds(cd_offset, cd_size, cd_end_limit))
      fail("central directory (" + std::to_string(cd_size) + " bytes at offset " + std::to_string(cd_offset) +
           ") lies outside the archive (truncated or corrupt)");
    if (count > cd_size / 46) fail(std::to_string(count) + " entries cannot fit a " + std::to_string(cd_size) +
                                   "-byte central directory (corrupt archive)");

    entries_.reserve(static_cast<std::size_t>(count));
    std::uint64_t at = cd_offset;
    const std::uint64_t cd_end = cd_offset + cd_size;
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::string which = "central directory entry " + std::to_string(i);
      if (!detail::in_bounds(at, 46, cd_end) || detail::le32(b + at) != detail::zip_central_sig)
        fail(which + " is missing or corrupt");
      const std::uint8_t* c = b + at;
      ZipEntry entry;
      entry.flags = detail::le16(c + 8);
      entry.method = detail::le16(c + 10);
      entry.crc32 = detail::le32(c + 16);
      entry.compressed_size = detail::le32(c + 20);
      entry.uncompressed_size = detail::le32(c + 24);
      const std::uint64_t name_len = detail::le16(c + 28), extra_len = detail::le16(c + 30),
                          comment_len = detail::le16(c + 32);
      const std::uint16_t disk = detail::le16(c + 34);
      entry.local_header_offset = detail::le32(c + 42);
      if (!detail::in_bounds(at + 46, name_len + extra_len + comment_len, cd_end))
        fail(which + " runs past the end of the central directory");
      entry.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
      read_zip64_extra(entry, disk, std::span<const std::uint8_t>(c + 46 + name_len, extra_len), which);
      if (entry.name.empty()) fail(which + " has an empty name");
      if (!by_name_.emplace(entry.name, entries_.size()).second)
        fail("entry '" + entry.name + "' appears twice in the archive");
      entries_.push_back(std::move(entry));
      at += 46 + name_len + extra_len + comment_len;
    }
  }

  /// @brief Replaces 0xFFFFFFFF/0xFFFF placeholders by the 64-bit values of the ZIP64 extra field (id 0x0001).
  void read_zip64_extra(ZipEntry& entry, std::uint16_t disk, std::span<const std::uint8_t> extra,
                        const std::string& which) const {
    const bool need_usize = entry.uncompressed_size == 0xFFFFFFFF, need_csize = entry.compressed_size == 0xFFFFFFFF,
               need_offset = entry.local_header_offset == 0xFFFFFFFF, need_disk = disk == 0xFFFF;
    bool found = false;
    std::size_t at = 0;
    while (at + 4 <= extra.size()) {
      const std::uint16_t id = detail::le16(extra.data() + at), len = detail::le16(extra.data() + at + 2);
      if (len > extra.size() - at - 4) throw format_error(source_ + ": " + which + " has a truncated extra field");
      if (id == 0x0001) {
        found = true;
        std::span<const std::uint8_t> f = extra.subspan(at + 4, len);
        std::size_t k = 0;
        auto take = [&](std::uint64_t& value) {
          if (k + 8 > f.size())
            throw format_error(source_ + ": " + which + " (" + entry.name + ") has a short ZIP64 extra field");
          value = detail::le64(f.data() + k);
          k += 8;
        };
        if (need_usize) take(entry.uncompressed_size);
        if (need_csize) take(entry.compressed_size);
        if (need_offset) take(entry.local_header_offset);
        if (need_disk && (k + 4 > f.size() || detail::le32(f.data() + k) != 0))
          throw format_error(source_ + ": multi-disk zip archives are not supported");
      }
      at += 4 + static_cast<std::size_t>(len);
    }
    if (!found && (need_usize || need_csize || need_offset))
      throw format_error(source_ + ": " + which + " (" + entry.name +
                         ") has 0xFFFFFFFF sizes but no ZIP64 extra field");
    if (!found && need_disk) throw format_error(source_ + ": multi-disk zip archives are not supported");
  }

  std::vector<std::uint8_t> bytes_;
  std::string source_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, std::size_t> by_name_;
};

/// @brief Parses entry `name` of an `.npz` archive as a `.npy` array (source "archive:name").
inline NpyArray read_npz_entry(const ZipArchive& archive, std::string_view name) {
  return parse_npy(archive.read(name), archive.source() + ":" + std::string(name));
}

/// @brief Reads every `.npy` entry of an `.npz` file, keyed by the entry name without ".npy" (as numpy names them).
/// Entries that are not `.npy` files are skipped; an object array anywhere raises format_error.
inline std::map<std::string, NpyArray> read_npz_arrays(const std::filesystem::path& path) {
  const ZipArchive archive(path);
  std::map<std::string, NpyArray> arrays;
  for (const auto& e : archive.entries()) {
    if (e.name.size() <= 4 || !e.name.ends_with(".npy")) continue;
    arrays.emplace(e.name.substr(0, e.name.size() - 4), read_npz_entry(archive, e.name));
  }
  return arrays;
}

}  // namespace gas::io
