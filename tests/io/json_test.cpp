// JSON: the DOM and event interfaces, escapes and numbers, strictness (RFC 8259), the depth limit, and a
// class_map-sized document parsed through events.
#include "gas/io/json.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "test_util.hpp"

using gas::io::JsonValue;
using gas::io::parse_json;

namespace {

/// Records events as a compact string, to check the order and content the parser reports.
struct Recorder {
  std::string log;
  void null_value() { log += "n "; }
  void boolean(bool b) { log += b ? "T " : "F "; }
  void number(const gas::io::JsonNumber& n) {
    log += (n.fits_int64 ? "i" + std::to_string(n.integer) : "d" + std::string(n.text)) + " ";
  }
  void string(std::string_view s) { log += "s:" + std::string(s) + " "; }
  void begin_object() { log += "{ "; }
  void key(std::string_view k) { log += "k:" + std::string(k) + " "; }
  void end_object() { log += "} "; }
  void begin_array() { log += "[ "; }
  void end_array() { log += "] "; }
};

/// Counts numbers and sums integers, as a class_map reader would consume them.
struct Counter {
  std::int64_t numbers = 0, sum = 0, keys = 0;
  void null_value() {}
  void boolean(bool) {}
  void number(const gas::io::JsonNumber& n) {
    ++numbers;
    sum += n.integer;
  }
  void string(std::string_view) {}
  void begin_object() {}
  void key(std::string_view) { ++keys; }
  void end_object() {}
  void begin_array() {}
  void end_array() {}
};

static_assert(gas::io::JsonHandler<Recorder>);
static_assert(!gas::io::JsonHandler<int>);

}  // namespace

TEST_CASE("json: DOM of every value type") {
  const auto v = parse_json(R"( {"a": [1, -2, 3.5, 1e3, true, false, null, "x"], "b": {"c": {}}, "d": [] } )", "t.json");
  REQUIRE(v.is_object());
  CHECK(v.as_object().size() == 3);
  const auto& a = v.find("a")->as_array();
  REQUIRE(a.size() == 8);
  CHECK(a[0].is_integer());
  CHECK(a[0].as_int64() == 1);
  CHECK(a[1].as_int64() == -2);
  CHECK(a[2].type() == JsonValue::Type::number);
  CHECK(a[2].as_double() == 3.5);
  CHECK(a[3].as_double() == 1000.0);
  CHECK_FALSE(a[3].is_integer());
  CHECK(a[4].as_bool());
  CHECK_FALSE(a[5].as_bool());
  CHECK(a[6].is_null());
  CHECK(a[7].as_string() == "x");
  CHECK(v.find("b")->find("c")->as_object().empty());
  CHECK(v.find("d")->as_array().empty());
  CHECK(v.find("zzz") == nullptr);
  CHECK(a[0].find("a") == nullptr);
  CHECK_THROWS_AS((void)a[7].as_array(), gas::format_error);
  CHECK_THROWS_AS((void)a[2].as_int64(), gas::format_error);
  CHECK(parse_json("42", "t").as_int64() == 42);
  CHECK(parse_json(" \"top\" ", "t").as_string() == "top");
  CHECK(parse_json("null", "t").is_null());
}

TEST_CASE("json: string escapes, \\u sequences, surrogate pairs and raw UTF-8") {
  CHECK(parse_json(R"("a\"b\\c\/d\b\f\n\r\t")", "t").as_string() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(parse_json(R"("\u0041\u00e9\u20AC")", "t").as_string() == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(parse_json(R"("\ud83d\ude00")", "t").as_string() == "\xF0\x9F\x98\x80");
  CHECK(parse_json(R"("\u0000")", "t").as_string() == std::string(1, '\0'));
  CHECK(parse_json("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"", "t").as_string() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  // Escapes after a long plain run, and plain runs after escapes, keep every character.
  const std::string long_run(1000, 'x');
  CHECK(parse_json("\"" + long_run + "\\n" + long_run + "\"", "t").as_string() == long_run + "\n" + long_run);
  // Keys with escapes.
  CHECK(parse_json(R"({"k\u0031": 1})", "t").find("k1")->as_int64() == 1);
}

TEST_CASE("json: numbers") {
  CHECK(parse_json("0", "t").as_int64() == 0);
  CHECK(parse_json("-0", "t").as_int64() == 0);
  CHECK(parse_json("9223372036854775807", "t").as_int64() == std::numeric_limits<std::int64_t>::max());
  CHECK(parse_json("-9223372036854775808", "t").as_int64() == std::numeric_limits<std::int64_t>::min());
  const auto big = parse_json("9223372036854775808", "t");
  CHECK_FALSE(big.is_integer());
  CHECK(big.as_double() == 9223372036854775808.0);
  CHECK(parse_json("123456789012345678901234567890", "t").as_double() == doctest::Approx(1.2345678901234568e29));
  CHECK(parse_json("-1.25e-2", "t").as_double() == -0.0125);
  CHECK(parse_json("2E+2", "t").as_double() == 200.0);
  CHECK(parse_json("1e400", "t").as_double() == std::numeric_limits<double>::infinity());
  CHECK(parse_json("0.5", "t").as_double() == 0.5);
}

TEST_CASE("json: events arrive in document order") {
  Recorder r;
  parse_json(R"({"x": [1, 2.5, "s", null, true], "y": {"z": false}})", "t", r);
  CHECK(r.log == "{ k:x [ i1 d2.5 s:s n T ] k:y { k:z F } } ");
}

TEST_CASE("json: malformed documents are format errors naming the source and byte offset") {
  const std::vector<std::string> bad = {
      "",                    // empty
      "   ",                 // only space
      "{",                   // unterminated object
      "[1, 2",               // unterminated array
      "[1,]",                // trailing comma
      "{\"a\":1,}",          // trailing comma in object
      "{a: 1}",              // unquoted key
      "{'a': 1}",            // single quotes
      "{\"a\" 1}",           // missing colon
      "{\"a\": 1 \"b\": 2}", // missing comma
      "[1 2]",               // missing comma
      "01",                  // leading zero
      "-",                   // bare minus
      "1.",                  // no fraction digits
      ".5",                  // no integer part
      "1e",                  // no exponent digits
      "+1",                  // plus sign
      "NaN",                 // not JSON
      "Infinity",            // not JSON
      "tru",                 // truncated literal
      "nul",                 // truncated literal
      "True",                // wrong case
      "\"abc",               // unterminated string
      "\"a\\x\"",            // bad escape
      "\"\\u12G4\"",         // bad hex
      "\"\\u12\"",           // short \u
      "\"\\ud800\"",         // lone high surrogate
      "\"\\udc00\"",         // lone low surrogate
      "\"\\ud800\\u0041\"",  // high surrogate + non-surrogate
      "\"a\tb\"",            // raw control character
      "\"\xC3\"",            // truncated UTF-8
      "\"\xC0\xAF\"",        // overlong UTF-8
      "\"\xED\xA0\x80\"",    // UTF-8 encoded surrogate
      "\"\xFF\"",            // invalid byte
      "[1] [2]",             // two documents
      "{} x",                // trailing junk
      "[\"a\":1]",           // colon in array
  };
  for (const auto& doc : bad) {
    CAPTURE(doc);
    CHECK_THROWS_NAMING(gas::format_error, parse_json(doc, "bad.json"), "bad.json", "byte ");
  }
  // The offset points at the problem.
  CHECK_THROWS_NAMING(gas::format_error, parse_json("[1, 2, x]", "o.json"), "o.json: byte 7:", "'x'");
}

TEST_CASE("json: nesting depth is limited") {
  const std::string ok = std::string(512, '[') + std::string(512, ']');
  CHECK(parse_json(ok, "d.json").is_array());
  const std::string deep = std::string(513, '[') + std::string(513, ']');
  CHECK_THROWS_NAMING(gas::format_error, parse_json(deep, "d.json"), "d.json", "nesting deeper than 512");
  CHECK_THROWS_NAMING(gas::format_error, parse_json("[[[1]]]", "s.json", {.max_depth = 2}), "s.json", "nesting");
  CHECK(parse_json("[[1]]", "s.json", {.max_depth = 2}).is_array());
  // Hostile depth ends in an error, not a stack overflow.
  std::string hostile;
  for (int i = 0; i < 200000; ++i) hostile += "{\"a\":";
  CHECK_THROWS_NAMING(gas::format_error, parse_json(hostile, "h.json"), "h.json", "nesting");
}

TEST_CASE("json: read_json names the file") {
  gas_test::TempDir dir;
  CHECK_THROWS_NAMING(gas::io_error, gas::io::read_json(dir / "absent.json"), "absent.json");
  gas_test::write_file(dir / "a.json", std::string(R"({"k": [1, 2]})"));
  CHECK(gas::io::read_json(dir / "a.json").find("k")->as_array().size() == 2);
  gas_test::write_file(dir / "b.json", std::string(R"({"k": [1, 2})"));
  CHECK_THROWS_NAMING(gas::format_error, gas::io::read_json(dir / "b.json"), "b.json", "byte 11");
}

TEST_CASE("json: a class_map-sized document through events") {
  // 100k keys x 100-element 0/1 arrays: 10M numbers, about 31 MB, the shape of GraphSAINT's Yelp class_map.
  const int keys = 100000, width = 100;
  std::string doc;
  doc.reserve(static_cast<std::size_t>(keys) * (width * 3 + 12));
  doc += '{';
  std::int64_t ones = 0;
  for (int k = 0; k < keys; ++k) {
    if (k) doc += ", ";
    doc += '"' + std::to_string(k) + "\": [";
    for (int j = 0; j < width; ++j) {
      const int bit = (k * 31 + j * 7) % 5 == 0;
      ones += bit;
      if (j) doc += ", ";
      doc += static_cast<char>('0' + bit);
    }
    doc += ']';
  }
  doc += '}';
  Counter c;
  const auto start = std::chrono::steady_clock::now();
  parse_json(doc, "class_map.json", c);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(c.keys == keys);
  CHECK(c.numbers == std::int64_t{keys} * width);
  CHECK(c.sum == ones);
  MESSAGE("parsed " << doc.size() / 1e6 << " MB in " << seconds << " s (" << doc.size() / 1e6 / seconds << " MB/s)");
}
