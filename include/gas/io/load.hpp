#pragma once
/// @brief `gas::io::load(spec)`: one string picks the reader or generator, so programs take any dataset.
///
/// Spec grammar: `KIND:ARGUMENT` with KIND one of planetoid, npz, ogb, saint, edgelist, dimacs (ARGUMENT is
/// a path), or sbm, rmat (ARGUMENT is `key=value,...`, possibly empty: `sbm` alone is the default dataset).

#include <array>
#include <string>
#include <string_view>

#include "gas/core/error.hpp"
#include "gas/graph/dataset.hpp"
#include "gas/gen/rmat.hpp"
#include "gas/gen/sbm.hpp"
#include "gas/io/edgelist.hpp"
#include "gas/io/npz_dataset.hpp"
#include "gas/io/ogb.hpp"
#include "gas/io/planetoid.hpp"
#include "gas/io/saint.hpp"

namespace gas::io {

/// @brief A parsed dataset spec.
struct Spec {
  std::string kind;      ///< reader or generator name
  std::string argument;  ///< path, or key=value list for generators
};

/// @brief The kinds `load` understands, in the order the help text lists them.
inline constexpr std::array<std::string_view, 8> spec_kinds{"planetoid", "npz",    "ogb", "saint",
                                                            "edgelist",  "dimacs", "sbm", "rmat"};

/// @brief Splits `KIND:ARGUMENT`; throws config_error for an unknown kind or a missing path.
inline Spec parse_spec(std::string_view spec) {
  const auto colon = spec.find(':');
  Spec out{std::string(spec.substr(0, colon)), colon == std::string_view::npos ? "" : std::string(spec.substr(colon + 1))};
  bool known = false;
  for (auto kind : spec_kinds) known |= out.kind == kind;
  if (!known) {
    std::string kinds;
    for (auto kind : spec_kinds) kinds += (kinds.empty() ? "" : ", ") + std::string(kind);
    throw config_error("dataset spec '" + std::string(spec) + "': unknown kind '" + out.kind + "' (expected one of " +
                       kinds + ")");
  }
  const bool generator = out.kind == "sbm" || out.kind == "rmat";
  if (!generator && out.argument.empty())
    throw config_error("dataset spec '" + std::string(spec) + "': " + out.kind + " needs a path, as in " + out.kind +
                       ":PATH");
  return out;
}

/// @brief Loads or generates the dataset a spec names. Readers apply `options` (symmetrize, self-loops);
/// generators always produce symmetric graphs without self-loops.
inline Dataset load(std::string_view spec, const LoadOptions& options = {}) {
  const Spec s = parse_spec(spec);
  if (s.kind == "planetoid") return read_planetoid(s.argument, options);
  if (s.kind == "npz") return read_npz(s.argument, options);
  if (s.kind == "ogb") return read_ogb(s.argument, options);
  if (s.kind == "saint") return read_saint(s.argument, options);
  if (s.kind == "edgelist") return read_edgelist(s.argument, options);
  if (s.kind == "dimacs") return read_dimacs(s.argument, options);
  if (s.kind == "sbm") return gen::sbm(gen::parse_sbm(s.argument));
  return gen::rmat(gen::parse_rmat(s.argument));
}

}  // namespace gas::io
