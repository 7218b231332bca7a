// gas-plot: learning curves of one or several training logs (gas-train --log) as one SVG file.
//
//   gas-plot LOG... -o OUT.svg [--title T] [--metric-only | --loss-only]
//
// Each LOG is JSONL or CSV (gas::train::read_log). Loss and metric per epoch are drawn side by side, one colour
// per log (per series for a single log); a log with several runs is drawn as the mean over runs with a min-max
// band. Exit status 0; 2 for a bad command line (with the usage); 1 for any other error, with a message
// `gas-plot: KIND: ...` naming the file.

#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <gas/gas.hpp>

namespace {

int usage(std::FILE* to, int status) {
  std::fputs(
      "usage: gas-plot LOG... -o OUT.svg [--title T] [--metric-only | --loss-only]\n"
      "  LOG: a training log, .jsonl or .csv (gas-train --log FILE)\n"
      "  -o, --output OUT.svg   where the plot goes (replaced whole)\n"
      "  --title T              the plot's title (default: the log's name, or \"learning curves\")\n"
      "  --metric-only          only the metric panel (train dashed, val solid, test dotted)\n"
      "  --loss-only            only the training-loss panel\n",
      to);
  return status;
}

/// Legend names: each log's file stem, or its path without the extension where two stems are equal
/// (run1/log.jsonl and run2/log.jsonl).
std::vector<std::string> names_of(const std::vector<std::filesystem::path>& paths) {
  std::map<std::string, int> seen;
  for (const auto& p : paths) ++seen[p.stem().string()];
  std::vector<std::string> names;
  for (const auto& p : paths)
    names.push_back(seen[p.stem().string()] > 1 ? (p.parent_path() / p.stem()).string() : p.stem().string());
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> logs;
  std::filesystem::path out;
  gas::train::PlotOptions options;
  bool metric_only = false, loss_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "-o" || arg == "--output") && i + 1 < argc) out = argv[++i];
    else if (arg == "--title" && i + 1 < argc) options.title = argv[++i];
    else if (arg == "--metric-only") metric_only = true;
    else if (arg == "--loss-only") loss_only = true;
    else if (arg == "-h" || arg == "--help") return usage(stdout, 0);
    else if (!arg.starts_with("-") || arg == "-") logs.emplace_back(arg);
    else {
      std::fprintf(stderr, "gas-plot: unknown or incomplete option '%s'\n", argv[i]);
      return usage(stderr, 2);
    }
  }
  if (logs.empty() || out.empty() || (metric_only && loss_only)) {
    std::fputs(logs.empty()   ? "gas-plot: no log given\n"
               : out.empty()  ? "gas-plot: no output given (-o OUT.svg)\n"
                              : "gas-plot: --metric-only and --loss-only exclude each other\n",
               stderr);
    return usage(stderr, 2);
  }
  options.panels = metric_only ? gas::train::PlotPanels::metric
                   : loss_only ? gas::train::PlotPanels::loss
                               : gas::train::PlotPanels::both;
  try {
    const auto names = names_of(logs);
    std::vector<gas::train::PlotLog> plot;
    std::size_t records = 0;
    for (std::size_t i = 0; i < logs.size(); ++i) {
      auto r = gas::train::read_log(logs[i]);
      // Named by its path here: the plot only knows the legend name.
      if (r.empty()) throw gas::value_error(logs[i].string() + ": no epochs to plot");
      records += r.size();
      plot.push_back({.name = names[i], .records = std::move(r)});
    }
    gas::train::write_svg(out, plot, options);
    std::printf("%s: %zu log%s, %zu records\n", out.string().c_str(), logs.size(), logs.size() == 1 ? "" : "s",
                records);
    return 0;
  } catch (const gas::error& e) {
    std::fprintf(stderr, "gas-plot: %s: %s\n", gas::kind_of(e), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gas-plot: error: %s\n", e.what());
    return 1;
  }
}
