#pragma once
/// @brief SHA-256 (FIPS 180-4) of bytes and of files, for checking downloads against published checksums.
///
/// Written here rather than taken from OpenSSL's libcrypto: one hash over a few files does not justify a new
/// link dependency for every user of the library, and the algorithm is short and fixed by the standard (the
/// FIPS 180-4 / NIST example vectors are in tests/io/sha256_test.cpp).

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gas/core/error.hpp"

namespace gas::io {

/// @brief Incremental SHA-256: `update` with any number of byte ranges, then `digest` once.
class Sha256 {
public:
  /// @brief The 32-byte digest.
  using Digest = std::array<std::uint8_t, 32>;

  /// @brief Hashes `data` after everything given before.
  void update(std::span<const std::uint8_t> data) {
    length_ += data.size();
    std::size_t at = 0;
    if (fill_ > 0) {
      const std::size_t take = std::min(data.size(), block_.size() - fill_);
      std::memcpy(block_.data() + fill_, data.data(), take);
      fill_ += take;
      at = take;
      if (fill_ < block_.size()) return;
      compress(block_.data());
      fill_ = 0;
    }
    for (; data.size() - at >= 64; at += 64) compress(data.data() + at);
    fill_ = data.size() - at;
    if (fill_ > 0) std::memcpy(block_.data(), data.data() + at, fill_);
  }
  /// @brief Hashes the bytes of `text`.
  void update(std::string_view text) {
    update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }

  /// @brief Pads the message (FIPS 180-4 5.1.1) and returns the digest; the object is spent afterwards.
  [[nodiscard]] Digest digest() {
    const std::uint64_t bits = length_ * 8;
    std::uint8_t pad[72] = {0x80};
    // One 0x80 byte, zeros up to 56 mod 64, then the 64-bit big-endian message length in bits.
    const std::size_t zeros = (fill_ < 56 ? 56 - fill_ : 120 - fill_) - 1;
    for (std::size_t i = 0; i < 8; ++i) pad[1 + zeros + i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
    update(std::span<const std::uint8_t>(pad, 1 + zeros + 8));
    Digest out{};
    for (std::size_t i = 0; i < 8; ++i)
      for (std::size_t k = 0; k < 4; ++k) out[4 * i + k] = static_cast<std::uint8_t>(h_[i] >> (24 - 8 * k));
    return out;
  }

  /// @brief A digest as 64 lowercase hexadecimal digits, the form `sha256sum` prints.
  [[nodiscard]] static std::string hex(const Digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(64, '0');
    for (std::size_t i = 0; i < d.size(); ++i) {
      s[2 * i] = digits[d[i] >> 4];
      s[2 * i + 1] = digits[d[i] & 0xF];
    }
    return s;
  }

private:
  static constexpr std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  /// @brief One 64-byte block through the compression function (FIPS 180-4 6.2.2).
  void compress(const std::uint8_t* p) {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t w[64];
    for (int t = 0; t < 16; ++t)
      w[t] = static_cast<std::uint32_t>(p[4 * t]) << 24 | static_cast<std::uint32_t>(p[4 * t + 1]) << 16 |
             static_cast<std::uint32_t>(p[4 * t + 2]) << 8 | static_cast<std::uint32_t>(p[4 * t + 3]);
    for (int t = 16; t < 64; ++t) {
      const std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      const std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int t = 0; t < 64; ++t) {
      const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[t] + w[t];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
    h_[5] += f;
    h_[6] += g;
    h_[7] += h;
  }

  std::array<std::uint32_t, 8> h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<std::uint8_t, 64> block_{};
  std::size_t fill_ = 0;       // bytes waiting in block_
  std::uint64_t length_ = 0;   // message bytes so far
};

/// @brief SHA-256 of `data` as 64 lowercase hex digits.
inline std::string sha256_hex(std::span<const std::uint8_t> data) {
  Sha256 h;
  h.update(data);
  return Sha256::hex(h.digest());
}

/// @brief SHA-256 of `text` as 64 lowercase hex digits.
inline std::string sha256_hex(std::string_view text) {
  Sha256 h;
  h.update(text);
  return Sha256::hex(h.digest());
}

/// @brief SHA-256 of a file's bytes as 64 lowercase hex digits, read in 1 MiB pieces (files larger than memory
/// are fine); io_error naming the file when it is missing or unreadable.
inline std::string sha256_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw io_error(path.string() + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path.string() + ": cannot open (" + std::strerror(errno) + ")");
  Sha256 h;
  std::vector<char> buffer(1u << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = in.gcount();
    if (got > 0) h.update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(buffer.data()),
                                                        static_cast<std::size_t>(got)));
  }
  if (in.bad()) throw io_error(path.string() + ": read failed");
  return Sha256::hex(h.digest());
}

}  // namespace gas::io
