#pragma once
/// @brief `exact_text`: a double as the shortest text that reads back as exactly that double (std::to_chars), for
/// files that must lose no precision (logs, checkpoints) and messages that should not read 0.0050000000000000001.

#include <charconv>
#include <string>
#include <system_error>

namespace gas {

/// @brief The shortest text that strtod reads back as exactly `v` ("0.005"); "nan", "inf", "-inf" otherwise.
inline std::string exact_text(double v) {
  char buffer[40];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, ec == std::errc{} ? end : buffer);
}

}  // namespace gas
