#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "gas/train/run_log.hpp"
#include "test_util.hpp"

namespace {

using gas::train::LogFormat;
using gas::train::LogRecord;

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

/// Equal field by field, NaN equal to NaN: a round trip must keep "not evaluated" as it was.
bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }
bool same(const LogRecord& a, const LogRecord& b) {
  return a.run == b.run && a.epoch == b.epoch && same(a.loss, b.loss) && same(a.train, b.train) &&
         same(a.val, b.val) && same(a.test, b.test) && same(a.seconds, b.seconds) && same(a.lr, b.lr) &&
         same(a.best_val, b.best_val) && a.dataset == b.dataset && a.model == b.model && a.mode == b.mode &&
         a.metric == b.metric;
}

std::vector<LogRecord> sample() {
  std::vector<LogRecord> out;
  for (std::int32_t run = 0; run < 2; ++run)
    for (std::int32_t epoch = 1; epoch <= 3; ++epoch) {
      LogRecord r;
      r.run = run;
      r.epoch = epoch;
      r.loss = 1.0 / (epoch + 0.1 * run) + 0.1;  // not short in decimal: the writer must round-trip it
      r.train = epoch == 2 ? not_a_number : 30.0 + epoch;
      r.val = epoch == 2 ? not_a_number : 28.2 + epoch / 3.0;
      r.test = epoch == 2 ? not_a_number : 29.1;
      r.best_val = epoch == 1 ? 28.2 + 1 / 3.0 : 28.2 + 1;
      r.seconds = 0.0123 * epoch;
      r.lr = 0.01;
      r.dataset = "co\"ra, \\ \"quoted\"";  // quotes, a comma and a backslash in both formats
      r.model = "gcn";
      r.mode = "gas";
      r.metric = "accuracy";
      out.push_back(r);
    }
  out.back().model = "line\nbreak";
  return out;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string error_of(const std::filesystem::path& p) {
  try {
    (void)gas::train::read_log(p);
  } catch (const gas::format_error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("run_log: JSONL and CSV round trips keep every field, NaN included") {
  gas_test::TempDir dir;
  for (const char* name : {"log.jsonl", "log.csv", "LOG.CSV"}) {
    CAPTURE(name);
    const auto path = dir / name;
    const auto records = sample();
    {
      gas::train::LogWriter w(path);
      for (const auto& r : records) w.write(r);
    }
    const auto back = gas::train::read_log(path);
    REQUIRE(back.size() == records.size());
    for (std::size_t i = 0; i < back.size(); ++i) CHECK(same(back[i], records[i]));
  }
}

TEST_CASE("run_log: the line layouts of docs/training.md") {
  gas_test::TempDir dir;
  LogRecord r{.run = 0, .epoch = 1, .loss = 1.94, .train = 30, .val = 28.2, .test = 29.1, .seconds = 0.0123,
              .lr = 0.01, .best_val = 28.2, .dataset = "cora", .model = "gcn", .mode = "gas", .metric = "accuracy"};
  LogRecord later = r;
  later.epoch = 2;
  later.train = later.val = later.test = not_a_number;  // not evaluated
  {
    gas::train::LogWriter j(dir / "a.jsonl");
    gas::train::LogWriter c(dir / "a.csv");
    for (const auto& x : {r, later}) {
      j.write(x);
      c.write(x);
    }
  }
  CHECK(slurp(dir / "a.jsonl") ==
        "{\"run\":0,\"epoch\":1,\"loss\":1.94,\"train\":30,\"val\":28.2,\"test\":29.1,\"best_val\":28.2,"
        "\"seconds\":0.0123,\"lr\":0.01,\"dataset\":\"cora\",\"model\":\"gcn\",\"mode\":\"gas\",\"metric\":\"accuracy\"}\n"
        "{\"run\":0,\"epoch\":2,\"loss\":1.94,\"train\":null,\"val\":null,\"test\":null,\"best_val\":28.2,"
        "\"seconds\":0.0123,\"lr\":0.01,\"dataset\":\"cora\",\"model\":\"gcn\",\"mode\":\"gas\",\"metric\":\"accuracy\"}\n");
  CHECK(slurp(dir / "a.csv") ==
        "run,epoch,loss,train,val,test,best_val,seconds,lr,dataset,model,mode,metric\n"
        "0,1,1.94,30,28.2,29.1,28.2,0.0123,0.01,cora,gcn,gas,accuracy\n"
        "0,2,1.94,,,,28.2,0.0123,0.01,cora,gcn,gas,accuracy\n");
}

TEST_CASE("run_log: text that is not UTF-8 is replaced, so the log stays readable") {
  gas_test::TempDir dir;
  LogRecord r;
  r.epoch = 1;
  r.dataset = "caf\xE9";  // Latin-1
  {
    gas::train::LogWriter w(dir / "latin1.jsonl");
    w.write(r);
  }
  CHECK(gas::train::read_log(dir / "latin1.jsonl").at(0).dataset == "caf\xEF\xBF\xBD");
  CHECK(gas::io::detail::sanitize_utf8("\xC3\xA9t\xC3\xA9 \xED\xA0\x80 \xF0\x9F\x98\x80") ==
        "\xC3\xA9t\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xF0\x9F\x98\x80");  // a surrogate is 3 bad bytes
}

TEST_CASE("run_log: each record is on disk as soon as write returns") {
  gas_test::TempDir dir;
  gas::train::LogWriter w(dir / "live.csv");
  LogRecord r;
  r.epoch = 1;
  w.write(r);
  CHECK(gas::train::read_log(dir / "live.csv").size() == 1);  // read while the writer is still open
  r.epoch = 2;
  w.write(r);
  CHECK(gas::train::read_log(dir / "live.csv").size() == 2);
}

TEST_CASE("run_log: append continues a log with one CSV header and drops a cut last line") {
  gas_test::TempDir dir;
  for (const char* name : {"resume.csv", "resume.jsonl"}) {
    CAPTURE(name);
    const auto path = dir / name;
    const auto records = sample();
    {
      gas::train::LogWriter w(path);
      for (std::size_t i = 0; i < 3; ++i) w.write(records[i]);
    }
    const std::string whole = slurp(path);
    spit(path, whole + whole.substr(whole.find('\n') + 1, 9));  // a killed writer's partial fourth line
    {
      gas::train::LogWriter w(path, {.append = true});
      for (std::size_t i = 3; i < records.size(); ++i) w.write(records[i]);
    }
    const std::string text = slurp(path);
    CHECK(text.find("run,epoch") == (std::string(name).ends_with(".csv") ? 0 : std::string::npos));
    CHECK(text.rfind("run,epoch") == text.find("run,epoch"));  // at most one header
    const auto back = gas::train::read_log(path);
    REQUIRE(back.size() == records.size());
    for (std::size_t i = 0; i < back.size(); ++i) CHECK(same(back[i], records[i]));
  }
  SUBCASE("appending to a missing or empty file starts it, with a CSV header") {
    {
      gas::train::LogWriter w(dir / "new.csv", {.append = true});
      w.write(sample()[0]);
    }
    CHECK(slurp(dir / "new.csv").starts_with("run,epoch,"));
    CHECK(gas::train::read_log(dir / "new.csv").size() == 1);
  }
  SUBCASE("appending to a CSV of another layout is refused") {
    spit(dir / "other.csv", "a,b\n1,2\n");
    CHECK_THROWS_AS(gas::train::LogWriter(dir / "other.csv", {.append = true}), gas::format_error);
    CHECK(slurp(dir / "other.csv") == "a,b\n1,2\n");
  }
  SUBCASE("without append the file starts over") {
    spit(dir / "old.jsonl", "{\"epoch\":9}\n");
    { gas::train::LogWriter w(dir / "old.jsonl"); }
    CHECK(slurp(dir / "old.jsonl").empty());
  }
}

TEST_CASE("run_log: a truncated last line is skipped, a malformed line elsewhere names its line") {
  gas_test::TempDir dir;
  const std::string line = "{\"run\":0,\"epoch\":1,\"loss\":1.5}\n";
  spit(dir / "cut.jsonl", line + line + "{\"run\":0,\"epo");
  CHECK(gas::train::read_log(dir / "cut.jsonl").size() == 2);
  spit(dir / "cut.csv", "run,epoch,loss\n0,1,1.5\n0,2,1.4\n0,");
  CHECK(gas::train::read_log(dir / "cut.csv").size() == 2);
  spit(dir / "header-only.csv", "run,epoch,lo");
  CHECK(gas::train::read_log(dir / "header-only.csv").empty());
  spit(dir / "unclosed-quote.csv", "run,epoch,dataset\n0,1,\"co");
  CHECK(gas::train::read_log(dir / "unclosed-quote.csv").empty());
  spit(dir / "no-newline.jsonl", line + line.substr(0, line.size() - 1));  // whole, just no newline: kept
  CHECK(gas::train::read_log(dir / "no-newline.jsonl").size() == 2);

  spit(dir / "middle.jsonl", line + "{\"run\":0,\"epo\n" + line);
  CHECK(error_of(dir / "middle.jsonl").starts_with((dir / "middle.jsonl").string() + ":2: "));
  spit(dir / "middle.csv", "run,epoch,loss\n0,1,1.5\n0,2\n0,3,1.3\n");
  CHECK(error_of(dir / "middle.csv") == (dir / "middle.csv").string() + ":3: 2 fields, the header has 3");
  spit(dir / "bad-number.csv", "run,epoch,loss\n0,1,fast\n0,2,1\n");
  CHECK(error_of(dir / "bad-number.csv").starts_with((dir / "bad-number.csv").string() + ":2: 'loss' is 'fast'"));
  spit(dir / "bad-type.jsonl", "{\"epoch\":1,\"val\":\"high\"}\n");
  CHECK(error_of(dir / "bad-type.jsonl").find(":1: 'val' must be a number or null") != std::string::npos);
  spit(dir / "no-epoch.jsonl", "{\"run\":0}\n");
  CHECK(error_of(dir / "no-epoch.jsonl").find(":1: the record has no 'epoch'") != std::string::npos);
  spit(dir / "fraction.jsonl", "{\"epoch\":1.5}\n");
  CHECK(error_of(dir / "fraction.jsonl").find("'epoch' must be a non-negative integer") != std::string::npos);
  spit(dir / "array.jsonl", "[1,2]\n");
  CHECK(error_of(dir / "array.jsonl").find(":1: expected a JSON object") != std::string::npos);
  spit(dir / "no-epoch.csv", "run,loss\n0,1\n");
  CHECK(error_of(dir / "no-epoch.csv").find(":1: the CSV header has no 'epoch' column") != std::string::npos);
  spit(dir / "after-quote.csv", "epoch,dataset\n1,\"a\"b\n");
  CHECK(error_of(dir / "after-quote.csv").find(":2: a quoted field") != std::string::npos);
}

TEST_CASE("run_log: readers are lenient where logs from other versions differ") {
  gas_test::TempDir dir;
  // Unknown keys and columns are ignored, missing numbers are NaN, blank lines and CRLF are fine.
  spit(dir / "extra.jsonl", "{\"epoch\":2,\"grad_norm\":3.5,\"val\":null,\"note\":{\"a\":[1]}}\n\n");
  const auto j = gas::train::read_log(dir / "extra.jsonl");
  REQUIRE(j.size() == 1);
  CHECK(j[0].epoch == 2);
  CHECK(j[0].run == 0);
  CHECK(std::isnan(j[0].val));
  CHECK(std::isnan(j[0].loss));
  spit(dir / "extra.csv", "\xEF\xBB\xBF" "epoch,grad_norm,val,model\r\n1,3.5,,\"g,cn\"\r\n\r\n2,3,inf,gat\r\n");
  const auto c = gas::train::read_log(dir / "extra.csv");
  REQUIRE(c.size() == 2);
  CHECK(c[0].model == "g,cn");
  CHECK(std::isnan(c[0].val));
  CHECK(std::isinf(c[1].val));
  CHECK(c[1].model == "gat");
  // Any other extension is sniffed: '{' first means JSONL.
  spit(dir / "log.txt", "  {\"epoch\":3}\n");
  CHECK(gas::train::read_log(dir / "log.txt").at(0).epoch == 3);
  spit(dir / "log.dat", "epoch\n4\n");
  CHECK(gas::train::read_log(dir / "log.dat").at(0).epoch == 4);
  spit(dir / "empty.jsonl", "");
  CHECK(gas::train::read_log(dir / "empty.jsonl").empty());
}

TEST_CASE("run_log: bad names and unwritable paths are typed errors naming the path") {
  gas_test::TempDir dir;
  try {
    gas::train::LogWriter w(dir / "log.txt");
    FAIL("no error");
  } catch (const gas::config_error& e) {
    const std::string what = e.what();
    CHECK(what.find((dir / "log.txt").string()) == 0);
    CHECK(what.find(".jsonl or .csv") != std::string::npos);
  }
  CHECK(gas::train::log_format_of("x.JSONL") == LogFormat::jsonl);
  CHECK_THROWS_AS(gas::train::log_format_of("x.json"), gas::config_error);
  // An explicit format takes any name.
  { gas::train::LogWriter w(dir / "log.txt", {.format = LogFormat::csv}); }
  CHECK(slurp(dir / "log.txt").starts_with("run,epoch"));

  const auto missing = dir / "no-such-dir" / "log.jsonl";
  try {
    gas::train::LogWriter w(missing);
    FAIL("no error");
  } catch (const gas::io_error& e) {
    const std::string what = e.what();
    CHECK(what.find(missing.string()) == 0);
    CHECK(what.find("No such file or directory") != std::string::npos);
  }
  CHECK_THROWS_AS(gas::train::read_log(missing), gas::io_error);

  gas::train::LogWriter w(dir / "closed.jsonl");
  w.close();
  CHECK_THROWS_AS(w.write(LogRecord{}), gas::io_error);
}

TEST_CASE("run_log: a full disk is an io_error at the write, not a silently short log" *
          doctest::skip(!std::filesystem::exists("/dev/full"))) {
  gas::train::LogWriter w("/dev/full", {.format = LogFormat::jsonl});
  CHECK_THROWS_AS(w.write(LogRecord{}), gas::io_error);
}
