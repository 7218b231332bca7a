// MappedStore survives a crash (issue 16): a writer process fills its history file generation after generation
// and is killed with SIGKILL at a random moment, many times; after each kill the file is reopened and must be
// either refused with a format_error or accepted with exactly the content of a flushed generation, never
// accepted with other content.
//
// Generation g's row r holds pattern(r, c, g), distinct for every (r, c, g) up to collisions of 24-bit hashes, so
// a table mixing two generations, or a torn row, is seen. The writer writes each generation in pieces (random
// rows by push, ranges by push_chunk, in a random order), flushes, then reads for a while as a training step's
// compute would, and every few generations closes the store without flushing (the destructor flushes) and
// reopens it with Mode::open: kills land in writes, flushes, closes, opens and reads.
//
// Its own main, not doctest's: the writer is this program run again (fork + exec), so no OpenMP thread pool is
// carried across a fork.
// usage: test_history_crash [KILLS] [SEED]       the driver (default 50 kills)
//        test_history_crash writer PATH SEED     the writer (loops until killed)

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/core/tensor.hpp>
#include <gas/history/mapped_store.hpp>

namespace {

using gas::history::MappedStore;
using gas::history::Mode;

constexpr std::int64_t num_nodes = 8192;
constexpr std::int64_t width = 32;  // 1 MiB of floats

/// @brief The value of row r, column c in generation g (g >= 1; generation 0 is the new file's zeros). Integers
/// below 2^24, so exact in float.
float pattern(std::int64_t r, std::int64_t c, std::uint64_t g) {
  std::uint64_t x = (static_cast<std::uint64_t>(r) * 0x9E3779B97F4A7C15ull) ^ (static_cast<std::uint64_t>(c) << 40) ^
                    (g * 0xC2B2AE3D27D4EB4Full);
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<float>((x & 0xFFFFFFu) | 1u);  // never 0, so no row of a generation looks like a new file's
}

[[noreturn]] void writer(const std::filesystem::path& path, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto store = std::make_unique<MappedStore<float>>(path, num_nodes, width, Mode::create);
  gas::Tensor<float> rows(num_nodes, width);
  std::vector<gas::node_id> ids(static_cast<std::size_t>(num_nodes));
  gas::Tensor<float> read(256, width);
  for (;;) {
    const std::uint64_t g = store->generation() + 1;  // what the next flush records
    for (std::int64_t r = 0; r < num_nodes; ++r)
      for (std::int64_t c = 0; c < width; ++c) rows(r, c) = pattern(r, c, g);
    // Half the table by push of random rows, the other half by push_chunk of ranges, in pieces of random size.
    for (std::int64_t i = 0; i < num_nodes; ++i) ids[static_cast<std::size_t>(i)] = static_cast<gas::node_id>(i);
    std::shuffle(ids.begin(), ids.begin() + num_nodes / 2, rng);
    gas::Tensor<float> gathered(num_nodes / 2, width);
    for (std::int64_t at = 0; at < num_nodes / 2;) {
      const std::int64_t n = std::min<std::int64_t>(num_nodes / 2 - at, 1 + static_cast<std::int64_t>(rng() % 700));
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t c = 0; c < width; ++c) gathered(i, c) = rows(ids[static_cast<std::size_t>(at + i)], c);
      store->push(std::span<const gas::node_id>(ids).subspan(static_cast<std::size_t>(at), static_cast<std::size_t>(n)),
                  gathered.slice_rows(0, n));
      at += n;
    }
    for (std::int64_t at = num_nodes / 2; at < num_nodes;) {
      const std::int64_t n = std::min<std::int64_t>(num_nodes - at, 1 + static_cast<std::int64_t>(rng() % 900));
      store->push_chunk(static_cast<gas::node_id>(at), rows.slice_rows(at, at + n));
      at += n;
    }
    if (g % 5 == 0) {  // close without flushing (the destructor flushes), reopen
      store.reset();
      store = std::make_unique<MappedStore<float>>(path, num_nodes, width, Mode::open);
      if (store->generation() != g) std::abort();
    } else {
      store->flush();
    }
    // The read phase: pulls leave the file clean.
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 6000);
    while (std::chrono::steady_clock::now() < until) {
      const auto at = static_cast<gas::node_id>(rng() % static_cast<std::uint64_t>(num_nodes - 256));
      store->pull_chunk(at, read.view());
      if (read(0, 0) != pattern(at, 0, g)) std::abort();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
}

/// @brief How one reopening went.
enum class Outcome { recovered, refused_dirty, refused_other, absent, wrong };

Outcome check(const std::filesystem::path& path, std::uint64_t& generation, std::string& message) {
  try {
    const MappedStore<float> store(path, num_nodes, width, Mode::open);
    generation = store.generation();
    gas::Tensor<float> out(num_nodes, width);
    store.pull_chunk(0, out.view());
    for (std::int64_t r = 0; r < num_nodes; ++r)
      for (std::int64_t c = 0; c < width; ++c) {
        const float want = generation == 0 ? 0.0f : pattern(r, c, generation);
        if (out(r, c) != want) {
          message = "row " + std::to_string(r) + " column " + std::to_string(c) + " holds " +
                    std::to_string(out(r, c)) + ", generation " + std::to_string(generation) + " wrote " +
                    std::to_string(want);
          return Outcome::wrong;
        }
      }
    return Outcome::recovered;
  } catch (const gas::format_error& e) {
    message = e.what();
    return message.find("not closed cleanly") != std::string::npos ? Outcome::refused_dirty : Outcome::refused_other;
  } catch (const gas::io_error& e) {
    message = e.what();
    if (!std::filesystem::exists(path)) return Outcome::absent;  // killed before the file was created
    return Outcome::wrong;
  }
}

int driver(int kills, std::uint64_t seed) {
  const auto dir = std::filesystem::temp_directory_path() / ("gas-crash-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "h.gashist";
  std::mt19937_64 rng(seed);
  std::map<Outcome, int> counts;
  std::map<std::uint64_t, int> generations;
  std::map<std::string, int> other_reasons;
  int failures = 0;
  for (int k = 0; k < kills; ++k) {
    std::filesystem::remove(path);
    // Delays from 2 ms (the writer is still starting) to 250 ms (dozens of generations in).
    const auto delay = std::chrono::microseconds(2000 + rng() % 248000);
    const std::string writer_seed = std::to_string(rng());
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) {
      const std::string p = path.string();
      const char* argv[] = {"test_history_crash", "writer", p.c_str(), writer_seed.c_str(), nullptr};
      ::execv("/proc/self/exe", const_cast<char* const*>(argv));
      std::_Exit(127);
    }
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
      std::printf("kill %d: the writer ended by itself (status %d) before the kill\n", k, status);
      ++failures;
      continue;
    }
    std::uint64_t generation = 0;
    std::string message;
    const Outcome outcome = check(path, generation, message);
    ++counts[outcome];
    if (outcome == Outcome::recovered) ++generations[generation];
    if (outcome == Outcome::refused_other) ++other_reasons[message.substr(message.find("': ") + 3, 40)];
    if (outcome == Outcome::wrong) {
      std::printf("kill %d after %lld us: WRONG: %s\n", k, static_cast<long long>(delay.count()), message.c_str());
      ++failures;
    }
  }
  std::filesystem::remove_all(dir);
  std::printf("%d kills: %d recovered (a flushed generation, every value checked), %d refused as not closed cleanly, "
              "%d refused otherwise, %d before the file existed, %d wrong\n",
              kills, counts[Outcome::recovered], counts[Outcome::refused_dirty], counts[Outcome::refused_other],
              counts[Outcome::absent], counts[Outcome::wrong]);
  std::printf("recovered generations:");
  for (const auto& [g, n] : generations) std::printf(" %llu (x%d)", static_cast<unsigned long long>(g), n);
  std::printf("\n");
  for (const auto& [reason, n] : other_reasons) std::printf("refused otherwise (x%d): %s...\n", n, reason.c_str());
  // Both outcomes must have occurred, or the kills missed the windows this test is about.
  if (counts[Outcome::recovered] == 0 || counts[Outcome::refused_dirty] == 0) {
    std::printf("FAILED: the kills never landed in a %s phase\n", counts[Outcome::recovered] == 0 ? "clean" : "dirty");
    ++failures;
  }
  std::printf("%s\n", failures == 0 ? "OK" : "FAILED");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 4 && std::string(argv[1]) == "writer") writer(argv[2], std::stoull(argv[3]));
    const int kills = argc >= 2 ? std::stoi(argv[1]) : 50;
    const std::uint64_t seed = argc >= 3 ? std::stoull(argv[2]) : 16;
    return driver(kills, seed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
