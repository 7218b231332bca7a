#include <doctest/doctest.h>

#include <string>

#include "gas/core/check.hpp"
#include "gas/core/error.hpp"

namespace {

int checked_sqrt_floor(int value) {
  GAS_CHECK(value >= 0, gas::value_error, "value " << value << " is negative");
  int r = 0;
  while ((r + 1) * (r + 1) <= value) ++r;
  return r;
}

template <class T>
struct Box {
  T get(int i) const {
    GAS_CHECK(i == 0, gas::shape_error, "index " << i << " out of range");
    return T{};
  }
};

}  // namespace

TEST_CASE("every error kind is a gas::error") {
  CHECK_THROWS_AS(throw gas::io_error("x"), gas::error);
  CHECK_THROWS_AS(throw gas::format_error("x"), gas::io_error);
  CHECK_THROWS_AS(throw gas::shape_error("x"), gas::error);
  CHECK_THROWS_AS(throw gas::value_error("x"), gas::error);
  CHECK_THROWS_AS(throw gas::config_error("x"), gas::error);
  CHECK_THROWS_AS(throw gas::partition_error("x"), gas::error);
  CHECK_THROWS_AS(throw gas::cuda_error("x"), gas::error);
  CHECK_THROWS_AS(throw gas::not_compiled("x"), gas::error);
  CHECK_THROWS_AS(throw gas::comm_error("x"), gas::error);
  CHECK(std::string(gas::kind_of(gas::comm_error("x"))) == "comm_error");
}

TEST_CASE("GAS_CHECK names the caller and the offending value") {
  CHECK(checked_sqrt_floor(17) == 4);
  try {
    checked_sqrt_floor(-3);
    FAIL("expected value_error");
  } catch (const gas::value_error& e) {
    const std::string what = e.what();
    CHECK(what.find("checked_sqrt_floor") != std::string::npos);
    CHECK(what.find("-3") != std::string::npos);
  }
}

TEST_CASE("GAS_CHECK strips template arguments from the caller's name") {
  try {
    (void)Box<double>{}.get(7);
    FAIL("expected shape_error");
  } catch (const gas::shape_error& e) {
    const std::string what = e.what();
    CHECK(what.find("Box::get: index 7 out of range") != std::string::npos);
    CHECK(what.find("double") == std::string::npos);
  }
}

TEST_CASE("caller_name shortens pretty function names") {
  using gas::detail::caller_name;
  CHECK(caller_name("int f(int)") == "f");
  CHECK(caller_name("T gas::Csr<Index, Weight>::row(Index) const [with Index = int; Weight = float]") ==
        "gas::Csr::row");
  CHECK(caller_name("std::vector<int> gas::io::read(const std::string&)") == "gas::io::read");
}
