#pragma once
// Test-only writers for .npy images and zip archives (stored or DEFLATE entries, optional ZIP64 records),
// so reader tests can build fixtures, including deliberately broken ones, without Python.

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace gas_test {

using Bytes = std::vector<std::uint8_t>;

/// Appends `v` as `n` little-endian bytes.
inline void put_le(Bytes& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// A .npy image with the given header fields and raw data bytes, padded as numpy pads (64-byte alignment).
inline Bytes npy_bytes(const std::string& descr, const std::vector<std::int64_t>& shape, const Bytes& data,
                       bool fortran = false, int version = 1) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  const std::size_t prefix = version == 1 ? 10 : 12;
  while ((prefix + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(version), 0};
  put_le(out, dict.size(), version == 1 ? 2 : 4);
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

/// The numpy dtype string of a C++ element type, little-endian.
template <class T>
std::string npy_descr() {
  if constexpr (std::is_same_v<T, bool>) return "|b1";
  else if constexpr (std::is_floating_point_v<T>) return "<f" + std::to_string(sizeof(T));
  else if constexpr (sizeof(T) == 1) return std::string(std::is_signed_v<T> ? "|i" : "|u") + "1";
  else return std::string(std::is_signed_v<T> ? "<i" : "<u") + std::to_string(sizeof(T));
}

/// Raw little-endian bytes of `values` (the test machines are little-endian, as numpy's '<' files).
template <class T>
Bytes raw_bytes(const std::vector<T>& values) {
  Bytes out;
  if constexpr (std::is_same_v<T, bool>) {
    for (bool b : values) out.push_back(b ? 1 : 0);
  } else {
    out.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  }
  return out;
}

/// A .npy image of `values` with `shape`, in C order.
template <class T>
Bytes npy(const std::vector<std::int64_t>& shape, const std::vector<T>& values) {
  return npy_bytes(npy_descr<T>(), shape, raw_bytes(values));
}

/// A 0-d or 1-d byte-string array ('|S<width>'), as scipy's save_npz writes its 'format' entry.
inline Bytes npy_string(const std::string& s) {
  return npy_bytes("|S" + std::to_string(s.size()), {}, Bytes(s.begin(), s.end()));
}

/// Raw DEFLATE (no zlib header), as zip method 8 stores it.
inline Bytes deflate_raw(const Bytes& in, int level = 6) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(zs.total_out);
  return out;
}

enum class Method { stored, deflate };

/// How ZipWriter::add writes one entry: `zip64_local` writes the local header the way numpy's force_zip64 does
/// (0xFFFFFFFF sizes plus a ZIP64 extra field); `zip64_central` does the same in the central directory.
struct ZipEntryOptions {
  bool zip64_local = false;
  bool zip64_central = false;
};

/// Builds a zip archive in memory. `zip64_local` writes local headers the way numpy's force_zip64 does
/// (0xFFFFFFFF sizes plus a ZIP64 extra field); `zip64_central` does the same in the central directory,
/// and `finish(true)` adds ZIP64 end records.
class ZipWriter {
public:
  using Options = ZipEntryOptions;

  void add(const std::string& name, const Bytes& data, Method method = Method::stored, Options options = {}) {
    Entry e{name, method == Method::stored ? 0u : 8u,
            static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), data.data(), static_cast<uInt>(data.size()))),
            data.size(), 0, out_.size(), options};
    const Bytes packed = method == Method::stored ? data : deflate_raw(data);
    e.csize = packed.size();
    put_le(out_, 0x04034b50, 4);
    put_le(out_, options.zip64_local ? 45 : 20, 2);
    put_le(out_, 0, 2);  // flags
    put_le(out_, e.method, 2);
    put_le(out_, 0, 2);       // time
    put_le(out_, 0x21, 2);    // date: 1980-01-01
    put_le(out_, e.crc, 4);
    put_le(out_, options.zip64_local ? 0xFFFFFFFF : e.csize, 4);
    put_le(out_, options.zip64_local ? 0xFFFFFFFF : e.usize, 4);
    put_le(out_, name.size(), 2);
    put_le(out_, options.zip64_local ? 20 : 0, 2);
    out_.insert(out_.end(), name.begin(), name.end());
    if (options.zip64_local) {
      put_le(out_, 0x0001, 2);
      put_le(out_, 16, 2);
      put_le(out_, e.usize, 8);
      put_le(out_, e.csize, 8);
    }
    out_.insert(out_.end(), packed.begin(), packed.end());
    entries_.push_back(e);
  }

  Bytes finish(bool zip64_end = false, const std::string& comment = "") {
    Bytes out = out_;
    const std::uint64_t cd_offset = out.size();
    for (const auto& e : entries_) {
      const bool z = e.options.zip64_central;
      put_le(out, 0x02014b50, 4);
      put_le(out, 45, 2);
      put_le(out, z ? 45 : 20, 2);
      put_le(out, 0, 2);
      put_le(out, e.method, 2);
      put_le(out, 0, 2);
      put_le(out, 0x21, 2);
      put_le(out, e.crc, 4);
      put_le(out, z ? 0xFFFFFFFF : e.csize, 4);
      put_le(out, z ? 0xFFFFFFFF : e.usize, 4);
      put_le(out, e.name.size(), 2);
      put_le(out, z ? 28 : 0, 2);
      put_le(out, 0, 2);  // comment
      put_le(out, 0, 2);  // disk
      put_le(out, 0, 2);  // internal attributes
      put_le(out, 0, 4);  // external attributes
      put_le(out, z ? 0xFFFFFFFF : e.offset, 4);
      out.insert(out.end(), e.name.begin(), e.name.end());
      if (z) {
        put_le(out, 0x0001, 2);
        put_le(out, 24, 2);
        put_le(out, e.usize, 8);
        put_le(out, e.csize, 8);
        put_le(out, e.offset, 8);
      }
    }
    const std::uint64_t cd_size = out.size() - cd_offset;
    if (zip64_end) {
      const std::uint64_t record = out.size();
      put_le(out, 0x06064b50, 4);
      put_le(out, 44, 8);
      put_le(out, 45, 2);
      put_le(out, 45, 2);
      put_le(out, 0, 4);
      put_le(out, 0, 4);
      put_le(out, entries_.size(), 8);
      put_le(out, entries_.size(), 8);
      put_le(out, cd_size, 8);
      put_le(out, cd_offset, 8);
      put_le(out, 0x07064b50, 4);
      put_le(out, 0, 4);
      put_le(out, record, 8);
      put_le(out, 1, 4);
    }
    put_le(out, 0x06054b50, 4);
    put_le(out, 0, 2);
    put_le(out, 0, 2);
    put_le(out, zip64_end ? 0xFFFF : entries_.size(), 2);
    put_le(out, zip64_end ? 0xFFFF : entries_.size(), 2);
    put_le(out, zip64_end ? 0xFFFFFFFF : cd_size, 4);
    put_le(out, zip64_end ? 0xFFFFFFFF : cd_offset, 4);
    put_le(out, comment.size(), 2);
    out.insert(out.end(), comment.begin(), comment.end());
    return out;
  }

  /// Byte offset of entry i's data (for corrupting it in tests).
  std::size_t data_offset(std::size_t i) const {
    const auto& e = entries_.at(i);
    return e.offset + 30 + e.name.size() + (e.options.zip64_local ? 20 : 0);
  }

private:
  struct Entry {
    std::string name;
    std::uint32_t method;
    std::uint32_t crc;
    std::uint64_t usize, csize, offset;
    Options options;
  };
  Bytes out_;
  std::vector<Entry> entries_;
};

/// Writes an .npz with the given (key, .npy image) pairs, the way numpy.savez(_compressed) does (force_zip64).
inline void write_npz(const std::filesystem::path& path, const std::vector<std::pair<std::string, Bytes>>& arrays,
                      Method method = Method::deflate) {
  ZipWriter zip;
  for (const auto& [key, image] : arrays) zip.add(key + ".npy", image, method, {.zip64_local = true});
  write_file(path, zip.finish());
}

}  // namespace gas_test
