#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "gas/graph/dataset.hpp"

namespace {

gas::Dataset tiny() {
  gas::Dataset d;
  d.name = "tiny";
  std::vector<gas::node_id> src{0, 1}, dst{1, 2};
  d.graph = gas::csr_from_coo<gas::node_id, float>(3, 3, src, dst, {}, {.symmetrize = true});
  d.features = gas::Tensor<float>(3, 2, 0.5f);
  d.labels = {0, 1, -1};
  d.num_classes = 2;
  d.splits.push_back({.train = {0}, .val = {1}, .test = {}});
  return d;
}

void expect_format_error(const gas::Dataset& d, const std::string& fragment) {
  try {
    d.validate("some/file.npz");
    FAIL("expected format_error");
  } catch (const gas::format_error& e) {
    const std::string what = e.what();
    CHECK(what.find("some/file.npz") != std::string::npos);
    CHECK_MESSAGE(what.find(fragment) != std::string::npos, what);
  }
}

}  // namespace

TEST_CASE("a consistent dataset validates and reports its sizes") {
  auto d = tiny();
  CHECK_NOTHROW(d.validate("tiny"));
  CHECK(d.num_nodes() == 3);
  CHECK(d.num_edges() == 4);
  CHECK(d.num_features() == 2);
  CHECK_FALSE(d.is_multi_label());
  CHECK(d.has_targets());
}

TEST_CASE("validate names the source and the inconsistency") {
  {
    auto d = tiny();
    d.features.dense()(1, 1) = std::numeric_limits<float>::quiet_NaN();
    expect_format_error(d, "feature (1, 1) is not finite");
  }
  {
    auto d = tiny();
    d.features.dense()(2, 0) = std::numeric_limits<float>::infinity();
    expect_format_error(d, "not finite");
  }
  {
    auto d = tiny();
    d.labels[0] = 2;
    expect_format_error(d, "label 2 of node 0");
  }
  {
    auto d = tiny();
    d.labels[1] = -5;
    expect_format_error(d, "label -5");
  }
  {
    auto d = tiny();
    d.labels.pop_back();
    expect_format_error(d, "2 labels for 3 nodes");
  }
  {
    auto d = tiny();
    d.features = gas::Tensor<float>(2, 2);
    expect_format_error(d, "features have 2 rows");
  }
  {
    auto d = tiny();
    d.splits[0].test.push_back(3);
    expect_format_error(d, "names node 3");
  }
  {
    auto d = tiny();
    d.labels.clear();
    d.multi_labels = gas::Tensor<std::uint8_t>(3, 2);
    CHECK_NOTHROW(d.validate("x"));
    d.multi_labels(0, 0) = 2;
    expect_format_error(d, "not 0 or 1");
  }
}
