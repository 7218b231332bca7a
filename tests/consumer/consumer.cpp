// A program outside the gas source tree: proves the installed headers and gas.pc, or the subproject, suffice.
#include <gas/gas.hpp>

#include <cstdio>

int main() {
  const gas::Dataset data = gas::io::load("sbm:nodes=100,classes=2,features=4,seed=1");
  std::printf("%s %d\n", data.name.c_str(), data.num_nodes());
  return data.num_nodes() == 100 ? 0 : 1;
}
