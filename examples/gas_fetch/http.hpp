#pragma once
// HTTP(S) downloads with libcurl's easy API, resumable: a file is fetched into NAME.part, and a later call
// continues a non-empty .part with a Range request. Redirects are followed (GitHub's raw URLs redirect), HTTP
// errors are errors naming the URL and the status, a stalled or unreachable server times out, and a progress
// line goes to stderr when it is a terminal.

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <gas/core/error.hpp>

namespace gas_fetch {

/// libcurl's process-wide setup, once, before any handle exists (curl_global_init is not thread-safe).
class CurlGlobal {
public:
  CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw gas::io_error("libcurl: curl_global_init failed");
  }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

/// "libcurl 7.88.1 (OpenSSL/3.0.11)", for --help.
inline std::string curl_version_text() {
  const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  return std::string("libcurl ") + v->version + (v->ssl_version ? std::string(" (") + v->ssl_version + ")" : "");
}

namespace detail {

/// The state of one transfer, shared with libcurl's callbacks.
struct Transfer {
  CURL* curl = nullptr;
  std::filesystem::path part;
  std::FILE* out = nullptr;
  std::uint64_t offset = 0;   // bytes of `part` the server was asked to skip
  std::uint64_t written = 0;  // bytes written in this transfer
  bool started = false;       // the first body bytes were seen and the status checked
  bool restarted = false;     // the server ignored the Range request: `part` was emptied
  long status = 0;
  std::string reason;         // the status line's reason phrase (HTTP/1.x)
  std::string content_range;  // of the final response
  std::string error;          // why a callback stopped the transfer
  bool progress = false;
  bool printed = false;  // a progress line is on the terminal
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  std::string label;
};

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

/// True when header `line` starts with `name` (lowercase, with its colon) in any letter case, as HTTP allows.
inline bool has_name(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = line[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != name[i]) return false;
  }
  return true;
}

/// Keeps the reason phrase and Content-Range of the last response (a redirect's headers come first).
inline std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    t.content_range.clear();
    t.reason.clear();
    // "HTTP/1.1 206 Partial Content": the reason follows the second space (absent in HTTP/2).
    const auto code = line.find(' ');
    const auto reason = code == std::string_view::npos ? code : line.find(' ', code + 1);
    if (reason != std::string_view::npos) t.reason = std::string(trim(line.substr(reason + 1)));
  } else if (has_name(line, "content-range:")) {
    t.content_range = std::string(trim(line.substr(14)));
  }
  return size * count;
}

/// First byte position of "bytes S-E/T", or -1.
inline long long range_start(std::string_view content_range) {
  if (!content_range.starts_with("bytes ")) return -1;
  long long v = 0;
  bool digits = false;
  for (char c : content_range.substr(6)) {
    if (c < '0' || c > '9') break;
    v = v * 10 + (c - '0');
    digits = true;
  }
  return digits ? v : -1;
}

inline std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (!t.started) {
    t.started = true;
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
    if (t.status >= 400) return n;  // an error page: reported after the transfer, never stored
    if (t.offset > 0 && t.status == 206 && range_start(t.content_range) != static_cast<long long>(t.offset)) {
      t.error = "the server resumed at '" + t.content_range + "', not at byte " + std::to_string(t.offset);
      return 0;
    }
    if (t.offset > 0 && t.status != 206) {
      // The server ignored the Range request and sends the whole file: start `part` again.
      t.out = std::freopen(t.part.string().c_str(), "wb", t.out);
      if (t.out == nullptr) {
        t.error = t.part.string() + ": cannot reopen for writing";
        return 0;
      }
      t.offset = 0;
      t.restarted = true;
    }
  }
  if (t.status >= 400) return n;
  if (std::fwrite(data, 1, n, t.out) != n) {
    t.error = t.part.string() + ": write failed (disk full?)";
    return 0;
  }
  t.written += n;
  return n;
}

/// "\rNAME: 12.3 / 80.2 MiB ( 15%)", from where the resumed file started.
inline void print_progress(const Transfer& t, curl_off_t total, curl_off_t now) {
  const double mib = 1048576.0, done = static_cast<double>(t.offset) + static_cast<double>(now);
  if (total > 0) {
    const double all = static_cast<double>(t.offset) + static_cast<double>(total);
    std::fprintf(stderr, "\r%s: %.1f / %.1f MiB (%3.0f%%) ", t.label.c_str(), done / mib, all / mib, 100 * done / all);
  } else {
    std::fprintf(stderr, "\r%s: %.1f MiB ", t.label.c_str(), done / mib);
  }
}

/// Four lines a second at most; a transfer shorter than a quarter second prints none.
inline int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  const auto time = std::chrono::steady_clock::now();
  if (time - t.last_progress < std::chrono::milliseconds(250)) return 0;
  t.last_progress = time;
  t.printed = true;
  print_progress(t, total, now);
  return 0;
}

}  // namespace detail

/// Downloads `url` into `part` (see Download in fetch.hpp): continues a non-empty `part` from its end, starts
/// over when the server ignores the Range, and treats a `part` of exactly `expected_size` bytes as complete.
inline void curl_download(const std::string& url, const std::filesystem::path& part, std::uint64_t expected_size) {
  std::error_code ec;
  std::uint64_t offset = std::filesystem::exists(part, ec) ? std::filesystem::file_size(part, ec) : 0;
  if (ec) offset = 0;
  if (expected_size != 0 && offset == expected_size) return;
  if (expected_size != 0 && offset > expected_size) offset = 0;  // not a prefix of the file: start over

  for (int attempt = 0; attempt < 2; ++attempt) {
    detail::Transfer t;
    t.part = part;
    t.offset = offset;
    t.label = part.filename().string();
    if (t.label.ends_with(".part")) t.label.resize(t.label.size() - 5);
    t.progress = isatty(STDERR_FILENO) != 0;
    t.out = std::fopen(part.string().c_str(), offset > 0 ? "ab" : "wb");
    if (t.out == nullptr) throw gas::io_error(part.string() + ": cannot open for writing");
    struct Handle {
      CURL* h = curl_easy_init();
      ~Handle() { curl_easy_cleanup(h); }
    } handle;
    if (handle.h == nullptr) {
      std::fclose(t.out);
      throw gas::io_error("libcurl: curl_easy_init failed");
    }
    CURL* h = t.curl = handle.h;
    char errbuf[CURL_ERROR_SIZE] = {};
    const std::string range = std::to_string(offset) + "-";
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    // A transfer that moves under 1 KiB/s for a minute has stalled; the partial file stays for a resume.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "gas-fetch");
    // CURLOPT_RANGE rather than CURLOPT_RESUME_FROM: the latter fails outright when a server answers 200.
    if (offset > 0) curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, detail::on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, detail::on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    if (t.progress) {
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, detail::on_progress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (offset > 0)
      std::fprintf(stderr, "%s: resuming at byte %llu\n", url.c_str(), static_cast<unsigned long long>(offset));

    const CURLcode rc = curl_easy_perform(h);
    if (t.printed) {
      curl_off_t total = 0, now = 0;
      curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
      curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &now);
      detail::print_progress(t, total, now);
      std::fputc('\n', stderr);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    const bool closed = t.out != nullptr && std::fclose(t.out) == 0;
    if (t.restarted)
      std::fprintf(stderr, "%s: the server cannot resume (it ignored the byte range): fetched from the start\n",
                   url.c_str());

    if (status == 416 && offset > 0) {
      // The range starts at or past the end: either `part` is already whole ("bytes */SIZE" says how long the
      // file is) or it is not a prefix of this file; then start over, once.
      const std::string& cr = t.content_range;
      const auto slash = cr.find('/');
      if (slash != std::string::npos && cr.substr(slash + 1) == std::to_string(offset)) return;
      std::filesystem::remove(part, ec);
      offset = 0;
      continue;
    }
    if (status >= 400) {
      // Nothing of an error page is written: a .part this call created is empty and goes; an older one stays.
      if (offset == 0) std::filesystem::remove(part, ec);
      throw gas::io_error(url + ": HTTP status " + std::to_string(status) + (t.reason.empty() ? "" : " (" + t.reason + ")"));
    }
    if (rc != CURLE_OK) {
      const std::string why = !t.error.empty() ? t.error : errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
      const std::uint64_t have = t.offset + t.written;
      if (have == 0) std::filesystem::remove(part, ec);
      throw gas::io_error(url + ": " + why +
                          (have > 0 ? " (after " + std::to_string(have) + " bytes; the partial download is kept in " +
                                          part.string() + ": run gas-fetch again to resume it)"
                                    : ""));
    }
    if (!closed) throw gas::io_error(part.string() + ": write failed (disk full?)");
    return;
  }
  throw gas::io_error(url + ": the server refuses every byte range (HTTP 416)");
}

}  // namespace gas_fetch
