#pragma once
// Test-only helpers shared by the reader tests: compressed fixtures (gzip through zlib, xz through liblzma),
// reading a file back, and CHECK_THROWS_NAMING, the check that a reader throws exactly the promised error type
// with a message naming the file (and whatever else the test asks for).

#include <cxxabi.h>
#include <doctest/doctest.h>
#include <lzma.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>

namespace gas_test {

/// Writes `text` as a gzip file through zlib's own writer, as `gzip` would, creating parent folders.
inline void write_gz(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::create_directories(path.parent_path());
  gzFile out = gzopen(path.string().c_str(), "wb");
  REQUIRE(out != nullptr);
  if (!text.empty()) REQUIRE(gzwrite(out, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  REQUIRE(gzclose(out) == Z_OK);
}

/// `text` compressed to the .xz format with liblzma's easy encoder.
inline std::string xz_bytes(std::string_view text) {
  std::string out(lzma_stream_buffer_bound(text.size()), '\0');
  std::size_t pos = 0;
  REQUIRE(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const std::uint8_t*>(text.data()),
                                  text.size(), reinterpret_cast<std::uint8_t*>(out.data()), &pos, out.size()) == LZMA_OK);
  out.resize(pos);
  return out;
}

/// The whole content of a file, as bytes in a string (for cutting or corrupting a compressed fixture).
inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The readable (demangled) name of a type, for failure messages.
inline std::string type_name(const std::type_info& type) {
  int status = -1;
  const std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                    std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

/// Runs `f`, which must throw exactly `Error` (not a subclass: a format_error where an io_error is promised
/// fails) whose message contains every needle; records a failure at (file, line) otherwise. Returns the message
/// (empty when nothing or the wrong type was thrown), for tests that check more of it. Used through
/// CHECK_THROWS_NAMING.
template <class Error, class F>
std::string check_throws_naming(F&& f, std::initializer_list<std::string_view> needles, const char* expr,
                                const char* file, int line) {
  try {
    f();
  } catch (const std::exception& e) {
    const std::string message = e.what();
    if (typeid(e) != typeid(Error)) {
      ADD_FAIL_CHECK_AT(file, line, std::string(expr) << ": threw " << type_name(typeid(e)) << ", not "
                                                      << type_name(typeid(Error)) << ": " << message);
      return {};
    }
    bool ok = true;
    for (auto needle : needles)
      if (message.find(needle) == std::string::npos) {
        ok = false;
        ADD_FAIL_CHECK_AT(file, line,
                          std::string(expr) << ": message \"" << message << "\" does not contain \"" << needle << "\"");
      }
    if (ok) CHECK_UNARY(ok);  // counts the passing check in doctest's tally
    return message;
  } catch (...) {
    ADD_FAIL_CHECK_AT(file, line, std::string(expr) << ": threw something that is not a std::exception");
    return {};
  }
  ADD_FAIL_CHECK_AT(file, line, std::string(expr) << ": threw nothing");
  return {};
}

}  // namespace gas_test

/// CHECK that `expr` throws exactly `Kind` with a message containing each of the following strings; evaluates
/// to the message.
#define CHECK_THROWS_NAMING(Kind, expr, ...) \
  ::gas_test::check_throws_naming<Kind>([&] { (void)(expr); }, {__VA_ARGS__}, #expr, __FILE__, __LINE__)
