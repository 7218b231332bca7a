#pragma once
/// @brief gas-train's configuration: the command line, the reference's presets and each model's defaults.
///
/// A hyperparameter is resolved in this order: the flag on the command line, then the preset (`--preset paper`:
/// the reference's published configuration for the dataset and model, found by the dataset's name: the small
/// benchmark (Cora, CiteSeer, PubMed; Coauthor-CS and -Physics, Amazon-Computers and -Photo with their per-class
/// random splits) and the large benchmark (Reddit, Flickr, PPI, Yelp, ogbn-arxiv, ogbn-products)), then the
/// model's default. Every hyperparameter is an optional until resolve() fills it, so "the user did not say" stays
/// distinguishable from "the user said the default". Bad input (unknown flag, model or preset, a malformed or
/// out-of-range number) throws gas::config_error naming the flag and the value; so does a preset for a dataset or
/// model the reference never ran, or one that needs an option gas-train lacks (presets never guess).

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/graph/features.hpp>
#include <gas/graph/splits.hpp>
#include <gas/train/metrics.hpp>

namespace gas_train {

/// @brief The backbones gas-train knows, named as on the command line.
enum class ModelKind { gcn, gat, appnp, gcnii, gin, pna, pna_jk };

/// @brief Command-line names of the models, in ModelKind order.
inline constexpr std::string_view model_names[] = {"gcn", "gat", "appnp", "gcnii", "gin", "pna", "pna_jk"};

/// @brief The command-line name of `kind`.
inline std::string_view name_of(ModelKind kind) { return model_names[static_cast<int>(kind)]; }

/// @brief The model named `name`; throws config_error listing the known names.
inline ModelKind parse_model(std::string_view name) {
  for (int k = 0; k < static_cast<int>(std::size(model_names)); ++k)
    if (model_names[k] == name) return static_cast<ModelKind>(k);
  throw gas::config_error("--model: unknown model '" + std::string(name) +
                          "' (known: gcn, gat, appnp, gcnii, gin, pna, pna_jk)");
}

/// @brief Every hyperparameter gas-train sets; unset (nullopt) until resolve() fills it.
struct Hyper {
  std::optional<std::int32_t> layers;       ///< convolutions (GCN, GAT, GCNII, GIN, PNA) or APPNP's K
  std::optional<std::int64_t> hidden;       ///< hidden width (per head for GAT)
  std::optional<std::int64_t> heads;        ///< GAT: heads of the hidden layers
  std::optional<std::int64_t> out_heads;    ///< GAT: heads of the output layer
  std::optional<double> dropout;            ///< dropout of the hidden layers
  std::optional<double> input_dropout;      ///< GCN: dropout on the input features
  std::optional<double> alpha;              ///< APPNP / GCNII: teleport (initial-residual) weight
  std::optional<double> theta;              ///< GCNII: beta_l = log(theta / l + 1)
  std::optional<bool> batch_norm;           ///< GCN / GCNII / GIN / PNA: BatchNorm after the hidden convolutions
  std::optional<bool> residual;             ///< GCN / GCNII / PNA: residual connections
  std::optional<std::int32_t> epochs;       ///< training epochs
  std::optional<double> lr;                 ///< Adam's learning rate
  std::optional<double> reg_weight_decay;   ///< weight decay of the reference's `reg` group
  std::optional<double> nonreg_weight_decay;  ///< weight decay of the `nonreg` group
  std::optional<double> grad_clip;          ///< gradient-norm clipping; 0 = none
  std::optional<std::int32_t> num_parts;    ///< METIS clusters (GAS mode)
  std::optional<std::int32_t> batch_size;   ///< clusters per step
  std::optional<std::int64_t> max_steps;    ///< steps per epoch at most; 0 = all
  std::optional<bool> row_normalize;        ///< divide each feature row by its sum (PyG's NormalizeFeatures)
  std::optional<bool> standardize;          ///< standardise each feature column (the reference's Yelp features)
  std::optional<bool> linear;               ///< GCN: Linear layers before the first and after the last conv
  std::optional<bool> drop_input;           ///< GCNII / PNA: dropout (the `dropout` rate) on the input features
  std::optional<bool> shared_weights;       ///< GCNII: one weight for A_hat x and x0 (else two per layer)
};

/// @brief Everything the command line says.
struct Config {
  std::string dataset = "sbm";  ///< a gas::io::load spec; the built-in SBM when --dataset is absent
  ModelKind model = ModelKind::gcn;
  std::string preset;           ///< "" or "paper"
  bool full = false;            ///< --mode full: full-batch training without histories
  std::int32_t runs = 1;
  /// --first-run K (1-based): train runs K..runs only, as the same invocation without it would (seed + r, split r):
  /// a long protocol spreads over processes or sessions, and their JSON files merge (tools/run_protocols.py).
  std::int32_t first_run = 0;
  std::uint64_t seed = 0;       ///< run r uses seed + r for its weights and dropout; METIS uses seed
  std::string json;             ///< --json FILE, or ""
  bool quiet = false;           ///< --quiet: no per-run lines
  /// --history-store: where the histories live (gas-train-cuda: pinned, zero-copy, bf16, device, host or mapped;
  /// gas-train: host, its only store); "" = the program's default.
  std::string history_store;
  /// --history-io: sync or overlapped (gas-train-cuda; gas-train moves histories synchronously); "" = default.
  std::string history_io;
  /// --sparse-features: keep bag-of-words features in CSR (auto: under 10 % non-zero; docs/datasets.md).
  gas::SparseFeatures sparse_features = gas::SparseFeatures::automatic;
  Hyper hyper;                  ///< as given on the command line
  // What a run leaves behind and how it reports (docs/training.md, "Progress, logs, checkpoints").
  std::int32_t log_every = 0;   ///< --log-every N: a plain progress line every N epochs; 0 = live line on a terminal
  std::string log;              ///< --log FILE.jsonl|FILE.csv: one record per epoch per run, flushed each epoch
  std::string plot;             ///< --plot FILE.svg: loss and metric curves of the runs
  std::string checkpoint;       ///< --checkpoint FILE: the run's state, every --checkpoint-every epochs and at the end
  std::int32_t checkpoint_every = 0;
  std::string resume;           ///< --resume FILE: continue the runs a checkpoint was written by
  std::int32_t patience = 0;    ///< --patience N: stop a run after N evaluations without a better val metric
  std::string save_predictions;  ///< --save-predictions FILE.npy: best run's class probabilities, original order
  std::string save_embeddings;   ///< --save-embeddings FILE.npy: its last hidden layer, original order
  /// --split PROTOCOL (gas/graph/splits.hpp): N, all, per-class:..., random:...; "" = the preset's, else 0.
  std::string split;
  std::string metric;           ///< --metric accuracy|micro_f1|roc_auc; "" = the dataset's published metric
};

namespace detail {

template <class Int>
Int parse_int(std::string_view flag, std::string_view text, Int low, Int high) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < low || value > high)
    throw gas::config_error(std::string(flag) + ": '" + std::string(text) + "' is not an integer in [" +
                            std::to_string(low) + ", " + std::to_string(high) + "]");
  return value;
}

inline double parse_real(std::string_view flag, std::string_view text, double low, double high, bool open_high) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool in_range = value >= low && (open_high ? value < high : value <= high);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) || !in_range)
    throw gas::config_error(std::string(flag) + ": '" + std::string(text) + "' is not a number in [" +
                            std::to_string(low) + ", " + std::to_string(high) + (open_high ? ")" : "]"));
  return value;
}

inline std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

inline std::string nonempty(std::string_view flag, std::string_view text) {
  if (text.empty()) throw gas::config_error(std::string(flag) + " needs a file name");
  return std::string(text);
}

inline std::string npy_path(std::string_view flag, std::string_view text) {
  if (!lowercase(text).ends_with(".npy"))
    throw gas::config_error(std::string(flag) + ": '" + std::string(text) + "' must end in .npy (numpy's format)");
  return std::string(text);
}

inline bool parse_bool(std::string_view flag, std::string_view text) {
  if (text == "1" || text == "true" || text == "on" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "off" || text == "no") return false;
  throw gas::config_error(std::string(flag) + ": '" + std::string(text) + "' is not a boolean (true/false, 1/0, on/off)");
}

}  // namespace detail

/// @brief The usage text.
inline std::string usage() {
  return "usage: gas-train [--dataset SPEC] [--model gcn|gat|appnp|gcnii|gin|pna|pna_jk] [--preset paper]\n"
         "                 [--mode gas|full] [--runs N [--first-run K]] [--seed S] [--json FILE] [--quiet]\n"
         "                 [hyperparameters]\n"
         "                 [--history-store pinned|zero-copy|bf16|device|host|mapped] [--history-io sync|overlapped]\n"
         "                 [--sparse-features auto|always|never] [--split PROTOCOL] [--metric accuracy|micro_f1|roc_auc]\n"
         "                 [--log-every N] [--log FILE.jsonl|FILE.csv] [--plot FILE.svg] [--patience N]\n"
         "                 [--checkpoint FILE [--checkpoint-every N]] [--resume FILE]\n"
         "                 [--save-predictions FILE.npy] [--save-embeddings FILE.npy]\n"
         "  SPEC: planetoid:DIR | npz:FILE | ogb:DIR | saint:DIR | sbm[:key=value,...] (default: sbm)\n"
         "  hyperparameters (each overrides the preset and the model's default):\n"
         "    --layers N --hidden N --heads N --out-heads N --dropout P --input-dropout P --alpha A --theta T\n"
         "    --batch-norm B --residual B --epochs N --lr X --reg-wd X --nonreg-wd X --grad-clip X (0 = none)\n"
         "    --num-parts K --batch-size B --max-steps N --row-normalize B --standardize B --linear B\n"
         "    --drop-input B --shared-weights B\n"
         "  B is true/false; APPNP's --layers is its K propagation steps.\n"
         "  --preset paper: the reference's configuration for the dataset (by its name: cora, citeseer, pubmed,\n"
         "  ms_academic_cs, ms_academic_phy, amazon_electronics_computers, amazon_electronics_photo, reddit, flickr,\n"
         "  ppi, yelp, ogbn-arxiv, ogbn-products) and the model, split protocol included.\n"
         "  --split: N (stored split N, 0-based), all (run r on stored split r mod S), per-class:train=20,val=30\n"
         "  [,count=C][,seed=S] or random:train=0.6,val=0.2[,count=C][,seed=S] (generated; C defaults to --runs;\n"
         "  run r uses split r mod C). Default: the preset's protocol, else split 0.\n"
         "  --first-run K trains runs K..N of the N only, each exactly as the full invocation trains it.\n"
         "  --history-store and --history-io choose how gas-train-cuda keeps and moves histories (default zero-copy,\n"
         "  overlapped; docs/histories.md); gas-train keeps them in host memory (host, sync).\n"
         "  --sparse-features keeps bag-of-words features in CSR (auto: when under 10 % are non-zero; docs/datasets.md).\n"
         "  Progress goes to stderr: a live line on a terminal, else (or with --log-every N) a line every N epochs;\n"
         "  --quiet prints neither progress nor per-run lines. --log writes a record per epoch per run (gas-plot draws\n"
         "  them); --checkpoint saves the runs' state (atomically) every N epochs, at the end and on Ctrl-C;\n"
         "  --resume FILE --epochs N continues them to N epochs, bit for bit as if never interrupted. The first\n"
         "  Ctrl-C finishes the step, saves and exits 130; a second exits at once. --save-predictions and\n"
         "  --save-embeddings write the best run's softmax (sigmoid for multi-label) outputs and last hidden layer\n"
         "  for every node in the dataset's order, as float32 .npy files.\n";
}

/// @brief Parses argv[1..argc). Throws config_error for an unknown flag, a flag without its value, a malformed
/// or out-of-range value, an unknown model, preset or mode. `--help` sets `help` and stops parsing.
inline Config parse_args(int argc, const char* const* argv, bool* help = nullptr) {
  Config c;
  constexpr auto int_max = std::numeric_limits<std::int32_t>::max();
  constexpr auto long_max = std::numeric_limits<std::int64_t>::max();
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      if (help != nullptr) *help = true;
      return c;
    }
    if (flag == "--quiet") {
      c.quiet = true;
      continue;
    }
    if (!flag.starts_with("--")) throw gas::config_error("unexpected argument '" + std::string(flag) + "'");
    if (i + 1 >= argc) throw gas::config_error(std::string(flag) + " needs a value");
    const std::string_view v = argv[++i];
    Hyper& h = c.hyper;
    using detail::parse_bool, detail::parse_int, detail::parse_real, detail::lowercase, detail::nonempty,
        detail::npy_path;
    if (flag == "--dataset") c.dataset = v;
    else if (flag == "--model") c.model = parse_model(v);
    else if (flag == "--preset") {
      if (v != "paper") throw gas::config_error("--preset: unknown preset '" + std::string(v) + "' (known: paper)");
      c.preset = v;
    } else if (flag == "--mode") {
      if (v != "gas" && v != "full") throw gas::config_error("--mode: '" + std::string(v) + "' is neither gas nor full");
      c.full = v == "full";
    } else if (flag == "--runs") c.runs = parse_int<std::int32_t>(flag, v, 1, 1000);
    else if (flag == "--first-run") c.first_run = parse_int<std::int32_t>(flag, v, 1, 1000) - 1;
    else if (flag == "--seed") c.seed = parse_int<std::uint64_t>(flag, v, 0, std::numeric_limits<std::uint64_t>::max());
    else if (flag == "--json") c.json = v;
    else if (flag == "--log-every") c.log_every = parse_int<std::int32_t>(flag, v, 1, int_max);
    else if (flag == "--log") {
      const std::string lower = lowercase(v);
      if (!lower.ends_with(".jsonl") && !lower.ends_with(".csv"))
        throw gas::config_error("--log: '" + std::string(v) + "' must end in .jsonl or .csv (the format)");
      c.log = v;
    } else if (flag == "--plot") {
      if (!lowercase(v).ends_with(".svg")) throw gas::config_error("--plot: '" + std::string(v) + "' must end in .svg");
      c.plot = v;
    } else if (flag == "--checkpoint") c.checkpoint = nonempty(flag, v);
    else if (flag == "--checkpoint-every") c.checkpoint_every = parse_int<std::int32_t>(flag, v, 1, int_max);
    else if (flag == "--resume") c.resume = nonempty(flag, v);
    else if (flag == "--patience") c.patience = parse_int<std::int32_t>(flag, v, 1, int_max);
    else if (flag == "--save-predictions") c.save_predictions = npy_path(flag, v);
    else if (flag == "--save-embeddings") c.save_embeddings = npy_path(flag, v);
    else if (flag == "--history-store") {
      constexpr std::string_view stores[] = {"pinned", "zero-copy", "bf16", "device", "host", "mapped"};
      if (std::find(std::begin(stores), std::end(stores), v) == std::end(stores))
        throw gas::config_error("--history-store: '" + std::string(v) +
                                "' is not pinned, zero-copy, bf16, device, host or mapped");
      c.history_store = v;
    } else if (flag == "--history-io") {
      if (v != "sync" && v != "overlapped")
        throw gas::config_error("--history-io: '" + std::string(v) + "' is neither sync nor overlapped");
      c.history_io = v;
    } else if (flag == "--sparse-features") {
      c.sparse_features = gas::parse_sparse_features(v, flag);
    }
    else if (flag == "--layers") h.layers = parse_int<std::int32_t>(flag, v, 1, 1024);
    else if (flag == "--hidden") h.hidden = parse_int<std::int64_t>(flag, v, 1, 1 << 20);
    else if (flag == "--heads") h.heads = parse_int<std::int64_t>(flag, v, 1, 1024);
    else if (flag == "--out-heads") h.out_heads = parse_int<std::int64_t>(flag, v, 1, 1024);
    else if (flag == "--dropout") h.dropout = parse_real(flag, v, 0, 1, true);
    else if (flag == "--input-dropout") h.input_dropout = parse_real(flag, v, 0, 1, true);
    else if (flag == "--alpha") h.alpha = parse_real(flag, v, 0, 1, false);
    else if (flag == "--theta") h.theta = parse_real(flag, v, 1e-12, inf, true);
    else if (flag == "--batch-norm") h.batch_norm = parse_bool(flag, v);
    else if (flag == "--residual") h.residual = parse_bool(flag, v);
    else if (flag == "--epochs") h.epochs = parse_int<std::int32_t>(flag, v, 1, int_max);
    else if (flag == "--lr") h.lr = parse_real(flag, v, 0, inf, true);
    else if (flag == "--reg-wd") h.reg_weight_decay = parse_real(flag, v, 0, inf, true);
    else if (flag == "--nonreg-wd") h.nonreg_weight_decay = parse_real(flag, v, 0, inf, true);
    else if (flag == "--grad-clip") h.grad_clip = parse_real(flag, v, 0, inf, true);
    else if (flag == "--num-parts") h.num_parts = parse_int<std::int32_t>(flag, v, 1, int_max);
    else if (flag == "--batch-size") h.batch_size = parse_int<std::int32_t>(flag, v, 1, int_max);
    else if (flag == "--max-steps") h.max_steps = parse_int<std::int64_t>(flag, v, 0, long_max);
    else if (flag == "--row-normalize") h.row_normalize = parse_bool(flag, v);
    else if (flag == "--standardize") h.standardize = parse_bool(flag, v);
    else if (flag == "--linear") h.linear = parse_bool(flag, v);
    else if (flag == "--drop-input") h.drop_input = parse_bool(flag, v);
    else if (flag == "--shared-weights") h.shared_weights = parse_bool(flag, v);
    else if (flag == "--split") {
      (void)gas::parse_split_protocol(v, flag);  // malformed protocols fail here, before any loading
      c.split = v;
    } else if (flag == "--metric") {
      (void)gas::train::parse_metric(v, flag);
      c.metric = v;
    }
    else throw gas::config_error("unknown flag '" + std::string(flag) + "'");
  }
  if (c.checkpoint_every > 0 && c.checkpoint.empty())
    throw gas::config_error("--checkpoint-every needs --checkpoint FILE (where to save)");
  if (c.first_run >= c.runs)
    throw gas::config_error("--first-run " + std::to_string(c.first_run + 1) + " is past --runs " +
                            std::to_string(c.runs) + " (runs are numbered 1.." + std::to_string(c.runs) + ")");
  return c;
}

/// @brief Fills every field of `h` that is unset with the one of `from`.
inline void fill_unset(Hyper& h, const Hyper& from) {
  auto fill = [](auto& field, const auto& value) {
    if (!field) field = value;
  };
  fill(h.layers, from.layers);
  fill(h.hidden, from.hidden);
  fill(h.heads, from.heads);
  fill(h.out_heads, from.out_heads);
  fill(h.dropout, from.dropout);
  fill(h.input_dropout, from.input_dropout);
  fill(h.alpha, from.alpha);
  fill(h.theta, from.theta);
  fill(h.batch_norm, from.batch_norm);
  fill(h.residual, from.residual);
  fill(h.epochs, from.epochs);
  fill(h.lr, from.lr);
  fill(h.reg_weight_decay, from.reg_weight_decay);
  fill(h.nonreg_weight_decay, from.nonreg_weight_decay);
  fill(h.grad_clip, from.grad_clip);
  fill(h.num_parts, from.num_parts);
  fill(h.batch_size, from.batch_size);
  fill(h.max_steps, from.max_steps);
  fill(h.row_normalize, from.row_normalize);
  fill(h.standardize, from.standardize);
  fill(h.linear, from.linear);
  fill(h.drop_input, from.drop_input);
  fill(h.shared_weights, from.shared_weights);
}

/// @brief A published configuration: the hyperparameters, the split protocol the table was measured with ("" =
/// the dataset's stored split 0) and where it comes from.
struct Preset {
  Hyper hyper;
  std::string split;
  std::string source;
};

/// @brief The datasets `--preset paper` knows, by the names the readers give them (the gnn-benchmark files' stems;
/// OGB folders may be named arxiv, ogbn_arxiv or ogbn-arxiv).
inline constexpr std::string_view preset_datasets[] = {
    "cora", "citeseer", "pubmed", "ms_academic_cs", "ms_academic_phy", "amazon_electronics_computers",
    "amazon_electronics_photo", "reddit", "flickr", "ppi", "yelp", "ogbn-arxiv", "ogbn-products"};

namespace detail {

/// The preset table's key of a dataset name: lower case, OGB folder names unified to ogbn-NAME.
inline std::string preset_key(std::string_view name) {
  std::string k = lowercase(name);
  if (k.starts_with("ogbn_")) k[4] = '-';
  if (k == "arxiv" || k == "products") k = "ogbn-" + k;
  return k;
}

inline std::string known_list() {
  std::string out;
  for (auto d : preset_datasets) out += (out.empty() ? "" : ", ") + std::string(d);
  return out;
}

/// Layers / hidden / dropout / parts / batch / lr / weight decays / clip / epochs in the order the reference's
/// tables give them (REFERENCE.md).
inline void set(Hyper& h, std::int32_t layers, std::int64_t hidden, double dropout, std::int32_t parts,
                std::int32_t batch, double lr, double reg_wd, double nonreg_wd, double clip, std::int32_t epochs) {
  h.layers = layers, h.hidden = hidden, h.dropout = dropout, h.num_parts = parts, h.batch_size = batch;
  h.lr = lr, h.reg_weight_decay = reg_wd, h.nonreg_weight_decay = nonreg_wd, h.grad_clip = clip, h.epochs = epochs;
}

/// The small benchmark (PyGAS small_benchmark/conf/model/*.yaml; REFERENCE.md): Planetoid with row-normalized
/// features on the public split; Coauthor and Amazon with raw features on per-class 20/30 random splits (run r on
/// split r). GCN drops its input with the hidden dropout and GCNII drops it too (the reference's drop_input).
inline bool small_preset(ModelKind model, const std::string& d, Preset& p) {
  Hyper& h = p.hyper;
  const bool cora = d == "cora", citeseer = d == "citeseer", pubmed = d == "pubmed";
  const bool cs = d == "ms_academic_cs", phy = d == "ms_academic_phy";
  const bool computers = d == "amazon_electronics_computers", photo = d == "amazon_electronics_photo";
  const bool planetoid = cora || citeseer || pubmed;
  if (!planetoid && !cs && !phy && !computers && !photo) return false;
  p.source = "the reference's small benchmark (PyGAS small_benchmark/conf)";
  h.row_normalize = planetoid;
  if (!planetoid) p.split = "per-class:train=20,val=30";
  switch (model) {
    case ModelKind::gcn:
      if (planetoid) {
        set(h, 2, 16, 0.5, cora ? 40 : citeseer ? 24 : 8, cora ? 10 : citeseer ? 8 : 4, 0.01, 5e-4, 0,
            citeseer ? 0.0 : 1.0, 200);
      } else {
        set(h, 2, 64, 0.5, cs ? 2 : phy ? 4 : 32, cs ? 1 : phy ? 2 : 16, 0.01, 1e-3, 0, cs || computers ? 1.0 : 0.0,
            200);
      }
      h.input_dropout = 0.5;
      return true;
    case ModelKind::gat:
      if (computers || photo) return false;  // "not run" in the reference's table
      h.heads = 8, h.out_heads = pubmed ? 8 : 1;
      if (planetoid)
        set(h, 2, 8, 0.6, cora ? 40 : citeseer ? 24 : 4, cora ? 10 : citeseer ? 8 : 1, pubmed ? 0.01 : 0.005,
            pubmed ? 1e-3 : 5e-4, 0, cora ? 1.0 : 0.0, 400);
      else
        set(h, 2, 8, 0.6, cs ? 8 : 4, cs ? 2 : 1, 0.005, 0.01, 0, 0.0, 400);
      return true;
    case ModelKind::appnp:
      h.alpha = planetoid ? 0.1 : 0.2;
      if (planetoid)
        set(h, 10, 64, 0.5, citeseer ? 24 : 4, citeseer ? 6 : 2, 0.01, 5e-3, 0, cora ? 0.0 : 1.0, 600);
      else
        set(h, 10, 64, 0.5, cs ? 32 : phy ? 2 : computers ? 4 : 16, cs ? 16 : phy ? 1 : computers ? 2 : 8, 0.01, 5e-3,
            0, phy || photo ? 1.0 : 0.0, 600);
      return true;
    case ModelKind::gcnii:
      h.alpha = 0.1, h.drop_input = true, h.shared_weights = true;
      if (planetoid) {
        h.theta = cora ? 0.5 : citeseer ? 0.6 : 0.4;
        set(h, cora ? 64 : citeseer ? 32 : 16, cora ? 64 : 256, cora ? 0.6 : citeseer ? 0.7 : 0.5,
            cora ? 2 : citeseer ? 40 : 4, cora ? 1 : citeseer ? 20 : 2, 0.01, pubmed ? 5e-4 : 0.01, 5e-4,
            citeseer ? 1.0 : 0.0, 1000);
      } else {
        h.theta = 0.5;
        set(h, 16, 64, computers ? 0.2 : 0.5, cs ? 16 : phy ? 2 : computers ? 32 : 4,
            cs ? 8 : phy ? 1 : computers ? 16 : 2, 0.01, 0.01, 5e-4, cs ? 0.0 : 1.0, computers ? 300 : 1000);
      }
      return true;
    default: return false;  // GIN, PNA, PNA_JK: not in the small benchmark
  }
}

/// The large benchmark (PyGAS large_benchmark/conf/model/{gcn,gcn2,pna,pna_jk}.yaml; REFERENCE.md): weight decay 0,
/// a few steps per epoch, raw features (Yelp's standardised per column), the dataset's stored split. Options the
/// reference uses that gas-train lacks go to `missing` (PNA's aggregator lists, ogbn-products' edge dropout).
inline bool large_preset(ModelKind model, const std::string& d, Preset& p, std::string& missing) {
  Hyper& h = p.hyper;
  const bool reddit = d == "reddit", flickr = d == "flickr", ppi = d == "ppi", yelp = d == "yelp";
  const bool arxiv = d == "ogbn-arxiv", products = d == "ogbn-products";
  if (!reddit && !flickr && !ppi && !yelp && !arxiv && !products) return false;
  p.source = "the reference's large benchmark (PyGAS large_benchmark/conf)";
  h.row_normalize = false, h.standardize = yelp, h.batch_norm = false, h.residual = false;
  switch (model) {
    case ModelKind::gcn:
      h.linear = ppi, h.input_dropout = 0.0;
      if (reddit) set(h, 2, 256, 0.5, 200, 100, 0.01, 0, 0, 0, 400), h.max_steps = 2;
      if (flickr) set(h, 2, 256, 0.3, 24, 12, 0.01, 0, 0, 0, 400), h.max_steps = 2, h.batch_norm = true, h.input_dropout = 0.3;
      if (ppi) set(h, 2, 1024, 0.0, 20, 2, 0.005, 0, 0, 0, 1000), h.max_steps = 10, h.batch_norm = true, h.residual = true;
      if (yelp) set(h, 2, 512, 0.0, 40, 5, 0.01, 0, 0, 0, 500), h.max_steps = 4, h.residual = true;
      if (arxiv) set(h, 3, 256, 0.5, 80, 40, 0.01, 0, 0, 0, 300), h.max_steps = 2, h.batch_norm = true;
      if (products) set(h, 3, 256, 0.3, 7, 1, 0.005, 0, 0, 0, 300), h.max_steps = 4;
      return true;
    case ModelKind::gcnii:
      h.alpha = 0.1, h.theta = 0.5, h.shared_weights = false, h.drop_input = false;
      if (reddit) set(h, 4, 256, 0.5, 200, 100, 0.01, 0, 0, 0, 400), h.max_steps = 2, h.batch_norm = true, h.drop_input = true;
      if (flickr) set(h, 8, 256, 0.5, 24, 12, 0.01, 0, 0, 0, 400), h.max_steps = 2, h.batch_norm = true, h.drop_input = true;
      if (ppi) {
        set(h, 9, 2048, 0.2, 20, 2, 0.001, 0, 0, 1.0, 2000), h.max_steps = 10, h.residual = true, h.drop_input = true;
        h.alpha = 0.5, h.theta = 1.0;
      }
      if (yelp) set(h, 2, 512, 0.0, 40, 5, 0.01, 0, 0, 0, 500), h.max_steps = 4, h.alpha = 0.2;
      if (arxiv) {
        set(h, 4, 256, 0.3, 40, 20, 0.01, 0, 0, 0, 500), h.max_steps = 2, h.batch_norm = true;
        h.shared_weights = true, h.alpha = 0.2;
      }
      if (products) {
        set(h, 5, 128, 0.0, 150, 1, 0.001, 0, 0, 0, 240), h.max_steps = 151;
        missing = "edge dropout 0.8 (gas-train has no edge dropout)";
      }
      return true;
    case ModelKind::pna:
    case ModelKind::pna_jk: {
      const bool listed = model == ModelKind::pna ? (flickr || ppi || yelp || arxiv || products) : reddit;
      if (!listed) return false;
      const char* aggregators = flickr || reddit ? "mean and max" : "mean";
      missing = std::string("aggregators ") + aggregators + " with the identity and amplification scalers (gas-train's " +
                "PNA aggregates sum, mean and max with three scalers; the library takes the aggregators as a type, "
                "nn::PNABranchConv<T, B, nn::Aggregators<ops::aggr::Mean>>, docs/models.md)";
      if (products) missing += " and edge dropout 0.8";
      return true;
    }
    default: return false;  // GAT, APPNP, GIN: not in the large benchmark
  }
}

}  // namespace detail

/// @brief The reference's configuration of `model` on the dataset named `dataset` (as the reader reports it).
/// Throws config_error, never falling back to defaults: for a dataset the reference never ran (listing the known
/// ones), a model it did not run there, or a configuration that needs an option gas-train lacks (naming it).
inline Preset paper_preset(ModelKind model, std::string_view dataset) {
  const std::string key = detail::preset_key(dataset);
  const bool known = std::find(std::begin(preset_datasets), std::end(preset_datasets), key) != std::end(preset_datasets);
  if (!known)
    throw gas::config_error("--preset paper: the reference published no configuration for dataset '" +
                            std::string(dataset) + "' (known: " + detail::known_list() +
                            "); set the hyperparameters with flags instead");
  Preset p;
  std::string missing;
  const bool found = detail::small_preset(model, key, p) || detail::large_preset(model, key, p, missing);
  if (!found)
    throw gas::config_error("--preset paper: the reference did not run " + std::string(name_of(model)) + " on " +
                            key + "; set the hyperparameters with flags instead");
  if (!missing.empty())
    throw gas::config_error("--preset paper: the reference's " + std::string(name_of(model)) + " on " + key +
                            " needs " + missing + "; gas-train cannot honour it");
  return p;
}

/// @brief The defaults of `model` for anything neither the command line nor the preset sets: the reference
/// model's own defaults where it has them, 40 METIS parts taken 10 at a time, 200 epochs, no clipping.
inline Hyper model_defaults(ModelKind model) {
  Hyper h;
  h.epochs = 200, h.num_parts = 40, h.batch_size = 10, h.max_steps = 0, h.grad_clip = 0.0;
  h.row_normalize = false, h.standardize = false, h.batch_norm = false, h.residual = false, h.linear = false;
  h.drop_input = true, h.shared_weights = true;
  h.heads = 8, h.out_heads = 1, h.input_dropout = 0, h.alpha = 0.1, h.theta = 0.5;
  h.lr = 0.01, h.reg_weight_decay = 5e-4, h.nonreg_weight_decay = 0;
  switch (model) {
    case ModelKind::gcn: h.layers = 2, h.hidden = 16, h.dropout = 0.5; break;
    case ModelKind::gat: h.layers = 2, h.hidden = 8, h.dropout = 0.6, h.lr = 0.005; break;
    case ModelKind::appnp: h.layers = 10, h.hidden = 64, h.dropout = 0.5, h.reg_weight_decay = 5e-3; break;
    case ModelKind::gcnii:
      h.layers = 8, h.hidden = 64, h.dropout = 0.5, h.reg_weight_decay = 0.01, h.nonreg_weight_decay = 5e-4;
      break;
    // Without batch norm: statistics of a batch of a few METIS clusters (mostly a few classes each) are far from
    // the graph's, which stalls training (--batch-norm true to have it).
    // Sum and max aggregation over raw neighbors give large activations: smaller steps than GCN's (on the default
    // SBM, 30 epochs: GIN 94.6 % at lr 0.005, PNA 97.0 % at 0.005 but 47 % at 0.01, PNA_JK 92.9 % at 0.001 and
    // 54 % at 0.005, full-batch as well as GAS).
    case ModelKind::gin: h.layers = 3, h.hidden = 64, h.dropout = 0.0, h.residual = true, h.lr = 0.005; break;
    case ModelKind::pna: h.layers = 2, h.hidden = 64, h.dropout = 0.0, h.lr = 0.005; break;
    case ModelKind::pna_jk: h.layers = 2, h.hidden = 64, h.dropout = 0.0, h.lr = 0.001; break;
  }
  return h;
}

/// @brief The hyperparameters a run uses: the command line's, then the preset's for `dataset_name` (the
/// loaded dataset's name), then the model's defaults. Every field is set afterwards.
inline Hyper resolve(const Config& c, std::string_view dataset_name) {
  Hyper h = c.hyper;
  if (c.preset == "paper") fill_unset(h, paper_preset(c.model, dataset_name).hyper);
  fill_unset(h, model_defaults(c.model));
  return h;
}

/// @brief The split protocol the runs use: --split, else the preset's, else the stored split 0.
inline gas::SplitProtocol resolve_split(const Config& c, std::string_view dataset_name) {
  std::string text = c.split;
  if (text.empty() && c.preset == "paper") text = paper_preset(c.model, dataset_name).split;
  return gas::parse_split_protocol(text.empty() ? "0" : text, "--split");
}

}  // namespace gas_train
