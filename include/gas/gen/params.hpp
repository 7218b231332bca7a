#pragma once
/// @brief `Params`: the `key=value,key=value` strings that configure generators (e.g. "nodes=1e6,seed=3").

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "gas/core/check.hpp"

namespace gas::gen {

namespace detail {

/// @brief `s` without leading and trailing blanks.
inline std::string_view trim(std::string_view s) {
  constexpr std::string_view blanks = " \t\r\n";
  const auto b = s.find_first_not_of(blanks);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(blanks) - b + 1);
}

/// @brief Parses all of `text` as a finite double (a leading '+' is allowed); nullopt otherwise.
inline std::optional<double> parse_double(std::string_view text) {
  if (text.starts_with('+')) text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) return {};
  return value;
}

/// @brief Parses all of `text` as an integer of type T; a leading '+' and an exactly integral
/// scientific form such as "1e6" are accepted, because sizes are often written that way.
template <std::integral T>
std::optional<T> parse_integer(std::string_view text) {
  if (text.starts_with('+')) text.remove_prefix(1);
  T value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!text.empty() && ec == std::errc{} && end == text.data() + text.size()) return value;
  if (ec == std::errc::result_out_of_range) return {};
  // Only the mantissa-exponent spelling falls back to double, so "1.5" or "12abc" still fail.
  if (text.find_first_of("eE") == std::string_view::npos) return {};
  const auto as_double = parse_double(text);
  if (!as_double || std::trunc(*as_double) != *as_double) return {};
  // 2^63 and 2^64 are exact doubles; comparing against them avoids rounding at the type's limits.
  constexpr double upper = std::is_signed_v<T> ? 0x1.0p63 : 0x1.0p64;
  const double lower = std::is_signed_v<T> ? -0x1.0p63 : 0.0;
  if (*as_double < lower || *as_double >= upper) return {};
  if (*as_double < static_cast<double>(std::numeric_limits<T>::min()) ||
      *as_double > static_cast<double>(std::numeric_limits<T>::max()))
    return {};
  return static_cast<T>(*as_double);
}

}  // namespace detail

/// @brief A parsed `key=value,key=value` string checked against a list of known keys.
///
/// Blanks around keys and values are ignored, as are empty items (so "" and "a=1," are fine). An item
/// without '=', an empty key, an unknown key or a repeated key raises config_error naming the item; the typed
/// getters raise config_error naming the key and the value when the value is not a number of that type.
class Params {
public:
  /// @brief Parses `spec`; `what` (e.g. "sbm") prefixes every message, `known` lists the accepted keys.
  Params(std::string_view what, std::string_view spec, std::initializer_list<std::string_view> known)
      : what_(what) {
    std::string_view rest = spec;
    while (true) {
      const auto comma = rest.find(',');
      const auto item = detail::trim(rest.substr(0, comma));
      if (!item.empty()) add(item, known);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }

  /// @brief The generator name given to the constructor.
  [[nodiscard]] const std::string& what() const { return what_; }

  /// @brief True when `key` was given.
  [[nodiscard]] bool has(std::string_view key) const { return find(key) != nullptr; }

  /// @brief The raw value of `key`, if given.
  [[nodiscard]] std::optional<std::string_view> raw(std::string_view key) const {
    if (const auto* v = find(key)) return std::string_view(*v);
    return {};
  }

  /// @brief The value of `key` as a signed 64-bit integer, if given.
  [[nodiscard]] std::optional<std::int64_t> get_int64(std::string_view key) const {
    return get_integer<std::int64_t>(key, "an integer");
  }

  /// @brief The value of `key` as an unsigned 64-bit integer, if given.
  [[nodiscard]] std::optional<std::uint64_t> get_uint64(std::string_view key) const {
    return get_integer<std::uint64_t>(key, "a non-negative integer");
  }

  /// @brief The value of `key` as a finite double, if given.
  [[nodiscard]] std::optional<double> get_double(std::string_view key) const {
    const auto* value = find(key);
    if (value == nullptr) return {};
    const auto parsed = detail::parse_double(*value);
    GAS_CHECK(parsed.has_value(), config_error,
              what_ << ": value '" << *value << "' of key '" << key << "' is not a finite number");
    return parsed;
  }

  /// @brief Overwrites `field` with the value of `key` when it is given; the field's type picks the
  /// parser, and a value that does not fit the field (e.g. an int32) raises config_error.
  template <class T>
  void read(std::string_view key, T& field) const {
    if constexpr (std::same_as<T, double>) {
      if (auto v = get_double(key)) field = *v;
    } else if constexpr (std::same_as<T, std::uint64_t>) {
      if (auto v = get_uint64(key)) field = *v;
    } else if constexpr (std::signed_integral<T>) {
      if (auto v = get_int64(key)) {
        GAS_CHECK(*v >= std::numeric_limits<T>::min() && *v <= std::numeric_limits<T>::max(), config_error,
                  what_ << ": value '" << *find(key) << "' of key '" << key << "' is out of range ["
                        << +std::numeric_limits<T>::min() << ", " << +std::numeric_limits<T>::max() << "]");
        field = static_cast<T>(*v);
      }
    } else {
      static_assert(std::same_as<T, double>, "Params::read: no parser for this field type");
    }
  }

private:
  void add(std::string_view item, std::initializer_list<std::string_view> known) {
    const auto eq = item.find('=');
    GAS_CHECK(eq != std::string_view::npos, config_error,
              what_ << ": item '" << item << "' is not of the form key=value");
    const auto key = detail::trim(item.substr(0, eq));
    const auto value = detail::trim(item.substr(eq + 1));
    GAS_CHECK(!key.empty(), config_error, what_ << ": item '" << item << "' has an empty key");
    bool is_known = false;
    for (auto k : known) is_known = is_known || k == key;
    if (!is_known) {
      std::string list;
      for (auto k : known) (list += list.empty() ? "" : ", ") += k;
      GAS_FAIL(config_error, what_ << ": unknown key '" << key << "' (value '" << value << "'); known keys: " << list);
    }
    GAS_CHECK(find(key) == nullptr, config_error,
              what_ << ": key '" << key << "' given twice (values '" << *find(key) << "' and '" << value << "')");
    entries_.emplace_back(std::string(key), std::string(value));
  }

  [[nodiscard]] const std::string* find(std::string_view key) const {
    for (const auto& [k, v] : entries_)
      if (k == key) return &v;
    return nullptr;
  }

  template <std::integral T>
  std::optional<T> get_integer(std::string_view key, const char* expected) const {
    const auto* value = find(key);
    if (value == nullptr) return {};
    const auto parsed = detail::parse_integer<T>(*value);
    GAS_CHECK(parsed.has_value(), config_error,
              what_ << ": value '" << *value << "' of key '" << key << "' is not " << expected << " in range");
    return parsed;
  }

  std::string what_;
  std::vector<std::pair<std::string, std::string>> entries_;
};

/// @brief One key of a generator's config struct: its name in the spec and the member it sets.
template <class Config, class T>
struct Field {
  // An alias rather than `T Config::*member`: nvcc's generated host code parenthesises the declarator,
  // which g++ then reports under -Wparentheses.
  using member_pointer = T Config::*;
  std::string_view key;
  member_pointer member;
};

/// @brief The Field for `key` and `member`, with the types deduced.
template <class Config, class T>
constexpr Field<Config, T> field(std::string_view key, T Config::*member) {
  return {key, member};
}

/// @brief Parses `spec` into a default `Config`, accepting exactly the keys of `fields` (each named once, so the
/// accepted keys and the members they set cannot drift apart); `what` prefixes every message. Throws config_error.
template <class Config, class... T>
Config parse_fields(std::string_view what, std::string_view spec, Field<Config, T>... fields) {
  const Params p(what, spec, {fields.key...});
  Config config;
  (p.read(fields.key, config.*fields.member), ...);
  return config;
}

}  // namespace gas::gen
