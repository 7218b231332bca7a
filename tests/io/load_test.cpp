#include <doctest/doctest.h>

#include <string>

#include "gas/io/load.hpp"
#include "io/io_test_util.hpp"
#include "test_util.hpp"

TEST_CASE("parse_spec splits kind and argument") {
  auto s = gas::io::parse_spec("planetoid:/data/cora");
  CHECK(s.kind == "planetoid");
  CHECK(s.argument == "/data/cora");
  auto t = gas::io::parse_spec("npz:C:/windows/path.npz");  // only the first colon separates
  CHECK(t.argument == "C:/windows/path.npz");
  CHECK(gas::io::parse_spec("sbm").argument.empty());
}

TEST_CASE("unknown kinds and missing paths are config errors that name the spec") {
  // The message lists what is understood.
  CHECK_THROWS_NAMING(gas::config_error, gas::io::load("graphml:foo.xml"), "graphml", "planetoid");
  CHECK_THROWS_NAMING(gas::config_error, gas::io::load(""), "unknown kind");
  CHECK_THROWS_NAMING(gas::config_error, gas::io::load("npz"), "needs a path");
  CHECK_THROWS_NAMING(gas::config_error, gas::io::load("ogb:"), "needs a path");
  CHECK_THROWS_NAMING(gas::config_error, gas::io::load("sbm:nodes=abc"), "nodes");
}

TEST_CASE("every file kind reports a missing path as io_error naming it") {
  for (std::string kind : {"planetoid", "npz", "ogb", "saint", "edgelist", "dimacs"}) {
    const std::string path = "/definitely/not/here/" + kind;
    CAPTURE(kind);
    CHECK_THROWS_NAMING(gas::io_error, gas::io::load(kind + ":" + path), path);
  }
}

TEST_CASE("generators load without files") {
  auto sbm = gas::io::load("sbm");
  CHECK(sbm.num_nodes() > 0);
  CHECK(sbm.has_targets());
  auto rmat = gas::io::load("rmat:scale=8,seed=1");
  CHECK(rmat.num_nodes() == 256);
  CHECK_FALSE(rmat.has_targets());
}

TEST_CASE("load dispatches to the real readers" * doctest::skip(gas_test::missing("planetoid/cora"))) {
  auto cora = gas::io::load("planetoid:" + (gas_test::data_dir() / "planetoid/cora").string());
  CHECK(cora.num_nodes() == 2708);
  auto directed = gas::io::load("planetoid:" + (gas_test::data_dir() / "planetoid/cora").string(),
                                {.symmetrize = false, .remove_self_loops = true});
  CHECK(directed.num_edges() <= cora.num_edges());
}
