// The code examples of docs/training.md's "Logs and learning curves": each region between example-begin/example-end
// markers is copied verbatim into the document, and tools/check_snippets.py (test doc_snippets) keeps the two equal.
#include <doctest/doctest.h>

#include <gas/gas.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"

TEST_CASE("docs/training: write a log, read it back, plot it") {
  gas_test::TempDir dir;
  const std::filesystem::path log_path = dir / "cora-gcn.jsonl", svg_path = dir / "cora-gcn.svg";
  // example-begin log-write
  gas::train::LogWriter log(log_path);  // .jsonl or .csv; {.append = true} continues a resumed run's log
  for (std::int32_t epoch = 1; epoch <= 3; ++epoch) {
    gas::train::LogRecord r{.run = 0, .epoch = epoch, .loss = 2.0 / epoch, .train = 50.0 + epoch,
                            .val = 40.0 + epoch, .test = 39.0 + epoch, .seconds = 0.01, .lr = 0.01,
                            .best_val = 40.0 + epoch, .dataset = "cora", .model = "gcn", .mode = "gas",
                            .metric = "accuracy"};
    log.write(r);  // one line, flushed: a killed run keeps every finished epoch
  }
  // example-end log-write
  log.close();
  // example-begin log-plot
  std::vector<gas::train::LogRecord> records = gas::train::read_log(log_path);  // JSONL or CSV
  double best = 0;
  for (const auto& r : records)
    if (std::isfinite(r.val)) best = std::max(best, r.val);  // NaN: not evaluated that epoch
  std::printf("%zu epochs, best val %.2f %%\n", records.size(), best);
  gas::train::write_svg(svg_path, {{.name = "cora gcn", .records = records}}, {.title = "Cora, GCN"});
  // example-end log-plot
  CHECK(records.size() == 3);
  CHECK(best == 43);
  CHECK(std::filesystem::file_size(svg_path) > 1000);
}
