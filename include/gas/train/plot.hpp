#pragma once
/// @brief Learning curves as a standalone SVG: loss and metric per epoch for one or several training logs.
///
/// SVG because it is text: a browser shows it, a test can parse it, and it needs no plotting library. A log with
/// several runs is drawn as the mean over its runs with a shaded min-max band, so the spread between seeds is
/// visible at a glance; the legend says so. An epoch where a series was not measured (NaN) breaks its line,
/// since drawing to zero or bridging the gap would invent numbers.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gas/core/atomic_file.hpp"
#include "gas/core/check.hpp"
#include "gas/core/error.hpp"
#include "gas/io/utf8.hpp"
#include "gas/train/run_log.hpp"

namespace gas::train {

/// @brief The quantities a log records per epoch that a plot can draw.
enum class Series { loss, train, val, test };

/// @brief The series' name as logs and legends spell it.
constexpr std::string_view to_string(Series s) {
  switch (s) {
    case Series::loss: return "loss";
    case Series::train: return "train";
    case Series::val: return "val";
    case Series::test: return "test";
  }
  return "unknown";
}

/// @brief One series of one log, summarized over its runs: what a plot draws as one line (and one band).
struct Curve {
  Series series = Series::val;
  std::vector<double> x;       ///< epochs, ascending, each once
  std::vector<double> y;       ///< mean over the runs with a finite value at that epoch; NaN where none has one
  std::vector<double> lo, hi;  ///< min and max over those runs; empty when the log holds a single run
  std::int32_t runs = 0;       ///< distinct runs in the log
};

/// @brief Summarizes `series` of `records` per epoch over runs. A (run, epoch) logged twice (a resumed run
/// re-logs the epochs after its checkpoint) counts once, with its last record.
inline Curve summarize(const std::vector<LogRecord>& records, Series series) {
  std::map<std::pair<std::int32_t, std::int32_t>, double> last;  // (epoch, run) -> value
  std::set<std::int32_t> runs;
  for (const LogRecord& r : records) {
    const double v = series == Series::loss    ? r.loss
                     : series == Series::train ? r.train
                     : series == Series::val   ? r.val
                                               : r.test;
    last[{r.epoch, r.run}] = v;
    runs.insert(r.run);
  }
  Curve c;
  c.series = series;
  c.runs = static_cast<std::int32_t>(runs.size());
  const bool band = c.runs > 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (auto it = last.begin(); it != last.end();) {
    const std::int32_t epoch = it->first.first;
    double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
    int n = 0;
    for (; it != last.end() && it->first.first == epoch; ++it) {
      if (!std::isfinite(it->second)) continue;
      sum += it->second;
      lo = std::min(lo, it->second);
      hi = std::max(hi, it->second);
      ++n;
    }
    c.x.push_back(epoch);
    c.y.push_back(n > 0 ? sum / n : nan);
    if (band) {
      c.lo.push_back(n > 0 ? lo : nan);
      c.hi.push_back(n > 0 ? hi : nan);
    }
  }
  return c;
}

/// @brief A log to draw: its records and the name its legend entries start with (empty: "dataset/model mode").
struct PlotLog {
  std::string name{};
  std::vector<LogRecord> records{};
};

/// @brief Which panels a plot has.
enum class PlotPanels { both, loss, metric };

/// @brief What a plot looks like.
struct PlotOptions {
  std::string title{};                   ///< empty: the log's name, or "learning curves" for several logs
  PlotPanels panels = PlotPanels::both;  ///< loss and metric side by side, or one of them
};

namespace detail {

/// Escapes text for XML content and attribute values; control characters XML 1.0 forbids become '?', bytes that
/// are not UTF-8 U+FFFD.
inline std::string xml_escape(std::string_view text) {
  const std::string s = io::detail::sanitize_utf8(text);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += '?';
        else out += c;
    }
  }
  return out;
}

/// At most `limit` bytes of UTF-8 text, cut on a character boundary, with an ellipsis when cut.
inline std::string clip_text(std::string_view s, std::size_t limit) {
  if (s.size() <= limit) return std::string(s);
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "\xE2\x80\xA6";
}

/// A coordinate with two decimals: enough for a screen, short in the file.
inline std::string px(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", v);
  return buffer;
}

/// An axis range widened to multiples of a 1-2-5 step, with about five intervals.
struct NiceAxis {
  double lo = 0, hi = 1, step = 0.2;
  int decimals = 1;  ///< digits after the point that tell the ticks apart
};

inline NiceAxis nice_axis(double lo, double hi, bool integer) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;  // nothing finite to show
  if (lo == hi) {
    // One value (a single epoch, a constant series): centre it in a small range.
    const double pad = integer ? 1.0 : (lo == 0 ? 1.0 : std::abs(lo) * 0.05);
    lo -= pad;
    hi += pad;
  }
  double raw = hi / 5 - lo / 5;  // (hi - lo) / 5 without overflow at the ends of the double range
  if (!(raw > 1e-300)) {  // a range too small for log10 (denormal values): a fixed one instead
    lo -= 1;
    hi = lo + 2;
    raw = 0.4;
  }
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
  if (integer) step = std::max(step, 1.0);
  NiceAxis a;
  a.step = step;
  a.lo = std::floor(lo / step + 1e-9) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  a.decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return a;
}

inline std::string tick_label(double v, const NiceAxis& a) {
  if (std::abs(v) < a.step * 1e-6) v = 0;  // no "-0"
  char buffer[48];
  // Fixed notation while it stays short; a diverged loss (1e30) or tiny steps get the exponent form.
  if (std::max(std::abs(a.lo), std::abs(a.hi)) >= 1e6 || a.decimals > 5) std::snprintf(buffer, sizeof buffer, "%.3g", v);
  else std::snprintf(buffer, sizeof buffer, "%.*f", a.decimals, v);
  return buffer;
}

/// The axis title of a metric as logs name it.
inline std::string metric_title(std::string_view metric) {
  if (metric == "accuracy") return "accuracy (%)";
  if (metric == "micro_f1") return "micro-F1 (%)";
  if (metric == "roc_auc") return "ROC-AUC (%)";
  if (metric.empty()) return "metric (%)";
  return std::string(metric) + " (%)";
}

/// A log's name from its records when none was given: "dataset/model mode".
inline std::string default_log_name(const std::vector<LogRecord>& records) {
  const LogRecord& r = records.front();
  std::string name = r.dataset.empty() ? std::string("log") : r.dataset;
  if (!r.model.empty()) name += "/" + r.model;
  if (!r.mode.empty()) name += " " + r.mode;
  return name;
}

/// Tableau 10: distinct hues that stay apart for the common kinds of colour blindness.
inline constexpr const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

/// How a series is stroked: validation (and loss) solid, train dashed, test dotted.
inline const char* dash_of(Series s) {
  switch (s) {
    case Series::train: return "7 4";
    case Series::test: return "1.5 4";
    default: return "";
  }
}

/// One drawn line: the summarized curve and how it looks.
struct Drawn {
  Curve curve;
  std::string label;  // legend text
  std::string color;
  std::size_t log = 0;
};

/// "M x y L x y ..." with a new M after every non-finite point; a lone point gets a zero-length segment, which
/// the round line cap shows as a dot.
template <class Px, class Py>
std::string line_path(const std::vector<double>& x, const std::vector<double>& y, Px&& to_x, Py&& to_y) {
  std::string d;
  bool open = false;
  std::size_t run = 0;
  auto close_run = [&] {
    if (open && run == 1) d += " l0,0";
    open = false;
    run = 0;
  };
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(y[i])) {
      close_run();
      continue;
    }
    if (!d.empty() && !open) d += ' ';
    d += open ? " L" : "M";
    d += px(to_x(x[i])) + "," + px(to_y(y[i]));
    open = true;
    ++run;
  }
  close_run();
  return d;
}

/// The band between lo and hi: one closed subpath per stretch of finite epochs (forward along hi, back along lo).
template <class Px, class Py>
std::string band_path(const Curve& c, Px&& to_x, Py&& to_y) {
  std::string d;
  std::size_t i = 0;
  while (i < c.x.size()) {
    if (!std::isfinite(c.lo[i]) || !std::isfinite(c.hi[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < c.x.size() && std::isfinite(c.lo[j]) && std::isfinite(c.hi[j])) ++j;
    if (!d.empty()) d += ' ';
    for (std::size_t k = i; k < j; ++k) d += (k == i ? "M" : " L") + px(to_x(c.x[k])) + "," + px(to_y(c.hi[k]));
    for (std::size_t k = j; k-- > i;) d += " L" + px(to_x(c.x[k])) + "," + px(to_y(c.lo[k]));
    d += " Z";
    i = j;
  }
  return d;
}

/// Extends [lo, hi] by the finite values of `v`.
inline void extend(double& lo, double& hi, const std::vector<double>& v) {
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
}

/// Panel geometry (pixels) shared by the renderer's pieces.
struct PanelBox {
  double x0, left, right, top, bottom;
};

inline void render_panel(std::string& svg, const PanelBox& box, const std::string& id, const std::string& title,
                         const std::string& y_title, const std::vector<const Drawn*>& curves) {
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  for (const Drawn* d : curves) {
    extend(xlo, xhi, d->curve.x);
    extend(ylo, yhi, d->curve.y);
    extend(ylo, yhi, d->curve.lo);
    extend(ylo, yhi, d->curve.hi);
  }
  const bool has_data = std::isfinite(ylo);
  const NiceAxis ax = nice_axis(xlo, xhi, true), ay = nice_axis(ylo, yhi, false);
  const auto to_x = [&](double v) { return box.left + (v - ax.lo) / (ax.hi - ax.lo) * (box.right - box.left); };
  const auto to_y = [&](double v) { return box.bottom - (v - ay.lo) / (ay.hi - ay.lo) * (box.bottom - box.top); };
  const double mid_x = (box.left + box.right) / 2, mid_y = (box.top + box.bottom) / 2;

  svg += "<g class=\"panel\" id=\"" + id + "\">\n";
  svg += "<text class=\"panel-title\" x=\"" + px(mid_x) + "\" y=\"" + px(box.top - 12) +
         "\" text-anchor=\"middle\" font-size=\"14\">" + xml_escape(title) + "</text>\n";
  // Grid and ticks at the same 1-2-5 values, labels outside the frame.
  // At most 40 ticks: values so large that lo + step rounds back to lo must not loop forever.
  for (int i = 0; i <= 40; ++i) {
    const double v = ax.lo + i * ax.step;
    if (v > ax.hi + ax.step * 1e-6) break;
    const std::string x = px(to_x(v));
    svg += "<line class=\"grid\" x1=\"" + x + "\" y1=\"" + px(box.top) + "\" x2=\"" + x + "\" y2=\"" +
           px(box.bottom) + "\" stroke=\"#e5e5e5\"/>\n";
    svg += "<line class=\"tick\" x1=\"" + x + "\" y1=\"" + px(box.bottom) + "\" x2=\"" + x + "\" y2=\"" +
           px(box.bottom + 5) + "\" stroke=\"#333\"/>\n";
    svg += "<text class=\"tick-label\" x=\"" + x + "\" y=\"" + px(box.bottom + 18) + "\" text-anchor=\"middle\">" +
           tick_label(v, ax) + "</text>\n";
  }
  for (int i = 0; i <= 40; ++i) {
    const double v = ay.lo + i * ay.step;
    if (v > ay.hi + ay.step * 1e-6) break;
    const std::string y = px(to_y(v));
    svg += "<line class=\"grid\" x1=\"" + px(box.left) + "\" y1=\"" + y + "\" x2=\"" + px(box.right) + "\" y2=\"" +
           y + "\" stroke=\"#e5e5e5\"/>\n";
    svg += "<line class=\"tick\" x1=\"" + px(box.left - 5) + "\" y1=\"" + y + "\" x2=\"" + px(box.left) + "\" y2=\"" +
           y + "\" stroke=\"#333\"/>\n";
    svg += "<text class=\"tick-label\" x=\"" + px(box.left - 8) + "\" y=\"" + px(to_y(v) + 4) +
           "\" text-anchor=\"end\">" + tick_label(v, ay) + "</text>\n";
  }
  svg += "<path class=\"axis\" d=\"M" + px(box.left) + "," + px(box.top) + " V" + px(box.bottom) + " H" +
         px(box.right) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg += "<text class=\"axis-title\" x=\"" + px(mid_x) + "\" y=\"" + px(box.bottom + 38) +
         "\" text-anchor=\"middle\">epoch</text>\n";
  const std::string yt_x = px(box.x0 + 16), yt_y = px(mid_y);
  svg += "<text class=\"axis-title\" x=\"" + yt_x + "\" y=\"" + yt_y + "\" text-anchor=\"middle\" transform=\"rotate(-90 " +
         yt_x + " " + yt_y + ")\">" + xml_escape(y_title) + "</text>\n";
  if (!has_data)
    svg += "<text class=\"no-data\" x=\"" + px(mid_x) + "\" y=\"" + px(mid_y) +
           "\" text-anchor=\"middle\" fill=\"#999\">not recorded</text>\n";
  // Bands first, so every line stays on top of every band.
  for (const Drawn* d : curves) {
    if (d->curve.lo.empty()) continue;
    const std::string path = band_path(d->curve, to_x, to_y);
    if (path.empty()) continue;
    svg += "<path class=\"band\" data-log=\"" + std::to_string(d->log) + "\" data-series=\"" +
           std::string(to_string(d->curve.series)) + "\" d=\"" + path + "\" fill=\"" + d->color +
           "\" fill-opacity=\"0.15\" stroke=\"none\"/>\n";
  }
  for (const Drawn* d : curves) {
    const std::string path = line_path(d->curve.x, d->curve.y, to_x, to_y);
    if (path.empty()) continue;
    const char* dash = dash_of(d->curve.series);
    svg += "<path class=\"curve\" data-log=\"" + std::to_string(d->log) + "\" data-series=\"" +
           std::string(to_string(d->curve.series)) + "\" d=\"" + path + "\" fill=\"none\" stroke=\"" + d->color +
           "\" stroke-width=\"" + (d->curve.series == Series::val || d->curve.series == Series::loss ? "2" : "1.5") +
           "\" stroke-linecap=\"round\" stroke-linejoin=\"round\"" +
           (*dash != '\0' ? std::string(" stroke-dasharray=\"") + dash + "\"" : std::string()) + "><title>" +
           xml_escape(d->label) + "</title></path>\n";
  }
  svg += "</g>\n";
}

}  // namespace detail

/// @brief Draws `logs` as one SVG document: loss per epoch and the metric (val solid, train dashed, test dotted)
/// per epoch, in two panels side by side unless `options.panels` picks one. A log with several runs is drawn as
/// the mean over runs and a min-max band. value_error when there is no log or a log has no records.
inline std::string render_svg(const std::vector<PlotLog>& logs, const PlotOptions& options = {}) {
  GAS_CHECK(!logs.empty(), value_error, "no logs to plot");
  for (std::size_t i = 0; i < logs.size(); ++i)
    GAS_CHECK(!logs[i].records.empty(), value_error,
              "no epochs to plot in " << (logs[i].name.empty() ? "log " + std::to_string(i) : logs[i].name));

  const bool show_loss = options.panels != PlotPanels::metric, show_metric = options.panels != PlotPanels::loss;
  // One colour per log; with a single log, one colour per series instead, since there is nothing to tell apart.
  std::vector<detail::Drawn> drawn;
  std::vector<std::string> names;  // per log, as the legend shows it
  std::string metric_name;
  bool metric_mixed = false;
  for (std::size_t i = 0; i < logs.size(); ++i) {
    const std::string name = logs[i].name.empty() ? detail::default_log_name(logs[i].records) : logs[i].name;
    names.push_back(name);
    for (const LogRecord& r : logs[i].records) {
      if (r.metric.empty()) continue;
      if (metric_name.empty()) metric_name = r.metric;
      else if (metric_name != r.metric) metric_mixed = true;
    }
    int k = 0;
    for (Series s : {Series::loss, Series::val, Series::train, Series::test}) {
      ++k;
      if ((s == Series::loss && !show_loss) || (s != Series::loss && !show_metric)) continue;
      Curve c = summarize(logs[i].records, s);
      if (std::none_of(c.y.begin(), c.y.end(), [](double v) { return std::isfinite(v); })) continue;
      std::string label = name + " " + std::string(to_string(s));
      if (c.runs > 1) label += " (" + std::to_string(c.runs) + " runs)";
      const std::size_t color = (logs.size() == 1 ? static_cast<std::size_t>(k == 1 ? 0 : k - 2) : i) %
                                std::size(detail::palette);
      drawn.push_back({std::move(c), std::move(label), detail::palette[color], i});
    }
  }
  const std::string y_metric = metric_mixed ? std::string("metric (%)") : detail::metric_title(metric_name);
  const std::string metric_panel = y_metric.substr(0, y_metric.size() - 4);  // without " (%)"

  const int panels = (show_loss ? 1 : 0) + (show_metric ? 1 : 0);
  const double panel_w = panels == 2 ? 480 : 640, width = panel_w * panels;
  const double top = 72, bottom = 352;
  // The legend: one row per log, its name and then a swatch per series, so a log's entries stay together.
  // Names take what they need (about 6.5 pixels per character of a 12-pixel sans-serif font), up to what the
  // four series leave free; longer ones are cut with an ellipsis.
  std::vector<std::string> labels;
  std::size_t longest = 0;
  for (std::size_t i = 0; i < logs.size(); ++i) {
    std::int32_t runs = 0;
    for (const auto& d : drawn)
      if (d.log == i) runs = std::max(runs, d.curve.runs);
    labels.push_back(runs > 1 ? names[i] + " (" + std::to_string(runs) + " runs)" : names[i]);
    longest = std::max(longest, labels.back().size());
  }
  const double slot_w = 96, name_w = std::clamp(6.5 * static_cast<double>(longest) + 24, 120.0, width - 32 - 4 * slot_w);
  const bool any_band = std::any_of(drawn.begin(), drawn.end(), [](const auto& d) { return !d.curve.lo.empty(); });
  const std::size_t rows = logs.size() + (any_band ? 1 : 0);
  const double legend_top = bottom + 64, height = legend_top + 18.0 * static_cast<double>(rows) + 8;

  std::string title = options.title;
  if (title.empty())
    title = logs.size() == 1 ? (logs[0].name.empty() ? detail::default_log_name(logs[0].records) : logs[0].name)
                             : std::string("learning curves");

  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"gas-plot\" width=\"" + detail::px(width) + "\" height=\"" +
         detail::px(height) + "\" viewBox=\"0 0 " + detail::px(width) + " " + detail::px(height) +
         "\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#222\">\n";
  svg += "<title>" + detail::xml_escape(title) + "</title>\n";
  svg += "<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text class=\"title\" x=\"" + detail::px(width / 2) + "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\">" +
         detail::xml_escape(detail::clip_text(title, 120)) + "</text>\n";

  double x0 = 0;
  auto panel = [&](bool loss) {
    std::vector<const detail::Drawn*> mine;
    for (const auto& d : drawn)
      if ((d.curve.series == Series::loss) == loss) mine.push_back(&d);
    const detail::PanelBox box{x0, x0 + 72, x0 + panel_w - 20, top, bottom};
    detail::render_panel(svg, box, loss ? "loss" : "metric", loss ? "training loss" : metric_panel,
                         loss ? "loss" : y_metric, mine);
    x0 += panel_w;
  };
  if (show_loss) panel(true);
  if (show_metric) panel(false);

  svg += "<g class=\"legend\">\n";
  for (std::size_t i = 0; i < logs.size(); ++i) {
    const double y = legend_top + 18.0 * static_cast<double>(i);
    svg += "<text class=\"legend-label\" x=\"16\" y=\"" + detail::px(y) + "\">" +
           detail::xml_escape(detail::clip_text(labels[i], static_cast<std::size_t>((name_w - 24) / 6.5))) +
           "</text>\n";
    double x = 16 + name_w;
    for (const auto& d : drawn) {
      if (d.log != i) continue;
      const char* dash = detail::dash_of(d.curve.series);
      if (!d.curve.lo.empty())
        svg += "<rect class=\"legend-band\" x=\"" + detail::px(x) + "\" y=\"" + detail::px(y - 10) +
               "\" width=\"28\" height=\"12\" fill=\"" + d.color + "\" fill-opacity=\"0.15\"/>\n";
      svg += "<line class=\"legend-swatch\" x1=\"" + detail::px(x) + "\" y1=\"" + detail::px(y - 4) + "\" x2=\"" +
             detail::px(x + 28) + "\" y2=\"" + detail::px(y - 4) + "\" stroke=\"" + d.color +
             "\" stroke-width=\"2\" stroke-linecap=\"round\"" +
             (*dash != '\0' ? std::string(" stroke-dasharray=\"") + dash + "\"" : std::string()) + "/>\n";
      svg += "<text class=\"legend-series\" x=\"" + detail::px(x + 34) + "\" y=\"" + detail::px(y) + "\">" +
             std::string(to_string(d.curve.series)) + "</text>\n";
      x += slot_w;
    }
  }
  if (any_band)
    svg += "<text class=\"legend-note\" x=\"16\" y=\"" + detail::px(legend_top + 18.0 * static_cast<double>(rows - 1)) +
           "\" fill=\"#555\">lines: mean over runs; shaded bands: min\xE2\x80\x93max over runs</text>\n";
  svg += "</g>\n</svg>\n";
  return svg;
}

/// @brief Writes render_svg(logs, options) to `path` atomically (gas::write_file_atomic): a reader, a browser
/// reloading the plot while training runs, never sees half of it; io_error naming the path on failure.
inline void write_svg(const std::filesystem::path& path, const std::vector<PlotLog>& logs,
                      const PlotOptions& options = {}) {
  write_file_atomic(path, render_svg(logs, options));
}

}  // namespace gas::train
