// The dense ops of a device tape (matmul, log_softmax, the losses, dropout, batch norm) against the same ops on a
// host tape: forward values and every input's gradient for the same seed gradient; and the two pieces of a training
// step around them that must queue without a host wait: backward's scalar seed and gradient clipping. GPU cases skip
// (not fail) without a GPU; the others check argument validation, which throws before any CUDA call (empty device
// values allocate nothing).
#include <doctest/doctest.h>

#include <gas/gas.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "matches_host_util.hpp"

namespace {

using gas_test::no_gpu;
using Matrix = gas::Tensor<float, gas::host>;
using HostTape = gas::autograd::Tape<float>;
using DevTape = gas::autograd::Tape<float, gas::cuda::device>;
using HostVar = gas::autograd::Var<float>;
using DevVar = gas::autograd::Var<float, gas::cuda::device>;

// A device tape on its own non-blocking stream: work an op queued on another stream would race and show.
struct DeviceSide {
  gas::cuda::Stream stream;
  DevTape tape{gas::Exec<gas::cuda::device>(stream.get())};
};

Matrix abs_of(const Matrix& m) {
  Matrix out(m.rows(), m.cols());
  for (std::int64_t e = 0; e < m.size(); ++e) out.data()[e] = std::abs(m.data()[e]);
  return out;
}

std::vector<float> filled(std::int64_t n, float v) { return std::vector<float>(static_cast<std::size_t>(n), v); }

// Backpropagates the seed gradient G (of y's shape) on both tapes.
void backward_both(HostTape& ht, HostVar y, DevTape& dt, DevVar dy, const Matrix& G) {
  ht.backward(y, G.view());
  dt.backward(dy, dt.constant_from_host(G.view()).value());
}

void check_value(DevVar d, HostVar h, double rel, std::span<const float> scale = {}) {
  REQUIRE(d.rows() == h.rows());
  REQUIRE(d.cols() == h.cols());
  const Matrix got = gas::autograd::to_host(d);
  gas_test::check_close<float>(got.values(), gas_test::as_span(h.value()), rel, scale);
}

void check_grad(DevTape& dt, DevVar d, HostVar h, double rel, std::span<const float> scale = {}) {
  const Matrix got = dt.to_host(d.grad());
  gas_test::check_close<float>(got.values(), gas_test::as_span(h.grad()), rel, scale);
}

// ---- matmul ------------------------------------------------------------------------------------------------

void check_matmul(std::int64_t m, std::int64_t k, std::int64_t n, bool ta, bool tb, bool b_constant) {
  CAPTURE(m);
  CAPTURE(k);
  CAPTURE(n);
  CAPTURE(ta);
  CAPTURE(tb);
  CAPTURE(b_constant);
  const Matrix A = ta ? gas_test::random_matrix<float>(k, m, 11) : gas_test::random_matrix<float>(m, k, 11);
  const Matrix B = tb ? gas_test::random_matrix<float>(n, k, 12) : gas_test::random_matrix<float>(k, n, 12);
  const Matrix G = gas_test::random_matrix<float>(m, n, 13);
  HostTape ht;
  auto a = ht.variable(A.view());
  auto b = b_constant ? ht.constant(B.view()) : ht.variable(B.view());
  auto c = gas::ops::matmul(a, b, ta, tb);
  // The same products of absolute values bound the reordering error of every dot product.
  HostTape bt;
  const Matrix absA = abs_of(A), absB = abs_of(B), absG = abs_of(G);
  auto ba = bt.variable(absA.view());
  auto bb = bt.variable(absB.view());
  auto bc = gas::ops::matmul(ba, bb, ta, tb);
  bt.backward(bc, absG.view());

  DeviceSide dev;
  auto da = dev.tape.variable_from_host(A.view());
  auto db = b_constant ? dev.tape.constant_from_host(B.view()) : dev.tape.variable_from_host(B.view());
  auto dc = gas::ops::matmul(da, db, ta, tb);
  backward_both(ht, c, dev.tape, dc, G);
  check_value(dc, c, 1e-5, gas_test::as_span(bc.value()));
  check_grad(dev.tape, da, a, 1e-5, gas_test::as_span(ba.grad()));
  if (b_constant) CHECK_FALSE(db.node().grad_live);
  else check_grad(dev.tape, db, b, 1e-5, gas_test::as_span(bb.grad()));
}

// ---- losses ------------------------------------------------------------------------------------------------

struct Selection {
  std::vector<std::int32_t> labels;
  std::vector<gas::node_id> rows;
};

// Labels for every row (-1 for rows never selected) and a selection: increasing, or shuffled with repeats.
Selection make_selection(std::int64_t rows, std::int64_t classes, bool increasing, std::uint64_t seed) {
  gas::Rng rng(seed);
  Selection s;
  s.labels.assign(static_cast<std::size_t>(rows), -1);
  for (std::int64_t r = 0; r < rows; ++r)
    if (r % 3 != 1) {
      s.labels[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
      s.rows.push_back(static_cast<gas::node_id>(r));
    }
  if (!increasing) {
    rng.shuffle(s.rows.begin(), s.rows.end());
    s.rows.push_back(s.rows[0]);  // a row selected twice counts twice
    s.rows.push_back(s.rows[1]);
  }
  return s;
}

enum class Loss { nll, cross_entropy, bce };

void check_loss(Loss kind, std::int64_t rows, std::int64_t cols, bool increasing) {
  CAPTURE(static_cast<int>(kind));
  CAPTURE(rows);
  CAPTURE(cols);
  CAPTURE(increasing);
  const Matrix X = kind == Loss::nll ? gas_test::random_matrix<float>(rows, cols, 41, -6, 0)
                                     : gas_test::random_matrix<float>(rows, cols, 41, -4, 4);
  const Matrix G = gas_test::random_matrix<float>(1, 1, 42, 0.5, 1.5);
  const Selection sel = make_selection(rows, cols, increasing, 43);
  // 0/1 targets in selected rows; unselected rows hold 7, which neither side may read.
  gas::Tensor<std::uint8_t> targets(rows, cols);
  gas::Rng rng(44);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < cols; ++j) targets(r, j) = r % 3 == 1 ? 7 : static_cast<std::uint8_t>(rng.below(2));
  const std::span<const std::int32_t> labels(sel.labels);
  const std::span<const gas::node_id> selected(sel.rows);

  HostTape ht;
  DeviceSide dev;
  auto x = ht.variable(X.view());
  auto dx = dev.tape.variable_from_host(X.view());
  HostVar loss;
  DevVar dloss;
  double per_element = 1.0 / static_cast<double>(sel.rows.size());  // the gradient's magnitude per term
  switch (kind) {
    case Loss::nll:
      loss = gas::ops::nll_loss(x, labels, selected);
      dloss = gas::ops::nll_loss(dx, labels, selected);
      break;
    case Loss::cross_entropy:
      loss = gas::ops::cross_entropy(x, labels, selected);
      dloss = gas::ops::cross_entropy(dx, labels, selected);
      break;
    case Loss::bce:
      loss = gas::ops::bce_with_logits(x, targets, selected);
      dloss = gas::ops::bce_with_logits(dx, targets, selected);
      per_element /= static_cast<double>(cols);
      break;
  }
  backward_both(ht, loss, dev.tape, dloss, G);
  check_value(dloss, loss, 1e-5);
  // A row selected twice holds two terms: bound by twice the largest term.
  const auto scale = filled(rows * cols, static_cast<float>(2 * 1.5 * per_element));
  check_grad(dev.tape, dx, x, kind == Loss::nll ? 1e-6 : 1e-5, scale);
}

void check_log_softmax(std::int64_t rows, std::int64_t cols) {
  CAPTURE(rows);
  CAPTURE(cols);
  const Matrix X = gas_test::random_matrix<float>(rows, cols, 51, -4, 4);
  const Matrix G = gas_test::random_matrix<float>(rows, cols, 52);
  HostTape ht;
  DeviceSide dev;
  auto x = ht.variable(X.view());
  auto dx = dev.tape.variable_from_host(X.view());
  auto y = gas::ops::log_softmax(x);
  auto dy = gas::ops::log_softmax(dx);
  backward_both(ht, y, dev.tape, dy, G);
  // y = x - lse: bounded by |x| + |lse|; dx = g - softmax sum(g): by |g| + softmax sum|g|.
  std::vector<float> value_scale, grad_scale;
  for (std::int64_t i = 0; i < rows; ++i) {
    double sum_abs_g = 0;
    for (std::int64_t j = 0; j < cols; ++j) sum_abs_g += std::abs(G(i, j));
    for (std::int64_t j = 0; j < cols; ++j) {
      const double yv = y.value()(i, j), xv = X(i, j);
      value_scale.push_back(static_cast<float>(std::abs(xv) + std::abs(xv - yv)));
      grad_scale.push_back(static_cast<float>(std::abs(G(i, j)) + std::exp(yv) * sum_abs_g));
    }
  }
  check_value(dy, y, 1e-5, value_scale);
  check_grad(dev.tape, dx, x, 1e-5, grad_scale);
}

// ---- dropout -----------------------------------------------------------------------------------------------

void check_dropout(std::int64_t rows, std::int64_t cols, double p, std::uint64_t seed) {
  CAPTURE(rows);
  CAPTURE(cols);
  CAPTURE(p);
  const Matrix X = gas_test::random_matrix<float>(rows, cols, 61);
  const Matrix G = gas_test::random_matrix<float>(rows, cols, 62);
  HostTape ht;
  DeviceSide dev;
  auto x = ht.variable(X.view());
  auto dx = dev.tape.variable_from_host(X.view());
  auto y = gas::ops::dropout(x, p, seed, true);
  auto dy = gas::ops::dropout(dx, p, seed, true);
  REQUIRE(dy.id() != dx.id());
  backward_both(ht, y, dev.tape, dy, G);
  // The same mask from the same seed and the same products: exact, kept and dropped elements alike.
  check_value(dy, y, 0.0);
  check_grad(dev.tape, dx, x, 0.0);
}

// ---- batch norm --------------------------------------------------------------------------------------------

void check_batch_norm(std::int64_t rows, std::int64_t cols, bool training, bool gamma_constant) {
  CAPTURE(rows);
  CAPTURE(cols);
  CAPTURE(training);
  const double momentum = 0.2, eps = 1e-5;
  const Matrix RM = gas_test::random_matrix<float>(1, cols, 75);
  const Matrix RV = gas_test::random_matrix<float>(1, cols, 76, 0.5, 2);
  auto state = gas::ops::make_batch_norm_state<float>(cols);
  state.running_mean = RM;
  state.running_var = RV;
  DeviceSide dev;
  auto dstate = gas::ops::make_batch_norm_state<float, gas::cuda::device>(cols);
  dstate.running_mean = gas::Tensor<float, gas::cuda::device>::from_host(RM, dev.stream.get());
  dstate.running_var = gas::Tensor<float, gas::cuda::device>::from_host(RV, dev.stream.get());
  HostTape ht;
  // Two steps on reset tapes: the running statistics accumulate and the device nodes reuse their buffers.
  for (int step = 0; step < 2; ++step) {
    CAPTURE(step);
    const Matrix X = gas_test::random_matrix<float>(rows, cols, 71 + static_cast<std::uint64_t>(step), 2, 5);
    const Matrix Gm = gas_test::random_matrix<float>(1, cols, 72, 0.5, 1.5);
    const Matrix Bt = gas_test::random_matrix<float>(1, cols, 73);
    const Matrix G = gas_test::random_matrix<float>(rows, cols, 74 + static_cast<std::uint64_t>(step));
    ht.reset();
    dev.tape.reset();
    auto x = ht.variable(X.view());
    auto gamma = gamma_constant ? ht.constant(Gm.view()) : ht.variable(Gm.view());
    auto beta = ht.variable(Bt.view());
    auto dx = dev.tape.variable_from_host(X.view());
    auto dgamma = gamma_constant ? dev.tape.constant_from_host(Gm.view()) : dev.tape.variable_from_host(Gm.view());
    auto dbeta = dev.tape.variable_from_host(Bt.view());
    auto y = gas::ops::batch_norm(x, gamma, beta, state, training, momentum, eps);
    auto dy = gas::ops::batch_norm(dx, dgamma, dbeta, dstate, training, momentum, eps);
    backward_both(ht, y, dev.tape, dy, G);
    check_value(dy, y, 1e-5, filled(rows * cols, 1.0f));
    // Gradients of gamma and beta are sums over the rows: compare against sum |g| per column.
    std::vector<float> col_bound(static_cast<std::size_t>(cols), 0.0f);
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) col_bound[static_cast<std::size_t>(j)] += 2 * std::abs(G(i, j));
    check_grad(dev.tape, dx, x, 1e-5, filled(rows * cols, 1.0f));
    if (gamma_constant) CHECK_FALSE(dgamma.node().grad_live);
    else check_grad(dev.tape, dgamma, gamma, 1e-6, col_bound);
    check_grad(dev.tape, dbeta, beta, 1e-6, col_bound);
  }
  CHECK(dstate.batches_tracked == state.batches_tracked);
  const Matrix rm = dstate.running_mean.to_host(), rv = dstate.running_var.to_host();
  gas_test::check_close<float>(rm.values(), state.running_mean.values(), 1e-5, filled(cols, 1.0f));
  gas_test::check_close<float>(rv.values(), state.running_var.values(), 1e-5);
}

// ---- backward's seed and gradient clipping ---------------------------------------------------------------------

// The host waits (synchronizations, waiting copies) seen so far, or -1 where nothing counts them: the CPU emulation of
// tools/cuda_emu (which defines GAS_EMU and declares its counters) counts them, a GPU does not.
long long host_waits() {
#ifdef GAS_EMU
  return gas_emu_get_counters().host_waits;
#else
  return -1;
#endif
}

std::size_t arena_allocations() { return gas::cuda::default_arena().stats().allocations; }

template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

// a and b are the same bits, or both NaN (a GPU may canonicalize a NaN's payload).
template <class T>
bool same_bits(T a, T b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<Bits<T>>(a) == std::bit_cast<Bits<T>>(b);
}

template <class T>
using DeviceParam = gas::autograd::Parameter<T, gas::cuda::device>;
template <class T>
using HostParam = gas::autograd::Parameter<T>;

// Parameters whose gradients are copies of `grads` (values zero), on `stream` as a device tape's param() leaves them.
template <class T>
std::vector<DeviceParam<T>> device_params(const std::vector<gas::Tensor<T>>& grads, cudaStream_t stream) {
  std::vector<DeviceParam<T>> out;
  out.reserve(grads.size());
  for (const auto& g : grads) {
    out.emplace_back("p", gas::Tensor<T, gas::cuda::device>::from_host(gas::Tensor<T>(g.rows(), g.cols()), stream));
    out.back().grad = gas::Tensor<T, gas::cuda::device>::from_host(g, stream);
  }
  return out;
}

template <class T>
std::vector<HostParam<T>> host_params(const std::vector<gas::Tensor<T>>& grads) {
  std::vector<HostParam<T>> out;
  out.reserve(grads.size());
  for (const auto& g : grads) {
    out.emplace_back("p", gas::Tensor<T>(g.rows(), g.cols()));
    out.back().grad = g;
  }
  return out;
}

template <class P>
std::vector<P*> pointers_to(std::vector<P>& params) {
  std::vector<P*> out;
  for (auto& p : params) out.push_back(&p);
  return out;
}

// Clips copies of `grads` on both backends (the device with a GradClipper on its own stream) and compares. The device
// sums the squares in another order than the host: both add n non-negative doubles, each sum within (n - 1) u of the
// exact one (u = 2^-53), so the norms differ by at most about (n + 1) u relative (the square root halves the sums'
// error, and each side rounds the root once); `exact` says the sums are exact (dyadic values), so the bits agree.
template <class T>
void check_clip(const std::vector<gas::Tensor<T>>& grads, double max_norm, bool exact) {
  CAPTURE(max_norm);
  CAPTURE(exact);
  std::int64_t n = 0;
  for (const auto& g : grads) n += g.size();
  CAPTURE(n);
  auto host = host_params(grads);
  const double host_norm = gas::train::clip_grad_norm(pointers_to(host), max_norm);

  gas::cuda::Stream stream;
  auto dev = device_params(grads, stream.get());
  gas::train::GradClipper<T, gas::cuda::device> clipper;
  clipper.clip(pointers_to(dev), max_norm);
  const double norm = clipper.last_norm();
  const double tolerance = static_cast<double>(n) * 0x1p-52;  // 2 n u: twice the bound above
  if (exact) CHECK(norm == host_norm);
  else CHECK(std::abs(norm - host_norm) <= tolerance * host_norm);

  // Every gradient is the host's formula with the device's factor (which the device forms from its norm with the
  // host's correctly rounded operations), so it matches bit for bit; and the host's clip up to the norms' difference.
  const double factor = max_norm / (norm + 1e-6);
  for (std::size_t k = 0; k < grads.size(); ++k) {
    CAPTURE(k);
    const gas::Tensor<T> got = dev[k].grad.to_host();
    std::size_t bad = 0;
    for (std::int64_t e = 0; e < got.size(); ++e) {
      const T g = grads[k].data()[e];
      const T expected = factor < 1 ? static_cast<T>(g * factor) : g;  // factor >= 1: untouched, bit for bit
      if (!same_bits(got.data()[e], expected)) ++bad;
    }
    CHECK(bad == 0);
    if (exact) {
      CHECK(std::equal(got.values().begin(), got.values().end(), host[k].grad.values().begin(),
                       [](T a, T b) { return same_bits(a, b); }));
    } else {
      gas_test::check_close<T>(got.values(), host[k].grad.values(),
                               tolerance + 2 * std::numeric_limits<T>::epsilon());
    }
  }
}

// Gradients of the given shapes: uniform in [-1, 1), or multiples of 1/64 in [-1, 1] (`dyadic`), whose squares
// (multiples of 2^-12) and all their partial sums are exact in double, so any summation order gives the same bits.
template <class T>
std::vector<gas::Tensor<T>> make_grads(const std::vector<std::pair<std::int64_t, std::int64_t>>& shapes, bool dyadic,
                                       std::uint64_t seed) {
  std::vector<gas::Tensor<T>> out;
  for (const auto& [rows, cols] : shapes) {
    out.push_back(gas_test::random_matrix<T>(rows, cols, seed++));
    if (dyadic)
      for (T& v : out.back().values()) v = static_cast<T>(std::round(static_cast<double>(v) * 64) / 64);
  }
  return out;
}

}  // namespace

// ---- no GPU needed: validation throws before any CUDA call ----------------------------------------------------

TEST_CASE("cuda_dense_tape_ops_validate_arguments_before_touching_the_device") {
  DevTape dt;  // the legacy stream; empty values allocate nothing and copy nothing
  const Matrix empty03(0, 3), empty40(4, 0), empty00(0, 0);
  auto a = dt.variable_from_host(empty03.view());
  auto b = dt.variable_from_host(empty40.view());
  CHECK_THROWS_WITH_AS(gas::ops::matmul(a, b), doctest::Contains("inner dimensions differ"), gas::shape_error);
  CHECK_THROWS_AS(gas::ops::matmul(a, a, true, true), gas::shape_error);

  CHECK_THROWS_WITH_AS(gas::ops::dropout(a, 1.0, 7, true), doctest::Contains("outside [0, 1)"), gas::value_error);
  CHECK(gas::ops::dropout(a, 0.0, 7, true).id() == a.id());  // p = 0: x itself, nothing recorded
  CHECK(gas::ops::dropout(a, 0.5, 7, false).id() == a.id());  // evaluation: x itself

  const std::vector<std::int32_t> no_labels;
  const std::vector<gas::node_id> no_rows, row0{0};
  CHECK_THROWS_WITH_AS(
      gas::ops::nll_loss(a, std::span<const std::int32_t>(no_labels), std::span<const gas::node_id>(no_rows)),
      doctest::Contains("row selection is empty"), gas::value_error);
  CHECK_THROWS_WITH_AS(
      gas::ops::cross_entropy(a, std::span<const std::int32_t>(no_labels), std::span<const gas::node_id>(row0)),
      doctest::Contains("outside [0, 0)"), gas::value_error);
  const gas::Tensor<std::uint8_t> targets23(2, 3), targets00(0, 0);
  CHECK_THROWS_AS(gas::ops::bce_with_logits(a, targets23, std::span<const gas::node_id>(row0)), gas::shape_error);
  CHECK_THROWS_WITH_AS(gas::ops::bce_with_logits(dt.variable_from_host(empty00.view()), targets00,
                                                 std::span<const gas::node_id>(row0)),
                       doctest::Contains("no classes"), gas::shape_error);

  using DeviceState = gas::ops::BatchNormState<float, gas::cuda::device>;
  CHECK_THROWS_AS(DeviceState(gas::ops::make_batch_norm_state<float, gas::cuda::device>(-1)), gas::value_error);
  auto state = gas::ops::make_batch_norm_state<float, gas::cuda::device>(0);  // no channels: no CUDA call
  const Matrix empty10(1, 0);
  auto x = dt.variable_from_host(empty00.view());
  auto scale = dt.variable_from_host(empty10.view());
  CHECK_THROWS_WITH_AS(gas::ops::batch_norm(x, scale, scale, state, true), doctest::Contains("more than one row"),
                       gas::value_error);
  CHECK_THROWS_AS(gas::ops::batch_norm(x, a, a, state, false), gas::shape_error);  // (0 x 3) is no (1 x 0) scale
  CHECK_THROWS_AS(gas::ops::batch_norm(x, scale, scale, state, false, 1.5), gas::value_error);  // momentum
}

// ---- GPU -----------------------------------------------------------------------------------------------------

TEST_CASE("cuda_tape_matmul_matches_host" * doctest::skip(no_gpu)) {
  struct Shape {
    std::int64_t m, k, n;
  };
  // Scalar, odd and wide shapes, no output rows, and an empty inner dimension (a product of zeros).
  for (const Shape s : {Shape{1, 1, 1}, Shape{37, 129, 16}, Shape{64, 37, 128}, Shape{0, 5, 7}, Shape{4, 0, 6}})
    for (const bool ta : {false, true})
      for (const bool tb : {false, true}) check_matmul(s.m, s.k, s.n, ta, tb, false);
  check_matmul(37, 16, 21, false, true, true);  // a constant operand receives no gradient
}

TEST_CASE("cuda_tape_matmul_of_a_value_with_itself_matches_host" * doctest::skip(no_gpu)) {
  // C = X X^T: both products add into the same gradient.
  const Matrix X = gas_test::random_matrix<float>(37, 16, 21);
  const Matrix G = gas_test::random_matrix<float>(37, 37, 22);
  HostTape ht;
  DeviceSide dev;
  auto x = ht.variable(X.view());
  auto dx = dev.tape.variable_from_host(X.view());
  auto c = gas::ops::matmul(x, x, false, true);
  auto dc = gas::ops::matmul(dx, dx, false, true);
  backward_both(ht, c, dev.tape, dc, G);
  check_value(dc, c, 1e-5, filled(37 * 37, 16.0f));
  check_grad(dev.tape, dx, x, 1e-5, filled(37 * 16, 2 * 37.0f));
}

TEST_CASE("cuda_tape_log_softmax_matches_host" * doctest::skip(no_gpu)) {
  check_log_softmax(50, 16);
  check_log_softmax(37, 37);
  check_log_softmax(20, 128);
  check_log_softmax(0, 16);
}

TEST_CASE("cuda_tape_losses_match_host" * doctest::skip(no_gpu)) {
  for (const Loss kind : {Loss::nll, Loss::cross_entropy, Loss::bce})
    for (const std::int64_t cols : {7, 16, 37, 128})
      for (const bool increasing : {true, false}) check_loss(kind, 500, cols, increasing);
}

TEST_CASE("cuda_tape_log_softmax_then_nll_matches_cross_entropy" * doctest::skip(no_gpu)) {
  const std::int64_t rows = 300, cols = 37;
  const Matrix X = gas_test::random_matrix<float>(rows, cols, 81, -4, 4);
  const Selection sel = make_selection(rows, cols, false, 82);
  const std::span<const std::int32_t> labels(sel.labels);
  const std::span<const gas::node_id> selected(sel.rows);
  DeviceSide dev;
  auto x1 = dev.tape.variable_from_host(X.view());
  auto x2 = dev.tape.variable_from_host(X.view());
  auto l1 = gas::ops::nll_loss(gas::ops::log_softmax(x1), labels, selected);
  auto l2 = gas::ops::cross_entropy(x2, labels, selected);
  const Matrix v1 = gas::autograd::to_host(l1), v2 = gas::autograd::to_host(l2);
  gas_test::check_close<float>(v1.values(), v2.values(), 1e-5);
  dev.tape.backward(l1);  // a pass clears the gradients of the one before: copy each out first
  const Matrix g1 = dev.tape.to_host(x1.grad());
  dev.tape.backward(l2);
  const Matrix g2 = dev.tape.to_host(x2.grad());
  gas_test::check_close<float>(g1.values(), g2.values(), 1e-4,
                               filled(rows * cols, static_cast<float>(2.0 / static_cast<double>(sel.rows.size()))));
}

TEST_CASE("cuda_tape_dropout_matches_host" * doctest::skip(no_gpu)) {
  for (const double p : {0.1, 0.5}) {
    check_dropout(33, 37, p, 12345);  // an odd size: the last pair has one element
    check_dropout(64, 128, p, 777);
    check_dropout(1, 1, p, 3);
    check_dropout(0, 16, p, 3);
  }
  // p = 0 and evaluation record nothing on either tape.
  DeviceSide dev;
  const Matrix X = gas_test::random_matrix<float>(5, 16, 63);
  auto dx = dev.tape.variable_from_host(X.view());
  CHECK(gas::ops::dropout(dx, 0.0, 1, true).id() == dx.id());
  CHECK(gas::ops::dropout(dx, 0.5, 1, false).id() == dx.id());
  CHECK(dev.tape.size() == 1);
}

TEST_CASE("cuda_tape_batch_norm_matches_host" * doctest::skip(no_gpu)) {
  check_batch_norm(2100, 40, true, false);  // three column chunks, a large mean
  check_batch_norm(7, 16, true, true);
  check_batch_norm(300, 37, false, false);
  check_batch_norm(0, 16, false, true);
}

TEST_CASE("cuda_make_batch_norm_state_starts_at_zero_mean_unit_variance" * doctest::skip(no_gpu)) {
  auto state = gas::ops::make_batch_norm_state<float, gas::cuda::device>(37);
  const Matrix rm = state.running_mean.to_host(), rv = state.running_var.to_host();
  CHECK(rm.rows() == 1);
  CHECK(rm.cols() == 37);
  for (std::int64_t j = 0; j < 37; ++j) {
    CHECK(rm(0, j) == 0.0f);
    CHECK(rv(0, j) == 1.0f);
  }
  CHECK(state.batches_tracked == 0);
}

// ---- GPU: backward's seed and gradient clipping, queued without a host wait -----------------------------------

TEST_CASE_TEMPLATE("cuda_exec_add_to_element_queues_the_hosts_sum" * doctest::skip(no_gpu), T, float, double) {
  constexpr T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  // Sums that round, that are exact, that cancel, that lose the small term, and non-finite ones.
  const std::vector<std::pair<T, T>> sums{{T(0.1), T(0.2)},  {T(1), T(1e-8)}, {T(-3.5), T(3.5)}, {T(1e30), T(-7)},
                                          {T(0.75), T(1)},   {inf, T(-1)},   {T(2), nan},       {T(-1) / 3, T(2) / 3}};
  const auto cols = static_cast<std::int64_t>(sums.size());
  gas::Tensor<T> start(2, cols, T(0)), expected(2, cols, T(0));
  for (std::int64_t j = 0; j < cols; ++j) {
    start(1, j) = sums[static_cast<std::size_t>(j)].first;
    expected(1, j) = start(1, j);
  }
  gas::cuda::Stream stream;
  gas::Exec<gas::cuda::device> exec(stream.get());
  auto d = gas::Tensor<T, gas::cuda::device>::from_host(start, stream.get());
  exec.add_to_element(d.view(), 0, 0, T(1));  // the first call makes the device 1 (an allocation and an upload)
  expected(0, 0) += T(1);
  const auto allocations = arena_allocations();
  const long long waits = host_waits();
  for (int round = 0; round < 2; ++round)
    for (std::int64_t j = 0; j < cols; ++j) {
      const T value = sums[static_cast<std::size_t>(j)].second;
      exec.add_to_element(d.view(), 1, j, value);
      expected(1, j) += value;
    }
  CHECK(arena_allocations() == allocations);
  if (waits >= 0) CHECK(host_waits() == waits);  // queued only: nothing waited
  const gas::Tensor<T> got = d.to_host();
  if (waits >= 0) CHECK(host_waits() > waits);  // while reading the result does wait: the count sees waits
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < cols; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(same_bits(got(i, j), expected(i, j)));
    }
  CHECK_THROWS_AS(exec.add_to_element(d.view(), 2, 0, T(1)), gas::shape_error);
}

TEST_CASE_TEMPLATE("cuda_backward_seed_gives_the_hosts_gradients" * doctest::skip(no_gpu), T, float, double) {
  const auto X = gas_test::random_matrix<T>(37, 16, 91), G = gas_test::random_matrix<T>(37, 16, 92);
  const T seed = T(0.3);
  gas::autograd::Tape<T> ht;
  auto x = ht.variable(X.view());
  auto loss = gas::ops::sum_all(gas::ops::mul(x, ht.constant(G.view())));
  ht.backward(loss, seed);

  gas::cuda::Stream stream;
  gas::autograd::Tape<T, gas::cuda::device> dt{gas::Exec<gas::cuda::device>(stream.get())};
  auto dx = dt.variable_from_host(X.view());
  auto dloss = gas::ops::sum_all(gas::ops::mul(dx, dt.constant_from_host(G.view())));
  dt.backward(dloss, seed);  // the first pass allocates the gradients and the device 1
  const auto allocations = arena_allocations();
  const long long waits = host_waits();
  dt.backward(dloss, seed);  // a warm pass: queued, nothing allocated, nothing waited
  CHECK(arena_allocations() == allocations);
  if (waits >= 0) CHECK(host_waits() == waits);
  const gas::Tensor<T> got = dt.to_host(dx.grad());
  // seed * G, one product per element on either side: the same bits.
  CHECK(std::equal(got.values().begin(), got.values().end(), x.grad().data(),
                   [](T a, T b) { return same_bits(a, b); }));

  // A parameter as the loss: the seed adds into its accumulated gradient, rounded once as on the host.
  HostParam<T> hp("p", gas::Tensor<T>(1, 1, T(0.5)));
  hp.grad(0, 0) = T(0.1);
  DeviceParam<T> dp("p", gas::Tensor<T, gas::cuda::device>::from_host(hp.value, stream.get()));
  dp.grad = gas::Tensor<T, gas::cuda::device>::from_host(hp.grad, stream.get());
  for (int pass = 0; pass < 3; ++pass) {
    ht.reset();
    dt.reset();
    ht.backward(ht.param(hp), T(0.2));
    dt.backward(dt.param(dp), T(0.2));
  }
  CHECK(same_bits(dp.grad.to_host()(0, 0), hp.grad(0, 0)));
}

TEST_CASE_TEMPLATE("cuda_clip_grad_norm_matches_host" * doctest::skip(no_gpu), T, float, double) {
  // Odd sizes, an empty gradient, a scalar, and one longer than total_reduce's 1024 blocks of 256 threads.
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes{{37, 16}, {0, 5}, {1, 1}, {300, 129}, {1, 263001}};
  for (const bool dyadic : {false, true}) {
    const auto grads = make_grads<T>(shapes, dyadic, 101);
    check_clip(grads, 1.0, dyadic);  // norm about 317: every gradient scaled
    check_clip(grads, 1e6, dyadic);  // factor > 1: nothing touched
  }
  // A norm just below max_norm still scales (the factor, not norm > max_norm, decides), as on the host.
  const auto small = make_grads<T>({{3, 4}}, true, 7);
  double squares = 0;
  for (const T v : small[0].values()) squares += static_cast<double>(v) * v;
  check_clip(small, std::sqrt(squares) + 5e-7, true);
}

TEST_CASE_TEMPLATE("cuda_grad_clipper_queues_without_waiting_or_allocating" * doctest::skip(no_gpu), T, float,
                   double) {
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes{{64, 32}, {1, 32}, {32, 7}, {1, 7}};
  gas::cuda::Stream stream;
  gas::train::GradClipper<T, gas::cuda::device> clipper;
  CHECK(clipper.last_norm() == 0.0);  // before the first clip: no device state yet
  CHECK(clipper.norm_data() == nullptr);
  for (int step = 0; step < 3; ++step) {
    CAPTURE(step);
    const auto grads = make_grads<T>(shapes, false, 200 + static_cast<std::uint64_t>(step));
    auto host = host_params(grads);
    auto dev = device_params(grads, stream.get());
    const auto pointers = pointers_to(dev);
    const double host_norm = gas::train::clip_grad_norm(pointers_to(host), 0.5);
    const auto allocations = arena_allocations();
    const long long waits = host_waits();
    clipper.clip(pointers, 0.5);
    if (step > 0) {  // the scratch was made at the first clip; a warm clip is only queued
      CHECK(arena_allocations() == allocations);
      if (waits >= 0) CHECK(host_waits() == waits);
    }
    CHECK(clipper.norm_data() != nullptr);
    const double norm = clipper.last_norm();  // asked for: this waits
    CHECK(std::abs(norm - host_norm) <= 1e-12 * host_norm);
    for (std::size_t k = 0; k < grads.size(); ++k)
      gas_test::check_close<T>(dev[k].grad.to_host().values(), host[k].grad.values(),
                               1e-12 + 2 * std::numeric_limits<T>::epsilon());
  }
  // No parameters: norm 0, nothing scaled, as on the host.
  clipper.clip(std::vector<DeviceParam<T>*>{}, 1.0);
  CHECK(clipper.last_norm() == 0.0);
  // clip_grad_norm on the device: a clip and the read of its norm.
  const auto grads = make_grads<T>(shapes, true, 300);
  auto host = host_params(grads);
  auto dev = device_params(grads, stream.get());
  CHECK(gas::train::clip_grad_norm(pointers_to(dev), 0.5) == gas::train::clip_grad_norm(pointers_to(host), 0.5));
}

TEST_CASE("cuda_grad_clipper_rejects_bad_arguments_and_keeps_nan_as_the_host" * doctest::skip(no_gpu)) {
  gas::cuda::Stream stream;
  // A NaN gradient: the norm is NaN (returned, not thrown) and the NaN factor scales nothing.
  std::vector<gas::Tensor<float>> grads{gas_test::random_matrix<float>(5, 3, 1),
                                        gas_test::random_matrix<float>(2, 2, 2)};
  grads[1](1, 0) = std::numeric_limits<float>::quiet_NaN();
  auto host = host_params(grads);
  auto dev = device_params(grads, stream.get());
  CHECK(std::isnan(gas::train::clip_grad_norm(pointers_to(host), 1.0)));
  gas::train::GradClipper<float, gas::cuda::device> clipper;
  clipper.clip(pointers_to(dev), 1.0);
  CHECK(std::isnan(clipper.last_norm()));
  for (std::size_t k = 0; k < grads.size(); ++k)
    CHECK(std::equal(grads[k].values().begin(), grads[k].values().end(), dev[k].grad.to_host().values().begin(),
                     [](float a, float b) { return same_bits(a, b); }));

  // Arguments are checked before anything is queued: gradients on two streams, a null parameter, a negative bound.
  std::vector<DeviceParam<float>*> pointers = pointers_to(dev);
  dev[1].grad.set_stream(nullptr);
  CHECK_THROWS_WITH_AS(clipper.clip(pointers, 1.0), doctest::Contains("parameter 1 ('p')"), gas::value_error);
  dev[1].grad.set_stream(stream.get());
  pointers.push_back(nullptr);
  CHECK_THROWS_WITH_AS(clipper.clip(pointers, 1.0), doctest::Contains("parameter 2 is null"), gas::value_error);
  pointers.pop_back();
  CHECK_THROWS_WITH_AS(clipper.clip(pointers, -1.0), doctest::Contains("max_norm -1"), gas::value_error);
  CHECK(std::isnan(clipper.last_norm()));  // the last clip's norm stays
}
