#pragma once
/// @brief `Checkpoint`: the on-disk state of a training run (what Trainer saves and resumes from), as named
/// arrays plus two string maps: `meta`, the configuration a resumed run must match (model, dataset, options),
/// and `info`, what is only recorded (epoch reached, application notes).
///
/// File layout (little-endian): the magic `GASCKPT1`, a u64 header length, a JSON header (meta, info, and for
/// each array its name, dtype, shape, offset and size), the arrays' bytes, and a CRC-32 of everything before
/// it. A damaged or truncated file fails the checksum or the length checks and is refused with a format_error
/// that says so; it is never half-read. Files are written atomically (gas/core/atomic_file.hpp): a crash while
/// saving leaves the previous checkpoint as it was.

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "gas/core/atomic_file.hpp"
#include "gas/core/error.hpp"
#include "gas/core/exact_text.hpp"
#include "gas/core/json_writer.hpp"
#include "gas/io/file.hpp"
#include "gas/io/json.hpp"

namespace gas::train {

/// @brief Named arrays with string metadata, saved and loaded as one checked file (see the file comment).
class Checkpoint {
public:
  /// @brief One stored array: a (rows x cols) block of elements of `dtype` ("f4", "f8", "i8").
  struct Array {
    std::string dtype;
    std::int64_t rows = 0, cols = 0;
    std::string bytes;
  };

  /// @brief Sets a configuration entry that a resumed run must match (see differences()).
  void set_meta(const std::string& key, std::string value) { meta_[key] = std::move(value); }
  /// @brief Sets an entry that is recorded but not compared (the epoch reached, an application's notes).
  void set_info(const std::string& key, std::string value) { info_[key] = std::move(value); }
  [[nodiscard]] const std::map<std::string, std::string>& meta() const { return meta_; }
  [[nodiscard]] const std::map<std::string, std::string>& info() const { return info_; }
  /// @brief The info entry `key`; throws format_error naming the file when it is missing.
  [[nodiscard]] const std::string& info(const std::string& key) const {
    const auto it = info_.find(key);
    if (it == info_.end()) throw format_error(source_ + ": checkpoint has no '" + key + "' entry");
    return it->second;
  }
  /// @brief The info entry `key` as an integer; throws format_error when it is missing or not an integer.
  [[nodiscard]] std::int64_t info_int(const std::string& key) const {
    const std::string& v = info(key);
    std::size_t used = 0;
    std::int64_t out = 0;
    try {
      out = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != v.size())
      throw format_error(source_ + ": checkpoint entry '" + key + "' = '" + v + "' is not an integer");
    return out;
  }

  /// @brief Stores `values` as the array `name` of shape (rows x cols), replacing one of that name. Throws
  /// shape_error when rows * cols differs from values.size().
  template <class T>
    requires std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t>
  void put(const std::string& name, std::span<const T> values, std::int64_t rows, std::int64_t cols) {
    if (rows < 0 || cols < 0 || static_cast<std::size_t>(rows * cols) != values.size())
      throw shape_error("checkpoint array '" + name + "': shape (" + std::to_string(rows) + " x " +
                        std::to_string(cols) + ") does not hold " + std::to_string(values.size()) + " values");
    Array a{dtype_of<T>(), rows, cols, std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T))};
    arrays_[name] = std::move(a);
  }
  /// @brief Stores one row of values.
  template <class T>
  void put(const std::string& name, const std::vector<T>& values) {
    put<T>(name, std::span<const T>(values), 1, static_cast<std::int64_t>(values.size()));
  }

  [[nodiscard]] bool contains(const std::string& name) const { return arrays_.contains(name); }
  /// @brief The array `name`; throws format_error naming the file when it is missing.
  [[nodiscard]] const Array& array(const std::string& name) const {
    const auto it = arrays_.find(name);
    if (it == arrays_.end()) throw format_error(source_ + ": checkpoint has no array '" + name + "'");
    return it->second;
  }
  /// @brief The values of array `name` as T; throws format_error when it is missing or of another dtype.
  template <class T>
  [[nodiscard]] std::vector<T> get(const std::string& name) const {
    const Array& a = array(name);
    if (a.dtype != dtype_of<T>())
      throw format_error(source_ + ": checkpoint array '" + name + "' holds " + a.dtype + ", expected " +
                         dtype_of<T>());
    std::vector<T> out(a.bytes.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), a.bytes.data(), out.size() * sizeof(T));
    return out;
  }
  [[nodiscard]] const std::map<std::string, Array>& arrays() const { return arrays_; }

  /// @brief The meta entries that differ from `expected` (missing on either side included), one line each:
  /// "model: checkpoint gcn, this run gat". Empty when the configurations match.
  [[nodiscard]] std::vector<std::string> differences(const std::map<std::string, std::string>& expected) const {
    std::vector<std::string> out;
    auto shown = [](const std::map<std::string, std::string>& m, const std::string& k) {
      const auto it = m.find(k);
      return it == m.end() ? std::string("(none)") : it->second;
    };
    std::vector<std::string> keys;
    for (const auto& [k, v] : meta_) keys.push_back(k);
    for (const auto& [k, v] : expected)
      if (!meta_.contains(k)) keys.push_back(k);
    for (const auto& k : keys) {
      const std::string mine = shown(meta_, k), theirs = shown(expected, k);
      if (mine != theirs) out.push_back(k + ": checkpoint " + mine + ", this run " + theirs);
    }
    return out;
  }

  /// @brief The file's bytes (see the file comment).
  [[nodiscard]] std::string bytes() const {
    JsonWriter header, meta, info;
    for (const auto& [k, v] : meta_) meta.add(k, v);
    for (const auto& [k, v] : info_) info.add(k, v);
    header.add("format", 1).add_object("meta", meta).add_object("info", info);
    std::string payload, arrays = "[";
    for (const auto& [name, a] : arrays_) {
      JsonWriter e;
      e.add("name", name).add("dtype", a.dtype).add("rows", a.rows).add("cols", a.cols);
      e.add("offset", static_cast<std::int64_t>(payload.size())).add("bytes", static_cast<std::int64_t>(a.bytes.size()));
      arrays += (arrays.size() > 1 ? "," : "") + e.str();
      payload += a.bytes;
    }
    const std::string head = header.str();
    // The array list is spliced in as raw JSON: JsonWriter has no array-of-objects member.
    const std::string json = head.substr(0, head.size() - 1) + ",\"arrays\":" + arrays + "]}";
    std::string out(kMagic);
    append_u64(out, json.size());
    out += json;
    out += payload;
    const std::uint32_t c = crc_of(reinterpret_cast<const std::uint8_t*>(out.data()), out.size());
    for (int k = 0; k < 4; ++k) out += static_cast<char>((c >> (8 * k)) & 0xff);
    return out;
  }

  /// @brief Writes the checkpoint to `path` atomically; io_error naming the file when it cannot.
  void save(const std::filesystem::path& path) const { write_file_atomic(path, bytes()); }

  /// @brief Parses a checkpoint from `bytes`; `source` names it in errors. Throws format_error for anything
  /// that is not an intact checkpoint: another kind of file, a truncated or damaged one (checksum), a header
  /// that does not describe the payload.
  static Checkpoint parse(std::span<const std::uint8_t> bytes, const std::string& source) {
    auto fail = [&source](const std::string& what) { fail_(source, what); };
    if (bytes.size() < kMagic.size() || std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0)
      fail("it does not start with the checkpoint magic '" + std::string(kMagic.substr(0, 7)) + "...' (another kind of file)");
    if (bytes.size() < kMagic.size() + 8 + 4)
      fail("truncated: " + std::to_string(bytes.size()) + " bytes");
    const std::size_t body = bytes.size() - 4;
    std::uint32_t stored = 0;
    for (int k = 0; k < 4; ++k) stored |= static_cast<std::uint32_t>(bytes[body + static_cast<std::size_t>(k)]) << (8 * k);
    if (crc_of(bytes.data(), body) != stored) fail("checksum mismatch: the file is truncated or damaged");
    std::uint64_t header_len = 0;
    for (int k = 0; k < 8; ++k)
      header_len |= static_cast<std::uint64_t>(bytes[kMagic.size() + static_cast<std::size_t>(k)]) << (8 * k);
    const std::size_t header_at = kMagic.size() + 8;
    if (header_len > body - header_at) fail("header length " + std::to_string(header_len) + " exceeds the file");
    const std::string_view json(reinterpret_cast<const char*>(bytes.data() + header_at), header_len);
    const std::size_t payload_at = header_at + header_len, payload_len = body - payload_at;
    Checkpoint out;
    out.source_ = source;
    const io::JsonValue root = io::parse_json(json, source + " (checkpoint header)");
    auto member = [&](const io::JsonValue& obj, std::string_view key) -> const io::JsonValue& {
      const io::JsonValue* v = obj.is_object() ? obj.find(key) : nullptr;
      if (v == nullptr) fail_(source, "header has no '" + std::string(key) + "'");
      return *v;
    };
    if (member(root, "format").as_int64() != 1)
      fail("format version " + std::to_string(member(root, "format").as_int64()) + " (this build reads 1)");
    for (const char* map : {"meta", "info"}) {
      const io::JsonValue& m = member(root, map);
      if (!m.is_object()) fail(std::string("header '") + map + "' is not an object");
      for (const auto& e : m.as_object()) (map[0] == 'm' ? out.meta_ : out.info_)[e.key] = e.value.as_string();
    }
    const io::JsonValue& list = member(root, "arrays");
    if (!list.is_array()) fail("header 'arrays' is not a list");
    for (const io::JsonValue& e : list.as_array()) {
      const std::string& name = member(e, "name").as_string();
      Array a;
      a.dtype = member(e, "dtype").as_string();
      a.rows = member(e, "rows").as_int64();
      a.cols = member(e, "cols").as_int64();
      const std::int64_t offset = member(e, "offset").as_int64(), size = member(e, "bytes").as_int64();
      const std::size_t item = a.dtype == "f4" ? 4 : (a.dtype == "f8" || a.dtype == "i8") ? 8 : 0;
      if (item == 0) fail("array '" + name + "' has unknown dtype '" + a.dtype + "'");
      std::uint64_t need = 0;  // rows x cols x item, which must not wrap around 2^64 into a small size
      if (a.rows < 0 || a.cols < 0 || offset < 0 || size < 0 ||
          __builtin_mul_overflow(static_cast<std::uint64_t>(a.rows), static_cast<std::uint64_t>(a.cols), &need) ||
          __builtin_mul_overflow(need, static_cast<std::uint64_t>(item), &need) || need != static_cast<std::uint64_t>(size) ||
          static_cast<std::uint64_t>(offset) + static_cast<std::uint64_t>(size) > payload_len)
        fail("array '" + name + "' (" + std::to_string(a.rows) + " x " + std::to_string(a.cols) + " " + a.dtype +
             ", " + std::to_string(size) + " bytes at " + std::to_string(offset) + ") does not fit the payload");
      a.bytes.assign(reinterpret_cast<const char*>(bytes.data() + payload_at + offset), static_cast<std::size_t>(size));
      out.arrays_[name] = std::move(a);
    }
    return out;
  }

  /// @brief Reads and parses the checkpoint at `path`: io_error when it cannot be read, format_error as parse().
  static Checkpoint load(const std::filesystem::path& path) {
    const std::vector<std::uint8_t> bytes = io::read_file(path);
    return parse(bytes, path.string());
  }

  /// @brief Where the checkpoint was read from ("" for one built in memory), for messages.
  [[nodiscard]] const std::string& source() const { return source_; }

private:
  static_assert(std::endian::native == std::endian::little, "checkpoints store little-endian arrays");
  static constexpr std::string_view kMagic{"GASCKPT1", 8};
  static constexpr std::size_t kCrcChunk = std::size_t{1} << 30;  // zlib's crc32 takes a 32-bit length

  /// CRC-32 of `size` bytes, in chunks: zlib's crc32 takes a 32-bit length.
  static std::uint32_t crc_of(const std::uint8_t* data, std::size_t size) {
    auto c = static_cast<std::uint32_t>(crc32(0L, nullptr, 0));
    for (std::size_t off = 0; off < size; off += kCrcChunk)
      c = static_cast<std::uint32_t>(crc32(c, data + off, static_cast<uInt>(std::min(kCrcChunk, size - off))));
    return c;
  }

  [[noreturn]] static void fail_(const std::string& source, const std::string& what) {
    throw format_error(source + ": not a usable checkpoint: " + what);
  }

  template <class T>
  static std::string dtype_of() {
    if constexpr (std::is_same_v<T, float>) return "f4";
    else if constexpr (std::is_same_v<T, double>) return "f8";
    else return "i8";
  }

  static void append_u64(std::string& out, std::uint64_t v) {
    for (int k = 0; k < 8; ++k) out += static_cast<char>((v >> (8 * k)) & 0xff);
  }

  std::map<std::string, std::string> meta_, info_;
  std::map<std::string, Array> arrays_;
  std::string source_ = "checkpoint";
};

}  // namespace gas::train
