// The overlapped GPU history pipeline measured in one short run (../PIPELINE.md, "One short GPU run"): the link it
// rides on, the two gathers of a pinned store, GCN epochs with no histories / synchronous / overlapped with every
// store, peak device memory as the graph grows at a fixed batch, and a timeline of the copy streams.
//
//   bench_cuda_pipeline [--json FILE] [--parts bandwidth,gather,epochs,memory,timeline] [--quick] [--deadline-s S]
//                       [--nodes N] [--part-nodes N] [--batch-parts B] [--features F] [--hidden H] [--layers L]
//                       [--classes C] [--degree D] [--epochs E] [--local-homophily H] [--transfer-homophily H]
//                       [--stores LIST] [--sync-stores LIST] [--partitioner blocks|metis] [--no-timing]
//                       [--memory-nodes LIST] [--memory-steps S] [--timeline-spans K] [--timeline-skip-steps S]
//                       [--timeline-store KIND] [--gather-rows N] [--gather-ids K] [--gather-width W]
//                       [--bandwidth-mib M] [--reps R]
//
// Parts (each a member of "parts" in the JSON; see "Schema" below):
//  bandwidth  pinned host <-> device copy bandwidth each way and both at once (median of --reps), and the PCIe
//             link's nominal peak per direction (from nvidia-smi) for reference.
//  gather     a (rows x width) float history in mapped pinned memory (gas::cuda::PinnedStore), --gather-ids distinct
//             random ids (sorted, as a halo is): the zero-copy kernel gather, the CPU-thread gather into pinned
//             staging + one copy, and the bf16 zero-copy gather, each queued through the store's queue_pull on a
//             stream and timed with events; GB/s of useful (float) rows delivered.
//  epochs     a GCN (--layers 3, --hidden 256) trained with gas::Trainer on an SBM of --nodes nodes whose blocks are
//             its clusters: --nodes / --part-nodes blocks, partitioned by block (or by METIS with --partitioner
//             metis), --batch-parts blocks per step, labels block mod --classes; in a local regime
//             (--local-homophily) and a transfer-heavy one (--transfer-homophily). Per run: epoch seconds (median
//             over the epochs after the first), the pipeline's counters (bytes, copy-stream busy ms from timing
//             events, host waits), peak device memory (the caching arena's peak in use). Runs: "no-history"
//             (PipelineOptions::skip_histories: same compute, no pulls or pushes), "sync" (HistoryIO::sync) with each
//             of --sync-stores, "overlapped" with each of --stores. Ratios: overlapped / no-history in the local
//             regime (target <= 1.05, device store <= 1.03) and sync / overlapped in the transfer regime (>= 2).
//  memory     peak device memory of overlapped training (pinned store, --memory-steps steps and the final
//             layer-wise evaluation) at each of --memory-nodes, with the batch fixed in nodes (parts scale with the
//             graph); ratio largest / smallest graph (target <= 1.10).
//  timeline   two overlapped epochs (transfer regime, --timeline-store, timing on): --timeline-spans copy-stream spans
//             of a steady-state window (from the --timeline-skip-steps'th training step on), for tools/timeline.py.
//
// Order and deadline. Items run in two rounds: first what the acceptance numbers need (bandwidth, gather, the core
// epoch runs: local no-history / zero-copy / pinned / device, transfer zero-copy / pinned / sync pinned; the
// timeline; the smallest and largest memory point), then the rest (the other stores, the middle memory points).
// Graphs are generated once per (nodes, homophily) and partitioned once (the 1M-node ones are kept throughout).
// With --deadline-s, an item whose estimated time would end past the deadline is skipped and listed in its part's
// "skipped". The JSON file is rewritten (whole, through a rename) after every item, so a run killed by a timeout
// keeps everything finished before.
//
// Schema (gas.bench_cuda_pipeline/1): {"schema", "status": "running"|"done"|"failed"|"skipped", "elapsed_s",
// "device": {"name", "sm", "memory_bytes", "multiprocessors"}, "settings": {every flag}, "datasets": {"<nodes>@<h>":
// {"nodes", "entries", "blocks", "classes", "homophily", "cut_fraction", "gen_seconds"}}, "parts": {<part>:
// {"status": "done"|"partial"|"failed"|"skipped", "seconds", "skipped": [names], "errors": [text], ...}}}, with
//   bandwidth: "buffer_bytes", "reps", "h2d_gbs", "d2h_gbs", "both_gbs" (both directions summed), "both_h2d_gbs",
//              "both_d2h_gbs", "*_samples_ms", "link": {"gen_max", "width_max", "gen_current", "width_current",
//              "peak_gbs_per_direction"} or null, "h2d_fraction_of_peak", "d2h_fraction_of_peak";
//   gather:    "rows", "width", "ids", "useful_bytes", "reps", "host_threads" (hardware threads), "methods":
//              {"zero-copy"|"host-threads"|"bf16-zero-copy": {"ms", "gbs", "bus_bytes", "samples_ms"}},
//              "host_threads_over_zero_copy" (time ratio);
//   epochs:    the model and graph settings, "runs": [{"name", "regime", "homophily", "io", "store", "status",
//              "epoch_seconds": [...], "epoch_median_s", "fit_seconds", "loss", "test", "steps", "steps_per_epoch",
//              "partition_seconds", "stats": {PipelineStats, cumulative over the whole fit: history warm-up,
//              epochs, final evaluation; all zero for "sync", which keeps no counters}, "host_waits_per_step" (the
//              fit's waits over its training steps: warm-up and evaluation included, so an upper bound),
//              "arena_peak_bytes", "arena_in_use_before", "arena_reserved_after", "device_used_bytes"}],
//              "ratios": {"local_overlapped_over_no_history": {store: r}, "transfer_sync_over_overlapped": {store:
//              {"ratio", "sync_store"}}, "targets": {...}, "pass": {"local", "transfer"} (null until measured)};
//   memory:    "homophily", "store", "steps", "batch_nodes", "points": [{"nodes", "parts", "status",
//              "arena_peak_bytes", "device_used_bytes", "fit_seconds"}], "ratio_largest_over_smallest", "target",
//              "pass";
//   timeline:  "regime", "store", "epochs", "epoch_seconds": [...], "stats", "spans_total", "train_begin" (index of
//              the first training step's first pull), "window": {"first", "count",
//              "start_ms", "end_ms", "h2d_busy_ms", "d2h_busy_ms"}, "spans": [{"stream", "what", "start_ms",
//              "end_ms"}] (ms since the pipeline's first timed job).
//
// --quick shrinks everything to a smoke test of a few seconds. Exit status: 0 done (items skipped by the deadline
// included), 1 an item failed, 2 a bad flag, 77 no GPU (skipped; the JSON then says so).

#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <gas/gas.hpp>
#include <gas/cuda/arena.hpp>
#include <gas/cuda/device_buffer.hpp>
#include <gas/cuda/event.hpp>
#include <gas/cuda/pinned.hpp>
#include <gas/cuda/stream.hpp>

#include "bench_util.hpp"

namespace {

namespace fs = std::filesystem;
using gas::cuda::StoreKind;
using gas::models::HistoryIO;

// ---------------------------------------------------------------------------------------------------------------
// A small JSON value (gas::JsonWriter has no arrays of objects): objects keep insertion order.

class Json {
public:
  enum class Kind { null, boolean, integer, number, string, array, object };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : kind_(Kind::boolean), b_(b) {}
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  Json(T v) : kind_(Kind::integer), i_(static_cast<long long>(v)) {}
  template <class T>
    requires std::is_floating_point_v<T>
  Json(T v) : kind_(Kind::number), d_(static_cast<double>(v)) {}
  Json(const char* s) : kind_(Kind::string), s_(s) {}
  Json(std::string s) : kind_(Kind::string), s_(std::move(s)) {}
  Json(std::string_view s) : kind_(Kind::string), s_(s) {}

  static Json object() {
    Json j;
    j.kind_ = Kind::object;
    return j;
  }
  static Json array() {
    Json j;
    j.kind_ = Kind::array;
    return j;
  }
  template <class T>
  static Json array_of(const std::vector<T>& values) {
    Json j = array();
    for (const auto& v : values) j.push(Json(v));
    return j;
  }

  /// Sets member `key` (replacing it when present) and returns it.
  Json& set(std::string_view key, Json value) {
    kind_ = Kind::object;
    for (std::size_t k = 0; k < keys_.size(); ++k)
      if (keys_[k] == key) return items_[k] = std::move(value);
    keys_.emplace_back(key);
    items_.push_back(std::move(value));
    return items_.back();
  }
  /// Member `key`, created as an empty object when missing.
  Json& at(std::string_view key) {
    for (std::size_t k = 0; k < keys_.size(); ++k)
      if (keys_[k] == key) return items_[k];
    return set(key, object());
  }
  [[nodiscard]] const Json* find(std::string_view key) const {
    for (std::size_t k = 0; k < keys_.size(); ++k)
      if (keys_[k] == key) return &items_[k];
    return nullptr;
  }
  /// Sets every member of the object `other` here.
  void merge(Json other) {
    for (std::size_t k = 0; k < other.keys_.size(); ++k) set(other.keys_[k], std::move(other.items_[k]));
  }
  Json& push(Json value) {
    kind_ = Kind::array;
    items_.push_back(std::move(value));
    return items_.back();
  }
  [[nodiscard]] std::size_t size() const { return items_.size(); }
  [[nodiscard]] double number() const { return kind_ == Kind::integer ? static_cast<double>(i_) : d_; }
  [[nodiscard]] const std::vector<Json>& items() const { return items_; }

  void dump(std::string& out, int indent = 0) const {
    switch (kind_) {
      case Kind::null: out += "null"; break;
      case Kind::boolean: out += b_ ? "true" : "false"; break;
      case Kind::integer: out += std::to_string(i_); break;
      case Kind::number: {
        if (!std::isfinite(d_)) {
          out += "null";
          break;
        }
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%.10g", d_);
        out += buffer;
        break;
      }
      case Kind::string: quote(out, s_); break;
      case Kind::array: {
        const bool flat = std::all_of(items_.begin(), items_.end(), [](const Json& j) {
          return j.kind_ != Kind::object && j.kind_ != Kind::array;
        });
        out += '[';
        for (std::size_t k = 0; k < items_.size(); ++k) {
          if (k > 0) out += ',';
          if (!flat) newline(out, indent + 1);
          items_[k].dump(out, indent + 1);
        }
        if (!flat && !items_.empty()) newline(out, indent);
        out += ']';
        break;
      }
      case Kind::object: {
        out += '{';
        for (std::size_t k = 0; k < items_.size(); ++k) {
          if (k > 0) out += ',';
          newline(out, indent + 1);
          quote(out, keys_[k]);
          out += ": ";
          items_[k].dump(out, indent + 1);
        }
        if (!items_.empty()) newline(out, indent);
        out += '}';
        break;
      }
    }
  }

private:
  static void newline(std::string& out, int indent) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent), ' ');
  }
  static void quote(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
        out += buffer;
      } else {
        out += c;
      }
    }
    out += '"';
  }

  Kind kind_ = Kind::null;
  bool b_ = false;
  long long i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<std::string> keys_;
  std::vector<Json> items_;
};

// ---------------------------------------------------------------------------------------------------------------
// Flags.

struct Args {
  std::string json;
  std::vector<std::string> parts{"bandwidth", "gather", "epochs", "memory", "timeline"};
  bool quick = false, timing = true;
  double deadline_s = 0;
  // epochs and timeline
  std::int64_t nodes = 1000000, part_nodes = 5000, features = 128, hidden = 256;
  std::int32_t batch_parts = 10, layers = 3, classes = 16, epochs = 3;
  double degree = 20, local_h = 0.95, transfer_h = 0.6;
  std::vector<StoreKind> stores{StoreKind::zero_copy, StoreKind::pinned, StoreKind::device,
                                StoreKind::bf16,      StoreKind::host,   StoreKind::mapped};
  std::vector<StoreKind> sync_stores{StoreKind::pinned};
  bool metis = false;
  // memory
  std::vector<std::int64_t> memory_nodes{500000, 1000000, 2000000, 4000000};
  std::int64_t memory_steps = 8;
  // timeline
  std::int64_t timeline_spans = 200, timeline_skip_steps = 5;
  StoreKind timeline_store = StoreKind::pinned;
  // gather and bandwidth
  std::int64_t gather_rows = 4000000, gather_ids = 200000, gather_width = 256;
  std::int64_t bandwidth_mib = 256;
  std::int32_t reps = 5;
};

void apply_quick(Args& a) {
  a.quick = true;
  a.nodes = 20000;
  a.part_nodes = 1000;
  a.batch_parts = 4;
  a.features = 32;
  a.hidden = 64;
  a.degree = 10;
  a.epochs = 2;
  a.memory_nodes = {10000, 20000, 40000};
  a.memory_steps = 3;
  a.timeline_spans = 60;
  a.timeline_skip_steps = 1;
  a.gather_rows = 200000;
  a.gather_ids = 20000;
  a.bandwidth_mib = 16;
  a.reps = 3;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin <= s.size()) {
    const std::size_t end = std::min(s.find(',', begin), s.size());
    if (end > begin) out.push_back(s.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

std::int64_t to_int(std::string_view flag, const std::string& v, std::int64_t min) {
  std::int64_t x = 0;
  try {
    std::size_t used = 0;
    x = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    throw gas::config_error("flag '" + std::string(flag) + "' needs an integer, got '" + v + "'");
  }
  if (x < min)
    throw gas::config_error("flag '" + std::string(flag) + "' needs a value >= " + std::to_string(min) + ", got " + v);
  return x;
}

double to_double(std::string_view flag, const std::string& v, double min, double max) {
  double x = 0;
  try {
    std::size_t used = 0;
    x = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    throw gas::config_error("flag '" + std::string(flag) + "' needs a number, got '" + v + "'");
  }
  if (!(x >= min && x <= max))
    throw gas::config_error("flag '" + std::string(flag) + "' needs a value in [" + std::to_string(min) + ", " +
                            std::to_string(max) + "], got " + v);
  return x;
}

std::vector<StoreKind> to_stores(const std::string& v) {
  std::vector<StoreKind> out;
  for (const auto& name : split_list(v)) out.push_back(gas::cuda::store_kind_from(name));
  return out;
}

constexpr const char* usage =
    "usage: bench_cuda_pipeline [--json FILE] [--parts bandwidth,gather,epochs,memory,timeline] [--quick]\n"
    "         [--deadline-s S] [--nodes N] [--part-nodes N] [--batch-parts B] [--features F] [--hidden H]\n"
    "         [--layers L] [--classes C] [--degree D] [--epochs E] [--local-homophily H] [--transfer-homophily H]\n"
    "         [--stores LIST] [--sync-stores LIST] [--partitioner blocks|metis] [--no-timing] [--memory-nodes LIST]\n"
    "         [--memory-steps S] [--timeline-spans K] [--timeline-skip-steps S] [--timeline-store KIND]\n"
    "         [--gather-rows N] [--gather-ids K] [--gather-width W] [--bandwidth-mib M] [--reps R]\n"
    "  stores: pinned, zero-copy, bf16, device, host, mapped (comma-separated)\n";

Args parse(int argc, char** argv, bool& help) {
  Args a;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--quick") apply_quick(a);  // first, so that explicit flags override it
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--quick") continue;
    if (flag == "--help" || flag == "-h") {
      help = true;
      return a;
    }
    if (flag == "--no-timing") {
      a.timing = false;
      continue;
    }
    static constexpr std::string_view valued[] = {
        "--json", "--parts", "--deadline-s", "--nodes", "--part-nodes", "--batch-parts", "--features", "--hidden",
        "--layers", "--classes", "--degree", "--epochs", "--local-homophily", "--transfer-homophily", "--stores",
        "--sync-stores", "--partitioner", "--memory-nodes", "--memory-steps", "--timeline-spans",
        "--timeline-skip-steps", "--timeline-store", "--gather-rows", "--gather-ids", "--gather-width",
        "--bandwidth-mib", "--reps"};
    if (std::find(std::begin(valued), std::end(valued), flag) == std::end(valued))
      throw gas::config_error("unknown flag '" + std::string(flag) + "' (see --help)");
    if (i + 1 >= argc) throw gas::config_error("flag '" + std::string(flag) + "' needs a value (see --help)");
    const std::string v = argv[++i];
    if (flag == "--json") a.json = v;
    else if (flag == "--parts") {
      a.parts = split_list(v);
      for (const auto& p : a.parts)
        if (p != "bandwidth" && p != "gather" && p != "epochs" && p != "memory" && p != "timeline")
          throw gas::config_error("unknown part '" + p + "': expected bandwidth, gather, epochs, memory, timeline");
    } else if (flag == "--deadline-s") a.deadline_s = to_double(flag, v, 0, 1e6);
    else if (flag == "--nodes") a.nodes = to_int(flag, v, 2);
    else if (flag == "--part-nodes") a.part_nodes = to_int(flag, v, 1);
    else if (flag == "--batch-parts") a.batch_parts = static_cast<std::int32_t>(to_int(flag, v, 1));
    else if (flag == "--features") a.features = to_int(flag, v, 1);
    else if (flag == "--hidden") a.hidden = to_int(flag, v, 1);
    else if (flag == "--layers") a.layers = static_cast<std::int32_t>(to_int(flag, v, 2));
    else if (flag == "--classes") a.classes = static_cast<std::int32_t>(to_int(flag, v, 2));
    else if (flag == "--degree") a.degree = to_double(flag, v, 0, 1e6);
    else if (flag == "--epochs") a.epochs = static_cast<std::int32_t>(to_int(flag, v, 1));
    else if (flag == "--local-homophily") a.local_h = to_double(flag, v, 0, 1);
    else if (flag == "--transfer-homophily") a.transfer_h = to_double(flag, v, 0, 1);
    else if (flag == "--stores") a.stores = to_stores(v);
    else if (flag == "--sync-stores") a.sync_stores = to_stores(v);
    else if (flag == "--partitioner") {
      if (v != "blocks" && v != "metis") throw gas::config_error("--partitioner takes blocks or metis, got '" + v + "'");
      a.metis = v == "metis";
    } else if (flag == "--memory-nodes") {
      a.memory_nodes.clear();
      for (const auto& s : split_list(v)) a.memory_nodes.push_back(to_int(flag, s, 2));
    } else if (flag == "--memory-steps") a.memory_steps = to_int(flag, v, 1);
    else if (flag == "--timeline-spans") a.timeline_spans = to_int(flag, v, 1);
    else if (flag == "--timeline-skip-steps") a.timeline_skip_steps = to_int(flag, v, 0);
    else if (flag == "--timeline-store") a.timeline_store = gas::cuda::store_kind_from(v);
    else if (flag == "--gather-rows") a.gather_rows = to_int(flag, v, 1);
    else if (flag == "--gather-ids") a.gather_ids = to_int(flag, v, 1);
    else if (flag == "--gather-width") a.gather_width = to_int(flag, v, 1);
    else if (flag == "--bandwidth-mib") a.bandwidth_mib = to_int(flag, v, 1);
    else if (flag == "--reps") a.reps = static_cast<std::int32_t>(to_int(flag, v, 1));
    else throw gas::config_error("unknown flag '" + std::string(flag) + "' (see --help)");
  }
  if (a.gather_ids > a.gather_rows)
    throw gas::config_error("--gather-ids " + std::to_string(a.gather_ids) + " exceeds --gather-rows " +
                            std::to_string(a.gather_rows));
  if (a.part_nodes > a.nodes)
    throw gas::config_error("--part-nodes " + std::to_string(a.part_nodes) + " exceeds --nodes " + std::to_string(a.nodes));
  for (const auto n : a.memory_nodes)
    if (a.part_nodes > n)
      throw gas::config_error("--part-nodes " + std::to_string(a.part_nodes) + " exceeds a --memory-nodes entry " +
                              std::to_string(n));
  return a;
}

Json settings_json(const Args& a) {
  auto names = [](const std::vector<StoreKind>& kinds) {
    Json j = Json::array();
    for (const auto k : kinds) j.push(gas::cuda::to_string(k));
    return j;
  };
  Json s = Json::object();
  s.set("parts", Json::array_of(a.parts));
  s.set("quick", a.quick);
  s.set("deadline_s", a.deadline_s);
  s.set("timing", a.timing);
  s.set("nodes", a.nodes);
  s.set("part_nodes", a.part_nodes);
  s.set("batch_parts", a.batch_parts);
  s.set("features", a.features);
  s.set("hidden", a.hidden);
  s.set("layers", a.layers);
  s.set("classes", a.classes);
  s.set("degree", a.degree);
  s.set("epochs", a.epochs);
  s.set("local_homophily", a.local_h);
  s.set("transfer_homophily", a.transfer_h);
  s.set("stores", names(a.stores));
  s.set("sync_stores", names(a.sync_stores));
  s.set("partitioner", a.metis ? "metis" : "blocks");
  s.set("memory_nodes", Json::array_of(a.memory_nodes));
  s.set("memory_steps", a.memory_steps);
  s.set("timeline_spans", a.timeline_spans);
  s.set("timeline_skip_steps", a.timeline_skip_steps);
  s.set("timeline_store", gas::cuda::to_string(a.timeline_store));
  s.set("gather_rows", a.gather_rows);
  s.set("gather_ids", a.gather_ids);
  s.set("gather_width", a.gather_width);
  s.set("bandwidth_mib", a.bandwidth_mib);
  s.set("reps", a.reps);
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// The report: one JSON document, rewritten whole after every item.

class Report {
public:
  explicit Report(std::string path) : path_(std::move(path)) {
    // Every top-level member exists from the start: later sets replace values in place, never grow the root.
    root_.set("schema", "gas.bench_cuda_pipeline/1");
    root_.set("status", "starting");
    root_.set("elapsed_s", 0.0);
    root_.set("device", nullptr);
    root_.set("settings", Json::object());
    root_.set("datasets", Json::object());
    root_.set("parts", Json::object());
  }
  Json& root() { return root_; }
  Json& part(std::string_view name) { return root_.at("parts").at(name); }
  void save() {
    root_.set("elapsed_s", clock_.seconds());
    if (path_.empty()) return;
    std::string text;
    root_.dump(text);
    text += '\n';
    const fs::path tmp = path_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw gas::io_error(path_ + ": cannot open for writing");
      out << text;
      if (!out.flush()) throw gas::io_error(path_ + ": write failed");
    }
    fs::rename(tmp, path_);
  }
  [[nodiscard]] double elapsed() const { return clock_.seconds(); }

private:
  std::string path_;
  Json root_ = Json::object();
  gas_bench::Stopwatch clock_;
};

// ---------------------------------------------------------------------------------------------------------------
// Helpers.

double median_of(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double gbs(double bytes, double ms) { return ms > 0 ? bytes / (ms * 1e-3) / 1e9 : std::nan(""); }

/// PCIe link of device 0 from nvidia-smi (the driver's NVML is not linked, so the program starts without a GPU).
Json pcie_link() {
  FILE* pipe = popen("nvidia-smi --query-gpu=pcie.link.gen.max,pcie.link.width.max,pcie.link.gen.current,"
                     "pcie.link.width.current --format=csv,noheader,nounits 2>/dev/null",
                     "r");
  if (pipe == nullptr) return nullptr;
  char line[256] = {};
  const bool got = std::fgets(line, sizeof line, pipe) != nullptr;
  const int status = pclose(pipe);
  int gen_max = 0, width_max = 0, gen_cur = 0, width_cur = 0;
  if (!got || status != 0 || std::sscanf(line, "%d, %d, %d, %d", &gen_max, &width_max, &gen_cur, &width_cur) != 4)
    return nullptr;
  // Per-lane payload rate in GB/s: 8b/10b encoding up to gen 2, 128b/130b from gen 3 (gen 6's FLIT mode ignored).
  auto lane_gbs = [](int gen) {
    switch (gen) {
      case 1: return 2.5 * 0.8 / 8;
      case 2: return 5.0 * 0.8 / 8;
      case 3: return 8.0 * 128 / 130 / 8;
      case 4: return 16.0 * 128 / 130 / 8;
      case 5: return 32.0 * 128 / 130 / 8;
      case 6: return 64.0 * 128 / 130 / 8;
      default: return std::nan("");
    }
  };
  Json j = Json::object();
  j.set("gen_max", gen_max);
  j.set("width_max", width_max);
  j.set("gen_current", gen_cur);
  j.set("width_current", width_cur);
  j.set("peak_gbs_per_direction", lane_gbs(gen_max) * width_max);
  j.set("source", "nvidia-smi; nominal payload rate before packet overheads");
  return j;
}

Json device_json() {
  Json j = Json::object();
#ifdef GAS_EMU  // tools/cuda_emu (a CPU run of this program to check its logic) has no device properties
  j.set("name", std::string("cuda_emu (") + gas_emu_copy_mode() + ")");
#else
  int dev = 0;
  GAS_CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp p{};
  GAS_CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
  j.set("name", p.name);
  j.set("sm", std::to_string(p.major) + "." + std::to_string(p.minor));
  j.set("memory_bytes", static_cast<std::int64_t>(p.totalGlobalMem));
  j.set("multiprocessors", p.multiProcessorCount);
#endif
  j.set("host_threads", static_cast<std::int64_t>(std::thread::hardware_concurrency()));
  return j;
}

std::int64_t device_used_bytes() {
  std::size_t free = 0, total = 0;
  GAS_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return static_cast<std::int64_t>(total - free);
}

// ---------------------------------------------------------------------------------------------------------------
// Part 1: copy bandwidth.

Json bandwidth_part(const Args& a) {
  using gas::cuda::DeviceView;
  using gas::cuda::PinnedView;
  const std::int64_t cols = 1 << 16;  // 256 KiB rows: a contiguous 2-D copy
  const std::int64_t total = a.bandwidth_mib * (std::int64_t{1} << 20) / static_cast<std::int64_t>(sizeof(float));
  const std::int64_t rows = std::max<std::int64_t>(1, total / cols);
  const auto n = static_cast<std::size_t>(rows * cols);
  const double bytes = static_cast<double>(n * sizeof(float));
  gas::cuda::PinnedBuffer<float> h_src(n), h_dst(n);
  std::fill(h_src.data(), h_src.data() + n, 1.0f);
  std::fill(h_dst.data(), h_dst.data() + n, 0.0f);
  gas::cuda::DeviceBuffer<float> d_a(n), d_b(n);
  gas::cuda::Stream s1, s2;
  const gas::cuda::EventOptions timed{.timing = true};
  gas::cuda::Event e0(timed), e1(timed), e2(timed);
  const PinnedView<const float> src(h_src.data(), rows, cols);
  const PinnedView<float> dst(h_dst.data(), rows, cols);
  const DeviceView<float> da(d_a.data(), rows, cols), db(d_b.data(), rows, cols);

  std::vector<double> h2d, d2h, both, both_h2d, both_d2h;
  for (int r = 0; r <= a.reps; ++r) {  // round 0 warms up
    e0.record(s1.get());
    gas::cuda::copy_async(src, da, s1.get());
    e1.record(s1.get());
    const double t_h2d = gas::cuda::elapsed_ms(e0, e1);
    e0.record(s2.get());
    gas::cuda::copy_async(gas::cuda::DeviceView<const float>(db), dst, s2.get());
    e2.record(s2.get());
    const double t_d2h = gas::cuda::elapsed_ms(e0, e2);
    e0.record(s1.get());
    e0.wait(s2.get());
    gas::cuda::copy_async(src, da, s1.get());
    gas::cuda::copy_async(gas::cuda::DeviceView<const float>(db), dst, s2.get());
    e1.record(s1.get());
    e2.record(s2.get());
    const double t1 = gas::cuda::elapsed_ms(e0, e1), t2 = gas::cuda::elapsed_ms(e0, e2);
    if (r == 0) continue;
    h2d.push_back(t_h2d);
    d2h.push_back(t_d2h);
    both.push_back(std::max(t1, t2));
    both_h2d.push_back(t1);
    both_d2h.push_back(t2);
  }
  Json j = Json::object();
  j.set("buffer_bytes", static_cast<std::int64_t>(bytes));
  j.set("reps", a.reps);
  j.set("h2d_gbs", gbs(bytes, median_of(h2d)));
  j.set("d2h_gbs", gbs(bytes, median_of(d2h)));
  j.set("both_gbs", gbs(2 * bytes, median_of(both)));
  j.set("both_h2d_gbs", gbs(bytes, median_of(both_h2d)));
  j.set("both_d2h_gbs", gbs(bytes, median_of(both_d2h)));
  j.set("h2d_samples_ms", Json::array_of(h2d));
  j.set("d2h_samples_ms", Json::array_of(d2h));
  j.set("both_samples_ms", Json::array_of(both));
  Json link = pcie_link();
  const Json* peak = link.find("peak_gbs_per_direction");
  if (peak != nullptr && peak->number() > 0) {
    j.set("h2d_fraction_of_peak", gbs(bytes, median_of(h2d)) / peak->number());
    j.set("d2h_fraction_of_peak", gbs(bytes, median_of(d2h)) / peak->number());
  }
  j.set("link", std::move(link));
  std::printf("bandwidth: h2d %.1f GB/s, d2h %.1f GB/s, both %.1f GB/s (%.0f MiB, median of %d)\n",
              gbs(bytes, median_of(h2d)), gbs(bytes, median_of(d2h)), gbs(2 * bytes, median_of(both)),
              bytes / (1 << 20), a.reps);
  return j;
}

// ---------------------------------------------------------------------------------------------------------------
// Part 2: zero-copy vs host-thread gathers of a pinned store.

Json gather_part(const Args& a) {
  using gas::node_id;
  const std::int64_t n = a.gather_rows, w = a.gather_width, k = a.gather_ids;
  // k distinct uniform ids, sorted (a halo's order).
  std::vector<char> taken(static_cast<std::size_t>(n), 0);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> pick(0, n - 1);
  for (std::int64_t got = 0; got < k;) {
    const auto v = static_cast<std::size_t>(pick(rng));
    if (taken[v] == 0) {
      taken[v] = 1;
      ++got;
    }
  }
  gas::cuda::PinnedBuffer<node_id> h_ids(static_cast<std::size_t>(k));
  for (std::int64_t v = 0, at = 0; v < n; ++v)
    if (taken[static_cast<std::size_t>(v)] != 0) h_ids.data()[at++] = static_cast<node_id>(v);
  taken = {};
  gas::cuda::Stream stream;
  gas::cuda::DeviceBuffer<node_id> d_ids(static_cast<std::size_t>(k));
  gas::cuda::copy_async(gas::cuda::PinnedView<const node_id>(h_ids.data(), 1, k),
                        gas::cuda::DeviceView<node_id>(d_ids.data(), 1, k), stream.get());
  gas::cuda::DeviceBuffer<float> out(static_cast<std::size_t>(k * w));
  gas::cuda::PinnedBuffer<float> staging(static_cast<std::size_t>(k * w));
  stream.synchronize();

  gas::cuda::HostCallRing calls(16);
  gas::cuda::PipelineStats stats;
  const gas::cuda::QueueContext ctx{&calls, &stats};
  const gas::cuda::PullJob<float> job{d_ids.data(), h_ids.data(), k, gas::cuda::DeviceView<float>(out.data(), k, w),
                                      gas::cuda::PinnedView<float>(staging.data(), k, w)};
  const double useful = static_cast<double>(k * w) * sizeof(float);
  const gas::cuda::EventOptions timed{.timing = true};
  gas::cuda::Event e0(timed), e1(timed);
  constexpr float fill = 0.5f;

  Json methods = Json::object();
  auto measure = [&](const char* name, auto& store, double bus_bytes) {
    std::vector<double> samples;
    for (int r = 0; r <= a.reps; ++r) {
      GAS_CUDA_CHECK(cudaMemsetAsync(out.data(), 0, static_cast<std::size_t>(k * w) * sizeof(float), stream.get()));
      e0.record(stream.get());
      store.queue_pull(job, ctx, stream.get());
      e1.record(stream.get());
      const double ms = gas::cuda::elapsed_ms(e0, e1);
      calls.rethrow_failures();
      if (r > 0) samples.push_back(ms);
    }
    float first = 0, last = 0;
    GAS_CUDA_CHECK(cudaMemcpy(&first, out.data(), sizeof(float), cudaMemcpyDeviceToHost));
    GAS_CUDA_CHECK(cudaMemcpy(&last, out.data() + (k * w - 1), sizeof(float), cudaMemcpyDeviceToHost));
    GAS_CHECK(first == fill && last == fill, gas::value_error,
              "gather " << name << " delivered " << first << " and " << last << " instead of " << fill);
    const double ms = median_of(samples);
    Json m = Json::object();
    m.set("ms", ms);
    m.set("gbs", gbs(useful, ms));
    m.set("bus_bytes", bus_bytes);
    m.set("samples_ms", Json::array_of(samples));
    methods.set(name, std::move(m));
    std::printf("gather %-15s %8.3f ms, %6.1f GB/s of rows (%lld of %lld rows x %lld)\n", name, ms, gbs(useful, ms),
                static_cast<long long>(k), static_cast<long long>(n), static_cast<long long>(w));
    return ms;
  };
  double zero_ms = 0, host_ms = 0;
  {
    gas::cuda::PinnedStore<float> table(n, w, gas::cuda::PinnedGather::zero_copy, fill);
    zero_ms = measure("zero-copy", table, useful);
    table.set_gather(gas::cuda::PinnedGather::host_threads);
    host_ms = measure("host-threads", table, useful);
    table.drain();
  }
  {
    gas::cuda::PinnedStore<float, gas::history::half::bf16> table(n, w, gas::cuda::PinnedGather::zero_copy, fill);
    measure("bf16-zero-copy", table, useful / 2);
    table.drain();
  }
  Json j = Json::object();
  j.set("rows", n);
  j.set("width", w);
  j.set("ids", k);
  j.set("ids_order", "distinct, uniform, sorted");
  j.set("useful_bytes", useful);
  j.set("reps", a.reps);
  j.set("host_threads", static_cast<std::int64_t>(std::thread::hardware_concurrency()));
  j.set("methods", std::move(methods));
  j.set("host_threads_over_zero_copy", host_ms / zero_ms);
  return j;
}

// ---------------------------------------------------------------------------------------------------------------
// Graphs: SBMs whose blocks are the clusters, generated once per (nodes, homophily) and kept.

struct BenchData {
  gas::Dataset data;
  std::vector<std::int32_t> blocks;  // per original node
  std::int32_t num_blocks = 0;
  double homophily = 0, gen_seconds = 0, cut_fraction = 0;
  std::optional<gas::partition::Partition> partition;  // filled on first use
};

/// Partitions a BenchData's graph by its blocks (or by METIS), once; every fit on the dataset reuses the result.
struct BenchPartitioner {
  BenchData* data = nullptr;
  bool metis = false;
  gas::partition::Partition partition(const gas::Graph& graph) const {
    if (!data->partition) {
      gas_bench::Stopwatch watch;
      if (metis)
        data->partition = gas::partition::Metis{.num_parts = data->num_blocks, .seed = 1}.partition(graph);
      else
        data->partition = gas::partition::from_assignment(std::span<const std::int32_t>(data->blocks), data->num_blocks);
      data->partition->seconds = watch.seconds();
    }
    return *data->partition;
  }
};

class DataCache {
public:
  explicit DataCache(const Args& a) : a_(a) {}
  bool has(std::int64_t nodes, double h) const { return cache_.contains(key(nodes, h)); }
  BenchData& get(std::int64_t nodes, double h, Report& report) {
    const std::string k = key(nodes, h);
    if (auto found = cache_.find(k); found != cache_.end()) return *found->second;
    gas_bench::Stopwatch watch;
    auto d = std::make_unique<BenchData>();
    d->num_blocks = static_cast<std::int32_t>(std::max<std::int64_t>(1, nodes / a_.part_nodes));
    d->homophily = h;
    d->data = gas::gen::sbm({.nodes = nodes, .classes = d->num_blocks, .features = a_.features, .degree = a_.degree,
                             .homophily = h, .noise = 1.0, .seed = 1});
    d->blocks = d->data.labels;
    // The task's labels: block mod classes, so that the output width stays fixed as the graph grows.
    const std::int32_t classes = std::min(a_.classes, d->num_blocks);
    for (auto& y : d->data.labels) y %= classes;
    d->data.num_classes = classes;
    const auto indptr = d->data.graph.indptr();
    const auto indices = d->data.graph.indices();
    std::int64_t cut = 0;
    for (std::int64_t v = 0; v < nodes; ++v)
      for (auto e = indptr[static_cast<std::size_t>(v)]; e < indptr[static_cast<std::size_t>(v) + 1]; ++e)
        cut += d->blocks[static_cast<std::size_t>(v)] != d->blocks[static_cast<std::size_t>(indices[static_cast<std::size_t>(e)])];
    const std::int64_t entries = d->data.graph.num_edges();
    d->cut_fraction = entries > 0 ? static_cast<double>(cut) / static_cast<double>(entries) : 0.0;
    d->gen_seconds = watch.seconds();
    gen_per_node_ = d->gen_seconds / static_cast<double>(nodes);
    Json j = Json::object();
    j.set("nodes", nodes);
    j.set("entries", entries);
    j.set("blocks", d->num_blocks);
    j.set("classes", classes);
    j.set("homophily", h);
    j.set("cut_fraction", d->cut_fraction);
    j.set("gen_seconds", d->gen_seconds);
    report.root().at("datasets").set(k, std::move(j));
    std::printf("sbm %s: %lld entries, %d blocks, cut fraction %.3f, generated in %.1f s\n", k.c_str(),
                static_cast<long long>(entries), d->num_blocks, d->cut_fraction, d->gen_seconds);
    std::fflush(stdout);
    return *cache_.emplace(k, std::move(d)).first->second;
  }
  /// Estimated seconds to generate a graph of `nodes` nodes (from the last one generated).
  [[nodiscard]] double gen_estimate(std::int64_t nodes, double h) const {
    return has(nodes, h) ? 0.0 : gen_per_node_ * static_cast<double>(nodes);
  }
  void drop(std::int64_t nodes, double h) { cache_.erase(key(nodes, h)); }

private:
  static std::string key(std::int64_t nodes, double h) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%lld@%g", static_cast<long long>(nodes), h);
    return buffer;
  }
  const Args& a_;
  std::map<std::string, std::unique_ptr<BenchData>> cache_;
  double gen_per_node_ = 8e-6;  // a guess until the first graph: 8 s per million nodes
};

// ---------------------------------------------------------------------------------------------------------------
// One training run through gas::Trainer.

using Model = gas::models::GCN<float, gas::cuda::device, gas::cuda::AnyStore>;

struct RunSpec {
  std::string io;  // "no-history", "sync", "overlapped"
  StoreKind store = StoreKind::pinned;
  std::int32_t epochs = 1;
  std::int64_t max_steps = 0;
  bool timing = false, keep_timeline = false;
};

struct RunResult {
  Json json = Json::object();
  std::vector<gas::cuda::CopySpan> timeline;
  double fit_seconds = 0, epoch_median = 0;
  std::int64_t steps = 0;
};

Json stats_json(const gas::cuda::PipelineStats& s) {
  Json j = Json::object();
  j.set("device_allocs", s.device_allocs);
  j.set("pinned_allocs", s.pinned_allocs);
  j.set("host_waits", s.host_waits);
  j.set("bytes_h2d", s.bytes_h2d);
  j.set("bytes_d2h", s.bytes_d2h);
  j.set("bytes_d2d", s.bytes_d2d);
  j.set("pulls", s.pulls);
  j.set("pushes", s.pushes);
  j.set("host_calls", s.host_calls);
  j.set("steps", s.steps);
  j.set("h2d_busy_ms", s.h2d_busy_ms);
  j.set("d2h_busy_ms", s.d2h_busy_ms);
  return j;
}

fs::path scratch_dir() {
  return fs::temp_directory_path() / ("gas-bench-pipeline-" + std::to_string(static_cast<long long>(getpid())));
}

RunResult fit_once(BenchData& d, const Args& a, const RunSpec& spec) {
  auto& arena = gas::cuda::default_arena();
  arena.release_cached();
  GAS_CUDA_CHECK(cudaDeviceSynchronize());
  const std::size_t in_use_before = arena.stats().bytes_in_use;
  arena.reset_peak();
  const fs::path dir = scratch_dir() / "mapped";
  RunResult out;
  gas::TrainResult r;
  gas::cuda::PipelineStats stats;
  gas::cuda::ArenaStats after;
  std::int64_t used = 0;
  {
    const StoreKind kind = spec.store;
    Model model(d.data.num_nodes(),
                gas::models::GCNOptions{.in = a.features, .hidden = a.hidden, .out = d.data.num_classes,
                                        .layers = a.layers},
                1, [&](std::int32_t l, std::int64_t n, std::int64_t w) { return gas::cuda::AnyStore(kind, n, w, l, dir); });
    model.io().set_options(gas::cuda::PipelineOptions{
        .ring = 2, .timing = spec.timing && spec.io != "sync", .skip_histories = spec.io == "no-history"});
    gas::TrainerOptions o;
    o.batch_size = a.batch_parts;
    o.max_steps = spec.max_steps;
    o.epochs = spec.epochs;
    o.seed = 3;
    o.eval_every = spec.epochs;  // evaluated once, after the last epoch (not timed in the epochs)
    o.history_io = spec.io == "sync" ? HistoryIO::sync : HistoryIO::overlapped;
    gas::Trainer<Model, BenchPartitioner> trainer(model, BenchPartitioner{&d, a.metis}, o);
    gas_bench::Stopwatch watch;
    r = trainer.fit(d.data);
    model.io().drain();
    out.fit_seconds = watch.seconds();
    stats = model.io().stats();
    after = arena.stats();
    used = device_used_bytes();
    if (spec.keep_timeline) out.timeline = model.io().timeline();
  }
  arena.release_cached();
  std::error_code ec;
  fs::remove_all(dir, ec);

  std::vector<double> seconds, later;
  for (const auto& e : r.epochs) seconds.push_back(e.seconds);
  for (std::size_t e = 1; e < seconds.size(); ++e) later.push_back(seconds[e]);
  out.epoch_median = later.empty() ? median_of(seconds) : median_of(later);
  // The synchronous path keeps no pipeline counters: its steps are those the loader makes.
  const std::int64_t per_epoch = (d.num_blocks + a.batch_parts - 1) / a.batch_parts;
  const std::int64_t expected = spec.epochs * (spec.max_steps > 0 ? std::min(spec.max_steps, per_epoch) : per_epoch);
  out.steps = stats.steps > 0 ? stats.steps : expected;
  Json& j = out.json;
  j.set("io", spec.io);
  j.set("store", gas::cuda::to_string(spec.store));
  j.set("epoch_seconds", Json::array_of(seconds));
  j.set("epoch_median_s", out.epoch_median);
  j.set("fit_seconds", out.fit_seconds);
  j.set("loss", r.epochs.empty() ? std::nan("") : r.epochs.back().loss);
  j.set("test", r.epochs.empty() ? std::nan("") : r.epochs.back().test);
  j.set("steps", out.steps);
  j.set("steps_per_epoch", static_cast<double>(out.steps) / spec.epochs);
  j.set("partition_seconds", d.partition ? d.partition->seconds : 0.0);
  j.set("stats", stats_json(stats));
  // Whole fit (warm-up and final evaluation included); the synchronous path does not count its waits.
  j.set("host_waits_per_step", stats.steps > 0 ? static_cast<double>(stats.host_waits) / static_cast<double>(out.steps)
                                               : std::nan(""));
  j.set("arena_in_use_before", static_cast<std::int64_t>(in_use_before));
  j.set("arena_peak_bytes", static_cast<std::int64_t>(after.peak_bytes_in_use));
  j.set("arena_reserved_after", static_cast<std::int64_t>(after.bytes_reserved()));
  j.set("device_used_bytes", used);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The schedule.

struct Item {
  int round = 0;
  std::string part, name;
  std::function<double()> estimate;  // seconds, for the deadline
  std::function<void()> run;
};

class Bench {
public:
  Bench(const Args& a, Report& report) : a_(a), report_(report), data_(a) {}

  int run() {
    std::vector<Item> items;
    for (const auto& name : a_.parts) report_.part(name);  // the JSON lists the parts in the order asked for
    auto selected = [&](const char* p) { return std::find(a_.parts.begin(), a_.parts.end(), p) != a_.parts.end(); };
    if (selected("bandwidth")) items.push_back({1, "bandwidth", "bandwidth", [] { return 5.0; }, [this] { bandwidth(); }});
    if (selected("gather")) items.push_back({1, "gather", "gather", [this] { return gather_estimate(); }, [this] { gather(); }});
    if (selected("epochs")) add_epoch_items(items);
    if (selected("timeline"))
      items.push_back({1, "timeline", "timeline", [this] { return fit_estimate(a_.nodes, a_.transfer_h, 0.8); },
                       [this] { timeline(); }});
    if (selected("memory")) add_memory_items(items);
    std::stable_sort(items.begin(), items.end(), [](const Item& x, const Item& y) { return x.round < y.round; });

    for (const auto& it : items) {
      Tally& tally = tallies_[it.part];
      const double estimate = it.estimate();
      if (a_.deadline_s > 0 && report_.elapsed() + estimate > a_.deadline_s) {
        ++tally.skipped;
        report_.part(it.part).at("skipped").push(it.name);
        std::printf("%s %s: skipped (%.0f s elapsed + %.0f s estimated > deadline %.0f s)\n", it.part.c_str(),
                    it.name.c_str(), report_.elapsed(), estimate, a_.deadline_s);
        set_status(it.part, false);
        report_.save();
        continue;
      }
      set_status(it.part, false);
      report_.save();
      gas_bench::Stopwatch watch;
      try {
        it.run();
        ++tally.done;
      } catch (const std::exception& e) {
        ++tally.failed;
        report_.part(it.part).at("errors").push(it.name + ": " + e.what());
        std::fprintf(stderr, "bench_cuda_pipeline: %s %s: %s\n", it.part.c_str(), it.name.c_str(), e.what());
        (void)cudaGetLastError();
      }
      tally.seconds += watch.seconds();
      report_.part(it.part).set("seconds", tally.seconds);
      set_status(it.part, false);
      report_.save();
      std::fflush(stdout);
    }
    bool failed = false;
    for (const auto& [name, tally] : tallies_) {
      set_status(name, true);
      failed = failed || tally.failed > 0;
    }
    return failed ? 1 : 0;
  }

private:
  // -- bandwidth and gather
  void bandwidth() {
    Json j = bandwidth_part(a_);
    merge(report_.part("bandwidth"), std::move(j));
    gas::cuda::default_arena().release_cached();
  }
  [[nodiscard]] double gather_estimate() const {
    // Allocating and filling 1.5x the table in pinned memory dominates: ~3 GB/s.
    return 3.0 + 1.5 * static_cast<double>(a_.gather_rows * a_.gather_width) * 4 / 3e9;
  }
  void gather() {
    Json j = gather_part(a_);
    merge(report_.part("gather"), std::move(j));
    gas::cuda::default_arena().release_cached();
  }

  // -- epochs
  struct EpochRun {
    std::string regime;
    std::string io;
    StoreKind store;
    int round;
  };
  void add_epoch_items(std::vector<Item>& items) {
    const auto has = [](const std::vector<StoreKind>& v, StoreKind k) { return std::find(v.begin(), v.end(), k) != v.end(); };
    std::vector<EpochRun> runs;
    // Round 1: what the acceptance ratios need.
    runs.push_back({"local", "no-history", StoreKind::pinned, 1});
    for (const auto k : {StoreKind::zero_copy, StoreKind::pinned, StoreKind::device})
      if (has(a_.stores, k)) runs.push_back({"local", "overlapped", k, 1});
    for (const auto k : {StoreKind::zero_copy, StoreKind::pinned})
      if (has(a_.stores, k)) runs.push_back({"transfer", "overlapped", k, 1});
    if (!a_.sync_stores.empty()) runs.push_back({"transfer", "sync", a_.sync_stores.front(), 1});
    // Round 2: everything else.
    for (const auto k : a_.stores)
      if (k != StoreKind::zero_copy && k != StoreKind::pinned && k != StoreKind::device)
        runs.push_back({"local", "overlapped", k, 2});
    runs.push_back({"transfer", "no-history", StoreKind::pinned, 2});
    for (const auto k : a_.stores)
      if (k != StoreKind::zero_copy && k != StoreKind::pinned) runs.push_back({"transfer", "overlapped", k, 2});
    for (std::size_t s = 1; s < a_.sync_stores.size(); ++s) runs.push_back({"transfer", "sync", a_.sync_stores[s], 2});

    Json& part = report_.part("epochs");
    part.set("nodes", a_.nodes);
    part.set("features", a_.features);
    part.set("hidden", a_.hidden);
    part.set("layers", a_.layers);
    part.set("classes", a_.classes);
    part.set("degree", a_.degree);
    part.set("part_nodes", a_.part_nodes);
    part.set("parts", std::max<std::int64_t>(1, a_.nodes / a_.part_nodes));
    part.set("batch_parts", a_.batch_parts);
    part.set("batch_nodes", a_.part_nodes * a_.batch_parts);
    part.set("epochs", a_.epochs);
    part.set("partitioner", a_.metis ? "metis" : "blocks");
    part.set("timing", a_.timing);
    part.set("regimes", Json::object()).set("local", a_.local_h);
    part.at("regimes").set("transfer", a_.transfer_h);
    part.set("runs", Json::array());
    for (const auto& run : runs) {
      const std::string name = run.regime + "/" + run.io + "/" + gas::cuda::to_string(run.store);
      const double h = run.regime == "local" ? a_.local_h : a_.transfer_h;
      const double factor = run.io == "sync" ? 3.0 : 1.0;
      items.push_back({run.round, "epochs", name, [this, h, factor] { return fit_estimate(a_.nodes, h, factor); },
                       [this, run, name, h] { epoch_run(run, name, h); }});
    }
  }
  void epoch_run(const EpochRun& run, const std::string& name, double h) {
    BenchData& d = data_.get(a_.nodes, h, report_);
    const RunSpec spec{.io = run.io, .store = run.store, .epochs = a_.epochs, .timing = a_.timing};
    RunResult r = fit_once(d, a_, spec);
    note_fit(a_.nodes, r.fit_seconds, run.io == "sync" ? 3.0 : 1.0);
    std::printf("epochs %-28s %.3f s/epoch (median after the first), fit %.1f s, %lld steps, %.2f host waits/step, "
                "peak %.0f MiB\n",
                name.c_str(), r.epoch_median, r.fit_seconds, static_cast<long long>(r.steps),
                r.json.find("host_waits_per_step")->number(), r.json.find("arena_peak_bytes")->number() / (1 << 20));
    Json j = Json::object();
    j.set("name", name);
    j.set("regime", run.regime);
    j.set("homophily", h);
    j.set("status", "done");
    merge(j, std::move(r.json));
    Json& part = report_.part("epochs");
    part.at("runs").push(std::move(j));
    epoch_medians_[name] = r.epoch_median;
    update_ratios();
  }
  void update_ratios() {
    Json ratios = Json::object();
    Json local = Json::object(), transfer = Json::object(), pass = Json::object();
    const auto base = epoch_medians_.find("local/no-history/pinned");
    bool local_ok = true, any_local = false;
    for (const auto& [key, value] : epoch_medians_) {
      if (key.rfind("local/overlapped/", 0) != 0 || base == epoch_medians_.end()) continue;
      const std::string store = key.substr(std::strlen("local/overlapped/"));
      const double ratio = value / base->second;
      local.set(store, ratio);
      any_local = true;
      local_ok = local_ok && ratio <= (store == "device" ? 1.03 : 1.05);
    }
    bool transfer_ok = true, any_transfer = false;
    for (const auto& [key, value] : epoch_medians_) {
      if (key.rfind("transfer/overlapped/", 0) != 0) continue;
      const std::string store = key.substr(std::strlen("transfer/overlapped/"));
      auto sync = epoch_medians_.find("transfer/sync/" + store);
      std::string sync_store = store;
      if (sync == epoch_medians_.end() && !a_.sync_stores.empty()) {
        sync_store = gas::cuda::to_string(a_.sync_stores.front());
        sync = epoch_medians_.find("transfer/sync/" + sync_store);
      }
      if (sync == epoch_medians_.end()) continue;
      Json t = Json::object();
      t.set("ratio", sync->second / value);
      t.set("sync_store", sync_store);
      transfer.set(store, std::move(t));
      any_transfer = true;
      transfer_ok = transfer_ok && sync->second / value >= 2.0;
    }
    ratios.set("local_overlapped_over_no_history", std::move(local));
    ratios.set("transfer_sync_over_overlapped", std::move(transfer));
    Json targets = Json::object();
    targets.set("local_overlapped_over_no_history_max", 1.05);
    targets.set("local_device_over_no_history_max", 1.03);
    targets.set("transfer_sync_over_overlapped_min", 2.0);
    ratios.set("targets", std::move(targets));
    pass.set("local", any_local ? Json(local_ok) : Json(nullptr));
    pass.set("transfer", any_transfer ? Json(transfer_ok) : Json(nullptr));
    ratios.set("pass", std::move(pass));
    report_.part("epochs").set("ratios", std::move(ratios));
  }

  // -- timeline
  void timeline() {
    BenchData& d = data_.get(a_.nodes, a_.transfer_h, report_);
    // Two epochs, so that a window of --timeline-spans fits in the training steps after the skipped ones.
    const RunSpec spec{.io = "overlapped", .store = a_.timeline_store, .epochs = 2, .timing = true, .keep_timeline = true};
    RunResult r = fit_once(d, a_, spec);
    note_fit(a_.nodes, r.fit_seconds, 1.0);
    const auto& spans = r.timeline;
    // A training step queues its layers' pulls back to back, then its pushes, then the next batch's stage; layer-wise
    // passes (history warm-up, evaluation) never queue two pulls in a row, nor a pull right before a push with one
    // history. The first such run of pulls is the first training step (its stage precedes it).
    const auto hist = static_cast<std::size_t>(a_.layers - 1);
    const std::size_t per_step = 2 * hist + 1;
    auto is = [&](std::size_t i, const char* what) { return i < spans.size() && std::strcmp(spans[i].what, what) == 0; };
    std::optional<std::size_t> begin;
    for (std::size_t i = 0; i + hist < spans.size() && !begin; ++i) {
      bool ok = is(i + hist, "push");
      for (std::size_t l = 0; l < hist && ok; ++l) ok = is(i + l, "pull");
      if (ok) begin = i;
    }
    Json j = Json::object();
    j.set("regime", "transfer");
    j.set("homophily", a_.transfer_h);
    j.set("store", gas::cuda::to_string(a_.timeline_store));
    j.set("epochs", 2);
    j.set("epoch_seconds", r.json.find("epoch_seconds") != nullptr ? *r.json.find("epoch_seconds") : Json(nullptr));
    j.set("fit_seconds", r.fit_seconds);
    j.set("steps", r.steps);
    j.set("stats", r.json.find("stats") != nullptr ? *r.json.find("stats") : Json(nullptr));
    j.set("spans_total", static_cast<std::int64_t>(spans.size()));
    j.set("span_order", "per training step: one pull per history, one push per history, then the next batch's stage");
    Json window = Json::object();
    Json list = Json::array();
    if (begin) {
      j.set("train_begin", static_cast<std::int64_t>(*begin));
      // From the first pull on, every step queues per_step spans but the last, whose next stage is never queued.
      const std::size_t train_end =
          std::min(spans.size(), *begin + static_cast<std::size_t>(std::max<std::int64_t>(1, r.steps)) * per_step - 1);
      const std::size_t first =
          std::min(train_end, *begin + static_cast<std::size_t>(a_.timeline_skip_steps) * per_step);
      const std::size_t last = std::min(train_end, first + static_cast<std::size_t>(a_.timeline_spans));
      double h2d = 0, d2h = 0, start = 0, end = 0;
      for (std::size_t i = first; i < last; ++i) {
        const auto& s = spans[i];
        if (i == first) start = s.start_ms;
        start = std::min(start, s.start_ms);
        end = std::max(end, s.end_ms);
        (std::strcmp(s.stream, "h2d") == 0 ? h2d : d2h) += s.end_ms - s.start_ms;
        Json e = Json::object();
        e.set("stream", s.stream);
        e.set("what", s.what);
        e.set("start_ms", s.start_ms);
        e.set("end_ms", s.end_ms);
        list.push(std::move(e));
      }
      window.set("first", static_cast<std::int64_t>(first));
      window.set("count", static_cast<std::int64_t>(last - first));
      window.set("start_ms", start);
      window.set("end_ms", end);
      window.set("h2d_busy_ms", h2d);
      window.set("d2h_busy_ms", d2h);
    } else {
      j.set("train_begin", nullptr);
      j.set("note", "no training step found in the spans (timing off, or no history)");
    }
    j.set("window", std::move(window));
    j.set("spans", std::move(list));
    merge(report_.part("timeline"), std::move(j));
    std::printf("timeline: %zu spans, window of %zu from %s\n", spans.size(),
                report_.part("timeline").find("spans")->size(), begin ? "the training steps" : "nowhere");
  }

  // -- memory
  void add_memory_items(std::vector<Item>& items) {
    Json& part = report_.part("memory");
    part.set("homophily", a_.local_h);
    part.set("store", "pinned");
    part.set("io", "overlapped");
    part.set("steps", a_.memory_steps);
    part.set("part_nodes", a_.part_nodes);
    part.set("batch_parts", a_.batch_parts);
    part.set("batch_nodes", a_.part_nodes * a_.batch_parts);
    part.set("target", 1.10);
    part.set("points", Json::array());
    if (a_.memory_nodes.empty()) return;
    const auto [lo, hi] = std::minmax_element(a_.memory_nodes.begin(), a_.memory_nodes.end());
    for (const auto n : a_.memory_nodes) {
      const int round = (n == *lo || n == *hi) ? 1 : 2;
      items.push_back({round, "memory", std::to_string(n),
                       [this, n] { return fit_estimate(n, a_.local_h, 0.5); }, [this, n] { memory_point(n); }});
    }
  }
  void memory_point(std::int64_t n) {
    // The 1M-node local graph of the epochs part is kept; the others are dropped after their point.
    const bool keep = data_.has(n, a_.local_h);
    BenchData& d = data_.get(n, a_.local_h, report_);
    const RunSpec spec{.io = "overlapped", .store = StoreKind::pinned, .epochs = 1, .max_steps = a_.memory_steps};
    RunResult r = fit_once(d, a_, spec);
    note_fit(n, r.fit_seconds, 0.5);
    Json j = Json::object();
    j.set("nodes", n);
    j.set("parts", d.num_blocks);
    j.set("status", "done");
    j.set("arena_peak_bytes", r.json.find("arena_peak_bytes")->number());
    j.set("arena_reserved_after", r.json.find("arena_reserved_after")->number());
    j.set("device_used_bytes", r.json.find("device_used_bytes")->number());
    j.set("fit_seconds", r.fit_seconds);
    j.set("steps", r.steps);
    std::printf("memory %lld nodes: peak %.1f MiB in use (arena), fit %.1f s\n", static_cast<long long>(n),
                r.json.find("arena_peak_bytes")->number() / (1 << 20), r.fit_seconds);
    if (!keep && n != a_.nodes) data_.drop(n, a_.local_h);
    Json& part = report_.part("memory");
    part.at("points").push(std::move(j));
    // Ratio of the largest graph's peak to the smallest one's, among the points measured so far.
    double lo_n = 0, hi_n = 0, lo_peak = 0, hi_peak = 0;
    for (const auto& p : part.find("points")->items()) {
      const double nodes = p.find("nodes")->number(), peak = p.find("arena_peak_bytes")->number();
      if (lo_n == 0 || nodes < lo_n) std::tie(lo_n, lo_peak) = std::pair(nodes, peak);
      if (hi_n == 0 || nodes > hi_n) std::tie(hi_n, hi_peak) = std::pair(nodes, peak);
    }
    if (hi_n > lo_n && lo_peak > 0) {
      part.set("ratio_largest_over_smallest", hi_peak / lo_peak);
      part.set("ratio_nodes", Json::array_of(std::vector<double>{hi_n, lo_n}));
      part.set("pass", hi_peak / lo_peak <= 1.10);
    }
  }

  // -- estimates for the deadline: seconds per million nodes of the last fits, by kind
  [[nodiscard]] double fit_estimate(std::int64_t nodes, double h, double factor) const {
    const double m = static_cast<double>(nodes) / 1e6;
    const double per_m = fit_per_mnode_ > 0 ? fit_per_mnode_ : 10.0;
    return 2.0 + per_m * m * factor + data_.gen_estimate(nodes, h);
  }
  void note_fit(std::int64_t nodes, double seconds, double factor) {
    fit_per_mnode_ = seconds / factor / std::max(1e-3, static_cast<double>(nodes) / 1e6);
  }

  /// Copies the members of the object `from` into `into` (replacing members of the same name).
  static void merge(Json& into, Json from) { into.merge(std::move(from)); }

  /// A part's status from its items so far: failed, running (more to come), done, partial (some skipped) or skipped.
  void set_status(const std::string& part, bool final) {
    const Tally& t = tallies_[part];
    const char* status = t.failed > 0                  ? "failed"
                         : !final                      ? "running"
                         : t.skipped == 0              ? "done"
                         : t.done > 0                  ? "partial"
                                                       : "skipped";
    report_.part(part).set("status", status);
  }
  struct Tally {
    int done = 0, skipped = 0, failed = 0;
    double seconds = 0;
  };

  const Args& a_;
  Report& report_;
  DataCache data_;
  std::map<std::string, Tally> tallies_;
  double fit_per_mnode_ = 0;
  std::map<std::string, double> epoch_medians_;
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  try {
    bool help = false;
    a = parse(argc, argv, help);
    if (help) {
      std::fputs(usage, stdout);
      return 0;
    }
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "bench_cuda_pipeline: %s\n%s", e.what(), usage);
    return 2;
  }
  Report report(a.json);
  try {
    report.root().set("settings", settings_json(a));
    if (!gas::cuda::available()) {
      std::puts("no GPU: skipped");
      report.root().set("status", "skipped");
      report.root().set("reason", "no GPU");
      report.save();
      return 77;
    }
    report.root().set("status", "running");
    report.root().set("device", device_json());
    report.save();
    Bench bench(a, report);
    const int rc = bench.run();
    report.root().set("status", rc == 0 ? "done" : "failed");
    report.save();
    std::error_code ec;
    fs::remove_all(scratch_dir(), ec);
    return rc;
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "bench_cuda_pipeline: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_pipeline: %s\n", e.what());
    try {
      report.root().set("status", "failed");
      report.root().set("error", e.what());
      report.save();
    } catch (const std::exception&) {
    }
    return 1;
  }
}
