#pragma once
/// @brief A minimal JSON writer for reports (gas-inspect, benchmarks): objects of scalars, arrays and objects.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "gas/core/atomic_file.hpp"
#include "gas/core/error.hpp"

namespace gas {

/// @brief Builds one JSON document by appending members; keys keep their insertion order.
class JsonWriter {
public:
  JsonWriter() { out_ += '{'; }

  JsonWriter& add(std::string_view key, std::string_view value) {
    key_(key);
    quote_(value);
    return *this;
  }
  JsonWriter& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  JsonWriter& add(std::string_view key, bool value) {
    key_(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  JsonWriter& add(std::string_view key, T value) {
    key_(key);
    if constexpr (std::is_floating_point_v<T>) {
      number_(static_cast<double>(value));
    } else {
      out_ += std::to_string(value);
    }
    return *this;
  }
  /// @brief Adds an array of numbers (non-finite ones as null).
  JsonWriter& add_array(std::string_view key, std::span<const double> values) {
    key_(key);
    out_ += '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out_ += ',';
      number_(values[i]);
    }
    out_ += ']';
    return *this;
  }
  /// @brief Adds a nested object written by another JsonWriter.
  JsonWriter& add_object(std::string_view key, const JsonWriter& inner) {
    key_(key);
    out_ += inner.str();
    return *this;
  }

  /// @brief The finished document.
  [[nodiscard]] std::string str() const { return out_ + '}'; }

  /// @brief Writes the document to `path` through a temporary file and a rename, so an existing file is
  /// replaced whole or not at all. Throws io_error naming the file.
  void save(const std::filesystem::path& path) const { write_file_atomic(path, str() + '\n'); }

private:
  void number_(double value) {
    if (!std::isfinite(value)) {
      out_ += "null";  // JSON has no NaN or infinity
      return;
    }
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.10g", value);
    out_ += buffer;
  }
  void key_(std::string_view key) {
    if (out_.size() > 1) out_ += ',';
    quote_(key);
    out_ += ':';
  }
  void quote_(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\t': out_ += "\\t"; break;
        case '\r': out_ += "\\r"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
            out_ += buffer;
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
};

}  // namespace gas
