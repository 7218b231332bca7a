#pragma once
/// @brief Streaming text input for the graph readers: plain, gzip and xz files, a fast line reader and
/// number parsing that names the file and line of a bad token.
///
/// Public datasets ship as `.gz` (OGB) or `.xz` (road graphs) text of tens of millions of lines, so the
/// readers never hold a whole decompressed file: bytes are decoded chunk by chunk into one reusable
/// buffer and each line is a `std::string_view` into it (no allocation per line).

#include <zlib.h>
#include <lzma.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/io/limits.hpp"

namespace gas::io {

/// @brief The encodings `ByteStream` decodes.
enum class Compression { none, gzip, xz };

/// @brief Lower-case name of a compression ("none", "gzip", "xz") for messages.
[[nodiscard]] constexpr std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::gzip: return "gzip";
    case Compression::xz: return "xz";
    default: return "none";
  }
}

/// @brief The compression announced by a file's first bytes (gzip: 1f 8b; xz: fd '7zXZ' 00); none otherwise.
[[nodiscard]] inline Compression detect_compression(std::string_view head) {
  constexpr std::string_view xz_magic("\xFD\x37\x7A\x58\x5A\x00", 6);
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1F && static_cast<unsigned char>(head[1]) == 0x8B)
    return Compression::gzip;
  if (head.starts_with(xz_magic)) return Compression::xz;
  return Compression::none;
}

namespace detail {

/// @brief Owns the FILE* and whichever decoder the magic bytes chose.
/// Lives behind a unique_ptr because zlib's state points back at its z_stream, so the stream must not move.
class ByteStreamImpl {
public:
  static constexpr std::size_t input_chunk = std::size_t{1} << 18;

  explicit ByteStreamImpl(const std::filesystem::path& path) : path_(path), source_(path.string()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw io_error(source_ + ": no such file");
    if (std::filesystem::is_directory(path, ec)) throw io_error(source_ + ": is a directory, expected a file");
    file_.reset(std::fopen(source_.c_str(), "rb"));
    if (!file_) throw io_error(source_ + ": cannot open (" + std::strerror(errno) + ")");
    input_.resize(input_chunk);
    refill();
    compression_ = detect_compression(std::string_view(input_.data(), in_end_));
    check_extension();
    if (compression_ == Compression::gzip) {
      zs_.next_in = reinterpret_cast<Bytef*>(input_.data());
      zs_.avail_in = static_cast<uInt>(in_end_);
      // 16 + MAX_WBITS: expect a gzip wrapper (header and CRC trailer), not a raw zlib stream.
      if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) throw io_error(source_ + ": cannot initialize the gzip decoder");
      zlib_live_ = true;
    } else if (compression_ == Compression::xz) {
      // Concatenated streams are legal .xz (as from `cat a.xz b.xz`). The memory limit bounds the dictionary
      // a stream's header may ask for (up to 4 GiB, allocated before a byte is decoded).
      if (lzma_stream_decoder(&xs_, read_limits().max_xz_memory, LZMA_CONCATENATED) != LZMA_OK)
        throw io_error(source_ + ": cannot initialize the xz decoder");
      lzma_live_ = true;
      xs_.next_in = reinterpret_cast<const std::uint8_t*>(input_.data());
      xs_.avail_in = in_end_;
    }
  }

  ~ByteStreamImpl() {
    if (zlib_live_) inflateEnd(&zs_);
    if (lzma_live_) lzma_end(&xs_);
  }
  ByteStreamImpl(const ByteStreamImpl&) = delete;
  ByteStreamImpl& operator=(const ByteStreamImpl&) = delete;

  std::size_t read(char* out, std::size_t n) {
    if (n == 0 || finished_) return 0;
    switch (compression_) {
      case Compression::gzip: return read_gzip(out, n);
      case Compression::xz: return read_xz(out, n);
      default: return read_plain(out, n);
    }
  }

  [[nodiscard]] Compression compression() const { return compression_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] const std::string& source() const { return source_; }

private:
  // Reads the next raw chunk into input_; sets raw_eof_ at the end of the file.
  void refill() {
    in_begin_ = 0;
    in_end_ = 0;
    if (raw_eof_) return;
    while (in_end_ < input_.size()) {
      const auto got = std::fread(input_.data() + in_end_, 1, input_.size() - in_end_, file_.get());
      in_end_ += got;
      if (got == 0) {
        if (std::ferror(file_.get())) throw io_error(source_ + ": read failed (" + std::strerror(errno) + ")");
        raw_eof_ = true;
        break;
      }
    }
  }

  // The extension is a promise: a `.gz` file that is not gzip (e.g. truncated to nothing) is an error,
  // not plain text. A file whose magic says compressed is decoded whatever its name.
  void check_extension() {
    const auto ext = path_.extension().string();
    const auto expected = ext == ".gz" ? Compression::gzip : ext == ".xz" ? Compression::xz : Compression::none;
    if (expected != Compression::none && compression_ != expected)
      throw io_error(source_ + ": named " + ext + " but does not start with the " + std::string(to_string(expected)) +
                     " magic bytes" + (in_end_ == 0 ? " (the file is empty)" : " (truncated or not compressed)"));
  }

  std::size_t read_plain(char* out, std::size_t n) {
    std::size_t done = 0;
    if (in_begin_ < in_end_) {  // the chunk read to detect the magic bytes
      done = std::min(n, in_end_ - in_begin_);
      std::memcpy(out, input_.data() + in_begin_, done);
      in_begin_ += done;
    }
    while (done < n && !raw_eof_) {
      const auto got = std::fread(out + done, 1, n - done, file_.get());
      done += got;
      if (got == 0) {
        if (std::ferror(file_.get())) throw io_error(source_ + ": read failed (" + std::strerror(errno) + ")");
        raw_eof_ = true;
      }
    }
    if (done == 0) finished_ = true;
    return done;
  }

  std::size_t read_gzip(char* out, std::size_t n) {
    // zlib counts in uInt; a chunk larger than that is simply served in several calls.
    const auto want = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    zs_.next_out = reinterpret_cast<Bytef*>(out);
    zs_.avail_out = want;
    while (zs_.avail_out > 0) {
      if (zs_.avail_in == 0 && !raw_eof_) {
        refill();
        zs_.next_in = reinterpret_cast<Bytef*>(input_.data());
        zs_.avail_in = static_cast<uInt>(in_end_);
      }
      if (zs_.avail_in == 0) {  // raw_eof_ holds here
        if (member_done_) {
          finished_ = true;
          break;
        }
        throw io_error(source_ + ": truncated gzip data (the file ends inside a compressed member)");
      }
      if (member_done_) {  // more bytes after a member: the next member of a concatenated gzip file
        if (inflateReset(&zs_) != Z_OK) throw io_error(source_ + ": cannot reset the gzip decoder");
        member_done_ = false;
      }
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc == Z_BUF_ERROR) {
        // No progress was possible: only legitimate when inflate needs more input than it has.
        if (zs_.avail_in != 0) throw io_error(source_ + ": corrupt gzip data (decoder made no progress)");
      } else if (rc != Z_OK) {
        throw io_error(source_ + ": corrupt gzip data (" + (zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc)) +
                       ")");
      }
    }
    return want - zs_.avail_out;
  }

  std::size_t read_xz(char* out, std::size_t n) {
    xs_.next_out = reinterpret_cast<std::uint8_t*>(out);
    xs_.avail_out = n;
    while (xs_.avail_out > 0) {
      if (xs_.avail_in == 0 && !raw_eof_) {
        refill();
        xs_.next_in = reinterpret_cast<const std::uint8_t*>(input_.data());
        xs_.avail_in = in_end_;
      }
      // With LZMA_CONCATENATED the decoder only knows the input is over when told LZMA_FINISH.
      const lzma_action action = (xs_.avail_in == 0 && raw_eof_) ? LZMA_FINISH : LZMA_RUN;
      const lzma_ret rc = lzma_code(&xs_, action);
      if (rc == LZMA_STREAM_END) {  // liblzma must not be called again after this
        finished_ = true;
        break;
      }
      if (rc == LZMA_OK) continue;
      if (rc == LZMA_BUF_ERROR) throw io_error(source_ + ": truncated xz data (the file ends inside the stream)");
      if (rc == LZMA_MEMLIMIT_ERROR)
        throw format_error(source_ + ": the xz stream needs " + std::to_string(lzma_memusage(&xs_)) +
                           " bytes of decoder memory, more than the limit" +
                           limit_hint("max_xz_memory", read_limits().max_xz_memory));
      throw io_error(source_ + ": corrupt xz data (" + describe(rc) + ")");
    }
    return n - xs_.avail_out;
  }

  static std::string describe(lzma_ret rc) {
    switch (rc) {
      case LZMA_MEM_ERROR: return "out of memory";
      case LZMA_FORMAT_ERROR: return "not in the .xz format";
      case LZMA_OPTIONS_ERROR: return "unsupported compression options";
      case LZMA_DATA_ERROR: return "compressed data is corrupt";
      case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
      default: return "liblzma error " + std::to_string(static_cast<int>(rc));
    }
  }

  std::filesystem::path path_;
  std::string source_;
  // Owned by a member so that a constructor that throws after opening still closes the file.
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::vector<char> input_;
  std::size_t in_begin_ = 0, in_end_ = 0;
  bool raw_eof_ = false;
  bool finished_ = false;
  Compression compression_ = Compression::none;
  z_stream zs_{};
  bool zlib_live_ = false;
  bool member_done_ = false;
  lzma_stream xs_ = LZMA_STREAM_INIT;
  bool lzma_live_ = false;
};

}  // namespace detail

/// @brief Decoded bytes of a plain, gzip (multi-member) or xz file, chosen by its magic bytes.
///
/// Errors are `io_error`s that name the file: missing, unreadable, truncated or corrupt compressed data,
/// and a `.gz`/`.xz` name whose content does not carry that format's magic bytes.
class ByteStream {
public:
  /// @brief Opens `path` and detects its compression from the first bytes.
  explicit ByteStream(const std::filesystem::path& path) : impl_(std::make_unique<detail::ByteStreamImpl>(path)) {}

  /// @brief Decodes up to `n` bytes into `out`; returns how many, 0 only at the end of the data.
  std::size_t read(char* out, std::size_t n) { return impl_->read(out, n); }

  /// @brief The encoding the magic bytes announced.
  [[nodiscard]] Compression compression() const { return impl_->compression(); }
  /// @brief The file being read.
  [[nodiscard]] const std::filesystem::path& path() const { return impl_->path(); }
  /// @brief The file name as it appears in error messages.
  [[nodiscard]] const std::string& source() const { return impl_->source(); }

private:
  std::unique_ptr<detail::ByteStreamImpl> impl_;
};

/// @brief Lines of a (possibly compressed) text file as views into one reusable buffer.
///
/// Lines end at '\n'; a trailing '\r' is dropped, and a last line without a newline is still a line.
/// A view stays valid until the next call to `next`. Usage:
/// `for (std::string_view line; reader.next(line);) ...`.
class LineReader {
public:
  /// @brief Default size of a decode chunk: large enough that memchr and the decoder dominate, not calls.
  static constexpr std::size_t default_chunk = std::size_t{1} << 20;

  /// @brief Opens `path`; `chunk_bytes` is the decode granularity (the buffer grows for longer lines).
  explicit LineReader(const std::filesystem::path& path, std::size_t chunk_bytes = default_chunk)
      : stream_(path), buffer_(std::max<std::size_t>(chunk_bytes, 1)) {}

  /// @brief Moves to the next line; returns false at the end of the file.
  bool next(std::string_view& line) {
    for (;;) {
      const char* begin = buffer_.data() + begin_;
      if (const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', end_ - begin_))) {
        auto length = static_cast<std::size_t>(nl - begin);
        begin_ += length + 1;
        if (length > 0 && begin[length - 1] == '\r') --length;
        line = std::string_view(begin, length);
        ++line_;
        return true;
      }
      if (eof_) {
        if (begin_ == end_) return false;
        auto length = end_ - begin_;
        begin_ = end_;
        if (begin[length - 1] == '\r') --length;
        line = std::string_view(begin, length);
        ++line_;
        return true;
      }
      fill();
    }
  }

  /// @brief 1-based number of the line `next` returned last (0 before the first).
  [[nodiscard]] std::int64_t line_number() const { return line_; }
  /// @brief The file name as it appears in error messages.
  [[nodiscard]] const std::string& source() const { return stream_.source(); }
  /// @brief The file being read.
  [[nodiscard]] const std::filesystem::path& path() const { return stream_.path(); }
  /// @brief The encoding of the file.
  [[nodiscard]] Compression compression() const { return stream_.compression(); }
  /// @brief "file:line", the prefix of every message about the current line.
  [[nodiscard]] std::string where() const { return source() + ":" + std::to_string(line_); }

  /// @brief Throws format_error "file:line: problem" about the current line.
  [[noreturn]] void fail(std::string_view problem) const {
    throw format_error(where() + ": " + std::string(problem));
  }

private:
  // Keeps the unfinished line, moved to the front, and decodes more bytes after it.
  void fill() {
    const auto carry = end_ - begin_;
    if (begin_ > 0 && carry > 0) std::memmove(buffer_.data(), buffer_.data() + begin_, carry);
    begin_ = 0;
    end_ = carry;
    if (end_ == buffer_.size()) {  // a line longer than the buffer
      // Bounded, since a few bytes of gzip or xz can decode to a "line" of gigabytes.
      const auto limit = read_limits().max_line_bytes;
      if (buffer_.size() >= limit)
        throw format_error(source() + ":" + std::to_string(line_ + 1) + ": line longer than " + std::to_string(limit) +
                           " bytes" + detail::limit_hint("max_line_bytes", limit));
      buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size() * 2, limit)));
    }
    const auto got = stream_.read(buffer_.data() + end_, buffer_.size() - end_);
    if (got == 0) eof_ = true;
    end_ += got;
  }

  ByteStream stream_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::int64_t line_ = 0;
};

/// @brief Splits a line into fields: on runs of blanks (delimiter ' '), or on one delimiter character
/// (e.g. ',') with blanks around each field trimmed.
class Fields {
public:
  /// @brief Fields of `line` separated by `delimiter` (' ' means any run of spaces and tabs).
  explicit Fields(std::string_view line, char delimiter = ' ') : rest_(line), delimiter_(delimiter) {}

  /// @brief Moves to the next field; returns false when the line has no more.
  /// With a delimiter, "a,,b" has an empty middle field and "a," an empty last one.
  bool next(std::string_view& field) {
    if (delimiter_ == ' ') {
      skip_blanks();
      if (rest_.empty()) return false;
      std::size_t i = 0;
      while (i < rest_.size() && !is_blank(rest_[i])) ++i;
      field = rest_.substr(0, i);
      rest_.remove_prefix(i);
      return true;
    }
    if (done_) return false;
    const auto at = rest_.find(delimiter_);
    if (at == std::string_view::npos) {
      field = trim(rest_);
      done_ = true;
    } else {
      field = trim(rest_.substr(0, at));
      rest_.remove_prefix(at + 1);
    }
    return true;
  }

  /// @brief True when only blanks remain (with a delimiter: when every field has been taken).
  [[nodiscard]] bool at_end() {
    if (delimiter_ != ' ') return done_;
    skip_blanks();
    return rest_.empty();
  }

  /// @brief Whitespace inside a line: space, tab, and the rare vertical tab, form feed and carriage return.
  [[nodiscard]] static constexpr bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
  }
  /// @brief `s` without leading and trailing blanks.
  [[nodiscard]] static constexpr std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
  }

private:
  void skip_blanks() {
    std::size_t i = 0;
    while (i < rest_.size() && is_blank(rest_[i])) ++i;
    rest_.remove_prefix(i);
  }

  std::string_view rest_;
  char delimiter_;
  bool done_ = false;
};

/// @brief Parses a whole token as an integer (an optional leading '+' allowed); false on anything else,
/// including overflow of T.
template <std::integral T>
[[nodiscard]] bool try_parse(std::string_view token, T& out) noexcept {
  if (token.size() > 1 && token[0] == '+' && token[1] != '-') token.remove_prefix(1);
  const auto* end = token.data() + token.size();
  const auto [ptr, ec] = std::from_chars(token.data(), end, out);
  return ec == std::errc() && ptr == end && !token.empty();
}

/// @brief Parses a whole token as a floating-point number; "nan" and "inf" parse (check `std::isfinite`).
/// False on anything else, including a finite decimal outside T's range.
template <std::floating_point T>
[[nodiscard]] bool try_parse(std::string_view token, T& out) noexcept {
  if (token.size() > 1 && token[0] == '+' && token[1] != '-') token.remove_prefix(1);
  const auto* end = token.data() + token.size();
  const auto [ptr, ec] = std::from_chars(token.data(), end, out, std::chars_format::general);
  return ec == std::errc() && ptr == end && !token.empty();
}

namespace detail {

[[noreturn]] inline void bad_token(const LineReader& at, std::string_view token, std::string_view what,
                            std::string_view expected) {
  at.fail("bad " + std::string(what) + " '" + std::string(token.substr(0, 64)) + (token.size() > 64 ? "..." : "") +
          "' (expected " + std::string(expected) + ")");
}

}  // namespace detail

/// @brief Parses `token` of the reader's current line as an integer of type T; format_error
/// "file:line: bad <what> '<token>'" otherwise.
template <std::integral T>
[[nodiscard]] T parse_int(const LineReader& at, std::string_view token, std::string_view what) {
  T value{};
  if (!try_parse(token, value)) [[unlikely]]
    detail::bad_token(at, token, what, token.empty() ? "a number, found nothing" : "an integer in range");
  return value;
}

/// @brief Parses `token` as a floating-point number, which may be NaN or infinite (the caller decides).
template <std::floating_point T>
[[nodiscard]] T parse_float(const LineReader& at, std::string_view token, std::string_view what) {
  T value{};
  if (!try_parse(token, value)) [[unlikely]]
    detail::bad_token(at, token, what, token.empty() ? "a number, found nothing" : "a number in range");
  return value;
}

/// @brief Parses `token` as a finite floating-point number; NaN and infinity are format_errors too.
template <std::floating_point T>
[[nodiscard]] T parse_finite(const LineReader& at, std::string_view token, std::string_view what) {
  const T value = parse_float<T>(at, token, what);
  if (!std::isfinite(value)) [[unlikely]]
    detail::bad_token(at, token, what, "a finite number");
  return value;
}

/// @brief How many elements a reader may reserve for a count that a text file announces (a header's edge
/// count, a count file): `announced`, capped by what the file's bytes can hold as lines of at least
/// `min_line_bytes` (a compressed file's bytes counted at DEFLATE's best ratio, 1032:1) and by 2^26. A
/// reservation is only a hint, so a count that lies costs no memory; the reader still checks it at the end.
[[nodiscard]] inline std::size_t plausible_count(const LineReader& reader, std::int64_t announced,
                                                 std::size_t min_line_bytes) {
  if (announced <= 0) return 0;
  std::error_code ec;
  const std::uint64_t raw = std::filesystem::file_size(reader.path(), ec);
  if (ec) return 0;
  const std::uint64_t bytes = reader.compression() == Compression::none ? raw : raw * 1032;
  const std::uint64_t lines = bytes / std::max<std::size_t>(min_line_bytes, 1) + 1;
  return static_cast<std::size_t>(
      std::min({static_cast<std::uint64_t>(announced), lines, std::uint64_t{1} << 26}));
}

/// @brief A file's name without its compression suffixes and its format extension ("NE.gr.xz" -> "NE").
[[nodiscard]] inline std::string dataset_stem(const std::filesystem::path& path) {
  auto name = path.filename();
  while (name.extension() == ".gz" || name.extension() == ".xz") name = name.stem();
  return name.stem().string();
}

}  // namespace gas::io
