#pragma once
// gas-fetch's work apart from HTTP: where each file goes, what is already there, checking a download against
// its SHA-256 or size, unpacking an OGB zip without writing outside DIR, and the spec that reads the result.
// The transfer itself is a callback (http.hpp, libcurl), so a build without libcurl runs the same checks on
// files a user downloaded by hand.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <gas/core/error.hpp>
#include <gas/io/sha256.hpp>
#include <gas/io/zip.hpp>

#include "registry.hpp"

namespace gas_fetch {

namespace fs = std::filesystem;

/// Downloads `url` into `part`; a non-empty `part` is continued with a Range request. `expected_size` (0 when
/// unknown) lets a complete `part` be recognised without a request. Throws gas::io_error; keeps `part` on an
/// interrupted transfer so that the next call resumes it.
using Download = std::function<void(const std::string& url, const fs::path& part, std::uint64_t expected_size)>;

/// What one invocation does.
struct Request {
  const Dataset* dataset = nullptr;
  fs::path dir = "data";
  std::string base_url;  ///< replaces the publisher's folder in every URL when not empty
  Download download;     ///< empty: built without libcurl
  std::FILE* log = stderr;
};

/// The URL of `file`: the mirror's or the publisher's folder, a '/', the file name.
inline std::string url_of(const Request& r, const RemoteFile& file) {
  std::string base(r.base_url.empty() ? r.dataset->base_url : std::string_view(r.base_url));
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + std::string(file.name);
}

/// Where the dataset's files go.
inline fs::path folder_of(const Request& r) { return r.dir / r.dataset->folder; }

/// The spec gas-train reads the dataset with.
inline std::string spec_of(const Request& r) {
  const Dataset& d = *r.dataset;
  switch (d.layout) {
    case Layout::planetoid: return "planetoid:" + folder_of(r).string();
    case Layout::npz: return "npz:" + (folder_of(r) / d.files.front().name).string();
    case Layout::ogb_zip: return "ogb:" + (folder_of(r) / d.unpack_as).string();
    case Layout::manual: break;
  }
  return "saint:" + folder_of(r).string();
}

/// A byte count as people read it: "540580 bytes (528 KiB)".
inline std::string bytes_text(std::uint64_t n) {
  char buf[64];
  const auto count = static_cast<unsigned long long>(n);
  if (n < 1024) std::snprintf(buf, sizeof buf, "%llu bytes", count);
  else if (n < (1ull << 20)) std::snprintf(buf, sizeof buf, "%llu bytes (%.0f KiB)", count, n / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu bytes (%.1f MiB)", count, n / 1048576.0);
  return buf;
}

/// File size, or an io_error naming the file.
inline std::uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  if (ec) throw gas::io_error(p.string() + ": cannot read its size (" + ec.message() + ")");
  return n;
}

inline void make_folder(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw gas::io_error(p.string() + ": cannot create the folder (" + ec.message() + ")");
}

inline void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

/// Checks a file already in place. A file we cannot vouch for is never overwritten: a wrong checksum or size is
/// an error that tells the user to remove it, and a file with nothing to check against is kept as it is.
inline void check_existing(const Request& r, const fs::path& path, const RemoteFile& file) {
  const std::uint64_t size = size_of(path);
  if (file.size != 0 && size != file.size)
    throw gas::io_error(path.string() + ": already there but " + std::to_string(size) + " bytes, not the published " +
                        std::to_string(file.size) + ": remove it to download it again");
  if (!file.sha256.empty()) {
    const std::string actual = gas::io::sha256_file(path);
    if (actual != file.sha256)
      throw gas::io_error(path.string() + ": already there but its SHA-256 is " + actual + ", not the published " +
                          std::string(file.sha256) + ": remove it to download it again");
    std::fprintf(r.log, "%s: already there, checksum ok\n", path.string().c_str());
  } else if (file.size != 0) {
    std::fprintf(r.log, "%s: already there, size ok (no checksum known)\n", path.string().c_str());
  } else {
    std::fprintf(r.log, "%s: already there (no checksum or size known: not verified)\n", path.string().c_str());
  }
}

/// Checks a finished download against what we know of the file; a mismatch removes it, so that nothing
/// unverified is left under the file's name or as a `.part` that a later run would "resume".
inline void verify_download(const Request& r, const std::string& url, const fs::path& part, const fs::path& target,
                            const RemoteFile& file) {
  const std::uint64_t size = size_of(part);
  if (file.size != 0 && size != file.size) {
    remove_quietly(part);
    throw gas::format_error(url + ": received " + std::to_string(size) + " bytes, expected " +
                            std::to_string(file.size) + "; the download is removed");
  }
  std::string how;
  if (!file.sha256.empty()) {
    const std::string actual = gas::io::sha256_file(part);
    if (actual != file.sha256) {
      remove_quietly(part);
      throw gas::format_error(url + ": SHA-256 mismatch: expected " + std::string(file.sha256) + ", got " + actual +
                              "; the download is removed");
    }
    how = "checksum ok";
  } else if (file.size != 0) {
    how = "size ok (no checksum known)";
  } else {
    how = "no checksum or size known: only the length the server announced was checked";
  }
  std::error_code ec;
  fs::rename(part, target, ec);
  if (ec) throw gas::io_error(target.string() + ": cannot move the download into place (" + ec.message() + ")");
  std::fprintf(r.log, "%s: %s, %s\n", target.string().c_str(), bytes_text(size).c_str(), how.c_str());
}

/// Gets one file into `folder` unless a good copy is there. Returns false when it is missing and there is no
/// way to download (no libcurl); the caller then says how to get it by hand.
inline bool fetch_file(const Request& r, const fs::path& folder, const RemoteFile& file) {
  const fs::path target = folder / file.name;
  std::error_code ec;
  if (fs::exists(target, ec)) {
    check_existing(r, target, file);
    return true;
  }
  if (!r.download) return false;
  const std::string url = url_of(r, file);
  fs::path part = target;
  part += ".part";
  r.download(url, part, file.size);
  verify_download(r, url, part, target, file);
  return true;
}

/// Refuses an archive entry that could land outside the folder it is unpacked into: an absolute path, a drive
/// letter, a backslash (a separator on Windows), or a `..` component.
inline void check_entry_name(const std::string& archive, const std::string& name) {
  bool bad = name.empty() || name.front() == '/' || name.find('\\') != std::string::npos ||
             (name.size() >= 2 && name[1] == ':');
  for (std::size_t at = 0; !bad && at <= name.size();) {
    const std::size_t end = std::min(name.find('/', at), name.size());
    bad = name.compare(at, end - at, "..") == 0;
    at = end + 1;
  }
  if (bad)
    throw gas::format_error(archive + ": entry '" + name +
                            "' is an absolute path or climbs out with '..': refused, nothing unpacked, the archive is "
                            "removed");
}

/// Unpacks every entry of `zip` under `into`, after checking every name first, so that a bad entry anywhere
/// leaves nothing behind. Entries are verified by the zip reader (CRC-32, sizes).
inline void unpack(const fs::path& zip, const fs::path& into) {
  const gas::io::ZipArchive archive(zip);
  for (const auto& e : archive.entries()) check_entry_name(zip.string(), e.name);
  const fs::path root = into.lexically_normal();
  for (const auto& e : archive.entries()) {
    const fs::path path = (into / e.name).lexically_normal();
    // Belt and braces after check_entry_name: the path must still lie under `into`.
    const auto rel = path.lexically_relative(root);
    if (rel.empty() || *rel.begin() == "..") check_entry_name(zip.string(), "../" + e.name);
    if (e.name.back() == '/') {
      make_folder(path);
      continue;
    }
    make_folder(path.parent_path());
    const auto bytes = archive.read(e.name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw gas::io_error(path.string() + ": cannot write (disk full?)");
  }
}

/// An OGB zip: download, unpack into a staging folder, and move the archive's top folder (`arxiv`) to OGB's
/// name for it (`ogbn_arxiv`), as OGB's own loader does. The rename is the last step, so the final folder
/// exists only when complete; the zip is removed afterwards, as OGB does (products.zip is 1.4 GB).
inline bool fetch_ogb(const Request& r) {
  const Dataset& d = *r.dataset;
  const fs::path folder = folder_of(r), target = folder / d.unpack_as;
  std::error_code ec;
  if (fs::is_directory(target, ec)) {
    std::fprintf(r.log, "%s: already unpacked\n", target.string().c_str());
    return true;
  }
  make_folder(folder);
  if (!fetch_file(r, folder, d.files.front())) return false;
  const fs::path zip = folder / d.files.front().name;
  const fs::path staging = folder / ("." + std::string(d.unpack_as) + ".unpacking");
  remove_quietly(staging);
  try {
    unpack(zip, staging);
  } catch (const gas::format_error&) {
    // A corrupt or hostile archive: a later run must download it again, not trust it.
    remove_quietly(staging);
    remove_quietly(zip);
    throw;
  }
  const fs::path inner = staging / d.source_folder;
  bool single_root = fs::is_directory(inner, ec);
  for (const auto& entry : fs::directory_iterator(staging, ec)) single_root = single_root && entry.path() == inner;
  fs::rename(single_root ? inner : staging, target, ec);
  if (ec) throw gas::io_error(target.string() + ": cannot move the unpacked files into place (" + ec.message() + ")");
  remove_quietly(staging);
  remove_quietly(zip);
  std::fprintf(r.log, "%s: unpacked (%s removed)\n", target.string().c_str(), zip.filename().string().c_str());
  return true;
}

/// GraphSAINT sets: nothing to download, only instructions, unless the four files are already in place.
inline bool check_manual(const Request& r) {
  const fs::path folder = folder_of(r);
  std::vector<std::string> missing;
  std::error_code ec;
  for (auto name : saint_files)
    if (!fs::is_regular_file(folder / name, ec)) missing.emplace_back(name);
  if (missing.empty()) {
    std::fprintf(r.log, "%s: the four GraphSAINT files are there (no checksum known: not verified)\n",
                 folder.string().c_str());
    return true;
  }
  std::fprintf(r.log,
               "%s: %s.\nDownload by hand: open %s, download the folder '%s', and put its files\n"
               "  adj_full.npz feats.npy class_map.json role.json\ninto %s/ (the other files there are not needed); "
               "then run gas-fetch %s again.\n",
               std::string(r.dataset->name).c_str(), std::string(r.dataset->note).c_str(),
               std::string(saint_drive_url).c_str(), std::string(r.dataset->source_folder).c_str(),
               folder.string().c_str(), std::string(r.dataset->name).c_str());
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  throw gas::io_error(folder.string() + ": missing " + list + ": this dataset must be downloaded by hand (see above)");
}

/// Says how to download what is missing by hand, for a build without libcurl.
inline void explain_by_hand(const Request& r) {
  const Dataset& d = *r.dataset;
  const fs::path folder = folder_of(r);
  std::fprintf(r.log, "gas-fetch was built without libcurl, so it cannot download. Get these files by hand:\n");
  std::error_code ec;
  for (const auto& f : d.files)
    if (!fs::exists(folder / f.name, ec))
      std::fprintf(r.log, "  %s\n    -> %s\n", url_of(r, f).c_str(), (folder / f.name).string().c_str());
  std::fprintf(r.log, "(for instance with curl -L -o PATH URL), then run gas-fetch %s %s again: it checks each file%s "
               "and prints the spec.\n",
               std::string(d.name).c_str(), r.dir.string().c_str(),
               d.layout == Layout::ogb_zip ? ", unpacks the archive" : "");
  throw gas::not_compiled(
      "built without libcurl (meson feature 'fetch': install libcurl's development files, e.g. Debian's "
      "libcurl4-openssl-dev, and reconfigure), so " + std::string(d.name) + " must be downloaded by hand as listed above");
}

/// Fetches the dataset and returns the spec that reads it.
inline std::string fetch(const Request& r) {
  const Dataset& d = *r.dataset;
  bool complete = true;
  switch (d.layout) {
    case Layout::planetoid:
    case Layout::npz:
      make_folder(folder_of(r));
      for (const auto& f : d.files) complete = fetch_file(r, folder_of(r), f) && complete;
      break;
    case Layout::ogb_zip: complete = fetch_ogb(r); break;
    case Layout::manual: complete = check_manual(r); break;
  }
  if (!complete) explain_by_hand(r);
  if (d.layout != Layout::manual && !d.note.empty()) std::fprintf(r.log, "note: %s\n", std::string(d.note).c_str());
  return spec_of(r);
}

}  // namespace gas_fetch
