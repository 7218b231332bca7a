// Every convolution against PyTorch Geometric 2.3.1: the fixtures hold PyG's inputs, parameters (named as in its
// state_dict) and outputs; the gas layer gets the same parameters and must give the same output, on the full
// graph and on a bipartite batch [7 targets x 12 sources] as GAS feeds it.
#include <doctest/doctest.h>

#include <string>

#include "gas/autograd/tape.hpp"
#include "gas/core/rng.hpp"
#include "gas/nn/appnp.hpp"
#include "gas/nn/gat_conv.hpp"
#include "gas/nn/gcn2_conv.hpp"
#include "gas/nn/gcn_conv.hpp"
#include "gas/nn/gin_conv.hpp"
#include "gas/nn/mlp.hpp"
#include "gas/nn/pna_conv.hpp"
#include "gas/nn/sage_conv.hpp"
#include "nn/nn_test_util.hpp"

namespace {

using gas_test::Fixture;

/// Runs `run(tape, graph)` on the full graph and on the bipartite batch, comparing with `out` and `bip_out`.
template <class T, class Run>
void check_against_pyg(const Fixture& f, Run&& run) {
  const auto x = gas_test::fixture_tensor<double>(f, "x");
  const auto n = static_cast<gas::node_id>(x.rows());
  gas::autograd::Tape<T> tape;
  const auto full = gas_test::fixture_graph(f, "", n, n);
  const double full_error =
      gas_test::max_relative_error<T>(run(tape, full).value(), gas_test::fixture_tensor<double>(f, "out"));
  CHECK_MESSAGE(full_error <= gas_test::pyg_tolerance<T>(), "full graph: max relative error " << full_error);
  if (!f.contains("bip_rows")) return;
  const auto rows = static_cast<gas::node_id>(gas_test::entry(f, "bip_rows").to_vector<std::int64_t>().at(0));
  const auto batch = gas_test::fixture_graph(f, "bip_", rows, n);
  tape.reset();
  const double bip_error =
      gas_test::max_relative_error<T>(run(tape, batch).value(), gas_test::fixture_tensor<double>(f, "bip_out"));
  CHECK_MESSAGE(bip_error <= gas_test::pyg_tolerance<T>(), "bipartite batch: max relative error " << bip_error);
}

}  // namespace

TEST_CASE_TEMPLATE("GCNConv matches PyG's GCNConv(normalize=False) on pre-normalized weights", T, float, double) {
  const auto f = gas_test::load_fixture("gcn");
  gas::Rng rng(1);
  gas::nn::GCNConv<T> conv(5, 4, rng);
  gas_test::load_parameters<T>(f, conv.parameters());
  const auto x = gas_test::fixture_tensor<T>(f, "x");
  check_against_pyg<T>(
      f, [&](gas::autograd::Tape<T>& tape, const gas::Graph& adj) { return conv.forward(tape, tape.constant(x), adj); });
}

TEST_CASE_TEMPLATE("GATConv matches PyG's GATConv with concatenated and averaged heads", T, float, double) {
  for (const bool concat : {true, false}) {
    CAPTURE(concat);
    const auto f = gas_test::load_fixture(concat ? "gat_concat" : "gat_mean");
    gas::Rng rng(2);
    gas::nn::GATConv<T> conv({.in = 5, .out = 4, .heads = 2, .concat = concat}, rng);
    gas_test::load_parameters<T>(f, conv.parameters());
    const auto x = gas_test::fixture_tensor<T>(f, "x");
    check_against_pyg<T>(
        f, [&](gas::autograd::Tape<T>& tape, const gas::Graph& adj) { return conv.forward(tape, tape.constant(x), adj); });
    SUBCASE("separate target features give the same result") {
      check_against_pyg<T>(f, [&](gas::autograd::Tape<T>& tape, const gas::Graph& adj) {
        const auto xv = tape.constant(x);
        return conv.forward(tape, xv, gas::ops::slice_rows(xv, 0, adj.rows()), adj);
      });
    }
  }
}

TEST_CASE_TEMPLATE("GCN2Conv matches PyG's GCN2Conv with shared and separate weights", T, float, double) {
  for (const bool shared : {true, false}) {
    CAPTURE(shared);
    const auto f = gas_test::load_fixture(shared ? "gcn2_shared" : "gcn2_separate");
    gas::Rng rng(3);
    gas::nn::GCN2Conv<T> conv({.channels = 4, .alpha = 0.1, .theta = 0.5, .layer = 2, .shared_weights = shared}, rng);
    gas_test::load_parameters<T>(f, conv.parameters());
    const auto x = gas_test::fixture_tensor<T>(f, "x");
    const auto x0 = gas_test::fixture_tensor<T>(f, "x0");
    check_against_pyg<T>(f, [&](gas::autograd::Tape<T>& tape, const gas::Graph& adj) {
      return conv.forward(tape, tape.constant(x), tape.constant(x0), adj);
    });
  }
}

TEST_CASE_TEMPLATE("GINConv matches PyG's GINConv(Linear-ReLU-Linear, train_eps)", T, float, double) {
  const auto f = gas_test::load_fixture("gin");
  gas::Rng rng(4);
  gas::nn::GINConv<T> conv({.eps = 0.0, .train_eps = true}, gas::nn::MLPOptions{.channels = {5, 8, 4}}, rng);
  // PyG's Sequential numbers its modules: Linear 0, ReLU 1, Linear 2.
  gas_test::load_parameters<T>(f, conv.parameters(), [](const std::string& name) {
    if (name.starts_with("nn.lins.0")) return "nn.0" + name.substr(9);
    if (name.starts_with("nn.lins.1")) return "nn.2" + name.substr(9);
    return name;
  });
  CHECK(conv.eps.value(0, 0) == doctest::Approx(0.3));
  const auto x = gas_test::fixture_tensor<T>(f, "x");
  check_against_pyg<T>(
      f, [&](gas::autograd::Tape<T>& tape, const gas::Graph& adj) { return conv.forward(tape, tape.constant(x), adj); });
}

TEST_CASE_TEMPLATE("PNAConv matches PyG's PNAConv(sum/mean/max x identity/amplification/attenuation)", T, float,
                   double) {
  const auto f = gas_test::load_fixture("pna");
  const auto x = gas_test::fixture_tensor<T>(f, "x");
  const auto n = static_cast<gas::node_id>(x.rows());
  const auto degrees = gas::nn::degree_statistics(gas_test::fixture_graph(f, "", n, n));
  CHECK(degrees.avg_log == doctest::Approx(gas_test::entry(f, "avg_deg_log").to_vector<double>().at(0)).epsilon(1e-12));
  CHECK(degrees.avg_lin ==
        doctest::Approx(gas_test::entry(f, "aggr_module.avg_deg_lin").to_vector<double>().at(0)).epsilon(1e-12));
  gas::Rng rng(5);
  gas::nn::PNAConv<T> conv({.in = 5, .out = 4, .degrees = degrees}, rng);
  gas_test::load_parameters<T>(f, conv.parameters());
  check_against_pyg<T>(
      f, [&](gas::autograd::Tape<T>& tape, const gas::Graph& adj) { return conv.forward(tape, tape.constant(x), adj); });
}

TEST_CASE_TEMPLATE("SAGEConv matches PyG's SAGEConv(aggr='mean')", T, float, double) {
  const auto f = gas_test::load_fixture("sage");
  gas::Rng rng(6);
  gas::nn::SAGEConv<T> conv(5, 4, rng);
  gas_test::load_parameters<T>(f, conv.parameters());
  const auto x = gas_test::fixture_tensor<T>(f, "x");
  check_against_pyg<T>(
      f, [&](gas::autograd::Tape<T>& tape, const gas::Graph& adj) { return conv.forward(tape, tape.constant(x), adj); });
}

TEST_CASE_TEMPLATE("APPNP matches PyG's APPNP(K=3, alpha=0.1, normalize=False)", T, float, double) {
  const auto f = gas_test::load_fixture("appnp");
  gas::nn::APPNP<T> prop(3, 0.1);
  const auto x = gas_test::fixture_tensor<T>(f, "x");
  check_against_pyg<T>(
      f, [&](gas::autograd::Tape<T>& tape, const gas::Graph& adj) { return prop.forward(tape, tape.constant(x), adj); });
}
