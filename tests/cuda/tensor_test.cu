// Tensor<T, gas::cuda::device>: shapes and errors without a GPU; round trips, resize reuse and clone with one.
#include <doctest/doctest.h>

#include <type_traits>

#include <gas/cuda/tensor.hpp>

#include "io/io_test_util.hpp"

namespace {

const bool no_gpu = !gas::cuda::available();

using DeviceTensor = gas::Tensor<float, gas::cuda::device>;

gas::Tensor<float> counting(std::int64_t rows, std::int64_t cols) {
  gas::Tensor<float> t(rows, cols);
  for (std::int64_t i = 0; i < t.size(); ++i) t.data()[i] = 0.5f * static_cast<float>(i) - 3.0f;
  return t;
}

}  // namespace

static_assert(std::is_nothrow_move_constructible_v<DeviceTensor>);
static_assert(!std::is_copy_constructible_v<DeviceTensor>);  // a device copy is explicit: clone()

TEST_CASE("cuda_tensor_empty_needs_no_gpu_and_bad_shapes_are_shape_errors") {
  const DeviceTensor empty;
  CHECK(empty.rows() == 0);
  CHECK(empty.cols() == 0);
  CHECK(empty.bytes() == 0);
  const DeviceTensor zero_rows(0, 16);  // no memory asked for: no CUDA call
  CHECK(zero_rows.cols() == 16);
  CHECK(zero_rows.to_host().size() == 0);
  CHECK_THROWS_NAMING(gas::shape_error, DeviceTensor(-1, 4), "negative shape");
}

TEST_CASE("cuda_tensor_round_trip_matches_host" * doctest::skip(no_gpu)) {
  const auto h = counting(37, 13);
  const auto d = DeviceTensor::from_host(h);
  CHECK(d.rows() == 37);
  CHECK(d.cols() == 13);
  CHECK(d.to_host() == h);
  const auto copy = d.clone();
  CHECK(copy.data() != d.data());
  CHECK(copy.to_host() == h);
}

TEST_CASE("cuda_tensor_resize_reuses_memory_and_copies_the_logical_size" * doctest::skip(no_gpu)) {
  DeviceTensor d(64, 32);
  const float* before = d.data();
  d.resize(10, 5);  // smaller: same memory
  CHECK(d.data() == before);
  const auto h = counting(10, 5);
  d.copy_from(h);
  CHECK(d.to_host() == h);
  d.fill_zero();
  CHECK(d.to_host() == gas::Tensor<float>(10, 5, 0.0f));
  CHECK_THROWS_NAMING(gas::shape_error, d.copy_from(counting(5, 10)), "(5 x 10)");
}
