#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <vector>

#include "gas/core/rng.hpp"

TEST_CASE("the same seed gives the same stream; another seed or stream differs") {
  gas::Rng a(42), b(42), c(43), d(42, 1);
  bool differ_c = false, differ_d = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a();
    CHECK(x == b());
    differ_c |= x != c();
    differ_d |= x != d();
  }
  CHECK(differ_c);
  CHECK(differ_d);
}

TEST_CASE("the stream is fixed across machines (golden values)") {
  // These values pin the algorithm: a change here breaks every recorded seed of every user.
  gas::Rng rng(0);
  CHECK(rng() == 0x99EC5F36CB75F2B4ull);  // xoshiro256** seeded by splitmix64(0), as published
  CHECK(rng() == 0xBF6E1F784956452Aull);
  CHECK(gas::Rng(1).below(1000) == 702);
  CHECK(gas::Rng(3).normal() == doctest::Approx(-0.54601209112990323).epsilon(1e-15));
  std::uint64_t state = 0;
  CHECK(gas::splitmix64(state) == 0xE220A8397B1DCDAFull);  // the published splitmix64 value for seed 0
  CHECK(gas::counter_hash(1, 2, 3) == gas::counter_hash(1, 2, 3));
  CHECK(gas::counter_hash(1, 2, 3) != gas::counter_hash(1, 2, 4));
  CHECK(gas::counter_hash(1, 2, 3) != gas::counter_hash(1, 3, 3));
}

TEST_CASE("CounterStream is the splitmix64 sequence from its keyed state, a pure function of its arguments") {
  // Element k is splitmix64's output number k + 1 from the key, so it continues a plain splitmix64 run.
  std::uint64_t seeded = 5 ^ (7 * 0xD1B54A32D192ED03ull);
  std::uint64_t state = gas::splitmix64(seeded);
  const gas::CounterStream draws(5, 7);
  for (std::uint64_t k = 0; k < 4; ++k) CHECK(draws(k) == gas::splitmix64(state));
  CHECK(gas::CounterStream(5, 7)(100) == draws(100));
  CHECK(gas::CounterStream(5, 8)(100) != draws(100));
  CHECK(gas::CounterStream(6, 7)(100) != draws(100));
  // Bits are balanced over many counters (a mean of 32 set bits per draw).
  double ones = 0;
  for (std::uint64_t k = 0; k < 4096; ++k) ones += static_cast<double>(std::popcount(draws(k)));
  CHECK(ones / 4096 == doctest::Approx(32).epsilon(0.01));
}

TEST_CASE("uniform, below and normal have the right moments") {
  gas::Rng rng(7);
  const int n = 200000;
  double sum = 0, sum_sq = 0, usum = 0;
  std::vector<int> hist(10, 0);
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z;
    sum_sq += z * z;
    const double u = rng.uniform();
    CHECK_UNARY(u >= 0.0);
    CHECK_UNARY(u < 1.0);
    usum += u;
    ++hist[rng.below(10)];
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sum_sq / n - 1.0) < 0.02);
  CHECK(std::abs(usum / n - 0.5) < 0.005);
  for (int h : hist) CHECK(std::abs(h - n / 10) < n / 100);
}

TEST_CASE("shuffle is a seeded permutation") {
  std::vector<int> v(100), w;
  std::iota(v.begin(), v.end(), 0);
  w = v;
  gas::Rng(5).shuffle(v.begin(), v.end());
  gas::Rng(5).shuffle(w.begin(), w.end());
  CHECK(v == w);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i) CHECK(sorted[i] == i);
  int moved = 0;
  for (int i = 0; i < 100; ++i) moved += v[i] != i;
  CHECK(moved > 80);
}
