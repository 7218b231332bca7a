#pragma once
// The datasets gas-fetch knows: where each publisher serves its files, what their SHA-256 and size are where we
// know them, where they go under DIR, and the gas spec that reads them.
//
// Checksums were taken with sha256sum from byte-for-byte copies of the publishers' files (the Planetoid Cora files,
// gnn-benchmark's cora.npz, the heterophilous-graphs npz files of ../shared/data). Every other file has neither: the
// copies we hold of the Amazon and Coauthor npz files were re-saved, so their digests are not the publisher's, and
// we record no number we have not seen. gas-fetch says, for each file, which check it could make.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace gas_fetch {

/// One file a publisher serves; `name` is both the last part of its URL and its name on disk.
struct RemoteFile {
  std::string_view name;
  std::string_view sha256;  ///< 64 lowercase hex digits, empty when unknown
  std::uint64_t size = 0;   ///< bytes, 0 when unknown
};

/// How a dataset arrives and which reader takes it.
enum class Layout {
  planetoid,  ///< loose files into DIR/<folder>; spec planetoid:DIR/<folder>
  npz,        ///< one .npz into DIR/<folder>; spec npz:DIR/<folder>/<file>
  ogb_zip,    ///< one zip into DIR/<folder>, unpacked to DIR/<folder>/<unpack_as>; spec ogb:that folder
  manual,     ///< no stable URL (Google Drive): instructions only; spec saint:DIR/<folder>
};

/// A dataset gas-fetch can name.
struct Dataset {
  std::string_view name;         ///< what the user types
  std::string_view description;  ///< one line for --list
  Layout layout;
  std::string_view base_url;     ///< the publisher's folder; a file's URL is base_url + "/" + file name
  std::string_view folder;       ///< under DIR
  std::span<const RemoteFile> files;
  std::string_view unpack_as;    ///< ogb_zip: the folder the archive becomes (OGB's own name for it)
  std::string_view source_folder;  ///< ogb_zip: the top folder inside the archive; manual: the publisher's folder
  std::string_view note;         ///< printed after the spec (a missing split, a manual download)
};

inline constexpr std::string_view planetoid_url = "https://github.com/kimiyoung/planetoid/raw/master/data";
inline constexpr std::string_view gnn_benchmark_url = "https://github.com/shchur/gnn-benchmark/raw/master/data/npz";
inline constexpr std::string_view heterophilous_url =
    "https://github.com/yandex-research/heterophilous-graphs/raw/main/data";
inline constexpr std::string_view ogb_url = "http://snap.stanford.edu/ogb/data/nodeproppred";
inline constexpr std::string_view saint_drive_url = "https://drive.google.com/open?id=1zycmmDES39zVlbVCYs88JTJ1Wm5FbfLz";

/// The four files of a GraphSAINT folder, as the saint reader (gas/io/saint.hpp) reads them.
inline constexpr std::array<std::string_view, 4> saint_files{"adj_full.npz", "feats.npy", "class_map.json", "role.json"};

namespace files {

inline constexpr RemoteFile cora[] = {
    {"ind.cora.x", "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab", 22119},
    {"ind.cora.tx", "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a", 148025},
    {"ind.cora.allx", "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543", 257305},
    {"ind.cora.y", "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1", 4054},
    {"ind.cora.ty", "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad", 28135},
    {"ind.cora.ally", "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71", 47959},
    {"ind.cora.graph", "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d", 59847},
    {"ind.cora.test.index", "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875", 5000},
};
inline constexpr RemoteFile citeseer[] = {
    {"ind.citeseer.x", {}, 0},  {"ind.citeseer.tx", {}, 0},    {"ind.citeseer.allx", {}, 0},
    {"ind.citeseer.y", {}, 0},  {"ind.citeseer.ty", {}, 0},    {"ind.citeseer.ally", {}, 0},
    {"ind.citeseer.graph", {}, 0}, {"ind.citeseer.test.index", {}, 0},
};
inline constexpr RemoteFile pubmed[] = {
    {"ind.pubmed.x", {}, 0},  {"ind.pubmed.tx", {}, 0},    {"ind.pubmed.allx", {}, 0},
    {"ind.pubmed.y", {}, 0},  {"ind.pubmed.ty", {}, 0},    {"ind.pubmed.ally", {}, 0},
    {"ind.pubmed.graph", {}, 0}, {"ind.pubmed.test.index", {}, 0},
};
inline constexpr RemoteFile cora_npz[] = {
    {"cora.npz", "068e22d90c3849b4057dfb05851741428992af058efcd4e7ebb4186f3d581de2", 540580}};
inline constexpr RemoteFile amazon_photo[] = {{"amazon_electronics_photo.npz", {}, 0}};
inline constexpr RemoteFile amazon_computers[] = {{"amazon_electronics_computers.npz", {}, 0}};
inline constexpr RemoteFile coauthor_cs[] = {{"ms_academic_cs.npz", {}, 0}};
inline constexpr RemoteFile coauthor_physics[] = {{"ms_academic_phy.npz", {}, 0}};
inline constexpr RemoteFile roman_empire[] = {{"roman_empire.npz", {}, 0}};
inline constexpr RemoteFile amazon_ratings[] = {{"amazon_ratings.npz", {}, 0}};
inline constexpr RemoteFile minesweeper[] = {
    {"minesweeper.npz", "e664c8dacf1e8ac466c2c09ed4b237bd2c5541f47a6eae9c6092cb87f16412b3", 135045}};
inline constexpr RemoteFile tolokers[] = {{"tolokers.npz", {}, 0}};
inline constexpr RemoteFile questions[] = {{"questions.npz", {}, 0}};
inline constexpr RemoteFile chameleon_filtered[] = {
    {"chameleon_filtered.npz", "bf46f07e1fb5249280447e5fe3100f3e82fc4b93ad1e13ffcfdec924b6ac0bb5", 58924}};
inline constexpr RemoteFile squirrel_filtered[] = {
    {"squirrel_filtered.npz", "f06370ffb3116c5de8b7a600005400b2293c025e0ce2f6916d8201a825505ac7", 208215}};
inline constexpr RemoteFile actor[] = {
    {"actor.npz", "c350eef06b2c2a9bf8218be2b57cac6d4003d0922eb597a039e9123f75817816", 252956}};
inline constexpr RemoteFile ogbn_arxiv[] = {{"arxiv.zip", {}, 0}};
inline constexpr RemoteFile ogbn_products[] = {{"products.zip", {}, 0}};
inline constexpr RemoteFile ogbn_proteins[] = {{"proteins.zip", {}, 0}};

}  // namespace files

inline constexpr std::string_view no_split_note =
    "this file has no train/val/test split: the reference draws 20 training and 30 validation nodes per class "
    "(gas-train --split per-class:train=20,val=30)";
inline constexpr std::string_view manual_note =
    "GraphSAINT publishes this dataset only in a Google Drive folder, which has no stable download URLs";

/// Every dataset, in the order --list prints them.
inline constexpr Dataset datasets[] = {
    {"cora", "Cora, Planetoid files with the public split (2708 nodes, 7 classes)", Layout::planetoid, planetoid_url,
     "planetoid/cora", files::cora, {}, {}, {}},
    {"citeseer", "CiteSeer, Planetoid files with the public split (3327 nodes, 6 classes)", Layout::planetoid,
     planetoid_url, "planetoid/citeseer", files::citeseer, {}, {}, {}},
    {"pubmed", "PubMed, Planetoid files with the public split (19717 nodes, 3 classes)", Layout::planetoid,
     planetoid_url, "planetoid/pubmed", files::pubmed, {}, {}, {}},
    {"cora-npz", "Cora as gnn-benchmark publishes it (npz, no split)", Layout::npz, gnn_benchmark_url,
     "gnn-benchmark", files::cora_npz, {}, {}, no_split_note},
    {"amazon-photo", "Amazon-Photo (gnn-benchmark npz, no split)", Layout::npz, gnn_benchmark_url, "gnn-benchmark",
     files::amazon_photo, {}, {}, no_split_note},
    {"amazon-computers", "Amazon-Computers (gnn-benchmark npz, no split)", Layout::npz, gnn_benchmark_url,
     "gnn-benchmark", files::amazon_computers, {}, {}, no_split_note},
    {"coauthor-cs", "Coauthor-CS (gnn-benchmark npz, no split)", Layout::npz, gnn_benchmark_url, "gnn-benchmark",
     files::coauthor_cs, {}, {}, no_split_note},
    {"coauthor-physics", "Coauthor-Physics (gnn-benchmark npz, no split)", Layout::npz, gnn_benchmark_url,
     "gnn-benchmark", files::coauthor_physics, {}, {}, no_split_note},
    {"roman-empire", "roman-empire (heterophilous-graphs npz, 10 splits)", Layout::npz, heterophilous_url,
     "heterophilous", files::roman_empire, {}, {}, {}},
    {"amazon-ratings", "amazon-ratings (heterophilous-graphs npz, 10 splits)", Layout::npz, heterophilous_url,
     "heterophilous", files::amazon_ratings, {}, {}, {}},
    {"minesweeper", "minesweeper (heterophilous-graphs npz, 10 splits, ROC-AUC)", Layout::npz, heterophilous_url,
     "heterophilous", files::minesweeper, {}, {}, {}},
    {"tolokers", "tolokers (heterophilous-graphs npz, 10 splits, ROC-AUC)", Layout::npz, heterophilous_url,
     "heterophilous", files::tolokers, {}, {}, {}},
    {"questions", "questions (heterophilous-graphs npz, 10 splits, ROC-AUC)", Layout::npz, heterophilous_url,
     "heterophilous", files::questions, {}, {}, {}},
    {"chameleon-filtered", "chameleon without duplicated nodes (heterophilous-graphs npz, 10 splits)", Layout::npz,
     heterophilous_url, "heterophilous", files::chameleon_filtered, {}, {}, {}},
    {"squirrel-filtered", "squirrel without duplicated nodes (heterophilous-graphs npz, 10 splits)", Layout::npz,
     heterophilous_url, "heterophilous", files::squirrel_filtered, {}, {}, {}},
    {"actor", "actor (heterophilous-graphs npz, 10 splits)", Layout::npz, heterophilous_url, "heterophilous",
     files::actor, {}, {}, {}},
    {"ogbn-arxiv", "ogbn-arxiv (OGB zip, time split; about 80 MB)", Layout::ogb_zip, ogb_url, "ogb",
     files::ogbn_arxiv, "ogbn_arxiv", "arxiv", {}},
    {"ogbn-products", "ogbn-products (OGB zip, sales-ranking split; about 1.4 GB)", Layout::ogb_zip, ogb_url, "ogb",
     files::ogbn_products, "ogbn_products", "products", {}},
    {"ogbn-proteins", "ogbn-proteins (OGB zip, species split, 112 binary tasks; about 220 MB)", Layout::ogb_zip,
     ogb_url, "ogb", files::ogbn_proteins, "ogbn_proteins", "proteins", {}},
    {"flickr", "Flickr (GraphSAINT; download by hand)", Layout::manual, saint_drive_url, "saint/flickr", {}, {}, "flickr",
     manual_note},
    {"reddit", "Reddit (GraphSAINT; download by hand)", Layout::manual, saint_drive_url, "saint/reddit", {}, {}, "reddit",
     manual_note},
    {"yelp", "Yelp (GraphSAINT; download by hand)", Layout::manual, saint_drive_url, "saint/yelp", {}, {}, "yelp",
     manual_note},
    {"ppi", "PPI (GraphSAINT; download by hand)", Layout::manual, saint_drive_url, "saint/ppi", {}, {}, "ppi",
     manual_note},
    {"amazon-products", "AmazonProducts (GraphSAINT; download by hand)", Layout::manual, saint_drive_url,
     "saint/amazon", {}, {}, "amazon", manual_note},
};

/// `name` as the registry spells names: lowercase, '_' read as '-' (so the file stem `chameleon_filtered` works).
inline std::string canonical_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '_' ? '-' : (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  return out;
}

/// The dataset called `name`, or nullptr.
inline const Dataset* find_dataset(std::string_view name) {
  const std::string key = canonical_name(name);
  for (const auto& d : datasets)
    if (d.name == key) return &d;
  return nullptr;
}

}  // namespace gas_fetch
