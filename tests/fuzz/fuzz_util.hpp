#pragma once
// Shared by the libFuzzer targets in tests/fuzz/ (built by tools/fuzz.sh, one binary per target).
//
// The contract every target checks: a reader either returns or throws a gas::error (the typed rejection of
// bad input). Anything else -- another exception, a crash, a sanitizer report, a hang past -timeout, an
// allocation past -malloc_limit_mb -- is a finding. `guarded` encodes the first half: it swallows gas::error
// only, so any other exception escapes LLVMFuzzerTestOneInput and libFuzzer reports it as a crash.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/io/limits.hpp"

namespace gas_fuzz {

/// The readers' limits (gas/io/limits.hpp), lowered under libFuzzer's -malloc_limit_mb (256 MB) for the whole
/// fuzzing process: an input that reaches a limit must be refused by it with a format_error; were a limit not
/// honoured, the allocation behind it would be reported as a finding.
inline const bool limits_lowered = [] {
  auto& limits = gas::io::read_limits();
  limits.max_inflated_bytes = std::uint64_t{64} << 20;
  limits.max_xz_memory = std::uint64_t{64} << 20;
  limits.max_line_bytes = std::uint64_t{16} << 20;
  limits.max_isolated_nodes = std::int64_t{1} << 20;
  return true;
}();

/// Runs `f`; a gas::error is the expected way to refuse an input, anything else propagates.
template <class F>
int guarded(F&& f) {
  try {
    f();
  } catch (const gas::error&) {
  }
  return 0;
}

/// The fuzz input as a string view.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// A private scratch folder (in /dev/shm when it exists, so file-based readers cost no disk I/O),
/// created once per fuzzing process and removed at exit.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
    auto d = base / ("gas-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch(), ignored);
    });
    return d;
  }();
  return dir;
}

/// Writes `bytes` to `path` (creating its folder), replacing what was there.
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();  // the harness, not the reader, failed: stop rather than report noise
}

/// Empties a folder of the scratch area (removing files a previous input wrote) and returns it.
inline std::filesystem::path fresh_folder(std::string_view name) {
  const auto dir = scratch() / std::string(name);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  return dir;
}

/// The separator of the files packed into one input for multi-file formats (OGB, GraphSAINT): the seeds and
/// the dictionaries carry it, so the fuzzer keeps the layout while it mutates the files' content.
inline constexpr std::string_view section_separator = "\n=====\n";

/// Splits the input at every section_separator; the last section runs to the end of the input.
inline std::vector<std::string_view> sections(std::string_view text) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = text.find(section_separator);
    if (at == std::string_view::npos) {
      out.push_back(text);
      return out;
    }
    out.push_back(text.substr(0, at));
    text.remove_prefix(at + section_separator.size());
  }
}

}  // namespace gas_fuzz
