#pragma once
/// @brief `GAS_CHECK`: precondition checks whose messages name the caller and the offending value.

#include "gas/core/source_location.hpp"
#include <sstream>
#include <string>
#include <string_view>

#include "gas/core/error.hpp"

namespace gas::detail {

/// @brief Shortens a compiler's pretty function name to `ns::Class::function`.
/// Template arguments and parameter lists make messages unreadable, so both are dropped.
inline std::string caller_name(std::string_view pretty) {
  if (auto bracket = pretty.find(" [with"); bracket != std::string_view::npos) pretty = pretty.substr(0, bracket);
  std::string flat;
  int depth = 0;
  for (char c : pretty) {
    if (c == '<') ++depth;
    else if (c == '>') --depth;
    else if (depth == 0) {
      if (c == '(') break;
      flat += c;
    }
  }
  if (auto space = flat.rfind(' '); space != std::string::npos) flat = flat.substr(space + 1);
  while (!flat.empty() && (flat.front() == '*' || flat.front() == '&')) flat.erase(flat.begin());
  return flat;
}

template <class Error>
[[noreturn]] void fail(const ::gas::source_location& where, const std::string& message) {
  throw Error(caller_name(where.function_name()) + ": " + message);
}

}  // namespace gas::detail

/// @brief Throws `Kind` with "caller: message" unless `cond` holds; `message` is a stream expression.
/// Example: `GAS_CHECK(row < rows, gas::shape_error, "row " << row << " >= rows " << rows);`
#define GAS_CHECK(cond, Kind, message)                                                   \
  do {                                                                                   \
    if (!(cond)) [[unlikely]] {                                                          \
      std::ostringstream gas_check_stream_;                                              \
      gas_check_stream_ << message;                                                      \
      ::gas::detail::fail<Kind>(::gas::source_location::current(), gas_check_stream_.str()); \
    }                                                                                    \
  } while (false)

/// @brief Throws `Kind` with "caller: message" unconditionally.
#define GAS_FAIL(Kind, message) GAS_CHECK(false, Kind, message)
