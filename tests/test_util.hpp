#pragma once
// Shared helpers for the test programs: where the real datasets are, and scratch directories.

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace gas_test {

/// Folder with the real datasets (GAS_DATA_DIR, set by meson to ../shared/data).
inline std::filesystem::path data_dir() {
  const char* dir = std::getenv("GAS_DATA_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::path("../shared/data");
}

/// True (and says so once on stderr) when `relative` is missing under the data folder; use as
/// `TEST_CASE("..." * doctest::skip(gas_test::missing("planetoid/cora")))`.
inline bool missing(std::string_view relative) {
  const auto path = data_dir() / relative;
  if (std::filesystem::exists(path)) return false;
  std::fprintf(stderr, "note: %s is absent; tests that need it are skipped\n", path.string().c_str());
  return true;
}

/// A committed fixture under tests/data. The build passes the folder's absolute path (GAS_TEST_FIXTURES, set by
/// tests/meson.build), so the tests find it from any build folder and any working directory.
inline std::filesystem::path fixture_path(std::string_view name) {
#ifdef GAS_TEST_FIXTURES
  return std::filesystem::path(GAS_TEST_FIXTURES) / name;
#else
  const char* root = std::getenv("GAS_SOURCE_DIR");
  return std::filesystem::path(root != nullptr ? root : ".") / "tests" / "data" / name;
#endif
}

/// A fresh scratch directory, removed with everything in it when the object dies.
class TempDir {
public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("gas-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

/// Writes bytes to a file, creating parent folders.
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void write_file(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  write_file(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

/// Requires that f() throws E (not another error) whose message contains `expect`; reports the message if not.
template <class E, class F>
void require_throws_with(F&& f, std::string_view expect) {
  try {
    f();
  } catch (const E& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    CHECK(what.find(expect) != std::string::npos);
    return;
  }
  FAIL("no " << typeid(E).name() << " thrown; expected one saying '" << expect << "'");
}

}  // namespace gas_test
