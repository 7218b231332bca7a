#pragma once
/// @brief `HalfStore<Format>`: a history kept in 16-bit floats (bf16 or IEEE fp16) that computes in float,
/// halving the memory and the bytes moved per pull; and the portable conversions it uses.
///
/// Histories are approximations already (they are stale by up to an epoch), so 8 (bf16) or 11 (fp16)
/// significant bits cost little accuracy. The conversions are written out in integer arithmetic, so they give
/// the same bits on every compiler and CPU, with or without hardware half-precision support.

#include <bit>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gas/core/tensor.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"

namespace gas::history {

namespace half {

/// @brief bfloat16: float's sign and 8-bit exponent with a 7-bit mantissa (the top 16 bits of a float).
struct bf16 {
  static constexpr const char* name = "bf16";

  /// @brief The nearest bf16, ties to even; infinities stay infinite, NaNs stay NaN (quiet, sign kept), and
  /// values beyond the largest finite bf16 round to infinity as IEEE rounding does.
  static constexpr std::uint16_t encode(float value) {
    const auto bits = std::bit_cast<std::uint32_t>(value);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u)  // NaN: truncating could clear every mantissa bit and make an infinity
      return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
    const std::uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>((bits + rounding) >> 16);
  }
  /// @brief The float with the same value (exact).
  static constexpr float decode(std::uint16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }
};

/// @brief IEEE 754 binary16: 5-bit exponent, 10-bit mantissa, subnormals down to 2^-24, largest finite 65504.
struct fp16 {
  static constexpr const char* name = "fp16";

  /// @brief The nearest fp16, ties to even, subnormals included; values from 65520 up round to infinity, NaNs
  /// stay NaN (quiet, sign and top payload bits kept).
  static constexpr std::uint16_t encode(float value) {
    const auto bits = std::bit_cast<std::uint32_t>(value);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    const std::uint32_t x = bits & 0x7FFFFFFFu;
    if (x >= 0x7F800000u)  // infinity or NaN
      return static_cast<std::uint16_t>(sign | 0x7C00u | (x > 0x7F800000u ? 0x0200u | ((x >> 13) & 0x03FFu) : 0u));
    if (x >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // >= 65520: rounds to infinity
    if (x >= 0x38800000u) {  // >= 2^-14: a normal fp16; rebias the exponent (127 - 15 = 112) and round 13 bits off
      const std::uint32_t rebiased = x - 0x38000000u;
      return static_cast<std::uint16_t>(sign | ((rebiased + 0x0FFFu + ((rebiased >> 13) & 1u)) >> 13));
    }
    if (x <= 0x33000000u) return sign;  // <= 2^-25, half the smallest subnormal: ties to even, so zero
    // Subnormal: the result is value * 2^24 rounded to an integer. value = mantissa * 2^(exponent - 150), so
    // the integer is mantissa >> (126 - exponent), rounded to nearest even on the bits shifted out.
    const std::uint32_t exponent = x >> 23;  // 102 ..= 112 here
    const std::uint32_t mantissa = (x & 0x007FFFFFu) | 0x00800000u;
    const std::uint32_t shift = 126u - exponent;  // 14 ..= 24
    std::uint32_t result = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (result & 1u) != 0)) ++result;  // may carry into the smallest normal
    return static_cast<std::uint16_t>(sign | result);
  }
  /// @brief The float with the same value (exact: every fp16 is a float).
  static constexpr float decode(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x03FFu;
    if (exponent == 0x1Fu) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;  // subnormal or zero, exact
    return sign != 0 ? -magnitude : magnitude;
  }
};

}  // namespace half

/// @brief A 16-bit storage format: a name and exact `decode`, round-to-nearest `encode` between float and bits.
template <class F>
concept HalfFormat = requires(float value, std::uint16_t bits) {
  { F::encode(value) } -> std::same_as<std::uint16_t>;
  { F::decode(bits) } -> std::same_as<float>;
  { F::name } -> std::convertible_to<const char*>;
};

/// @brief A (num_nodes, width) history stored as 16-bit floats in host memory; pulls and pushes convert from
/// and to float (round to nearest even on push, exact on pull).
/// @tparam Format `half::bf16` (float's range, 8 significant bits) or `half::fp16` (11 bits, range +-65504).
///
/// As with HostStore, the ids of one push are expected to be distinct.
template <HalfFormat Format>
class HalfStore {
public:
  using value_type = float;
  using format = Format;

  HalfStore() = default;
  /// @brief A (num_nodes, width) table with every value `value` (rounded to the format).
  HalfStore(std::int64_t num_nodes, std::int64_t width, float value = 0.0f) : num_nodes_(num_nodes), width_(width) {
    detail::check_table_shape(name(), num_nodes, width);
    table_.resize(static_cast<std::size_t>(num_nodes * width));
    fill(value);
  }

  /// @brief The store's name in messages: "gas::history::HalfStore<bf16>".
  [[nodiscard]] static std::string name() { return std::string("gas::history::HalfStore<") + Format::name + ">"; }
  [[nodiscard]] std::int64_t num_nodes() const { return num_nodes_; }
  [[nodiscard]] std::int64_t width() const { return width_; }
  /// @brief Bytes the table occupies: half of a HostStore<float>'s.
  [[nodiscard]] std::size_t bytes() const { return table_.size() * sizeof(std::uint16_t); }
  /// @brief The raw 16-bit pattern of history row `node`, for inspection and checkpoints.
  [[nodiscard]] std::span<const std::uint16_t> raw_row(node_id node) const {
    detail::check_chunk(&name, "raw_row", node, 1, num_nodes_);
    return std::span<const std::uint16_t>(table_).subspan(static_cast<std::size_t>(node * width_),
                                                          static_cast<std::size_t>(width_));
  }

  /// @brief out row i = history row ids[i], decoded to float. `out` is (ids.size(), width).
  void pull(std::span<const node_id> ids, MatrixView<float> out) const {
    detail::check_rows_call(&name, "pull", "out", ids, out.rows(), out.cols(), num_nodes_, width_);
    if (width_ == 0) return;
    const auto n = static_cast<std::int64_t>(ids.size());
#pragma omp parallel for schedule(static) if (n * width_ >= work_threshold)
    for (std::int64_t i = 0; i < n; ++i) {
      if (i + detail::prefetch_distance < n)
        detail::prefetch_row<false>(row_ptr(ids[static_cast<std::size_t>(i + detail::prefetch_distance)]), row_bytes());
      decode_row(row_ptr(ids[static_cast<std::size_t>(i)]), &out(i, 0));
    }
  }
  /// @brief History row ids[i] = rows row i, rounded to the format. `rows` is (ids.size(), width).
  void push(std::span<const node_id> ids, MatrixView<const float> rows) {
    detail::check_rows_call(&name, "push", "rows", ids, rows.rows(), rows.cols(), num_nodes_, width_);
    if (width_ == 0) return;
    const auto n = static_cast<std::int64_t>(ids.size());
#pragma omp parallel for schedule(static) if (n * width_ >= work_threshold)
    for (std::int64_t i = 0; i < n; ++i) {
      if (i + detail::prefetch_distance < n)
        detail::prefetch_row<true>(row_ptr(ids[static_cast<std::size_t>(i + detail::prefetch_distance)]), row_bytes());
      encode_row(&rows(i, 0), row_ptr(ids[static_cast<std::size_t>(i)]));
    }
  }
  /// @brief out = history rows [offset, offset + out.rows()), decoded.
  void pull_chunk(node_id offset, MatrixView<float> out) const {
    detail::check_chunk_call(&name, "pull_chunk", "out", offset, out.rows(), out.cols(), num_nodes_, width_);
    if (width_ == 0) return;
    const std::int64_t n = out.rows();
#pragma omp parallel for schedule(static) if (n * width_ >= work_threshold)
    for (std::int64_t i = 0; i < n; ++i) decode_row(row_ptr(offset + i), &out(i, 0));
  }
  /// @brief History rows [offset, offset + rows.rows()) = rows, rounded to the format.
  void push_chunk(node_id offset, MatrixView<const float> rows) {
    detail::check_chunk_call(&name, "push_chunk", "rows", offset, rows.rows(), rows.cols(), num_nodes_, width_);
    if (width_ == 0) return;
    const std::int64_t n = rows.rows();
#pragma omp parallel for schedule(static) if (n * width_ >= work_threshold)
    for (std::int64_t i = 0; i < n; ++i) encode_row(&rows(i, 0), row_ptr(offset + i));
  }
  /// @brief Sets every value of the table to `value` rounded to the format.
  void fill(float value) {
    detail::parallel_fill(table_.data(), static_cast<std::int64_t>(table_.size()), Format::encode(value));
  }

private:
  // Elements converted per call below which one thread does the work.
  static constexpr std::int64_t work_threshold = std::int64_t{1} << 16;

  [[nodiscard]] std::size_t row_bytes() const { return static_cast<std::size_t>(width_) * sizeof(std::uint16_t); }
  [[nodiscard]] std::uint16_t* row_ptr(std::int64_t node) { return table_.data() + node * width_; }
  [[nodiscard]] const std::uint16_t* row_ptr(std::int64_t node) const { return table_.data() + node * width_; }
  void decode_row(const std::uint16_t* in, float* out) const {
    for (std::int64_t j = 0; j < width_; ++j) out[j] = Format::decode(in[j]);
  }
  void encode_row(const float* in, std::uint16_t* out) const {
    for (std::int64_t j = 0; j < width_; ++j) out[j] = Format::encode(in[j]);
  }

  std::vector<std::uint16_t> table_;  // (num_nodes, width) row-major bit patterns
  std::int64_t num_nodes_ = 0;
  std::int64_t width_ = 0;
};

}  // namespace gas::history
