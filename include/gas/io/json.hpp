#pragma once
/// @brief A strict JSON parser (RFC 8259): an event (SAX) interface for large files and a small DOM on top.
///
/// GraphSAINT's class_map.json reaches hundreds of MB (Yelp: ~700k keys x 100-element arrays, 71M numbers);
/// a DOM of that size would cost gigabytes, so readers of such files consume events and store only what
/// they need. Strings without escapes are handed out as views into the input (no copy); escaped strings are
/// decoded in bulk runs into one reused buffer. Nesting depth is limited so hostile input cannot exhaust
/// the stack. Every error is a format_error naming the source and the byte offset.

#include <charconv>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/io/utf8.hpp"
#include "gas/io/file.hpp"

namespace gas::io {

/// @brief Limits of the JSON parser.
struct JsonOptions {
  std::size_t max_depth = 512;  ///< deepest nesting of arrays and objects accepted
};

/// @brief A JSON number as it appeared in the text, with its integer value when it is an integer literal.
struct JsonNumber {
  std::string_view text;       ///< the literal, e.g. "-12", "3.5e-2"
  bool integral = false;       ///< no fraction and no exponent
  bool fits_int64 = false;     ///< integral and within the int64 range; then `integer` holds it
  std::int64_t integer = 0;

  /// @brief The value as a double (correctly rounded; +-inf when out of range).
  [[nodiscard]] double to_double() const {
    if (fits_int64) return static_cast<double>(integer);
    double v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range)
      return text.front() == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return v;
  }
};

/// @brief What an event handler for `parse_json` must provide. String views are valid only during the call.
template <class H>
concept JsonHandler = requires(H& h, std::string_view s, const JsonNumber& n, bool b) {
  h.null_value();
  h.boolean(b);
  h.number(n);
  h.string(s);
  h.begin_object();
  h.key(s);
  h.end_object();
  h.begin_array();
  h.end_array();
};

namespace detail {

/// @brief Recursive-descent JSON parser emitting events; recursion depth is bounded by `max_depth`.
template <JsonHandler Handler>
class JsonParser {
public:
  JsonParser(std::string_view text, std::string_view source, Handler& handler, const JsonOptions& options)
      : text_(text), source_(source), handler_(handler), options_(options) {}

  void parse() {
    skip_space();
    if (pos_ == text_.size()) fail("empty document, expected a JSON value");
    value();
    skip_space();
    if (pos_ != text_.size()) fail("unexpected " + describe() + " after the JSON value");
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw format_error(std::string(source_) + ": byte " + std::to_string(pos_) + ": " + what);
  }
  std::string describe() const {
    if (pos_ >= text_.size()) return "end of input";
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x20 && c < 0x7F) return std::string("character '") + static_cast<char>(c) + "'";
    static constexpr char digits[] = "0123456789abcdef";
    return std::string("byte 0x") + digits[c >> 4] + digits[c & 0xF];
  }
  void skip_space() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
      ++pos_;
    }
  }

  void value() {
    if (pos_ >= text_.size()) fail("unexpected end of input, expected a value");
    switch (text_[pos_]) {
      case '{': object(); return;
      case '[': array(); return;
      case '"': handler_.string(string()); return;
      case 't': literal("true"); handler_.boolean(true); return;
      case 'f': literal("false"); handler_.boolean(false); return;
      case 'n': literal("null"); handler_.null_value(); return;
      default:
        if (text_[pos_] == '-' || (text_[pos_] >= '0' && text_[pos_] <= '9')) {
          handler_.number(number());
          return;
        }
        fail("unexpected " + describe() + ", expected a value");
    }
  }

  void enter() {
    if (++depth_ > options_.max_depth)
      fail("nesting deeper than " + std::to_string(options_.max_depth) + " levels");
  }

  bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  // Objects and arrays share one shape: after the opening bracket, `item`s separated by ',' up to `close`.
  template <class Item>
  void items(char close, std::string_view container, Item&& item) {
    skip_space();
    if (at(close)) {
      ++pos_;
      return;
    }
    while (true) {
      skip_space();
      item();
      skip_space();
      if (at(',')) {
        ++pos_;
        continue;
      }
      if (at(close)) {
        ++pos_;
        return;
      }
      fail("unexpected " + describe() + ", expected ',' or '" + close + "' in " + std::string(container));
    }
  }

  void object() {
    enter();
    ++pos_;
    handler_.begin_object();
    items('}', "an object", [&] {
      if (!at('"')) fail("unexpected " + describe() + ", expected a string key");
      handler_.key(string());
      skip_space();
      if (!at(':')) fail("unexpected " + describe() + ", expected ':'");
      ++pos_;
      skip_space();
      value();
    });
    --depth_;
    handler_.end_object();
  }

  void array() {
    enter();
    ++pos_;
    handler_.begin_array();
    items(']', "an array", [&] { value(); });
    --depth_;
    handler_.end_array();
  }

  void literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail("invalid literal, expected '" + std::string(word) + "'");
    pos_ += word.size();
  }

  JsonNumber number() {
    const std::size_t start = pos_;
    JsonNumber n;
    bool negative = false;
    if (text_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    auto digit = [&] { return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; };
    if (!digit()) fail("invalid number: expected a digit");
    std::uint64_t magnitude = 0;
    bool overflow = false;
    if (text_[pos_] == '0') {
      ++pos_;
      if (digit()) fail("invalid number: leading zeros are not allowed");
    } else {
      while (digit()) {
        const auto d = static_cast<std::uint64_t>(text_[pos_] - '0');
        overflow |= __builtin_mul_overflow(magnitude, 10u, &magnitude) || __builtin_add_overflow(magnitude, d, &magnitude);
        ++pos_;
      }
    }
    n.integral = true;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      n.integral = false;
      ++pos_;
      if (!digit()) fail("invalid number: expected a digit after '.'");
      while (digit()) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      n.integral = false;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digit()) fail("invalid number: expected a digit in the exponent");
      while (digit()) ++pos_;
    }
    n.text = text_.substr(start, pos_ - start);
    constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (n.integral && !overflow && magnitude <= limit + (negative ? 1 : 0)) {
      n.fits_int64 = true;
      n.integer = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
    }
    return n;
  }

  /// @brief Parses a string starting at the opening quote; returns a view into the input or into scratch_.
  std::string_view string() {
    ++pos_;
    const std::size_t start = pos_;
    bool copied = false;
    while (true) {
      const std::size_t run = pos_;
      while (pos_ < text_.size()) {
        const auto c = static_cast<unsigned char>(text_[pos_]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++pos_;
      }
      if (copied) scratch_.append(text_.data() + run, pos_ - run);
      if (pos_ >= text_.size()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return copied ? std::string_view(scratch_) : text_.substr(start, pos_ - 1 - start);
      }
      if (c < 0x20) fail("control character in a string (must be escaped)");
      if (c >= 0x80) {
        const std::size_t from = pos_;
        utf8_sequence();
        if (copied) scratch_.append(text_.data() + from, pos_ - from);
        continue;
      }
      // A backslash: switch to decoding into scratch_ from here on.
      if (!copied) {
        scratch_.assign(text_.data() + start, pos_ - start);
        copied = true;
      }
      escape();
    }
  }

  void escape() {
    ++pos_;
    if (pos_ >= text_.size()) fail("unterminated escape sequence");
    const char e = text_[pos_++];
    switch (e) {
      case '"': scratch_ += '"'; return;
      case '\\': scratch_ += '\\'; return;
      case '/': scratch_ += '/'; return;
      case 'b': scratch_ += '\b'; return;
      case 'f': scratch_ += '\f'; return;
      case 'n': scratch_ += '\n'; return;
      case 'r': scratch_ += '\r'; return;
      case 't': scratch_ += '\t'; return;
      case 'u': break;
      default: --pos_; fail("invalid escape sequence '\\" + std::string(1, e) + "'");
    }
    std::uint32_t cp = hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (text_.substr(pos_, 2) != "\\u") fail("high surrogate not followed by a \\u low surrogate");
      pos_ += 2;
      const std::uint32_t low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("high surrogate not followed by a low surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(cp);
  }

  std::uint32_t hex4() {
    if (text_.size() - pos_ < 4) fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else fail("invalid hex digit in \\u escape");
      ++pos_;
    }
    return v;
  }

  void append_utf8(std::uint32_t cp) { detail::append_utf8(scratch_, cp); }

  /// @brief Skips one well-formed UTF-8 sequence (no overlongs, surrogates or code points past U+10FFFF).
  void utf8_sequence() {
    const auto b0 = static_cast<unsigned char>(text_[pos_]);
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1Fu, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0Fu, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07u, min = 0x10000;
    else fail("invalid UTF-8 lead byte in a string");
    if (text_.size() - pos_ < len) fail("truncated UTF-8 sequence in a string");
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text_[pos_ + k]);
      if ((b & 0xC0) != 0x80) fail("invalid UTF-8 continuation byte in a string");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid UTF-8 sequence in a string");
    pos_ += len;
  }

  std::string_view text_;
  std::string_view source_;
  Handler& handler_;
  const JsonOptions& options_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
  std::string scratch_;
};

}  // namespace detail

/// @brief Parses `text` and reports each value to `handler` in document order; `source` names the input in
/// errors (format_error with the byte offset). Exceptions thrown by the handler pass through unchanged.
template <JsonHandler Handler>
void parse_json(std::string_view text, std::string_view source, Handler& handler, const JsonOptions& options = {}) {
  detail::JsonParser<Handler>(text, source, handler, options).parse();
}

class JsonValue;
struct JsonMember;
/// @brief A JSON array in the DOM.
using JsonArray = std::vector<JsonValue>;
/// @brief A JSON object in the DOM: members in document order (duplicate keys are kept).
using JsonObject = std::vector<JsonMember>;

/// @brief A JSON value in the DOM. Integer literals that fit int64 are kept exact, other numbers as double.
/// Accessors of the wrong type throw format_error; callers that know the file check `type()` first.
class JsonValue {
public:
  /// @brief The kind of value held; `integer` is an integer literal that fits int64, `number` any other number.
  enum class Type { null, boolean, integer, number, string, array, object };

  /// @brief A null value.
  JsonValue() = default;
  // Defined after JsonMember: constructing the variant needs every alternative's element type complete.
  explicit JsonValue(bool v);
  explicit JsonValue(std::int64_t v);
  explicit JsonValue(double v);
  explicit JsonValue(std::string v);
  explicit JsonValue(JsonArray v);
  explicit JsonValue(JsonObject v);

  /// @brief The kind of value held.
  [[nodiscard]] Type type() const { return static_cast<Type>(v_.index()); }
  [[nodiscard]] bool is_null() const { return type() == Type::null; }
  [[nodiscard]] bool is_bool() const { return type() == Type::boolean; }
  /// @brief True for any number, integer or not.
  [[nodiscard]] bool is_number() const { return type() == Type::integer || type() == Type::number; }
  /// @brief True for an integer literal that fits int64.
  [[nodiscard]] bool is_integer() const { return type() == Type::integer; }
  [[nodiscard]] bool is_string() const { return type() == Type::string; }
  [[nodiscard]] bool is_array() const { return type() == Type::array; }
  [[nodiscard]] bool is_object() const { return type() == Type::object; }

  /// @brief The value as its C++ type; format_error when it holds another type.
  [[nodiscard]] bool as_bool() const { return get<bool>("a boolean"); }
  [[nodiscard]] std::int64_t as_int64() const { return get<std::int64_t>("an integer"); }
  /// @brief Any number as a double.
  [[nodiscard]] double as_double() const {
    if (is_integer()) return static_cast<double>(std::get<std::int64_t>(v_));
    return get<double>("a number");
  }
  [[nodiscard]] const std::string& as_string() const { return get<std::string>("a string"); }
  [[nodiscard]] const JsonArray& as_array() const { return get<JsonArray>("an array"); }
  [[nodiscard]] JsonArray& as_array() { return std::get<JsonArray>(v_); }
  [[nodiscard]] const JsonObject& as_object() const { return get<JsonObject>("an object"); }
  [[nodiscard]] JsonObject& as_object() { return std::get<JsonObject>(v_); }

  /// @brief The first member named `key` of an object, or nullptr (also when this is not an object).
  [[nodiscard]] const JsonValue* find(std::string_view key) const;

  /// @brief Name of a type for messages ("an array", "a string", ...).
  static const char* type_name(Type t) {
    switch (t) {
      case Type::null: return "null";
      case Type::boolean: return "a boolean";
      case Type::integer: return "an integer";
      case Type::number: return "a number";
      case Type::string: return "a string";
      case Type::array: return "an array";
      default: return "an object";
    }
  }

private:
  template <class T>
  const T& get(const char* expected) const {
    if (const T* p = std::get_if<T>(&v_)) return *p;
    throw format_error(std::string("JSON value is ") + type_name(type()) + ", expected " + expected);
  }

  std::variant<std::monostate, bool, std::int64_t, double, std::string, JsonArray, JsonObject> v_;
};

/// @brief One key/value pair of a JSON object.
struct JsonMember {
  std::string key;
  JsonValue value;
};

inline JsonValue::JsonValue(bool v) : v_(v) {}
inline JsonValue::JsonValue(std::int64_t v) : v_(v) {}
inline JsonValue::JsonValue(double v) : v_(v) {}
inline JsonValue::JsonValue(std::string v) : v_(std::move(v)) {}
inline JsonValue::JsonValue(JsonArray v) : v_(std::move(v)) {}
inline JsonValue::JsonValue(JsonObject v) : v_(std::move(v)) {}

inline const JsonValue* JsonValue::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& m : std::get<JsonObject>(v_))
    if (m.key == key) return &m.value;
  return nullptr;
}

namespace detail {

/// @brief Event handler that builds a `JsonValue` tree.
class JsonDomBuilder {
public:
  void null_value() { put(JsonValue()); }
  void boolean(bool b) { put(JsonValue(b)); }
  void number(const JsonNumber& n) { put(n.fits_int64 ? JsonValue(n.integer) : JsonValue(n.to_double())); }
  void string(std::string_view s) { put(JsonValue(std::string(s))); }
  void begin_object() { stack_.push_back(&put(JsonValue(JsonObject{}))); }
  void key(std::string_view k) { key_.assign(k); }
  void end_object() { stack_.pop_back(); }
  void begin_array() { stack_.push_back(&put(JsonValue(JsonArray{}))); }
  void end_array() { stack_.pop_back(); }

  JsonValue take() { return std::move(root_); }

private:
  // Containers on the stack are the last element of their parent, and a parent only grows after its open
  // child closes, so the pointers stay valid.
  JsonValue& put(JsonValue v) {
    if (stack_.empty()) return root_ = std::move(v);
    JsonValue& top = *stack_.back();
    if (top.is_array()) return top.as_array().emplace_back(std::move(v));
    return top.as_object().emplace_back(JsonMember{std::move(key_), std::move(v)}).value;
  }

  JsonValue root_;
  std::vector<JsonValue*> stack_;
  std::string key_;
};

}  // namespace detail

/// @brief Parses `text` into a DOM; format_error naming `source` and the byte offset on malformed input.
inline JsonValue parse_json(std::string_view text, std::string_view source, const JsonOptions& options = {}) {
  detail::JsonDomBuilder builder;
  parse_json(text, source, builder, options);
  return builder.take();
}

/// @brief Reads and parses a JSON file into a DOM (io_error when unreadable, format_error when malformed).
inline JsonValue read_json(const std::filesystem::path& path, const JsonOptions& options = {}) {
  const auto bytes = read_file(path);
  return parse_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path.string(),
                    options);
}

}  // namespace gas::io
