#pragma once
/// @brief Files replaced whole or not at all: checkpoints, logs' summaries, predictions and plots are written to
/// a temporary file beside the target, flushed to the disk (fsync) and renamed over it, so a crash, a full disk
/// or a Ctrl-C mid-write leaves the previous file intact, never a truncated one.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "gas/core/error.hpp"

namespace gas {

namespace detail {

/// Writes all of `bytes` to `fd`; false on an error (errno says which).
inline bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;  // a signal (Ctrl-C with a handler) interrupted the call
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace detail

/// @brief Replaces `path` by `bytes` atomically: a temporary file in the same folder (so the rename never
/// crosses file systems), fsync, rename, then fsync of the folder so the rename itself survives a power cut.
/// Throws io_error naming the file and the system's reason; the temporary file is removed on failure.
inline void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const std::filesystem::path tmp = dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
  auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw io_error(path.string() + ": " + what + ": " + reason);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create a temporary file beside it");
  const bool written = detail::write_all(fd, bytes) && ::fsync(fd) == 0;
  const int saved = errno;
  if (::close(fd) != 0 || !written) {
    if (!written) errno = saved;
    fail("write failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot replace the file");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);  // best effort: some file systems refuse fsync on a folder
    ::close(dfd);
  }
}

}  // namespace gas
