// Writes the seed corpora of the fuzz targets (tools/fuzz.sh runs it before fuzzing): small valid and
// near-valid inputs built with the same writers as the reader tests (tests/io/npz_writer.hpp,
// tests/io/pickle_writer.hpp) and the library's own writers (Checkpoint, MappedStore). Seeds from the real
// datasets under ../shared/data are cut by tools/fuzz.sh itself, never stored in the repository.
// usage: make_seeds OUT_DIR   (writes OUT_DIR/<target>/<name>)
#define DOCTEST_CONFIG_DISABLE
#include <gas/history/mapped_store.hpp>
#include <gas/train/checkpoint.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <lzma.h>
#include <zlib.h>

#include "fuzz_util.hpp"
#include "io/npz_writer.hpp"

// make_seeds_pickle.cpp: its writer shares names with npz_writer.hpp, so it lives in its own translation unit.
std::vector<std::pair<std::string, std::string>> pickle_seeds();

namespace {

namespace fs = std::filesystem;
using gas_test::Bytes;
using gas_test::Method;
using gas_test::npy;

fs::path out_dir;

void seed(const std::string& target, const std::string& name, std::string_view bytes) {
  gas_fuzz::write_file(out_dir / target / name, bytes);
}
void seed(const std::string& target, const std::string& name, const Bytes& bytes) {
  seed(target, name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}
std::string text(const Bytes& b) { return {b.begin(), b.end()}; }

std::string gzip_bytes(std::string_view in) {  // a gzip member, as `gzip` writes it (zlib with a gzip wrapper)
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string xz_bytes(std::string_view in) {
  std::string out(lzma_stream_buffer_bound(in.size()), '\0');
  std::size_t pos = 0;
  if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const std::uint8_t*>(in.data()), in.size(),
                              reinterpret_cast<std::uint8_t*>(out.data()), &pos, out.size()) != LZMA_OK)
    std::abort();
  out.resize(pos);
  return out;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Bytes zip_of(const std::vector<std::pair<std::string, Bytes>>& arrays, Method method, bool zip64 = true) {
  gas_test::ZipWriter zip;
  for (const auto& [key, image] : arrays) zip.add(key + ".npy", image, method, {.zip64_local = zip64});
  return zip.finish(!zip64 ? false : method == Method::stored);
}

std::vector<std::pair<std::string, Bytes>> heterophilous() {
  return {{"node_features", npy<float>({3, 2}, {1, 0, 0, 1, 0.5f, 0.5f})},
          {"node_labels", npy<std::int64_t>({3}, {0, 1, 1})},
          {"edges", npy<std::int64_t>({2, 2}, {0, 1, 1, 2})},
          {"train_masks", npy<bool>({1, 3}, {true, false, false})},
          {"val_masks", npy<bool>({1, 3}, {false, true, false})},
          {"test_masks", npy<bool>({1, 3}, {false, false, true})}};
}

std::vector<std::pair<std::string, Bytes>> gnn_benchmark() {
  return {{"adj_data", npy<float>({3}, {1, 1, 1})},
          {"adj_indices", npy<std::int32_t>({3}, {1, 2, 0})},
          {"adj_indptr", npy<std::int32_t>({4}, {0, 1, 2, 3})},
          {"adj_shape", npy<std::int64_t>({2}, {3, 3})},
          {"attr_data", npy<float>({2}, {1, 1})},
          {"attr_indices", npy<std::int32_t>({2}, {0, 1})},
          {"attr_indptr", npy<std::int32_t>({4}, {0, 1, 2, 2})},
          {"attr_shape", npy<std::int64_t>({2}, {3, 2})},
          {"labels", npy<std::int8_t>({3}, {0, 1, 0})}};
}

std::vector<std::pair<std::string, Bytes>> scipy_csr() {  // scipy.sparse.save_npz of a 3x3 matrix
  return {{"indices", npy<std::int32_t>({3}, {1, 2, 0})},
          {"indptr", npy<std::int32_t>({4}, {0, 1, 2, 3})},
          {"format", gas_test::npy_string("csr")},
          {"shape", npy<std::int64_t>({2}, {3, 3})},
          {"data", npy<float>({3}, {1, 1, 1})}};
}

std::string join(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(gas_fuzz::section_separator)) + p;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  out_dir = argv[1];

  // npy: dtypes, orders, versions, byte orders, 0-d and empty arrays, strings.
  seed("npy", "f4_2x3", npy<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
  seed("npy", "i8_4", npy<std::int64_t>({4}, {0, -1, 2, 3}));
  seed("npy", "b1_2x2", npy<bool>({2, 2}, {true, false, false, true}));
  seed("npy", "u1_0d", gas_test::npy_bytes("|u1", {}, {7}));
  seed("npy", "f8_empty", npy<double>({0, 5}, {}));
  seed("npy", "f8_be", gas_test::npy_bytes(">f8", {2}, {0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0}));
  seed("npy", "i4_fortran", gas_test::npy_bytes("<i4", {2, 2}, gas_test::raw_bytes(std::vector<std::int32_t>{1, 2, 3, 4}), true));
  seed("npy", "f4_v2", gas_test::npy_bytes("<f4", {1}, gas_test::raw_bytes(std::vector<float>{1}), false, 2));
  seed("npy", "S3", gas_test::npy_string("csr"));
  seed("npy", "U2", gas_test::npy_bytes("<U2", {2}, {'a', 0, 0, 0, 'b', 0, 0, 0, 'c', 0, 0, 0, 0xe9, 0, 0, 0}));
  seed("npy", "f2", gas_test::npy_bytes("<f2", {1}, {0, 0x3c}));

  // zip and npz: stored and deflated, with and without ZIP64 records.
  for (const auto method : {Method::stored, Method::deflate}) {
    const std::string m = method == Method::stored ? "stored" : "deflate";
    seed("zip", "hetero_" + m, zip_of(heterophilous(), method));
    seed("zip", "plain_" + m, zip_of({{"a", npy<float>({2}, {1, 2})}}, method, false));
    seed("npz", "hetero_" + m, zip_of(heterophilous(), method));
    seed("npz", "benchmark_" + m, zip_of(gnn_benchmark(), method));
  }
  {
    gas_test::ZipWriter zip;
    zip.add("x.npy", npy<float>({1}, {1}), Method::deflate, {.zip64_local = true, .zip64_central = true});
    seed("zip", "zip64_all", zip.finish(true, "comment"));
  }

  for (const auto& [name, bytes] : pickle_seeds()) seed("pickle", name, bytes);

  // json: GraphSAINT-shaped documents and general syntax.
  seed("json", "class_map", std::string(R"({"0": 1, "1": [0, 1], "2": 0})"));
  seed("json", "role", std::string(R"({"tr": [0, 1], "va": [2], "te": []})"));
  seed("json", "values", std::string("[1, -2.5e-3, true, false, null, \"a\\u00e9\\ud83d\\ude00\\n\", {\"k\": {}}]"));

  // edge lists and DIMACS: plain, gzip and xz.
  const std::string edges = "# comment\n0 1\n1 2 0.5\n% other comment\n\n2 0\r\n";
  seed("edgelist", "plain", edges);
  seed("edgelist", "xz", xz_bytes(edges));
  {
    seed("edgelist", "gzip", gzip_bytes(edges));
    const std::string gr = "c road\np sp 3 2\na 1 2 5\na 2 3 7\n";
    seed("dimacs", "sp_gzip", gzip_bytes(gr));
    seed("dimacs", "sp", gr);
    seed("dimacs", "tw", std::string("p tw 4 3\n1 2\n2 3\n3 4\n"));
    seed("dimacs", "tw_xz", xz_bytes("p tw 4 3\n1 2\n2 3\n3 4\n"));
  }

  // OGB folder: num-node-list, num-edge-list, edge, node-label, node-feat, split/x/{train,valid,test}.
  seed("ogb", "full", join({"3", "2", "0,1\n1,2", "0\n1\nnan", "0.5,1\n1,2\n-1,0", "0", "1", "2"}));
  seed("ogb", "multilabel", join({"2", "1", "0,1", "0,1,1\n1,0,0"}));

  // GraphSAINT folder: adj_full.npz, feats.npy, class_map.json, role.json.
  seed("saint", "csr", join({text(zip_of(scipy_csr(), Method::deflate, false)), text(npy<float>({3, 2}, {1, 2, 3, 4, 5, 6})),
                             R"({"0": 0, "1": 1, "2": 0})", R"({"tr": [0], "va": [1], "te": [2]})"}));
  seed("saint", "multilabel", join({text(zip_of(scipy_csr(), Method::stored, false)), text(npy<double>({3, 1}, {1, 2, 3})),
                                    R"({"0": [0, 1], "1": [1, 0], "2": [1, 1]})", R"({"tr": [0, 1, 2], "va": [], "te": []})"}));

  // dataset specs and generator parameters.
  seed("spec", "sbm", std::string("sbm:nodes=100,classes=3,degree=4.5,homophily=0.8,seed=7"));
  seed("spec", "rmat", std::string("rmat:scale=10,edge_factor=8,a=0.57,b=0.19,c=0.19"));
  seed("spec", "npz", std::string("npz:data/x.npz"));
  seed("spec", "sbm_sci", std::string("sbm:nodes=1e6,features=0"));

  // checkpoint: the library's own writer.
  {
    gas::train::Checkpoint ck;
    ck.set_meta("model", "gcn");
    ck.set_info("epoch", "3");
    ck.put<float>("w", std::vector<float>{1, 2, 3, 4});
    ck.put<double>("h", std::vector<double>{0.5});
    ck.put<std::int64_t>("step", std::vector<std::int64_t>{7});
    const auto bytes = ck.bytes();
    seed("checkpoint", "small", bytes);
    seed("checkpoint", "small_unsealed", std::string_view(bytes).substr(0, bytes.size() - 4));  // the target seals it
  }

  // MappedStore history files as the library creates them (Mode::create), for the shapes the target opens.
  {
    const auto file = gas_fuzz::scratch() / "seed.hist";
    { const gas::history::MappedStore<float> s(file, 4, 2, gas::history::Mode::overwrite); }
    seed("mapped_header", "float_4x2", slurp(file));
    { const gas::history::MappedStore<double> s(file, 1, 1, gas::history::Mode::overwrite); }
    seed("mapped_header", "double_1x1", slurp(file));
    // The target's sealed form (see mapped_header.cpp): the 72-byte header with bit 0 of byte 68 set, then the
    // table; the target writes the zeros up to the data offset and the checksums. Tables with values, written
    // and flushed, and one marked dirty.
    const auto sealed = [&](const std::string& name, const std::string& whole, bool dirty) {
      std::string s = whole.substr(0, sizeof(gas::history::detail::MappedHeader)) +
                      whole.substr(static_cast<std::size_t>(gas::history::detail::mapped_data_offset));
      s[offsetof(gas::history::detail::MappedHeader, reserved)] = 1;
      if (dirty) std::memcpy(s.data() + offsetof(gas::history::detail::MappedHeader, state),
                             &gas::history::detail::mapped_dirty, sizeof(std::uint32_t));
      seed("mapped_header", name, s);
    };
    {
      gas::history::MappedStore<float> s(file, 4, 2, gas::history::Mode::overwrite);
      const std::vector<float> rows{1.5f, -2.0f, 0.25f, 3.0f};
      s.push_chunk(1, gas::MatrixView<const float>(rows.data(), 2, 2, 2));
      s.flush();
    }
    sealed("sealed_float_4x2", slurp(file), false);
    sealed("sealed_float_4x2_dirty", slurp(file), true);
    { const gas::history::MappedStore<double> s(file, 1, 1, gas::history::Mode::overwrite); }
    sealed("sealed_double_1x1", slurp(file), false);
    { const gas::history::MappedStore<float> s(file, 0, 3, gas::history::Mode::overwrite); }
    sealed("sealed_float_0x3", slurp(file), false);
  }
  return 0;
}
