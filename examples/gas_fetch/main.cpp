// gas-fetch: downloads a dataset in its publisher's format and prints the gas-train command that reads it.
//
//   gas-fetch NAME [DIR] [--base-url URL]      gas-fetch --list
//
// Files go to DIR/<folder> (DIR defaults to data/), are checked against the SHA-256 recorded in registry.hpp
// where we know it, and an interrupted download resumes where it stopped. The last line on stdout is the
// command to train with; everything else goes to stderr. Exit status 0; 2 for a bad command line or an
// unknown name (with the list of names); 1 for any other error (network, checksum, unsafe archive, a build
// without libcurl), with a message `gas-fetch: KIND: ...` naming the URL or file.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <gas/core/error.hpp>

#include "fetch.hpp"
#include "registry.hpp"
#ifdef GAS_FETCH_CURL
#include "http.hpp"
#endif

namespace {

std::string download_support() {
#ifdef GAS_FETCH_CURL
  return "download: " + gas_fetch::curl_version_text();
#else
  return "download: not built (libcurl was absent at build time): gas-fetch lists the URLs to fetch by hand";
#endif
}

std::string usage() {
  return "usage: gas-fetch NAME [DIR] [--base-url URL]\n"
         "       gas-fetch --list\n"
         "  NAME             a dataset (gas-fetch --list shows them all), e.g. cora, amazon-photo, ogbn-arxiv\n"
         "  DIR              where datasets go (default: data); each lands in DIR/<folder>, e.g. DIR/planetoid/cora\n"
         "  --base-url URL   a mirror: each file of the dataset is fetched from URL/<file name> instead of the\n"
         "                   publisher's folder, e.g. --base-url https://mirror.example.org/gas fetches\n"
         "                   https://mirror.example.org/gas/ind.cora.x for ind.cora.x and .../gas/arxiv.zip for\n"
         "                   ogbn-arxiv (the environment variable GAS_FETCH_BASE_URL does the same; the option wins)\n"
         "  --list           the known datasets, where they come from and where they go\n"
         "Files with a recorded SHA-256 are verified (a mismatch removes the download); others are checked against\n"
         "their size where known and otherwise kept as the server sent them, which gas-fetch says. A file already\n"
         "there is checked, never overwritten. An interrupted download resumes on the next run (HTTP Range).\n"
         "The last line printed on stdout is the command to train with, e.g.\n"
         "  gas-train --dataset planetoid:data/planetoid/cora\n" +
         download_support() + "\n";
}

void list_datasets() {
  for (const auto& d : gas_fetch::datasets) {
    std::printf("%-18s %s\n", std::string(d.name).c_str(), std::string(d.description).c_str());
    const std::string from = d.layout == gas_fetch::Layout::manual
                                 ? std::string(d.base_url) + " (folder " + std::string(d.source_folder) + ")"
                                 : std::string(d.base_url) + "/" + std::string(d.files.front().name) +
                                       (d.files.size() > 1 ? " and " + std::to_string(d.files.size() - 1) + " more" : "");
    std::printf("%-18s   from %s\n%-18s   into DIR/%s\n", "", from.c_str(), "", std::string(d.folder).c_str());
  }
}

/// `text`, quoted for a POSIX shell when it holds anything a shell would split or expand.
std::string shell_word(const std::string& text) {
  if (text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,+@%") ==
      std::string::npos)
    return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int run(int argc, char** argv) {
  gas_fetch::Request request;
  std::string name;
  bool have_dir = false;
  if (const char* env = std::getenv("GAS_FETCH_BASE_URL"); env != nullptr) request.base_url = env;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage().c_str(), stdout);
      return 0;
    }
    if (arg == "--list") {
      list_datasets();
      return 0;
    }
    if (arg == "--base-url" && i + 1 < argc) request.base_url = argv[++i];
    else if (arg.starts_with("--base-url=")) request.base_url = std::string(arg.substr(11));
    else if (arg.starts_with("-") && arg != "-")
      throw gas::config_error("unknown or incomplete option '" + std::string(arg) + "'");
    else if (name.empty()) name = arg;
    else if (!have_dir) {
      request.dir = std::string(arg);
      have_dir = true;
    } else {
      throw gas::config_error("unexpected argument '" + std::string(arg) + "' (one NAME and at most one DIR)");
    }
  }
  if (name.empty()) throw gas::config_error("no dataset named (gas-fetch NAME [DIR]; gas-fetch --list)");
  if (request.base_url.starts_with("-")) throw gas::config_error("--base-url needs a URL");
  request.dataset = gas_fetch::find_dataset(name);
  if (request.dataset == nullptr) {
    std::string names;
    for (const auto& d : gas_fetch::datasets) names += (names.empty() ? "" : ", ") + std::string(d.name);
    throw gas::config_error("unknown dataset '" + name + "'; known: " + names);
  }
#ifdef GAS_FETCH_CURL
  const gas_fetch::CurlGlobal curl;
  request.download = gas_fetch::curl_download;
#endif
  const std::string spec = gas_fetch::fetch(request);
  std::fflush(stderr);
  std::printf("gas-train --dataset %s\n", shell_word(spec).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const gas::config_error& e) {
    std::fprintf(stderr, "gas-fetch: config_error: %s\n", e.what());
    if (argc <= 1) std::fputs(usage().c_str(), stderr);
    return 2;
  } catch (const gas::error& e) {
    std::fprintf(stderr, "gas-fetch: %s: %s\n", gas::kind_of(e), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gas-fetch: error: %s\n", e.what());
    return 1;
  }
}
