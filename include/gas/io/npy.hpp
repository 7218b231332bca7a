#pragma once
/// @brief NumPy `.npy` arrays (format versions 1, 2 and 3) parsed from bytes, with checked typed conversion.
///
/// The header is a Python dict literal; only the three keys numpy writes ('descr', 'fortran_order', 'shape')
/// are understood, by a small literal parser that never evaluates anything. Arrays are normalized on parse:
/// big-endian data is byte-swapped to the host order and Fortran-ordered data is transposed to row-major,
/// so that every later step sees one layout. Object arrays ('|O') hold pickles and are always rejected;
/// unicode ('<U') and byte-string ('|S') arrays are kept raw and can be decoded with `to_strings()`.

#include <algorithm>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "gas/core/atomic_file.hpp"
#include "gas/core/error.hpp"
#include "gas/io/utf8.hpp"
#include "gas/io/file.hpp"

namespace gas::io {

/// @brief The element kinds an `NpyArray` can hold.
enum class NpyKind : char {
  boolean = 'b',   ///< '|b1', one byte, nonzero is true
  signed_int = 'i',
  unsigned_int = 'u',
  floating = 'f',
  unicode = 'U',   ///< fixed-width UCS-4 strings, kept raw
  bytes = 'S',     ///< fixed-width byte strings, kept raw
};

/// @brief A parsed `.npy` array: dtype, shape and row-major element bytes in the host byte order.
class NpyArray {
public:
  /// @brief An empty one-dimensional float32 array.
  NpyArray() = default;
  /// @brief Wraps already-normalized elements (row-major, host byte order) that start at `offset` in `storage`.
  /// Throws shape_error unless exactly prod(shape) * itemsize bytes follow `offset`.
  NpyArray(std::string source, std::string descr, NpyKind kind, std::size_t itemsize, std::vector<std::int64_t> shape,
           std::vector<std::uint8_t> storage, std::size_t offset = 0)
      : source_(std::move(source)), descr_(std::move(descr)), kind_(kind), itemsize_(itemsize),
        shape_(std::move(shape)), storage_(std::move(storage)), offset_(offset) {
    std::size_t need = itemsize_;
    bool ok = offset_ <= storage_.size();
    for (auto d : shape_) ok = ok && d >= 0 && !__builtin_mul_overflow(need, static_cast<std::size_t>(d), &need);
    if (!ok || need != storage_.size() - offset_)
      throw shape_error(source_ + ": " + std::to_string(storage_.size() - std::min(offset_, storage_.size())) +
                        " data bytes do not match shape " + format_shape(shape_) + " of " + std::to_string(itemsize_) +
                        "-byte elements");
  }

  /// @brief Where the array came from ("file" or "archive:entry"), named in every error message.
  [[nodiscard]] const std::string& source() const { return source_; }
  /// @brief The dtype string as written in the file (e.g. "<f4", ">i8", "|b1", "<U7").
  [[nodiscard]] const std::string& descr() const { return descr_; }
  /// @brief The element kind the dtype names.
  [[nodiscard]] NpyKind kind() const { return kind_; }
  /// @brief Bytes per element (4 * characters for unicode).
  [[nodiscard]] std::size_t itemsize() const { return itemsize_; }
  /// @brief Extents, outermost first (row-major after parsing, whatever the file's order).
  [[nodiscard]] const std::vector<std::int64_t>& shape() const { return shape_; }
  /// @brief Number of dimensions (0 for a scalar).
  [[nodiscard]] std::size_t ndim() const { return shape_.size(); }
  /// @brief Extent of dimension `i`; throws format_error naming the source when the array has fewer dimensions.
  [[nodiscard]] std::int64_t dim(std::size_t i) const {
    if (i >= shape_.size())
      throw format_error(source_ + ": array has " + std::to_string(shape_.size()) + " dimensions, dimension " +
                         std::to_string(i) + " requested");
    return shape_[i];
  }
  /// @brief Number of elements (product of the shape; 1 for a 0-d array).
  [[nodiscard]] std::int64_t size() const {
    std::int64_t n = 1;
    for (auto d : shape_) n *= d;  // checked against overflow when the array was parsed
    return n;
  }
  /// @brief True for bool, integer and floating dtypes (those `to_vector` accepts).
  [[nodiscard]] bool is_numeric() const {
    return kind_ == NpyKind::boolean || kind_ == NpyKind::signed_int || kind_ == NpyKind::unsigned_int ||
           kind_ == NpyKind::floating;
  }
  /// @brief Shape as text, "(3, 4)", for messages.
  [[nodiscard]] std::string shape_string() const { return format_shape(shape_); }
  /// @brief Formats a shape as Python writes it, "(3, 4)" or "(5,)", for messages.
  static std::string format_shape(const std::vector<std::int64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
  }
  /// @brief The element bytes, row-major, host byte order.
  [[nodiscard]] std::span<const std::uint8_t> bytes() const {
    return {storage_.data() + offset_, storage_.size() - offset_};
  }

  /// @brief Converts every element to `T`, checking that each value is representable.
  /// Integer targets reject out-of-range values and non-integral or non-finite floats with format_error
  /// naming the source and the flat index; floating targets accept every numeric dtype (float64 values beyond
  /// the float range become infinite, which dataset validation reports).
  template <class T>
    requires std::is_arithmetic_v<T>
  [[nodiscard]] std::vector<T> to_vector() const;

  /// @brief Decodes a unicode or byte-string array to UTF-8 strings (trailing NULs removed).
  [[nodiscard]] std::vector<std::string> to_strings() const;

private:
  std::string source_;
  std::string descr_ = "<f4";
  NpyKind kind_ = NpyKind::floating;
  std::size_t itemsize_ = 4;
  std::vector<std::int64_t> shape_{0};
  std::vector<std::uint8_t> storage_;
  std::size_t offset_ = 0;  // the header stays in front of the data: no copy of a large file after reading it
};

namespace detail {

/// @brief Parses the Python dict literal of a `.npy` header; only strings, booleans, integers, tuples.
class NpyHeaderParser {
public:
  NpyHeaderParser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  struct Header {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
  };

  Header parse() {
    Header header;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          fail("'descr' is not a simple dtype string (structured dtypes are not supported)");
        header.descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean_literal();
        have_order = true;
      } else if (key == "shape") {
        header.shape = tuple_literal();
        have_shape = true;
      } else {
        fail("unexpected header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') break;
      fail("expected ',' or '}' in header");
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) fail("trailing characters after the header dict");
    if (!have_descr || !have_order || !have_shape)
      fail(std::string("header lacks '") + (!have_descr ? "descr" : !have_order ? "fortran_order" : "shape") + "'");
    return header;
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw format_error(source_ + ": npy header: " + what + " (at header character " + std::to_string(pos_) + ")");
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const auto end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    if (s.find('\\') != std::string::npos) fail("escapes in header strings are not supported");
    pos_ = end + 1;
    return s;
  }
  bool boolean_literal() {
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("'fortran_order' is not True or False");
  }
  std::vector<std::int64_t> tuple_literal() {
    if (peek() != '(') fail("'shape' is not a tuple");
    ++pos_;
    std::vector<std::int64_t> shape;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("'shape' entry is not a non-negative integer");
      std::int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        const int digit = peek() - '0';
        if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10) fail("'shape' entry overflows 64 bits");
        v = v * 10 + digit;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literal, as old numpy wrote
      shape.push_back(v);
      if (shape.size() > 32) fail("more than 32 dimensions");
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ')') break;
      fail("expected ',' or ')' in 'shape'");
    }
    ++pos_;
    return shape;
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

[[noreturn]] inline void npy_fail(const std::string& source, const std::string& what) {
  throw format_error(source + ": " + what);
}

/// @brief Reverses the bytes of each `itemsize`-byte element in place.
inline void byte_swap(std::span<std::uint8_t> data, std::size_t itemsize) {
  if (itemsize <= 1) return;
  for (std::size_t at = 0; at + itemsize <= data.size(); at += itemsize)
    std::reverse(data.begin() + static_cast<std::ptrdiff_t>(at),
                 data.begin() + static_cast<std::ptrdiff_t>(at + itemsize));
}

/// @brief Rewrites Fortran-ordered (column-major) elements in row-major order.
inline std::vector<std::uint8_t> fortran_to_c(std::span<const std::uint8_t> data, const std::vector<std::int64_t>& shape,
                                             std::size_t itemsize) {
  std::vector<std::uint8_t> out(data.size());
  const std::size_t nd = shape.size();
  if (data.empty()) return out;
  // Fortran strides: the first index moves fastest.
  std::vector<std::size_t> stride(nd, 1);
  for (std::size_t d = 1; d < nd; ++d) stride[d] = stride[d - 1] * static_cast<std::size_t>(shape[d - 1]);
  std::vector<std::int64_t> index(nd, 0);
  const std::size_t count = data.size() / itemsize;
  std::size_t from = 0;  // Fortran offset (in elements) of `index`
  for (std::size_t to = 0; to < count; ++to) {
    std::memcpy(out.data() + to * itemsize, data.data() + from * itemsize, itemsize);
    // Advance the C-order odometer (last index fastest), keeping the Fortran offset in step.
    for (std::size_t d = nd; d-- > 0;) {
      if (++index[d] < shape[d]) {
        from += stride[d];
        break;
      }
      from -= stride[d] * static_cast<std::size_t>(shape[d] - 1);
      index[d] = 0;
    }
  }
  return out;
}

/// @brief Checked conversion of a numeric array to `T`; Src is the C++ type matching the stored dtype.
template <class T, class Src>
void convert_elements(const NpyArray& a, std::vector<T>& out) {
  const auto bytes = a.bytes();
  const std::size_t n = out.size();
  const std::uint8_t* p = bytes.data();
  if constexpr (std::is_same_v<T, Src>) {
    if (n) std::memcpy(out.data(), p, n * sizeof(T));
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      Src v;
      std::memcpy(&v, p + i * sizeof(Src), sizeof(Src));
      if constexpr (std::is_same_v<T, bool>) {
        out[i] = v != Src{0};
      } else if constexpr (std::is_floating_point_v<T>) {
        out[i] = static_cast<T>(v);
      } else if constexpr (std::is_floating_point_v<Src>) {
        // Floats into integers only when the value is integral and fits; anything else is garbage for an id.
        if (!std::isfinite(v) || v != std::trunc(v) ||
            static_cast<long double>(v) < static_cast<long double>(std::numeric_limits<T>::min()) ||
            static_cast<long double>(v) > static_cast<long double>(std::numeric_limits<T>::max()))
          throw format_error(a.source() + ": element " + std::to_string(i) + " = " + std::to_string(v) + " (" +
                             a.descr() + ") is not an integer representable as the requested type");
        out[i] = static_cast<T>(v);
      } else {
        if (!std::in_range<T>(v))
          throw format_error(a.source() + ": element " + std::to_string(i) + " = " + std::to_string(v) + " (" +
                             a.descr() + ") does not fit the requested " + std::to_string(sizeof(T) * 8) +
                             "-bit " + (std::is_signed_v<T> ? "signed" : "unsigned") + " integer type");
        out[i] = static_cast<T>(v);
      }
    }
  }
}

/// @brief Checked `a *= b` for non-negative sizes; false on overflow.
inline bool mul_size(std::size_t& a, std::size_t b) { return !__builtin_mul_overflow(a, b, &a); }


}  // namespace detail

template <class T>
  requires std::is_arithmetic_v<T>
std::vector<T> NpyArray::to_vector() const {
  if (!is_numeric())
    throw format_error(source_ + ": dtype '" + descr_ + "' is not numeric, cannot convert to numbers");
  std::vector<T> out(static_cast<std::size_t>(size()));
  switch (kind_) {
    case NpyKind::boolean: detail::convert_elements<T, std::uint8_t>(*this, out); break;
    case NpyKind::signed_int:
      switch (itemsize_) {
        case 1: detail::convert_elements<T, std::int8_t>(*this, out); break;
        case 2: detail::convert_elements<T, std::int16_t>(*this, out); break;
        case 4: detail::convert_elements<T, std::int32_t>(*this, out); break;
        default: detail::convert_elements<T, std::int64_t>(*this, out); break;
      }
      break;
    case NpyKind::unsigned_int:
      switch (itemsize_) {
        case 1: detail::convert_elements<T, std::uint8_t>(*this, out); break;
        case 2: detail::convert_elements<T, std::uint16_t>(*this, out); break;
        case 4: detail::convert_elements<T, std::uint32_t>(*this, out); break;
        default: detail::convert_elements<T, std::uint64_t>(*this, out); break;
      }
      break;
    default:
      if (itemsize_ == 4) detail::convert_elements<T, float>(*this, out);
      else detail::convert_elements<T, double>(*this, out);
      break;
  }
  if constexpr (!std::is_same_v<T, bool>) {
    // Booleans are stored as bytes; a byte other than 0/1 still means true, so normalize.
    if (kind_ == NpyKind::boolean)
      for (auto& v : out) v = v != T{0} ? T{1} : T{0};
  }
  return out;
}

inline std::vector<std::string> NpyArray::to_strings() const {
  if (kind_ != NpyKind::unicode && kind_ != NpyKind::bytes)
    throw format_error(source_ + ": dtype '" + descr_ + "' is not a string dtype");
  const auto data = bytes();
  const std::size_t n = static_cast<std::size_t>(size());
  std::vector<std::string> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = data.data() + i * itemsize_;
    std::string& s = out[i];
    if (kind_ == NpyKind::bytes) {
      std::size_t len = itemsize_;
      while (len > 0 && p[len - 1] == 0) --len;
      s.assign(reinterpret_cast<const char*>(p), len);
      continue;
    }
    std::size_t chars = itemsize_ / 4;
    auto at = [p](std::size_t c) {
      std::uint32_t cp;
      std::memcpy(&cp, p + 4 * c, 4);
      return cp;
    };
    while (chars > 0 && at(chars - 1) == 0) --chars;
    for (std::size_t c = 0; c < chars; ++c) {
      const std::uint32_t cp = at(c);
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        throw format_error(source_ + ": element " + std::to_string(i) + " holds invalid code point " +
                           std::to_string(cp));
      detail::append_utf8(s, cp);
    }
  }
  return out;
}

/// @brief Parses a `.npy` image held in `bytes`, taking ownership; `source` names it in error messages.
/// Big-endian ('>') data is byte-swapped to the host order and Fortran order is transposed to row-major.
/// Throws format_error for a bad magic or header, an unsupported or object dtype, or a data length that
/// differs from prod(shape) * itemsize (truncated or padded file).
inline NpyArray parse_npy(std::vector<std::uint8_t> bytes, const std::string& source) {
  auto fail = [&source](const std::string& what) { detail::npy_fail(source, what); };
  static constexpr std::uint8_t magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, sizeof magic) != 0)
    fail("not a .npy file (bad magic; expected \\x93NUMPY)");
  const int major = bytes[6];
  std::size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<std::size_t>(bytes[8]) | static_cast<std::size_t>(bytes[9]) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail("truncated .npy header");
    header_len = static_cast<std::size_t>(bytes[8]) | static_cast<std::size_t>(bytes[9]) << 8 |
                 static_cast<std::size_t>(bytes[10]) << 16 | static_cast<std::size_t>(bytes[11]) << 24;
    header_start = 12;
  } else {
    fail("unsupported .npy format version " + std::to_string(major) + "." + std::to_string(bytes[7]));
  }
  if (header_len > bytes.size() - header_start)
    fail("truncated .npy header (" + std::to_string(header_len) + " header bytes declared, " +
         std::to_string(bytes.size() - header_start) + " present)");
  const std::string_view header_text(reinterpret_cast<const char*>(bytes.data() + header_start), header_len);
  const auto header = detail::NpyHeaderParser(header_text, source).parse();

  // dtype: optional byte-order character, kind character, decimal item size.
  std::string_view d = header.descr;
  char order = '|';
  if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '=' || d[0] == '|')) {
    order = d[0];
    d.remove_prefix(1);
  }
  if (d.empty()) fail("empty dtype descr");
  const char kind_char = d[0];
  d.remove_prefix(1);
  if (kind_char == 'O')
    fail("dtype '" + header.descr + "' holds pickled Python objects, which gas never unpickles");
  std::size_t count = 0;
  if (d.empty() || d.size() > 6) fail("dtype '" + header.descr + "' has no valid item size");
  for (char c : d) {
    if (c < '0' || c > '9') fail("dtype '" + header.descr + "' has no valid item size");
    count = count * 10 + static_cast<std::size_t>(c - '0');
  }
  NpyKind kind{};
  std::size_t itemsize = count;
  switch (kind_char) {
    case 'b':
      kind = NpyKind::boolean;
      if (count != 1) fail("unsupported dtype '" + header.descr + "'");
      break;
    case 'i':
    case 'u':
      kind = kind_char == 'i' ? NpyKind::signed_int : NpyKind::unsigned_int;
      if (count != 1 && count != 2 && count != 4 && count != 8) fail("unsupported dtype '" + header.descr + "'");
      break;
    case 'f':
      kind = NpyKind::floating;
      if (count != 4 && count != 8) fail("unsupported dtype '" + header.descr + "' (only float32 and float64)");
      break;
    case 'U':
    case 'S':
      // numpy never writes a 0-wide string dtype (it widens 'S0' to 'S1'); refused, because elements of 0
      // bytes would let a shape claim billions of strings that no byte of the file backs.
      if (count == 0) fail("dtype '" + header.descr + "' has item size 0");
      if (kind_char == 'S') {
        kind = NpyKind::bytes;
        break;
      }
      kind = NpyKind::unicode;
      if (!detail::mul_size(itemsize, 4)) fail("dtype '" + header.descr + "' is too wide");
      break;
    default: fail("unsupported dtype '" + header.descr + "'");
  }

  std::size_t elements = 1, nonzero = 1;
  for (auto dim : header.shape) {
    if (!detail::mul_size(elements, static_cast<std::size_t>(dim)))
      fail("shape " + std::to_string(header.shape.size()) + "-d overflows the address space");
    // As numpy: the non-zero extents must multiply within int64 even when another extent is 0 (an empty
    // array), since size() and every reader multiply extents in order.
    if (dim != 0 && (!detail::mul_size(nonzero, static_cast<std::size_t>(dim)) ||
                     nonzero > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())))
      fail("shape " + NpyArray::format_shape(header.shape) + " overflows the address space");
  }
  std::size_t data_bytes = elements;
  if (elements > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()) ||
      !detail::mul_size(data_bytes, itemsize))
    fail("array size overflows the address space");
  const std::size_t data_start = header_start + header_len;
  const std::size_t present = bytes.size() - data_start;
  if (present != data_bytes)
    fail("data is " + std::to_string(present) + " bytes but dtype '" + header.descr + "' and shape " +
         NpyArray::format_shape(header.shape) + " need " + std::to_string(data_bytes) +
         (present < data_bytes ? " (truncated file)" : " (trailing bytes)"));

  const bool big = order == '>';
  const bool swap = itemsize > 1 && kind != NpyKind::bytes &&
                    ((big && std::endian::native == std::endian::little) ||
                     (order == '<' && std::endian::native == std::endian::big));
  const std::size_t swap_unit = kind == NpyKind::unicode ? 4 : itemsize;
  if (swap) detail::byte_swap(std::span(bytes).subspan(data_start), swap_unit);
  if (header.fortran_order && header.shape.size() > 1) {
    auto c_order = detail::fortran_to_c(std::span<const std::uint8_t>(bytes).subspan(data_start), header.shape, itemsize);
    return NpyArray(source, header.descr, kind, itemsize, header.shape, std::move(c_order), 0);
  }
  return NpyArray(source, header.descr, kind, itemsize, header.shape, std::move(bytes), data_start);
}

/// @brief Reads and parses a `.npy` file; io_error when it cannot be read, format_error when it is malformed.
inline NpyArray read_npy(const std::filesystem::path& path) { return parse_npy(read_file(path), path.string()); }

/// @brief The bytes of a version 1.0 `.npy` file holding `values` (row-major, host byte order, little-endian
/// machines) with `shape`: what numpy.save writes, header padded to a multiple of 64 bytes. Throws shape_error
/// when prod(shape) differs from values.size() or a dimension is negative.
template <class T>
  requires std::is_arithmetic_v<T>
std::string npy_bytes(std::span<const T> values, const std::vector<std::int64_t>& shape) {
  static_assert(std::endian::native == std::endian::little, "npy_bytes writes little-endian ('<') data");
  std::int64_t count = 1;
  for (const auto d : shape) {
    if (d < 0) throw shape_error("npy shape " + NpyArray::format_shape(shape) + " has a negative dimension");
    count *= d;
  }
  if (static_cast<std::size_t>(count) != values.size())
    throw shape_error("npy shape " + NpyArray::format_shape(shape) + " holds " + std::to_string(count) +
                      " elements, not " + std::to_string(values.size()));
  std::string descr;
  if constexpr (std::is_same_v<T, bool>) descr = "|b1";
  else if constexpr (std::is_floating_point_v<T>) descr = "<f" + std::to_string(sizeof(T));
  else if constexpr (std::is_signed_v<T>) descr = sizeof(T) == 1 ? "|i1" : "<i" + std::to_string(sizeof(T));
  else descr = sizeof(T) == 1 ? "|u1" : "<u" + std::to_string(sizeof(T));
  std::string dims;
  for (std::size_t k = 0; k < shape.size(); ++k) dims += (k > 0 ? ", " : "") + std::to_string(shape[k]);
  if (shape.size() == 1) dims += ',';  // Python's one-element tuple: (a,)
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t unpadded = 10 + header.size() + 1;  // magic, version, length, header, newline
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return out;
}

/// @brief Writes `values` with `shape` as a `.npy` file numpy.load reads, replacing `path` atomically. Throws
/// shape_error as npy_bytes, io_error naming the file when it cannot be written.
template <class T>
  requires std::is_arithmetic_v<T>
void write_npy(const std::filesystem::path& path, std::span<const T> values, const std::vector<std::int64_t>& shape) {
  write_file_atomic(path, npy_bytes(values, shape));
}

}  // namespace gas::io
