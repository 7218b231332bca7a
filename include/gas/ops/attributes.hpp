#pragma once
/// @brief The attributes of the built-in ops: what each op keeps in its tape node besides its inputs' values.
///
/// One struct per op (or per family sharing an implementation), named as the op is in CamelCase. Each names its op
/// (`name`, the node's op string) and holds plain values, typed pointers and spans: the node stores a copy in its
/// fixed slot (autograd::AttributeSlot), `Impl<Op, Backend>::forward` and `::backward` read it back
/// (gas/ops/impl.hpp). Pointers and spans refer to the caller's data, which on the host must outlive the backward
/// pass; device implementations upload what they read again into the node, and use only the sizes of the spans.
/// Graphs are typed per backend (`GraphOf<Backend>`: a Graph on the host, a cuda::DeviceCsr on the device).

#include <cstdint>
#include <span>

#include "gas/core/backend.hpp"
#include "gas/core/tensor.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/ops/aggregation.hpp"

namespace gas::ops {

// ---- activations (activation.hpp) ---------------------------------------------------------------------------------

/// @brief max(x, 0).
struct Relu {
  static constexpr const char* name = "relu";
};
/// @brief x > 0 ? x : alpha (e^x - 1).
struct Elu {
  static constexpr const char* name = "elu";
  double alpha = 1.0;
};
/// @brief x > 0 ? x : negative_slope x.
struct LeakyRelu {
  static constexpr const char* name = "leaky_relu";
  double negative_slope = 0.01;
};
/// @brief 1 / (1 + e^-x).
struct Sigmoid {
  static constexpr const char* name = "sigmoid";
};
/// @brief tanh(x).
struct Tanh {
  static constexpr const char* name = "tanh";
};
/// @brief e^x.
struct Exp {
  static constexpr const char* name = "exp";
};
/// @brief log(x) of a positive x.
struct Log {
  static constexpr const char* name = "log";
};

// ---- arithmetic (arithmetic.hpp, scalar.hpp, norm.hpp, reduce.hpp) ------------------------------------------------

/// @brief alpha a + beta b: add (1, 1), sub (1, -1), add_scaled.
struct LinearCombination {
  const char* name = "add_scaled";
  double alpha = 1, beta = 1;
};
/// @brief a * b elementwise.
struct Mul {
  static constexpr const char* name = "mul";
};
/// @brief factor x + offset for constants: scale (offset 0), add_scalar (factor 1).
struct Affine {
  const char* name = "scale";
  double factor = 1, offset = 0;
};
/// @brief x + a (1, cols) bias on every row.
struct BiasAdd {
  static constexpr const char* name = "bias_add";
};
/// @brief Row i of x times the constant factors[i] (one per row).
template <class T>
struct ScaleRows {
  static constexpr const char* name = "scale_rows";
  std::span<const T> factors;
};
/// @brief Row i of x times the differentiable (rows, 1) factors(i, 0).
struct MulRows {
  static constexpr const char* name = "mul_rows";
};
/// @brief x / s for a differentiable (1, 1) s.
struct DivByScalar {
  static constexpr const char* name = "div_by_scalar";
};
/// @brief The Euclidean length of every row: (rows, cols) -> (rows, 1).
struct RowL2Norm {
  static constexpr const char* name = "row_l2_norm";
};
/// @brief The sum of every element: (rows, cols) -> (1, 1).
struct SumAll {
  static constexpr const char* name = "sum_all";
};
/// @brief The mean of every element, `scale` = 1 / count: (rows, cols) -> (1, 1).
struct MeanAll {
  static constexpr const char* name = "mean_all";
  double scale = 1;
};
/// @brief `factor` times the column sums: (rows, cols) -> (1, cols) (sum_rows, mean_rows).
struct ReduceRows {
  const char* name = "sum_rows";
  double factor = 1;
};
/// @brief `factor` times the row sums: (rows, cols) -> (rows, 1) (sum_cols, mean_cols).
struct ReduceCols {
  const char* name = "sum_cols";
  double factor = 1;
};

// ---- dense ops (matmul.hpp, dropout.hpp, batch_norm.hpp, loss.hpp) ------------------------------------------------

/// @brief op(a) op(b), op transposing where the flag is set.
struct Matmul {
  static constexpr const char* name = "matmul";
  bool trans_a = false, trans_b = false;
};
/// @brief A dense copy of a sparse value (ops::to_dense; record makes one for ops that read dense values).
struct ToDense {
  static constexpr const char* name = "to_dense";
};
/// @brief Inverted dropout with probability p; the mask is a function of (seed, element).
struct Dropout {
  static constexpr const char* name = "dropout";
  double p = 0;
  std::uint64_t seed = 0;
};
/// @brief Batch normalization; training normalizes with the batch's statistics and updates the running ones (the
/// state is an argument of the forward pass only: the statistics used are saved in the node).
struct BatchNorm {
  static constexpr const char* name = "batch_norm";
  double momentum = 0.1, eps = 1e-5;
  bool training = false;
};
/// @brief Row-wise log(softmax(x)).
struct LogSoftmax {
  static constexpr const char* name = "log_softmax";
};
/// @brief Mean over the selected rows r of -log_probs[r, labels[r]]; `increasing`: the rows are strictly increasing
/// (distinct), so a backward pass may write them in parallel.
struct NllLoss {
  static constexpr const char* name = "nll_loss";
  std::span<const std::int32_t> labels;  // one per input row
  std::span<const node_id> rows;         // the selected rows
  bool increasing = false;
};
/// @brief nll_loss(log_softmax(logits)) in one op; fields as NllLoss.
struct CrossEntropy {
  static constexpr const char* name = "cross_entropy";
  std::span<const std::int32_t> labels;
  std::span<const node_id> rows;
  bool increasing = false;
};
/// @brief Binary cross-entropy of sigmoid(logits) against 0/1 `targets` (the logits' shape), over the selected rows.
struct BceWithLogits {
  static constexpr const char* name = "bce_with_logits";
  const Tensor<std::uint8_t, host>* targets = nullptr;
  std::span<const node_id> rows;
  bool increasing = false;
};

// ---- graph ops (spmm.hpp, edge.hpp) -------------------------------------------------------------------------------

/// @brief out_i = A_{e in row i} x_col(e) under the aggregation policy A.
template <aggr::Aggregation A, class Backend>
struct Spmm {
  static constexpr const char* name = "spmm";
  const GraphOf<Backend>* adj = nullptr;
};
/// @brief Row e of the result is x[col(e)].
template <class Backend>
struct GatherEdgeSrc {
  static constexpr const char* name = "gather_edge_src";
  const GraphOf<Backend>* adj = nullptr;
};
/// @brief Row e of the result is x[row(e)].
template <class Backend>
struct GatherEdgeDst {
  static constexpr const char* name = "gather_edge_dst";
  const GraphOf<Backend>* adj = nullptr;
};
/// @brief Softmax of per-edge scores over each row's edges, per column (head).
template <class Backend>
struct EdgeSoftmax {
  static constexpr const char* name = "edge_softmax";
  const GraphOf<Backend>* adj = nullptr;
};
/// @brief Multi-head aggregation of x by per-edge, per-head coefficients alpha.
template <class Backend>
struct SpmmEdge {
  static constexpr const char* name = "spmm_edge";
  const GraphOf<Backend>* adj = nullptr;
};
/// @brief Row i of the result is the reduction A over the messages (rows of the input, one per edge) of row i's edges.
template <aggr::Aggregation A, class Backend>
struct AggregateEdges {
  static constexpr const char* name = "aggregate_edges";
  const GraphOf<Backend>* adj = nullptr;
};

// ---- rows (gather.hpp, concat.hpp) --------------------------------------------------------------------------------

/// @brief out[i] = x[index[i]].
struct GatherRows {
  static constexpr const char* name = "gather_rows";
  std::span<const node_id> index;
};
/// @brief out[index[i]] += x[i].
struct ScatterAddRows {
  static constexpr const char* name = "scatter_add_rows";
  std::span<const node_id> index;
};
/// @brief The parts (any number, kept in the node: aux_index on the host, host_inputs on the device) stacked
/// along rows (AlongRows) or side by side.
template <bool AlongRows>
struct Concat {
  static constexpr const char* name = AlongRows ? "concat_rows" : "concat_cols";
};
/// @brief Rows [begin, begin + rows) of x: a view of x's value.
struct SliceRows {
  static constexpr const char* name = "slice_rows";
  std::int64_t begin = 0;
};
/// @brief Columns [begin, begin + cols) of x, copied.
struct SliceCols {
  static constexpr const char* name = "slice_cols";
  std::int64_t begin = 0;
};

// ---- parameter updates (train/optimizer.hpp, train/clip.hpp; not recorded on a tape: Impl<Op, Backend>::run) ------

/// @brief One Adam step (l2: decay added to the gradient) or AdamW step (decoupled: p *= 1 - decoupled first).
struct AdamUpdate {
  static constexpr const char* name = "adam_update";
  double lr = 0, l2 = 0, decoupled = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::int64_t step = 1;
};
/// @brief One SGD step with momentum, dampening and Nesterov as torch.optim.SGD; `first` is the first step.
struct SgdUpdate {
  static constexpr const char* name = "sgd_update";
  double lr = 0, weight_decay = 0, momentum = 0, dampening = 0;
  bool nesterov = false, first = true;
};
/// @brief Gradient clipping by the total L2 norm (train/clip.hpp): every gradient scaled by max_norm / (norm + 1e-6)
/// when that factor is below 1. Its Impl holds a `Scratch` type, the per-backend state a train::GradClipper keeps.
struct ClipGradNorm {
  static constexpr const char* name = "clip_grad_norm";
  double max_norm = 0;
};

}  // namespace gas::ops
