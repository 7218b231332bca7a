#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gas/train/plot.hpp"
#include "test_util.hpp"

namespace {

using gas::train::LogRecord;
using gas::train::PlotLog;
using gas::train::Series;

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

/// `runs` runs of `epochs` epochs; the metrics are not evaluated at epoch `gap` (0: evaluated every epoch).
std::vector<LogRecord> make_log(int runs, int epochs, int gap = 0) {
  std::vector<LogRecord> out;
  for (int run = 0; run < runs; ++run)
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      LogRecord r;
      r.run = run;
      r.epoch = epoch;
      r.loss = 2.0 / epoch + 0.05 * run;
      const bool evaluated = epoch != gap;
      r.train = evaluated ? 40 + 5.0 * epoch + run : not_a_number;
      r.val = evaluated ? 35 + 4.0 * epoch - run : not_a_number;
      r.test = evaluated ? 34 + 4.0 * epoch : not_a_number;
      r.dataset = "cora";
      r.model = "gcn";
      r.mode = "gas";
      r.metric = "accuracy";
      out.push_back(r);
    }
  return out;
}

/// A small well-formedness check: tags nest and close, attributes are quoted, entities are known, and there is
/// one root element. Enough to catch what a string-building renderer gets wrong.
std::string xml_problem(std::string_view s) {
  std::vector<std::string> stack;
  int roots = 0;
  std::size_t i = 0;
  auto check_text = [&](std::string_view text) -> std::string {
    for (std::size_t k = 0; k < text.size(); ++k) {
      if (text[k] == '<') return "raw '<' in text";
      if (text[k] != '&') continue;
      const auto semi = text.find(';', k);
      if (semi == std::string_view::npos) return "unterminated entity";
      const auto name = text.substr(k + 1, semi - k - 1);
      if (name != "amp" && name != "lt" && name != "gt" && name != "quot" && name != "apos" && !name.starts_with("#"))
        return "unknown entity &" + std::string(name) + ";";
    }
    return "";
  };
  while (i < s.size()) {
    const auto lt = s.find('<', i);
    if (lt == std::string_view::npos) {
      if (auto p = check_text(s.substr(i)); !p.empty()) return p;
      break;
    }
    if (auto p = check_text(s.substr(i, lt - i)); !p.empty()) return p;
    if (stack.empty() && s.substr(i, lt - i).find_first_not_of(" \n") != std::string_view::npos)
      return "text outside the root element";
    if (s.substr(lt).starts_with("<?")) {
      i = s.find("?>", lt);
      if (i == std::string_view::npos) return "unterminated <?";
      i += 2;
      continue;
    }
    const auto gt = s.find('>', lt);
    if (gt == std::string_view::npos) return "unterminated tag";
    std::string_view tag = s.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (tag.starts_with("/")) {
      const std::string name(tag.substr(1));
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
      continue;
    }
    const bool self_closing = tag.ends_with("/");
    if (self_closing) tag.remove_suffix(1);
    const auto end_name = tag.find_first_of(" \n");
    const std::string name(tag.substr(0, end_name));
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return "bad tag name '" + name + "'";
    // Attributes: name="value" pairs.
    std::string_view rest = end_name == std::string_view::npos ? std::string_view() : tag.substr(end_name);
    while (true) {
      const auto a = rest.find_first_not_of(" \n");
      if (a == std::string_view::npos) break;
      const auto eq = rest.find('=', a);
      if (eq == std::string_view::npos || eq + 1 >= rest.size() || rest[eq + 1] != '"')
        return "unquoted attribute in <" + name + ">";
      const auto close = rest.find('"', eq + 2);
      if (close == std::string_view::npos) return "unterminated attribute in <" + name + ">";
      if (auto p = check_text(rest.substr(eq + 2, close - eq - 2)); !p.empty()) return p;
      rest = rest.substr(close + 1);
    }
    if (stack.empty()) ++roots;
    if (!self_closing) stack.push_back(name);
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return std::to_string(roots) + " root elements";
  return "";
}

std::size_t count(std::string_view s, std::string_view what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string_view::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

/// The `d` attribute of every element with class `cls`, in document order.
std::vector<std::string> paths_of(const std::string& svg, std::string_view cls) {
  std::vector<std::string> out;
  const std::string marker = "class=\"" + std::string(cls) + "\"";
  for (auto p = svg.find(marker); p != std::string::npos; p = svg.find(marker, p + 1)) {
    const auto d = svg.find(" d=\"", p);
    out.push_back(svg.substr(d + 4, svg.find('"', d + 4) - d - 4));
  }
  return out;
}

/// Every coordinate of the curves and bands lies inside the drawing (0..width, 0..height).
void check_inside(const std::string& svg) {
  const auto w = std::stod(svg.substr(svg.find("width=\"") + 7));
  const auto h = std::stod(svg.substr(svg.find("height=\"") + 8));
  for (const char* cls : {"curve", "band"})  // M/L/Z pairs only (the axis uses V and H)
    for (const std::string& d : paths_of(svg, cls)) {
      std::string numbers = d;
      for (char& c : numbers)
        if (std::isalpha(static_cast<unsigned char>(c)) || c == ',') c = ' ';
      std::istringstream in(numbers);
      double x = 0, y = 0;
      while (in >> x >> y) {
        if (d.find(" l0,0") != std::string::npos && x == 0 && y == 0) continue;  // a dot's zero-length step
        CHECK(x >= 0);
        CHECK(x <= w);
        CHECK(y >= 0);
        CHECK(y <= h);
      }
    }
}

}  // namespace

TEST_CASE("plot: nice axes step 1-2-5 and cover the data") {
  using gas::train::detail::nice_axis;
  auto a = nice_axis(0.13, 0.87, false);
  CHECK(a.step == doctest::Approx(0.2));
  CHECK(a.lo == doctest::Approx(0.0));
  CHECK(a.hi == doctest::Approx(1.0));
  CHECK(a.decimals == 1);
  a = nice_axis(1, 200, true);
  CHECK(a.step == 50);
  CHECK(a.lo == 0);
  CHECK(a.hi == 200);
  a = nice_axis(1, 3, true);  // epochs never get fractional ticks
  CHECK(a.step == 1);
  a = nice_axis(72.5, 72.5, false);  // a constant series still gets a range
  CHECK(a.lo < 72.5);
  CHECK(a.hi > 72.5);
  a = nice_axis(5, 5, true);  // a single epoch
  CHECK(a.lo <= 4);
  CHECK(a.hi >= 6);
  a = nice_axis(std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(), false);
  CHECK(a.lo == 0);
  CHECK(a.hi == doctest::Approx(1.0));
  CHECK(gas::train::detail::tick_label(-1e-17, nice_axis(-1, 1, false)) == "0.0");
}

TEST_CASE("plot: summarize takes the mean, min and max over runs; a re-logged epoch counts once") {
  auto records = make_log(3, 4, 2);
  LogRecord redo = records[0];  // run 0, epoch 1 logged again after a resume, with another value
  redo.val = 100;
  records.push_back(redo);
  const auto c = gas::train::summarize(records, Series::val);
  CHECK(c.runs == 3);
  REQUIRE(c.x == std::vector<double>{1, 2, 3, 4});
  CHECK(c.y[0] == doctest::Approx((100 + 38 + 37) / 3.0));
  CHECK(c.lo[0] == 37);
  CHECK(c.hi[0] == 100);
  CHECK(std::isnan(c.y[1]));
  CHECK(std::isnan(c.lo[1]));
  CHECK(c.y[3] == doctest::Approx(50));
  const auto one = gas::train::summarize(make_log(1, 3), Series::loss);
  CHECK(one.runs == 1);
  CHECK(one.lo.empty());
  CHECK(one.y[1] == doctest::Approx(1.0));
}

TEST_CASE("plot: a 2-run log and a 1-run log, drawn together") {
  const std::vector<PlotLog> logs = {{"two runs", make_log(2, 6, 3)}, {"one <run> & more", make_log(1, 6)}};
  const std::string svg = gas::train::render_svg(logs, {.title = "cora \"gcn\""});
  CAPTURE(svg);
  CHECK(xml_problem(svg).empty());
  CHECK(svg.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(svg.find("viewBox=\"0 0 ") != std::string::npos);
  // loss, val, train, test for each log; a band for each series of the 2-run log only.
  CHECK(count(svg, "class=\"curve\"") == 8);
  CHECK(count(svg, "class=\"band\"") == 4);
  CHECK(count(svg, "class=\"band\" data-log=\"0\"") == 4);
  CHECK(count(svg, "class=\"axis\"") == 2);
  CHECK(count(svg, ">epoch</text>") == 2);
  CHECK(svg.find(">loss</text>") != std::string::npos);
  CHECK(svg.find(">accuracy (%)</text>") != std::string::npos);
  CHECK(svg.find("cora &quot;gcn&quot;") != std::string::npos);
  CHECK(svg.find("one &lt;run&gt; &amp; more val") != std::string::npos);
  CHECK(svg.find("two runs val (2 runs)") != std::string::npos);
  CHECK(svg.find("min\xE2\x80\x93max over runs") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  // The metrics of the 2-run log were not evaluated at epoch 3: each of its metric lines and bands is in two
  // pieces; its loss was, so the loss line is one.
  const auto curves = paths_of(svg, "curve");
  const auto bands = paths_of(svg, "band");
  REQUIRE(curves.size() == 8);
  CHECK(count(curves[0], "M") == 1);  // loss panel first: the 2-run log's loss
  CHECK(count(curves[0], "L") == 5);
  for (int k = 2; k < 5; ++k) CHECK(count(curves[k], "M") == 2);  // val, train, test of log 0
  for (int k = 5; k < 8; ++k) CHECK(count(curves[k], "M") == 1);  // log 1, evaluated every epoch
  for (std::size_t k = 1; k < bands.size(); ++k) CHECK(count(bands[k], "Z") == 2);
  check_inside(svg);
}

TEST_CASE("plot: one panel, one epoch, constant values") {
  auto records = make_log(1, 1);
  records[0].train = records[0].val = records[0].test = 50;
  const std::string svg = gas::train::render_svg({{"", records}}, {.panels = gas::train::PlotPanels::metric});
  CHECK(xml_problem(svg).empty());
  CHECK(count(svg, "class=\"curve\"") == 3);
  CHECK(count(svg, "class=\"band\"") == 0);
  CHECK(svg.find("data-series=\"loss\"") == std::string::npos);
  CHECK(svg.find(" l0,0") != std::string::npos);  // a lone point is drawn as a dot
  CHECK(svg.find("<title>cora/gcn gas</title>") != std::string::npos);  // the name comes from the records
  check_inside(svg);

  const std::string loss = gas::train::render_svg({{"x", make_log(3, 2)}}, {.panels = gas::train::PlotPanels::loss});
  CHECK(xml_problem(loss).empty());
  CHECK(count(loss, "class=\"curve\"") == 1);
  CHECK(count(loss, "class=\"band\"") == 1);
}

TEST_CASE("plot: a log whose metrics were never evaluated still draws its loss") {
  auto records = make_log(1, 4);
  for (auto& r : records) r.train = r.val = r.test = not_a_number;
  const std::string svg = gas::train::render_svg({{"x", records}});
  CHECK(xml_problem(svg).empty());
  CHECK(count(svg, "class=\"curve\"") == 1);
  CHECK(svg.find("class=\"no-data\"") != std::string::npos);
  check_inside(svg);
}

TEST_CASE("plot: extreme values neither hang nor leave the drawing") {
  auto records = make_log(1, 3);
  records[0].loss = 1e300;
  records[1].loss = -1e300;
  records[2].loss = std::numeric_limits<double>::infinity();  // diverged: not drawn
  for (auto& r : records) r.val = 1e-320;  // denormal, constant
  const std::string svg = gas::train::render_svg({{"caf\xE9", records}});  // a Latin-1 name
  CHECK(xml_problem(svg).empty());
  CHECK(svg.find("caf\xEF\xBF\xBD") != std::string::npos);
  CHECK(svg.find("caf\xE9") == std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find(">1e+300</text>") != std::string::npos);  // not 301 digits
  check_inside(svg);
}

TEST_CASE("plot: nothing to plot is a value_error naming the log") {
  CHECK_THROWS_AS(gas::train::render_svg({}), gas::value_error);
  try {
    (void)gas::train::render_svg({{"a", make_log(1, 2)}, {"empty.jsonl", {}}});
    FAIL("no error");
  } catch (const gas::value_error& e) {
    CHECK(std::string(e.what()).find("no epochs to plot in empty.jsonl") != std::string::npos);
  }
}

TEST_CASE("plot: write_svg replaces the file whole; a bad folder is an io_error") {
  gas_test::TempDir dir;
  const auto path = dir / "curves.svg";
  {
    std::ofstream(path) << "old";
  }
  gas::train::write_svg(path, {{"x", make_log(2, 3)}});
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == gas::train::render_svg({{"x", make_log(2, 3)}}));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 1);
  CHECK_THROWS_AS(gas::train::write_svg(dir / "missing" / "c.svg", {{"x", make_log(1, 3)}}), gas::io_error);
}
