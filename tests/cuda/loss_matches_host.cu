// Device edge softmax, log-softmax, NLL, fused cross-entropy and batch norm against the host ops.
// GPU cases skip (not fail) without a GPU; the others check argument validation.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include <gas/autograd/tape.hpp>
#include <gas/cuda/device_csr.hpp>
#include <gas/cuda/kernels/batch_norm.cuh>
#include <gas/cuda/kernels/edge_softmax.cuh>
#include <gas/cuda/kernels/loss.cuh>
#include <gas/cuda/stream.hpp>
#include <gas/ops/arithmetic.hpp>
#include <gas/ops/batch_norm.hpp>
#include <gas/ops/edge.hpp>
#include <gas/ops/loss.hpp>
#include <gas/ops/reduce.hpp>

#include "matches_host_util.hpp"

namespace {

using gas_test::no_gpu;

struct Selection {
  std::vector<std::int32_t> labels;
  std::vector<gas::node_id> rows;
};

// Labels for every row (-1 for rows never selected) and a selection: increasing, or with repeats and disorder.
Selection make_selection(std::int64_t rows, std::int64_t classes, bool increasing, std::uint64_t seed) {
  gas::Rng rng(seed);
  Selection s;
  s.labels.assign(static_cast<std::size_t>(rows), -1);
  for (std::int64_t r = 0; r < rows; ++r)
    if (r % 3 != 1) s.labels[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(rng.below(classes));
  for (std::int64_t r = 0; r < rows; ++r)
    if (r % 3 != 1) s.rows.push_back(static_cast<gas::node_id>(r));
  if (!increasing) {
    rng.shuffle(s.rows.begin(), s.rows.end());
    s.rows.push_back(s.rows[0]);  // a row selected twice counts twice
    s.rows.push_back(s.rows[1]);
  }
  return s;
}

void check_cross_entropy(bool increasing) {
  const std::int64_t rows = 500, classes = 7;
  const auto X = gas_test::random_matrix<float>(rows, classes, 61, -4, 4);
  const Selection sel = make_selection(rows, classes, increasing, 62);
  gas::autograd::Tape<float> tape;
  auto x = tape.variable(X.view());
  auto loss = gas::ops::cross_entropy(x, std::span<const std::int32_t>(sel.labels), std::span<const gas::node_id>(sel.rows));
  tape.backward(loss, 0.75f);

  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  auto dx = gas_test::to_device<float>(X.values(), s);
  auto dl = gas_test::to_device<std::int32_t>(sel.labels, s);
  auto dr = gas_test::to_device<gas::node_id>(sel.rows, s);
  const std::vector<float> seed{0.75f};
  auto dseed = gas_test::to_device<float>(seed, s);
  const auto count = static_cast<std::int64_t>(sel.rows.size());
  gas::cuda::DeviceBuffer<float> aux(static_cast<std::size_t>(2 * count), s), dloss(1, s), dgx(X.values().size(), s);
  dgx.fill_zero();
  const gas::cuda::LossRows lr{dl.data(), dr.data(), count, increasing};
  gas::cuda::cross_entropy_forward(dx.data(), rows, classes, lr, aux.data(), dloss.data(), s);
  gas::cuda::cross_entropy_backward(dseed.data(), dx.data(), rows, classes, lr, aux.data(), dgx.data(), s);
  const auto l = dloss.to_host();
  const auto gx = dgx.to_host();
  gas_test::check_close<float>(l, gas_test::as_span(loss.value()), 1e-6);
  gas_test::check_close<float>(gx, gas_test::as_span(x.grad()), 1e-5);
}

void check_batch_norm(bool training) {
  const std::int64_t rows = 2100, cols = 40;  // three column chunks
  const auto X = gas_test::random_matrix<float>(rows, cols, 71, 2, 5);  // a large mean: the two-pass variance
  const auto Gm = gas_test::random_matrix<float>(1, cols, 72, 0.5, 1.5);
  const auto Bt = gas_test::random_matrix<float>(1, cols, 73);
  const auto G = gas_test::random_matrix<float>(rows, cols, 74);
  auto state = gas::ops::make_batch_norm_state<float>(cols);
  state.running_mean = gas_test::random_matrix<float>(1, cols, 75);
  state.running_var = gas_test::random_matrix<float>(1, cols, 76, 0.5, 2);
  const auto rm0 = state.running_mean, rv0 = state.running_var;

  gas::autograd::Tape<float> tape;
  auto x = tape.variable(X.view());
  auto gamma = tape.variable(Gm.view());
  auto beta = tape.variable(Bt.view());
  auto y = gas::ops::batch_norm(x, gamma, beta, state, training, 0.2, 1e-5);
  tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(G.view()))));

  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  auto dx = gas_test::to_device<float>(X.values(), s);
  auto dgm = gas_test::to_device<float>(Gm.values(), s);
  auto dbt = gas_test::to_device<float>(Bt.values(), s);
  auto dg = gas_test::to_device<float>(G.values(), s);
  auto drm = gas_test::to_device<float>(rm0.values(), s);
  auto drv = gas_test::to_device<float>(rv0.values(), s);
  gas::cuda::DeviceBuffer<float> dy(X.values().size(), s), saved(static_cast<std::size_t>(2 * cols), s);
  gas::cuda::DeviceBuffer<float> dgx(X.values().size(), s), dgg(static_cast<std::size_t>(cols), s),
      dgb(static_cast<std::size_t>(cols), s);
  dgx.fill_zero();
  dgg.fill_zero();
  dgb.fill_zero();
  const gas::cuda::BatchNormArgs<float> args{.x = dx.data(), .rows = rows, .cols = cols, .gamma = dgm.data(),
                                             .beta = dbt.data(), .running_mean = drm.data(),
                                             .running_var = drv.data(), .momentum = 0.2, .eps = 1e-5,
                                             .training = training};
  gas::cuda::batch_norm_forward(args, dy.data(), saved.data(), s);
  gas::cuda::batch_norm_backward(args, saved.data(), dg.data(), dgx.data(), dgg.data(), dgb.data(), s);
  const auto out = dy.to_host();
  // Against the output's magnitude: the host rounds the column sums to float per block, the device keeps double,
  // so means differ by an ulp, and normalized outputs near zero differ relatively.
  gas_test::check_close_normwise<float>(out, gas_test::as_span(y.value()), 1e-5);
  const auto rm = drm.to_host();
  const auto rv = drv.to_host();
  gas_test::check_close<float>(rm, state.running_mean.values(), 1e-5);
  gas_test::check_close<float>(rv, state.running_var.values(), 1e-5);
  // Gradients are sums over 2100 rows: compare against their magnitude (sum |g| per column, |g| per element).
  std::vector<float> col_bound(static_cast<std::size_t>(cols), 0.0f), elem_bound(X.values().size(), 1.0f);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) col_bound[static_cast<std::size_t>(j)] += 2 * std::abs(G(i, j));
  const auto gx = dgx.to_host();
  const auto gg = dgg.to_host();
  const auto gb = dgb.to_host();
  gas_test::check_close<float>(gx, gas_test::as_span(x.grad()), 1e-5, elem_bound);
  gas_test::check_close<float>(gg, gas_test::as_span(gamma.grad()), 1e-6, col_bound);
  gas_test::check_close<float>(gb, gas_test::as_span(beta.grad()), 1e-6, col_bound);
}

}  // namespace

// ---- no GPU needed --------------------------------------------------------------------------------

TEST_CASE("cuda_losses_and_norms_validate_arguments_before_touching_the_device") {
  float* none = nullptr;
  gas::cuda::DeviceCsrView adj;
  adj.rows = 4;
  adj.cols = 4;
  adj.nnz = 9;
  CHECK_THROWS_WITH_AS(gas::cuda::edge_softmax_forward<float>(adj, none, 8, 2, none, nullptr),
                       doctest::Contains("scores (8 x 2) need one row per edge"), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::edge_softmax_backward<float>(adj, none, none, 9, 0, none, nullptr), gas::shape_error);
  const gas::cuda::LossRows empty;
  CHECK_THROWS_WITH_AS(gas::cuda::cross_entropy_forward<float>(none, 10, 3, empty, none, none, nullptr),
                       doctest::Contains("selection is empty"), gas::value_error);
  const gas::cuda::LossRows one{nullptr, nullptr, 1, true};
  CHECK_THROWS_AS(gas::cuda::nll_loss_forward<float>(none, 10, 0, one, none, nullptr), gas::shape_error);
  gas::cuda::BatchNormArgs<float> bn;
  bn.rows = 1;
  bn.cols = 3;
  CHECK_THROWS_WITH_AS(gas::cuda::batch_norm_forward<float>(bn, none, none, nullptr),
                       doctest::Contains("more than one row"), gas::value_error);
  bn.rows = 5;
  bn.momentum = 1.5;
  CHECK_THROWS_AS(gas::cuda::batch_norm_forward<float>(bn, none, none, nullptr), gas::value_error);
  bn.momentum = 0.1;
  bn.eps = 0;
  CHECK_THROWS_AS(gas::cuda::batch_norm_backward<float>(bn, none, none, none, none, none, nullptr), gas::value_error);
}

// ---- GPU --------------------------------------------------------------------------------------------

TEST_CASE("cuda_edge_softmax_matches_host" * doctest::skip(no_gpu)) {
  const gas::Graph graph = gas_test::random_graph(200, 150, 51, false);
  const std::int64_t heads = 3, edges = graph.num_edges();
  const auto S = gas_test::random_matrix<float>(edges, heads, 52, -5, 5);
  const auto G = gas_test::random_matrix<float>(edges, heads, 53);
  gas::autograd::Tape<float> tape;
  auto sc = tape.variable(S.view());
  auto a = gas::ops::edge_softmax(graph, sc);
  tape.backward(gas::ops::sum_all(gas::ops::mul(a, tape.constant(G.view()))));
  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  const gas::cuda::DeviceCsr adj(graph, s, false);
  auto ds = gas_test::to_device<float>(S.values(), s);
  auto dg = gas_test::to_device<float>(G.values(), s);
  gas::cuda::DeviceBuffer<float> da(S.values().size(), s), dgs(S.values().size(), s);
  dgs.fill_zero();
  gas::cuda::edge_softmax_forward(adj.view(), ds.data(), edges, heads, da.data(), s);
  gas::cuda::edge_softmax_backward(adj.view(), da.data(), dg.data(), edges, heads, dgs.data(), s);
  const auto alpha = da.to_host();
  const auto gs = dgs.to_host();
  gas_test::check_close<float>(alpha, gas_test::as_span(a.value()), 1e-5);
  // Each gradient is a (g - dot) difference: compare against the scale of its terms, a * (|g| + 1).
  std::vector<float> bound(alpha.size());
  for (std::size_t e = 0; e < bound.size(); ++e) bound[e] = alpha[e] * (std::abs(G.data()[e]) + 1.0f);
  gas_test::check_close<float>(gs, gas_test::as_span(sc.grad()), 1e-5, bound);
}

TEST_CASE("cuda_log_softmax_matches_host" * doctest::skip(no_gpu)) {
  const std::int64_t rows = 300, cols = 10;
  const auto X = gas_test::random_matrix<float>(rows, cols, 81, -6, 6);
  const auto G = gas_test::random_matrix<float>(rows, cols, 82);
  gas::autograd::Tape<float> tape;
  auto x = tape.variable(X.view());
  auto y = gas::ops::log_softmax(x);
  tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(G.view()))));
  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  auto dx = gas_test::to_device<float>(X.values(), s);
  auto dg = gas_test::to_device<float>(G.values(), s);
  gas::cuda::DeviceBuffer<float> dy(X.values().size(), s), dgx(X.values().size(), s);
  dgx.fill_zero();
  gas::cuda::log_softmax_forward(dx.data(), rows, cols, dy.data(), s);
  gas::cuda::log_softmax_backward(dy.data(), dg.data(), rows, cols, dgx.data(), s);
  const auto out = dy.to_host();
  const auto gx = dgx.to_host();
  gas_test::check_close<float>(out, gas_test::as_span(y.value()), 1e-6);
  const std::vector<float> bound(gx.size(), 1.0f);  // g - p sum(g): terms of order |g| <= 1
  gas_test::check_close<float>(gx, gas_test::as_span(x.grad()), 1e-5, bound);
}

TEST_CASE("cuda_nll_loss_matches_host" * doctest::skip(no_gpu)) {
  for (const bool increasing : {true, false}) {
    CAPTURE(increasing);
    const std::int64_t rows = 400, classes = 5;
    const auto LP = gas_test::random_matrix<float>(rows, classes, 91, -5, 0);
    const Selection sel = make_selection(rows, classes, increasing, 92);
    gas::autograd::Tape<float> tape;
    auto lp = tape.variable(LP.view());
    auto loss = gas::ops::nll_loss(lp, std::span<const std::int32_t>(sel.labels), std::span<const gas::node_id>(sel.rows));
    tape.backward(loss, 2.0f);
    gas::cuda::Stream stream;
    const cudaStream_t s = stream.get();
    auto dlp = gas_test::to_device<float>(LP.values(), s);
    auto dl = gas_test::to_device<std::int32_t>(sel.labels, s);
    auto dr = gas_test::to_device<gas::node_id>(sel.rows, s);
    const std::vector<float> seed{2.0f};
    auto dseed = gas_test::to_device<float>(seed, s);
    gas::cuda::DeviceBuffer<float> dloss(1, s), dgx(LP.values().size(), s);
    dgx.fill_zero();
    const gas::cuda::LossRows lr{dl.data(), dr.data(), static_cast<std::int64_t>(sel.rows.size()), increasing};
    gas::cuda::nll_loss_forward(dlp.data(), rows, classes, lr, dloss.data(), s);
    gas::cuda::nll_loss_backward(dseed.data(), rows, classes, lr, dgx.data(), s);
    const auto l = dloss.to_host();
    const auto gx = dgx.to_host();
    gas_test::check_close<float>(l, gas_test::as_span(loss.value()), 1e-6);
    gas_test::check_close<float>(gx, gas_test::as_span(lp.grad()), 1e-6);
  }
}

TEST_CASE("cuda_cross_entropy_matches_host" * doctest::skip(no_gpu)) {
  check_cross_entropy(true);
  check_cross_entropy(false);
}

TEST_CASE("cuda_batch_norm_training_matches_host" * doctest::skip(no_gpu)) { check_batch_norm(true); }
TEST_CASE("cuda_batch_norm_eval_matches_host" * doctest::skip(no_gpu)) { check_batch_norm(false); }
