// SHA-256: the FIPS 180-4 / NIST example vectors, every padding boundary (55, 56, 63, 64 ... bytes; values from
// Python's hashlib), incremental updates split anywhere, and files (a missing one is an io_error naming it).
#include "gas/io/sha256.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "test_util.hpp"

using gas::io::Sha256;
using gas::io::sha256_hex;

namespace {

/// Bytes (31 i + 7) mod 256, i = 0..n-1: no block of them repeats, unlike a constant fill.
std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>((i * 31 + 7) % 256);
  return out;
}

}  // namespace

TEST_CASE("sha256: the FIPS 180-4 example messages") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
                   "nopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: lengths around the padding boundaries") {
  // 55 bytes leave room for the length in the last block, 56 do not: padding then takes a whole extra block.
  const std::vector<std::pair<std::size_t, std::string>> expected{
      {55, "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b"},
      {56, "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63"},
      {63, "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076"},
      {64, "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd"},
      {65, "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0"},
      {119, "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe"},
      {120, "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656"},
      {128, "cc548ca2dec1f6fe4f58b2e27aa9c7521607df1130d140b55a4dad0665302356"}};
  for (const auto& [n, hex] : expected) {
    CAPTURE(n);
    CHECK(sha256_hex(pattern(n)) == hex);
  }
}

TEST_CASE("sha256: updates split at any point give the one-shot digest") {
  const auto data = pattern(300);
  const std::string whole = sha256_hex(data);
  for (std::size_t first = 0; first <= data.size(); first += 7) {
    for (std::size_t second : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65}}) {
      const std::size_t b = std::min(data.size(), first + second);
      Sha256 h;
      h.update(std::span<const std::uint8_t>(data).subspan(0, first));
      h.update(std::span<const std::uint8_t>(data).subspan(first, b - first));
      h.update(std::span<const std::uint8_t>(data).subspan(b));
      CAPTURE(first);
      CAPTURE(second);
      CHECK(Sha256::hex(h.digest()) == whole);
    }
  }
}

TEST_CASE("sha256_file: a file's digest, larger than the read buffer; a missing file names itself") {
  gas_test::TempDir tmp;
  const auto data = pattern((1u << 20) * 2 + 17);  // two whole 1 MiB reads and a tail
  gas_test::write_file(tmp / "blob", std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  CHECK(gas::io::sha256_file(tmp / "blob") == sha256_hex(data));
  gas_test::write_file(tmp / "empty", "");
  CHECK(gas::io::sha256_file(tmp / "empty") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  try {
    (void)gas::io::sha256_file(tmp / "absent");
    FAIL("no error for a missing file");
  } catch (const gas::io_error& e) {
    CHECK(std::string(e.what()).find("absent") != std::string::npos);
  }
}

TEST_CASE("sha256_file: Cora's Planetoid features as kimiyoung/planetoid publishes them" *
          doctest::skip(gas_test::missing("planetoid/cora"))) {
  // The digest gas-fetch records for this file (examples/gas_fetch/registry.hpp), as sha256sum prints it.
  CHECK(gas::io::sha256_file(gas_test::data_dir() / "planetoid/cora/ind.cora.x") ==
        "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab");
}
