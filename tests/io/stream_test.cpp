// Streaming input: compression detection, gzip (multi-member) and xz decoding, the line reader across
// chunk boundaries, number parsing, and the errors for missing, truncated and corrupt files.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gas/io/stream.hpp"
#include "io/hostile.hpp"
#include "io/io_test_util.hpp"
#include "test_util.hpp"

namespace {

// Decodes a whole file through ByteStream in reads of `step` bytes.
std::string decode(const std::filesystem::path& path, std::size_t step = 7) {
  gas::io::ByteStream in(path);
  std::string all, chunk(step, '\0');
  while (auto got = in.read(chunk.data(), step)) all.append(chunk.data(), got);
  CHECK(in.read(chunk.data(), step) == 0);  // the end stays the end
  return all;
}

std::vector<std::string> lines_of(const std::filesystem::path& path, std::size_t chunk = gas::io::LineReader::default_chunk) {
  gas::io::LineReader reader(path, chunk);
  std::vector<std::string> lines;
  for (std::string_view line; reader.next(line);) {
    lines.emplace_back(line);
    CHECK(reader.line_number() == static_cast<std::int64_t>(lines.size()));
  }
  return lines;
}

const std::string sample = "first line\nsecond\r\n\nlast without newline";

}  // namespace

TEST_CASE("detect_compression reads magic bytes") {
  using gas::io::Compression;
  CHECK(gas::io::detect_compression(std::string_view("\x1f\x8b\x08", 3)) == Compression::gzip);
  CHECK(gas::io::detect_compression(std::string_view("\xFD" "7zXZ\0\0", 7)) == Compression::xz);
  CHECK(gas::io::detect_compression("1 2\n") == Compression::none);
  CHECK(gas::io::detect_compression("") == Compression::none);
  CHECK(gas::io::detect_compression(std::string_view("\x1f", 1)) == Compression::none);
  CHECK(gas::io::to_string(Compression::xz) == "xz");
}

TEST_CASE("plain, gzip and xz files decode to the same bytes") {
  gas_test::TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + " " + std::to_string(i * 7 % 1013) + "\n";
  gas_test::write_file(dir / "a.txt", text);
  gas_test::write_gz(dir / "a.txt.gz", text);
  gas_test::write_file(dir / "a.txt.xz", gas_test::xz_bytes(text));
  for (std::string name : {"a.txt", "a.txt.gz", "a.txt.xz"}) {
    CAPTURE(name);
    CHECK(decode(dir / name) == text);
    CHECK(decode(dir / name, 1 << 16) == text);
  }
  CHECK(gas::io::ByteStream(dir / "a.txt").compression() == gas::io::Compression::none);
  CHECK(gas::io::ByteStream(dir / "a.txt.gz").compression() == gas::io::Compression::gzip);
  CHECK(gas::io::ByteStream(dir / "a.txt.xz").compression() == gas::io::Compression::xz);
}

TEST_CASE("compression is chosen by content, not by name") {
  gas_test::TempDir dir;
  gas_test::write_gz(dir / "edges.txt", "1 2\n");
  gas_test::write_file(dir / "edges", gas_test::xz_bytes("3 4\n"));
  CHECK(decode(dir / "edges.txt") == "1 2\n");
  CHECK(decode(dir / "edges") == "3 4\n");
}

TEST_CASE("concatenated gzip members and xz streams decode as one") {
  gas_test::TempDir dir;
  gas_test::write_gz(dir / "a.gz", "one\ntwo\n");
  gas_test::write_gz(dir / "b.gz", "three\n");
  gas_test::write_gz(dir / "empty.gz", "");
  gas_test::write_file(dir / "ab.gz",
                       gas_test::slurp(dir / "a.gz") + gas_test::slurp(dir / "empty.gz") + gas_test::slurp(dir / "b.gz"));
  CHECK(decode(dir / "ab.gz") == "one\ntwo\nthree\n");
  CHECK(lines_of(dir / "ab.gz") == std::vector<std::string>{"one", "two", "three"});
  CHECK(decode(dir / "empty.gz").empty());

  gas_test::write_file(dir / "ab.xz", gas_test::xz_bytes("one\n") + gas_test::xz_bytes("two\n"));
  CHECK(decode(dir / "ab.xz") == "one\ntwo\n");
}

TEST_CASE("LineReader: CRLF, blank lines, a last line without newline, line numbers") {
  gas_test::TempDir dir;
  gas_test::write_file(dir / "s.txt", sample);
  const std::vector<std::string> expected{"first line", "second", "", "last without newline"};
  CHECK(lines_of(dir / "s.txt") == expected);
  gas_test::write_gz(dir / "s.gz", sample);
  CHECK(lines_of(dir / "s.gz") == expected);

  gas_test::write_file(dir / "nl.txt", "a\nb\n");
  CHECK(lines_of(dir / "nl.txt") == std::vector<std::string>{"a", "b"});  // no phantom empty last line
  gas_test::write_file(dir / "empty.txt", "");
  CHECK(lines_of(dir / "empty.txt").empty());
  gas_test::write_file(dir / "one.txt", "\n");
  CHECK(lines_of(dir / "one.txt") == std::vector<std::string>{""});
  gas_test::write_file(dir / "cr.txt", "x\r");
  CHECK(lines_of(dir / "cr.txt") == std::vector<std::string>{"x"});
}

TEST_CASE("LineReader: every chunk size gives the same lines, also for lines longer than a chunk") {
  gas_test::TempDir dir;
  std::string text;
  std::vector<std::string> expected;
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string line(rng() % (i % 10 == 0 ? 200 : 20), 'a' + static_cast<char>(i % 26));
    expected.push_back(line);
    text += line + (i % 3 == 0 ? "\r\n" : "\n");
  }
  gas_test::write_file(dir / "t.txt", text);
  gas_test::write_gz(dir / "t.gz", text);
  gas_test::write_file(dir / "t.xz", gas_test::xz_bytes(text));
  for (std::size_t chunk : {1, 2, 3, 16, 17, 64, 1000, 1 << 20}) {
    CAPTURE(chunk);
    CHECK(lines_of(dir / "t.txt", chunk) == expected);
    CHECK(lines_of(dir / "t.gz", chunk) == expected);
    CHECK(lines_of(dir / "t.xz", chunk) == expected);
  }
}

TEST_CASE("Fields splits on blank runs or on a delimiter") {
  std::vector<std::string> got;
  gas::io::Fields ws("  12\t 34   5.5 \r");
  for (std::string_view f; ws.next(f);) got.emplace_back(f);
  CHECK(got == std::vector<std::string>{"12", "34", "5.5"});
  CHECK(ws.at_end());

  got.clear();
  gas::io::Fields csv(" 1, 2 ,,3,", ',');
  for (std::string_view f; csv.next(f);) got.emplace_back(f);
  CHECK(got == std::vector<std::string>{"1", "2", "", "3", ""});

  gas::io::Fields none("   ");
  std::string_view f;
  CHECK_FALSE(none.next(f));
  CHECK(gas::io::Fields::trim(" \t x y \r") == "x y");
}

TEST_CASE("try_parse: integers and floats, whole tokens only") {
  std::int32_t i = 0;
  CHECK((gas::io::try_parse("42", i) && i == 42));
  CHECK((gas::io::try_parse("-7", i) && i == -7));
  CHECK((gas::io::try_parse("+9", i) && i == 9));
  CHECK_FALSE(gas::io::try_parse("", i));
  CHECK_FALSE(gas::io::try_parse("+", i));
  CHECK_FALSE(gas::io::try_parse("+-1", i));
  CHECK_FALSE(gas::io::try_parse("12x", i));
  CHECK_FALSE(gas::io::try_parse("1.5", i));
  CHECK_FALSE(gas::io::try_parse("abc", i));
  CHECK_FALSE(gas::io::try_parse("2147483648", i));  // overflow of int32
  std::int64_t big = 0;
  CHECK((gas::io::try_parse("2147483648", big) && big == 2147483648LL));

  float x = 0;
  CHECK((gas::io::try_parse("0.25", x) && x == 0.25f));
  CHECK((gas::io::try_parse("-1e-3", x) && x == -1e-3f));
  CHECK((gas::io::try_parse("+3", x) && x == 3.0f));
  CHECK((gas::io::try_parse("nan", x) && std::isnan(x)));
  CHECK((gas::io::try_parse("NaN", x) && std::isnan(x)));
  CHECK((gas::io::try_parse("-inf", x) && std::isinf(x) && x < 0));
  CHECK((gas::io::try_parse("Infinity", x) && std::isinf(x)));
  CHECK_FALSE(gas::io::try_parse("1e999", x));
  CHECK_FALSE(gas::io::try_parse("0x10", x));
  CHECK_FALSE(gas::io::try_parse("1,5", x));
  CHECK_FALSE(gas::io::try_parse("", x));
}

TEST_CASE("parse_int / parse_float / parse_finite name file and line of a bad token") {
  gas_test::TempDir dir;
  const auto path = dir / "numbers.txt";
  gas_test::write_file(path, "1\n2\nfoo\nnan\n");
  gas::io::LineReader reader(path);
  std::string_view line;
  REQUIRE(reader.next(line));
  CHECK(gas::io::parse_int<int>(reader, line, "value") == 1);
  REQUIRE(reader.next(line));
  CHECK(gas::io::parse_float<double>(reader, line, "value") == 2.0);
  REQUIRE(reader.next(line));
  CHECK_THROWS_NAMING(gas::format_error, gas::io::parse_int<int>(reader, line, "node id"), path.string() + ":3",
                      "node id 'foo'");
  CHECK_THROWS_NAMING(gas::format_error, gas::io::parse_float<float>(reader, line, "feature"), path.string() + ":3");
  REQUIRE(reader.next(line));
  CHECK(std::isnan(gas::io::parse_float<float>(reader, line, "feature")));
  CHECK_THROWS_NAMING(gas::format_error, gas::io::parse_finite<float>(reader, line, "feature"), path.string() + ":4",
                      "finite");
  const auto msg = CHECK_THROWS_NAMING(gas::format_error, reader.fail("custom problem"), "custom problem");
  CHECK(msg == path.string() + ":4: custom problem");
}

TEST_CASE("dataset_stem drops compression and format extensions") {
  CHECK(gas::io::dataset_stem("data/road/NE.gr.xz") == "NE");
  CHECK(gas::io::dataset_stem("x/graph.edges.gz") == "graph");
  CHECK(gas::io::dataset_stem("karate.txt") == "karate");
  CHECK(gas::io::dataset_stem("plain") == "plain");
}

TEST_CASE("missing files and directories are io_errors naming the path") {
  gas_test::TempDir dir;
  CHECK_THROWS_NAMING(gas::io_error, gas::io::ByteStream(dir / "nope.gz"), (dir / "nope.gz").string(), "no such file");
  CHECK_THROWS_NAMING(gas::io_error, gas::io::LineReader(dir.path()), dir.path().string(), "directory");
}

TEST_CASE("truncated gzip and xz are io_errors naming the file") {
  gas_test::TempDir dir;
  std::string text;
  for (int i = 0; i < 5000; ++i) text += std::to_string(i * 2654435761u) + "\n";
  gas_test::write_gz(dir / "full.gz", text);
  const auto gz = gas_test::slurp(dir / "full.gz");
  const auto xz = gas_test::xz_bytes(text);
  for (std::size_t keep : {gz.size() - 1, gz.size() - 8, gz.size() / 2, std::size_t{10}}) {
    CAPTURE(keep);
    gas_test::write_file(dir / "cut.gz", gz.substr(0, keep));
    CHECK_THROWS_NAMING(gas::io_error, decode(dir / "cut.gz", 4096), (dir / "cut.gz").string(), "truncated gzip");
  }
  for (std::size_t keep : {xz.size() - 1, xz.size() / 2, std::size_t{12}}) {
    CAPTURE(keep);
    gas_test::write_file(dir / "cut.xz", xz.substr(0, keep));
    CHECK_THROWS_NAMING(gas::io_error, lines_of(dir / "cut.xz"), (dir / "cut.xz").string(), "xz");
  }
  // Cut before the magic bytes are complete: the name promised compression, so it is not plain text.
  gas_test::write_file(dir / "stub.gz", gz.substr(0, 1));
  CHECK_THROWS_NAMING(gas::io_error, decode(dir / "stub.gz"), (dir / "stub.gz").string());
  gas_test::write_file(dir / "empty.xz", "");
  CHECK_THROWS_NAMING(gas::io_error, decode(dir / "empty.xz"), (dir / "empty.xz").string(), "empty");
}

TEST_CASE("corrupt compressed bytes are io_errors naming the file") {
  gas_test::TempDir dir;
  std::string text;
  for (int i = 0; i < 5000; ++i) text += std::to_string(i) + "," + std::to_string(i * 31) + "\n";
  gas_test::write_gz(dir / "ok.gz", text);
  auto gz = gas_test::slurp(dir / "ok.gz");
  auto xz = gas_test::xz_bytes(text);
  for (std::size_t at : {gz.size() / 3, gz.size() / 2, gz.size() - 6}) {
    CAPTURE(at);
    auto bad = gz;
    bad[at] = static_cast<char>(bad[at] ^ 0x5A);
    gas_test::write_file(dir / "bad.gz", bad);
    CHECK_THROWS_NAMING(gas::io_error, decode(dir / "bad.gz", 1 << 16), (dir / "bad.gz").string(), "gzip");
  }
  for (std::size_t at : {xz.size() / 3, xz.size() / 2, xz.size() - 20}) {
    CAPTURE(at);
    auto bad = xz;
    bad[at] = static_cast<char>(bad[at] ^ 0x5A);
    gas_test::write_file(dir / "bad.xz", bad);
    CHECK_THROWS_NAMING(gas::io_error, decode(dir / "bad.xz", 1 << 16), (dir / "bad.xz").string(), "xz");
  }
  // Garbage after a complete gzip member is not silently dropped.
  gas_test::write_file(dir / "tail.gz", gz + "not gzip");
  CHECK_THROWS_NAMING(gas::io_error, decode(dir / "tail.gz"), (dir / "tail.gz").string());
  // A .gz name over plain text.
  gas_test::write_file(dir / "plain.gz", "1 2\n");
  CHECK_THROWS_NAMING(gas::io_error, decode(dir / "plain.gz"), "magic");
}

TEST_CASE("LineReader reads the NE road graph quickly" * doctest::skip(gas_test::missing("road/NE.gr.xz"))) {
  const auto start = std::chrono::steady_clock::now();
  gas::io::LineReader reader(gas_test::data_dir() / "road/NE.gr.xz");
  std::int64_t lines = 0, sum = 0;
  for (std::string_view line; reader.next(line);) {
    ++lines;
    sum += static_cast<std::int64_t>(line.size());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("NE.gr.xz: " << lines << " lines in " << seconds << " s");
  CHECK(lines == 1934011);  // the header and 1934010 edge lines
  CHECK(reader.line_number() == lines);
  CHECK(sum > 0);
}

// Hostile sizes (issue 16): a few compressed bytes can decode to a "line" of gigabytes, and an xz header can
// ask for a 1.5 GiB dictionary; both stop at a limit of gas::io::read_limits() that names itself.
TEST_CASE("LineReader: a line longer than read_limits().max_line_bytes is refused, not buffered") {
  gas_test::TempDir dir;
  gas_test::write_gz(dir / "long.txt.gz", std::string(std::size_t{4} << 20, 'a'));  // 4 MiB, no newline
  auto& limit = gas::io::read_limits().max_line_bytes;
  const auto saved = limit;
  limit = std::uint64_t{1} << 20;
  CHECK_REFUSED_SMALL(
      [&] {
        gas::io::LineReader reader(dir / "long.txt.gz", 4096);
        for (std::string_view line; reader.next(line);) {
        }
      }(),
      "long.txt.gz:1", "line longer than 1048576 bytes", "max_line_bytes");
  limit = saved;
}

TEST_CASE("ByteStream: an xz stream needing more decoder memory than read_limits().max_xz_memory is refused") {
  gas_test::TempDir dir;
  std::string xz(1024, '\0');
  std::size_t pos = 0;
  const std::string text = "0 1\n";
  // Preset 9 declares a 64 MiB dictionary, however short the data.
  REQUIRE(lzma_easy_buffer_encode(9, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const std::uint8_t*>(text.data()),
                                  text.size(), reinterpret_cast<std::uint8_t*>(xz.data()), &pos, xz.size()) == LZMA_OK);
  xz.resize(pos);
  gas_test::write_file(dir / "dict.xz", xz);
  auto& limit = gas::io::read_limits().max_xz_memory;
  const auto saved = limit;
  limit = std::uint64_t{1} << 20;
  CHECK_REFUSED_SMALL(
      [&] {
        gas::io::ByteStream in(dir / "dict.xz");
        char buf[64];
        while (in.read(buf, sizeof buf) > 0) {
        }
      }(),
      "dict.xz", "max_xz_memory");
  limit = saved;
  gas::io::ByteStream in(dir / "dict.xz");
  char buf[64];
  CHECK(in.read(buf, sizeof buf) == text.size());
}
