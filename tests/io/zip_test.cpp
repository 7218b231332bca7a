// Zip reading: stored and DEFLATE entries, ZIP64 records as numpy writes them, archive comments, and every
// kind of damage (truncation, corrupt DEFLATE, CRC mismatch, lying sizes, unsupported methods, encryption);
// and gas::io::write_npz, whose archives the reader reads back.
#include "gas/io/zip.hpp"
#include "gas/io/npz_writer.hpp"
#include "gas/io/npy.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "io/hostile.hpp"
#include "io/io_test_util.hpp"
#include "io/npz_writer.hpp"
#include "test_util.hpp"

using gas::io::ZipArchive;
using gas_test::Bytes;
using gas_test::Method;
using gas_test::ZipWriter;

namespace {

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

Bytes compressible(std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>((i / 7) % 13);
  return out;
}

/// Offset of the first occurrence of a 4-byte little-endian signature.
std::size_t find_sig(const Bytes& b, std::uint32_t sig) {
  for (std::size_t i = 0; i + 4 <= b.size(); ++i)
    if (gas::io::detail::le32(b.data() + i) == sig) return i;
  FAIL("signature not found");
  return 0;
}

void poke16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void poke32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

/// A one-entry archive and the offsets the corruption tests patch: the entry's central-directory record and
/// its data.
struct OneEntry {
  Bytes bytes;
  std::size_t cd, data;
};

OneEntry one_entry(const std::string& name, const Bytes& content, Method method) {
  ZipWriter zip;
  zip.add(name, content, method);
  Bytes bytes = zip.finish();
  const std::size_t cd = find_sig(bytes, 0x02014b50);
  return {std::move(bytes), cd, zip.data_offset(0)};
}

}  // namespace

TEST_CASE("zip: stored and deflated entries round trip") {
  const Bytes small = text("hello, zip");
  const Bytes big = compressible(300000);
  const Bytes noise = random_bytes(5000, 7);
  ZipWriter zip;
  zip.add("a.txt", small, Method::stored);
  zip.add("dir/b.bin", big, Method::deflate);
  zip.add("c.bin", noise, Method::deflate);
  zip.add("empty_stored", {}, Method::stored);
  zip.add("empty_deflated", {}, Method::deflate);
  const ZipArchive archive(zip.finish(), "mem.zip");
  CHECK(archive.names() == std::vector<std::string>{"a.txt", "dir/b.bin", "c.bin", "empty_stored", "empty_deflated"});
  CHECK(archive.contains("dir/b.bin"));
  CHECK_FALSE(archive.contains("b.bin"));
  CHECK(archive.read("a.txt") == small);
  CHECK(archive.read("dir/b.bin") == big);
  CHECK(archive.entry("dir/b.bin").method == 8);
  CHECK(archive.entry("dir/b.bin").compressed_size < big.size() / 10);
  CHECK(archive.read("c.bin") == noise);
  CHECK(archive.read("empty_stored").empty());
  CHECK(archive.read("empty_deflated").empty());
  CHECK_THROWS_NAMING(gas::format_error, archive.read("nope"), "mem.zip", "nope");
}

TEST_CASE("zip: ZIP64 extra fields and end records, as numpy's force_zip64 writes them") {
  const Bytes data = compressible(70000);
  for (bool central : {false, true}) {
    for (bool end64 : {false, true}) {
      CAPTURE(central);
      CAPTURE(end64);
      ZipWriter zip;
      zip.add("x.npy", data, Method::deflate, {.zip64_local = true, .zip64_central = central});
      zip.add("y.npy", text("abc"), Method::stored, {.zip64_local = true, .zip64_central = central});
      const ZipArchive archive(zip.finish(end64), "z64.zip");
      CHECK(archive.read("x.npy") == data);
      CHECK(archive.read("y.npy") == text("abc"));
      CHECK(archive.entry("x.npy").uncompressed_size == data.size());
    }
  }
}

TEST_CASE("zip: the end record is found behind an archive comment") {
  ZipWriter zip;
  zip.add("a", text("payload"), Method::deflate);
  // The comment itself contains an EOCD signature, which must not be mistaken for the record.
  std::string comment = "a comment PK\x05\x06 with a fake signature";
  comment += std::string(1000, 'c');
  const ZipArchive archive(zip.finish(false, comment), "commented.zip");
  CHECK(archive.read("a") == text("payload"));
}

TEST_CASE("zip: missing file, directory and non-zip input") {
  gas_test::TempDir dir;
  CHECK_THROWS_NAMING(gas::io_error, ZipArchive(dir / "absent.npz"), "absent.npz");
  CHECK_THROWS_NAMING(gas::io_error, ZipArchive(dir.path()), dir.path().string());
  gas_test::write_file(dir / "plain.npz", std::string(200, 'x'));
  CHECK_THROWS_NAMING(gas::format_error, ZipArchive(dir / "plain.npz"), "plain.npz", "end-of-central-directory");
  gas_test::write_file(dir / "tiny.npz", std::string("PK"));
  CHECK_THROWS_NAMING(gas::format_error, ZipArchive(dir / "tiny.npz"), "tiny.npz");
}

TEST_CASE("zip: an archive cut at any point fails with an error naming the file") {
  ZipWriter zip;
  zip.add("a.npy", compressible(3000), Method::deflate, {.zip64_local = true});
  zip.add("b.npy", text("stored entry"), Method::stored);
  const Bytes whole = zip.finish();
  gas_test::TempDir dir;
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    CAPTURE(cut);
    const auto path = dir / "cut.npz";
    gas_test::write_file(path, Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut)));
    // Either indexing fails or reading an entry does; nothing reads past the end or returns short data. A cut
    // archive is readable but malformed, so the error is exactly a format_error.
    CHECK_THROWS_NAMING(gas::format_error,
                        ([&] {
                          ZipArchive archive(path);
                          for (const auto& name : archive.names()) (void)archive.read(name);
                        }()),
                        "cut.npz");
  }
}

TEST_CASE("zip: truncated DEFLATE stream inside an intact directory") {
  auto [bytes, cd, data] = one_entry("a", random_bytes(4000, 3), Method::deflate);
  // Claim a shorter compressed size: the stream then ends before its final block.
  poke32(bytes, cd + 20, gas::io::detail::le32(bytes.data() + cd + 20) / 2);
  const ZipArchive archive(bytes, "short.zip");
  CHECK_THROWS_NAMING(gas::format_error, archive.read("a"), "short.zip", "'a'", "truncated");
}

TEST_CASE("zip: corrupt DEFLATE data and CRC mismatch") {
  {
    auto [bytes, cd, data] = one_entry("d", compressible(2000), Method::deflate);
    bytes[data] = 0xFF;  // final block of the reserved type 3
    const ZipArchive archive(bytes, "bad.zip");
    CHECK_THROWS_NAMING(gas::format_error, archive.read("d"), "bad.zip", "'d'", "corrupt DEFLATE");
  }
  {
    auto [bytes, cd, data] = one_entry("s", text("stored data"), Method::stored);
    bytes[data + 3] ^= 0x20;
    const ZipArchive archive(bytes, "crc.zip");
    CHECK_THROWS_NAMING(gas::format_error, archive.read("s"), "crc.zip", "'s'", "CRC-32");
  }
  {
    auto [bytes, cd, data] = one_entry("s", text("stored data"), Method::stored);
    poke32(bytes, cd + 16, 0x12345678);
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "crc2.zip").read("s"), "crc2.zip", "CRC-32");
  }
}

TEST_CASE("zip: an entry must inflate to exactly its declared size (zip-bomb guard)") {
  const Bytes data = compressible(50000);
  const auto [good, cd, at] = one_entry("e", data, Method::deflate);
  {
    Bytes bytes = good;
    poke32(bytes, cd + 24, static_cast<std::uint32_t>(data.size() - 1));
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "more.zip").read("e"), "more.zip", "more than");
  }
  {
    Bytes bytes = good;
    poke32(bytes, cd + 24, static_cast<std::uint32_t>(data.size() + 1));
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "fewer.zip").read("e"), "fewer.zip", "not the declared");
  }
  {
    // A declared size no DEFLATE stream of this length could produce is refused before allocating it.
    Bytes bytes = good;
    poke32(bytes, cd + 24, 0xFFFFFFF0u);
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "bomb.zip").read("e"), "bomb.zip", "impossible");
  }
  {
    auto [bytes, scd, sdata] = one_entry("s", text("12345"), Method::stored);
    poke32(bytes, scd + 24, 6);
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "stored.zip").read("s"), "stored.zip", "differs");
  }
}

TEST_CASE("zip: unsupported method, encryption, duplicate names and inconsistent headers") {
  const auto [good, cd, data] = one_entry("m", text("data"), Method::stored);
  {
    Bytes bytes = good;
    poke16(bytes, 8, 12);  // bzip2, in both headers
    poke16(bytes, cd + 10, 12);
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "m.zip").read("m"), "m.zip", "'m'", "method 12");
  }
  {
    Bytes bytes = good;
    poke16(bytes, cd + 8, 1);
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "enc.zip").read("m"), "enc.zip", "encrypted");
  }
  {
    Bytes bytes = good;
    poke16(bytes, cd + 10, 8);  // central says deflate, local says stored
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "mix.zip").read("m"), "mix.zip", "disagree");
  }
  {
    Bytes bytes = good;
    poke32(bytes, cd + 42, 5);  // local header offset pointing into nowhere
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "off.zip").read("m"), "off.zip", "local header");
  }
  {
    ZipWriter twice;
    twice.add("same", text("1"));
    twice.add("same", text("2"));
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(twice.finish(), "dup.zip"), "dup.zip", "twice");
  }
  {
    // 0xFFFFFFFF sizes in the central directory without a ZIP64 extra field.
    Bytes bytes = good;
    poke32(bytes, cd + 20, 0xFFFFFFFF);
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "z.zip"), "z.zip", "ZIP64");
  }
  {
    Bytes bytes = good;
    const std::size_t eocd = find_sig(bytes, 0x06054b50);
    poke16(bytes, eocd + 10, 1000);  // more entries than the directory can hold
    CHECK_THROWS_NAMING(gas::format_error, ZipArchive(bytes, "n.zip"), "n.zip");
  }
}

TEST_CASE("zip: random corruption never crashes, only throws gas errors") {
  ZipWriter zip;
  zip.add("a.npy", gas_test::npy<float>({50, 4}, std::vector<float>(200, 1.5f)), Method::deflate,
          {.zip64_local = true});
  zip.add("b.npy", gas_test::npy<std::int64_t>({30}, std::vector<std::int64_t>(30, 3)), Method::stored);
  const Bytes good = zip.finish(true);
  std::mt19937 rng(1234);
  int failures = 0, successes = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    try {
      const ZipArchive archive(bytes, "fuzz.zip");
      for (const auto& name : archive.names()) (void)gas::io::read_npz_entry(archive, name);
      ++successes;
    } catch (const gas::error& e) {
      ++failures;
      CHECK(std::string(e.what()).find("fuzz.zip") != std::string::npos);
    }
  }
  CHECK(failures > 0);
  MESSAGE("fuzz: " << failures << " rejected, " << successes << " survived harmless flips");
}

TEST_CASE("zip: read_npz_arrays keys entries by name without .npy and skips other entries") {
  gas_test::TempDir dir;
  ZipWriter zip;
  zip.add("x.npy", gas_test::npy<float>({2, 2}, {1, 2, 3, 4}), Method::deflate, {.zip64_local = true});
  zip.add("ids.npy", gas_test::npy<std::int64_t>({3}, {7, 8, 9}), Method::stored);
  zip.add("readme.txt", text("not an array"), Method::stored);
  gas_test::write_file(dir / "a.npz", zip.finish());
  const auto arrays = gas::io::read_npz_arrays(dir / "a.npz");
  REQUIRE(arrays.size() == 2);
  CHECK(arrays.at("x").to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  CHECK(arrays.at("ids").to_vector<int>() == std::vector<int>{7, 8, 9});
  CHECK(arrays.at("x").source() == (dir / "a.npz").string() + ":x.npy");

  ZipWriter bad;
  bad.add("o.npy", gas_test::npy_bytes("|O", {1}, Bytes(8, 0)));
  gas_test::write_file(dir / "obj.npz", bad.finish());
  CHECK_THROWS_NAMING(gas::format_error, gas::io::read_npz_arrays(dir / "obj.npz"), "obj.npz", "o.npy", "pickled");
}

TEST_CASE("zip: real heterophilous archive (DEFLATE entries)" *
          doctest::skip(gas_test::missing("heterophilous/minesweeper.npz"))) {
  const auto arrays = gas::io::read_npz_arrays(gas_test::data_dir() / "heterophilous/minesweeper.npz");
  CHECK(arrays.at("node_features").shape() == std::vector<std::int64_t>{10000, 7});
  CHECK(arrays.at("node_features").descr() == "<f4");
  CHECK(arrays.at("node_labels").shape() == std::vector<std::int64_t>{10000});
  CHECK(arrays.at("edges").shape() == std::vector<std::int64_t>{39402, 2});
  CHECK(arrays.at("train_masks").shape() == std::vector<std::int64_t>{10, 10000});
  CHECK(arrays.at("train_masks").descr() == "|b1");
}

TEST_CASE("zip: real gnn-benchmark archive (stored entries, unicode arrays)" *
          doctest::skip(gas_test::missing("gnn-benchmark/cora.npz"))) {
  const auto arrays = gas::io::read_npz_arrays(gas_test::data_dir() / "gnn-benchmark/cora.npz");
  CHECK(arrays.at("adj_data").shape() == std::vector<std::int64_t>{5429});
  CHECK(arrays.at("labels").descr() == "|i1");
  const auto& names = arrays.at("class_names");
  CHECK(names.kind() == gas::io::NpyKind::unicode);
  const auto classes = names.to_strings();
  CHECK(classes.size() == 7);
  CHECK_FALSE(classes[0].empty());
}

TEST_CASE("gas::io::write_npz: stored entries that gas's reader (and numpy) read back, byte for byte") {
  gas_test::TempDir dir;
  const auto path = dir / "arrays.npz";
  const std::vector<float> values{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.5f};
  const bool masks[] = {true, false, true, true, false, false};
  gas::io::write_npz(path, {{"values", gas::io::npy_bytes(std::span<const float>(values), {2, 3})},
                            {"masks", gas::io::npy_bytes(std::span<const bool>(masks, 6), {3, 2})}});
  const auto arrays = gas::io::read_npz_arrays(path);  // checks each entry's CRC-32 too
  REQUIRE(arrays.size() == 2);
  CHECK(arrays.at("values").shape() == std::vector<std::int64_t>{2, 3});
  CHECK(arrays.at("values").to_vector<float>() == values);
  CHECK(arrays.at("masks").shape() == std::vector<std::int64_t>{3, 2});
  CHECK(arrays.at("masks").to_vector<std::uint8_t>() == std::vector<std::uint8_t>{1, 0, 1, 1, 0, 0});
  // The same arrays give the same bytes: no clock or path in the archive.
  const auto again = dir / "again.npz";
  gas::io::write_npz(again, {{"values", gas::io::npy_bytes(std::span<const float>(values), {2, 3})},
                             {"masks", gas::io::npy_bytes(std::span<const bool>(masks, 6), {3, 2})}});
  CHECK(gas::io::read_file(path) == gas::io::read_file(again));
  CHECK_THROWS_AS(gas::io::zip_stored({{std::string(70000, 'n'), "x"}}), gas::io_error);
}

// Hostile sizes (issue 16): declared counts and sizes are checked against the archive before allocation, and
// an honest but enormous inflation (a zip bomb) stops at gas::io::read_limits().max_inflated_bytes.
TEST_CASE("zip: declared sizes and counts beyond the archive are refused fast and without allocating them") {
  // One deflated entry of 16 bytes of data whose central directory claims 10^12 bytes inflated.
  ZipWriter w;
  w.add("x.npy", compressible(16), Method::deflate);
  Bytes zip = w.finish();
  const std::uint64_t cd = gas::io::detail::le32(zip.data() + zip.size() - 22 + 16);
  Bytes claims = zip;
  for (int k = 0; k < 4; ++k) claims[cd + 24 + static_cast<std::size_t>(k)] = 0xff;  // uncompressed size 0xFFFFFFFF
  // ... resolved through a ZIP64 extra field would need one; 0xFFFFFFFE is a plain 4 GiB claim.
  claims[cd + 24] = 0xfe;
  const ZipArchive lying(claims, "lying.zip");
  CHECK_REFUSED_SMALL(lying.read("x.npy"), "lying.zip", "x.npy", "impossible");

  // An end record claiming 65535 entries in a 100-byte archive.
  Bytes many = zip;
  many[many.size() - 22 + 8] = many[many.size() - 22 + 10] = 0xfe;
  many[many.size() - 22 + 9] = many[many.size() - 22 + 11] = 0xff;
  CHECK_REFUSED_SMALL(ZipArchive(many, "many.zip"), "many.zip", "cannot fit");
}

TEST_CASE("zip: a zip bomb stops at read_limits().max_inflated_bytes, which the user can raise") {
  const Bytes zeros(std::size_t{8} << 20, 0);  // 8 MiB of zeros deflate to about 8 KiB
  ZipWriter w;
  w.add("bomb.npy", zeros, Method::deflate);
  const ZipArchive zip(w.finish(), "bomb.zip");
  CHECK(zip.entry("bomb.npy").compressed_size < 16384);
  const auto saved = gas::io::read_limits().max_inflated_bytes;
  gas::io::set_max_inflated_bytes(std::uint64_t{1} << 20);
  CHECK_REFUSED_SMALL(zip.read("bomb.npy"), "bomb.zip", "bomb.npy", "8388608", "max_inflated_bytes",
                      "set_max_inflated_bytes");
  gas::io::read_limits().max_inflated_bytes = std::uint64_t{16} << 20;
  CHECK(zip.read("bomb.npy").size() == zeros.size());
  gas::io::read_limits().max_inflated_bytes = saved;
}
