#pragma once
/// @brief `transform_first`: on which side of the aggregation a linear convolution multiplies by its weight.
///
/// A (X W) and (A X) W are equal up to rounding for a sum or mean aggregation; their costs are not. Transforming
/// first pays a dense product over every input row (cols x in x out multiply-adds) and an aggregation at the output
/// width (edges x out entries); aggregating first pays an aggregation at the input width (edges x in) and a product
/// over the output rows only (rows x in x out). A GAS batch has many more input rows (batch and halo) than output
/// rows (the batch), so the choice differs between a batch and the whole graph, and between layers.
///
/// The two kinds of work do not cost the same per multiply-add: a dense product runs from registers and caches
/// (Eigen's blocked GEMM), while an aggregation reads a neighbour's row from a random place in memory for every
/// entry. On the host (AMD EPYC, 2 threads, a 100k-node SBM of degree 20) an aggregated entry costs 3-5e-10 s per
/// feature and a GEMM multiply-add 3.4-6.4e-11 s at widths 64 and 128: a factor 6 to 12, taken as 8. Counting the
/// aggregation's entries at par (as before 2026-12-07) made GAS's hidden layers aggregate 64-wide rows where
/// full-batch training aggregates 8-wide ones, the largest part of GAS's overhead over full-batch training there.
/// On a GPU both sides are cheap for these widths; the same rule is used so that both backends round alike.

#include <cstdint>

namespace gas::nn {

/// @brief Cost of one aggregated entry (one neighbour's feature read and added) in dense multiply-adds.
inline constexpr double spmm_entry_cost = 8.0;

/// @brief Whether out = A (x W) (transform first) costs less than (A x) W for an adjacency of `rows` x `cols` with
/// `edges` entries and a weight of in x out; `x_entries` is the number of stored entries of x (cols x in when dense,
/// its non-zeros when sparse: a sparse x costs x_entries x out to transform, and aggregating it would densify it).
inline bool transform_first(std::int64_t rows, std::int64_t edges, std::int64_t in, std::int64_t out,
                            std::int64_t x_entries) {
  const double e = static_cast<double>(edges), i = static_cast<double>(in), o = static_cast<double>(out);
  const double transform = static_cast<double>(x_entries) * o + spmm_entry_cost * e * o;
  const double aggregate = spmm_entry_cost * e * i + static_cast<double>(rows) * i * o;
  return transform <= aggregate;
}

}  // namespace gas::nn
