#pragma once
/// @brief Split protocols: which train/validation/test split each run of a benchmark uses, and the generated
/// splits of datasets that carry none.
///
/// A published benchmark fixes more than a model: the heterophilous datasets ship 10 splits and report the mean
/// over them; the reference runs Coauthor and Amazon on 20 random per-class splits (run r on split r); the
/// gnn-benchmark files ship no split at all. A `SplitProtocol` says which: one stored split, every stored split in
/// turn, or splits drawn from a seed. Text form (gas-train's `--split`, docs/datasets.md):
///
///   N                                          stored split N (0-based)
///   all                                        run r uses stored split r mod S
///   per-class:train=20,val=30[,count=C][,seed=S]  per split and class: `train` random nodes of the class for
///                                              training, the next `val` for validation, the rest for test
///   random:train=0.6,val=0.2[,count=C][,seed=S]   stratified fractions per class (unstratified for multi-label)
///
/// Generated splits are drawn serially from (seed, split index), so split k is the same whatever the count, the
/// thread count or the platform. Unlabeled nodes (label -1) join no set. Bad parameters are config_error naming
/// the parameter, or the class that is too small.

#include <algorithm>
#include <cmath>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/core/exact_text.hpp"
#include "gas/core/rng.hpp"
#include "gas/graph/dataset.hpp"

namespace gas {

/// @brief Which split each run uses; see the file comment for the text form.
struct SplitProtocol {
  enum class Kind { stored, all, per_class, random } kind = Kind::stored;
  std::int32_t index = 0;               ///< stored: the split's index
  std::int64_t train_per_class = 20;    ///< per_class: training nodes per class
  std::int64_t val_per_class = 30;      ///< per_class: validation nodes per class
  double train_fraction = 0.6;          ///< random: training share of each class
  double val_fraction = 0.2;            ///< random: validation share of each class
  std::optional<std::int32_t> count{};  ///< generated splits; unset: one per run (make_splits' default_count)
  std::uint64_t seed = 0;               ///< generated splits: split k draws from (seed, k)

  [[nodiscard]] bool generated() const { return kind == Kind::per_class || kind == Kind::random; }

  /// @brief The protocol in its text form, every parameter spelled out (`count` given as `count` when unset).
  [[nodiscard]] std::string text(std::optional<std::int32_t> count_if_unset = std::nullopt) const {
    const std::optional<std::int32_t> c = count ? count : count_if_unset;
    const std::string tail = (c ? ",count=" + std::to_string(*c) : std::string()) + ",seed=" + std::to_string(seed);
    switch (kind) {
      case Kind::stored: return std::to_string(index);
      case Kind::all: return "all";
      case Kind::per_class:
        return "per-class:train=" + std::to_string(train_per_class) + ",val=" + std::to_string(val_per_class) + tail;
      case Kind::random: return "random:train=" + exact_text(train_fraction) + ",val=" + exact_text(val_fraction) + tail;
    }
    return "?";
  }
};

namespace detail {

template <class Number>
Number split_number(std::string_view flag, std::string_view key, std::string_view text) {
  Number value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    throw config_error(std::string(flag) + ": " + std::string(key) + "='" + std::string(text) + "' is not a number");
  return value;
}

/// The nodes of each class in ascending id order (unlabeled nodes in none).
inline std::vector<std::vector<node_id>> nodes_by_class(const Dataset& data) {
  std::vector<std::vector<node_id>> out(static_cast<std::size_t>(std::max(0, data.num_classes)));
  for (std::size_t v = 0; v < data.labels.size(); ++v)
    if (data.labels[v] >= 0) out[static_cast<std::size_t>(data.labels[v])].push_back(static_cast<node_id>(v));
  return out;
}

/// The generator of split k: its own stream of the seed ("splt" + k), independent of every other split.
inline Rng split_rng(std::uint64_t seed, std::int32_t k) {
  return Rng(seed, 0x73706c7400000000ull + static_cast<std::uint64_t>(k));
}

inline void sort_split(Split& s) {
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.test.begin(), s.test.end());
}

/// `count` splits of `groups`: for split k, each group is shuffled by split k's generator and cut(size) = (t, tv)
/// gives its first t nodes to training, the next tv - t to validation and the rest to test.
template <class Cut>
std::vector<Split> draw_splits(const std::vector<std::vector<node_id>>& groups, std::int32_t count,
                               std::uint64_t seed, Cut cut) {
  std::vector<Split> out(static_cast<std::size_t>(count));
  for (std::int32_t k = 0; k < count; ++k) {
    Rng rng = split_rng(seed, k);
    Split& s = out[static_cast<std::size_t>(k)];
    for (const auto& members : groups) {
      std::vector<node_id> order = members;
      rng.shuffle(order.begin(), order.end());
      const auto [t, tv] = cut(order.size());
      s.train.insert(s.train.end(), order.begin(), order.begin() + t);
      s.val.insert(s.val.end(), order.begin() + t, order.begin() + tv);
      s.test.insert(s.test.end(), order.begin() + tv, order.end());
    }
    sort_split(s);
  }
  return out;
}

}  // namespace detail

/// @brief Parses the text form of a protocol. Throws config_error naming `flag` for anything else: an unknown
/// kind or key, a malformed or out-of-range number, fractions whose sum exceeds 1.
inline SplitProtocol parse_split_protocol(std::string_view text, std::string_view flag = "--split") {
  SplitProtocol p;
  const std::string shown = std::string(flag) + " '" + std::string(text) + "'";
  if (text == "all") {
    p.kind = SplitProtocol::Kind::all;
    return p;
  }
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const auto index = detail::split_number<std::int64_t>(flag, "index", text);
    if (index > 1'000'000) throw config_error(shown + ": split index out of range");
    p.index = static_cast<std::int32_t>(index);
    return p;
  }
  const auto colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  if (kind == "per-class") p.kind = SplitProtocol::Kind::per_class;
  else if (kind == "random") p.kind = SplitProtocol::Kind::random;
  else
    throw config_error(shown + ": not a split protocol (N, all, per-class:train=20,val=30[,count=C][,seed=S] or "
                       "random:train=0.6,val=0.2[,count=C][,seed=S])");
  const bool per_class = p.kind == SplitProtocol::Kind::per_class;
  bool has_train = false, has_val = false;
  std::string_view rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) throw config_error(shown + ": '" + std::string(item) + "' is not key=value");
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "train" || key == "val") {
      (key == "train" ? has_train : has_val) = true;
      if (per_class) {
        const auto k = detail::split_number<std::int64_t>(flag, key, value);
        if (k < 0 || k > 1'000'000'000) throw config_error(shown + ": " + std::string(key) + " must be a node count >= 0");
        (key == "train" ? p.train_per_class : p.val_per_class) = k;
      } else {
        const auto f = detail::split_number<double>(flag, key, value);
        if (!(f > 0 && f < 1)) throw config_error(shown + ": " + std::string(key) + " must be a fraction in (0, 1)");
        (key == "train" ? p.train_fraction : p.val_fraction) = f;
      }
    } else if (key == "count") {
      const auto c = detail::split_number<std::int64_t>(flag, key, value);
      if (c < 1 || c > 100'000) throw config_error(shown + ": count must lie in [1, 100000]");
      p.count = static_cast<std::int32_t>(c);
    } else if (key == "seed") {
      p.seed = detail::split_number<std::uint64_t>(flag, key, value);
    } else {
      throw config_error(shown + ": unknown key '" + std::string(key) + "' (train, val, count, seed)");
    }
  }
  if (!has_train || !has_val) throw config_error(shown + ": needs both train= and val=");
  if (per_class && p.train_per_class == 0) throw config_error(shown + ": train must be at least 1 node per class");
  if (!per_class && p.train_fraction + p.val_fraction > 1)
    throw config_error(shown + ": train + val = " + exact_text(p.train_fraction + p.val_fraction) + " exceeds 1");
  return p;
}

/// @brief `count` splits as the reference's benchmark draws them: for split k and each class c, a random
/// permutation of c's nodes (from (seed, k)) gives `train` training nodes, the next `val` validation nodes and
/// the rest test nodes. Throws config_error for multi-label or unlabeled data, or naming the first class with
/// fewer than train + val nodes.
inline std::vector<Split> per_class_splits(const Dataset& data, std::int64_t train, std::int64_t val,
                                           std::int32_t count, std::uint64_t seed) {
  GAS_CHECK(!data.is_multi_label() && !data.labels.empty(), config_error,
            "dataset '" << data.name << "': per-class splits need single-label targets");
  const auto classes = detail::nodes_by_class(data);
  for (std::size_t c = 0; c < classes.size(); ++c)
    GAS_CHECK(static_cast<std::int64_t>(classes[c].size()) >= train + val, config_error,
              "dataset '" << data.name << "': class " << c << " has " << classes[c].size() << " nodes, fewer than train "
                          << train << " + val " << val << " per class");
  return detail::draw_splits(classes, count, seed, [&](std::size_t) {
    return std::pair{static_cast<std::ptrdiff_t>(train), static_cast<std::ptrdiff_t>(train + val)};
  });
}

/// @brief `count` stratified random splits: for split k and each class with n nodes, round(train * n) random
/// nodes train, round(val * n) validate, the rest test (for multi-label data, the same over all labeled nodes).
/// Throws config_error naming the first class that would get no training node.
inline std::vector<Split> random_splits(const Dataset& data, double train, double val, std::int32_t count,
                                        std::uint64_t seed) {
  GAS_CHECK(train > 0 && val > 0 && train + val <= 1, config_error,
            "random split fractions train " << train << ", val " << val << " must be positive with a sum <= 1");
  std::vector<std::vector<node_id>> groups;
  if (data.is_multi_label() || data.labels.empty()) {
    std::vector<node_id> all(static_cast<std::size_t>(data.num_nodes()));
    for (std::size_t v = 0; v < all.size(); ++v) all[v] = static_cast<node_id>(v);
    groups.push_back(std::move(all));
  } else {
    groups = detail::nodes_by_class(data);
  }
  for (std::size_t c = 0; c < groups.size(); ++c) {
    const auto n = static_cast<double>(groups[c].size());
    GAS_CHECK(std::llround(train * n) >= 1, config_error,
              "dataset '" << data.name << "': class " << c << " has " << groups[c].size() << " nodes; a training share of "
                          << train << " leaves it no training node");
  }
  return detail::draw_splits(groups, count, seed, [&](std::size_t size) {
    const auto n = static_cast<double>(size);
    const auto t = static_cast<std::ptrdiff_t>(std::llround(train * n));
    return std::pair{t, std::min(static_cast<std::ptrdiff_t>(size), t + static_cast<std::ptrdiff_t>(std::llround(val * n)))};
  });
}

/// @brief The splits `protocol` runs on for `data`: the stored ones for `N` and `all` (checked to exist), or the
/// generated ones (`count`, or `default_count` when the protocol leaves it unset). Throws config_error naming the
/// dataset when it has no stored split, or fewer than N + 1.
inline std::vector<Split> make_splits(const Dataset& data, const SplitProtocol& protocol, std::int32_t default_count) {
  using Kind = SplitProtocol::Kind;
  if (protocol.kind == Kind::per_class || protocol.kind == Kind::random) {
    const std::int32_t count = protocol.count.value_or(std::max(1, default_count));
    return protocol.kind == Kind::per_class
               ? per_class_splits(data, protocol.train_per_class, protocol.val_per_class, count, protocol.seed)
               : random_splits(data, protocol.train_fraction, protocol.val_fraction, count, protocol.seed);
  }
  GAS_CHECK(!data.splits.empty(), config_error,
            "dataset '" << data.name << "' has no stored split; generate some with per-class:train=20,val=30 or "
                        << "random:train=0.6,val=0.2");
  GAS_CHECK(protocol.kind == Kind::all || protocol.index < static_cast<std::int32_t>(data.splits.size()), config_error,
            "dataset '" << data.name << "' has " << data.splits.size() << " stored split(s) (0 to "
                        << data.splits.size() - 1 << "); split " << protocol.index << " does not exist");
  return data.splits;
}

/// @brief The split run `run` uses among `num_splits`: the stored index for `N`, run mod num_splits otherwise.
inline std::int32_t split_of_run(const SplitProtocol& protocol, std::int32_t run, std::int32_t num_splits) {
  GAS_CHECK(num_splits > 0, value_error, "no splits to choose from");
  if (protocol.kind == SplitProtocol::Kind::stored) return protocol.index;
  return run % num_splits;
}

}  // namespace gas
