// The graph ops of the tape on the device (autograd::Tape<T, gas::cuda::device>) against the same ops on the host tape:
// spmm under every aggregation, the edge ops of attention and of message passing, row gathers / scatters,
// concatenations and slices.
// Each case records the op on both tapes from the same inputs, backpropagates the same random seed gradient, and
// compares the value and every input's gradient. GPU cases skip (not fail) without a GPU; the others check argument
// validation that throws before any CUDA call.
#include <doctest/doctest.h>

#include <gas/gas.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "matches_host_util.hpp"

namespace {

using gas_test::no_gpu;
namespace aggr = gas::ops::aggr;
namespace ops = gas::ops;

/// How a case bounds the device's deviation from the host.
enum class Tolerance {
  exact,  // copies, and sums without products in the host's order: bit-equal
  sums,   // sums associated differently or with products (FMA on the device): 1e-4 of the same op on |inputs|
  unit,   // softmax (expf) and chains through it: 1e-4 of max(|host|, 1)
};

template <class T>
gas::Tensor<T, gas::host> abs_of(const gas::Tensor<T, gas::host>& m) {
  gas::Tensor<T, gas::host> out(m.rows(), m.cols());
  for (std::int64_t i = 0; i < m.size(); ++i) out.data()[i] = std::abs(m.data()[i]);
  return out;
}

/// A (rows x cols) graph without entries.
gas::Graph empty_graph(gas::node_id rows, gas::node_id cols) {
  return {rows, cols, std::vector<std::int64_t>(static_cast<std::size_t>(rows) + 1, 0), {}, {}};
}

/// The host tape's value and gradients of `op` on `inputs` (variables where `grad` says so, else constants),
/// backpropagated from `seed` (random of the output's shape when empty, drawn from `seed_number`).
template <class T>
struct HostRun {
  gas::autograd::Tape<T> tape;
  std::vector<gas::autograd::Var<T>> xs;
  gas::autograd::Var<T> y;
};

template <class T, class Op>
void run_host(HostRun<T>& run, const gas::Graph& graph, const std::vector<gas::Tensor<T, gas::host>>& inputs,
              const std::vector<bool>& grad, Op& op) {
  for (std::size_t k = 0; k < inputs.size(); ++k)
    run.xs.push_back(grad[k] ? run.tape.variable(inputs[k].view()) : run.tape.constant(inputs[k].view()));
  run.y = op(graph, run.xs);
}

/// Runs `op` (a callable (const Graph-or-DeviceCsr&, const std::vector<Var>&) -> Var) on both tapes and compares.
/// The device side runs twice on one tape, reset in between, so that reused node tensors are covered too.
template <class T, class Op>
void check_op(const gas::Graph& graph, const std::vector<gas::Tensor<T, gas::host>>& inputs, std::vector<bool> grad,
              Op op, Tolerance tol, std::uint64_t seed) {
  if (grad.empty()) grad.assign(inputs.size(), true);
  REQUIRE(grad.size() == inputs.size());
  HostRun<T> host;
  run_host(host, graph, inputs, grad, op);
  const auto G = gas_test::random_matrix<T>(host.y.rows(), host.y.cols(), seed);
  host.tape.backward(host.y, G.view());

  // Bounds of reordered sums: the same op on absolute values, backpropagating |G|.
  HostRun<T> bound;
  std::vector<gas::Tensor<T, gas::host>> abs_inputs;
  for (const auto& m : inputs) abs_inputs.push_back(abs_of(m));
  run_host(bound, graph, abs_inputs, grad, op);
  const auto absG = abs_of(G);
  bound.tape.backward(bound.y, absG.view());

  const double rel = tol == Tolerance::exact ? 0.0 : 1e-4;
  auto scale_of = [&](gas::MatrixView<const T> bound_view) {
    std::vector<T> s(static_cast<std::size_t>(bound_view.rows() * bound_view.cols()), T{1});
    if (tol == Tolerance::sums) {
      const auto b = gas_test::as_span(bound_view);
      s.assign(b.begin(), b.end());
    }
    return s;
  };

  gas::autograd::Tape<T, gas::cuda::device> dt;
  const gas::cuda::DeviceCsr dadj(graph, dt.exec().stream());
  for (int pass = 0; pass < 2; ++pass) {
    CAPTURE(pass);
    dt.reset();
    std::vector<gas::autograd::Var<T, gas::cuda::device>> dxs;
    for (std::size_t k = 0; k < inputs.size(); ++k)
      dxs.push_back(grad[k] ? dt.variable_from_host(inputs[k].view()) : dt.constant_from_host(inputs[k].view()));
    auto dy = op(dadj, dxs);
    REQUIRE(dy.rows() == host.y.rows());
    REQUIRE(dy.cols() == host.y.cols());
    auto dG = dt.constant_from_host(G.view());
    dt.backward(dy, dG.value());

    const auto y = gas::autograd::to_host(dy);
    const auto ys = scale_of(bound.y.value());
    gas_test::check_close<T>(y.values(), gas_test::as_span(host.y.value()), rel, ys);
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      if (!grad[k]) continue;
      CAPTURE(k);
      const bool live = host.xs[k].node().grad_live;
      REQUIRE(dxs[k].node().grad_live == live);
      if (!live) continue;
      const auto gx = dt.to_host(dxs[k].grad());
      const auto gs = scale_of(bound.xs[k].grad());
      gas_test::check_close<T>(gx.values(), gas_test::as_span(host.xs[k].grad()), rel, gs);
    }
  }
}

/// The graph argument of ops that take none.
gas::Graph no_graph() { return empty_graph(0, 0); }

/// Graphs of every shape the kernels must handle: skewed degrees with a hub and empty rows (weighted and not,
/// square and bipartite), a graph without entries and one without rows.
std::vector<gas::Graph> test_graphs() {
  std::vector<gas::Graph> graphs;
  graphs.push_back(gas_test::random_graph(150, 150, 31, true));
  graphs.push_back(gas_test::random_graph(90, 200, 32, false));
  graphs.push_back(empty_graph(6, 5));
  graphs.push_back(empty_graph(0, 4));
  return graphs;
}

template <aggr::Aggregation A>
void check_spmm() {
  constexpr aggr::Reduction R = A::reduction;
  const Tolerance tol = aggr::is_extreme(R) ? Tolerance::exact : Tolerance::sums;
  std::uint64_t seed = 100;
  for (const auto& graph : test_graphs()) {
    CAPTURE(graph.rows());
    CAPTURE(graph.cols());
    for (const std::int64_t width : {16, 37, 128, 1, 0}) {
      CAPTURE(width);
      const auto X = gas_test::random_matrix<float>(graph.cols(), width, ++seed);
      check_op<float>(graph, {X}, {}, [](const auto& adj, const auto& xs) { return ops::spmm<A>(adj, xs[0]); }, tol,
                      ++seed);
    }
  }
}

template <aggr::Aggregation A>
void check_aggregate_edges() {
  constexpr aggr::Reduction R = A::reduction;
  const Tolerance tol = aggr::is_extreme(R) ? Tolerance::exact : Tolerance::sums;
  std::uint64_t seed = 900;
  for (const auto& graph : test_graphs()) {
    CAPTURE(graph.rows());
    CAPTURE(graph.cols());
    for (const std::int64_t width : {16, 37, 128, 1, 0}) {
      CAPTURE(width);
      const auto M = gas_test::random_matrix<float>(graph.num_edges(), width, ++seed);
      check_op<float>(graph, {M}, {},
                      [](const auto& adj, const auto& xs) { return ops::aggregate_edges<A>(adj, xs[0]); }, tol, ++seed);
    }
  }
}

/// Random ids in [0, bound - spare): the last `spare` rows are never chosen (rows without sources).
std::vector<gas::node_id> random_index(std::int64_t n, std::int64_t bound, std::int64_t spare, std::uint64_t seed) {
  gas::Rng rng(seed);
  std::vector<gas::node_id> index(static_cast<std::size_t>(n));
  for (auto& v : index) v = static_cast<gas::node_id>(rng.below(static_cast<std::uint64_t>(bound - spare)));
  return index;
}

}  // namespace

// ---- no GPU needed --------------------------------------------------------------------------------

TEST_CASE("cuda_graph_launchers_validate_arguments_before_touching_the_device") {
  gas::cuda::DeviceCsrView adj;  // a (3 x 5) pattern with 4 entries; nothing is dereferenced before the checks
  adj.rows = 3;
  adj.cols = 5;
  adj.nnz = 4;
  float* none = nullptr;
  CHECK_THROWS_WITH_AS(gas::cuda::gather_edge_src_forward(adj, none, 3, 8, none, nullptr),
                       doctest::Contains("x (3 x 8) does not fit the adjacency (3 x 5): 5 rows expected"),
                       gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::gather_edge_dst_forward(adj, none, 5, 8, none, nullptr), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::gather_edge_dst_backward(adj, none, 3, 8, none, 3, nullptr), gas::shape_error);
  CHECK_THROWS_WITH_AS(gas::cuda::gather_edge_src_backward(adj, none, 4, 8, none, 5, nullptr),
                       doctest::Contains("without its transpose"), gas::value_error);
  CHECK_THROWS_WITH_AS(gas::cuda::spmm_edge_forward(adj, none, 4, 0, none, 5, 8, none, nullptr),
                       doctest::Contains("and a head"), gas::shape_error);
  CHECK_THROWS_WITH_AS(gas::cuda::spmm_edge_forward(adj, none, 4, 3, none, 5, 8, none, nullptr),
                       doctest::Contains("not a multiple of the 3 heads"), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::spmm_edge_backward_alpha(adj, none, 2, none, 5, 8, none, 4, 2, nullptr),
                  gas::shape_error);  // the gradient has 2 rows, not 3
  CHECK_THROWS_WITH_AS(gas::cuda::spmm_edge_backward_x(adj, none, 4, 2, none, 3, 8, none, 5, nullptr),
                       doctest::Contains("without its transpose"), gas::value_error);
  CHECK_THROWS_WITH_AS(gas::cuda::aggregate_edges_forward<aggr::Reduction::sum>(adj, none, 3, 8, none, nullptr, nullptr),
                       doctest::Contains("messages (3 x 8) needs one row per edge"), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::aggregate_edges_backward<aggr::Reduction::mean>(adj, none, 3, 8, nullptr, none, 5, nullptr),
                  gas::shape_error);  // 5 message rows, not 4
  CHECK_THROWS_WITH_AS(gas::cuda::aggregate_edges_backward<aggr::Reduction::max>(adj, none, 3, 8, nullptr, none, 4, nullptr),
                       doctest::Contains("the argument array"), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::add_strided(none, 2, 3, 4, none, 4, nullptr), gas::shape_error);  // ld 2 < 4 columns
  CHECK_THROWS_AS(gas::cuda::invert_index_scratch_bytes(-1, 3), gas::value_error);
  CHECK(gas::cuda::invert_index_scratch_bytes(0, 3) == 0);  // nothing to sort: no CUDA call either
  CHECK_THROWS_AS(gas::cuda::invert_index_into(nullptr, 4, -1, nullptr, nullptr, nullptr, 0, nullptr),
                  gas::value_error);
  CHECK_THROWS_WITH_AS(gas::cuda::scatter_add_rows<float>(none, 3, 4, nullptr, nullptr, 2, 5, none, false, nullptr),
                       doctest::Contains("2 indices for src (3 x 4)"), gas::shape_error);
}

TEST_CASE("cuda_graph_ops_validate_arguments_on_a_device_tape") {
  // Values without elements need no device memory, so a device tape records them without a GPU; the ops' checks
  // run before anything reaches the device.
  gas::autograd::Tape<float, gas::cuda::device> dt;
  const gas::Tensor<float, gas::host> none(2, 0);
  auto x = dt.variable_from_host(none.view());  // (2 x 0)
  const gas::cuda::DeviceCsr adj;                // (0 x 0)
  CHECK_THROWS_AS(ops::spmm<aggr::Sum>(adj, x), gas::shape_error);
  CHECK_THROWS_AS(ops::gather_edge_src(adj, x), gas::shape_error);
  CHECK_THROWS_AS(ops::gather_edge_dst(adj, x), gas::shape_error);
  CHECK_THROWS_AS(ops::edge_softmax(adj, x), gas::shape_error);
  CHECK_THROWS_AS(ops::spmm_edge(adj, x, x), gas::shape_error);
  CHECK_THROWS_AS(ops::aggregate_edges<aggr::Mean>(adj, x), gas::shape_error);
  const std::vector<gas::node_id> index{0, 2};
  CHECK_THROWS_WITH_AS(ops::gather_rows(x, std::span<const gas::node_id>(index)), doctest::Contains("index[1] = 2"),
                       gas::value_error);
  CHECK_THROWS_AS(ops::scatter_add_rows(x, std::span<const gas::node_id>(index), 2), gas::value_error);
  CHECK_THROWS_AS(ops::slice_rows(x, 1, 3), gas::shape_error);
  CHECK_THROWS_AS(ops::slice_cols(x, 0, 1), gas::shape_error);
  const gas::Tensor<float, gas::host> other(3, 0);
  auto z = dt.variable_from_host(other.view());  // (3 x 0)
  CHECK_THROWS_AS(ops::concat_cols(x, z), gas::shape_error);
}

// ---- GPU --------------------------------------------------------------------------------------------

TEST_CASE("cuda_tape_spmm_sum_matches_host" * doctest::skip(no_gpu)) { check_spmm<aggr::Sum>(); }
TEST_CASE("cuda_tape_spmm_mean_matches_host" * doctest::skip(no_gpu)) { check_spmm<aggr::Mean>(); }
TEST_CASE("cuda_tape_spmm_max_matches_host" * doctest::skip(no_gpu)) { check_spmm<aggr::Max>(); }
TEST_CASE("cuda_tape_spmm_min_matches_host" * doctest::skip(no_gpu)) { check_spmm<aggr::Min>(); }

TEST_CASE("cuda_tape_spmm_forward_only_matches_host" * doctest::skip(no_gpu)) {
  // Without a gradient the max/min argument is not saved; the value must not change.
  const gas::Graph graph = gas_test::random_graph(70, 60, 41, false);
  const auto X = gas_test::random_matrix<float>(60, 24, 42);
  gas::autograd::Tape<float> ht;
  auto hy = ops::spmm<aggr::Max>(graph, ht.constant(X.view()));
  gas::autograd::Tape<float, gas::cuda::device> dt;
  const gas::cuda::DeviceCsr adj(graph, dt.exec().stream());
  auto dy = ops::spmm<aggr::Max>(adj, dt.constant_from_host(X.view()));
  CHECK_FALSE(dy.requires_grad());
  const auto y = gas::autograd::to_host(dy);
  gas_test::check_close<float>(y.values(), gas_test::as_span(hy.value()), 0.0);
}

TEST_CASE("cuda_tape_gather_edge_src_and_dst_match_host" * doctest::skip(no_gpu)) {
  std::uint64_t seed = 200;
  for (const auto& graph : test_graphs()) {
    CAPTURE(graph.rows());
    CAPTURE(graph.cols());
    for (const std::int64_t width : {16, 37, 128, 1}) {
      CAPTURE(width);
      const auto Xs = gas_test::random_matrix<float>(graph.cols(), width, ++seed);
      const auto Xd = gas_test::random_matrix<float>(graph.rows(), width, ++seed);
      check_op<float>(graph, {Xs}, {}, [](const auto& adj, const auto& xs) { return ops::gather_edge_src(adj, xs[0]); },
                      Tolerance::exact, ++seed);
      check_op<float>(graph, {Xd}, {}, [](const auto& adj, const auto& xs) { return ops::gather_edge_dst(adj, xs[0]); },
                      Tolerance::exact, ++seed);
    }
  }
}

TEST_CASE("cuda_tape_edge_softmax_matches_host" * doctest::skip(no_gpu)) {
  std::uint64_t seed = 300;
  for (const auto& graph : test_graphs()) {
    CAPTURE(graph.rows());
    for (const std::int64_t heads : {1, 4, 8}) {
      CAPTURE(heads);
      const auto S = gas_test::random_matrix<float>(graph.num_edges(), heads, ++seed, -4, 4);
      check_op<float>(graph, {S}, {}, [](const auto& adj, const auto& xs) { return ops::edge_softmax(adj, xs[0]); },
                      Tolerance::unit, ++seed);
    }
  }
}

TEST_CASE("cuda_tape_spmm_edge_matches_host" * doctest::skip(no_gpu)) {
  std::uint64_t seed = 400;
  // (heads, per head): vector packs (8, 16, 32 per head), scalars (5 per head), one head.
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes{{1, 16}, {4, 8}, {3, 5}, {8, 16}, {2, 64}, {1, 37}};
  for (const auto& graph : test_graphs()) {
    CAPTURE(graph.rows());
    CAPTURE(graph.cols());
    for (const auto& [heads, per_head] : shapes) {
      CAPTURE(heads);
      CAPTURE(per_head);
      const auto Alpha = gas_test::random_matrix<float>(graph.num_edges(), heads, ++seed);
      const auto X = gas_test::random_matrix<float>(graph.cols(), heads * per_head, ++seed);
      auto op = [](const auto& adj, const auto& xs) { return ops::spmm_edge(adj, xs[0], xs[1]); };
      check_op<float>(graph, {Alpha, X}, {}, op, Tolerance::sums, ++seed);
      check_op<float>(graph, {Alpha, X}, {true, false}, op, Tolerance::sums, ++seed);  // alpha's gradient only
      check_op<float>(graph, {Alpha, X}, {false, true}, op, Tolerance::sums, ++seed);  // x's gradient only
    }
  }
}

TEST_CASE("cuda_tape_aggregate_edges_sum_matches_host" * doctest::skip(no_gpu)) { check_aggregate_edges<aggr::Sum>(); }
TEST_CASE("cuda_tape_aggregate_edges_mean_matches_host" * doctest::skip(no_gpu)) { check_aggregate_edges<aggr::Mean>(); }
TEST_CASE("cuda_tape_aggregate_edges_max_matches_host" * doctest::skip(no_gpu)) { check_aggregate_edges<aggr::Max>(); }
TEST_CASE("cuda_tape_aggregate_edges_min_matches_host" * doctest::skip(no_gpu)) { check_aggregate_edges<aggr::Min>(); }

TEST_CASE("cuda_tape_message_passing_chain_matches_host" * doctest::skip(no_gpu)) {
  // A message-passing layer's shape: source rows gathered onto the edges, scaled per edge, reduced into their rows.
  const gas::Graph graph = gas_test::random_graph(110, 90, 71, false);
  const auto X = gas_test::random_matrix<float>(90, 24, 72);
  const auto W = gas_test::random_matrix<float>(graph.num_edges(), 1, 73);
  check_op<float>(
      graph, {X, W}, {},
      [](const auto& adj, const auto& xs) {
        return ops::aggregate_edges<aggr::Max>(adj, ops::mul_rows(ops::gather_edge_src(adj, xs[0]), xs[1]));
      },
      Tolerance::sums, 74);
}

TEST_CASE("cuda_tape_graph_ops_in_double_match_host" * doctest::skip(no_gpu)) {
  // Doubles pack in twos: one run of each vectorized kernel family.
  const gas::Graph graph = gas_test::random_graph(80, 70, 51, true);
  const auto X = gas_test::random_matrix<double>(70, 12, 52);
  const auto Alpha = gas_test::random_matrix<double>(graph.num_edges(), 3, 53);
  check_op<double>(graph, {X}, {}, [](const auto& adj, const auto& xs) { return ops::spmm<aggr::Sum>(adj, xs[0]); },
                   Tolerance::sums, 54);
  check_op<double>(graph, {X}, {}, [](const auto& adj, const auto& xs) { return ops::gather_edge_src(adj, xs[0]); },
                   Tolerance::exact, 55);
  check_op<double>(graph, {Alpha, X}, {}, [](const auto& adj, const auto& xs) { return ops::spmm_edge(adj, xs[0], xs[1]); },
                   Tolerance::sums, 56);
  const auto M = gas_test::random_matrix<double>(graph.num_edges(), 12, 57);
  check_op<double>(graph, {M}, {}, [](const auto& adj, const auto& xs) { return ops::aggregate_edges<aggr::Mean>(adj, xs[0]); },
                   Tolerance::sums, 58);
}

TEST_CASE("cuda_tape_attention_chain_matches_host" * doctest::skip(no_gpu)) {
  // GAT's aggregation without its elementwise steps: per-head scores of sources and destinations gathered onto
  // the edges (mixed by a concatenation and a column slice, in place of GAT's sum), softmax, weighted sum.
  const gas::Graph graph = gas_test::random_graph(120, 120, 61, false);
  const std::int64_t heads = 4, per_head = 8;
  const auto S = gas_test::random_matrix<float>(120, heads, 62, -2, 2);
  const auto H = gas_test::random_matrix<float>(120, heads * per_head, 63);
  check_op<float>(
      graph, {S, H}, {},
      [](const auto& adj, const auto& xs) {
        auto both = ops::concat_cols(ops::gather_edge_src(adj, xs[0]), ops::gather_edge_dst(adj, xs[0]));  // (E, 8)
        auto alpha = ops::edge_softmax(adj, ops::slice_cols(both, 2, 6));  // 2 source heads, 2 destination heads
        return ops::spmm_edge(adj, alpha, xs[1]);
      },
      Tolerance::unit, 64);
}

TEST_CASE("cuda_tape_gather_rows_matches_host" * doctest::skip(no_gpu)) {
  std::uint64_t seed = 500;
  for (const std::int64_t width : {16, 37, 128}) {
    CAPTURE(width);
    for (const std::int64_t n : {400, 1, 0}) {
      CAPTURE(n);
      const std::int64_t rows = 90;
      const auto index = random_index(n, rows, 10, ++seed);
      const auto X = gas_test::random_matrix<float>(rows, width, ++seed);
      check_op<float>(no_graph(), {X}, {},
                      [&index](const auto&, const auto& xs) {
                        return ops::gather_rows(xs[0], std::span<const gas::node_id>(index));
                      },
                      Tolerance::exact, ++seed);
    }
  }
}

TEST_CASE("cuda_tape_scatter_add_rows_matches_host" * doctest::skip(no_gpu)) {
  std::uint64_t seed = 600;
  for (const std::int64_t width : {16, 37, 128}) {
    CAPTURE(width);
    for (const std::int64_t n : {500, 1, 0}) {
      CAPTURE(n);
      const std::int64_t targets = 70;
      const auto index = random_index(n, targets, 5, ++seed);
      const auto X = gas_test::random_matrix<float>(n, width, ++seed);
      check_op<float>(no_graph(), {X}, {},
                      [&index](const auto&, const auto& xs) {
                        return ops::scatter_add_rows(xs[0], std::span<const gas::node_id>(index), 70);
                      },
                      Tolerance::exact, ++seed);
    }
  }
  // No target rows at all.
  const std::vector<gas::node_id> none;
  const auto X = gas_test::random_matrix<float>(0, 8, 7);
  check_op<float>(no_graph(), {X}, {},
                  [&none](const auto&, const auto& xs) {
                    return ops::scatter_add_rows(xs[0], std::span<const gas::node_id>(none), 0);
                  },
                  Tolerance::exact, 8);
}

TEST_CASE("cuda_tape_gather_and_scatter_reuse_nodes_across_index_sizes" * doctest::skip(no_gpu)) {
  // One device tape, reset between steps whose index sizes change (grow, shrink, grow): the nodes' saved index
  // and inverse must follow the current step's sizes.
  const std::int64_t rows = 60, width = 20;
  const auto X = gas_test::random_matrix<float>(rows, width, 71);
  gas::autograd::Tape<float, gas::cuda::device> dt;
  std::uint64_t seed = 72;
  for (const std::int64_t n : {300, 40, 1000, 0, 300}) {
    CAPTURE(n);
    const auto index = random_index(n, rows, 3, ++seed);
    const std::span<const gas::node_id> idx(index);
    gas::autograd::Tape<float> ht;
    auto hx = ht.variable(X.view());
    auto hg = ops::gather_rows(hx, idx);
    auto hs = ops::scatter_add_rows(hg, idx, rows);
    const auto G = gas_test::random_matrix<float>(rows, width, ++seed);
    ht.backward(hs, G.view());

    dt.reset();
    auto dx = dt.variable_from_host(X.view());
    auto dg = ops::gather_rows(dx, idx);
    auto ds = ops::scatter_add_rows(dg, idx, rows);
    auto dG = dt.constant_from_host(G.view());
    dt.backward(ds, dG.value());
    const auto y = gas::autograd::to_host(ds);
    const auto gx = dt.to_host(dx.grad());
    gas_test::check_close<float>(y.values(), gas_test::as_span(hs.value()), 0.0);
    gas_test::check_close<float>(gx.values(), gas_test::as_span(hx.grad()), 0.0);
  }
}

TEST_CASE("cuda_tape_concat_matches_host" * doctest::skip(no_gpu)) {
  std::uint64_t seed = 800;
  for (const std::size_t parts : {1u, 2u, 3u, 4u, 5u, 7u, 13u, 17u}) {
    CAPTURE(parts);
    std::vector<gas::Tensor<float, gas::host>> cols_parts, rows_parts;
    std::vector<bool> grad;
    for (std::size_t k = 0; k < parts; ++k) {
      const std::int64_t extent = k % 4 == 2 ? 0 : static_cast<std::int64_t>(1 + (k * 7) % 19);  // some empty parts
      cols_parts.push_back(gas_test::random_matrix<float>(33, extent, ++seed));
      rows_parts.push_back(gas_test::random_matrix<float>(extent, 21, ++seed));
      grad.push_back(k % 3 != 1);  // every third part a constant
    }
    auto cat_cols = [](const auto&, const auto& xs) { return ops::concat_cols(std::span(xs.data(), xs.size())); };
    auto cat_rows = [](const auto&, const auto& xs) { return ops::concat_rows(std::span(xs.data(), xs.size())); };
    check_op<float>(no_graph(), cols_parts, grad, cat_cols, Tolerance::exact, ++seed);
    check_op<float>(no_graph(), rows_parts, grad, cat_rows, Tolerance::exact, ++seed);
    check_op<float>(no_graph(), cols_parts, {}, cat_cols, Tolerance::exact, ++seed);
  }
  // One value twice: both copies' gradients add up.
  const auto X = gas_test::random_matrix<float>(10, 6, 9);
  check_op<float>(no_graph(), {X}, {}, [](const auto&, const auto& xs) { return ops::concat_cols(xs[0], xs[0]); },
                  Tolerance::exact, 10);
}

TEST_CASE("cuda_tape_slices_match_host" * doctest::skip(no_gpu)) {
  std::uint64_t seed = 900;
  const auto X = gas_test::random_matrix<float>(50, 37, ++seed);
  const std::vector<std::pair<std::int64_t, std::int64_t>> col_ranges{{0, 37}, {3, 20}, {36, 37}, {5, 5}, {16, 32}};
  const std::vector<std::pair<std::int64_t, std::int64_t>> row_ranges{{0, 50}, {7, 30}, {49, 50}, {12, 12}};
  for (const auto& [b, e] : col_ranges) {
    CAPTURE(b);
    CAPTURE(e);
    check_op<float>(no_graph(), {X}, {},
                    [b, e](const auto&, const auto& xs) { return ops::slice_cols(xs[0], b, e); }, Tolerance::exact,
                    ++seed);
  }
  for (const auto& [b, e] : row_ranges) {
    CAPTURE(b);
    CAPTURE(e);
    check_op<float>(no_graph(), {X}, {},
                    [b, e](const auto&, const auto& xs) { return ops::slice_rows(xs[0], b, e); }, Tolerance::exact,
                    ++seed);
  }
  // A slice of a slice, and a row slice concatenated back with the rest: gradients meet in one input.
  check_op<float>(no_graph(), {X}, {},
                  [](const auto&, const auto& xs) {
                    return ops::concat_rows(ops::slice_cols(ops::slice_rows(xs[0], 10, 40), 2, 30),
                                            ops::slice_cols(xs[0], 4, 32));
                  },
                  Tolerance::exact, ++seed);
}
