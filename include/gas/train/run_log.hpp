#pragma once
/// @brief Per-epoch training logs: one record per epoch and run, written as JSON Lines or CSV, read back by either.
///
/// A log is written while training runs, so each record is one line flushed as soon as its epoch ends: a
/// killed process keeps every finished epoch, and a reader skips the one line such a kill can cut short (the
/// last, without its newline). Metrics are in percent, and NaN where an epoch was not evaluated: JSON has no
/// NaN, so JSONL writes `null`; CSV writes an empty field. Both read back as NaN.

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/core/exact_text.hpp"
#include "gas/core/json_writer.hpp"
#include "gas/io/file.hpp"
#include "gas/io/json.hpp"
#include "gas/io/utf8.hpp"

namespace gas::train {

/// @brief One epoch of one run. Metrics in percent; NaN for what was not measured that epoch.
struct LogRecord {
  std::int32_t run = 0;    ///< 0-based run index (gas-train --runs)
  std::int32_t epoch = 0;  ///< 1-based: the number of epochs completed
  double loss = std::numeric_limits<double>::quiet_NaN();      ///< mean training loss of the epoch
  double train = std::numeric_limits<double>::quiet_NaN();     ///< metric on the training split, percent
  double val = std::numeric_limits<double>::quiet_NaN();       ///< metric on the validation split, percent
  double test = std::numeric_limits<double>::quiet_NaN();      ///< metric on the test split, percent
  double seconds = std::numeric_limits<double>::quiet_NaN();   ///< wall time of the epoch's training steps
  double lr = std::numeric_limits<double>::quiet_NaN();        ///< learning rate the epoch ran with
  double best_val = std::numeric_limits<double>::quiet_NaN();  ///< best validation metric so far in the run
  std::string dataset{};  ///< e.g. "cora"
  std::string model{};    ///< e.g. "gcn"
  std::string mode{};     ///< "gas" or "full"
  std::string metric{};   ///< train::to_string(Metric): "accuracy", "micro_f1", "roc_auc"
};

/// @brief How a log file is encoded; `from_extension` picks by the file name (`.jsonl` or `.csv`).
enum class LogFormat { from_extension, jsonl, csv };

/// @brief How LogWriter opens its file.
struct LogOptions {
  LogFormat format = LogFormat::from_extension;
  /// Continue an existing log (a resumed run) instead of truncating it. A line cut short by a killed writer
  /// is dropped first, and a CSV keeps its one header.
  bool append = false;
};

namespace detail {

/// The columns of both formats, in the order they are written.
inline constexpr std::array<std::string_view, 13> log_columns = {
    "run", "epoch", "loss", "train", "val", "test", "best_val", "seconds", "lr", "dataset", "model", "mode", "metric"};

inline std::string errno_text() { return std::strerror(errno); }

/// A record's numeric fields in column order (2..8), so writer and readers walk one table.
inline std::array<double*, 7> numeric_fields(LogRecord& r) {
  return {&r.loss, &r.train, &r.val, &r.test, &r.best_val, &r.seconds, &r.lr};
}
inline std::array<const double*, 7> numeric_fields(const LogRecord& r) {
  return {&r.loss, &r.train, &r.val, &r.test, &r.best_val, &r.seconds, &r.lr};
}
inline std::array<std::string*, 4> string_fields(LogRecord& r) { return {&r.dataset, &r.model, &r.mode, &r.metric}; }
inline std::array<const std::string*, 4> string_fields(const LogRecord& r) {
  return {&r.dataset, &r.model, &r.mode, &r.metric};
}

/// One JSON object on one line; non-finite numbers are null (JSON has neither NaN nor infinity).
inline std::string jsonl_line(const LogRecord& r) {
  // JsonWriter prints 10 significant digits, and a log must round-trip: numbers go through to_chars here and
  // JsonWriter escapes the strings.
  std::string out = "{\"run\":" + std::to_string(r.run) + ",\"epoch\":" + std::to_string(r.epoch);
  const auto numbers = numeric_fields(r);
  for (std::size_t k = 0; k < numbers.size(); ++k) {
    out += ",\"";
    out += log_columns[2 + k];
    out += "\":";
    if (std::isfinite(*numbers[k])) out += exact_text(*numbers[k]);
    else out += "null";
  }
  JsonWriter strings;
  const auto texts = string_fields(r);
  for (std::size_t k = 0; k < texts.size(); ++k) strings.add(log_columns[9 + k], io::detail::sanitize_utf8(*texts[k]));
  const std::string tail = strings.str();  // {"dataset":...}: its '}' closes the record
  out += ',';
  out.append(tail, 1, std::string::npos);
  out += '\n';
  return out;
}

/// RFC 4180 quoting: only fields with a comma, a quote or a line break are quoted, quotes doubled.
inline void append_csv_text(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

inline std::string csv_header() {
  std::string out;
  for (std::size_t k = 0; k < log_columns.size(); ++k) {
    if (k > 0) out += ',';
    out += log_columns[k];
  }
  out += '\n';
  return out;
}

/// One CSV row; NaN is an empty field, infinities are `inf` / `-inf` (which from_chars reads back).
inline std::string csv_line(const LogRecord& r) {
  std::string out = std::to_string(r.run) + ',' + std::to_string(r.epoch);
  for (const double* v : numeric_fields(r)) {
    out += ',';
    if (!std::isnan(*v)) out += exact_text(*v);
  }
  for (const std::string* s : string_fields(r)) {
    out += ',';
    append_csv_text(out, *s);
  }
  out += '\n';
  return out;
}

inline std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

/// The format a file name promises, if it promises one.
inline std::optional<LogFormat> format_by_name(const std::filesystem::path& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".jsonl") return LogFormat::jsonl;
  if (ext == ".csv") return LogFormat::csv;
  return std::nullopt;
}

}  // namespace detail

/// @brief The format of a log named `path`: `.jsonl` or `.csv` (any case); config_error naming the path otherwise.
inline LogFormat log_format_of(const std::filesystem::path& path) {
  if (const auto format = detail::format_by_name(path)) return *format;
  throw config_error(path.string() + ": unknown log format '" + detail::lower_extension(path) +
                     "' (a log file ends in .jsonl or .csv)");
}

/// @brief Writes a training log one record per line, flushed per record so a killed run keeps its finished epochs.
class LogWriter {
public:
  /// @brief Opens (creates, or truncates unless `options.append`) the log at `path`; config_error for an unknown
  /// extension, io_error naming the path when it cannot be opened, format_error when appending to a CSV whose
  /// header is not this format's.
  explicit LogWriter(const std::filesystem::path& path, LogOptions options = {})
      : path_(path), format_(options.format == LogFormat::from_extension ? log_format_of(path) : options.format) {
    bool empty = true;
    if (options.append) empty = prepare_append_();
    file_ = std::fopen(path_.c_str(), options.append ? "ab" : "wb");
    if (file_ == nullptr) throw io_error(path_.string() + ": cannot open for writing (" + detail::errno_text() + ")");
    if (format_ == LogFormat::csv && empty) {
      try {
        put_(detail::csv_header());
      } catch (...) {
        std::fclose(std::exchange(file_, nullptr));  // no destructor runs for a throwing constructor
        throw;
      }
    }
  }
  ~LogWriter() {
    if (file_ != nullptr) std::fclose(file_);
  }
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;
  LogWriter(LogWriter&& other) noexcept
      : path_(std::move(other.path_)), format_(other.format_), file_(std::exchange(other.file_, nullptr)) {}
  LogWriter& operator=(LogWriter&& other) noexcept {
    if (this != &other) {
      if (file_ != nullptr) std::fclose(file_);
      path_ = std::move(other.path_);
      format_ = other.format_;
      file_ = std::exchange(other.file_, nullptr);
    }
    return *this;
  }

  /// @brief Appends one record as one line and flushes it to the operating system; io_error when that fails.
  void write(const LogRecord& record) {
    if (file_ == nullptr) throw io_error(path_.string() + ": log is closed");
    put_(format_ == LogFormat::csv ? detail::csv_line(record) : detail::jsonl_line(record));
  }

  /// @brief Closes the file now, reporting a failure as io_error (the destructor cannot); later writes fail.
  void close() {
    if (file_ == nullptr) return;
    const int rc = std::fclose(std::exchange(file_, nullptr));
    if (rc != 0) throw io_error(path_.string() + ": close failed (" + detail::errno_text() + ")");
  }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] LogFormat format() const { return format_; }

private:
  void put_(const std::string& line) {
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
      throw io_error(path_.string() + ": write failed (" + detail::errno_text() + ")");
  }

  /// Drops a trailing partial line (a killed writer's) so the next record starts on its own line, and checks a
  /// CSV's header; returns whether the file is empty (then a CSV needs its header).
  bool prepare_append_() {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) return true;
    const auto bytes = io::read_file(path_);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const auto last_newline = text.rfind('\n');
    const std::size_t keep = last_newline == std::string_view::npos ? 0 : last_newline + 1;
    if (keep != text.size()) {
      std::filesystem::resize_file(path_, keep, ec);
      if (ec) throw io_error(path_.string() + ": cannot drop the partial last line (" + ec.message() + ")");
    }
    if (keep == 0) return true;
    if (format_ == LogFormat::csv) {
      std::string_view first = text.substr(0, text.find('\n'));
      if (first.starts_with("\xEF\xBB\xBF")) first.remove_prefix(3);
      if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
      std::string expected = detail::csv_header();
      expected.pop_back();
      if (first != expected)
        throw format_error(path_.string() + ":1: cannot append: the header is '" + std::string(first) +
                           "', expected '" + expected + "'");
    }
    return false;
  }

  std::filesystem::path path_;
  LogFormat format_;
  std::FILE* file_ = nullptr;
};

namespace detail {

/// Where a reader is: the file and the line that a format_error names.
struct LogCursor {
  const std::filesystem::path& path;
  std::size_t line = 0;
  [[noreturn]] void fail(const std::string& what) const {
    throw format_error(path.string() + ":" + std::to_string(line) + ": " + what);
  }
};

inline std::int32_t parse_log_int(const LogCursor& at, std::string_view key, std::string_view text) {
  std::int32_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 0)
    at.fail("'" + std::string(key) + "' is '" + std::string(text) + "', expected a non-negative integer");
  return v;
}

inline double parse_log_double(const LogCursor& at, std::string_view key, std::string_view text) {
  if (text.empty()) return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    at.fail("'" + std::string(key) + "' is '" + std::string(text) + "', expected a number or nothing");
  return v;
}

/// The column index of `key` in log_columns, or -1 for a column this version does not know (ignored).
inline int log_column(std::string_view key) {
  for (std::size_t k = 0; k < log_columns.size(); ++k)
    if (log_columns[k] == key) return static_cast<int>(k);
  return -1;
}

/// Stores `text` (CSV) into column `column` of `r`.
inline void set_log_field(const LogCursor& at, LogRecord& r, int column, std::string_view text) {
  if (column == 0) r.run = text.empty() ? 0 : parse_log_int(at, "run", text);
  else if (column == 1) r.epoch = parse_log_int(at, "epoch", text);
  else if (column < 9) *numeric_fields(r)[static_cast<std::size_t>(column - 2)] = parse_log_double(at, log_columns[static_cast<std::size_t>(column)], text);
  else *string_fields(r)[static_cast<std::size_t>(column - 9)] = std::string(text);
}

inline LogRecord jsonl_record(const LogCursor& at, std::string_view line) {
  const io::JsonValue doc = io::parse_json(line, at.path.string() + ":" + std::to_string(at.line));
  if (!doc.is_object()) at.fail("expected a JSON object, found " + std::string(io::JsonValue::type_name(doc.type())));
  LogRecord r;
  bool has_epoch = false;
  for (const auto& member : doc.as_object()) {
    const int column = log_column(member.key);
    if (column < 0) continue;
    const io::JsonValue& v = member.value;
    const std::string key(member.key);
    if (column < 2) {
      if (!v.is_integer() || v.as_int64() < 0 || v.as_int64() > std::numeric_limits<std::int32_t>::max())
        at.fail("'" + key + "' must be a non-negative integer");
      (column == 0 ? r.run : r.epoch) = static_cast<std::int32_t>(v.as_int64());
      has_epoch |= column == 1;
    } else if (column < 9) {
      if (!v.is_null() && !v.is_number()) at.fail("'" + key + "' must be a number or null");
      *numeric_fields(r)[static_cast<std::size_t>(column - 2)] =
          v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.as_double();
    } else {
      if (!v.is_null() && !v.is_string()) at.fail("'" + key + "' must be a string");
      *string_fields(r)[static_cast<std::size_t>(column - 9)] = v.is_null() ? std::string() : v.as_string();
    }
  }
  if (!has_epoch) at.fail("the record has no 'epoch'");
  return r;
}

/// A CSV record: its fields, the line it starts on, and whether a newline ended it (a killed writer's last
/// record has none).
struct CsvRecord {
  std::vector<std::string> fields;
  std::size_t line = 0;
  bool terminated = false;
  bool open_quote = false;  // the input ended inside a quoted field
  bool blank = false;
};

/// Splits RFC 4180 text into records; quoted fields may hold commas, quotes and line breaks.
inline std::vector<CsvRecord> csv_records(const std::filesystem::path& path, std::string_view text) {
  std::vector<CsvRecord> out;
  std::size_t pos = 0, line = 1;
  while (pos < text.size()) {
    CsvRecord rec;
    rec.line = line;
    std::string field;
    bool quoted_open = false;
    while (true) {
      if (pos < text.size() && text[pos] == '"' && field.empty()) {
        ++pos;
        quoted_open = true;
        while (pos < text.size()) {
          const char c = text[pos++];
          if (c == '"') {
            if (pos < text.size() && text[pos] == '"') {
              field += '"';
              ++pos;
              continue;
            }
            quoted_open = false;
            break;
          }
          if (c == '\n') ++line;
          field += c;
        }
        if (quoted_open) break;  // end of input inside quotes: a cut record
        if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
          LogCursor{path, line}.fail("a quoted field must be followed by ',' or the end of the line");
      }
      while (pos < text.size() && text[pos] != ',' && text[pos] != '\n') field += text[pos++];
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        rec.fields.push_back(std::move(field));
        field.clear();
        continue;
      }
      break;
    }
    if (!field.empty() && field.back() == '\r') field.pop_back();
    rec.fields.push_back(std::move(field));
    if (pos < text.size() && text[pos] == '\n' && !quoted_open) {
      ++pos;
      ++line;
      rec.terminated = true;
    }
    rec.open_quote = quoted_open;
    rec.blank = rec.fields.size() == 1 && rec.fields[0].find_first_not_of(" \t") == std::string::npos;
    out.push_back(std::move(rec));
  }
  return out;
}

inline std::vector<LogRecord> read_csv_log(const std::filesystem::path& path, std::string_view text) {
  std::vector<LogRecord> out;
  const auto records = csv_records(path, text);
  std::vector<int> columns;
  bool have_header = false;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const CsvRecord& rec = records[i];
    if (rec.blank) continue;
    const LogCursor at{path, rec.line};
    const bool cut = i + 1 == records.size() && !rec.terminated;
    if (rec.open_quote) break;  // only the last record can end inside quotes: certainly cut short
    if (!have_header) {
      if (cut) break;  // killed while writing the header: no records yet
      for (const auto& name : rec.fields) columns.push_back(log_column(name));
      if (std::find(columns.begin(), columns.end(), 1) == columns.end())
        at.fail("the CSV header has no 'epoch' column");
      have_header = true;
      continue;
    }
    try {
      if (rec.fields.size() != columns.size())
        at.fail(std::to_string(rec.fields.size()) + " fields, the header has " + std::to_string(columns.size()));
      LogRecord r;
      for (std::size_t k = 0; k < columns.size(); ++k)
        if (columns[k] >= 0) set_log_field(at, r, columns[k], rec.fields[k]);
      out.push_back(std::move(r));
    } catch (const format_error&) {
      if (!cut) throw;
    }
  }
  return out;
}

inline std::vector<LogRecord> read_jsonl_log(const std::filesystem::path& path, std::string_view text) {
  std::vector<LogRecord> out;
  std::size_t pos = 0;
  LogCursor at{path};
  while (pos < text.size()) {
    ++at.line;
    const auto newline = text.find('\n', pos);
    const bool cut = newline == std::string_view::npos;
    std::string_view line = text.substr(pos, cut ? std::string_view::npos : newline - pos);
    pos = cut ? text.size() : newline + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      out.push_back(jsonl_record(at, line));
    } catch (const format_error&) {
      if (!cut) throw;  // the last line without a newline is a killed writer's: drop it
    }
  }
  return out;
}

}  // namespace detail

/// @brief Reads a log written by LogWriter (or by hand): JSONL or CSV by the extension, else by the first
/// character (`{` is JSONL). Unknown keys or columns are ignored, missing numbers are NaN, a missing run is 0; an
/// `epoch` is required. A last line cut short (no newline, not parseable) is skipped, as a killed writer leaves
/// it; any other malformed line is a format_error naming the path and the line. io_error when unreadable.
inline std::vector<LogRecord> read_log(const std::filesystem::path& path) {
  const auto bytes = io::read_file(path);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a BOM, as spreadsheet programs save CSV
  LogFormat format = detail::format_by_name(path).value_or(LogFormat::from_extension);
  if (format == LogFormat::from_extension) {
    const auto first = text.find_first_not_of(" \t\r\n");
    format = first != std::string_view::npos && text[first] == '{' ? LogFormat::jsonl : LogFormat::csv;
  }
  return format == LogFormat::jsonl ? detail::read_jsonl_log(path, text) : detail::read_csv_log(path, text);
}

}  // namespace gas::train
