#pragma once
/// @brief `MappedStore<T>`: a history table in a file mapped into memory (POSIX mmap, shared), for histories
/// larger than RAM: the kernel pages rows in on pull and writes dirty pages back on its own schedule.
///
/// The file is a 4096-byte header page followed by the dense row-major table, so rows start page-aligned and
/// chunks copy as blocks. The header records magic, version, byte order, element type and the table shape;
/// opening checks every field and the file size, so a file of another shape, type or program, or one cut
/// short, is refused with a format_error naming the file instead of being misread. Creating over an existing
/// file that is not a gas history refuses too, unless Mode::overwrite says so: a typo in a path must not
/// destroy a user's data.
///
/// Crash safety (format version 2). Pushes write straight into the shared mapping, so a process killed in the
/// middle of an epoch leaves a table that mixes two states, possibly inside one row. The header therefore
/// carries a state, clean or dirty, a generation number, the CRC-32 of the table and a CRC-32 of the header
/// itself, written in this order:
///  - before the first write (push, push_chunk, fill) after an open, a create or a flush, the header is set to
///    dirty and msync'd, so the mark is on the disk before any table page can be;
///  - flush() and the destructor, when something was written, msync the table, compute its CRC-32 (blocks in
///    parallel, combined), then write the header as clean with that CRC and generation + 1, and msync it.
/// A kill at any point leaves a header that is either dirty (refused) or clean with the CRC of exactly the table
/// on disk, the content of the last flush. Mode::open accepts a clean file whose table matches its CRC, and
/// refuses with a format_error a dirty file ("not closed cleanly"), a table or header whose checksum does not
/// match, and a file of another format version (version 1 had no state: it names both versions).
/// A dirty file is refused, not repaired: histories are a cache of embeddings that the model recomputes (the
/// Trainer's first inference pass, fill_histories), so Mode::create over the file is the recovery, and keeping
/// a copy of the last flushed state to roll back to would double every write. Reads never dirty the file: an
/// inference pass over an opened history costs no checksum at close.
/// Costs: the hot path pays one relaxed check of an atomic per write call; a flush reads the whole table once
/// for the CRC (parallel, memory speed when the table is in the page cache), and Mode::open reads it once to
/// verify it (disk speed for a table larger than RAM).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/core/tensor.hpp"
#include "gas/history/concept.hpp"
#include "gas/history/host_store.hpp"

namespace gas::history {

/// @brief How MappedStore treats the file at its path.
enum class Mode {
  open,       ///< open an existing gas history file; its header must match the requested shape and type
  create,     ///< make a new file (values 0); replaces an existing gas history file, refuses any other file
  overwrite,  ///< as create, but replaces whatever file is at the path
};

namespace detail {

/// @brief The on-disk header of a MappedStore file (native byte order, recorded in `byte_order`). The fields
/// up to `data_offset` are those of version 1, at the same offsets, so an old file is told by its version.
struct MappedHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t byte_order;
  std::uint32_t dtype;
  std::uint32_t element_size;
  std::int64_t num_nodes;
  std::int64_t width;
  std::uint64_t data_offset;
  std::uint32_t state;       // mapped_clean or mapped_dirty
  std::uint32_t table_crc;   // CRC-32 of the table when clean
  std::uint64_t generation;  // clean flushes since the file was created
  std::uint32_t header_crc;  // CRC-32 of every byte above
  std::uint32_t reserved;    // 0
};

inline constexpr char mapped_magic[8] = {'G', 'A', 'S', 'H', 'I', 'S', 'T', '\0'};
inline constexpr std::uint32_t mapped_version = 2;
inline constexpr std::uint32_t mapped_byte_order = 0x01020304u;
inline constexpr std::uint64_t mapped_data_offset = 4096;  // one page: rows stay page-aligned
inline constexpr std::uint32_t mapped_clean = 0x4e454c43u;  // "CLEN" in little-endian bytes
inline constexpr std::uint32_t mapped_dirty = 0x54524944u;  // "DIRT"
static_assert(sizeof(MappedHeader) <= mapped_data_offset);
static_assert(offsetof(MappedHeader, header_crc) == 64);

/// @brief The dtype code written into the header: 1 for float32, 2 for float64.
template <class T>
constexpr std::uint32_t mapped_dtype() {
  return std::is_same_v<T, float> ? 1u : 2u;
}

inline const char* mapped_dtype_name(std::uint32_t code) {
  return code == 1 ? "float" : code == 2 ? "double" : "an unknown element type";
}

/// @brief strerror(errno) as a string, read at once (before anything else can change errno).
inline std::string os_error() { return std::strerror(errno); }

/// @brief "0x1234abcd".
inline std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

/// @brief CRC-32 (zlib's) of the header's bytes before `header_crc`.
inline std::uint32_t header_crc(const MappedHeader& h) {
  return static_cast<std::uint32_t>(
      crc32_z(crc32_z(0L, nullptr, 0), reinterpret_cast<const Bytef*>(&h), offsetof(MappedHeader, header_crc)));
}

/// @brief Blocks of this many bytes are checksummed in parallel, then combined.
inline constexpr std::size_t crc_block_bytes = std::size_t{4} << 20;

/// @brief CRC-32 of `bytes` bytes at `data`: one CRC per block over OpenMP threads, combined in order with
/// crc32_combine, so the result equals zlib's crc32 of the whole range.
inline std::uint32_t parallel_crc32(const unsigned char* data, std::size_t bytes) {
  const auto blocks = static_cast<std::int64_t>((bytes + crc_block_bytes - 1) / crc_block_bytes);
  std::vector<uLong> crcs(static_cast<std::size_t>(blocks));
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::size_t at = static_cast<std::size_t>(b) * crc_block_bytes;
    crcs[static_cast<std::size_t>(b)] = crc32_z(crc32_z(0L, nullptr, 0), data + at, std::min(crc_block_bytes, bytes - at));
  }
  uLong crc = crc32_z(0L, nullptr, 0);
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::size_t at = static_cast<std::size_t>(b) * crc_block_bytes;
    crc = crc32_combine(crc, crcs[static_cast<std::size_t>(b)], static_cast<z_off_t>(std::min(crc_block_bytes, bytes - at)));
  }
  return static_cast<std::uint32_t>(crc);
}

/// @brief CRC-32 of `bytes` zero bytes, by doubling with crc32_combine: a new table's checksum without reading it.
inline std::uint32_t zeros_crc32(std::uint64_t bytes) {
  const unsigned char zero = 0;
  uLong piece = crc32_z(crc32_z(0L, nullptr, 0), &zero, 1);  // CRC of 2^k zero bytes, k = 0, 1, ...
  uLong crc = crc32_z(0L, nullptr, 0);
  for (std::uint64_t len = 1; bytes != 0; len <<= 1, bytes >>= 1) {
    if ((bytes & 1) != 0) crc = crc32_combine(crc, piece, static_cast<z_off_t>(len));
    if (bytes > 1) piece = crc32_combine(piece, piece, static_cast<z_off_t>(len));
  }
  return static_cast<std::uint32_t>(crc);
}

/// @brief Closes a descriptor on scope exit unless released; unlinks the file too when `remove` is set.
struct FileGuard {
  int fd = -1;
  const char* path = nullptr;
  bool remove = false;
  ~FileGuard() {
    if (fd >= 0) ::close(fd);
    if (remove) ::unlink(path);
  }
  int release() {
    remove = false;
    return std::exchange(fd, -1);
  }
};

}  // namespace detail

/// @brief A (num_nodes, width) history in a memory-mapped file, for tables larger than RAM.
/// @tparam T element type, float or double; also the compute type.
///
/// Move-only: the store owns the mapping and the descriptor, released in the destructor. Writes reach the
/// page cache at once (other mappings of the file see them); `flush()` forces them to the disk and marks the
/// file clean, and so does the destructor. A process that dies between its first write and the next flush or
/// close leaves a file that Mode::open refuses (see the file's comment). Two stores must not map one file while
/// either is being created or written. As with HostStore, the ids of one push are expected to be distinct;
/// pushes from several threads at once are safe, a flush concurrent with a push is not.
template <class T>
class MappedStore {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "MappedStore holds float or double");

public:
  using value_type = T;

  /// @brief Opens or creates the history file `path` for a (num_nodes, width) table; see Mode. Throws io_error
  /// (with the OS's reason) when the file cannot be opened, created, sized or mapped, or when create would
  /// replace a file that is not a gas history; format_error when an opened file's header or size does not match,
  /// when it was not closed cleanly, or when its table or header does not match its checksum.
  MappedStore(std::filesystem::path path, std::int64_t num_nodes, std::int64_t width, Mode mode)
      : path_(std::move(path)), num_nodes_(num_nodes), width_(width) {
    detail::check_table_shape(name(), num_nodes, width);
    bytes_ = detail::mapped_data_offset + static_cast<std::uint64_t>(num_nodes * width) * sizeof(T);
    detail::MappedHeader h{};
    const auto [fd, fresh] = mode == Mode::open ? std::pair{open_existing(h), false} : create(mode, h);
    // A file this constructor created is removed again if mapping fails; a user's file never is.
    detail::FileGuard guard{fd, path_.c_str(), fresh};
    void* base = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) fail_os("cannot map " + std::to_string(bytes_) + " bytes of");
    if (mode == Mode::open) {
      const auto crc = detail::parallel_crc32(static_cast<const unsigned char*>(base) + detail::mapped_data_offset,
                                              bytes_ - detail::mapped_data_offset);
      if (crc != h.table_crc) {
        ::munmap(base, bytes_);
        fail_format("the table does not match its checksum (CRC-32 " + detail::hex32(crc) + ", the header says " +
                    detail::hex32(h.table_crc) + "): the file was changed or damaged after it was closed. " +
                    rebuild_advice());
      }
    }
    base_ = static_cast<unsigned char*>(base);
    generation_ = h.generation;
    fd_ = guard.release();
  }

  MappedStore(MappedStore&& other) noexcept { swap(other); }
  MappedStore& operator=(MappedStore&& other) noexcept {
    if (this != &other) {
      MappedStore gone(std::move(other));
      swap(gone);
    }
    return *this;
  }
  MappedStore(const MappedStore&) = delete;
  MappedStore& operator=(const MappedStore&) = delete;
  /// @brief Flushes (marking the file clean) when anything was written, then unmaps. A failing flush is not
  /// reported here (a destructor must not throw): the file then stays dirty and the next open refuses it; call
  /// flush() first to see the error.
  ~MappedStore() {
    if (base_ != nullptr) {
      try {
        flush();
      } catch (...) {  // NOLINT(bugprone-empty-catch): the file stays marked dirty, which is the report
      }
      ::munmap(base_, bytes_);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  /// @brief The store's name in messages: "gas::history::MappedStore<float> 'path'".
  [[nodiscard]] std::string name() const {
    return std::string("gas::history::MappedStore<") + detail::dtype_name<T>() + "> '" + path_.string() + "'";
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::int64_t num_nodes() const { return num_nodes_; }
  [[nodiscard]] std::int64_t width() const { return width_; }
  /// @brief Bytes of the file: the header page plus the table.
  [[nodiscard]] std::size_t file_bytes() const { return bytes_; }
  /// @brief Clean flushes since the file was created (0 for a new file); a flush with nothing written since the
  /// last one does not count.
  [[nodiscard]] std::uint64_t generation() const { return generation_; }
  /// @brief Whether the file is marked dirty: something was written since the open, create or last flush.
  [[nodiscard]] bool dirty() const { return state_.load(std::memory_order_acquire) != clean_state; }

  /// @brief out row i = history row ids[i]. `out` is (ids.size(), width).
  void pull(std::span<const node_id> ids, MatrixView<T> out) const {
    detail::check_rows_call(who(), "pull", "out", ids, out.rows(), out.cols(), num_nodes_, width_);
    detail::gather_rows<T>(table(), width_, ids, out);
  }
  /// @brief History row ids[i] = rows row i. `rows` is (ids.size(), width).
  void push(std::span<const node_id> ids, MatrixView<const T> rows) {
    detail::check_rows_call(who(), "push", "rows", ids, rows.rows(), rows.cols(), num_nodes_, width_);
    if (ids.empty()) return;
    mark_dirty();
    detail::scatter_rows<T>(table(), width_, ids, rows);
  }
  /// @brief out = history rows [offset, offset + out.rows()).
  void pull_chunk(node_id offset, MatrixView<T> out) const {
    detail::check_chunk_call(who(), "pull_chunk", "out", offset, out.rows(), out.cols(), num_nodes_, width_);
    detail::copy_rows<T>(out.data(), out.ld(), table() + std::int64_t{offset} * width_, width_, out.rows(), width_);
  }
  /// @brief History rows [offset, offset + rows.rows()) = rows.
  void push_chunk(node_id offset, MatrixView<const T> rows) {
    detail::check_chunk_call(who(), "push_chunk", "rows", offset, rows.rows(), rows.cols(), num_nodes_, width_);
    if (rows.rows() == 0) return;
    mark_dirty();
    detail::copy_rows<T>(table() + std::int64_t{offset} * width_, width_, rows.data(), rows.ld(), rows.rows(), width_);
  }
  /// @brief Sets every value of the table (touching every page of the file).
  void fill(T value) {
    if (num_nodes_ * width_ == 0) return;
    mark_dirty();
    detail::parallel_fill(table(), num_nodes_ * width_, value);
  }

  /// @brief When anything was written since the last flush: writes every modified page to the file and waits
  /// for it (msync), then records the table's CRC-32 and generation + 1 in the header, marks it clean and
  /// msyncs it. Nothing to do otherwise. Throws io_error on failure (the file then stays dirty).
  void flush() {
    if (base_ == nullptr || state_.load(std::memory_order_acquire) == clean_state) return;
    if (::msync(base_ + detail::mapped_data_offset, bytes_ - detail::mapped_data_offset, MS_SYNC) != 0)
      fail_os("msync failed on");
    auto h = expected_header();
    h.state = detail::mapped_clean;
    h.table_crc = detail::parallel_crc32(base_ + detail::mapped_data_offset, bytes_ - detail::mapped_data_offset);
    h.generation = generation_ + 1;
    write_header(h);
    generation_ = h.generation;
    state_.store(clean_state, std::memory_order_release);
  }

private:
  static constexpr int clean_state = 0;
  static constexpr int marking_state = 1;  // one thread is writing and syncing the dirty mark
  static constexpr int dirty_state = 2;

  void swap(MappedStore& other) noexcept {
    std::swap(path_, other.path_);
    std::swap(num_nodes_, other.num_nodes_);
    std::swap(width_, other.width_);
    std::swap(bytes_, other.bytes_);
    std::swap(base_, other.base_);
    std::swap(fd_, other.fd_);
    std::swap(generation_, other.generation_);
    const int mine = state_.load(std::memory_order_relaxed);
    state_.store(other.state_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    other.state_.store(mine, std::memory_order_relaxed);
  }

  /// @brief Marks the header dirty, on the disk, before the first write since the last clean point. The common
  /// case (already dirty) is one acquire load. Concurrent first writers: one marks, the others wait for it.
  void mark_dirty() {
    int s = state_.load(std::memory_order_acquire);
    if (s == dirty_state) return;
    if (s == clean_state && state_.compare_exchange_strong(s, marking_state, std::memory_order_acq_rel)) {
      auto h = expected_header();
      h.state = detail::mapped_dirty;
      h.generation = generation_;
      try {
        write_header(h);
      } catch (...) {
        state_.store(clean_state, std::memory_order_release);
        state_.notify_all();
        throw;
      }
      state_.store(dirty_state, std::memory_order_release);
      state_.notify_all();
      return;
    }
    while ((s = state_.load(std::memory_order_acquire)) == marking_state) state_.wait(marking_state);
    if (s == clean_state) mark_dirty();  // the marking thread failed: try (and report) ourselves
  }

  /// @brief Writes `h` (with its header CRC) into the mapped header page and msyncs the page.
  void write_header(detail::MappedHeader h) {
    h.header_crc = detail::header_crc(h);
    std::memcpy(base_, &h, sizeof h);
    if (::msync(base_, detail::mapped_data_offset, MS_SYNC) != 0) fail_os("msync of the header failed on");
  }

  [[nodiscard]] auto who() const {
    return [this] { return name(); };
  }
  [[nodiscard]] T* table() const {
    return base_ == nullptr ? nullptr : reinterpret_cast<T*>(base_ + detail::mapped_data_offset);
  }

  [[noreturn]] void fail_os(const std::string& what) const {
    const std::string reason = detail::os_error();
    throw io_error(name() + ": " + what + " the file: " + reason);
  }
  [[noreturn]] void fail_format(const std::string& what) const { throw format_error(name() + ": " + what); }

  static std::string rebuild_advice() {
    return "Histories are a cache of embeddings: open it with Mode::create to start a new table, which the model "
           "refills (the Trainer's first inference pass, fill_histories)";
  }

  [[nodiscard]] detail::MappedHeader expected_header() const {
    detail::MappedHeader h{};
    std::memcpy(h.magic, detail::mapped_magic, sizeof h.magic);
    h.version = detail::mapped_version;
    h.byte_order = detail::mapped_byte_order;
    h.dtype = detail::mapped_dtype<T>();
    h.element_size = sizeof(T);
    h.num_nodes = num_nodes_;
    h.width = width_;
    h.data_offset = detail::mapped_data_offset;
    return h;
  }

  /// @brief Reads the first `bytes` (at most a header's) of the file into `h`; returns how many were read.
  std::size_t read_prefix(int fd, std::uint64_t bytes, detail::MappedHeader& h) const {
    const auto got = ::pread(fd, &h, static_cast<std::size_t>(bytes), 0);
    if (got < 0) fail_os("cannot read the header of");
    return static_cast<std::size_t>(got);
  }

  [[nodiscard]] std::uint64_t file_size(int fd) const {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail_os("cannot stat");
    if (!S_ISREG(st.st_mode)) throw io_error(name() + ": not a regular file");
    return static_cast<std::uint64_t>(st.st_size);
  }

  /// @brief Opens the file and checks header and size against this store; returns the descriptor, the header
  /// in `h` (its table CRC is checked by the caller, on the mapping).
  int open_existing(detail::MappedHeader& h) const {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) fail_os("cannot open");
    detail::FileGuard guard{fd};
    const std::uint64_t size = file_size(fd);
    // Version 1's header is shorter: read what is there, and judge the version before the length.
    constexpr std::size_t v1_bytes = offsetof(detail::MappedHeader, state);
    if (read_prefix(fd, std::min<std::uint64_t>(size, sizeof h), h) < v1_bytes)
      fail_format("truncated: " + std::to_string(size) + " bytes, too short for a gas history header");
    if (std::memcmp(h.magic, detail::mapped_magic, sizeof h.magic) != 0)
      fail_format("not a gas history file (no GASHIST magic at its start)");
    if (h.byte_order != detail::mapped_byte_order)
      fail_format("written with the other byte order; a history file is not portable across endianness");
    if (h.version != detail::mapped_version)
      fail_format("format version " + std::to_string(h.version) + ", this build reads version " +
                  std::to_string(detail::mapped_version) +
                  (h.version < detail::mapped_version ? " (version 1 files record no clean/dirty state). " : ". ") +
                  rebuild_advice());
    if (size < sizeof h)
      fail_format("truncated: " + std::to_string(size) + " bytes, too short for a gas history header");
    if (detail::header_crc(h) != h.header_crc)
      fail_format("the header does not match its checksum (CRC-32 " + detail::hex32(detail::header_crc(h)) +
                  ", recorded " + detail::hex32(h.header_crc) + "): the header is damaged. " + rebuild_advice());
    if (h.dtype != detail::mapped_dtype<T>() || h.element_size != sizeof(T))
      fail_format(std::string("holds ") + detail::mapped_dtype_name(h.dtype) + " values, this store reads " +
                  detail::dtype_name<T>());
    if (h.num_nodes != num_nodes_ || h.width != width_)
      fail_format("holds a (" + std::to_string(h.num_nodes) + ", " + std::to_string(h.width) + ") table, expected (" +
                  std::to_string(num_nodes_) + ", " + std::to_string(width_) + ")");
    if (h.data_offset != detail::mapped_data_offset)
      fail_format("data offset " + std::to_string(h.data_offset) + ", expected " +
                  std::to_string(detail::mapped_data_offset));
    if (size != bytes_)
      fail_format((size < bytes_ ? "truncated: " : "too long: ") + std::to_string(size) + " bytes, a (" +
                  std::to_string(num_nodes_) + ", " + std::to_string(width_) + ") table needs " +
                  std::to_string(bytes_));
    if (h.state == detail::mapped_dirty)
      fail_format("was not closed cleanly: the process writing it stopped (killed, crashed, out of power) after "
                  "writing rows and before flush() or closing the store, so the table may mix two states. " +
                  rebuild_advice());
    if (h.state != detail::mapped_clean)
      fail_format("unknown state " + detail::hex32(h.state) + " in the header (neither clean nor dirty)");
    return guard.release();
  }

  /// @brief Creates (or replaces, as `mode` allows) the file, writes the header (clean, generation 0, the CRC of
  /// a zero table), sizes it; returns the descriptor and whether the file is new, the header in `h`.
  std::pair<int, bool> create(Mode mode, detail::MappedHeader& h) const {
    bool fresh = true;
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
      fresh = false;
      fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    }
    if (fd < 0) fail_os(fresh ? "cannot create" : "cannot open");
    // A file this call created is removed again if anything below fails; a user's file never is.
    detail::FileGuard guard{fd, path_.c_str(), fresh};
    const std::uint64_t size = file_size(fd);
    if (!fresh && mode == Mode::create && size > 0) {
      detail::MappedHeader old{};
      const bool ours = read_prefix(fd, std::min<std::uint64_t>(size, sizeof old), old) >= sizeof old.magic &&
                        std::memcmp(old.magic, detail::mapped_magic, sizeof old.magic) == 0;
      if (!ours)
        throw io_error(name() + ": refusing to overwrite an existing file (" + std::to_string(size) +
                       " bytes) that is not a gas history file; remove it or pass Mode::overwrite");
    }
    // The header goes in before the table is sized: a file cut short by a crash is still recognized as ours
    // (and refused as truncated on open) rather than taken for somebody else's. It says dirty until the table
    // is sized and reserved, so a crash in between leaves a file that open refuses.
    if (::ftruncate(fd, 0) != 0) fail_os("cannot truncate");
    h = expected_header();
    h.state = detail::mapped_dirty;
    char page[detail::mapped_data_offset] = {};
    const auto put_header = [&] {
      h.header_crc = detail::header_crc(h);
      std::memcpy(page, &h, sizeof h);
      if (::pwrite(fd, page, sizeof page, 0) != static_cast<ssize_t>(sizeof page)) fail_os("cannot write the header of");
    };
    put_header();
    if (::ftruncate(fd, static_cast<off_t>(bytes_)) != 0) fail_os("cannot size");
    // Reserve the blocks now: a sparse file on a full disk would fail later as SIGBUS inside a push.
    if (bytes_ > detail::mapped_data_offset) {
      const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_));
      if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
        errno = rc;
        fail_os("cannot reserve " + std::to_string(bytes_) + " bytes for");
      }
    }
    h.state = detail::mapped_clean;
    h.table_crc = detail::zeros_crc32(bytes_ - detail::mapped_data_offset);
    put_header();
    return {guard.release(), fresh};
  }

  std::filesystem::path path_;
  std::int64_t num_nodes_ = 0;
  std::int64_t width_ = 0;
  std::uint64_t bytes_ = 0;          // mapped length: header page + table
  unsigned char* base_ = nullptr;    // start of the mapping (the header page)
  int fd_ = -1;
  std::uint64_t generation_ = 0;     // the file's generation at the last clean point
  std::atomic<int> state_{clean_state};
};

}  // namespace gas::history
