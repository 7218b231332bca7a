// Device dropout, gemm (cuBLAS), activations, bias add, column sums and row norms against the host ops, and every
// device reduction run twice on the same inputs giving the same bits. GPU cases skip (not fail) without a GPU; the others check the shared mask function and argument validation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gas/autograd/tape.hpp>
#include <gas/cuda/kernels/arith.cuh>
#include <gas/cuda/kernels/batch_norm.cuh>
#include <gas/cuda/kernels/clip.cuh>
#include <gas/cuda/kernels/dropout.cuh>
#include <gas/cuda/kernels/elementwise.cuh>
#include <gas/cuda/kernels/gemm.hpp>
#include <gas/cuda/kernels/loss.cuh>
#include <gas/cuda/kernels/reduce.cuh>
#include <gas/cuda/stream.hpp>
#include <gas/ops/activation.hpp>
#include <gas/ops/arithmetic.hpp>
#include <gas/ops/dropout.hpp>
#include <gas/ops/matmul.hpp>
#include <gas/ops/norm.hpp>
#include <gas/ops/reduce.hpp>

#include "matches_host_util.hpp"

namespace {

using gas_test::no_gpu;
using Var = gas::autograd::Var<float>;

// Host op through the tape with upstream gradient G, device forward/backward by the callbacks; compares both.
template <class HostOp, class DeviceForward, class DeviceBackward>
void check_unary(HostOp host_op, DeviceForward dev_fwd, DeviceBackward dev_bwd, double rel) {
  const std::int64_t rows = 123, cols = 37;
  const auto X = gas_test::random_matrix<float>(rows, cols, 21, -3, 3);
  const auto G = gas_test::random_matrix<float>(rows, cols, 22);
  gas::autograd::Tape<float> tape;
  auto x = tape.variable(X.view());
  Var y = host_op(x);
  tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(G.view()))));
  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  auto dx = gas_test::to_device<float>(X.values(), s);
  auto dg = gas_test::to_device<float>(G.values(), s);
  gas::cuda::DeviceBuffer<float> dy(X.values().size(), s), dgx(X.values().size(), s);
  dgx.fill_zero();
  dev_fwd(dx.data(), dy.data(), rows * cols, s);
  dev_bwd(dx.data(), dy.data(), dg.data(), dgx.data(), rows * cols, s);
  const auto out = dy.to_host();
  const auto grad = dgx.to_host();
  gas_test::check_close<float>(out, gas_test::as_span(y.value()), rel);
  gas_test::check_close<float>(grad, gas_test::as_span(x.grad()), rel);
}

template <class Op>
void check_activation(Op op, Var (*host)(Var), double rel) {
  check_unary(
      host,
      [op](const float* x, float* y, std::int64_t n, cudaStream_t s) { gas::cuda::activation_forward(op, x, y, n, s); },
      [op](const float* x, const float* y, const float* g, float* gx, std::int64_t n, cudaStream_t s) {
        gas::cuda::activation_backward(op, x, y, g, gx, n, s);
      },
      rel);
}

Var host_relu(Var x) { return gas::ops::relu(x); }
Var host_elu(Var x) { return gas::ops::elu(x, 0.7); }
Var host_leaky(Var x) { return gas::ops::leaky_relu(x, 0.2); }
Var host_sigmoid(Var x) { return gas::ops::sigmoid(x); }
Var host_tanh(Var x) { return gas::ops::tanh(x); }

template <class T>
void check_gemm(bool trans_a, bool trans_b) {
  const std::int64_t m = 37, k = 70, n = 19;
  const auto A = trans_a ? gas_test::random_matrix<T>(k, m, 1) : gas_test::random_matrix<T>(m, k, 1);
  const auto B = trans_b ? gas_test::random_matrix<T>(n, k, 2) : gas_test::random_matrix<T>(k, n, 2);
  gas::autograd::Tape<T> tape;
  auto c = gas::ops::matmul(tape.constant(A.view()), tape.constant(B.view()), trans_a, trans_b);
  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  auto da = gas_test::to_device<T>(A.values(), s);
  auto db = gas_test::to_device<T>(B.values(), s);
  gas::cuda::DeviceBuffer<T> dc(static_cast<std::size_t>(m * n), s);
  const gas::cuda::BlasHandle blas(s);
  gas::cuda::gemm<T>(blas, {.m = m, .n = n, .k = k, .trans_a = trans_a, .trans_b = trans_b, .lda = A.cols(),
                            .ldb = B.cols(), .ldc = n},
                     T{1}, da.data(), db.data(), T{0}, dc.data());
  const auto out = dc.to_host();
  // Scale: the product of absolute values bounds the reordering error of each dot product.
  gas::Tensor<T, gas::host> absA(A.rows(), A.cols()), absB(B.rows(), B.cols());
  for (std::int64_t i = 0; i < A.size(); ++i) absA.data()[i] = std::abs(A.data()[i]);
  for (std::int64_t i = 0; i < B.size(); ++i) absB.data()[i] = std::abs(B.data()[i]);
  auto bound = gas::ops::matmul(tape.constant(absA.view()), tape.constant(absB.view()), trans_a, trans_b);
  gas_test::check_close<T>(out, gas_test::as_span(c.value()), std::is_same_v<T, float> ? 1e-5 : 1e-12,
                           gas_test::as_span(bound.value()));
}

}  // namespace

// ---- no GPU needed --------------------------------------------------------------------------------

TEST_CASE("cuda_dropout_mask_function_equals_the_host_mask") {
  // The GAS_HD decision the kernel runs, evaluated here on the host, against what ops::dropout kept (x has no zeros).
  for (const double p : {0.1, 0.5, 0.9}) {
    CAPTURE(p);
    const std::uint64_t seed = 12345;
    const auto X = gas_test::random_matrix<float>(33, 17, 3);  // odd size: the last pair has one element
    gas::autograd::Tape<float> tape;
    auto y = gas::ops::dropout(tape.variable(X.view()), p, seed, true);
    const auto out = y.value();
    const gas::CounterStream draws(seed, gas::ops::detail::dropout_stream);
    const auto threshold = gas::ops::detail::dropout_threshold(p);
    std::int64_t differ = 0, kept = 0;
    for (std::int64_t e = 0; e < X.size(); ++e) {
      const bool keep = gas::cuda::dropout_keeps(draws, static_cast<std::uint64_t>(e), threshold);
      differ += keep != (out.data()[e] != 0.0f);
      kept += keep;
    }
    CHECK(differ == 0);
    CHECK(kept > 0);
    CHECK(kept < X.size());
  }
}

TEST_CASE("cuda_ops_validate_arguments_before_touching_the_device") {
  float* none = nullptr;
  CHECK_THROWS_WITH_AS(gas::cuda::dropout_forward<float>(none, 3, 4, 1.0, 7, none, none, nullptr),
                       doctest::Contains("outside [0, 1)"), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::dropout_backward<float>(none, 3, 4, -0.1, 7, none, nullptr), gas::value_error);
  CHECK_THROWS_WITH_AS(gas::cuda::bias_add<float>(none, 3, 4, none, 5, none, nullptr),
                       doctest::Contains("bias (1 x 5) does not broadcast over x (3 x 4)"), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::activation_forward(gas::cuda::act::Relu{}, none, none, -1, nullptr), gas::value_error);
  CHECK_THROWS_AS(gas::cuda::row_l2_norm<float>(none, -1, 3, none, nullptr), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::column_sums<float>(none, 2, -3, none, false, nullptr), gas::shape_error);
}

TEST_CASE("cuda_gemm_checks_shapes_and_strides") {
  using gas::cuda::check_gemm;
  CHECK_NOTHROW(check_gemm({.m = 3, .n = 4, .k = 5, .lda = 5, .ldb = 4, .ldc = 4}));
  CHECK_NOTHROW(check_gemm({.m = 3, .n = 4, .k = 5, .trans_a = true, .trans_b = true, .lda = 3, .ldb = 5, .ldc = 4}));
  CHECK_THROWS_WITH_AS(check_gemm({.m = 3, .n = 4, .k = 5, .lda = 4, .ldb = 4, .ldc = 4}),
                       doctest::Contains("A is (3 x 5) with row stride 4"), gas::shape_error);
  CHECK_THROWS_WITH_AS(check_gemm({.m = 3, .n = 4, .k = 5, .trans_b = true, .lda = 5, .ldb = 4, .ldc = 4}),
                       doctest::Contains("B is (4 x 5) with row stride 4"), gas::shape_error);
  CHECK_THROWS_AS(check_gemm({.m = 3, .n = 4, .k = 5, .lda = 5, .ldb = 4, .ldc = 3}), gas::shape_error);
  CHECK_THROWS_AS(check_gemm({.m = -1, .n = 4, .k = 5, .lda = 5, .ldb = 4, .ldc = 4}), gas::shape_error);
  CHECK_THROWS_AS(check_gemm({.m = 3, .n = 4, .k = std::int64_t{1} << 32, .lda = std::int64_t{1} << 32, .ldb = 4,
                              .ldc = 4}),
                  gas::value_error);
}

// ---- GPU --------------------------------------------------------------------------------------------

TEST_CASE("cuda_dropout_matches_host" * doctest::skip(no_gpu)) {
  const double p = 0.3;
  const std::uint64_t seed = 99;
  check_unary([&](Var x) { return gas::ops::dropout(x, p, seed, true); },
              [&](const float* x, float* y, std::int64_t n, cudaStream_t s) {
                gas::cuda::dropout_forward<float>(x, 1, n, p, seed, y, nullptr, s);
              },
              [&](const float*, const float*, const float* g, float* gx, std::int64_t n, cudaStream_t s) {
                gas::cuda::dropout_backward<float>(g, 1, n, p, seed, gx, s);
              },
              0.0);  // the same mask and the same products: exact
}

TEST_CASE("cuda_gemm_matches_host" * doctest::skip(no_gpu)) {
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      check_gemm<float>(ta, tb);
      check_gemm<double>(ta, tb);
    }
}

TEST_CASE("cuda_relu_matches_host" * doctest::skip(no_gpu)) { check_activation(gas::cuda::act::Relu{}, host_relu, 0.0); }
TEST_CASE("cuda_leaky_relu_matches_host" * doctest::skip(no_gpu)) {
  check_activation(gas::cuda::act::LeakyRelu{0.2}, host_leaky, 0.0);
}
TEST_CASE("cuda_elu_matches_host" * doctest::skip(no_gpu)) { check_activation(gas::cuda::act::Elu{0.7}, host_elu, 1e-5); }
TEST_CASE("cuda_sigmoid_matches_host" * doctest::skip(no_gpu)) {
  check_activation(gas::cuda::act::Sigmoid{}, host_sigmoid, 1e-5);
}
TEST_CASE("cuda_tanh_matches_host" * doctest::skip(no_gpu)) { check_activation(gas::cuda::act::Tanh{}, host_tanh, 1e-5); }

TEST_CASE("cuda_bias_add_matches_host" * doctest::skip(no_gpu)) {
  const std::int64_t rows = 3000, cols = 45;  // more than two column chunks
  const auto X = gas_test::random_matrix<float>(rows, cols, 31);
  const auto B = gas_test::random_matrix<float>(1, cols, 32);
  const auto G = gas_test::random_matrix<float>(rows, cols, 33);
  gas::autograd::Tape<float> tape;
  auto x = tape.variable(X.view());
  auto b = tape.variable(B.view());
  auto y = gas::ops::bias_add(x, b);
  tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(G.view()))));
  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  auto dx = gas_test::to_device<float>(X.values(), s);
  auto db = gas_test::to_device<float>(B.values(), s);
  auto dg = gas_test::to_device<float>(G.values(), s);
  gas::cuda::DeviceBuffer<float> dy(X.values().size(), s), dgx(X.values().size(), s), dgb(B.values().size(), s);
  dgx.fill_zero();
  gas::cuda::bias_add(dx.data(), rows, cols, db.data(), cols, dy.data(), s);
  gas::cuda::add_into(dg.data(), dgx.data(), rows * cols, s);
  gas::cuda::column_sums(dg.data(), rows, cols, dgb.data(), false, s);
  const auto out = dy.to_host();
  const auto gx = dgx.to_host();
  const auto gb = dgb.to_host();
  gas_test::check_close<float>(out, gas_test::as_span(y.value()), 0.0);
  gas_test::check_close<float>(gx, gas_test::as_span(x.grad()), 0.0);
  // Column sums of 3000 terms in [-1, 1): compare with the reordering bound (sum of |terms|).
  std::vector<float> bound(static_cast<std::size_t>(cols), 0.0f);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) bound[static_cast<std::size_t>(j)] += std::abs(G(i, j));
  gas_test::check_close<float>(gb, gas_test::as_span(b.grad()), 1e-6, bound);
}

TEST_CASE("cuda_row_l2_norm_matches_host" * doctest::skip(no_gpu)) {
  for (const std::int64_t cols : {1, 16, 100}) {
    CAPTURE(cols);
    const std::int64_t rows = 77;
    auto X = gas_test::random_matrix<float>(rows, cols, 41);
    for (std::int64_t j = 0; j < cols; ++j) X(5, j) = 0.0f;  // a zero row: gradient 0, not NaN
    const auto G = gas_test::random_matrix<float>(rows, 1, 42);
    gas::autograd::Tape<float> tape;
    auto x = tape.variable(X.view());
    auto y = gas::ops::row_l2_norm(x);
    tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(G.view()))));
    gas::cuda::Stream stream;
    const cudaStream_t s = stream.get();
    auto dx = gas_test::to_device<float>(X.values(), s);
    auto dg = gas_test::to_device<float>(G.values(), s);
    gas::cuda::DeviceBuffer<float> dn(static_cast<std::size_t>(rows), s), dgx(X.values().size(), s);
    dgx.fill_zero();
    gas::cuda::row_l2_norm(dx.data(), rows, cols, dn.data(), s);
    gas::cuda::row_l2_norm_backward(dx.data(), dn.data(), dg.data(), rows, cols, dgx.data(), s);
    const auto norm = dn.to_host();
    const auto gx = dgx.to_host();
    gas_test::check_close<float>(norm, gas_test::as_span(y.value()), 1e-6);
    gas_test::check_close<float>(gx, gas_test::as_span(x.grad()), 1e-6);
  }
}

// Every reduction of the backend (column, row and total sums, row norms, the losses, batch-norm statistics, the clip's
// norm, the first non-positive element) twice on the same inputs: the same bits, as docs/cuda.md promises on one GPU.
// Sizes span several blocks, column chunks and reduction tiles, so a reduction whose order depended on timing or
// atomics would show it here on a GPU.
TEST_CASE("cuda_reductions_repeat_bit_for_bit" * doctest::skip(no_gpu)) {
  const std::int64_t rows = 2500, cols = 37, n = rows * cols, classes = cols;
  const auto X = gas_test::random_matrix<float>(rows, cols, 91, -3, 3);
  const auto Y = gas_test::random_matrix<float>(rows, cols, 92);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(rows));
  std::vector<std::uint8_t> targets(static_cast<std::size_t>(n));
  std::vector<gas::node_id> selected;
  for (std::int64_t r = 0; r < rows; ++r) {
    labels[static_cast<std::size_t>(r)] = static_cast<std::int32_t>((r * 7) % classes);
    if (r % 3 != 1) selected.push_back(static_cast<gas::node_id>(r));
  }
  for (std::int64_t e = 0; e < n; ++e) targets[static_cast<std::size_t>(e)] = static_cast<std::uint8_t>(e % 5 == 0);
  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  auto dx = gas_test::to_device<float>(X.values(), s);
  auto dy = gas_test::to_device<float>(Y.values(), s);
  auto dl = gas_test::to_device<std::int32_t>(labels, s);
  auto dt = gas_test::to_device<std::uint8_t>(targets, s);
  auto dsel = gas_test::to_device<gas::node_id>(selected, s);
  const auto count = static_cast<std::int64_t>(selected.size());
  const std::vector<float> one{1.0f}, divisor{1.75f};
  auto dseed = gas_test::to_device<float>(one, s);
  auto ddiv = gas_test::to_device<float>(divisor, s);

  // All outputs of one run, as bytes.
  auto run = [&] {
    gas::cuda::DeviceBuffer<float> col(static_cast<std::size_t>(cols), s), row(static_cast<std::size_t>(rows), s),
        dots(static_cast<std::size_t>(rows), s), norm(static_cast<std::size_t>(rows), s), total(1, s), gs(1, s),
        nll(1, s), ce(1, s), ce_aux(static_cast<std::size_t>(2 * count), s), bce(1, s), bce_aux(static_cast<std::size_t>(count), s),
        bn_out(static_cast<std::size_t>(n), s), bn_saved(static_cast<std::size_t>(2 * cols), s),
        bn_dx(static_cast<std::size_t>(n), s), bn_dg(static_cast<std::size_t>(cols), s),
        bn_db(static_cast<std::size_t>(cols), s), rm(static_cast<std::size_t>(cols), s), rv(static_cast<std::size_t>(cols), s);
    gas::cuda::DeviceBuffer<double> clip(gas::cuda::ClipSlots::count, s);
    const std::size_t clip_bytes = gas::cuda::clip_scratch_bytes<float>(n / 3);
    gas::cuda::DeviceBuffer<std::byte> clip_temp(std::max<std::size_t>(clip_bytes, 1), s);
    for (auto* b : {&dots, &gs, &bn_dx, &bn_dg, &bn_db, &rm}) b->fill_zero();
    rv.copy_from(std::span<const float>(std::vector<float>(static_cast<std::size_t>(cols), 1.0f)));
    gas::cuda::column_sums(dx.data(), rows, cols, col.data(), false, s);
    gas::cuda::row_sums(dx.data(), rows, cols, row.data(), 1.0f, s);
    gas::cuda::add_row_dots(dx.data(), dy.data(), rows, cols, dots.data(), s);
    gas::cuda::row_l2_norm(dx.data(), rows, cols, norm.data(), s);
    gas::cuda::total_sum(dx.data(), n, total.data(), 1.0, s);
    gas::cuda::add_divisor_grad(dx.data(), dy.data(), ddiv.data(), gs.data(), n, s);
    const gas::cuda::LossRows lr{dl.data(), dsel.data(), count, true};
    gas::cuda::nll_loss_forward(dx.data(), rows, cols, lr, nll.data(), s);
    gas::cuda::cross_entropy_forward(dx.data(), rows, cols, lr, ce_aux.data(), ce.data(), s);
    const gas::cuda::TargetRows tr{dt.data(), dsel.data(), count, true};
    gas::cuda::bce_with_logits_forward(dx.data(), rows, cols, tr, bce_aux.data(), bce.data(), s);
    const gas::cuda::BatchNormArgs<float> bn{.x = dx.data(), .rows = rows, .cols = cols, .gamma = dy.data(),
                                             .beta = dy.data() + cols, .running_mean = rm.data(),
                                             .running_var = rv.data(), .momentum = 0.1, .eps = 1e-5, .training = true};
    gas::cuda::batch_norm_forward(bn, bn_out.data(), bn_saved.data(), s);
    gas::cuda::batch_norm_backward(bn, bn_saved.data(), dy.data(), bn_dx.data(), bn_dg.data(), bn_db.data(), s);
    // The clip over three "gradients": the three slices of X.
    for (int k = 0; k < 3; ++k)
      gas::cuda::clip_add_squares(dx.data() + k * (n / 3), n / 3, clip_temp.data(), clip_bytes, clip.data(), k == 0,
                                  k == 2, 1.0, s);
    std::vector<unsigned char> bytes;
    auto add = [&bytes](const auto& buffer) {
      const auto h = buffer.to_host();
      const auto* p = reinterpret_cast<const unsigned char*>(h.data());
      bytes.insert(bytes.end(), p, p + h.size() * sizeof(h[0]));
    };
    for (auto* b : {&col, &row, &dots, &norm, &total, &gs, &nll, &ce, &ce_aux, &bce, &bce_aux, &bn_out, &bn_saved,
                    &bn_dx, &bn_dg, &bn_db, &rm, &rv})
      add(*b);
    add(clip);
    const std::int64_t first = gas::cuda::first_non_positive(dx.data(), n, s);
    const auto* fp = reinterpret_cast<const unsigned char*>(&first);
    bytes.insert(bytes.end(), fp, fp + sizeof first);
    return bytes;
  };
  const auto a = run();
  const auto b = run();
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size()) == 0);
}
