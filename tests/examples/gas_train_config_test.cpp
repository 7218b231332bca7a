// gas-train's configuration: flags parse or fail with a config_error naming the flag; flags beat the preset, the
// preset beats the model's defaults; the paper preset holds REFERENCE.md's small-benchmark table.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../../examples/gas_train/config.hpp"
#include "io/io_test_util.hpp"

namespace {

gas_train::Config parse(std::vector<std::string> args, bool* help = nullptr) {
  std::vector<const char*> argv{"gas-train"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return gas_train::parse_args(static_cast<int>(argv.size()), argv.data(), help);
}

}  // namespace

TEST_CASE("gas-train: no flags means the built-in SBM, GCN, GAS mode, one run") {
  const auto c = parse({});
  CHECK(c.dataset == "sbm");
  CHECK(c.model == gas_train::ModelKind::gcn);
  CHECK_FALSE(c.full);
  CHECK(c.runs == 1);
  CHECK(c.preset.empty());
  const auto h = gas_train::resolve(c, "sbm");
  CHECK(*h.layers == 2);
  CHECK(*h.hidden == 16);
  CHECK(*h.epochs == 200);
  CHECK(*h.num_parts == 40);
  CHECK_FALSE(*h.row_normalize);
}

TEST_CASE("gas-train: every model name parses and round-trips") {
  for (auto name : gas_train::model_names) {
    const auto kind = gas_train::parse_model(name);
    CHECK(gas_train::name_of(kind) == name);
    const auto h = gas_train::resolve(parse({"--model", std::string(name)}), "sbm");
    // resolve leaves nothing unset for any model
    CHECK(h.layers.has_value());
    CHECK(h.hidden.has_value());
    CHECK(h.dropout.has_value());
    CHECK(h.grad_clip.has_value());
    CHECK(h.row_normalize.has_value());
  }
}

TEST_CASE("gas-train: flags override the preset, which overrides the model's defaults") {
  auto c = parse({"--model", "gcn", "--preset", "paper", "--epochs", "7", "--dropout", "0.25"});
  auto h = gas_train::resolve(c, "cora");
  CHECK(*h.epochs == 7);          // flag
  CHECK(*h.dropout == 0.25);      // flag
  CHECK(*h.num_parts == 40);      // preset (Cora: 40 parts, batch 10)
  CHECK(*h.batch_size == 10);
  CHECK(*h.input_dropout == 0.5);
  CHECK(*h.grad_clip == 1.0);
  CHECK(*h.row_normalize);        // the small benchmark row-normalizes features
  h = gas_train::resolve(c, "citeseer");
  CHECK(*h.num_parts == 24);
  CHECK(*h.grad_clip == 0.0);     // no clipping on CiteSeer
  h = gas_train::resolve(c, "some_other_graph");
  CHECK(*h.num_parts == 40);      // the model's default
  CHECK(*h.row_normalize);        // the preset still row-normalizes
}

TEST_CASE("gas-train: the paper preset holds the reference's Cora table") {
  using gas_train::ModelKind;
  auto h = gas_train::paper_preset(ModelKind::gat, "cora");
  CHECK(*h.hidden == 8);
  CHECK(*h.heads == 8);
  CHECK(*h.out_heads == 1);
  CHECK(*h.dropout == 0.6);
  CHECK(*h.lr == 0.005);
  CHECK(*h.epochs == 400);
  h = gas_train::paper_preset(ModelKind::appnp, "cora");
  CHECK(*h.layers == 10);  // K
  CHECK(*h.alpha == 0.1);
  CHECK(*h.reg_weight_decay == 5e-3);
  CHECK(*h.num_parts == 4);
  CHECK(*h.batch_size == 2);
  CHECK(*h.epochs == 600);
  h = gas_train::paper_preset(ModelKind::gcnii, "cora");
  CHECK(*h.layers == 64);
  CHECK(*h.hidden == 64);
  CHECK(*h.dropout == 0.6);
  CHECK(*h.theta == 0.5);
  CHECK(*h.reg_weight_decay == 0.01);
  CHECK(*h.nonreg_weight_decay == 5e-4);
  CHECK(*h.num_parts == 2);
  CHECK(*h.batch_size == 1);
  CHECK(*h.epochs == 1000);
  h = gas_train::paper_preset(ModelKind::gat, "pubmed");
  CHECK(*h.out_heads == 8);
  CHECK(*h.reg_weight_decay == 1e-3);
}

TEST_CASE("gas-train: bad command lines are config errors naming the flag or value") {
  CHECK_THROWS_NAMING(gas::config_error, parse({"--model", "graphsage"}), "unknown model 'graphsage'");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--preset", "best"}), "unknown preset 'best'");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--mode", "mini"}), "--mode");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--frobnicate", "1"}), "unknown flag '--frobnicate'");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--epochs"}), "--epochs needs a value");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--epochs", "0"}), "--epochs");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--epochs", "12x"}), "'12x'");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--dropout", "1"}), "--dropout");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--lr", "nan"}), "--lr");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--batch-norm", "maybe"}), "not a boolean");
  CHECK_THROWS_NAMING(gas::config_error, parse({"cora"}), "unexpected argument 'cora'");
}

TEST_CASE("gas-train: --help stops parsing and is reported") {
  bool help = false;
  parse({"--help", "--model", "nonsense"}, &help);
  CHECK(help);
  CHECK(gas_train::usage().find("--preset paper") != std::string::npos);
}
