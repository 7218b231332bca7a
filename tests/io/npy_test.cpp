// .npy parsing: header versions, every supported dtype, byte order, Fortran order, checked conversions,
// and rejection of malformed, truncated, object and unsupported inputs with messages naming the source.
#include "gas/io/npy.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "io/hostile.hpp"
#include "io/io_test_util.hpp"
#include "io/npz_writer.hpp"
#include "test_util.hpp"

using gas::io::NpyArray;
using gas::io::NpyKind;
using gas::io::parse_npy;
using gas_test::Bytes;
using gas_test::npy;
using gas_test::npy_bytes;

TEST_CASE("npy: float32 matrix round trip and conversions") {
  const std::vector<float> values{1.5f, -2.0f, 0.0f, 4.0f, 5.25f, 6.0f};
  const NpyArray a = parse_npy(npy<float>({2, 3}, values), "m.npy");
  CHECK(a.descr() == "<f4");
  CHECK(a.kind() == NpyKind::floating);
  CHECK(a.itemsize() == 4);
  CHECK(a.shape() == std::vector<std::int64_t>{2, 3});
  CHECK(a.size() == 6);
  CHECK(a.shape_string() == "(2, 3)");
  CHECK(a.to_vector<float>() == values);
  CHECK(a.to_vector<double>() == std::vector<double>{1.5, -2.0, 0.0, 4.0, 5.25, 6.0});
  CHECK_THROWS_NAMING(gas::format_error, a.to_vector<std::int32_t>(), "m.npy", "element 0");
  CHECK_THROWS_NAMING(gas::format_error, a.dim(2), "m.npy");
}

TEST_CASE_TEMPLATE("npy: every integer dtype converts to int64, float and int32", T, std::int8_t, std::int16_t,
                   std::int32_t, std::int64_t, std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t) {
  const std::vector<T> values{0, 1, 7, 100, static_cast<T>(std::numeric_limits<T>::max())};
  const NpyArray a = parse_npy(npy<T>({5}, values), "ints.npy");
  CHECK(a.descr() == gas_test::npy_descr<T>());
  const auto wide = a.to_vector<double>();
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(wide[i] == static_cast<double>(values[i]));
  if constexpr (sizeof(T) < 8 || std::is_signed_v<T>) {
    const auto as64 = a.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(as64[i] == static_cast<std::int64_t>(values[i]));
  } else {
    CHECK_THROWS_NAMING(gas::format_error, a.to_vector<std::int64_t>(), "ints.npy", "element 4");
  }
  if constexpr (sizeof(T) < 4 || (sizeof(T) == 4 && std::is_signed_v<T>)) {
    CHECK(a.to_vector<std::int32_t>().back() == static_cast<std::int32_t>(values.back()));
  } else {
    // The maximum of a wider (or unsigned 32-bit) type does not fit int32: a checked conversion refuses it.
    CHECK_THROWS_NAMING(gas::format_error, a.to_vector<std::int32_t>(), "ints.npy", "element 4", "does not fit");
  }
}

TEST_CASE("npy: signed values into unsigned and int64 ids into int32 are range-checked") {
  const auto a = parse_npy(npy<std::int64_t>({3}, {0, -1, 2}), "ids.npy");
  CHECK(a.to_vector<std::int32_t>() == std::vector<std::int32_t>{0, -1, 2});
  CHECK_THROWS_NAMING(gas::format_error, a.to_vector<std::uint32_t>(), "ids.npy", "element 1", "-1");
  const auto big = parse_npy(npy<std::int64_t>({2}, {5, std::int64_t{1} << 40}), "big.npy");
  CHECK_THROWS_NAMING(gas::format_error, big.to_vector<std::int32_t>(), "big.npy", "element 1");
  CHECK(big.to_vector<std::int64_t>()[1] == std::int64_t{1} << 40);
}

TEST_CASE("npy: bool and float64 dtypes") {
  const auto b = parse_npy(npy_bytes("|b1", {4}, {0, 1, 0, 2}), "mask.npy");
  CHECK(b.kind() == NpyKind::boolean);
  CHECK(b.to_vector<std::uint8_t>() == std::vector<std::uint8_t>{0, 1, 0, 1});
  CHECK(b.to_vector<int>() == std::vector<int>{0, 1, 0, 1});
  CHECK(b.to_vector<bool>() == std::vector<bool>{false, true, false, true});
  const auto d = parse_npy(npy<double>({2}, {0.25, 3.0}), "d.npy");
  CHECK(d.to_vector<float>() == std::vector<float>{0.25f, 3.0f});
  CHECK(parse_npy(npy<double>({2}, {-4.0, 3.0}), "d.npy").to_vector<std::int16_t>() == std::vector<std::int16_t>{-4, 3});
}

TEST_CASE("npy: float to integer conversion rejects fractions, NaN and out-of-range values") {
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(npy<double>({1}, {0.5}), "f.npy").to_vector<int>(), "f.npy");
  CHECK_THROWS_NAMING(gas::format_error,
                      parse_npy(npy<double>({1}, {std::nan("")}), "f.npy").to_vector<std::int64_t>(), "f.npy");
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(npy<double>({1}, {1e10}), "f.npy").to_vector<std::int32_t>(),
                      "f.npy");
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(npy<double>({1}, {-1.0}), "f.npy").to_vector<std::uint8_t>(),
                      "f.npy");
}

TEST_CASE("npy: byte orders '=', '|' and big-endian '>' (byte-swapped)") {
  const std::vector<std::int32_t> v{1, -2, 70000};
  CHECK(parse_npy(npy_bytes("=i4", {3}, gas_test::raw_bytes(v)), "x").to_vector<std::int32_t>() == v);
  CHECK(parse_npy(npy_bytes("|i4", {3}, gas_test::raw_bytes(v)), "x").to_vector<std::int32_t>() == v);
  CHECK(parse_npy(npy_bytes("|u1", {2}, {3, 250}), "x").to_vector<int>() == std::vector<int>{3, 250});

  Bytes be;
  for (auto x : v)
    for (int k = 3; k >= 0; --k) be.push_back(static_cast<std::uint8_t>(static_cast<std::uint32_t>(x) >> (8 * k)));
  const auto a = parse_npy(npy_bytes(">i4", {3}, be), "be.npy");
  CHECK(a.descr() == ">i4");
  CHECK(a.to_vector<std::int32_t>() == v);

  Bytes bd(8);
  const double x = -3.75;
  std::uint64_t bits;
  std::memcpy(&bits, &x, 8);
  for (int k = 0; k < 8; ++k) bd[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(bits >> (8 * (7 - k)));
  CHECK(parse_npy(npy_bytes(">f8", {1}, bd), "bed.npy").to_vector<double>() == std::vector<double>{-3.75});
}

TEST_CASE("npy: Fortran order is transposed to row-major") {
  // numpy.asfortranarray([[1, 2, 3], [4, 5, 6]]) stores the columns: 1 4 2 5 3 6.
  const auto a = parse_npy(npy_bytes("<i4", {2, 3}, gas_test::raw_bytes(std::vector<std::int32_t>{1, 4, 2, 5, 3, 6}), true),
                           "f.npy");
  CHECK(a.shape() == std::vector<std::int64_t>{2, 3});
  CHECK(a.to_vector<int>() == std::vector<int>{1, 2, 3, 4, 5, 6});

  // A 2 x 3 x 2 array with element (i, j, k) = 100 i + 10 j + k, stored with the first index fastest.
  std::vector<std::int32_t> fortran;
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) fortran.push_back(100 * i + 10 * j + k);
  const auto b = parse_npy(npy_bytes("<i4", {2, 3, 2}, gas_test::raw_bytes(fortran), true), "f3.npy");
  std::vector<int> expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) expected.push_back(100 * i + 10 * j + k);
  CHECK(b.to_vector<int>() == expected);
  // One dimension or an empty array: Fortran and C order coincide.
  CHECK(parse_npy(npy_bytes("<i4", {0, 3}, {}, true), "e.npy").size() == 0);
  CHECK(parse_npy(npy_bytes("<i4", {2}, gas_test::raw_bytes(std::vector<std::int32_t>{8, 9}), true), "v.npy")
            .to_vector<int>() == std::vector<int>{8, 9});
}

TEST_CASE("npy: format versions 2 and 3, 0-d and empty arrays") {
  for (int version : {2, 3}) {
    const auto a = parse_npy(npy_bytes("<f4", {2}, gas_test::raw_bytes(std::vector<float>{1, 2}), false, version), "v");
    CHECK(a.to_vector<float>() == std::vector<float>{1, 2});
  }
  const auto scalar = parse_npy(npy_bytes("<i8", {}, gas_test::raw_bytes(std::vector<std::int64_t>{42})), "s.npy");
  CHECK(scalar.ndim() == 0);
  CHECK(scalar.size() == 1);
  CHECK(scalar.shape_string() == "()");
  CHECK(scalar.to_vector<int>() == std::vector<int>{42});
  const auto empty = parse_npy(npy<float>({0, 5}, {}), "e.npy");
  CHECK(empty.size() == 0);
  CHECK(empty.to_vector<float>().empty());
}

TEST_CASE("npy: unicode and byte-string arrays are kept raw and decode to UTF-8") {
  // '<U3' ["ab", "é€"]: UCS-4 code points, NUL-padded.
  Bytes u;
  for (std::uint32_t cp : {0x61u, 0x62u, 0u, 0xE9u, 0x20ACu, 0u}) gas_test::put_le(u, cp, 4);
  const auto a = parse_npy(npy_bytes("<U3", {2}, u), "names.npy");
  CHECK(a.kind() == NpyKind::unicode);
  CHECK(a.itemsize() == 12);
  CHECK(a.to_strings() == std::vector<std::string>{"ab", "\xC3\xA9\xE2\x82\xAC"});
  CHECK_THROWS_NAMING(gas::format_error, a.to_vector<float>(), "names.npy", "not numeric");
  const auto s = parse_npy(gas_test::npy_string("csr"), "format.npy");
  CHECK(s.kind() == NpyKind::bytes);
  CHECK(s.to_strings() == std::vector<std::string>{"csr"});
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(npy<int>({1}, {1}), "n.npy").to_strings(), "n.npy");
  Bytes bad;
  gas_test::put_le(bad, 0xD800, 4);
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(npy_bytes("<U1", {1}, bad), "bad.npy").to_strings(), "bad.npy");
}

TEST_CASE("npy: object arrays are rejected, never unpickled") {
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(npy_bytes("|O", {1}, Bytes(8, 0)), "obj.npy"), "obj.npy",
                      "pickled");
}

TEST_CASE("npy: unsupported and malformed dtypes") {
  for (const char* descr : {"<c16", "<f2", "<i3", "|b2", "<V8", "<M8", "", "<", "<i", "<ix"}) {
    CAPTURE(descr);
    CHECK_THROWS_NAMING(gas::format_error, parse_npy(npy_bytes(descr, {1}, Bytes(16, 0)), "dt.npy"), "dt.npy");
  }
}

TEST_CASE("npy: bad magic, version and headers") {
  const Bytes good = npy<float>({2}, {1, 2});
  Bytes bad_magic = good;
  bad_magic[1] = 'X';
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(bad_magic, "a.npy"), "a.npy", "magic");
  Bytes bad_version = good;
  bad_version[6] = 9;
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(bad_version, "a.npy"), "a.npy", "version");
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(Bytes{}, "empty.npy"), "empty.npy");

  auto with_header = [](const std::string& dict) {
    Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    gas_test::put_le(out, dict.size(), 2);
    out.insert(out.end(), dict.begin(), dict.end());
    return out;
  };
  for (const std::string dict : {
           "{'descr': '<f4', 'fortran_order': False}",                               // no shape
           "{'descr': '<f4', 'shape': (1,)}",                                          // no fortran_order
           "{'fortran_order': False, 'shape': (1,)}",                                  // no descr
           "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",                  // bad boolean
           "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",                 // negative extent
           "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}",                   // list, not tuple
           "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",      // unknown key
           "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",         // structured dtype
           "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",                   // unterminated dict
           "{'descr': '<f4 , 'fortran_order': False, 'shape': (1,)}",                  // broken quoting
           "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk",             // trailing junk
           "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",  // overflow
           "",
       }) {
    CAPTURE(dict);
    CHECK_THROWS_NAMING(gas::format_error, parse_npy(with_header(dict), "h.npy"), "h.npy");
  }
  // A header length that runs past the end of the file.
  Bytes long_header = good;
  long_header[8] = 0xFF;
  long_header[9] = 0xFF;
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(long_header, "l.npy"), "l.npy", "truncated");
}

TEST_CASE("npy: data length must equal prod(shape) * itemsize") {
  const Bytes good = npy<std::int64_t>({3, 2}, {1, 2, 3, 4, 5, 6});
  // Every cut point of the file fails cleanly: inside the magic, the header or the data.
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    CAPTURE(cut);
    CHECK_THROWS_AS(parse_npy(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)), "t.npy"),
                    gas::format_error);
  }
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(Bytes(good.begin(), good.end() - 8), "t.npy"), "t.npy",
                      "truncated");
  Bytes padded = good;
  padded.push_back(0);
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(padded, "p.npy"), "p.npy", "trailing");
  // A shape whose byte count overflows must not wrap around to a small number.
  CHECK_THROWS_NAMING(gas::format_error,
                      parse_npy(npy_bytes("<f8", {std::int64_t{1} << 31, std::int64_t{1} << 31, 8}, {}), "o.npy"),
                      "o.npy");
  CHECK_THROWS_NAMING(gas::format_error, parse_npy(npy_bytes("<f8", {std::int64_t{1} << 61}, {}), "o.npy"), "o.npy");
}

TEST_CASE("npy: NpyArray built directly checks its storage against its shape") {
  const NpyArray empty;
  CHECK(empty.size() == 0);
  CHECK(empty.to_vector<float>().empty());
  const NpyArray a("mem", "<i2", NpyKind::signed_int, 2, {2}, Bytes{1, 0, 0xFF, 0xFF, 9}, 1);
  CHECK(a.to_vector<int>() == std::vector<int>{-256, 2559});  // little-endian 0xFF00 and 0x09FF
  CHECK_THROWS_NAMING(gas::shape_error, NpyArray("mem", "<i2", NpyKind::signed_int, 2, {3}, Bytes(4, 0)), "mem");
  CHECK_THROWS_NAMING(gas::shape_error, NpyArray("mem", "<i2", NpyKind::signed_int, 2, {2}, Bytes(4, 0), 5), "mem");
}

TEST_CASE("npy: read_npy names the file when it is missing or malformed") {
  gas_test::TempDir dir;
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_npy(dir / "absent.npy"), "absent.npy");
  gas_test::write_file(dir / "x.npy", npy<float>({2}, {1, 2}));
  CHECK(gas::io::read_npy(dir / "x.npy").to_vector<float>() == std::vector<float>{1, 2});
  CHECK(gas::io::read_npy(dir / "x.npy").source() == (dir / "x.npy").string());
  gas_test::write_file(dir / "y.npy", std::string("not numpy at all"));
  CHECK_THROWS_NAMING(gas::format_error, gas::io::read_npy(dir / "y.npy"), "y.npy");
}

// Hostile sizes (issue 16): every size the header declares is checked against the bytes present, before the
// array is allocated; a 100-byte file claiming 10^12 elements is refused at once.
TEST_CASE("npy: declared sizes beyond the file are refused fast and without allocating them") {
  auto header = [](const std::string& dict, int version = 1) {
    Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(version), 0};
    gas_test::put_le(out, dict.size(), version == 1 ? 2 : 4);
    out.insert(out.end(), dict.begin(), dict.end());
    return out;
  };
  const auto claims_1e12 = header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }\n");
  CHECK(claims_1e12.size() < 100);
  CHECK_REFUSED_SMALL(gas::io::parse_npy(claims_1e12, "big.npy"), "big.npy", "truncated file");
  CHECK_REFUSED_SMALL(
      gas::io::parse_npy(header("{'descr': '<f8', 'fortran_order': True, 'shape': (4294967296, 4294967296), }\n"),
                         "wrap.npy"),
      "wrap.npy", "overflows");
  CHECK_REFUSED_SMALL(gas::io::parse_npy(header("{'descr': '<U999999', 'fortran_order': False, 'shape': (9,), }\n"),
                                         "wide.npy"),
                      "wide.npy");
  // A version-2 header length of 4 GiB in a 12-byte file.
  CHECK_REFUSED_SMALL(gas::io::parse_npy(Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff}, "hdr.npy"),
                      "hdr.npy", "truncated .npy header");
}

// Found by tests/fuzz/npy.cpp (issue 16): an empty array (a 0 extent) whose other extents multiply past int64
// made NpyArray::size() overflow (undefined behaviour); refused as numpy refuses it. The fuzzer's exact bytes.
TEST_CASE("npy: fuzz finding: extents overflowing int64 beside a zero extent") {
  const std::string header = "{'descr': '|i1', 'fortran_order': False,        'shape': (2, 50000001000000000,101        ,0,00 )}                    ";
  REQUIRE(header.size() == 118);
  Bytes bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
  bytes.insert(bytes.end(), header.begin(), header.end());
  CHECK_THROWS_NAMING(gas::format_error, gas::io::parse_npy(bytes, "fuzz.npy"), "fuzz.npy", "overflows the address space");
}

// Found by tests/fuzz/npy.cpp (issue 16): a 0-wide string dtype ('<U0') made every element 0 bytes, so a
// 128-byte file could declare 2.5e18 strings and to_strings() tried to allocate them. The fuzzer's exact bytes.
TEST_CASE("npy: fuzz finding: a zero-width string dtype is refused") {
  const std::string header = "{'descr': '<U0', 'fortran_order': False,        'shape': (5, 50000001000000,000700 )}                                 ";
  REQUIRE(header.size() == 118);
  Bytes bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
  bytes.insert(bytes.end(), header.begin(), header.end());
  CHECK_REFUSED_SMALL(gas::io::parse_npy(bytes, "fuzz.npy").to_strings(), "fuzz.npy", "item size 0");
  CHECK_REFUSED_SMALL(gas::io::parse_npy(gas_test::npy_bytes("|S0", {1000000000000}, {}), "s0.npy"), "s0.npy",
                      "item size 0");
}
