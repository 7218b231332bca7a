#pragma once
/// @brief Seeded random numbers that give the same stream for the same seed on every machine.
///
/// The standard library's distributions are implementation-defined, so a seed would not reproduce a run
/// across compilers; every distribution here is written out. `Rng` is xoshiro256** seeded by splitmix64;
/// `counter_hash` is a stateless mixer for parallel loops, where element i draws from (seed, i) and the
/// result does not depend on the number of threads.

#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>

#include "gas/core/macros.hpp"

namespace gas {

namespace detail {
// 64 x 64 -> 128-bit products make bounded draws exact; __extension__ keeps -Wpedantic quiet about the GNU type.
__extension__ typedef unsigned __int128 uint128;
}  // namespace detail

/// @brief splitmix64 step: advances `state` and returns a well-mixed 64-bit value.
GAS_HD inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// @brief Stateless hash of (seed, stream, counter): the building block for thread-count-independent draws.
GAS_HD inline std::uint64_t counter_hash(std::uint64_t seed, std::uint64_t stream, std::uint64_t counter) {
  std::uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull);
  splitmix64(s);
  s ^= counter * 0x9E3779B97F4A7C15ull;
  std::uint64_t a = splitmix64(s);
  return a ^ splitmix64(s);
}

/// @brief counter_hash's bulk form for one (seed, stream): the keyed splitmix64 sequence, element `counter` of
/// which costs one mixing round instead of three. Masks over millions of elements (dropout) draw from it.
///
/// Element k is splitmix64's output number k + 1 from the state mixed out of (seed, stream), so the elements
/// have splitmix64's statistical quality; they differ from counter_hash(seed, stream, k).
class CounterStream {
public:
  /// @brief The stream of (seed, stream).
  GAS_HD CounterStream(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull);
    key_ = splitmix64(s);
  }
  /// @brief 64 random bits for `counter`; a pure function of (seed, stream, counter).
  GAS_HD std::uint64_t operator()(std::uint64_t counter) const {
    std::uint64_t state = key_ + counter * 0x9E3779B97F4A7C15ull;
    return splitmix64(state);
  }

private:
  std::uint64_t key_ = 0;
};

/// @brief Maps 64 random bits to a double in [0, 1) with 53 bits of precision.
GAS_HD inline double to_unit_double(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

/// @brief A small, fast, seedable generator (xoshiro256**) with portable distributions.
class Rng {
public:
  using result_type = std::uint64_t;

  /// @brief Seeds the four state words from `seed` (and an optional `stream` to derive independent generators).
  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0) {
    std::uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (auto& word : state_) word = splitmix64(s);
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }

  /// @brief Next 64 random bits.
  result_type operator()() {
    const std::uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }

  /// @brief Uniform double in [0, 1).
  double uniform() { return to_unit_double((*this)()); }

  /// @brief Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// @brief Uniform integer in [0, n) without modulo bias (Lemire's multiply-shift with rejection); n > 0.
  std::uint64_t below(std::uint64_t n) {
    detail::uint128 m = static_cast<detail::uint128>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<detail::uint128>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// @brief Standard normal draw (Box-Muller; the second value is cached).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }

  /// @brief Normal draw with the given mean and standard deviation.
  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  /// @brief Bernoulli draw with probability p.
  bool bernoulli(double p) { return uniform() < p; }

  /// @brief Fisher-Yates shuffle of a random-access range, identical on every platform.
  template <class RandomIt>
  void shuffle(RandomIt first, RandomIt last) {
    const auto n = last - first;
    for (auto i = n - 1; i > 0; --i) {
      const auto j = static_cast<decltype(i)>(below(static_cast<std::uint64_t>(i) + 1));
      using std::swap;
      swap(first[i], first[j]);
    }
  }

private:
  std::uint64_t state_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace gas
