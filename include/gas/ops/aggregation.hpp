#pragma once
/// @brief Aggregation policies (`aggr::Sum`, `Mean`, `Max`, `Min`) and the `Aggregation` concept that
/// `ops::spmm` is constrained by.
///
/// A policy is an empty tag that names itself and says which of spmm's reductions it performs. That is all
/// spmm needs, so a user tag can join by providing the same two constants, e.g. PyG's alias "add":
/// `struct Add { static constexpr std::string_view name = "add"; static constexpr aggr::Reduction reduction =
/// aggr::Reduction::sum; };`. Aggregations that are not a single reduction (std, PNA's several at once) are
/// layers composed from these, not policies of spmm.

#include <concepts>
#include <string_view>
#include <type_traits>

namespace gas::ops::aggr {

/// @brief The reductions over a row's neighbors that `ops::spmm` implements.
enum class Reduction {
  sum,   ///< sum_e w_e x_col(e) (w_e = 1 without weights)
  mean,  ///< (1 / deg) sum_e x_col(e), weights ignored; 0 for an empty row
  max,   ///< elementwise maximum over the neighbors, weights ignored; 0 for an empty row
  min,   ///< elementwise minimum over the neighbors, weights ignored; 0 for an empty row
};

/// @brief Whether a reduction picks one entry per element (max, min): its backward needs the winner saved.
constexpr bool is_extreme(Reduction r) { return r == Reduction::max || r == Reduction::min; }

/// @brief Weighted sum of the neighbors' rows (A X): GCN with normalized weights, GIN.
struct Sum {
  static constexpr std::string_view name = "sum";
  static constexpr Reduction reduction = Reduction::sum;
};

/// @brief Mean of the neighbors' rows, ignoring edge weights (PyG's "mean"): GraphSAGE.
struct Mean {
  static constexpr std::string_view name = "mean";
  static constexpr Reduction reduction = Reduction::mean;
};

/// @brief Elementwise maximum over the neighbors' rows, ignoring edge weights (PyG's "max").
struct Max {
  static constexpr std::string_view name = "max";
  static constexpr Reduction reduction = Reduction::max;
};

/// @brief Elementwise minimum over the neighbors' rows, ignoring edge weights (PyG's "min").
struct Min {
  static constexpr std::string_view name = "min";
  static constexpr Reduction reduction = Reduction::min;
};

/// @brief A policy `ops::spmm` can run: a constant `name` (for logs and configs) and a constant
/// `reduction` saying which of the built-in reductions it performs.
template <class A>
concept Aggregation = requires {
  { A::name } -> std::convertible_to<std::string_view>;
  { A::reduction } -> std::convertible_to<Reduction>;
  typename std::integral_constant<Reduction, A::reduction>;  // a compile-time constant, not a runtime field
};

}  // namespace gas::ops::aggr
