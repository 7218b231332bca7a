#include <doctest/doctest.h>

#include <string>

#include "gas/graph/io/load.hpp"
#include "test_util.hpp"

namespace {

template <class Error>
std::string message_of(const std::string& spec) {
  try {
    (void)gas::io::load(spec);
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("expected an exception for " << spec);
  return {};
}

}  // namespace

TEST_CASE("parse_spec splits kind and argument") {
  auto s = gas::io::parse_spec("planetoid:/data/cora");
  CHECK(s.kind == "planetoid");
  CHECK(s.argument == "/data/cora");
  auto t = gas::io::parse_spec("npz:C:/windows/path.npz");  // only the first colon separates
  CHECK(t.argument == "C:/windows/path.npz");
  CHECK(gas::io::parse_spec("sbm").argument.empty());
}

TEST_CASE("unknown kinds and missing paths are config errors that name the spec") {
  auto what = message_of<gas::config_error>("graphml:foo.xml");
  CHECK(what.find("graphml") != std::string::npos);
  CHECK(what.find("planetoid") != std::string::npos);  // the message lists what is understood
  CHECK(message_of<gas::config_error>("").find("unknown kind") != std::string::npos);
  CHECK(message_of<gas::config_error>("npz").find("needs a path") != std::string::npos);
  CHECK(message_of<gas::config_error>("ogb:").find("needs a path") != std::string::npos);
  CHECK(message_of<gas::config_error>("sbm:nodes=abc").find("nodes") != std::string::npos);
}

TEST_CASE("every file kind reports a missing path as io_error naming it") {
  for (std::string kind : {"planetoid", "npz", "ogb", "saint", "edgelist", "dimacs"}) {
    const std::string path = "/definitely/not/here/" + kind;
    CHECK_MESSAGE(message_of<gas::io_error>(kind + ":" + path).find(path) != std::string::npos, kind);
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
                                {.symmetrise = false, .remove_self_loops = true});
  CHECK(directed.num_edges() <= cora.num_edges());
}
