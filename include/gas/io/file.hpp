#pragma once
/// @brief Whole-file reads with errors that name the file.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gas/core/error.hpp"

namespace gas::io {

/// @brief Reads a whole file as bytes; throws io_error naming the file when it is missing or unreadable.
inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw io_error(path.string() + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw io_error(path.string() + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path.string() + ": cannot open (" + std::strerror(errno) + ")");
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) throw io_error(path.string() + ": cannot determine file size");
  in.seekg(0, std::ios::beg);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw io_error(path.string() + ": read failed");
  return bytes;
}

/// @brief Throws io_error unless `path` is an existing directory.
inline void require_directory(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw io_error(path.string() + ": no such directory");
  if (!std::filesystem::is_directory(path, ec)) throw io_error(path.string() + ": is not a directory");
}

}  // namespace gas::io
