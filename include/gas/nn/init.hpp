#pragma once
/// @brief Parameter initializers as PyTorch and PyTorch Geometric apply them, drawn from a seeded `gas::Rng`.
///
/// Every initializer draws the elements in row-major order from the generator it is given, so a layer built
/// from `Rng(seed)` has the same values on every machine, and a model that passes one generator through its
/// layers in order is reproducible as a whole. The bounds follow torch.nn.init and torch_geometric.nn.inits;
/// the draws themselves cannot match PyTorch's (a different generator), which is why the tests copy PyG's
/// parameters in rather than re-drawing them.

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "gas/autograd/parameter.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/core/rng.hpp"
#include "gas/core/tensor.hpp"

namespace gas::nn {

/// @brief How a weight matrix is initialized.
enum class WeightInit {
  kaiming_uniform,  ///< torch.nn.Linear's default: U(-b, b), b = 1 / sqrt(fan_in) (kaiming_uniform, a = sqrt(5))
  glorot,           ///< PyG's glorot: U(-b, b), b = sqrt(6 / (rows + cols)) (GCN, GAT, GCNII weights)
  zeros,            ///< all zeros
};

/// @brief How a bias vector is initialized.
enum class BiasInit {
  uniform,  ///< torch.nn.Linear's default: U(-b, b), b = 1 / sqrt(fan_in)
  zeros,    ///< PyG's convolution biases
};

/// @brief Fills `t` with independent draws from U(-bound, bound), row-major. Throws value_error for a
/// negative or non-finite bound.
template <class T, class Backend>
void uniform_(Tensor<T, Backend>& t, double bound, Rng& rng) {
  GAS_CHECK(std::isfinite(bound) && bound >= 0, value_error, "uniform bound " << bound << " must be finite and >= 0");
  if constexpr (on_host<Backend>) {
    for (auto& v : t.values()) v = static_cast<T>(rng.uniform(-bound, bound));
  } else {  // the same draws as on the host, made there and copied over: a model starts identical on both
    Tensor<T, host> staged(t.rows(), t.cols());
    uniform_(staged, bound, rng);
    t.copy_from(staged);
    Exec<Backend>(t.stream()).synchronize();  // initialization, not a step: done before any stream reads it
  }
}

/// @brief Glorot (Xavier) uniform as torch_geometric.nn.inits.glorot: bound sqrt(6 / (rows + cols)) of the
/// tensor's last two dimensions (for a GAT attention vector of PyG shape (1, heads, C) that is heads + C).
template <class T, class Backend>
void glorot_(Tensor<T, Backend>& t, Rng& rng) {
  if (t.size() == 0) return;
  uniform_(t, std::sqrt(6.0 / static_cast<double>(t.rows() + t.cols())), rng);
}

/// @brief Kaiming (He) uniform as torch.nn.init.kaiming_uniform_ with leaky-relu gain for slope `a`:
/// bound sqrt(6 / ((1 + a^2) fan_in)); torch.nn.Linear uses a = sqrt(5), giving 1 / sqrt(fan_in). Throws
/// value_error for fan_in <= 0.
template <class T, class Backend>
void kaiming_uniform_(Tensor<T, Backend>& t, std::int64_t fan_in, double a, Rng& rng) {
  GAS_CHECK(fan_in > 0, value_error, "kaiming_uniform needs fan_in > 0, got " << fan_in);
  uniform_(t, std::sqrt(6.0 / ((1.0 + a * a) * static_cast<double>(fan_in))), rng);
}

/// @brief A (rows, cols) parameter named `name`, filled with `value` (its gradient zero).
template <class T, class Backend>
autograd::Parameter<T, Backend> make_parameter(std::string name, std::int64_t rows, std::int64_t cols, T value = T{0}) {
  Tensor<T, Backend> v(rows, cols);
  v.fill(value);
  autograd::Parameter<T, Backend> p(std::move(name), std::move(v));
  // On a device the fills are queued on the tensors' stream; wait for them once, so that a tape on any stream reads
  // the initial values.
  if constexpr (!on_host<Backend>) Exec<Backend>(p.value.stream()).synchronize();
  return p;
}

/// @brief `prefix + "." + leaf`, or `leaf` alone when the prefix is empty: state_dict-style parameter names.
inline std::string qualified_name(const std::string& prefix, const std::string& leaf) {
  return prefix.empty() ? leaf : prefix + "." + leaf;
}

}  // namespace gas::nn
