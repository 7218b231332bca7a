// Device spmm (every aggregation, forward and backward) and row gathers / scatters against the host ops.
// GPU cases skip (not fail) without a GPU; the others check launch configuration and argument validation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <gas/autograd/tape.hpp>
#include <gas/cuda/device_csr.hpp>
#include <gas/cuda/kernels/gather.cuh>
#include <gas/cuda/kernels/launch.hpp>
#include <gas/cuda/kernels/spmm.cuh>
#include <gas/cuda/kernels/transpose.cuh>
#include <gas/cuda/stream.hpp>
#include <gas/ops/arithmetic.hpp>
#include <gas/ops/gather.hpp>
#include <gas/ops/reduce.hpp>
#include <gas/ops/spmm.hpp>

#include "matches_host_util.hpp"

namespace {

using gas_test::no_gpu;
namespace aggr = gas::ops::aggr;

// Runs spmm<A> on host (through the tape, with upstream gradient G) and device, and compares value and gradient.
// `offset` shifts the device arrays by that many elements, which forces the scalar (unaligned) path.
template <aggr::Aggregation A>
void check_spmm(const gas::Graph& graph, std::int64_t width, std::uint64_t seed, std::int64_t offset = 0) {
  constexpr aggr::Reduction R = A::reduction;
  constexpr bool extreme = aggr::is_extreme(R);
  const auto X = gas_test::random_matrix<float>(graph.cols(), width, seed);
  const auto G = gas_test::random_matrix<float>(graph.rows(), width, seed + 1);

  gas::autograd::Tape<float> tape;
  auto x = tape.variable(X.view());
  auto y = gas::ops::spmm<A>(graph, x);
  tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(G.view()))));
  const auto host_y = gas_test::as_span(y.value());
  const auto host_gx = gas_test::as_span(x.grad());

  // Bounds of reordered sums: the same op on absolute values gives sum |terms| per element.
  gas::Tensor<float, gas::host> absX(X.rows(), X.cols()), absG(G.rows(), G.cols());
  for (std::int64_t i = 0; i < X.size(); ++i) absX.data()[i] = std::abs(X.data()[i]);
  for (std::int64_t i = 0; i < G.size(); ++i) absG.data()[i] = std::abs(G.data()[i]);
  gas::autograd::Tape<float> abs_tape;
  auto ax = abs_tape.variable(absX.view());
  auto ay = gas::ops::spmm<A>(graph, ax);
  abs_tape.backward(gas::ops::sum_all(gas::ops::mul(ay, abs_tape.constant(absG.view()))));

  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  const gas::cuda::DeviceCsr adj(graph, s);
  gas::cuda::DeviceBuffer<float> dx(static_cast<std::size_t>(X.size() + offset), s);
  gas::cuda::DeviceBuffer<float> dg(static_cast<std::size_t>(G.size() + offset), s);
  gas::cuda::DeviceBuffer<float> dy(static_cast<std::size_t>(graph.rows() * width + offset), s);
  gas::cuda::DeviceBuffer<float> dgx(static_cast<std::size_t>(X.size() + offset), s);
  gas::cuda::DeviceBuffer<gas::node_id> arg(extreme ? static_cast<std::size_t>(graph.rows() * width) : 0, s);
  GAS_CUDA_CHECK(cudaMemcpyAsync(dx.data() + offset, X.data(), X.size() * sizeof(float), cudaMemcpyHostToDevice, s));
  GAS_CUDA_CHECK(cudaMemcpyAsync(dg.data() + offset, G.data(), G.size() * sizeof(float), cudaMemcpyHostToDevice, s));
  dgx.fill_zero();
  gas::cuda::spmm_forward<R>(adj.view(), dx.data() + offset, graph.cols(), width, dy.data() + offset,
                             extreme ? arg.data() : nullptr, s);
  gas::cuda::spmm_backward<R>(adj.view(), dg.data() + offset, graph.rows(), width, extreme ? arg.data() : nullptr,
                              dgx.data() + offset, graph.cols(), s);
  const auto out = dy.to_host();
  const auto grad = dgx.to_host();
  const std::span<const float> out_s(out.data() + offset, host_y.size()), grad_s(grad.data() + offset, host_gx.size());
  const double rel = extreme ? 0.0 : 1e-5;  // max/min pick values and sum in the host's order: exact
  gas_test::check_close<float>(out_s, host_y, rel, gas_test::as_span(ay.value()));
  gas_test::check_close<float>(grad_s, host_gx, rel, gas_test::as_span(ax.grad()));
  if constexpr (extreme) {
    const auto& host_arg = tape.node(y.id()).aux_index;
    const auto dev_arg = arg.to_host();
    std::int64_t differ = 0;
    for (std::size_t i = 0; i < dev_arg.size(); ++i) differ += dev_arg[i] != host_arg.data()[i];
    CHECK(differ == 0);
  }
}

template <aggr::Aggregation A>
void check_spmm_widths() {
  const gas::Graph weighted = gas_test::random_graph(300, 200, 11, true);
  const gas::Graph plain = gas_test::random_graph(120, 150, 12, false);
  for (const std::int64_t width : {16, 64, 7, 1024, 1}) {
    CAPTURE(width);
    check_spmm<A>(weighted, width, 100 + static_cast<std::uint64_t>(width));
    check_spmm<A>(plain, width, 200 + static_cast<std::uint64_t>(width));
  }
  check_spmm<A>(weighted, 32, 7, 1);  // unaligned: the scalar path with a width that could vectorize
}

}  // namespace

// ---- no GPU needed --------------------------------------------------------------------------------

TEST_CASE("cuda_row_launch_fits_groups_to_the_width") {
  using gas::cuda::row_launch;
  // 16 floats: four float4 lanes per row, so eight rows share a warp.
  CHECK(row_launch(1000, 16, 4, true).vector == 4);
  CHECK(row_launch(1000, 16, 4, true).group == 4);
  CHECK(row_launch(1000, 16, 4, true).blocks == (1000 * 4 + 255) / 256);
  // 1024 floats: a whole warp, eight packs per lane.
  CHECK(row_launch(10, 1024, 4, true).group == 32);
  // A width that is not a multiple of 4, or an unaligned pointer: scalars.
  CHECK(row_launch(10, 18, 4, true).vector == 1);
  CHECK(row_launch(10, 18, 4, true).group == 32);
  CHECK(row_launch(10, 16, 4, false).vector == 1);
  CHECK(row_launch(10, 16, 4, false).group == 16);
  // Doubles pack in twos.
  CHECK(row_launch(10, 16, 8, true).vector == 2);
  CHECK(row_launch(10, 16, 8, true).group == 8);
  CHECK(row_launch(0, 16, 4, true).blocks == 0);
  CHECK(row_launch(5, 1, 4, true).group == 1);
  CHECK(gas::cuda::pow2_at_least(33) == 64);
  CHECK_THROWS_AS(gas::cuda::check_grid(gas::cuda::max_grid_x + 1, "test"), gas::value_error);
}

TEST_CASE("cuda_spmm_validates_shapes_before_touching_the_device") {
  gas::cuda::DeviceCsrView adj;  // a (3 x 5) pattern; nothing is dereferenced before the checks
  adj.rows = 3;
  adj.cols = 5;
  adj.nnz = 4;
  float* none = nullptr;
  CHECK_THROWS_WITH_AS(gas::cuda::spmm_forward<aggr::Reduction::sum>(adj, none, 4, 8, none, nullptr, nullptr),
                       doctest::Contains("adjacency (3 x 5) cannot aggregate features (4 x 8)"), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::spmm_backward<aggr::Reduction::sum>(adj, none, 2, 8, nullptr, none, 5, nullptr),
                  gas::shape_error);  // the gradient has 2 rows, not 3
  CHECK_THROWS_WITH_AS(gas::cuda::spmm_backward<aggr::Reduction::mean>(adj, none, 3, 8, nullptr, none, 5, nullptr),
                       doctest::Contains("without its transpose"), gas::value_error);
  gas::node_id* no_arg = nullptr;
  adj.t_offsets = reinterpret_cast<const std::int64_t*>(&adj);  // pretend a transpose exists
  CHECK_THROWS_WITH_AS(gas::cuda::spmm_backward<aggr::Reduction::max>(adj, none, 3, 8, no_arg, none, 5, nullptr),
                       doctest::Contains("argument array"), gas::value_error);
}

TEST_CASE("cuda_gather_and_scatter_validate_sizes_before_touching_the_device") {
  float* none = nullptr;
  CHECK_THROWS_AS(gas::cuda::gather_rows<float>(none, -1, 4, nullptr, 3, none, false, nullptr), gas::value_error);
  CHECK_THROWS_WITH_AS(gas::cuda::gather_rows<float>(none, 0, 4, nullptr, 3, none, false, nullptr),
                       doctest::Contains("3 indices into a source with no rows"), gas::value_error);
  const gas::cuda::InvertedIndex empty;  // 0 positions
  CHECK_THROWS_WITH_AS(gas::cuda::scatter_add_rows<float>(none, 3, 4, empty, none, false, nullptr),
                       doctest::Contains("0 indices for src (3 x 4)"), gas::shape_error);
  CHECK_THROWS_AS(gas::cuda::invert_index(nullptr, -2, 4, nullptr), gas::value_error);
}

// ---- GPU --------------------------------------------------------------------------------------------

TEST_CASE("cuda_spmm_sum_matches_host" * doctest::skip(no_gpu)) { check_spmm_widths<aggr::Sum>(); }
TEST_CASE("cuda_spmm_mean_matches_host" * doctest::skip(no_gpu)) { check_spmm_widths<aggr::Mean>(); }
TEST_CASE("cuda_spmm_max_matches_host" * doctest::skip(no_gpu)) { check_spmm_widths<aggr::Max>(); }
TEST_CASE("cuda_spmm_min_matches_host" * doctest::skip(no_gpu)) { check_spmm_widths<aggr::Min>(); }

TEST_CASE("cuda_spmm_double_matches_host" * doctest::skip(no_gpu)) {
  // double packs in twos; run the sum path once to cover it (host and device both in double).
  const gas::Graph graph = gas_test::random_graph(50, 40, 5, true);
  const auto X = gas_test::random_matrix<double>(40, 6, 9);
  gas::autograd::Tape<double> tape;
  auto y = gas::ops::spmm<aggr::Sum>(graph, tape.constant(X.view()));
  gas::cuda::Stream stream;
  const gas::cuda::DeviceCsr adj(graph, stream.get());
  auto dx = gas_test::to_device<double>(X.values(), stream.get());
  gas::cuda::DeviceBuffer<double> dy(50 * 6, stream.get());
  gas::cuda::spmm_forward<aggr::Reduction::sum>(adj.view(), dx.data(), 40, 6, dy.data(), nullptr, stream.get());
  const auto out = dy.to_host();
  gas_test::check_close<double>(out, gas_test::as_span(y.value()), 1e-12);
}

TEST_CASE("cuda_gather_rows_matches_host" * doctest::skip(no_gpu)) {
  for (const std::int64_t width : {16, 5, 256}) {
    CAPTURE(width);
    const std::int64_t rows = 90, n = 400;
    gas::Rng rng(width);
    std::vector<gas::node_id> index(static_cast<std::size_t>(n));
    for (auto& v : index) v = static_cast<gas::node_id>(rng.below(rows - 10));  // the last 10 rows get nothing
    const auto X = gas_test::random_matrix<float>(rows, width, 3);
    const auto G = gas_test::random_matrix<float>(n, width, 4);
    gas::autograd::Tape<float> tape;
    auto x = tape.variable(X.view());
    auto y = gas::ops::gather_rows(x, std::span<const gas::node_id>(index));
    tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(G.view()))));

    gas::cuda::Stream stream;
    const cudaStream_t s = stream.get();
    auto dx = gas_test::to_device<float>(X.values(), s);
    auto dg = gas_test::to_device<float>(G.values(), s);
    auto di = gas_test::to_device<gas::node_id>(index, s);
    gas::cuda::DeviceBuffer<float> dy(static_cast<std::size_t>(n * width), s), dgx(X.values().size(), s);
    gas::cuda::gather_rows(dx.data(), rows, width, di.data(), n, dy.data(), false, s);
    dgx.fill_zero();
    const auto inv = gas::cuda::invert_index(di.data(), n, rows, s);
    gas::cuda::scatter_add_rows(dg.data(), n, width, inv, dgx.data(), true, s);
    const auto out = dy.to_host();
    const auto grad = dgx.to_host();
    gas_test::check_close<float>(out, gas_test::as_span(y.value()), 0.0);
    gas_test::check_close<float>(grad, gas_test::as_span(x.grad()), 0.0);  // same order of addition: exact
  }
}

TEST_CASE("cuda_scatter_add_rows_matches_host" * doctest::skip(no_gpu)) {
  const std::int64_t n = 500, targets = 70, width = 12;
  gas::Rng rng(8);
  std::vector<gas::node_id> index(static_cast<std::size_t>(n));
  for (auto& v : index) v = static_cast<gas::node_id>(rng.below(targets));
  const auto X = gas_test::random_matrix<float>(n, width, 5);
  const auto G = gas_test::random_matrix<float>(targets, width, 6);
  gas::autograd::Tape<float> tape;
  auto x = tape.variable(X.view());
  auto y = gas::ops::scatter_add_rows(x, std::span<const gas::node_id>(index), targets);
  tape.backward(gas::ops::sum_all(gas::ops::mul(y, tape.constant(G.view()))));

  gas::cuda::Stream stream;
  const cudaStream_t s = stream.get();
  auto dx = gas_test::to_device<float>(X.values(), s);
  auto dg = gas_test::to_device<float>(G.values(), s);
  auto di = gas_test::to_device<gas::node_id>(index, s);
  gas::cuda::DeviceBuffer<float> dy(static_cast<std::size_t>(targets * width), s), dgx(X.values().size(), s);
  const auto inv = gas::cuda::invert_index(di.data(), n, targets, s);
  gas::cuda::scatter_add_rows(dx.data(), n, width, inv, dy.data(), false, s);
  gas::cuda::gather_rows(dg.data(), targets, width, di.data(), n, dgx.data(), false, s);  // the backward: a gather
  const auto out = dy.to_host();
  const auto grad = dgx.to_host();
  gas_test::check_close<float>(out, gas_test::as_span(y.value()), 0.0);
  gas_test::check_close<float>(grad, gas_test::as_span(x.grad()), 0.0);
}

// The transposed index built on the device (the history pipeline's stages) is the host's Csr::transposed_index, bit
// for bit: skewed degrees, empty rows and columns, repeated entries, and an empty graph.
TEST_CASE("cuda_build_transpose_equals_the_host_index" * doctest::skip(no_gpu)) {
  for (const bool empty : {false, true}) {
    CAPTURE(empty);
    const gas::Graph graph = empty ? gas::Graph(5, 7, std::vector<std::int64_t>(6, 0), {}, {})
                                   : gas_test::random_graph(300, 211, 81, false);
    gas::cuda::Stream stream;
    const cudaStream_t s = stream.get();
    const gas::cuda::DeviceCsr csr(graph, s, false);
    const std::int64_t nnz = graph.num_edges(), cols = graph.cols();
    gas::cuda::DeviceBuffer<std::int64_t> offsets(static_cast<std::size_t>(cols + 1), s), edges(static_cast<std::size_t>(nnz), s);
    gas::cuda::DeviceBuffer<gas::node_id> rows(static_cast<std::size_t>(nnz), s);
    const std::size_t bytes = gas::cuda::transpose_scratch_bytes(nnz, cols);
    gas::cuda::DeviceBuffer<std::byte> scratch(bytes + 1, s);
    // An odd offset: build_transpose aligns its own pieces.
    gas::cuda::build_transpose(csr.view(), offsets.data(), rows.data(), edges.data(), scratch.data() + 1, bytes, s);
    if (bytes > 0)
      CHECK_THROWS_AS(gas::cuda::build_transpose(csr.view(), offsets.data(), rows.data(), edges.data(), scratch.data(),
                                                 bytes - 1, s),
                      gas::value_error);
    const auto t = graph.transposed_index();
    const auto o = offsets.to_host();
    const auto r = rows.to_host();
    const auto e = edges.to_host();
    CHECK(std::equal(o.begin(), o.end(), t->offsets.begin()));
    CHECK(std::equal(r.begin(), r.end(), t->rows.begin()));
    CHECK(std::equal(e.begin(), e.end(), t->edges.begin()));
  }
}
