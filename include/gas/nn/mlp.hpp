#pragma once
/// @brief `MLP`: Linear - [BatchNorm] - ReLU - [Dropout] - ... - Linear, as PyG's MLP (plain last layer).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/core/check.hpp"
#include "gas/core/rng.hpp"
#include "gas/nn/batch_norm.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/regularizer.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/dropout.hpp"

namespace gas::nn {

/// @brief Shape and switches of an `MLP`.
struct MLPOptions {
  std::vector<std::int64_t> channels{};  ///< in, hidden..., out: at least two entries
  bool batch_norm = false;               ///< BatchNorm after each hidden Linear
  double dropout = 0.0;                  ///< dropout after each hidden activation, in training
  bool plain_last = true;                ///< the last Linear has no norm, activation or dropout (GAS's GIN: false)
};

/// @brief A multi-layer perceptron; parameters named as PyG's MLP (`lins.<i>.weight`, `norms.<i>.weight`).
/// @tparam Reg the weight policy of every Linear (`reg::SpectralNorm` bounds each one's Lipschitz constant).
template <class T, class Backend = host, reg::Regularizer<T, Backend> Reg = reg::None>
struct MLP : Module<T, Backend> {
  MLPOptions options;
  ModuleList<Linear<T, Backend, Reg>> lins;
  ModuleList<BatchNorm<T, Backend>> norms;  // one per activated Linear when enabled: norms[k] follows lins[k]

  /// @brief Layers initialized as torch.nn.Linear from `rng`, in order, registered as PyG names them
  /// (`lins.<i>`, `norms.<i>`); each Linear gets its own copy of `reg` (and so its own state). Throws
  /// value_error for fewer than two channel sizes or a dropout outside [0, 1).
  MLP(MLPOptions opts, Rng& rng, const Reg& reg = {}) : options(std::move(opts)) {
    const auto& ch = options.channels;
    GAS_CHECK(ch.size() >= 2, value_error, "MLP needs at least input and output sizes, got " << ch.size());
    GAS_CHECK(options.dropout >= 0 && options.dropout < 1, value_error,
              "dropout probability " << options.dropout << " outside [0, 1)");
    const std::size_t layers = ch.size() - 1;
    for (std::size_t i = 0; i < layers; ++i) lins.emplace_back(ch[i], ch[i + 1], rng, LinearOptions{}, reg);
    if (options.batch_norm)
      for (std::size_t i = 0; i < layers; ++i)
        if (activated(i)) norms.emplace_back(ch[i + 1]);
    // PyG's order: every Linear, then every norm (its state_dict lists lins.* before norms.*).
    this->register_module("lins", lins);
    if (options.batch_norm) this->register_module("norms", norms);
  }

  [[nodiscard]] std::int64_t in_features() const { return options.channels.front(); }
  [[nodiscard]] std::int64_t out_features() const { return options.channels.back(); }

  /// @brief x (rows, in) -> (rows, out). Layer i's dropout mask is drawn from a seed derived from (seed, i);
  /// `training` also goes to the Linears' policy.
  autograd::Var<T, Backend> forward(autograd::Tape<T, Backend>& tape, autograd::Var<T, Backend> x, bool training = false,
                              std::uint64_t seed = 0) {
    for (std::size_t i = 0; i < lins.size(); ++i) {
      x = lins[i].forward(tape, x, training);
      if (!activated(i)) continue;
      if (options.batch_norm) x = norms[i].forward(tape, x, training);
      x = ops::relu(x);
      x = ops::dropout(x, options.dropout, counter_hash(seed, dropout_stream, i), training);
    }
    return x;
  }

private:
  static constexpr std::uint64_t dropout_stream = 0x6d6c70;  // "mlp": per-layer seeds apart from other draws

  [[nodiscard]] bool activated(std::size_t i) const { return i + 2 < options.channels.size() || !options.plain_last; }
};

}  // namespace gas::nn
