// History store benchmark: pull and push throughput of HostStore<float>, HalfStore<bf16> and MappedStore<float>
// on a (nodes, width) table, for a batch of random distinct ids (gather / scatter, one memcpy or conversion per
// row) and for the same number of rows in contiguous chunks (block copies), beside a memory-copy bandwidth
// measured in the same run.
//
//   bench_history [--nodes N] [--width W] [--batch B] [--chunk C] [--repeats R] [--dir DIR] [--json FILE]
//   (defaults: 2000000 nodes, width 128, batch 50000, chunks of 2000 rows, 5 repeats, DIR = the temp folder)
//
// GB/s counts bytes read plus bytes written, as the copy figure does: a float pull of B rows moves
// B x W x 4 bytes out of the table and B x W x 4 into the batch; a bf16 pull reads 2 bytes and writes 4 per
// value. The mapped store's file is filled before timing, so its pages sit in the page cache: the figures are
// those of a table that fits in RAM, the cost of the mapping itself (page-table walks, faults on first touch).
// Last, the mapped store's crash-safety costs: a flush after writing the table (msync + CRC-32 + header), an open
// (which verifies the CRC), and the CRC alone.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <omp.h>
#include <unistd.h>

#include <gas/core/json_writer.hpp>
#include <gas/core/rng.hpp>
#include <gas/core/tensor.hpp>
#include <gas/history/half_store.hpp>
#include <gas/history/host_store.hpp>
#include <gas/history/mapped_store.hpp>

#include "bench_util.hpp"

namespace {

struct Setup {
  std::int64_t nodes = 2000000, width = 128, batch = 50000, chunk = 2000;
  int repeats = 5;
  std::vector<gas::node_id> ids;  // (batch) distinct random ids
  std::vector<std::int64_t> chunk_offsets;  // starts of batch / chunk disjoint chunks, in random order
};

/// Times pull, push, pull_chunk and push_chunk of one store and prints a line per operation.
template <class S>
void run(const char* label, S& store, const Setup& setup, double copy, double stored_bytes, gas::JsonWriter& report) {
  using T = typename S::value_type;
  gas::Tensor<T> rows(setup.batch, setup.width);
  gas::Rng rng(3);
  for (auto& x : rows.values()) x = static_cast<T>(rng.uniform(-1, 1));
  // Per row, bytes moved: the stored row (read or written) plus the batch row (written or read).
  const double row_bytes = static_cast<double>(setup.width) * (stored_bytes + sizeof(T));
  const double total = row_bytes * static_cast<double>(setup.batch);
  gas::JsonWriter entry;
  auto report_line = [&](const char* op, double s) {
    const double gbs = total / s / 1e9;
    std::printf("%-20s %-14s %10.3f %10.2f %8.0f%% %12.1f\n", label, op, s * 1e3, gbs, 100 * gbs / copy,
                static_cast<double>(setup.batch) / s / 1e6);
    gas::JsonWriter line;
    line.add("seconds", s).add("gbs", gbs).add("fraction_of_copy", gbs / copy).add("mrows_per_s",
                                                                                    static_cast<double>(setup.batch) / s / 1e6);
    entry.add_object(op, line);
  };
  report_line("pull random", gas_bench::median_seconds([&] { store.pull(setup.ids, rows.view()); }, setup.repeats));
  report_line("push random", gas_bench::median_seconds([&] { store.push(setup.ids, rows.view()); }, setup.repeats));
  report_line("pull chunks", gas_bench::median_seconds(
                                 [&] {
                                   for (std::size_t k = 0; k < setup.chunk_offsets.size(); ++k)
                                     store.pull_chunk(static_cast<gas::node_id>(setup.chunk_offsets[k]),
                                                      rows.slice_rows(static_cast<std::int64_t>(k) * setup.chunk,
                                                                      static_cast<std::int64_t>(k + 1) * setup.chunk));
                                 },
                                 setup.repeats));
  report_line("push chunks", gas_bench::median_seconds(
                                 [&] {
                                   for (std::size_t k = 0; k < setup.chunk_offsets.size(); ++k)
                                     store.push_chunk(static_cast<gas::node_id>(setup.chunk_offsets[k]),
                                                      rows.slice_rows(static_cast<std::int64_t>(k) * setup.chunk,
                                                                      static_cast<std::int64_t>(k + 1) * setup.chunk));
                                 },
                                 setup.repeats));
  report.add_object(label, entry);
}

}  // namespace

int main(int argc, char** argv) {
  Setup setup;
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--nodes" && has_value) setup.nodes = std::atoll(argv[++i]);
    else if (arg == "--width" && has_value) setup.width = std::atoll(argv[++i]);
    else if (arg == "--batch" && has_value) setup.batch = std::atoll(argv[++i]);
    else if (arg == "--chunk" && has_value) setup.chunk = std::atoll(argv[++i]);
    else if (arg == "--repeats" && has_value) setup.repeats = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--dir" && has_value) dir = argv[++i];
    else if (arg == "--json" && has_value) json_path = argv[++i];
    else {
      std::fprintf(stderr, "bench_history: unknown argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (setup.nodes < 1 || setup.width < 1 || setup.batch < 1 || setup.chunk < 1 || setup.batch > setup.nodes) {
    std::fprintf(stderr, "bench_history: need 1 <= batch <= nodes, width >= 1, chunk >= 1\n");
    return 2;
  }
  setup.batch = std::max<std::int64_t>(setup.chunk, setup.batch / setup.chunk * setup.chunk);  // whole chunks

  // Random distinct ids: a shuffled prefix of all ids. Chunks: disjoint aligned ranges in random order.
  gas::Rng rng(1);
  std::vector<gas::node_id> all(static_cast<std::size_t>(setup.nodes));
  std::iota(all.begin(), all.end(), gas::node_id{0});
  rng.shuffle(all.begin(), all.end());
  setup.ids.assign(all.begin(), all.begin() + setup.batch);
  std::vector<std::int64_t> slots(static_cast<std::size_t>(setup.nodes / setup.chunk));
  std::iota(slots.begin(), slots.end(), std::int64_t{0});
  rng.shuffle(slots.begin(), slots.end());
  for (std::int64_t k = 0; k < setup.batch / setup.chunk; ++k)
    setup.chunk_offsets.push_back(slots[static_cast<std::size_t>(k)] * setup.chunk);

  try {
    const double copy = gas_bench::copy_gbs(setup.repeats);
    std::printf("table (%lld, %lld), batch %lld rows (%lld chunks of %lld); %d threads; median of %d\n",
                static_cast<long long>(setup.nodes), static_cast<long long>(setup.width),
                static_cast<long long>(setup.batch), static_cast<long long>(setup.chunk_offsets.size()),
                static_cast<long long>(setup.chunk), omp_get_max_threads(), setup.repeats);
    std::printf("memory copy: %.2f GB/s\n\n", copy);
    std::printf("%-20s %-14s %10s %10s %9s %12s\n", "store", "operation", "ms", "GB/s", "of copy", "Mrows/s");

    gas::JsonWriter report;
    report.add("nodes", setup.nodes).add("width", setup.width).add("batch", setup.batch).add("chunk", setup.chunk);
    report.add("threads", omp_get_max_threads()).add("copy_gbs", copy);
    {
      gas::history::HostStore<float> store(setup.nodes, setup.width);
      run("HostStore<float>", store, setup, copy, 4.0, report);
    }
    {
      gas::history::HalfStore<gas::history::half::bf16> store(setup.nodes, setup.width);
      run("HalfStore<bf16>", store, setup, copy, 2.0, report);
    }
    struct {
      double flush = 0, open = 0, crc = 0;
      std::uint32_t sink = 0;
    } crash_safety;
    {
      struct RemoveOnExit {
        std::filesystem::path path;
        ~RemoveOnExit() {
          std::error_code ec;
          std::filesystem::remove(path, ec);
        }
      } file{dir / ("bench_history_" + std::to_string(::getpid()) + ".gashist")};
      {
        gas::history::MappedStore<float> store(file.path, setup.nodes, setup.width, gas::history::Mode::create);
        store.fill(0.0f);  // bring every page into the page cache before timing
        run("MappedStore<float>", store, setup, copy, 4.0, report);
        // Crash safety's costs: a flush after writes msyncs the table, checksums it (CRC-32) and rewrites the
        // header; the write itself (a fill, every page) is outside the timing.
        std::vector<double> flushes;
        for (int i = 0; i < setup.repeats; ++i) {
          store.fill(static_cast<float>(i + 1));
          gas_bench::Stopwatch watch;
          store.flush();
          flushes.push_back(watch.seconds());
        }
        crash_safety.flush = gas_bench::median(flushes);
      }
      crash_safety.open = gas_bench::median_seconds(
          [&] { const gas::history::MappedStore<float> s(file.path, setup.nodes, setup.width, gas::history::Mode::open); },
          setup.repeats);
      // The CRC alone, over a buffer of the table's size in RAM.
      std::vector<unsigned char> buffer(static_cast<std::size_t>(setup.nodes * setup.width) * 4, 1);
      crash_safety.crc = gas_bench::median_seconds(
          [&] { crash_safety.sink ^= gas::history::detail::parallel_crc32(buffer.data(), buffer.size()); },
          setup.repeats);
      const double gib = static_cast<double>(buffer.size()) / (1 << 30);
      std::printf("\nMappedStore<float> crash safety, table %.2f GiB: flush after writing it (msync + CRC-32) %.3f s; "
                  "open (verifies the CRC) %.3f s; CRC-32 alone %.3f s (%.2f GiB/s)\n",
                  gib, crash_safety.flush, crash_safety.open, crash_safety.crc, gib / crash_safety.crc);
      report.add("mapped_flush_seconds", crash_safety.flush)
          .add("mapped_open_seconds", crash_safety.open)
          .add("crc32_seconds", crash_safety.crc)
          .add("crc32_gibs", gib / crash_safety.crc);
    }
    if (!json_path.empty()) report.save(json_path);
  } catch (const gas::error& e) {
    std::fprintf(stderr, "bench_history: %s\n", e.what());
    return 1;
  }
  return 0;
}
