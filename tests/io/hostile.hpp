#pragma once
// Test-only check for hostile sizes (issue 16): a file that declares more than it holds must be refused with a
// format_error, at once, and without allocating what it declares. "Without allocating" is measured as the
// growth of the process's peak resident size (VmHWM, reset through /proc/self/clear_refs where Linux allows
// it), which also sees allocations made by zlib and liblzma.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "gas/core/error.hpp"
#include "io/io_test_util.hpp"

namespace gas_test {

/// A field of /proc/self/status in bytes ("VmHWM", "VmRSS"); -1 where there is no such file.
inline std::int64_t proc_status_bytes(std::string_view field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':')
      return std::stoll(line.substr(field.size() + 1)) * 1024;  // the kernel reports kB
  return -1;
}

/// Bounds of a refusal: how much the peak resident size may grow and how long it may take (generous, for a
/// loaded machine; an allocation of what the hostile files declare would take far longer and far more).
inline constexpr std::int64_t hostile_max_growth = std::int64_t{64} << 20;
inline constexpr double hostile_max_seconds = 1.0;

/// Runs `f`, which must throw format_error naming each needle, quickly and with little memory.
template <class F>
void check_refused_small(F&& f, std::initializer_list<std::string_view> needles, const char* expr, const char* file,
                         int line) {
  { std::ofstream("/proc/self/clear_refs") << "5"; }  // resets VmHWM to the current RSS (Linux >= 4.0)
  const auto before = proc_status_bytes("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  check_throws_naming<gas::format_error>(f, needles, expr, file, line);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto peak = proc_status_bytes("VmHWM");
  if (before >= 0 && peak >= 0 && peak - before > hostile_max_growth)
    ADD_FAIL_CHECK_AT(file, line, std::string(expr) << ": peak resident size grew by " << (peak - before)
                                                    << " bytes while refusing the input");
  if (seconds > hostile_max_seconds)
    ADD_FAIL_CHECK_AT(file, line, std::string(expr) << ": took " << seconds << " s to refuse the input");
}

}  // namespace gas_test

/// CHECK that `expr` throws exactly gas::format_error naming each following string, in under a second, with
/// the peak resident size growing by less than 64 MiB.
#define CHECK_REFUSED_SMALL(expr, ...) \
  ::gas_test::check_refused_small([&] { (void)(expr); }, {__VA_ARGS__}, #expr, __FILE__, __LINE__)
