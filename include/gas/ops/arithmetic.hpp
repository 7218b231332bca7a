#pragma once
/// @brief Elementwise arithmetic: add, sub, mul, scale, add_scaled, add_scalar, and the broadcasts bias_add
/// (a row over every row), scale_rows (constant per-row factors) and mul_rows (differentiable per-row factors).
///
/// Constant arguments (scalars, factor spans) are `std::type_identity_t<T>`: they take no part in deducing T, so
/// `scale(x, 0.5)` works on a float tape and a std::vector converts to the span. The host implementations are in
/// gas/ops/host/arithmetic.hpp, the device ones in gas/cuda/ops/arithmetic.cuh.

#include <cstdint>
#include <span>
#include <type_traits>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/arithmetic.hpp"
#include "gas/ops/impl.hpp"

namespace gas::ops {

/// @brief a + b elementwise; throws shape_error naming both shapes when they differ.
template <class T, class Backend>
autograd::Var<T, Backend> add(autograd::Var<T, Backend> a, autograd::Var<T, Backend> b) {
  GAS_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), shape_error,
            "shapes differ: (" << a.rows() << " x " << a.cols() << ") + (" << b.rows() << " x " << b.cols() << ")");
  return record(LinearCombination{.name = "add", .alpha = 1, .beta = 1}, a.rows(), a.cols(), {a, b});
}

/// @brief a - b elementwise; throws shape_error naming both shapes when they differ.
template <class T, class Backend>
autograd::Var<T, Backend> sub(autograd::Var<T, Backend> a, autograd::Var<T, Backend> b) {
  GAS_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), shape_error,
            "shapes differ: (" << a.rows() << " x " << a.cols() << ") - (" << b.rows() << " x " << b.cols() << ")");
  return record(LinearCombination{.name = "sub", .alpha = 1, .beta = -1}, a.rows(), a.cols(), {a, b});
}

/// @brief alpha a + beta b elementwise (residual and initial-residual connections); throws shape_error naming
/// both shapes when they differ.
template <class T, class Backend>
autograd::Var<T, Backend> add_scaled(autograd::Var<T, Backend> a, std::type_identity_t<T> alpha, autograd::Var<T, Backend> b,
                               std::type_identity_t<T> beta) {
  GAS_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), shape_error,
            "shapes differ: (" << a.rows() << " x " << a.cols() << ") and (" << b.rows() << " x " << b.cols() << ")");
  const LinearCombination attrs{.name = "add_scaled", .alpha = static_cast<double>(alpha),
                                 .beta = static_cast<double>(beta)};
  return record(attrs, a.rows(), a.cols(), {a, b});
}

/// @brief a * b elementwise (Hadamard product); throws shape_error naming both shapes when they differ.
template <class T, class Backend>
autograd::Var<T, Backend> mul(autograd::Var<T, Backend> a, autograd::Var<T, Backend> b) {
  GAS_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), shape_error,
            "shapes differ: (" << a.rows() << " x " << a.cols() << ") * (" << b.rows() << " x " << b.cols() << ")");
  return record(Mul{}, a.rows(), a.cols(), {a, b});
}

/// @brief s a for a constant s.
template <class T, class Backend>
autograd::Var<T, Backend> scale(autograd::Var<T, Backend> a, std::type_identity_t<T> s) {
  return record(Affine{.name = "scale", .factor = static_cast<double>(s), .offset = 0}, a.rows(), a.cols(), {a});
}

/// @brief x + s for a constant s.
template <class T, class Backend>
autograd::Var<T, Backend> add_scalar(autograd::Var<T, Backend> x, std::type_identity_t<T> s) {
  return record(Affine{.name = "add_scalar", .factor = 1, .offset = static_cast<double>(s)}, x.rows(), x.cols(), {x});
}

/// @brief x + bias with a (1, cols) bias added to every row of the (rows, cols) x; the bias gradient is a column
/// sum, reproducible for any thread count. Throws shape_error naming both shapes when bias is not (1, cols).
template <class T, class Backend>
autograd::Var<T, Backend> bias_add(autograd::Var<T, Backend> x, autograd::Var<T, Backend> bias) {
  GAS_CHECK(bias.rows() == 1 && bias.cols() == x.cols(), shape_error,
            "bias (" << bias.rows() << " x " << bias.cols() << ") does not broadcast over x (" << x.rows() << " x "
                     << x.cols() << "): expected (1 x " << x.cols() << ")");
  return record(BiasAdd{}, x.rows(), x.cols(), {x, bias});
}

/// @brief Row i of x times the constant factors[i] (degree normalization, masks); no gradient flows to the
/// factors. On the host `factors` is read again by the backward pass, so it must outlive it (a device tape
/// keeps a device copy). Throws shape_error when factors.size() != x.rows().
template <class T, class Backend>
autograd::Var<T, Backend> scale_rows(autograd::Var<T, Backend> x, std::type_identity_t<std::span<const T>> factors) {
  GAS_CHECK(static_cast<std::int64_t>(factors.size()) == x.rows(), shape_error,
            factors.size() << " row factors for x (" << x.rows() << " x " << x.cols() << ")");
  return record(ScaleRows<T>{.factors = factors}, x.rows(), x.cols(), {x});
}

/// @brief Row i of the (rows, cols) x times factors(i, 0), with factors a differentiable (rows, 1) value
/// broadcast over the columns (gates, attention weights). Throws shape_error naming both shapes otherwise.
template <class T, class Backend>
autograd::Var<T, Backend> mul_rows(autograd::Var<T, Backend> x, autograd::Var<T, Backend> factors) {
  GAS_CHECK(factors.rows() == x.rows() && factors.cols() == 1, shape_error,
            "factors (" << factors.rows() << " x " << factors.cols() << ") do not broadcast over x (" << x.rows()
                        << " x " << x.cols() << "): expected (" << x.rows() << " x 1)");
  return record(MulRows{}, x.rows(), x.cols(), {x, factors});
}

}  // namespace gas::ops
