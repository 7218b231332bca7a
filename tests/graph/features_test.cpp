// Dense and sparse node features (gas/graph/features.hpp): SparseRows' checks, the COO builder, the automatic
// threshold, permutation and row normalization of sparse rows, and the real bag-of-words files kept sparse.
#include <doctest/doctest.h>

#include <filesystem>
#include <limits>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/graph/features.hpp"
#include "gas/graph/transforms.hpp"
#include "gas/io/load.hpp"
#include "gas/partition/permute.hpp"
#include "test_util.hpp"

namespace {

/// A 3 x 5 matrix with 4 non-zeros, dense.
gas::Tensor<float> small_dense() {
  gas::Tensor<float> x(3, 5);
  x(0, 1) = 2;
  x(0, 4) = -1;
  x(2, 0) = 3;
  x(2, 3) = 0.5f;
  return x;
}

}  // namespace

TEST_CASE("SparseRows from a dense matrix keeps exactly its non-zeros and densifies back") {
  const auto dense = small_dense();
  const gas::SparseRows<float> s(std::as_const(dense).view());
  CHECK(s.nnz() == 4);
  CHECK(std::vector<std::int64_t>(s.indptr().begin(), s.indptr().end()) == std::vector<std::int64_t>{0, 2, 2, 4});
  CHECK(s.to_dense() == dense);
  CHECK(s.bytes() == 4 * 8 + 4 * 4 + 4 * 4);
  const gas::Features f(s);
  CHECK(f.is_sparse());
  CHECK(f(0, 4) == -1.0f);
  CHECK(f(1, 2) == 0.0f);
  CHECK(f(2, 3) == 0.5f);
}

TEST_CASE("SparseRows refuses inconsistent arrays with a format_error naming the source and the offender") {
  auto make = [](std::vector<std::int64_t> ptr, std::vector<std::int32_t> idx, std::vector<float> val) {
    return gas::SparseRows<float>(2, 4, std::move(ptr), std::move(idx), std::move(val), "x.npz");
  };
  CHECK_THROWS_WITH_AS(make({0, 1}, {0}, {1.f}), doctest::Contains("x.npz: 2 row offsets for 2 rows"), gas::format_error);
  CHECK_THROWS_WITH_AS(make({0, 1, 2}, {0, 4}, {1.f, 1.f}), doctest::Contains("column 4 in row 1 outside [0, 4)"),
                       gas::format_error);
  CHECK_THROWS_WITH_AS(make({0, 2, 2}, {3, 1}, {1.f, 1.f}), doctest::Contains("not strictly ascending"),
                       gas::format_error);
  CHECK_THROWS_WITH_AS(make({0, 1, 3}, {0, 1}, {1.f, 1.f}), doctest::Contains("row offsets run from 0 to 3"),
                       gas::format_error);
  CHECK_THROWS_WITH_AS(make({0, 1, 1}, {0}, {std::numeric_limits<float>::infinity()}),
                       doctest::Contains("feature (0, 0) is not finite"), gas::format_error);
}

TEST_CASE("sparse_rows_from_coo sorts, adds repeated entries and drops zeros") {
  const std::vector<std::int32_t> row{1, 0, 1, 0, 0}, col{2, 3, 2, 0, 1};
  const std::vector<float> val{1.f, 2.f, 0.5f, 0.f, -1.f};
  const auto s = gas::sparse_rows_from_coo(2, 4, row, col, val, "coo");
  CHECK(std::vector<std::int32_t>(s.indices().begin(), s.indices().end()) == std::vector<std::int32_t>{1, 3, 2});
  CHECK(std::vector<float>(s.values().begin(), s.values().end()) == std::vector<float>{-1.f, 2.f, 1.5f});
}

TEST_CASE("make_features keeps sparse below the density threshold unless told otherwise") {
  gas::Tensor<float> sparse_ish(10, 100);  // 1 % non-zero
  for (int i = 0; i < 10; ++i) sparse_ish(i, i * 7) = 1;
  CHECK(gas::make_features(sparse_ish, gas::SparseFeatures::automatic).is_sparse());
  CHECK_FALSE(gas::make_features(sparse_ish, gas::SparseFeatures::never).is_sparse());
  gas::Tensor<float> dense(4, 4, 1.0f);
  CHECK_FALSE(gas::make_features(dense, gas::SparseFeatures::automatic).is_sparse());
  CHECK(gas::make_features(dense, gas::SparseFeatures::always).is_sparse());
  const gas::Features f = gas::make_features(sparse_ish, gas::SparseFeatures::automatic);
  CHECK_THROWS_WITH_AS((void)f.dense(), doctest::Contains("features are sparse (10 x 100); use sparse() or to_dense()"),
                       gas::value_error);
  CHECK(f.to_dense() == sparse_ish);
}

TEST_CASE("permuting and row-normalizing sparse features equals doing it densely") {
  auto dense = small_dense();
  gas::Features sparse(gas::SparseRows<float>(std::as_const(dense).view()));
  gas::partition::Partition p;
  p.perm = {2, 0, 1};
  p.inverse = {1, 2, 0};
  p.ptr = {0, 3};
  const auto permuted = gas::partition::permute_rows(sparse, p);
  CHECK(permuted.is_sparse());
  CHECK(permuted.to_dense() == gas::partition::permute_rows(dense, p));
  gas::row_normalize(sparse);
  gas::row_normalize(dense);
  CHECK(sparse.to_dense() == dense);
}

TEST_CASE("bag-of-words files load sparse: Cora and Coauthor-CS hold their non-zeros only" *
          doctest::skip(gas_test::missing("planetoid/cora") || gas_test::missing("gnn-benchmark/ms_academic_cs.npz"))) {
  const auto dir = gas_test::data_dir();
  const auto cora = gas::io::load("planetoid:" + (dir / "planetoid" / "cora").string());
  REQUIRE(cora.features.is_sparse());
  CHECK(cora.features.cols() == 1433);
  CHECK(cora.features.nnz() == 49216);  // 2708 rows, 1.27 % non-zero (PyG: (x != 0).sum())
  const auto dense_cora = gas::io::load("planetoid:" + (dir / "planetoid" / "cora").string(),
                                        {.sparse_features = gas::SparseFeatures::never});
  CHECK_FALSE(dense_cora.features.is_sparse());
  CHECK(cora.features.to_dense() == dense_cora.features.dense());

  const auto cs = gas::io::load("npz:" + (dir / "gnn-benchmark" / "ms_academic_cs.npz").string());
  REQUIRE(cs.features.is_sparse());
  CHECK(cs.features.rows() == 18333);
  CHECK(cs.features.cols() == 6805);
  CHECK(cs.features.bytes() < 10 * 1024 * 1024);  // dense: 18333 x 6805 x 4 B = 499 MB
}
