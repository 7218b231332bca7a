#include <doctest/doctest.h>

#include "gas/core/tensor.hpp"

TEST_CASE_TEMPLATE("tensor is row-major with views", T, float, double) {
  gas::Tensor<T> t(3, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) t(i, j) = static_cast<T>(10 * i + j);
  CHECK(t.data()[1 * 4 + 2] == T(12));  // (row, col) -> row * cols + col
  CHECK(t.row(2)[3] == T(23));

  auto rows = t.slice_rows(1, 3);
  CHECK(rows.rows() == 2);
  CHECK(rows(0, 0) == T(10));
  auto block = t.view().slice_cols(1, 3);
  CHECK(block.cols() == 2);
  CHECK(block.ld() == 4);
  CHECK_FALSE(block.contiguous());
  CHECK(block(2, 1) == T(22));
  block(0, 0) = T(-1);  // views write through
  CHECK(t(0, 1) == T(-1));

  gas::Tensor<T> copy{gas::MatrixView<const T>(block)};
  CHECK(copy.rows() == 3);
  CHECK(copy.cols() == 2);
  CHECK(copy(1, 1) == T(12));
}

TEST_CASE("tensor rejects bad shapes and ranges with typed errors") {
  CHECK_THROWS_AS(gas::Tensor<float>(-1, 2), gas::shape_error);
  CHECK_THROWS_AS(gas::Tensor<float>(2, 2, std::vector<float>(3)), gas::shape_error);
  gas::Tensor<float> t(2, 3);
  CHECK_THROWS_AS((void)t.row(2), gas::shape_error);
  CHECK_THROWS_AS((void)t.slice_rows(1, 3), gas::shape_error);
  CHECK_THROWS_AS((void)t.view().slice_cols(2, 1), gas::shape_error);
  CHECK_THROWS_AS(gas::MatrixView<float>(t.data(), 2, 3, 2), gas::shape_error);
}

TEST_CASE("resize and fill") {
  gas::Tensor<int> t(2, 2, 7);
  CHECK(t(1, 1) == 7);
  t.resize(3, 1);
  CHECK(t.size() == 3);
  t.fill(4);
  CHECK(t == gas::Tensor<int>(3, 1, 4));
  gas::Tensor<int> empty;
  CHECK(empty.empty());
  CHECK(empty.rows() == 0);
}
