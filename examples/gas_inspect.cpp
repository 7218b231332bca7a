// gas-inspect: load any dataset spec and report what a reader saw; the quickest check that data is right.
//
//   gas-inspect SPEC [--json FILE] [--directed] [--keep-self-loops]
//               [--partition metis:K|metis-rb:K|random:K|contiguous:K [--batch-size B] [--seed S]]
//               [--split PROTOCOL] [--export-splits FILE.npz]
//               [--ranks P[,P...] [--hidden H] [--layers L]]
//
// Prints name, nodes, edges (directed entries after symmetrizing), features, classes, how many splits the
// dataset has and the sizes of each, plus degree statistics; with --partition also the partition's edge cut and
// balance and the training loader's batch and halo sizes over one epoch (B clusters per batch, default 1).
// --split shows the splits a protocol gives instead (gas/graph/splits.hpp: N, all, per-class:..., random:...;
// generated ones default to count=10, and split k is the same whatever the count), and --export-splits writes them
// as an npz of bool masks train_masks / val_masks / test_masks of shape (splits, nodes), the heterophilous
// benchmark's layout, for other tools (tools/pyg_fullbatch.py) to train on the very same nodes. With --json it
// writes the report as one JSON object. With --partition and --ranks, the model of scale of distributed GAS for
// each rank count P (gas/dist/scale_model.hpp, docs/distributed.md): per rank, its nodes, the history bytes it holds
// (a GCN of L layers, H wide: L - 1 histories) and the bytes one step exchanges (halo rows of its pulls, rows it
// serves, the gradient allreduce of that GCN's parameters). Any gas::error is printed and the exit status is 1.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <gas/gas.hpp>

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s SPEC [--json FILE] [--directed] [--keep-self-loops] [--sparse-features auto|always|never]\n"
               "          [--partition KIND:K [--batch-size B] [--seed S]] [--split PROTOCOL] [--export-splits FILE.npz]\n"
               "          [--ranks P[,P...] [--hidden H] [--layers L]]  (with --partition)\n"
               "  SPEC: planetoid:DIR | npz:FILE | ogb:DIR | saint:DIR | edgelist:FILE | dimacs:FILE |\n"
               "        sbm[:key=value,...] | rmat[:key=value,...]\n"
               "  KIND: metis | metis-rb | random | contiguous\n"
               "  PROTOCOL: N | all | per-class:train=20,val=30[,count=C][,seed=S] | random:train=0.6,val=0.2[,...]\n",
               argv0);
  return 2;
}

/// Parses a non-negative integer flag value; a bad one is a config error naming the flag.
std::int64_t flag_value(std::string_view flag, std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0)
    throw gas::config_error(std::string(flag) + ": '" + std::string(text) + "' is not a non-negative integer");
  return value;
}

/// Writes `splits` as (splits, nodes) bool masks, the heterophilous-graphs npz layout numpy and gas both read.
void export_splits(const std::string& path, const std::vector<gas::Split>& splits, std::int64_t nodes) {
  const auto count = static_cast<std::int64_t>(splits.size());
  std::vector<std::pair<std::string, std::string>> arrays;
  for (const auto& [key, member] : {std::pair{"train_masks", &gas::Split::train}, std::pair{"val_masks", &gas::Split::val},
                                    std::pair{"test_masks", &gas::Split::test}}) {
    const auto size = static_cast<std::size_t>(count * nodes);
    std::unique_ptr<bool[]> mask(new bool[size]());
    for (std::int64_t s = 0; s < count; ++s)
      for (const gas::node_id v : splits[static_cast<std::size_t>(s)].*member) mask[static_cast<std::size_t>(s * nodes + v)] = true;
    arrays.emplace_back(key, gas::io::npy_bytes(std::span<const bool>(mask.get(), size), {count, nodes}));
  }
  gas::io::write_npz(path, arrays);
}

/// What --ranks asks for: the rank counts and the GCN whose histories and gradients the model counts.
struct ScaleRequest {
  std::vector<int> ranks;
  std::int64_t hidden = 64;
  std::int32_t layers = 2;
};

/// The scale model of `graph` (permuted, clusters `ptr`) for each requested rank count, printed and in the report.
void inspect_scale(const gas::Dataset& data, const gas::Graph& graph, const std::vector<std::int64_t>& ptr,
                   std::int64_t batch_size, std::uint64_t seed, const ScaleRequest& request, gas::JsonWriter& json) {
  // A GCN's trainable values: a weight and a bias per layer, in -> hidden -> ... -> classes.
  std::int64_t parameters = 0;
  for (std::int32_t l = 0; l < request.layers; ++l) {
    const std::int64_t in = l == 0 ? data.num_features() : request.hidden;
    const std::int64_t out = l + 1 == request.layers ? data.num_classes : request.hidden;
    parameters += in * out + out;
  }
  gas::JsonWriter scale;
  scale.add("hidden", request.hidden).add("layers", request.layers).add("parameters", parameters);
  std::printf("distributed    GCN %d layers, hidden %lld, %lld parameters, float; per step and rank (largest):\n",
              request.layers, static_cast<long long>(request.hidden), static_cast<long long>(parameters));
  for (const int p : request.ranks) {
    const auto model = gas::dist::scale_model(graph, ptr, p,
                                              {.hidden = request.hidden, .layers = request.layers,
                                               .parameters = parameters, .value_bytes = 4,
                                               .batch_size = static_cast<std::int32_t>(batch_size), .seed = seed});
    std::vector<double> nodes, history, halo, served, gradient, remote, steps;
    for (const auto& r : model.per_rank) {
      nodes.push_back(static_cast<double>(r.nodes));
      history.push_back(static_cast<double>(r.history_bytes));
      halo.push_back(r.halo_bytes_per_step);
      served.push_back(r.served_bytes_per_step);
      gradient.push_back(r.gradient_bytes_per_step);
      remote.push_back(static_cast<double>(r.remote_rows) / static_cast<double>(std::max<std::int64_t>(r.steps, 1)));
      steps.push_back(static_cast<double>(r.steps));
    }
    gas::JsonWriter one;
    one.add_array("nodes", nodes)
        .add_array("steps", steps)
        .add_array("history_bytes", history)
        .add_array("remote_rows_per_step", remote)
        .add_array("halo_bytes_per_step", halo)
        .add_array("served_bytes_per_step", served)
        .add_array("gradient_bytes_per_step", gradient)
        .add("max_bytes_per_step", model.max_bytes_per_step())
        .add("max_history_bytes", model.max_history_bytes());
    scale.add_object("ranks_" + std::to_string(p), one);
    std::printf("  %3d ranks: history %.2f MiB, remote halo rows %.0f, exchange %.3f MB per step (halo %.3f, served "
                "%.3f, gradients %.3f)\n",
                p, static_cast<double>(model.max_history_bytes()) / (1 << 20), *std::max_element(remote.begin(), remote.end()),
                model.max_bytes_per_step() / 1e6, *std::max_element(halo.begin(), halo.end()) / 1e6,
                *std::max_element(served.begin(), served.end()) / 1e6, gradient.front() / 1e6);
  }
  json.add_object("distributed", scale);
}

/// Partitions the dataset, runs one epoch of the training loader, and adds what it saw to the report.
void inspect_partition(const gas::Dataset& data, const std::string& spec, std::int64_t batch_size,
                       std::uint64_t seed, const ScaleRequest& request, gas::JsonWriter& json) {
  const auto partition = gas::partition::partition_from_spec(spec, data.graph, seed);
  const auto quality = gas::partition::stats(data.graph, partition);
  const gas::Graph graph = gas::partition::permute(data.graph, partition);

  gas::loader::TrainLoader loader(graph, partition.ptr,
                                  {.batch_size = static_cast<std::int32_t>(batch_size), .seed = seed});
  loader.start_epoch(0);
  std::int64_t batches = 0, nodes = 0, halo = 0, max_nodes = 0, max_halo = 0;
  for (gas::loader::Batch batch; loader.next(batch);) {
    ++batches;
    nodes += batch.batch_size;
    halo += batch.num_halo();
    max_nodes = std::max<std::int64_t>(max_nodes, batch.batch_size);
    max_halo = std::max<std::int64_t>(max_halo, batch.num_halo());
  }
  const double mean_nodes = batches ? static_cast<double>(nodes) / batches : 0.0;
  const double mean_halo = batches ? static_cast<double>(halo) / batches : 0.0;

  json.add("partition", spec)
      .add("parts", quality.parts)
      .add("edge_cut", quality.edge_cut)
      .add("edge_cut_fraction", quality.edge_cut_fraction)
      .add("largest_part", quality.largest_part)
      .add("smallest_part", quality.smallest_part)
      .add("imbalance", quality.imbalance)
      .add("partition_seconds", partition.seconds)
      .add("batch_size", batch_size)
      .add("batches_per_epoch", batches)
      .add("mean_batch_nodes", mean_nodes)
      .add("max_batch_nodes", max_nodes)
      .add("mean_halo_nodes", mean_halo)
      .add("max_halo_nodes", max_halo);
  std::printf("partition      %s: edge cut %lld (%.4f of edges), parts %lld..%lld nodes, imbalance %.3f, %.3f s\n",
              spec.c_str(), static_cast<long long>(quality.edge_cut), quality.edge_cut_fraction,
              static_cast<long long>(quality.smallest_part), static_cast<long long>(quality.largest_part),
              quality.imbalance, partition.seconds);
  std::printf("batches        %lld per epoch of %lld clusters: nodes mean %.1f max %lld, halo mean %.1f max %lld\n",
              static_cast<long long>(batches), static_cast<long long>(batch_size), mean_nodes,
              static_cast<long long>(max_nodes), mean_halo, static_cast<long long>(max_halo));
  if (!request.ranks.empty()) inspect_scale(data, graph, partition.ptr, batch_size, seed, request, json);
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec, json_path, partition_spec, batch_text = "1", seed_text = "0", sparse_text = "auto";
  std::string split_text, export_path, ranks_text, hidden_text = "64", layers_text = "2";
  gas::LoadOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (arg == "--partition" && i + 1 < argc) partition_spec = argv[++i];
    else if (arg == "--batch-size" && i + 1 < argc) batch_text = argv[++i];
    else if (arg == "--seed" && i + 1 < argc) seed_text = argv[++i];
    else if (arg == "--directed") options.symmetrize = false;
    else if (arg == "--keep-self-loops") options.remove_self_loops = false;
    else if (arg == "--sparse-features" && i + 1 < argc) sparse_text = argv[++i];
    else if (arg == "--split" && i + 1 < argc) split_text = argv[++i];
    else if (arg == "--export-splits" && i + 1 < argc) export_path = argv[++i];
    else if (arg == "--ranks" && i + 1 < argc) ranks_text = argv[++i];
    else if (arg == "--hidden" && i + 1 < argc) hidden_text = argv[++i];
    else if (arg == "--layers" && i + 1 < argc) layers_text = argv[++i];
    else if (arg == "-h" || arg == "--help") return usage(argv[0]), 0;
    else if (!arg.starts_with("--") && spec.empty()) spec = arg;
    else return usage(argv[0]);
  }
  if (spec.empty()) return usage(argv[0]);

  try {
    // Flags are checked before the (possibly long) load, so a typo fails at once.
    const std::int64_t batch_size = flag_value("--batch-size", batch_text);
    const auto seed = static_cast<std::uint64_t>(flag_value("--seed", seed_text));
    if (batch_size < 1) throw gas::config_error("--batch-size must be at least 1");
    if (!partition_spec.empty()) (void)gas::partition::parse_partition_spec(partition_spec);
    ScaleRequest scale;
    if (!ranks_text.empty()) {
      if (partition_spec.empty()) throw gas::config_error("--ranks needs --partition (the ranks own whole parts)");
      for (std::size_t at = 0; at <= ranks_text.size();) {
        const auto comma = std::min(ranks_text.find(',', at), ranks_text.size());
        const auto p = flag_value("--ranks", std::string_view(ranks_text).substr(at, comma - at));
        if (p < 1 || p > 1'000'000) throw gas::config_error("--ranks: each rank count must lie in [1, 1000000]");
        scale.ranks.push_back(static_cast<int>(p));
        at = comma + 1;
      }
      scale.hidden = flag_value("--hidden", hidden_text);
      const auto layers = flag_value("--layers", layers_text);
      if (scale.hidden < 1 || layers < 1 || layers > 1024)
        throw gas::config_error("--hidden must be at least 1 and --layers in [1, 1024]");
      scale.layers = static_cast<std::int32_t>(layers);
    }
    options.sparse_features = gas::parse_sparse_features(sparse_text);
    const auto protocol = gas::parse_split_protocol(split_text.empty() ? "all" : split_text, "--split");
    const auto start = std::chrono::steady_clock::now();
    gas::Dataset data = gas::io::load(spec, options);
    // The splits to show and export: the stored ones unless --split generates others.
    if (!split_text.empty() || !export_path.empty())
      if (protocol.generated() || !data.splits.empty()) data.splits = gas::make_splits(data, protocol, 10);
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
        .add("sparse_features", data.features.is_sparse())
        .add("feature_nonzeros", data.features.nnz())
        .add("feature_bytes", data.features.bytes())
        .add("classes", data.num_classes)
        .add("multi_label", data.is_multi_label())
        .add("splits", data.splits.size())
        .add("split_protocol", split_text.empty() ? std::string("stored") : protocol.text(10))
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
    std::printf("features       %lld, %s: %lld stored values, %.1f MiB\n", static_cast<long long>(data.num_features()),
                data.features.is_sparse() ? "sparse (CSR)" : "dense", static_cast<long long>(data.features.nnz()),
                static_cast<double>(data.features.bytes()) / (1024.0 * 1024.0));
    std::printf("classes        %d%s\n", data.num_classes, data.is_multi_label() ? " (multi-label)" : "");
    std::vector<double> train_sizes, val_sizes, test_sizes;
    for (const auto& s : data.splits) {
      train_sizes.push_back(static_cast<double>(s.train.size()));
      val_sizes.push_back(static_cast<double>(s.val.size()));
      test_sizes.push_back(static_cast<double>(s.test.size()));
    }
    json.add_array("split_train", train_sizes).add_array("split_val", val_sizes).add_array("split_test", test_sizes);
    std::printf("splits         %zu%s\n", data.splits.size(),
                split_text.empty() ? (data.splits.empty() ? " (generate some with --split per-class:train=20,val=30)" : "")
                                   : (" (" + protocol.text(10) + ")").c_str());
    std::printf("train/val/test %zu / %zu / %zu (split 0)\n", split.train.size(), split.val.size(), split.test.size());
    constexpr std::size_t shown = 10;  // then a summary line: datasets with 20+ splits stay readable
    for (std::size_t k = 1; k < std::min(shown, data.splits.size()); ++k)
      std::printf("               %zu / %zu / %zu (split %zu)\n", data.splits[k].train.size(), data.splits[k].val.size(),
                  data.splits[k].test.size(), k);
    if (data.splits.size() > shown) std::printf("               ... and %zu more\n", data.splits.size() - shown);
    if (!export_path.empty()) {
      if (data.splits.empty()) throw gas::config_error("--export-splits: '" + data.name + "' has no stored split to export; generate "
                                "some with --split per-class:train=20,val=30 or --split random:train=0.6,val=0.2");
      export_splits(export_path, data.splits, data.num_nodes());
      std::printf("exported       %zu split(s) to %s\n", data.splits.size(), export_path.c_str());
    }
    std::printf("degree         max %lld, mean %.3f, isolated nodes %lld\n", static_cast<long long>(max_degree),
                data.num_nodes() ? static_cast<double>(data.num_edges()) / data.num_nodes() : 0.0,
                static_cast<long long>(isolated));
    std::printf("load time      %.3f s\n", seconds);
    if (!partition_spec.empty())
      inspect_partition(data, partition_spec, batch_size, seed, scale, json);
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
