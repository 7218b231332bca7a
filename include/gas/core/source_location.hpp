#pragma once
/// @brief `gas::source_location`: the caller's file, line and function for error messages, on every compiler.
///
/// std::source_location is C++20, but clang 14 with libstdc++ 12 (Debian 12's clang, which the fuzzers and
/// sanitizer builds use) lacks it: libstdc++ implements it with `__builtin_source_location`, which clang gained
/// only in version 15. There the fallback records the same facts with the `__builtin_FILE/LINE/FUNCTION`
/// intrinsics that both compilers have had for years; it names the bare function where std::source_location names
/// the qualified one, so messages read "fn: ..." instead of "ns::Class::fn: ...".

#include <cstdint>
#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

namespace gas {

#if defined(__cpp_lib_source_location)
using source_location = std::source_location;
#else
/// The subset of std::source_location gas uses; current() is evaluated at the call site like the standard's.
struct source_location {
  static constexpr source_location current(const char* file = __builtin_FILE(), int line = __builtin_LINE(),
                                           const char* function = __builtin_FUNCTION()) noexcept {
    source_location s;
    s.file_ = file;
    s.line_ = static_cast<std::uint_least32_t>(line);
    s.function_ = function;
    return s;
  }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  constexpr std::uint_least32_t column() const noexcept { return 0; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
};
#endif

}  // namespace gas
