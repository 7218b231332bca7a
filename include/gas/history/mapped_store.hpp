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

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <utility>

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

/// @brief The on-disk header of a MappedStore file (native byte order, recorded in `byte_order`).
struct MappedHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t byte_order;
  std::uint32_t dtype;
  std::uint32_t element_size;
  std::int64_t num_nodes;
  std::int64_t width;
  std::uint64_t data_offset;
};

inline constexpr char mapped_magic[8] = {'G', 'A', 'S', 'H', 'I', 'S', 'T', '\0'};
inline constexpr std::uint32_t mapped_version = 1;
inline constexpr std::uint32_t mapped_byte_order = 0x01020304u;
inline constexpr std::uint64_t mapped_data_offset = 4096;  // one page: rows stay page-aligned
static_assert(sizeof(MappedHeader) <= mapped_data_offset);

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
/// page cache at once (other mappings of the file see them); `flush()` forces them to the disk. Two stores
/// must not map one file while either is being created, since creation truncates it. As with HostStore, the
/// ids of one push are expected to be distinct.
template <class T>
class MappedStore {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "MappedStore holds float or double");

public:
  using value_type = T;

  /// @brief Opens or creates the history file `path` for a (num_nodes, width) table; see Mode. Throws io_error
  /// (with the OS's reason) when the file cannot be opened, created, sized or mapped, or when create would
  /// replace a file that is not a gas history; format_error when an opened file's header or size does not match.
  MappedStore(std::filesystem::path path, std::int64_t num_nodes, std::int64_t width, Mode mode)
      : path_(std::move(path)), num_nodes_(num_nodes), width_(width) {
    detail::check_table_shape(name(), num_nodes, width);
    bytes_ = detail::mapped_data_offset + static_cast<std::uint64_t>(num_nodes * width) * sizeof(T);
    const auto [fd, fresh] = mode == Mode::open ? std::pair{open_existing(), false} : create(mode);
    // A file this constructor created is removed again if mapping fails; a user's file never is.
    detail::FileGuard guard{fd, path_.c_str(), fresh};
    void* base = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) fail_os("cannot map " + std::to_string(bytes_) + " bytes of");
    base_ = static_cast<unsigned char*>(base);
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
  ~MappedStore() {
    if (base_ != nullptr) ::munmap(base_, bytes_);
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

  /// @brief out row i = history row ids[i]. `out` is (ids.size(), width).
  void pull(std::span<const node_id> ids, MatrixView<T> out) const {
    detail::check_rows_call(who(), "pull", "out", ids, out.rows(), out.cols(), num_nodes_, width_);
    detail::gather_rows<T>(table(), width_, ids, out);
  }
  /// @brief History row ids[i] = rows row i. `rows` is (ids.size(), width).
  void push(std::span<const node_id> ids, MatrixView<const T> rows) {
    detail::check_rows_call(who(), "push", "rows", ids, rows.rows(), rows.cols(), num_nodes_, width_);
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
    detail::copy_rows<T>(table() + std::int64_t{offset} * width_, width_, rows.data(), rows.ld(), rows.rows(), width_);
  }
  /// @brief Sets every value of the table (touching every page of the file).
  void fill(T value) { detail::parallel_fill(table(), num_nodes_ * width_, value); }

  /// @brief Writes every modified page to the file and waits for it (msync); throws io_error on failure.
  void flush() {
    if (base_ != nullptr && ::msync(base_, bytes_, MS_SYNC) != 0) fail_os("msync failed on");
  }

private:
  void swap(MappedStore& other) noexcept {
    std::swap(path_, other.path_);
    std::swap(num_nodes_, other.num_nodes_);
    std::swap(width_, other.width_);
    std::swap(bytes_, other.bytes_);
    std::swap(base_, other.base_);
    std::swap(fd_, other.fd_);
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

  /// @brief Reads the header of an open file of `size` bytes; false when the file is too short for one.
  bool read_header(int fd, std::uint64_t size, detail::MappedHeader& h) const {
    if (size < sizeof h) return false;
    const auto got = ::pread(fd, &h, sizeof h, 0);
    if (got < 0) fail_os("cannot read the header of");
    return static_cast<std::size_t>(got) == sizeof h;
  }

  [[nodiscard]] std::uint64_t file_size(int fd) const {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail_os("cannot stat");
    if (!S_ISREG(st.st_mode)) throw io_error(name() + ": not a regular file");
    return static_cast<std::uint64_t>(st.st_size);
  }

  /// @brief Opens the file and checks header and size against this store; returns the descriptor.
  int open_existing() const {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) fail_os("cannot open");
    detail::FileGuard guard{fd};
    const std::uint64_t size = file_size(fd);
    detail::MappedHeader h{};
    if (!read_header(fd, size, h))
      fail_format("truncated: " + std::to_string(size) + " bytes, too short for a gas history header");
    if (std::memcmp(h.magic, detail::mapped_magic, sizeof h.magic) != 0)
      fail_format("not a gas history file (no GASHIST magic at its start)");
    if (h.byte_order != detail::mapped_byte_order)
      fail_format("written with the other byte order; a history file is not portable across endianness");
    if (h.version != detail::mapped_version)
      fail_format("format version " + std::to_string(h.version) + ", this build reads version " +
                  std::to_string(detail::mapped_version));
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
    return guard.release();
  }

  /// @brief Creates (or replaces, as `mode` allows) the file, writes the header, sizes it; returns the descriptor
  /// and whether the file is new.
  std::pair<int, bool> create(Mode mode) const {
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
      detail::MappedHeader h{};
      const bool ours = read_header(fd, size, h) && std::memcmp(h.magic, detail::mapped_magic, sizeof h.magic) == 0;
      if (!ours)
        throw io_error(name() + ": refusing to overwrite an existing file (" + std::to_string(size) +
                       " bytes) that is not a gas history file; remove it or pass Mode::overwrite");
    }
    // The header goes in before the table is sized: a file cut short by a crash is still recognized as ours
    // (and refused as truncated on open) rather than taken for somebody else's.
    if (::ftruncate(fd, 0) != 0) fail_os("cannot truncate");
    const auto h = expected_header();
    char page[detail::mapped_data_offset] = {};
    std::memcpy(page, &h, sizeof h);
    if (::pwrite(fd, page, sizeof page, 0) != static_cast<ssize_t>(sizeof page)) fail_os("cannot write the header of");
    if (::ftruncate(fd, static_cast<off_t>(bytes_)) != 0) fail_os("cannot size");
    // Reserve the blocks now: a sparse file on a full disk would fail later as SIGBUS inside a push.
    if (bytes_ > detail::mapped_data_offset) {
      const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_));
      if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
        errno = rc;
        fail_os("cannot reserve " + std::to_string(bytes_) + " bytes for");
      }
    }
    return {guard.release(), fresh};
  }

  std::filesystem::path path_;
  std::int64_t num_nodes_ = 0;
  std::int64_t width_ = 0;
  std::uint64_t bytes_ = 0;          // mapped length: header page + table
  unsigned char* base_ = nullptr;    // start of the mapping (the header page)
  int fd_ = -1;
};

}  // namespace gas::history
