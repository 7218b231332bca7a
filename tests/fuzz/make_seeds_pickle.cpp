// The pickle seeds of make_seeds.cpp: Planetoid-shaped arrays, CSR matrices, adjacency dicts and plain values,
// written with the reader tests' pickle writer.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/pickle_writer.hpp"

std::vector<std::pair<std::string, std::string>> pickle_seeds() {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("ndarray_f4", gas_test::ndarray_pickle<float>({2, 2}, {1, 0, 0, 1}));
  out.emplace_back("ndarray_i8", gas_test::ndarray_pickle<std::int64_t>({3}, {1, 2, 3}));
  out.emplace_back("ndarray_f8_3d", gas_test::ndarray_pickle<double>({1, 1, 2}, {1, 2}));
  const auto csr = gas_test::csr_of(2, 3, {1, 0, 2, 0, 3, 0});
  out.emplace_back("csr_newobj", gas_test::csr_pickle(csr));
  out.emplace_back("csr_reconstructor", gas_test::csr_pickle(csr, gas_test::CsrStyle::reconstructor));
  out.emplace_back("graph", gas_test::graph_pickle({{0, {1, 2}}, {1, {0}}, {2, {0}}}));
  {
    gas_test::PickleWriter w;
    w.mark().integer(1).integer(300).integer(70000).integer(std::int64_t{1} << 40).floating(0.5).string("s");
    w.unicode("u").none().boolean(true).tuple().empty_list().mark().integer(1).appends().append();
    out.emplace_back("values", w.stop().bytes());
    gas_test::PickleWriter w0(0);
    out.emplace_back("protocol0", w0.integer(5).stop().bytes());
  }

  return out;
}
