// Sparse values on the host tape (sparse features): matmul with a sparse left operand against the dense product,
// its weight gradient (gradient check and dense oracle), dropout over the stored entries, the dense copies record
// makes for other ops (slices and concatenations included), and the errors for reading a sparse value as dense.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "gas/autograd/gradcheck.hpp"
#include "gas/graph/features.hpp"
#include "gas/models/history_io.hpp"
#include "gas/ops/activation.hpp"
#include "gas/ops/concat.hpp"
#include "gas/ops/dropout.hpp"
#include "gas/ops/matmul.hpp"
#include "gas/ops/reduce.hpp"
#include "gas/ops/spmm.hpp"
#include "ops/ops_test_util.hpp"

namespace {

using gas_test::random_tensor;
using gas_test::weighted_sum;

/// A (rows x cols) matrix with about `density` of its entries non-zero (uniform in [-1, 1)), dense.
gas::Tensor<float> random_sparse_dense(std::int64_t rows, std::int64_t cols, double density, std::uint64_t seed) {
  gas::Rng rng(seed);
  gas::Tensor<float> x(rows, cols);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      if (rng.uniform() < density) x(i, j) = static_cast<float>(2 * rng.uniform() - 1);
  return x;
}

/// Rows `ids` of `x`, as a sparse and as a dense value of `tape`.
template <class T>
std::pair<gas::autograd::Var<T>, gas::autograd::Var<T>> both(gas::autograd::Tape<T>& tape, const gas::Tensor<float>& x,
                                                            const std::vector<gas::node_id>& ids) {
  const gas::SparseRows<float> s(std::as_const(x).view());
  auto sparse = gas::models::gather_features(tape, s, ids);
  auto dense = gas::models::gather_features(tape, x, ids);
  return {sparse, dense};
}

}  // namespace

TEST_CASE_TEMPLATE("matmul with a sparse left operand equals the dense product, either layout of the weight", T, float,
                   double) {
  const auto x = random_sparse_dense(40, 30, 0.1, 1);
  const std::vector<gas::node_id> ids{3, 0, 39, 7, 7, 12, 25};
  gas::autograd::Tape<T> tape;
  auto [xs, xd] = both(tape, x, ids);
  REQUIRE(xs.is_sparse());
  CHECK(xs.nnz() < xd.nnz());
  for (const bool tb : {false, true}) {
    CAPTURE(tb);
    const auto w = random_tensor<T>(tb ? 5 : 30, tb ? 30 : 5, 2);
    auto wv = tape.constant(w.view());
    const auto a = gas::autograd::to_host(gas::ops::matmul(xs, wv, false, tb));
    const auto b = gas::autograd::to_host(gas::ops::matmul(xd, wv, false, tb));
    for (std::int64_t i = 0; i < a.rows(); ++i)
      for (std::int64_t j = 0; j < a.cols(); ++j) CHECK(a(i, j) == doctest::Approx(b(i, j)).epsilon(1e-5));
  }
}

TEST_CASE("the weight gradient through a sparse matmul passes the gradient check and equals the dense one") {
  const auto x = random_sparse_dense(30, 20, 0.15, 3);
  const std::vector<gas::node_id> ids{0, 5, 9, 29, 14, 5};
  for (const bool tb : {false, true}) {
    CAPTURE(tb);
    gas::autograd::Parameter<double> w("w", random_tensor<double>(tb ? 4 : 20, tb ? 20 : 4, 4));
    gas::autograd::Tape<double> tape;
    const auto check = gas::autograd::check_gradients(
        tape,
        [&](gas::autograd::Tape<double>& t) {
          auto xs = gas::models::gather_features(t, gas::SparseRows<float>(std::as_const(x).view()), ids);
          return weighted_sum(gas::ops::matmul(xs, t.param(w), false, tb));
        },
        {&w});
    CHECK_MESSAGE(check.ok, check.worst);

    // The same gradient as through the dense rows.
    auto grad_with = [&](bool sparse) {
      w.zero_grad();
      tape.reset();
      auto [xs, xd] = both(tape, x, ids);
      tape.backward(weighted_sum(gas::ops::matmul(sparse ? xs : xd, tape.param(w), false, tb)));
      return w.grad;
    };
    const auto gs = grad_with(true), gd = grad_with(false);
    for (std::int64_t i = 0; i < gs.rows(); ++i)
      for (std::int64_t j = 0; j < gs.cols(); ++j) CHECK(gs(i, j) == doctest::Approx(gd(i, j)).epsilon(1e-12));
  }
}

TEST_CASE("dropout on a sparse value draws over its stored entries and stays sparse") {
  const auto x = random_sparse_dense(50, 40, 0.2, 5);
  const std::vector<gas::node_id> ids{1, 2, 3, 49, 20};
  gas::autograd::Tape<float> tape;
  auto [xs, xd] = both(tape, x, ids);
  auto dropped = gas::ops::dropout(xs, 0.5, 77, true);
  REQUIRE(dropped.is_sparse());
  const auto in = xs.node().sparse_value();
  const auto out = dropped.node().sparse_value();
  const std::int64_t nnz = xs.nnz();
  REQUIRE(dropped.nnz() == nnz);
  // Entry k gets the mask element k of a dense dropout over the (1 x nnz) row of values, with the same seed.
  gas::Tensor<float> values(1, nnz);
  for (std::int64_t k = 0; k < nnz; ++k) values(0, k) = in.values[k];
  const auto expect = gas::autograd::to_host(gas::ops::dropout(tape.constant(values.view()), 0.5, 77, true));
  std::int64_t kept = 0;
  for (std::int64_t k = 0; k < nnz; ++k) {
    CHECK(out.indices[k] == in.indices[k]);
    CHECK(out.values[k] == expect(0, k));
    kept += out.values[k] != 0;
  }
  CHECK(kept > nnz / 4);
  CHECK(kept < 3 * nnz / 4);
  CHECK(gas::ops::dropout(xs, 0.5, 77, false).id() == xs.id());  // evaluation: x itself
}

TEST_CASE("ops that read dense values get a dense copy of a sparse input; reading one directly is a value_error") {
  const auto x = random_sparse_dense(12, 9, 0.3, 6);
  const std::vector<gas::node_id> ids{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  gas::autograd::Tape<double> tape;
  auto [xs, xd] = both(tape, x, ids);
  const auto adj = gas_test::random_graph(12, 12, 3.0, 8, true, true);
  const auto a = gas::autograd::to_host(gas::ops::spmm<gas::ops::aggr::Sum>(adj, xs));
  const auto b = gas::autograd::to_host(gas::ops::spmm<gas::ops::aggr::Sum>(adj, xd));
  CHECK(a == b);
  CHECK(gas::autograd::to_host(gas::ops::relu(xs)) == gas::autograd::to_host(gas::ops::relu(xd)));
  CHECK(gas::autograd::to_host(gas::ops::to_dense(xs)) == gas::autograd::to_host(xd));
  // Ops that wire their inputs themselves: a row slice (LayerContext::targets, SAGEConv's root rows) and stacking.
  CHECK(gas::autograd::to_host(gas::ops::slice_rows(xs, 2, 7)) == gas::autograd::to_host(gas::ops::slice_rows(xd, 2, 7)));
  CHECK(gas::autograd::to_host(gas::ops::concat_rows(xs, xd)) == gas::autograd::to_host(gas::ops::concat_rows(xd, xd)));
  CHECK(gas::autograd::to_host(gas::ops::concat_cols(xd, xs)) == gas::autograd::to_host(gas::ops::concat_cols(xd, xd)));
  CHECK_THROWS_WITH_AS((void)xs.value(), doctest::Contains("a sparse value (12 x 9, op 'features') has no dense data"),
                       gas::value_error);
}
