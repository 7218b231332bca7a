#pragma once
/// @brief `JumpingKnowledge`: the concatenation a jumping-knowledge head reads (PNA_JK), written against the
/// layer context's hooks.
///
/// Representation 0 is the input stage's output, which layer 0 keeps in a slot of the context; representation
/// k > 0 is the output of layer k - 1, which the context hands back as `output(k - 1)`: within a pass the values
/// on the tape (gradients flow through all of them, as through the reference's `xs` list), in layer-wise
/// inference the rows pulled from the histories, which hold exactly those outputs. So the model needs no
/// inference driver of its own, and only representation 0 costs a per-node table.

#include <cstdint>
#include <span>
#include <vector>

#include "gas/autograd/tape.hpp"
#include "gas/history/concept.hpp"
#include "gas/models/layer_context.hpp"
#include "gas/ops/concat.hpp"

namespace gas::models {

/// @brief Concatenates [representation 0, ..., representation ctx.layer(), h] for a head. A model holds one by
/// value (it reuses its buffer step after step).
template <class T, class Backend = host>
class JumpingKnowledge {
public:
  using var = autograd::Var<T, Backend>;

  /// @brief The (rows, sum of widths) input of the head of layer ctx.layer(), whose own output rows are h:
  /// ctx.kept(slot) (representation 0), then ctx.output(k) for k < ctx.layer(), then h. Throws as the hooks do
  /// when a representation is missing (the head called without the earlier layers of its pass).
  template <history::HistoryStore Store>
  var concatenate(LayerContext<T, Backend, Store>& ctx, var h, std::int32_t slot = 0) {
    parts_.clear();  // a member, so that steady-state steps reuse its capacity
    parts_.push_back(ctx.kept(slot));
    for (std::int32_t k = 0; k < ctx.layer(); ++k) parts_.push_back(ctx.output(k));
    parts_.push_back(h);
    return ops::concat_cols(std::span<const var>(parts_));
  }

private:
  std::vector<var> parts_;  // the head's concatenation inputs, of the call in progress
};

}  // namespace gas::models
