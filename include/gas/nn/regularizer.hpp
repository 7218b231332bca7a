#pragma once
/// @brief Lipschitz regularizer policies: `reg::None`, `reg::NoisePerturbation` (the GAS paper's) and
/// `reg::SpectralNorm`, and the `Regularizer` concept they satisfy.
///
/// GAS's approximation error grows with the Lipschitz constants of the layers' functions, so the paper keeps
/// them small. A policy acts in one of two ways, and says which through two constants:
/// - it *reparametrizes* a weight (`transform_weight`): the layer multiplies by what the policy returns instead
///   of the raw parameter. `Linear<T, Backend, Reg>` (and so `MLP<T, Backend, Reg>`) applies it.
/// - it *penalizes* a function (`penalty`): a scalar that the model adds to its loss. `GINConv<T, Backend, Net,
///   Reg>` computes it for its network on the input the network saw in the last forward.
///
/// A policy is a small struct of settings (designated initializers), held by value in the layer that uses it;
/// `SpectralNorm` also keeps its power-iteration vectors there, so each layer owns its own estimate.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <numbers>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/arithmetic.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/norm.hpp"
#include "gas/ops/reduce.hpp"
#include "gas/ops/scalar.hpp"

namespace gas::nn::reg {

namespace detail {

/// @brief Stands for "a differentiable function of one value" when the concept checks a policy's `penalty`.
template <class T, class Backend>
struct FunctionArchetype {
  autograd::Var<T, Backend> operator()(autograd::Var<T, Backend> x) const { return x; }
};

/// @brief The counter_hash stream of perturbation noise ("nois"), apart from dropout masks and other draws.
inline constexpr std::uint64_t noise_stream = 0x6e6f6973;

/// @brief The (values.size(), 1) column or (1, values.size()) row holding `values` as a constant of the tape.
template <class T, class Backend>
autograd::Var<T, Backend> vector_constant(autograd::Tape<T, Backend>& tape, const char* name, const std::vector<double>& values,
                                    bool column) {
  const auto size = static_cast<std::int64_t>(values.size());
  auto [id, node] = tape.push(name, column ? size : 1, column ? 1 : size);
  // On the device the values are made in the node's host staging tensor and copied over.
  if constexpr (!on_host<Backend>) node.host_stage.resize(node.value.rows(), node.value.cols());
  T* out = on_host<Backend> ? node.value.data() : node.host_stage.data();  // one row or column: contiguous
  for (std::int64_t i = 0; i < size; ++i) out[i] = static_cast<T>(values[static_cast<std::size_t>(i)]);
  if constexpr (!on_host<Backend>) tape.exec().upload(MatrixView<const T>(node.host_stage.view()), node.value);
  return {&tape, id};
}

}  // namespace detail

/// @brief Standard normal draw number `index` of stream `seed`: a pure function of (seed, index), so noise is
/// the same on every thread count and again when a gradient check rebuilds the computation.
inline double gaussian_noise(std::uint64_t seed, std::uint64_t index) {
  // Box-Muller on two uniforms from two counters; 1 - u lies in (0, 1], so the logarithm is finite.
  const double u1 = 1.0 - to_unit_double(counter_hash(seed, detail::noise_stream, 2 * index));
  const double u2 = to_unit_double(counter_hash(seed, detail::noise_stream, 2 * index + 1));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

/// @brief What a layer needs of a regularizer policy.
///
/// `penalizes` and `reparametrizes` are compile-time constants, so a layer records nothing for a hook the
/// policy does not use. `transform_weight(tape, weight, training)` returns the weight the layer multiplies by
/// (the weight itself unless the policy reparametrizes). `penalty(tape, f, x, seed, training[, fx])` returns
/// a (1, 1) penalty on the function f (applied as f(x)) at x, or nothing; `fx`, when given, is f(x) already
/// recorded, which saves a forward of f.
template <class R, class T, class Backend>
concept Regularizer = requires(R& r, autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, std::uint64_t seed,
                               bool training, detail::FunctionArchetype<T, Backend> f) {
  requires std::same_as<std::remove_cv_t<decltype(R::penalizes)>, bool>;
  requires std::same_as<std::remove_cv_t<decltype(R::reparametrizes)>, bool>;
  typename std::bool_constant<R::penalizes>;  // constant expressions, not run-time flags
  typename std::bool_constant<R::reparametrizes>;
  { r.transform_weight(tape, x, training) } -> std::same_as<autograd::Var<T, Backend>>;
  { r.penalty(tape, f, x, seed, training) } -> std::same_as<std::optional<autograd::Var<T, Backend>>>;
  { r.penalty(tape, f, x, seed, training, x) } -> std::same_as<std::optional<autograd::Var<T, Backend>>>;
};

/// @brief No regularization: both hooks record nothing (the default policy of every layer).
struct None {
  static constexpr bool penalizes = false;
  static constexpr bool reparametrizes = false;

  /// @brief The weight itself.
  template <class T, class Backend>
  autograd::Var<T, Backend> transform_weight(autograd::Tape<T, Backend>&, autograd::Var<T, Backend> weight, bool) const {
    return weight;
  }

  /// @brief No penalty.
  template <class T, class Backend, class F>
  std::optional<autograd::Var<T, Backend>> penalty(autograd::Tape<T, Backend>&, F&&, autograd::Var<T, Backend>, std::uint64_t, bool,
                                             std::type_identity_t<std::optional<autograd::Var<T, Backend>>> = {}) const {
    return std::nullopt;
  }
};

/// @brief The GAS paper's Lipschitz penalty: in training, weight * mean over rows v of
/// || f(x)_v - f(x + sigma N(0, I))_v ||_2, with the Gaussian drawn from the seed (`gaussian_noise`).
///
/// The gradient flows into x (and f's parameters) through both terms, as in the reference, whose GIN adds
/// this for every hidden layer but the first, divided by the number of those layers, with weight 1. f runs
/// once more on the perturbed input: a BatchNorm inside it in training updates its running statistics again,
/// as the reference's does.
struct NoisePerturbation {
  static constexpr bool penalizes = true;
  static constexpr bool reparametrizes = false;

  double sigma = 0.1;   ///< standard deviation of the perturbation
  double weight = 1.0;  ///< factor on the penalty

  /// @brief The weight itself (this policy only penalizes).
  template <class T, class Backend>
  autograd::Var<T, Backend> transform_weight(autograd::Tape<T, Backend>&, autograd::Var<T, Backend> w, bool) const {
    return w;
  }

  /// @brief The (1, 1) penalty of f at x (rows, F), or nothing in evaluation or for an empty x. `f` must give
  /// the same function on both calls (a dropout inside it: the same seed). `fx`, when given, is used as f(x).
  /// Throws value_error for a negative or non-finite sigma or weight, and shape_error when f(x) and the
  /// perturbed output differ in shape.
  template <class T, class Backend, class F>
  std::optional<autograd::Var<T, Backend>> penalty(autograd::Tape<T, Backend>& tape, F&& f, autograd::Var<T, Backend> x,
                                             std::uint64_t seed, bool training,
                                             std::type_identity_t<std::optional<autograd::Var<T, Backend>>> fx = {}) const {
    static_assert(std::is_invocable_r_v<autograd::Var<T, Backend>, F&, autograd::Var<T, Backend>>,
                  "NoisePerturbation::penalty needs f(Var) -> Var");
    GAS_CHECK(std::isfinite(sigma) && sigma >= 0 && std::isfinite(weight) && weight >= 0, value_error,
              "NoisePerturbation needs a finite sigma >= 0 and weight >= 0, got sigma " << sigma << ", weight "
                                                                                        << weight);
    if (!training || x.rows() == 0) return std::nullopt;
    // (rows, F), a constant: drawn on the host (the same draws for every backend), in the node's host staging
    // tensor for a device tape, then copied over.
    auto [id, node] = tape.push("gaussian_noise", x.rows(), x.cols());
    if constexpr (!on_host<Backend>) node.host_stage.resize(x.rows(), x.cols());
    const auto noise = on_host<Backend> ? node.value : node.host_stage.view();
    const auto cols = x.cols();
#pragma omp parallel for schedule(static) if (x.rows() > 4096)
    for (std::int64_t i = 0; i < x.rows(); ++i)
      for (std::int64_t j = 0; j < cols; ++j)
        noise(i, j) = static_cast<T>(sigma * gaussian_noise(seed, static_cast<std::uint64_t>(i * cols + j)));
    if constexpr (!on_host<Backend>) tape.exec().upload(MatrixView<const T>(noise), node.value);
    const autograd::Var<T, Backend> clean = fx ? *fx : f(x);
    const autograd::Var<T, Backend> noisy = f(ops::add(x, autograd::Var<T, Backend>(&tape, id)));
    GAS_CHECK(clean.rows() == noisy.rows() && clean.cols() == noisy.cols() && clean.rows() > 0, shape_error,
              "NoisePerturbation: f(x) (" << clean.rows() << " x " << clean.cols() << ") and f(x + noise) ("
                                          << noisy.rows() << " x " << noisy.cols() << ") differ or are empty");
    return ops::scale(ops::mean_all(ops::row_l2_norm(ops::sub(clean, noisy))), static_cast<T>(weight));
  }
};

/// @brief Spectral normalization, as torch.nn.utils.spectral_norm: the weight W (out, in) is used as
/// W / sigma(W), with sigma estimated by power iteration on persistent vectors u (out) and v (in).
///
/// In training each forward first runs `power_iterations` steps v <- normalize(W^T u), u <- normalize(W v)
/// (normalize(y) = y / max(|y|, eps)); in evaluation u and v stay as they are. Then sigma = u^T W v with u
/// and v constants, so the gradient reaches W through W itself and through sigma, exactly as in torch. The
/// largest singular value of W / sigma converges to 1: a Linear's Lipschitz constant is bounded by about 1.
///
/// u and v are state of the policy, hence of the layer that holds it, and are filled on the first forward from
/// `seed` followed by `initial_iterations` steps (as torch.nn.utils.parametrizations.spectral_norm, so that
/// an evaluation before any training already sees a sensible estimate). Power iteration runs in double on the
/// host: in place for the host backend, which then allocates only on that first forward; on a copy of the weight
/// for the device backend.
struct SpectralNorm {
  static constexpr bool penalizes = false;
  static constexpr bool reparametrizes = true;

  int power_iterations = 1;    ///< steps per training forward (torch's n_power_iterations)
  double eps = 1e-12;          ///< floor on the norms divided by
  int initial_iterations = 15; ///< steps when u and v are first drawn
  std::uint64_t seed = 0;      ///< draws the initial u and v
  std::vector<double> u{};     ///< (out) left singular vector estimate; empty until the first forward
  std::vector<double> v{};     ///< (in) right singular vector estimate

  /// @brief W / sigma(W) for the weight W (out, in), updating u and v first in training. Throws value_error
  /// for negative iteration counts or eps <= 0, shape_error when u and v were set for another shape, and
  /// value_error (from div_by_scalar) when sigma is 0 (an all-zero weight).
  template <class T, class Backend>
  autograd::Var<T, Backend> transform_weight(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> weight, bool training) {
    GAS_CHECK(power_iterations >= 0 && initial_iterations >= 0 && eps > 0, value_error,
              "SpectralNorm needs iteration counts >= 0 and eps > 0, got power_iterations "
                  << power_iterations << ", initial_iterations " << initial_iterations << ", eps " << eps);
    // Power iteration reads the weight on the host: a device weight is copied out first (a small matrix, once per
    // forward of this layer).
    Tensor<T, host> staged;
    if constexpr (!on_host<Backend>) staged = tape.to_host(weight.value());
    const MatrixView<const T> w = on_host<Backend> ? weight.value() : MatrixView<const T>(staged.view());  // (out, in)
    if (u.empty() && v.empty()) {
      initialize(w);
    } else {
      GAS_CHECK(u.size() == static_cast<std::size_t>(w.rows()) && v.size() == static_cast<std::size_t>(w.cols()),
                shape_error,
                "SpectralNorm holds u (" << u.size() << ") and v (" << v.size() << ") for a weight (" << w.rows()
                                         << " x " << w.cols() << "): they must have out and in entries");
    }
    if (training) iterate(w, power_iterations);
    const auto u_row = detail::vector_constant(tape, "spectral_u", u, false);  // (1, out)
    const auto v_col = detail::vector_constant(tape, "spectral_v", v, true);   // (in, 1)
    const auto sigma = ops::matmul(ops::matmul(u_row, weight), v_col);         // (1, 1)
    return ops::div_by_scalar(weight, sigma);
  }

  /// @brief No penalty (this policy only reparametrizes).
  template <class T, class Backend, class F>
  std::optional<autograd::Var<T, Backend>> penalty(autograd::Tape<T, Backend>&, F&&, autograd::Var<T, Backend>, std::uint64_t, bool,
                                             std::type_identity_t<std::optional<autograd::Var<T, Backend>>> = {}) const {
    return std::nullopt;
  }

  /// @brief u^T W v with the current vectors: the estimate of W's largest singular value the next evaluation
  /// forward divides by. `w` is any host matrix with rows(), cols() and w(i, j) (a Tensor, a MatrixView).
  /// Throws shape_error when u and v do not fit w.
  template <class Matrix>
  [[nodiscard]] double sigma(const Matrix& w) const {
    GAS_CHECK(u.size() == static_cast<std::size_t>(w.rows()) && v.size() == static_cast<std::size_t>(w.cols()),
              shape_error,
              "SpectralNorm holds u (" << u.size() << ") and v (" << v.size() << ") for a weight (" << w.rows() << " x "
                                       << w.cols() << ")");
    double s = 0;
    for (std::int64_t i = 0; i < w.rows(); ++i) {
      double wv = 0;
      for (std::int64_t j = 0; j < w.cols(); ++j) wv += static_cast<double>(w(i, j)) * v[static_cast<std::size_t>(j)];
      s += u[static_cast<std::size_t>(i)] * wv;
    }
    return s;
  }

private:
  template <class T>
  void initialize(MatrixView<const T> w) {
    Rng rng(seed, 0x73706563);  // "spec": apart from the parameter initializers' streams
    u.resize(static_cast<std::size_t>(w.rows()));
    v.resize(static_cast<std::size_t>(w.cols()));
    for (auto& x : u) x = rng.normal();
    for (auto& x : v) x = rng.normal();
    normalize(u);
    normalize(v);
    iterate(w, initial_iterations);
  }

  void normalize(std::vector<double>& x) const {
    double squares = 0;
    for (double e : x) squares += e * e;
    const double norm = std::max(std::sqrt(squares), eps);
    for (double& e : x) e /= norm;
  }

  // Torch's order: v from u, then u from the new v. Each product overwrites a vector the other one feeds, so
  // no scratch is needed.
  template <class T>
  void iterate(MatrixView<const T> w, int steps) {
    const std::int64_t rows = w.rows(), cols = w.cols();
    for (int step = 0; step < steps; ++step) {
      std::fill(v.begin(), v.end(), 0.0);
      for (std::int64_t i = 0; i < rows; ++i) {
        const double ui = u[static_cast<std::size_t>(i)];
        for (std::int64_t j = 0; j < cols; ++j) v[static_cast<std::size_t>(j)] += static_cast<double>(w(i, j)) * ui;
      }
      normalize(v);
      for (std::int64_t i = 0; i < rows; ++i) {
        double wv = 0;
        for (std::int64_t j = 0; j < cols; ++j) wv += static_cast<double>(w(i, j)) * v[static_cast<std::size_t>(j)];
        u[static_cast<std::size_t>(i)] = wv;
      }
      normalize(u);
    }
  }
};

static_assert(Regularizer<None, double, host>);
static_assert(Regularizer<NoisePerturbation, float, host>);
static_assert(Regularizer<SpectralNorm, float, host>);

}  // namespace gas::nn::reg
