#pragma once
/// @brief `MessagePassing`: PyG's way of writing a layer. A layer derives from `MessagePassing<Layer, T, Backend,
/// Aggr>`, may define `message(edges)` (one row per edge, from the lazily gathered x_j, x_i, edge weights and
/// edge attributes) and `update(aggregated, x_dst)`, and calls `propagate(...)` from its forward; the base
/// gathers, aggregates with the policy `Aggr` and updates, with tape ops only, so the layer runs on every
/// backend and is differentiated like any other.
///
/// Why the default message is fused: PyG's default message is x_j, and aggregating x_j over a row's edges is
/// exactly ops::spmm of x under the same policy (for Sum on an unweighted graph), which never materializes the
/// (E, F) per-edge rows. So a layer that only aggregates its neighbors (GraphSAGE) costs what the bundled layer
/// costs; a layer with its own message pays the per-edge rows and the aggregation of ops::aggregate_edges.
/// The hooks are found by their signature, as PyG finds overridden methods; `static_assert(Layer::defines_message)`
/// beside a layer makes sure its message() is the one propagate() calls.

#include <concepts>
#include <cstdint>
#include <optional>
#include <utility>

#include "gas/autograd/tape.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/nn/module.hpp"
#include "gas/ops/aggregation.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/edge.hpp"
#include "gas/ops/spmm.hpp"

namespace gas::nn {

/// @brief The (E, 1) edge weights of `adj` as a constant of `tape`, in CSR order (1 for an unweighted graph):
/// the factor a weighted message multiplies x_j by.
template <class T, class Backend>
autograd::Var<T, Backend> edge_weights(autograd::Tape<T, Backend>& tape, const GraphOf<Backend>& adj) {
  const std::int64_t edges = adj.num_edges();
  auto [id, node] = tape.push("edge_weights", edges, 1);
  if constexpr (on_host<Backend>) {
    const auto w = adj.weights();
    for (std::int64_t e = 0; e < edges; ++e)
      node.value(e, 0) = adj.has_weights() ? static_cast<T>(w[static_cast<std::size_t>(e)]) : T{1};
  } else if (!adj.has_weights()) {
    tape.exec().fill(node.value, T{1});
  } else if constexpr (std::same_as<T, float>) {
    tape.exec().copy(MatrixView<const float>(adj.view().weights, edges, 1), node.value);
  } else {  // the device keeps float weights: widen them on the host (double on the device is for checks)
    Tensor<float, host> w(edges, 1);
    tape.exec().download(MatrixView<const float>(adj.view().weights, edges, 1), w.view());
    node.host_stage.resize(edges, 1);
    for (std::int64_t e = 0; e < edges; ++e) node.host_stage(e, 0) = static_cast<T>(w(e, 0));
    tape.exec().upload(MatrixView<const T>(node.host_stage.view()), node.value);
  }
  return {&tape, id};
}

/// @brief The edges of one propagate() call, as a layer's message() sees them: every per-edge value is gathered
/// on first use (a message that reads x_j alone never gathers x_i), once.
template <class T, class Backend = host>
class Edges {
public:
  using var = autograd::Var<T, Backend>;

  Edges(autograd::Tape<T, Backend>& tape, const GraphOf<Backend>& adj, var x_src, var x_dst, std::optional<var> attr)
      : tape_(tape), adj_(adj), x_src_(x_src), x_dst_(x_dst), attr_(attr) {}

  /// @brief (E, F): row e is x_src[col(e)], the source (neighbor) of edge e.
  [[nodiscard]] var x_j() { return cached(x_j_, [&] { return ops::gather_edge_src(adj_, x_src_); }); }
  /// @brief (E, F'): row e is x_dst[row(e)], the target of edge e.
  [[nodiscard]] var x_i() { return cached(x_i_, [&] { return ops::gather_edge_dst(adj_, x_dst_); }); }
  /// @brief (E, 1): the edge weights (1 on an unweighted graph).
  [[nodiscard]] var weight() { return cached(weight_, [&] { return edge_weights(tape_, adj_); }); }
  /// @brief (E, k): the edge attributes given to propagate(); throws value_error when none were.
  [[nodiscard]] var attr() const {
    GAS_CHECK(attr_.has_value(), value_error, "message() reads edge attributes, but propagate() was given none");
    return *attr_;
  }
  /// @brief The tape and the adjacency of the call.
  [[nodiscard]] autograd::Tape<T, Backend>& tape() const { return tape_; }
  [[nodiscard]] const GraphOf<Backend>& adj() const { return adj_; }
  /// @brief Number of edges (rows of every per-edge value).
  [[nodiscard]] std::int64_t size() const { return adj_.num_edges(); }

private:
  template <class F>
  var cached(std::optional<var>& slot, F&& make) {
    if (!slot) slot = make();
    return *slot;
  }

  autograd::Tape<T, Backend>& tape_;
  const GraphOf<Backend>& adj_;
  var x_src_, x_dst_;
  std::optional<var> attr_;
  std::optional<var> x_j_, x_i_, weight_;
};

/// @brief The base of message-passing layers (CRTP; see the file comment).
/// @tparam Derived the layer: may define `var message(Edges<T, Backend>&)` (default: x_j) and
/// `var update(var aggregated, var x_dst)` (default: the aggregation itself).
/// @tparam Aggr how a row's messages are reduced (ops::aggr::Sum, Mean, Max, Min, or a user policy naming one).
template <class Derived, class T, class Backend = host, ops::aggr::Aggregation Aggr = ops::aggr::Sum>
class MessagePassing : public Module<T, Backend> {
public:
  using var = autograd::Var<T, Backend>;
  using edges_type = Edges<T, Backend>;
  using aggregation = Aggr;

  /// @brief aggregate_{j in N(i)} message(x_i, x_j, edge) for every target row i, then update(., x_dst):
  /// x_src (adj.cols(), F) are the sources, x_dst (adj.rows(), F') the targets, `edge_attr` (E, k) optional
  /// per-edge attributes (std::nullopt for none). Returns update's value, (adj.rows(), .) by default. `adj` must
  /// outlive the backward pass. Throws shape_error naming the shapes.
  var propagate(autograd::Tape<T, Backend>& tape, const GraphOf<Backend>& adj, var x_src, var x_dst,
                std::optional<var> edge_attr) {
    GAS_CHECK(x_src.rows() == adj.cols() && x_dst.rows() == adj.rows(), shape_error,
              "propagate got x_src (" << x_src.rows() << " x " << x_src.cols() << ") and x_dst (" << x_dst.rows()
                                      << " x " << x_dst.cols() << ") for adjacency (" << adj.rows() << " x "
                                      << adj.cols() << "): x_src needs adj.cols() rows, x_dst adj.rows()");
    GAS_CHECK(!edge_attr || edge_attr->rows() == adj.num_edges(), shape_error,
              "edge attributes (" << edge_attr->rows() << " x " << edge_attr->cols() << ") need one row per edge ("
                                  << adj.num_edges() << ")");
    var aggregated;
    if constexpr (defines_message) {
      edges_type edges(tape, adj, x_src, x_dst, edge_attr);
      var m = derived().message(edges);
      GAS_CHECK(m.rows() == adj.num_edges(), shape_error,
                "message() returned (" << m.rows() << " x " << m.cols() << "), not one row per edge ("
                                       << adj.num_edges() << ")");
      aggregated = ops::aggregate_edges<Aggr>(adj, m);
    } else if (Aggr::reduction != ops::aggr::Reduction::sum || !adj.has_weights()) {
      aggregated = ops::spmm<Aggr>(adj, x_src);  // the default message x_j, fused (see the file comment)
    } else {  // spmm's sum would apply the weights that PyG's default message ignores
      aggregated = ops::aggregate_edges<Aggr>(adj, ops::gather_edge_src(adj, x_src));
    }
    if constexpr (defines_update) return derived().update(aggregated, x_dst);
    else return aggregated;
  }

  /// @brief GAS's call: the targets are the first adj.rows() rows of x ([batch ; halo]).
  var propagate(autograd::Tape<T, Backend>& tape, const GraphOf<Backend>& adj, var x,
                std::optional<var> edge_attr = std::nullopt) {
    GAS_CHECK(x.rows() == adj.cols() && adj.rows() <= adj.cols(), shape_error,
              "propagate got x (" << x.rows() << " x " << x.cols() << ") for adjacency (" << adj.rows() << " x "
                                  << adj.cols()
                                  << "): x needs adj.cols() rows, the targets being its first adj.rows()");
    return propagate(tape, adj, x, x.rows() == adj.rows() ? x : ops::slice_rows(x, 0, adj.rows()),
                     std::move(edge_attr));
  }

  /// @brief Whether the layer defines the hooks propagate() calls (false: x_j, and the aggregation itself).
  static constexpr bool defines_message = requires(Derived& d, edges_type& e) {
    { d.message(e) } -> std::same_as<var>;
  };
  static constexpr bool defines_update = requires(Derived& d, var a) {
    { d.update(a, a) } -> std::same_as<var>;
  };

protected:
  MessagePassing() = default;
  ~MessagePassing() = default;

private:
  Derived& derived() { return static_cast<Derived&>(*this); }
};

}  // namespace gas::nn
