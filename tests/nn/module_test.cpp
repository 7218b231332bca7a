// nn::Module: registration names parameters by their path, groups follow the modules that set them, and bad
// registrations are refused with the name that caused them.
#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "gas/nn/batch_norm.hpp"
#include "gas/nn/linear.hpp"
#include "gas/nn/module.hpp"
#include "io/io_test_util.hpp"

namespace {

using gas::nn::Decay;

std::vector<std::string> names(const std::vector<gas::autograd::Parameter<double>*>& params) {
  std::vector<std::string> out;
  for (const auto* p : params) out.push_back(p->name);
  return out;
}

/// A two-level module as a user writes one: a list of Linears, a norm, a parameter of its own.
struct Block : gas::nn::Module<double> {
  gas::nn::ModuleList<gas::nn::Linear<double>> lins;
  gas::nn::BatchNorm<double> norm{3};
  gas::autograd::Parameter<double> scale{"scale", gas::Tensor<double>(1, 1)};

  explicit Block(gas::Rng& rng) {
    lins.emplace_back(4, 3, rng);
    lins.emplace_back(3, 3, rng, gas::nn::LinearOptions{.bias = false}).set_decay(Decay::nonreg);
    register_module("lins", lins);
    register_module("norm", norm, Decay::nonreg);
    register_parameter("scale", scale);
  }
};

struct Outer : gas::nn::Module<double> {
  Block block;
  explicit Outer(gas::Rng& rng) : block(rng) { register_module("block", block); }
  using gas::nn::Module<double>::register_parameter;
  using gas::nn::Module<double>::register_module;
};

}  // namespace

TEST_CASE("parameters are named by their registration path, in registration order") {
  gas::Rng rng(1);
  Outer outer(rng);
  CHECK(names(outer.parameters()) == std::vector<std::string>{"block.lins.0.weight", "block.lins.0.bias",
                                                              "block.lins.1.weight", "block.norm.weight",
                                                              "block.norm.bias", "block.scale"});
  const auto named = outer.named_parameters();
  REQUIRE(named.size() == 6);
  CHECK(named[2].first == "block.lins.1.weight");
  CHECK(named[2].second == &outer.block.lins[1].weight);
  CHECK(outer.block.path() == "block");
  CHECK(outer.block.lins[0].path() == "block.lins.0");
}

TEST_CASE("weight-decay groups: a module's own group wins over its parent's, the root's default is reg") {
  gas::Rng rng(2);
  Outer outer(rng);
  CHECK(names(outer.reg_parameters()) ==
        std::vector<std::string>{"block.lins.0.weight", "block.lins.0.bias", "block.scale"});
  CHECK(names(outer.nonreg_parameters()) ==
        std::vector<std::string>{"block.lins.1.weight", "block.norm.weight", "block.norm.bias"});
  outer.block.set_decay(Decay::nonreg);  // the whole block, but lins.1 and norm keep theirs (nonreg anyway)
  CHECK(outer.reg_parameters().empty());
  outer.block.lins[0].set_decay(Decay::reg);
  CHECK(names(outer.reg_parameters()) == std::vector<std::string>{"block.lins.0.weight", "block.lins.0.bias"});
}

TEST_CASE("bad registrations are refused with the name that caused them") {
  gas::Rng rng(3);
  Outer outer(rng);
  gas::autograd::Parameter<double> empty;
  CHECK_THROWS_NAMING(gas::value_error, outer.register_parameter("bias", empty), "'bias'", "empty");
  gas::autograd::Parameter<double> p("w", gas::Tensor<double>(2, 2));
  CHECK_THROWS_NAMING(gas::value_error, outer.register_parameter("block", p), "'block' is registered twice");
  CHECK_THROWS_NAMING(gas::value_error, outer.register_parameter("", p), "non-empty");
  CHECK_THROWS_NAMING(gas::value_error, outer.register_parameter("w.", p), "'w.'");
  CHECK_THROWS_NAMING(gas::value_error, outer.block.lins[5], "module 5 of a list of 2");
}

// Modules hold addresses (theirs, their parameters'): copying or moving one does not compile.
static_assert(!std::is_copy_constructible_v<gas::nn::Linear<double>>);
static_assert(!std::is_move_constructible_v<gas::nn::Linear<double>>);
static_assert(!std::is_move_assignable_v<Block>);
