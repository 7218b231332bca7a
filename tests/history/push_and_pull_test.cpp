// push_and_pull and pull: the op's forward layout [h ; halo], the store updated by the push (also inside NoGrad),
// the gradient (to h only, finite-difference checked in double), pulled rows as constants, errors that leave the
// store untouched, and no allocation once warm; on real batches of a METIS-partitioned SBM graph.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <vector>

#include <gas/autograd/gradcheck.hpp>
#include <gas/core/error.hpp>
#include <gas/gen/sbm.hpp>
#include <gas/history/half_store.hpp>
#include <gas/history/host_store.hpp>
#include <gas/history/mapped_store.hpp>
#include <gas/history/push_and_pull.hpp>
#include <gas/loader/batch.hpp>
#include <gas/ops/arithmetic.hpp>
#include <gas/ops/reduce.hpp>
#include <gas/partition/metis.hpp>
#include <gas/partition/permute.hpp>

#include "io/io_test_util.hpp"
#include "ops/ops_test_util.hpp"
#include "test_util.hpp"

#include "alloc_counter.hpp"

using gas_test::allocations;
using gas_test::counting;

using gas::node_id;
using gas::history::HostStore;
using gas_test::random_tensor;
using DTape = gas::autograd::Tape<double>;

namespace {

/// An SBM graph partitioned by METIS into 12 clusters and relabeled so each is a contiguous id range.
struct Clustered {
  gas::Graph graph;
  std::vector<std::int64_t> ptr;
};

const Clustered& clustered() {
  static const Clustered c = [] {
    const auto data = gas::gen::sbm({.nodes = 600, .classes = 4, .features = 0, .degree = 6, .seed = 5});
    const auto p = gas::partition::Metis{.num_parts = 12, .seed = 1}.partition(data.graph);
    return Clustered{gas::partition::permute(data.graph, p), p.ptr};
  }();
  return c;
}

/// The batch of clusters {7, 2, 3, 10}: 2 and 3 touch, so it has three chunks, and it has a halo.
gas::loader::Batch make_batch() {
  const auto& c = clustered();
  const std::vector<std::int32_t> clusters{7, 2, 3, 10};
  gas::loader::BatchWorkspace ws;
  return gas::loader::build_batch(c.graph, c.ptr, clusters, ws);
}

/// A store of the graph's size holding distinct random values.
template <class S>
S random_store(std::int64_t width, std::uint64_t seed) {
  const auto n = clustered().graph.rows();
  S store(n, width);
  const auto values = random_tensor<typename S::value_type>(n, width, seed);
  store.push_chunk(0, values.view());
  return store;
}

template <class S>
gas::Tensor<typename S::value_type> snapshot(const S& store) {
  gas::Tensor<typename S::value_type> t(store.num_nodes(), store.width());
  auto& s = const_cast<S&>(store);  // pull_chunk is a read; some stores declare it non-const
  s.pull_chunk(0, t.view());
  return t;
}

/// Checks out = [h ; before's halo rows] and that the store now holds h at the in-batch ids and before elsewhere.
template <class T, class S>
void check_layout(const gas::loader::Batch& b, gas::MatrixView<const T> h, gas::MatrixView<const T> out,
                  const gas::Tensor<T>& before, const S& store) {
  REQUIRE(out.rows() == static_cast<std::int64_t>(b.n_id.size()));
  REQUIRE(out.cols() == h.cols());
  const auto after = snapshot(store);
  bool layout = true, pushed = true;
  for (std::int64_t i = 0; i < out.rows(); ++i) {
    const auto v = b.n_id[static_cast<std::size_t>(i)];
    for (std::int64_t j = 0; j < out.cols(); ++j) {
      if (i < b.batch_size) {
        layout &= out(i, j) == h(i, j);
        pushed &= after(v, j) == h(i, j);
      } else {
        layout &= out(i, j) == before(v, j);
      }
    }
  }
  CHECK(layout);
  CHECK(pushed);
  std::vector<bool> in_batch(static_cast<std::size_t>(before.rows()), false);
  for (std::int64_t i = 0; i < b.batch_size; ++i) in_batch[static_cast<std::size_t>(b.n_id[static_cast<std::size_t>(i)])] = true;
  bool others_kept = true;
  for (std::int64_t v = 0; v < before.rows(); ++v)
    if (!in_batch[static_cast<std::size_t>(v)])
      for (std::int64_t j = 0; j < before.cols(); ++j) others_kept &= after(v, j) == before(v, j);
  CHECK(others_kept);
}

}  // namespace

TEST_CASE("the test batch has several chunks and a halo") {
  const auto b = make_batch();
  CHECK(b.chunks.size() == 3);
  CHECK(b.num_halo() > 0);
  CHECK(b.batch_size > 100);
}

TEST_CASE("push_and_pull returns [h ; halo rows], writes h into the store, and passes the gradient check") {
  const auto b = make_batch();
  const std::int64_t w = 5;
  auto store = random_store<HostStore<double>>(w, 1);
  const auto before = snapshot(store);
  DTape tape;
  gas::autograd::Parameter<double> h("h", random_tensor<double>(b.batch_size, w, 2));

  auto out = gas::history::push_and_pull(store, tape.param(h), b);
  CHECK(std::string(out.node().op) == "push_and_pull");
  CHECK(out.requires_grad());
  check_layout<double>(b, h.value.view(), out.value(), before, store);

  // The loss reads every row, pulled ones included; only h is a parameter, and its gradient must match.
  auto result = gas::autograd::check_gradients(
      tape, [&](DTape& t) { return gas_test::weighted_sum(gas::history::push_and_pull(store, t.param(h), b)); },
      {&h});
  CHECK_MESSAGE(result.ok, result.worst);
}

TEST_CASE("pulled rows are constants: the store gets no gradient, and changing it moves the output, not h's gradient") {
  const auto b = make_batch();
  const std::int64_t w = 4;
  auto store = random_store<HostStore<double>>(w, 3);
  DTape tape;
  gas::autograd::Parameter<double> h("h", random_tensor<double>(b.batch_size, w, 4));

  auto run = [&] {
    tape.reset();
    h.zero_grad();
    auto out = gas::history::push_and_pull(store, tape.param(h), b);
    tape.backward(gas::ops::sum_all(gas::ops::mul(out, out)));  // d/dh = 2 h, whatever the pulled rows hold
    return gas::Tensor<double>(out.value());
  };
  const auto out1 = run();
  const auto grad1 = h.grad;
  bool exact = true;
  for (std::int64_t i = 0; i < h.rows(); ++i)
    for (std::int64_t j = 0; j < w; ++j) exact &= grad1(i, j) == 2 * h.value(i, j);
  CHECK(exact);
  const auto after_backward = snapshot(store);

  // New halo values in the store: the pulled rows change, h's gradient does not.
  const auto halo = b.halo();
  const auto other = random_tensor<double>(static_cast<std::int64_t>(halo.size()), w, 5);
  store.push(halo, other.view());
  const auto out2 = run();
  CHECK(gas_test::max_abs_diff(out2.slice_rows(0, b.batch_size), out1.slice_rows(0, b.batch_size)) == 0.0);
  CHECK(gas_test::max_abs_diff(out2.slice_rows(b.batch_size, out2.rows()), other) == 0.0);
  CHECK(gas_test::max_abs_diff(out1.slice_rows(b.batch_size, out1.rows()), other) > 0.1);
  CHECK(h.grad == grad1);

  // The backward pass wrote nothing into the store (it only pushed forward values).
  auto store_after = snapshot(store);
  for (std::size_t k = 0; k < halo.size(); ++k)
    for (std::int64_t j = 0; j < w; ++j) store_after(halo[k], j) = after_backward(halo[k], j);
  CHECK(store_after == after_backward);

  // pull gives a constant: no gradient reaches it.
  tape.reset();
  auto pulled = gas::history::pull(tape, store, halo);
  CHECK(!pulled.requires_grad());
  CHECK(std::string(pulled.node().op) == "history_pull");
  CHECK(gas_test::max_abs_diff(pulled.value(), other) == 0.0);
  h.zero_grad();
  auto hv = tape.param(h);
  auto loss = gas::ops::add(gas::ops::sum_all(gas::ops::mul(pulled, pulled)), gas::ops::sum_all(hv));
  tape.backward(loss);
  CHECK_THROWS_NAMING(gas::value_error, (void)pulled.grad(), "no gradient reached this value", "history_pull");
  CHECK(hv.grad()(0, 0) == 1.0);
}

TEST_CASE("push_and_pull pushes inside NoGrad too, and records no gradient there") {
  const auto b = make_batch();
  auto store = random_store<HostStore<double>>(3, 6);
  const auto before = snapshot(store);
  DTape tape;
  gas::autograd::Parameter<double> h("h", random_tensor<double>(b.batch_size, 3, 7));
  gas::autograd::NoGrad no_grad(tape);
  auto out = gas::history::push_and_pull(store, tape.param(h), b);
  CHECK(!out.requires_grad());
  check_layout<double>(b, h.value.view(), out.value(), before, store);
}

TEST_CASE("push_and_pull in float over every store") {
  const auto b = make_batch();
  const std::int64_t w = 8;
  gas::autograd::Tape<float> tape;
  // Values k / 4: exact in bf16, so the half store must reproduce them too.
  gas::Tensor<float> h_values(b.batch_size, w);
  for (std::int64_t i = 0; i < h_values.rows(); ++i)
    for (std::int64_t j = 0; j < w; ++j) h_values(i, j) = static_cast<float>((i * 7 + j) % 61 - 30) / 4.0f;
  gas::autograd::Parameter<float> h("h", h_values);
  auto exercise = [&](auto& store) {
    const auto before = snapshot(store);
    tape.reset();
    auto out = gas::history::push_and_pull(store, tape.param(h), b);
    check_layout<float>(b, h.value.view(), out.value(), before, store);
    h.zero_grad();
    tape.backward(gas::ops::sum_all(out));
    CHECK(h.grad == gas::Tensor<float>(b.batch_size, w, 1.0f));
    const gas::Tensor<float> expected(out.value());
    // Layer-wise inference reads a whole batch from the history: in-batch rows are now h.
    tape.reset();
    auto all = gas::history::pull(tape, store, b.n_id);
    CHECK(gas_test::max_abs_diff(all.value(), expected) == 0.0);
  };
  SUBCASE("HostStore<float>") {
    auto store = random_store<HostStore<float>>(w, 8);
    exercise(store);
  }
  SUBCASE("HalfStore<bf16>") {
    // Random values are not bf16-exact; fill with exact ones instead.
    gas::history::HalfStore<gas::history::half::bf16> store(clustered().graph.rows(), w, 0.25f);
    exercise(store);
  }
  SUBCASE("MappedStore<float>") {
    gas_test::TempDir dir;
    gas::history::MappedStore<float> store(dir / "h.gashist", clustered().graph.rows(), w,
                                           gas::history::Mode::create);
    store.fill(-0.5f);
    exercise(store);
  }
}

TEST_CASE("push_batch writes a batch's rows chunk by chunk") {
  const auto b = make_batch();
  auto store = random_store<HostStore<float>>(6, 9);
  const auto rows = random_tensor<float>(b.batch_size, 6, 10);
  gas::history::push_batch(store, rows.view(), b);
  gas::Tensor<float> out(b.batch_size, 6);
  store.pull(std::span<const node_id>(b.n_id).first(static_cast<std::size_t>(b.batch_size)), out.view());
  CHECK(out == rows);
  CHECK_THROWS_NAMING(gas::shape_error, gas::history::push_batch(store, rows.slice_rows(1, b.batch_size), b),
                      "push_batch", std::to_string(b.batch_size) + " in-batch nodes");
}

TEST_CASE("push_and_pull refuses mismatched widths, row counts and batches, leaving the store untouched") {
  const auto b = make_batch();
  auto store = random_store<HostStore<double>>(4, 11);
  const auto before = snapshot(store);
  DTape tape;
  const auto wide = random_tensor<double>(b.batch_size, 5, 12);
  const auto short_h = random_tensor<double>(b.batch_size - 1, 4, 13);
  const std::string rows = std::to_string(b.batch_size);
  CHECK_THROWS_NAMING(gas::shape_error, gas::history::push_and_pull(store, tape.constant(wide.view()), b),
                      "push_and_pull", "h is (" + rows + " x 5)", "history is 4 wide");
  CHECK_THROWS_NAMING(gas::shape_error, gas::history::push_and_pull(store, tape.constant(short_h.view()), b),
                      "push_and_pull", "(" + std::to_string(b.batch_size - 1) + " x 4)", "batch_size = " + rows);
  // A store smaller than the graph: some id of the batch falls outside it.
  HostStore<double> small(100, 4, 1.0);
  const auto h = random_tensor<double>(b.batch_size, 4, 14);
  CHECK_THROWS_AS(gas::history::push_and_pull(small, tape.constant(h.view()), b), gas::value_error);
  CHECK(small.table()(99, 3) == 1.0);
  bool untouched = true;
  for (std::int64_t v = 0; v < 100; ++v)
    for (std::int64_t j = 0; j < 4; ++j) untouched &= small.table()(v, j) == 1.0;
  CHECK(untouched);
  // A batch whose chunks disagree with its batch_size.
  auto broken = b;
  broken.chunks.pop_back();
  CHECK_THROWS_NAMING(gas::value_error, gas::history::push_and_pull(store, tape.constant(h.view()), broken),
                      "push_and_pull", "chunks cover", "batch_size = " + rows);
  CHECK(snapshot(store) == before);
  // pull: bad ids are refused before anything is recorded.
  const int size = tape.size();
  const std::vector<node_id> bad{0, 5000};
  CHECK_THROWS_NAMING(gas::value_error, gas::history::pull(tape, store, bad), "gas::history::pull", "id 5000",
                      "position 1");
  CHECK(tape.size() == size);
}

TEST_CASE("a warm push_and_pull step allocates nothing" *
          doctest::skip(!gas_test::counts_allocations)) {
  const auto b = make_batch();
  auto store = random_store<HostStore<float>>(16, 15);
  gas::autograd::Tape<float> tape;
  gas::autograd::Parameter<float> h("h", random_tensor<float>(b.batch_size, 16, 16));
  auto step = [&] {
    tape.reset();
    auto out = gas::history::push_and_pull(store, tape.param(h), b);
    auto again = gas::history::pull(tape, store, b.n_id);
    tape.backward(gas::ops::add(gas::ops::sum_all(out), gas::ops::sum_all(again)));
  };
  step();
  step();
  allocations = 0;
  counting = true;
  step();
  counting = false;
  CHECK(allocations.load() == 0);
}
