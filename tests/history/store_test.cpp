// History stores: the HistoryStore concept, and for HostStore, HalfStore and MappedStore the same checks (push
// then pull returns what was pushed, in random order and by chunks, through strided views, fill, width and range
// errors), plus the mapped store's file handling and the half stores' conversions and precision.

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/core/rng.hpp>
#include <gas/core/tensor.hpp>
#include <gas/history/concept.hpp>
#include <gas/history/half_store.hpp>
#include <gas/history/host_store.hpp>
#include <gas/history/mapped_store.hpp>

#include "io/io_test_util.hpp"
#include "test_util.hpp"

using gas::node_id;
using gas::history::HalfStore;
using gas::history::HistoryStore;
using gas::history::HostStore;
using gas::history::MappedStore;
using gas::history::Mode;
namespace half = gas::history::half;

namespace {

struct MissingPushChunk {
  using value_type = float;
  std::int64_t num_nodes() const { return 0; }
  std::int64_t width() const { return 0; }
  void pull(std::span<const node_id>, gas::MatrixView<float>) {}
  void push(std::span<const node_id>, gas::MatrixView<const float>) {}
  void pull_chunk(node_id, gas::MatrixView<float>) {}
  void fill(float) {}
};

struct IntegerStore : MissingPushChunk {
  using value_type = int;
  void push_chunk(node_id, gas::MatrixView<const float>) {}
};

struct CompleteStore : MissingPushChunk {
  void push_chunk(node_id, gas::MatrixView<const float>) {}
};

static_assert(HistoryStore<HostStore<float>>);
static_assert(HistoryStore<HostStore<double>>);
static_assert(HistoryStore<HalfStore<half::bf16>>);
static_assert(HistoryStore<HalfStore<half::fp16>>);
static_assert(HistoryStore<MappedStore<float>>);
static_assert(HistoryStore<MappedStore<double>>);
static_assert(HistoryStore<CompleteStore>);
static_assert(!HistoryStore<int>);
static_assert(!HistoryStore<MissingPushChunk>);
static_assert(!HistoryStore<IntegerStore>);
static_assert(gas::history::HalfFormat<half::bf16> && gas::history::HalfFormat<half::fp16>);
static_assert(!gas::history::HalfFormat<float>);

/// A (rows, cols) tensor of values k / 4 with |k| < 128: exact in float, double, bf16 and fp16, so every store
/// must give back exactly what it was given.
template <class T>
gas::Tensor<T> exact_values(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  gas::Rng rng(seed, 5);
  gas::Tensor<T> t(rows, cols);
  for (auto& x : t.values()) x = static_cast<T>(static_cast<double>(static_cast<int>(rng.below(255)) - 127) / 4.0);
  return t;
}

/// `count` distinct ids out of [0, n) in random order.
std::vector<node_id> random_ids(std::int64_t n, std::int64_t count, std::uint64_t seed) {
  std::vector<node_id> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), node_id{0});
  gas::Rng rng(seed, 7);
  rng.shuffle(ids.begin(), ids.end());
  ids.resize(static_cast<std::size_t>(count));
  return ids;
}

template <class A, class B>
bool equal(const A& a, const B& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::int64_t i = 0; i < a.rows(); ++i)
    for (std::int64_t j = 0; j < a.cols(); ++j)
      if (a(i, j) != b(i, j)) return false;
  return true;
}

/// Everything a store promises, checked against a plain tensor mirror. The store is (n, w) with n >= 2000 so
/// that the large copies take the parallel paths; `name` is what its messages must contain.
template <class S>
void check_store(S& store, const std::string& name) {
  using T = typename S::value_type;
  const std::int64_t n = store.num_nodes(), w = store.width();
  REQUIRE(n >= 2000);
  gas::Tensor<T> mirror(n, w, T{0});

  SUBCASE("fill, then pull everything back") {
    store.fill(T{1.5});
    mirror.fill(T{1.5});
    std::vector<node_id> all(static_cast<std::size_t>(n));
    std::iota(all.begin(), all.end(), node_id{0});
    gas::Tensor<T> out(n, w, T{-7});
    store.pull(all, out.view());
    CHECK(equal(out, mirror));
  }

  SUBCASE("push rows at random ids, pull them in another random order") {
    store.fill(T{0});
    const auto ids = random_ids(n, n / 2, 1);
    const auto rows = exact_values<T>(n / 2, w, 2);
    store.push(ids, rows.view());
    for (std::int64_t i = 0; i < rows.rows(); ++i)
      for (std::int64_t j = 0; j < w; ++j) mirror(ids[static_cast<std::size_t>(i)], j) = rows(i, j);
    const auto read = random_ids(n, n, 3);
    gas::Tensor<T> out(n, w);
    store.pull(read, out.view());
    bool same = true;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < w; ++j) same &= out(i, j) == mirror(read[static_cast<std::size_t>(i)], j);
    CHECK(same);
    // Small calls (one row, no row) take the sequential paths.
    const std::vector<node_id> one{ids[5]};
    gas::Tensor<T> single(1, w);
    store.pull(one, single.view());
    CHECK(equal(single, rows.slice_rows(5, 6)));
    store.pull({}, gas::MatrixView<T>(nullptr, 0, w));
    store.push({}, gas::MatrixView<const T>(nullptr, 0, w));
  }

  SUBCASE("chunks: push and pull contiguous ranges, also through strided views") {
    store.fill(T{0});
    const auto a = exact_values<T>(1500, w, 4);  // large: one parallel block copy
    const auto b = exact_values<T>(3, w, 5);     // small: one memcpy
    store.push_chunk(100, a.view());
    store.push_chunk(static_cast<node_id>(n - 3), b.view());
    store.push_chunk(static_cast<node_id>(n), gas::MatrixView<const T>(nullptr, 0, w));  // empty chunk at the end
    gas::Tensor<T> out(1500, w);
    store.pull_chunk(100, out.view());
    CHECK(equal(out, a));
    gas::Tensor<T> tail(3, w);
    store.pull_chunk(static_cast<node_id>(n - 3), tail.view());
    CHECK(equal(tail, b));
    // A column block of a wider matrix has ld > cols: rows copy one by one.
    const auto wide = exact_values<T>(1200, w + 3, 6);
    const auto strided = wide.view().slice_cols(2, 2 + w);
    store.push_chunk(10, strided);
    gas::Tensor<T> wide_out(1200, w + 5, T{9});
    const auto out_view = gas::MatrixView<T>(wide_out.data(), 1200, w + 5).slice_cols(1, 1 + w);
    store.pull_chunk(10, out_view);
    CHECK(equal(out_view, strided));
    CHECK(wide_out(0, 0) == T{9});  // columns outside the view untouched
    CHECK(wide_out(1199, w + 1) == T{9});
    // Strided gathers and scatters too.
    const auto ids = random_ids(n, 1200, 8);
    store.push(ids, strided);
    gas::Tensor<T> back(1200, w + 5, T{9});
    const auto back_view = gas::MatrixView<T>(back.data(), 1200, w + 5).slice_cols(3, 3 + w);
    store.pull(ids, back_view);
    CHECK(equal(back_view, strided));
    CHECK(back(7, 0) == T{9});
  }

  SUBCASE("widths are checked on every call, not just row counts") {
    gas::Tensor<T> narrow(4, w - 1), wide(4, w + 1);
    const std::vector<node_id> ids{0, 1, 2, 3};
    const std::string wide_msg = "the history is " + std::to_string(w) + " wide";
    CHECK_THROWS_NAMING(gas::shape_error, store.pull(ids, narrow.view()), name, "::pull", "out has", wide_msg);
    CHECK_THROWS_NAMING(gas::shape_error, store.push(ids, wide.view()), name, "::push", "rows has", wide_msg);
    CHECK_THROWS_NAMING(gas::shape_error, store.pull_chunk(0, wide.view()), name, "::pull_chunk",
                        std::to_string(w + 1) + " columns", wide_msg);
    CHECK_THROWS_NAMING(gas::shape_error, store.push_chunk(0, narrow.view()), name, "::push_chunk",
                        std::to_string(w - 1) + " columns", wide_msg);
    gas::Tensor<T> three(3, w);
    CHECK_THROWS_NAMING(gas::shape_error, store.pull(ids, three.view()), name, "4 ids", "3 rows");
    CHECK_THROWS_NAMING(gas::shape_error, store.push(ids, three.view()), name, "4 ids", "3 rows");
  }

  SUBCASE("ids and chunks outside the table are refused before anything is written") {
    store.fill(T{2});
    gas::Tensor<T> rows(4, w, T{5});
    const std::string range = "outside [0, " + std::to_string(n) + ")";
    const std::vector<node_id> negative{0, 1, -1, 3}, past{3, static_cast<node_id>(n), 1, 2};
    CHECK_THROWS_NAMING(gas::value_error, store.pull(negative, rows.view()), name, "id -1 at position 2", range);
    CHECK_THROWS_NAMING(gas::value_error, store.push(past, rows.view()), name, "id " + std::to_string(n),
                        "position 1", range);
    CHECK_THROWS_NAMING(gas::value_error, store.push_chunk(static_cast<node_id>(n - 3), rows.view()), name,
                        "chunk [" + std::to_string(n - 3) + ", " + std::to_string(n + 1) + ")", range);
    CHECK_THROWS_NAMING(gas::value_error, store.pull_chunk(-1, rows.view()), name, "chunk [-1, 3)", range);
    gas::Tensor<T> check(4, w);
    store.pull_chunk(0, check.view());
    CHECK(check(3, 0) == T{2});  // the refused push wrote nothing
    // A long list with one bad id at the end (the parallel min/max path) is refused too.
    std::vector<node_id> many(100000, 0);
    many.back() = static_cast<node_id>(n + 5);
    gas::Tensor<T> big(100000, w);
    CHECK_THROWS_NAMING(gas::value_error, store.pull(many, big.view()), name, "position 99999");
  }
}

}  // namespace

TEST_CASE_TEMPLATE("HostStore keeps what was pushed and checks every call", T, float, double) {
  HostStore<T> store(2048, 16);
  CHECK(store.num_nodes() == 2048);
  CHECK(store.width() == 16);
  CHECK(store.bytes() == 2048 * 16 * sizeof(T));
  check_store(store, HostStore<T>::name());
  CHECK(HostStore<T>::name() == std::string("gas::history::HostStore<") + (sizeof(T) == 4 ? "float" : "double") + ">");
}

TEST_CASE("HostStore: initial value, empty tables and bad shapes") {
  const HostStore<float> filled(3, 2, 4.0f);
  CHECK(filled.table()(2, 1) == 4.0f);
  HostStore<float> empty(0, 8);
  empty.pull({}, gas::MatrixView<float>(nullptr, 0, 8));
  CHECK_THROWS_NAMING(gas::value_error, empty.pull_chunk(0, gas::Tensor<float>(1, 8).view()), "chunk [0, 1)",
                      "outside [0, 0)");
  HostStore<float> zero_width(10, 0);
  gas::Tensor<float> none(2, 0);
  const std::vector<node_id> ids{3, 9};
  zero_width.push(ids, none.view());
  zero_width.pull(ids, none.view());
  zero_width.push_chunk(8, none.view());
  CHECK_THROWS_NAMING(gas::value_error, HostStore<float>(-1, 4), "HostStore<float>", "(-1, 4)");
  CHECK_THROWS_NAMING(gas::value_error, HostStore<double>(5, -2), "HostStore<double>", "(5, -2)");
}

TEST_CASE("HalfStore keeps exactly representable values exactly and checks every call") {
  SUBCASE("bf16") {
    HalfStore<half::bf16> store(2048, 16);
    CHECK(store.bytes() == 2048 * 16 * 2);
    check_store(store, "gas::history::HalfStore<bf16>");
  }
  SUBCASE("fp16") {
    HalfStore<half::fp16> store(2048, 16);
    check_store(store, "gas::history::HalfStore<fp16>");
  }
}

TEST_CASE("MappedStore keeps what was pushed and checks every call") {
  gas_test::TempDir dir;
  const auto path = dir / "h.gashist";
  MappedStore<float> store(path, 2048, 16, Mode::create);
  CHECK(store.file_bytes() == 4096 + 2048 * 16 * 4);
  CHECK(std::filesystem::file_size(path) == store.file_bytes());
  check_store(store, "gas::history::MappedStore<float> '" + path.string() + "'");
}

// ---------------------------------------------------------------------------------------------------------------
// Half-precision conversions.

namespace {


/// The format's value nearest to x, ties to the even pattern, by brute force over the neighbors of a
/// truncation: the reference the encoders are compared with.
template <class F>
std::uint16_t nearest_reference(float x) {
  // Candidates: every pattern of x's sign whose decoded value brackets x. Monotone search over magnitudes.
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double target = std::abs(static_cast<double>(x));
  std::uint32_t lo = 0, hi = 0x7C00;  // search [0, the smallest infinite pattern]
  if constexpr (std::is_same_v<F, half::bf16>) hi = 0x7F80;
  while (hi - lo > 1) {  // invariant: |decode(lo)| <= target < |decode(hi)| or hi is infinity
    const std::uint32_t mid = (lo + hi) / 2;
    if (static_cast<double>(F::decode(static_cast<std::uint16_t>(mid))) <= target) lo = mid;
    else hi = mid;
  }
  const double a = F::decode(static_cast<std::uint16_t>(lo));
  if (a == target) return static_cast<std::uint16_t>(sign | lo);
  // The distance to the infinity pattern is measured to where the next finite value would be (IEEE overflow).
  double b = F::decode(static_cast<std::uint16_t>(hi));
  if (std::isinf(b)) b = a + (a - static_cast<double>(F::decode(static_cast<std::uint16_t>(lo - 1))));
  const double da = target - a, db = b - target;
  const std::uint32_t pick = da < db ? lo : db < da ? hi : ((lo & 1u) == 0 ? lo : hi);
  return static_cast<std::uint16_t>(sign | pick);
}

template <class F>
void check_conversions_exhaustively() {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto pattern = static_cast<std::uint16_t>(h);
    const float x = F::decode(pattern);
    if (std::isnan(x)) {
      const auto back = F::encode(x);
      REQUIRE(std::isnan(F::decode(back)));
      REQUIRE((back & 0x8000) == (pattern & 0x8000));
    } else {
      REQUIRE(F::encode(x) == pattern);  // every pattern is a float and comes back unchanged
    }
  }
}

}  // namespace

TEST_CASE("bf16 and fp16: every pattern decodes and encodes back to itself") {
  check_conversions_exhaustively<half::bf16>();
  check_conversions_exhaustively<half::fp16>();
}

TEST_CASE("bf16 rounds to nearest even, keeps infinities and NaNs") {
  using F = half::bf16;
  CHECK(F::encode(1.0f) == 0x3F80);
  CHECK(F::encode(1.0f + 0x1p-8f) == 0x3F80);                 // tie between 1 and 1 + 2^-7: even (1)
  CHECK(F::encode(1.0f + 3 * 0x1p-8f) == 0x3F82);             // tie: even (1 + 2^-6)
  CHECK(F::encode(1.0f + 0x1p-8f + 0x1p-20f) == 0x3F81);      // above the tie: up
  CHECK(F::encode(-2.0f) == 0xC000);
  CHECK(F::encode(-0.0f) == 0x8000);
  CHECK(F::encode(std::numeric_limits<float>::infinity()) == 0x7F80);
  CHECK(F::encode(-std::numeric_limits<float>::infinity()) == 0xFF80);
  CHECK(F::encode(std::numeric_limits<float>::max()) == 0x7F80);  // beyond bf16's largest finite: infinity
  CHECK(F::encode(std::bit_cast<float>(0x7F7F7FFFu)) == 0x7F7F);  // just below the rounding point: largest finite
  // A NaN whose payload sits in the low bits only must not truncate to infinity.
  const float low_nan = std::bit_cast<float>(0x7F800001u);
  CHECK(std::isnan(F::decode(F::encode(low_nan))));
  CHECK(std::isnan(F::decode(F::encode(-std::numeric_limits<float>::quiet_NaN()))));
  CHECK((F::encode(-std::numeric_limits<float>::quiet_NaN()) & 0x8000) != 0);
  CHECK(F::decode(F::encode(std::bit_cast<float>(0x00000001u))) == 0.0f);  // float subnormals: bf16 subnormals
  CHECK(F::encode(std::bit_cast<float>(0x00010000u)) == 0x0001);
}

TEST_CASE("fp16 rounds to nearest even with subnormals, overflow and NaNs") {
  using F = half::fp16;
  CHECK(F::encode(1.0f) == 0x3C00);
  CHECK(F::encode(1.0f + 0x1p-11f) == 0x3C00);          // tie: even
  CHECK(F::encode(1.0f + 3 * 0x1p-11f) == 0x3C02);      // tie: even
  CHECK(F::encode(65504.0f) == 0x7BFF);                 // largest finite
  CHECK(F::encode(65519.99f) == 0x7BFF);
  CHECK(F::encode(65520.0f) == 0x7C00);                 // the tie above the largest finite goes to infinity
  CHECK(F::encode(-1e9f) == 0xFC00);
  CHECK(F::encode(0x1p-14f) == 0x0400);                 // smallest normal
  CHECK(F::encode(0x1p-24f) == 0x0001);                 // smallest subnormal
  CHECK(F::encode(0x1p-25f) == 0x0000);                 // tie between 0 and 2^-24: even (0)
  CHECK(F::encode(-0x1p-25f) == 0x8000);
  CHECK(F::encode(0x1.000002p-25f) == 0x0001);          // just above the tie
  CHECK(F::encode(3 * 0x1p-25f) == 0x0002);             // 1.5 * 2^-24: tie, even (2)
  CHECK(F::encode(5 * 0x1p-25f) == 0x0002);             // 2.5 * 2^-24: tie, even (2)
  CHECK(F::encode(0x1p-14f - 0x1p-30f) == 0x0400);      // the largest subnormal rounds up into the normals
  CHECK(F::decode(0x03FF) == 1023 * 0x1p-24f);
  CHECK(F::decode(0x8001) == -0x1p-24f);
  CHECK(F::encode(std::numeric_limits<float>::infinity()) == 0x7C00);
  CHECK(F::encode(std::bit_cast<float>(0x7F800001u)) != 0x7C00);  // NaN stays NaN
  CHECK(std::isnan(F::decode(F::encode(std::bit_cast<float>(0x7F800001u)))));
  CHECK(std::isinf(F::decode(0xFC00)));
}

TEST_CASE("bf16 and fp16 encoders agree with the brute-force nearest value on random floats") {
  gas::Rng rng(11, 1);
  for (int k = 0; k < 200000; ++k) {
    // Random bit patterns cover every exponent; keep the finite ones (NaNs are checked above).
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    if (!std::isfinite(x)) continue;
    REQUIRE(half::bf16::encode(x) == nearest_reference<half::bf16>(x));
    REQUIRE(half::fp16::encode(x) == nearest_reference<half::fp16>(x));
  }
  // Values near fp16's range, where random bit patterns rarely land.
  for (int k = 0; k < 200000; ++k) {
    const float x = static_cast<float>(std::ldexp(rng.uniform(-2.0, 2.0), static_cast<int>(rng.below(46)) - 30));
    REQUIRE(half::fp16::encode(x) == nearest_reference<half::fp16>(x));
  }
}

#if defined(__FLT16_MAX__)
TEST_CASE("fp16 encoder matches the compiler's _Float16 conversion") {
  gas::Rng rng(12, 1);
  for (int k = 0; k < 500000; ++k) {
    const float x = k % 2 == 0 ? std::bit_cast<float>(static_cast<std::uint32_t>(rng()))
                               : static_cast<float>(std::ldexp(rng.uniform(-2.0, 2.0),
                                                               static_cast<int>(rng.below(46)) - 30));
    if (std::isnan(x)) continue;
    const auto reference = std::bit_cast<std::uint16_t>(static_cast<_Float16>(x));
    REQUIRE(half::fp16::encode(x) == reference);
    REQUIRE(half::fp16::decode(reference) == static_cast<float>(static_cast<_Float16>(x)));
  }
}
#endif

TEST_CASE("HalfStore: relative error within the format's unit roundoff in the normal range") {
  const std::int64_t n = 4096, w = 32;
  gas::Rng rng(13, 1);
  gas::Tensor<float> rows(n, w);
  for (auto& x : rows.values())  // magnitudes from 2^-12 to 2^12: normal in both formats
    x = static_cast<float>(std::ldexp(rng.uniform(1.0, 2.0), static_cast<int>(rng.below(25)) - 12) *
                           (rng.bernoulli(0.5) ? -1 : 1));
  auto worst_error = [&](auto& store) {
    store.push_chunk(0, rows.view());
    gas::Tensor<float> out(n, w);
    store.pull_chunk(0, out.view());
    double worst = 0;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < w; ++j)
        worst = std::max(worst, std::abs(static_cast<double>(out(i, j)) - rows(i, j)) / std::abs(rows(i, j)));
    return worst;
  };
  HalfStore<half::bf16> bf(n, w);
  HalfStore<half::fp16> fp(n, w);
  const double bf_error = worst_error(bf), fp_error = worst_error(fp);
  CHECK(bf_error <= 0x1p-8);
  CHECK(fp_error <= 0x1p-11);
  CHECK(bf_error > 0x1p-10);  // and the formats really are that coarse (the data is not accidentally exact)
  CHECK(fp_error > 0x1p-13);
  // The raw pattern is what the encoder gives.
  CHECK(bf.raw_row(7)[3] == half::bf16::encode(rows(7, 3)));
  CHECK(fp.raw_row(7)[3] == half::fp16::encode(rows(7, 3)));
  // fill rounds too.
  fp.fill(1.0f + 0x1p-12f);
  gas::Tensor<float> one(1, w);
  fp.pull_chunk(5, one.view());
  CHECK(one(0, 0) == 1.0f);
}

// ---------------------------------------------------------------------------------------------------------------
// MappedStore's file.

TEST_CASE("MappedStore: data persists across reopening, flush, move") {
  gas_test::TempDir dir;
  const auto path = dir / "persist.gashist";
  const auto rows = exact_values<double>(50, 6, 21);
  const auto ids = random_ids(300, 50, 22);
  {
    MappedStore<double> store(path, 300, 6, Mode::create);
    gas::Tensor<double> zeros(300, 6, -1.0);
    store.pull_chunk(0, zeros.view());
    CHECK(equal(zeros, gas::Tensor<double>(300, 6, 0.0)));  // a new file holds zeros
    store.push(ids, rows.view());
    store.flush();
    store.push_chunk(299, rows.slice_rows(0, 1));
  }  // the destructor unmaps; the last push reaches the file without a flush
  MappedStore<double> reopened(path, 300, 6, Mode::open);
  gas::Tensor<double> out(50, 6);
  reopened.pull(ids, out.view());
  const bool id_299_pushed = std::find(ids.begin(), ids.end(), 299) != ids.end();
  if (!id_299_pushed) CHECK(equal(out, rows));
  gas::Tensor<double> last(1, 6);
  reopened.pull_chunk(299, last.view());
  CHECK(equal(last, rows.slice_rows(0, 1)));

  // Moves hand the mapping over; the moved-from store is empty and harmless.
  MappedStore<double> moved(std::move(reopened));
  CHECK(moved.num_nodes() == 300);
  CHECK(reopened.num_nodes() == 0);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  moved.pull_chunk(299, last.view());
  CHECK(equal(last, rows.slice_rows(0, 1)));
  MappedStore<double> other(dir / "other.gashist", 2, 6, Mode::create);
  other = std::move(moved);
  CHECK(other.num_nodes() == 300);
  CHECK(other.path() == path);
  other.pull_chunk(299, last.view());
  CHECK(equal(last, rows.slice_rows(0, 1)));

  // create replaces an existing gas history file, whatever its shape.
  MappedStore<float> replaced(dir / "other.gashist", 10, 3, Mode::create);
  CHECK(std::filesystem::file_size(dir / "other.gashist") == 4096 + 10 * 3 * 4);
}

TEST_CASE("MappedStore: a file of another shape, type, version or size is refused on open") {
  gas_test::TempDir dir;
  const auto path = dir / "h.gashist";
  { MappedStore<float> store(path, 100, 8, Mode::create); }
  const std::string file = "'" + path.string() + "'";
  CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 9, Mode::open), file,
                      "holds a (100, 8) table, expected (100, 9)");
  CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 99, 8, Mode::open), file, "(100, 8)", "(99, 8)");
  CHECK_THROWS_NAMING(gas::format_error, MappedStore<double>(path, 100, 8, Mode::open), file, "holds float",
                      "reads double");

  const auto bytes = gas_test::slurp(path);
  SUBCASE("truncated") {
    std::filesystem::resize_file(path, bytes.size() - 4);
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file, "truncated",
                        std::to_string(bytes.size() - 4) + " bytes", "needs " + std::to_string(bytes.size()));
  }
  SUBCASE("too long") {
    std::filesystem::resize_file(path, bytes.size() + 1);
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file, "too long");
  }
  SUBCASE("shorter than a header") {
    std::filesystem::resize_file(path, 20);
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file, "truncated",
                        "20 bytes", "header");
  }
  SUBCASE("another version") {
    auto changed = bytes;
    changed[8] = 7;  // version field, little or big end alike: no longer 1
    gas_test::write_file(path, changed);
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file, "version");
  }
  SUBCASE("another byte order") {
    auto changed = bytes;
    std::swap(changed[12], changed[15]);
    std::swap(changed[13], changed[14]);
    gas_test::write_file(path, changed);
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file, "byte order");
  }
  SUBCASE("not ours") {
    gas_test::write_file(path, std::string(5000, 'x'));
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file,
                        "not a gas history file");
  }
  SUBCASE("missing") {
    CHECK_THROWS_NAMING(gas::io_error, MappedStore<float>(dir / "absent", 100, 8, Mode::open), "absent",
                        "cannot open", "No such file or directory");
  }
  SUBCASE("a directory") {
    CHECK_THROWS_NAMING(gas::io_error, MappedStore<float>(dir.path(), 100, 8, Mode::open), dir.path().string());
    CHECK_THROWS_NAMING(gas::io_error, MappedStore<float>(dir.path(), 100, 8, Mode::create), dir.path().string());
  }
}

TEST_CASE("MappedStore: create never destroys a file that is not a gas history unless told to") {
  gas_test::TempDir dir;
  const auto path = dir / "notes.txt";
  const std::string precious = "a user's data, not a history\n";
  gas_test::write_file(path, precious);
  CHECK_THROWS_NAMING(gas::io_error, MappedStore<float>(path, 10, 4, Mode::create), "'" + path.string() + "'",
                      "refusing to overwrite", "Mode::overwrite");
  CHECK(gas_test::slurp(path) == precious);  // untouched
  {
    MappedStore<float> store(path, 10, 4, Mode::overwrite);
    store.fill(3.0f);
  }
  MappedStore<float> reopened(path, 10, 4, Mode::open);
  gas::Tensor<float> row(1, 4);
  reopened.pull_chunk(9, row.view());
  CHECK(row(0, 3) == 3.0f);

  // An empty file holds nothing to lose (a mkstemp placeholder, say): create takes it.
  gas_test::write_file(dir / "empty", std::string());
  MappedStore<float> from_empty(dir / "empty", 5, 2, Mode::create);
  CHECK(std::filesystem::file_size(dir / "empty") == 4096 + 5 * 2 * 4);

  // A folder that does not exist: the OS's reason, and no file left behind.
  CHECK_THROWS_NAMING(gas::io_error, MappedStore<float>(dir / "no" / "such" / "dir", 5, 2, Mode::create),
                      "cannot create", "No such file or directory");
  CHECK_THROWS_NAMING(gas::value_error, MappedStore<float>(dir / "bad", -5, 2, Mode::create), "(-5, 2)");
  CHECK(!std::filesystem::exists(dir / "bad"));
}

// ---------------------------------------------------------------------------------------------------------------
// MappedStore's crash safety (format version 2): dirty mark before the first write, checksums at flush and close.
// tests/history/crash_test.cpp kills real writers; here the file's bytes are copied at each point instead, which is
// what a SIGKILL at that moment would leave (the page cache holds exactly the mapping's bytes).

TEST_CASE("MappedStore: a file copied between a write and the next flush is refused as not closed cleanly") {
  gas_test::TempDir dir;
  const auto path = dir / "h.gashist";
  const auto rows = exact_values<float>(64, 4, 5);
  MappedStore<float> store(path, 64, 4, Mode::create);
  CHECK(!store.dirty());
  CHECK(store.generation() == 0);
  gas::Tensor<float> out(64, 4);
  store.pull_chunk(0, out.view());
  store.pull(random_ids(64, 10, 3), out.slice_rows(0, 10));
  CHECK(!store.dirty());  // reads never dirty the file
  const std::string zeros_image = gas_test::slurp(path);

  store.push_chunk(0, rows.view());
  CHECK(store.dirty());
  const std::string killed_image = gas_test::slurp(path);
  store.flush();
  CHECK(!store.dirty());
  CHECK(store.generation() == 1);
  store.flush();  // nothing written since: no new generation
  CHECK(store.generation() == 1);
  const std::string flushed_image = gas_test::slurp(path);

  const std::string file = "'" + (dir / "killed.gashist").string() + "'";
  gas_test::write_file(dir / "killed.gashist", killed_image);
  CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(dir / "killed.gashist", 64, 4, Mode::open), file,
                      "not closed cleanly", "flush()", "Mode::create");
  {  // Mode::create is the recovery: a new table, clean.
    MappedStore<float> rebuilt(dir / "killed.gashist", 64, 4, Mode::create);
    CHECK(rebuilt.generation() == 0);
  }
  MappedStore<float> reopened(dir / "killed.gashist", 64, 4, Mode::open);
  reopened.pull_chunk(0, out.view());
  CHECK(equal(out, gas::Tensor<float>(64, 4, 0.0f)));

  // The images of the clean points open, each with its own content.
  gas_test::write_file(dir / "zeros.gashist", zeros_image);
  MappedStore<float> at_zero(dir / "zeros.gashist", 64, 4, Mode::open);
  CHECK(at_zero.generation() == 0);
  at_zero.pull_chunk(0, out.view());
  CHECK(equal(out, gas::Tensor<float>(64, 4, 0.0f)));
  gas_test::write_file(dir / "flushed.gashist", flushed_image);
  MappedStore<float> at_one(dir / "flushed.gashist", 64, 4, Mode::open);
  CHECK(at_one.generation() == 1);
  at_one.pull_chunk(0, out.view());
  CHECK(equal(out, rows));
}

TEST_CASE("MappedStore: closing marks the file clean; every write call dirties it") {
  gas_test::TempDir dir;
  const auto path = dir / "h.gashist";
  const auto rows = exact_values<double>(8, 3, 9);
  const std::vector<node_id> ids = {7, 2, 5};
  { MappedStore<double> store(path, 20, 3, Mode::create); }
  std::uint64_t generation = 0;
  for (int call = 0; call < 3; ++call) {
    {
      MappedStore<double> store(path, 20, 3, Mode::open);
      CHECK(store.generation() == generation);
      if (call == 0) store.push(ids, rows.slice_rows(0, 3));
      if (call == 1) store.push_chunk(10, rows.view());
      if (call == 2) store.fill(2.5);
      CHECK(store.dirty());
      CHECK_THROWS_NAMING(gas::format_error, MappedStore<double>(path, 20, 3, Mode::open), "not closed cleanly");
    }  // the destructor flushes
    ++generation;
  }
  MappedStore<double> store(path, 20, 3, Mode::open);
  CHECK(store.generation() == 3);
  gas::Tensor<double> out(20, 3);
  store.pull_chunk(0, out.view());
  CHECK(equal(out, gas::Tensor<double>(20, 3, 2.5)));
  // Empty writes write nothing and dirty nothing.
  store.push({}, rows.slice_rows(0, 0));
  store.push_chunk(20, rows.slice_rows(0, 0));
  CHECK(!store.dirty());
}

TEST_CASE("MappedStore: a damaged table or header, or a version 1 file, is refused with the reason") {
  gas_test::TempDir dir;
  const auto path = dir / "h.gashist";
  {
    MappedStore<float> store(path, 100, 8, Mode::create);
    store.push_chunk(0, exact_values<float>(100, 8, 4).view());
  }
  const std::string file = "'" + path.string() + "'";
  const std::string bytes = gas_test::slurp(path);
  SUBCASE("one table byte changed") {
    auto changed = bytes;
    changed[4096 + 1234] = static_cast<char>(changed[4096 + 1234] ^ 0x10);
    gas_test::write_file(path, changed);
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file,
                        "table does not match its checksum", "changed or damaged", "Mode::create");
  }
  SUBCASE("the generation changed") {
    auto changed = bytes;
    changed[56] = static_cast<char>(changed[56] + 1);
    gas_test::write_file(path, changed);
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file,
                        "header does not match its checksum");
  }
  SUBCASE("a version 1 file") {
    auto old = bytes;
    const std::uint32_t one = 1;
    std::memcpy(old.data() + 8, &one, sizeof one);
    std::memset(old.data() + 48, 0, 24);  // version 1 had nothing after the data offset
    gas_test::write_file(path, old);
    CHECK_THROWS_NAMING(gas::format_error, MappedStore<float>(path, 100, 8, Mode::open), file, "format version 1",
                        "reads version 2", "Mode::create");
    MappedStore<float> recreated(path, 100, 8, Mode::create);  // still recognized as ours: create replaces it
    CHECK(recreated.generation() == 0);
  }
}

TEST_CASE("MappedStore: the first writes of several threads at once mark the file once; the checksums are zlib's") {
  gas_test::TempDir dir;
  const auto path = dir / "h.gashist";
  const auto rows = exact_values<float>(400, 5, 8);
  {
    MappedStore<float> store(path, 400, 5, Mode::create);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] { store.push_chunk(t * 100, rows.slice_rows(t * 100, t * 100 + 100)); });
    for (auto& th : threads) th.join();
    CHECK(store.dirty());
    store.flush();
    CHECK(store.generation() == 1);
  }
  MappedStore<float> store(path, 400, 5, Mode::open);
  gas::Tensor<float> out(400, 5);
  store.pull_chunk(0, out.view());
  CHECK(equal(out, rows));

  namespace d = gas::history::detail;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, d::crc_block_bytes,
                        2 * d::crc_block_bytes + 17}) {
    std::vector<unsigned char> data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<unsigned char>(i * 2654435761u >> 13);
    const auto whole = static_cast<std::uint32_t>(crc32_z(crc32_z(0L, nullptr, 0), data.data(), n));
    CHECK(d::parallel_crc32(data.data(), n) == whole);
    std::fill(data.begin(), data.end(), 0);
    CHECK(d::zeros_crc32(n) == static_cast<std::uint32_t>(crc32_z(crc32_z(0L, nullptr, 0), data.data(), n)));
  }
}

// Found by tests/fuzz/mapped_header.cpp (issue 16), opening a file with the table shape its header declares:
// (16, 9079256848778919937) passed the shape check and the constructor's 16 x width overflowed int64 (undefined
// behaviour; unsigned, the file size could have wrapped to match). A table's values are now capped at 2^59, so
// no size computed from a shape overflows. The fuzzer's exact bytes: a 99-byte file, GASHIST at offset 88.
TEST_CASE("MappedStore: fuzz finding: a declared shape whose size overflows int64 is refused") {
  const std::vector<unsigned char> bytes = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x53, 0x54, 0x00, 0x02,
      0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x7e, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x4c, 0x45, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
      0x00, 0x47, 0x41, 0x53, 0x48, 0x49, 0x53, 0x54, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00};
  REQUIRE(bytes.size() == 99);
  gas_test::TempDir dir;
  const auto path = dir / "fuzz.hist";
  gas_test::write_file(path, bytes);
  std::int64_t n = 0, w = 0;
  std::memcpy(&n, bytes.data() + 24, sizeof n);  // MappedHeader::num_nodes
  std::memcpy(&w, bytes.data() + 32, sizeof w);  // MappedHeader::width
  REQUIRE(n == 16);
  REQUIRE(w == 9079256848778919937);
  CHECK_THROWS_NAMING(gas::value_error, MappedStore<float>(path, n, w, Mode::open), "MappedStore<float>",
                      "(16, 9079256848778919937)", "more than 2^59 values");
  CHECK_THROWS_NAMING(gas::value_error, MappedStore<double>(path, n, w, Mode::open), "(16, 9079256848778919937)",
                      "more than 2^59 values");
  // The same cap for every store and for creating a file (which is then not created).
  const auto big = dir / "big.hist";
  CHECK_THROWS_NAMING(gas::value_error, MappedStore<double>(big, 2147483647, std::int64_t{1} << 40, Mode::create),
                      "(2147483647, 1099511627776)", "more than 2^59 values");
  CHECK_FALSE(std::filesystem::exists(big));
  CHECK_THROWS_NAMING(gas::value_error, HostStore<float>(std::int64_t{1} << 30, std::int64_t{1} << 30),
                      "HostStore<float>", "more than 2^59 values");
  CHECK_THROWS_NAMING(gas::value_error, HalfStore<half::bf16>(3, std::int64_t{1} << 58), "HalfStore<bf16>",
                      "more than 2^59 values");
}
