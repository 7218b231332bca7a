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
  // Presets never guess: a dataset the reference never ran is an error listing the known ones.
  CHECK_THROWS_NAMING(gas::config_error, gas_train::resolve(c, "sbm"), "no configuration for dataset 'sbm'",
                      "ms_academic_cs", "ogbn-products");
  CHECK(*gas_train::resolve(parse({"--model", "gcn"}), "sbm").num_parts == 40);  // without the preset: defaults
}

TEST_CASE("gas-train: the paper preset holds the reference's Cora table") {
  using gas_train::ModelKind;
  auto h = gas_train::paper_preset(ModelKind::gat, "cora").hyper;
  CHECK(*h.hidden == 8);
  CHECK(*h.heads == 8);
  CHECK(*h.out_heads == 1);
  CHECK(*h.dropout == 0.6);
  CHECK(*h.lr == 0.005);
  CHECK(*h.epochs == 400);
  h = gas_train::paper_preset(ModelKind::appnp, "cora").hyper;
  CHECK(*h.layers == 10);  // K
  CHECK(*h.alpha == 0.1);
  CHECK(*h.reg_weight_decay == 5e-3);
  CHECK(*h.num_parts == 4);
  CHECK(*h.batch_size == 2);
  CHECK(*h.epochs == 600);
  h = gas_train::paper_preset(ModelKind::gcnii, "cora").hyper;
  CHECK(*h.layers == 64);
  CHECK(*h.hidden == 64);
  CHECK(*h.dropout == 0.6);
  CHECK(*h.theta == 0.5);
  CHECK(*h.reg_weight_decay == 0.01);
  CHECK(*h.nonreg_weight_decay == 5e-4);
  CHECK(*h.num_parts == 2);
  CHECK(*h.batch_size == 1);
  CHECK(*h.epochs == 1000);
  h = gas_train::paper_preset(ModelKind::gat, "pubmed").hyper;
  CHECK(*h.out_heads == 8);
  CHECK(*h.reg_weight_decay == 1e-3);
}

TEST_CASE("gas-train: the paper preset holds the Coauthor / Amazon table with its per-class split protocol") {
  using gas_train::ModelKind;
  auto p = gas_train::paper_preset(ModelKind::gcn, "amazon_electronics_photo");
  CHECK(p.split == "per-class:train=20,val=30");
  CHECK(*p.hyper.hidden == 64);
  CHECK(*p.hyper.num_parts == 32);
  CHECK(*p.hyper.batch_size == 16);
  CHECK(*p.hyper.reg_weight_decay == 1e-3);
  CHECK(*p.hyper.grad_clip == 0.0);
  CHECK_FALSE(*p.hyper.row_normalize);  // raw features
  p = gas_train::paper_preset(ModelKind::gcn, "ms_academic_cs");
  CHECK(*p.hyper.num_parts == 2);
  CHECK(*p.hyper.grad_clip == 1.0);
  p = gas_train::paper_preset(ModelKind::gat, "ms_academic_cs");
  CHECK(*p.hyper.num_parts == 8);
  CHECK(*p.hyper.reg_weight_decay == 0.01);
  p = gas_train::paper_preset(ModelKind::appnp, "amazon_electronics_photo");
  CHECK(*p.hyper.alpha == 0.2);
  CHECK(*p.hyper.num_parts == 16);
  CHECK(*p.hyper.grad_clip == 1.0);
  p = gas_train::paper_preset(ModelKind::gcnii, "amazon_electronics_computers");
  CHECK(*p.hyper.layers == 16);
  CHECK(*p.hyper.dropout == 0.2);
  CHECK(*p.hyper.epochs == 300);
  p = gas_train::paper_preset(ModelKind::gcnii, "ms_academic_cs");
  CHECK(*p.hyper.grad_clip == 0.0);  // the reference's CoauthorCS GCN2 has grad_norm null
  CHECK(gas_train::paper_preset(ModelKind::gcn, "Cora").split.empty());  // the public split
  // The resolved protocol: the preset's unless --split says otherwise.
  auto c = parse({"--model", "gcn", "--preset", "paper"});
  CHECK(gas_train::resolve_split(c, "ms_academic_cs").kind == gas::SplitProtocol::Kind::per_class);
  CHECK(gas_train::resolve_split(c, "cora").kind == gas::SplitProtocol::Kind::stored);
  c = parse({"--model", "gcn", "--preset", "paper", "--split", "random:train=0.5,val=0.25"});
  CHECK(gas_train::resolve_split(c, "ms_academic_cs").kind == gas::SplitProtocol::Kind::random);

  CHECK_THROWS_NAMING(gas::config_error, gas_train::paper_preset(ModelKind::gat, "amazon_electronics_photo"),
                      "did not run gat on amazon_electronics_photo");
  CHECK_THROWS_NAMING(gas::config_error, gas_train::paper_preset(ModelKind::gin, "cora"), "did not run gin on cora");
}

TEST_CASE("gas-train: the paper preset holds the large benchmark and names what gas-train cannot honour") {
  using gas_train::ModelKind;
  auto h = gas_train::paper_preset(ModelKind::gcn, "ogbn_arxiv").hyper;  // OGB folder names are unified
  CHECK(*h.layers == 3);
  CHECK(*h.hidden == 256);
  CHECK(*h.batch_norm);
  CHECK(*h.num_parts == 80);
  CHECK(*h.max_steps == 2);
  CHECK(*h.reg_weight_decay == 0.0);
  h = gas_train::paper_preset(ModelKind::gcn, "ppi").hyper;
  CHECK(*h.linear);
  CHECK(*h.residual);
  CHECK(*h.hidden == 1024);
  h = gas_train::paper_preset(ModelKind::gcn, "flickr").hyper;
  CHECK(*h.input_dropout == 0.3);
  h = gas_train::paper_preset(ModelKind::gcnii, "arxiv").hyper;
  CHECK(*h.shared_weights);
  CHECK(*h.alpha == 0.2);
  h = gas_train::paper_preset(ModelKind::gcnii, "reddit").hyper;
  CHECK_FALSE(*h.shared_weights);
  CHECK(*h.drop_input);
  h = gas_train::paper_preset(ModelKind::gcnii, "yelp").hyper;
  CHECK(*h.standardize);
  CHECK(gas_train::paper_preset(ModelKind::gcn, "reddit").split.empty());  // the stored split
  CHECK_THROWS_NAMING(gas::config_error, gas_train::paper_preset(ModelKind::gcnii, "ogbn-products"), "edge dropout 0.8",
                      "cannot honour");
  CHECK_THROWS_NAMING(gas::config_error, gas_train::paper_preset(ModelKind::pna, "flickr"), "mean and max");
  CHECK_THROWS_NAMING(gas::config_error, gas_train::paper_preset(ModelKind::gat, "reddit"), "did not run gat on reddit");
}

TEST_CASE("gas-train: --split and --metric are checked as they are parsed") {
  CHECK(parse({"--split", "all"}).split == "all");
  CHECK(parse({"--metric", "roc_auc"}).metric == "roc_auc");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--split", "per-class:train=20"}), "--split", "needs both");
  CHECK_THROWS_NAMING(gas::config_error, parse({"--metric", "f1"}), "--metric", "unknown metric 'f1'");
  CHECK(gas_train::resolve_split(parse({}), "sbm").text() == "0");
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
