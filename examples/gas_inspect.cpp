// gas-inspect: load any dataset spec and report what a reader saw; the quickest check that data is right.
//
//   gas-inspect SPEC [--json FILE] [--directed] [--keep-self-loops]
//
// Prints name, nodes, edges (directed entries after symmetrising), features, classes and the sizes of
// split 0, plus degree statistics; with --json writes the same as one JSON object. Any gas::error is
// printed and the exit status is 1.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <gas/gas.hpp>

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s SPEC [--json FILE] [--directed] [--keep-self-loops]\n"
               "  SPEC: planetoid:DIR | npz:FILE | ogb:DIR | saint:DIR | edgelist:FILE | dimacs:FILE |\n"
               "        sbm[:key=value,...] | rmat[:key=value,...]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec, json_path;
  gas::LoadOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (arg == "--directed") options.symmetrise = false;
    else if (arg == "--keep-self-loops") options.remove_self_loops = false;
    else if (arg == "-h" || arg == "--help") return usage(argv[0]), 0;
    else if (!arg.starts_with("--") && spec.empty()) spec = arg;
    else return usage(argv[0]);
  }
  if (spec.empty()) return usage(argv[0]);

  try {
    const auto start = std::chrono::steady_clock::now();
    const gas::Dataset data = gas::io::load(spec, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const auto degrees = gas::degrees(data.graph);
    const std::int64_t max_degree = degrees.empty() ? 0 : *std::max_element(degrees.begin(), degrees.end());
    const auto isolated = std::count(degrees.begin(), degrees.end(), 0);
    const gas::Split none;
    const gas::Split& split = data.splits.empty() ? none : data.splits.front();

    gas::JsonWriter json;
    json.add("name", data.name)
        .add("nodes", data.num_nodes())
        .add("edges", data.num_edges())
        .add("features", data.num_features())
        .add("classes", data.num_classes)
        .add("multi_label", data.is_multi_label())
        .add("splits", data.splits.size())
        .add("train", split.train.size())
        .add("val", split.val.size())
        .add("test", split.test.size())
        .add("max_degree", max_degree)
        .add("mean_degree", data.num_nodes() ? static_cast<double>(data.num_edges()) / data.num_nodes() : 0.0)
        .add("isolated_nodes", isolated)
        .add("load_seconds", seconds);

    std::printf("name           %s\n", data.name.c_str());
    std::printf("nodes          %d\n", data.num_nodes());
    std::printf("edges          %lld (directed entries)\n", static_cast<long long>(data.num_edges()));
    std::printf("features       %lld\n", static_cast<long long>(data.num_features()));
    std::printf("classes        %d%s\n", data.num_classes, data.is_multi_label() ? " (multi-label)" : "");
    std::printf("splits         %zu\n", data.splits.size());
    std::printf("train/val/test %zu / %zu / %zu (split 0)\n", split.train.size(), split.val.size(), split.test.size());
    std::printf("degree         max %lld, mean %.3f, isolated nodes %lld\n", static_cast<long long>(max_degree),
                data.num_nodes() ? static_cast<double>(data.num_edges()) / data.num_nodes() : 0.0,
                static_cast<long long>(isolated));
    std::printf("load time      %.3f s\n", seconds);
    if (!json_path.empty()) json.save(json_path);
  } catch (const gas::error& e) {
    std::fprintf(stderr, "gas-inspect: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // e.g. std::bad_alloc on a graph too large for this machine
    std::fprintf(stderr, "gas-inspect: unexpected failure: %s\n", e.what());
    return 1;
  }
  return 0;
}
