#pragma once
/// @brief A safe reader for the Python pickles of Planetoid's `ind.NAME.*` files: a pickle VM that builds
/// values and never calls anything.
///
/// A pickle is a program: GLOBAL names any importable callable and REDUCE calls it, so an ordinary unpickler
/// runs whatever a downloaded file asks for. This reader interprets the program instead. It knows the few
/// callables that numpy, scipy and collections emit for arrays, CSR matrices and defaultdicts, evaluates those
/// symbolically, and refuses every other global when it is named, before it could be applied.
///
/// Values live in an arena and refer to each other by index, so the shared and even cyclic references the memo
/// allows need no reference counting, and nothing here recurses on the file's nesting depth: no file can drive
/// the reader into a stack overflow. Every read is bounds-checked, and declared lengths are checked against the
/// bytes that remain before anything is allocated. Because the memo lets a few bytes re-apply a constructor to a
/// large value, every copy the reader makes is charged to a budget proportional to the file size, so neither
/// memory nor time can be amplified beyond a constant factor.

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gas/core/error.hpp"
#include "gas/io/utf8.hpp"
#include "gas/io/file.hpp"

namespace gas::io {

/// @brief The kinds of value a pickle can hold here; `other` is a class, a dtype or an unfinished instance.
enum class PyKind : std::uint8_t {
  none,
  boolean,
  integer,
  floating,
  string,
  tuple,
  list,
  dict,
  ndarray,
  csr_matrix,
  other
};

/// @brief The Python-side name of a kind, for messages ("int", "list", "numpy.ndarray", ...).
inline std::string_view kind_name(PyKind kind) {
  switch (kind) {
    case PyKind::none: return "None";
    case PyKind::boolean: return "bool";
    case PyKind::integer: return "int";
    case PyKind::floating: return "float";
    case PyKind::string: return "str";
    case PyKind::tuple: return "tuple";
    case PyKind::list: return "list";
    case PyKind::dict: return "dict";
    case PyKind::ndarray: return "numpy.ndarray";
    case PyKind::csr_matrix: return "scipy.sparse.csr_matrix";
    case PyKind::other: break;
  }
  return "object";
}

/// @brief A numpy array from a pickle: a numeric dtype, the shape and the raw little-endian element bytes.
struct NdArray {
  char kind = 'f';   ///< 'b' bool, 'i' signed integer, 'u' unsigned integer, 'f' floating point
  int itemsize = 8;  ///< bytes per element
  std::vector<std::int64_t> shape;
  bool fortran_order = false;      ///< data is column-major; `to_vector` returns row-major regardless
  std::vector<std::uint8_t> data;  // (size() * itemsize) bytes, little-endian

  /// @brief The dtype as numpy writes it ("<f8", "<i4", "|b1").
  [[nodiscard]] std::string descr() const {
    return std::string(itemsize == 1 ? "|" : "<") + kind + std::to_string(itemsize);
  }
  /// @brief Number of elements (1 for a 0-d array); the shape was checked not to overflow when it was read.
  [[nodiscard]] std::int64_t size() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  /// @brief All elements in row-major order converted to `T`; an integral `T` refuses float arrays and values
  /// it cannot represent. Throws format_error naming `source`.
  template <class T>
  [[nodiscard]] std::vector<T> to_vector(std::string_view source = "numpy array") const;
};

/// @brief A scipy CSR matrix from a pickle, checked on read (indptr monotone from 0, column ids in range).
struct CsrMatrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::int64_t> indptr;   // (rows + 1)
  std::vector<std::int64_t> indices;  // (nnz)
  std::vector<double> data;           // (nnz); exact for the float32/float64/int32 data these files hold
  std::string data_descr;             ///< the dtype the data was stored with ("<f4")
};

namespace detail {

/// @brief The only callables a pickle may name; each is interpreted symbolically, never called.
enum class Callable : std::uint8_t {
  reconstruct,            // numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') -> empty array, then BUILD
  ndarray_type,           // numpy.ndarray, only as _reconstruct's first argument
  dtype_type,             // numpy.dtype('f8', 0, 1) -> dtype, then BUILD (byte order)
  copyreg_reconstructor,  // copy_reg._reconstructor(csr_matrix, object, None) -> empty instance, then BUILD
  object_type,            // __builtin__.object, only as _reconstructor's second argument
  csr_type,               // scipy.sparse.csr.csr_matrix, via _reconstructor or NEWOBJ, then BUILD with a dict
  defaultdict_type,       // collections.defaultdict(list) -> a dict
  list_type,              // __builtin__.list, only as defaultdict's factory
  codecs_encode,          // _codecs.encode(u'...', 'latin1') -> bytes: how Python 3 writes bytes in protocol 2
};

/// @brief The whitelist: "module name" as GLOBAL spells it, and what it stands for.
inline std::optional<Callable> whitelisted(std::string_view module, std::string_view name) {
  struct Entry {
    std::string_view module, name;
    Callable callable;
  };
  static constexpr Entry entries[] = {
      {"numpy.core.multiarray", "_reconstruct", Callable::reconstruct},
      {"numpy._core.multiarray", "_reconstruct", Callable::reconstruct},
      {"numpy", "ndarray", Callable::ndarray_type},
      {"numpy", "dtype", Callable::dtype_type},
      {"copy_reg", "_reconstructor", Callable::copyreg_reconstructor},
      {"copyreg", "_reconstructor", Callable::copyreg_reconstructor},
      {"__builtin__", "object", Callable::object_type},
      {"builtins", "object", Callable::object_type},
      {"scipy.sparse.csr", "csr_matrix", Callable::csr_type},
      {"scipy.sparse._csr", "csr_matrix", Callable::csr_type},
      {"collections", "defaultdict", Callable::defaultdict_type},
      {"__builtin__", "list", Callable::list_type},
      {"builtins", "list", Callable::list_type},
      {"_codecs", "encode", Callable::codecs_encode},
  };
  for (const auto& e : entries)
    if (e.module == module && e.name == name) return e.callable;
  return std::nullopt;
}

/// @brief Internal tags: the public kinds plus the intermediate states of symbolic construction.
enum class Tag : std::uint8_t {
  none,
  boolean,
  integer,
  floating,
  string,
  tuple,
  list,
  dict,
  ndarray,
  csr_matrix,
  global,       // a whitelisted callable
  dtype,        // a numpy dtype (numeric only)
  new_ndarray,  // _reconstruct's result, waiting for BUILD
  new_csr,      // an empty csr_matrix instance, waiting for BUILD
};

/// @brief A numeric numpy dtype.
struct Dtype {
  char kind = 'f';
  int itemsize = 8;
  bool built = false;  // BUILD (which sets the byte order) ran
};

/// @brief One value in the arena; which fields matter depends on the tag.
struct Object {
  Tag tag = Tag::none;
  std::int64_t integer = 0;  // boolean, integer; the Callable of a global
  double floating = 0;
  std::string text;                  // string bytes (unicode as UTF-8); "module.name" of a global
  std::vector<std::uint32_t> items;  // tuple/list elements; dict keys and values interleaved
  std::unique_ptr<std::unordered_map<std::string, std::size_t>> keys;  // dict: canonical key -> entry index
  std::unique_ptr<NdArray> array;
  std::unique_ptr<CsrMatrix> csr;
  Dtype dtype;
};

/// @brief All values of one pickle; a deque so that references stay valid while values are added.
struct Arena {
  std::string source;
  std::uint64_t file_bytes = 0;  // size of the pickle, for readers that bound what they derive from it
  std::deque<Object> objects;
};

inline PyKind public_kind(Tag tag) {
  switch (tag) {
    case Tag::none: return PyKind::none;
    case Tag::boolean: return PyKind::boolean;
    case Tag::integer: return PyKind::integer;
    case Tag::floating: return PyKind::floating;
    case Tag::string: return PyKind::string;
    case Tag::tuple: return PyKind::tuple;
    case Tag::list: return PyKind::list;
    case Tag::dict: return PyKind::dict;
    case Tag::ndarray: return PyKind::ndarray;
    case Tag::csr_matrix: return PyKind::csr_matrix;
    default: return PyKind::other;
  }
}

/// @brief Little-endian load of an n-byte unsigned value (portable: no host byte order assumed).
inline std::uint64_t load_le(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}


/// @brief One element of a numeric array, widened without loss for checked conversion.
struct Element {
  char kind;
  std::int64_t i;
  std::uint64_t u;
  double f;
};

inline Element element(const NdArray& a, std::size_t at) {
  const auto* p = a.data.data() + at * static_cast<std::size_t>(a.itemsize);
  const auto raw = load_le(p, a.itemsize);
  Element e{a.kind, 0, 0, 0.0};
  switch (a.kind) {
    case 'b': e.u = raw != 0; break;
    case 'u': e.u = raw; break;
    case 'i': {
      const int shift = 64 - 8 * a.itemsize;  // sign-extend
      e.i = static_cast<std::int64_t>(raw << shift) >> shift;
      break;
    }
    default:
      e.f = a.itemsize == 4 ? static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(raw)))
                            : std::bit_cast<double>(raw);
  }
  return e;
}

}  // namespace detail

template <class T>
std::vector<T> NdArray::to_vector(std::string_view source) const {
  static_assert(std::is_arithmetic_v<T>, "NdArray::to_vector converts to arithmetic types");
  if constexpr (std::is_integral_v<T>)
    if (kind == 'f') throw format_error(std::string(source) + ": " + descr() + " array where integers are expected");
  const auto count = static_cast<std::size_t>(size());
  std::vector<T> out(count);
  // Fortran order: walk the row-major multi-index as an odometer and keep the column-major offset in step.
  const auto ndim = shape.size();
  std::vector<std::int64_t> index(ndim, 0), stride(ndim, 1);
  for (std::size_t d = 1; d < ndim; ++d) stride[d] = stride[d - 1] * shape[d - 1];
  std::int64_t from = 0;
  for (std::size_t k = 0; k < count; ++k) {
    const auto at = fortran_order ? static_cast<std::size_t>(from) : k;
    const auto e = detail::element(*this, at);
    if constexpr (std::is_integral_v<T>) {
      bool fits;
      if (kind == 'i') {
        fits = std::in_range<T>(e.i);
        out[k] = static_cast<T>(e.i);
      } else {
        fits = std::in_range<T>(e.u);
        out[k] = static_cast<T>(e.u);
      }
      if (!fits)
        throw format_error(std::string(source) + ": element " + std::to_string(k) + " (" +
                           (kind == 'i' ? std::to_string(e.i) : std::to_string(e.u)) +
                           ") does not fit the target type");
    } else {
      out[k] = kind == 'f' ? static_cast<T>(e.f) : kind == 'i' ? static_cast<T>(e.i) : static_cast<T>(e.u);
    }
    if (fortran_order)
      for (std::size_t d = ndim; d-- > 0;) {
        from += stride[d];
        if (++index[d] < shape[d]) break;
        from -= stride[d] * shape[d];
        index[d] = 0;
      }
  }
  return out;
}

/// @brief A read-only handle to one value of a parsed pickle. It shares ownership of all the pickle's values,
/// so `parse_pickle(...).root()[0]` is safe; references returned by `as_ndarray`/`as_csr`/`as_string` live as long
/// as some PyRef or Pickle of that pickle does. Accessors throw format_error naming the file when the value is not
/// of the kind asked for.
class PyRef {
public:
  PyRef(std::shared_ptr<const detail::Arena> arena, std::uint32_t id) : arena_(std::move(arena)), id_(id) {}

  [[nodiscard]] PyKind kind() const { return detail::public_kind(object().tag); }
  [[nodiscard]] bool is(PyKind k) const { return kind() == k; }
  /// @brief The file this value was read from.
  [[nodiscard]] const std::string& source() const { return arena_->source; }

  [[nodiscard]] bool as_bool() const { return expect(PyKind::boolean).integer != 0; }
  /// @brief An int (or a bool, as Python treats it).
  [[nodiscard]] std::int64_t as_int() const {
    if (is(PyKind::boolean)) return object().integer;
    return expect(PyKind::integer).integer;
  }
  /// @brief A float, or an int widened to one.
  [[nodiscard]] double as_float() const {
    if (is(PyKind::integer) || is(PyKind::boolean)) return static_cast<double>(object().integer);
    return expect(PyKind::floating).floating;
  }
  /// @brief The bytes of a str/bytes value (unicode as UTF-8).
  [[nodiscard]] std::string_view as_string() const { return expect(PyKind::string).text; }
  [[nodiscard]] const NdArray& as_ndarray() const { return *expect(PyKind::ndarray).array; }
  [[nodiscard]] const CsrMatrix& as_csr() const { return *expect(PyKind::csr_matrix).csr; }

  /// @brief Elements of a tuple or list, entries of a dict.
  [[nodiscard]] std::size_t size() const {
    const auto& o = sequence_or_dict();
    return o.tag == detail::Tag::dict ? o.items.size() / 2 : o.items.size();
  }
  /// @brief Element i of a tuple or list (checked).
  [[nodiscard]] PyRef operator[](std::size_t i) const {
    const auto& o = object();
    if (o.tag != detail::Tag::tuple && o.tag != detail::Tag::list) mismatch("tuple or list");
    if (i >= o.items.size())
      throw format_error(source() + ": index " + std::to_string(i) + " outside a " + std::string(kind_name(kind())) +
                         " of " + std::to_string(o.items.size()));
    return {arena_, o.items[i]};
  }
  /// @brief Key of dict entry i, in insertion order (checked).
  [[nodiscard]] PyRef key(std::size_t i) const { return entry(i, 0); }
  /// @brief Value of dict entry i (checked).
  [[nodiscard]] PyRef value(std::size_t i) const { return entry(i, 1); }
  /// @brief The value stored under a str key of a dict, if any.
  [[nodiscard]] std::optional<PyRef> get(std::string_view name) const {
    const auto& o = expect(PyKind::dict);
    const auto it = o.keys->find("s" + std::string(name));
    if (it == o.keys->end()) return std::nullopt;
    return PyRef(arena_, o.items[2 * it->second + 1]);
  }

private:
  const detail::Object& object() const { return arena_->objects[id_]; }
  [[noreturn]] void mismatch(std::string_view wanted) const {
    throw format_error(source() + ": expected " + std::string(wanted) + ", found " + std::string(kind_name(kind())));
  }
  const detail::Object& expect(PyKind k) const {
    if (!is(k)) mismatch(kind_name(k));
    return object();
  }
  const detail::Object& sequence_or_dict() const {
    const auto& o = object();
    if (o.tag != detail::Tag::tuple && o.tag != detail::Tag::list && o.tag != detail::Tag::dict)
      mismatch("tuple, list or dict");
    return o;
  }
  PyRef entry(std::size_t i, std::size_t which) const {
    const auto& o = expect(PyKind::dict);
    if (i >= o.items.size() / 2)
      throw format_error(source() + ": entry " + std::to_string(i) + " outside a dict of " +
                         std::to_string(o.items.size() / 2));
    return {arena_, o.items[2 * i + which]};
  }

  std::shared_ptr<const detail::Arena> arena_;
  std::uint32_t id_;
};

/// @brief A parsed pickle: owns every value; `root()` is what the pickle's STOP returned.
class Pickle {
public:
  Pickle(std::shared_ptr<const detail::Arena> arena, std::uint32_t root) : arena_(std::move(arena)), root_(root) {}
  [[nodiscard]] PyRef root() const { return {arena_, root_}; }
  [[nodiscard]] const std::string& source() const { return arena_->source; }
  /// @brief Size in bytes of the pickle this was parsed from.
  [[nodiscard]] std::uint64_t file_bytes() const { return arena_->file_bytes; }

private:
  std::shared_ptr<const detail::Arena> arena_;  // shared with every PyRef, so handles never dangle
  std::uint32_t root_;
};

namespace detail {

/// @brief The pickle machine: a stack, mark positions and a memo, all holding arena indices.
class PickleVm {
public:
  PickleVm(std::span<const std::uint8_t> bytes, std::string source)
      : bytes_(bytes),
        arena_(std::make_unique<Arena>()),
        budget_(8 * static_cast<std::uint64_t>(bytes.size()) + (64u << 20)) {
    arena_->source = std::move(source);
    arena_->file_bytes = bytes.size();
  }

  Pickle run() {
    while (true) {
      op_at_ = pos_;
      if (pos_ >= bytes_.size())
        throw format_error(arena_->source + ": truncated at offset " + std::to_string(pos_) +
                           ": the pickle ends without a STOP opcode");
      op_ = bytes_[pos_++];
      if (op_ == '.') {  // STOP
        const auto root = pop();
        return Pickle(std::move(arena_), root);
      }
      step();
    }
  }

private:
  // ---- errors and raw reads ----
  [[noreturn]] void fail(const std::string& what) const {
    throw format_error(arena_->source + ": offset " + std::to_string(op_at_) + " (" + op_name() + "): " + what);
  }
  std::string op_name() const {
    static constexpr char hex[] = "0123456789abcdef";
    return std::string("opcode 0x") + hex[op_ >> 4] + hex[op_ & 15];
  }
  const std::uint8_t* take(std::uint64_t n) {
    if (n > bytes_.size() - pos_)
      throw format_error(arena_->source + ": truncated at offset " + std::to_string(bytes_.size()) + ": " + op_name() +
                         " at offset " + std::to_string(op_at_) + " needs " + std::to_string(n) +
                         " bytes from offset " + std::to_string(pos_));
    const auto* p = bytes_.data() + pos_;
    pos_ += static_cast<std::size_t>(n);
    return p;
  }
  /// Charges a copy of `n` bytes; legitimate files copy each array a few times at most (raw bytes, then widened).
  void charge(std::uint64_t n) {
    if (n > budget_) fail("the pickle builds far more data than it holds (a memo amplification), refused");
    budget_ -= n;
  }
  std::uint64_t le(int n) { return load_le(take(static_cast<std::uint64_t>(n)), n); }
  std::string_view text_line() {
    const auto* begin = bytes_.data() + pos_;
    const auto* end = static_cast<const std::uint8_t*>(std::memchr(begin, '\n', bytes_.size() - pos_));
    if (!end)
      throw format_error(arena_->source + ": truncated at offset " + std::to_string(bytes_.size()) + ": " + op_name() +
                         " at offset " + std::to_string(op_at_) + " has no terminating newline");
    pos_ = static_cast<std::size_t>(end - bytes_.data()) + 1;
    return {reinterpret_cast<const char*>(begin), static_cast<std::size_t>(end - begin)};
  }

  // ---- arena and stack ----
  Object& at(std::uint32_t id) { return arena_->objects[id]; }
  std::uint32_t make(Tag tag) {
    if (arena_->objects.size() >= std::numeric_limits<std::uint32_t>::max()) fail("too many values");
    arena_->objects.emplace_back();
    arena_->objects.back().tag = tag;
    return static_cast<std::uint32_t>(arena_->objects.size() - 1);
  }
  std::uint32_t make_int(std::int64_t v, Tag tag = Tag::integer) {
    const auto id = make(tag);
    at(id).integer = v;
    return id;
  }
  std::uint32_t make_string(std::string s) {
    const auto id = make(Tag::string);
    at(id).text = std::move(s);
    return id;
  }
  void push(std::uint32_t id) { stack_.push_back(id); }
  std::size_t frame() const { return marks_.empty() ? 0 : marks_.back(); }
  std::uint32_t pop() {
    if (stack_.size() <= frame()) fail("stack underflow");
    const auto id = stack_.back();
    stack_.pop_back();
    return id;
  }
  std::uint32_t top() {
    if (stack_.size() <= frame()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<std::uint32_t> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    std::vector<std::uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  std::string describe(std::uint32_t id) {
    const auto& o = at(id);
    if (o.tag == Tag::global) return o.text;
    if (o.tag == Tag::dtype) return "numpy.dtype";
    if (o.tag == Tag::new_ndarray) return "an unfinished numpy.ndarray";
    if (o.tag == Tag::new_csr) return "an unfinished csr_matrix";
    return std::string(kind_name(public_kind(o.tag)));
  }
  bool is_callable(std::uint32_t id, Callable c) { return at(id).tag == Tag::global && at(id).integer == int(c); }
  std::uint32_t tuple_of(std::vector<std::uint32_t> items) {
    const auto id = make(Tag::tuple);
    at(id).items = std::move(items);
    return id;
  }

  // ---- dicts ----
  /// Python dicts replace the value of an equal key; equal keys get equal canonical strings
  /// (1, 1.0 and True are equal in Python, and so are 'a' and u'a').
  std::string canonical_key(std::uint32_t id) {
    const auto& o = at(id);
    switch (o.tag) {
      case Tag::none: return "n";
      case Tag::boolean:
      case Tag::integer: return "i" + std::to_string(o.integer);
      case Tag::floating:
        if (std::trunc(o.floating) == o.floating && std::abs(o.floating) < 9.2e18)
          return "i" + std::to_string(static_cast<std::int64_t>(o.floating));
        return "f" + std::to_string(std::bit_cast<std::uint64_t>(o.floating));
      case Tag::string:
        // Bounded because re-inserting a memoised key re-hashes it: a long key would make SETITEM quadratic.
        if (o.text.size() > 4096) fail("dict key of " + std::to_string(o.text.size()) + " bytes is too long");
        return "s" + o.text;
      case Tag::tuple: return "t" + std::to_string(id);  // identity: tuple keys do not occur in these files
      case Tag::global: return "g" + o.text;
      default: fail("unhashable dict key of type " + describe(id));
    }
  }
  void set_item(std::uint32_t dict_id, std::uint32_t key, std::uint32_t value) {
    auto canonical = canonical_key(key);
    auto& d = at(dict_id);
    const auto [it, inserted] = d.keys->try_emplace(std::move(canonical), d.items.size() / 2);
    if (inserted) {
      d.items.push_back(key);
      d.items.push_back(value);
    } else {
      d.items[2 * it->second + 1] = value;
    }
  }
  std::uint32_t make_dict() {
    const auto id = make(Tag::dict);
    at(id).keys = std::make_unique<std::unordered_map<std::string, std::size_t>>();
    return id;
  }
  std::uint32_t target(Tag wanted, const char* what) {
    const auto id = top();
    if (at(id).tag != wanted) fail(std::string(what) + " on a " + describe(id) + " would call its methods; refused");
    return id;
  }

  // ---- protocol-0 text arguments ----
  std::int64_t parse_int(std::string_view s) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
      fail("'" + std::string(s) + "' is not an integer that fits 64 bits");
    return v;
  }
  std::string unquote(std::string_view s) {  // Python 2 repr of a str: quotes and backslash escapes
    if (s.size() < 2 || (s.front() != '\'' && s.front() != '"') || s.back() != s.front())
      fail("STRING argument is not a quoted string");
    s = s.substr(1, s.size() - 2);
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\') {
        out += s[i];
        continue;
      }
      if (++i == s.size()) fail("STRING ends in a lone backslash");
      const char c = s[i];
      auto hex = [&](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        fail("bad \\x escape in STRING");
      };
      switch (c) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\':
        case '\'':
        case '"': out += c; break;
        case 'x':
          if (i + 2 >= s.size()) fail("truncated \\x escape in STRING");
          out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
          i += 2;
          break;
        default:
          if (c >= '0' && c <= '7') {
            int v = 0, k = 0;
            while (k < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') v = v * 8 + (s[i++] - '0'), ++k;
            --i;
            out += static_cast<char>(v & 0xFF);
          } else {
            out += '\\';  // Python keeps unknown escapes verbatim
            out += c;
          }
      }
    }
    return out;
  }
  std::string raw_unicode_escape(std::string_view s) {  // latin-1 bytes with \uXXXX and \UXXXXXXXX escapes
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '\\' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
        const std::size_t digits = s[i + 1] == 'u' ? 4 : 8;
        if (i + 2 + digits > s.size()) fail("truncated \\u escape in UNICODE");
        std::uint32_t cp = 0;
        const auto [end, ec] = std::from_chars(s.data() + i + 2, s.data() + i + 2 + digits, cp, 16);
        if (ec != std::errc() || end != s.data() + i + 2 + digits || cp > 0x10FFFF) fail("bad \\u escape in UNICODE");
        append_utf8(out, cp);
        i += 1 + digits;
      } else {
        append_utf8(out, c);
      }
    }
    return out;
  }

  // ---- symbolic evaluation of the whitelisted callables ----
  std::uint32_t global(std::string_view module, std::string_view name) {
    const auto callable = whitelisted(module, name);
    const auto dotted = std::string(module) + "." + std::string(name);
    if (!callable)
      fail("refusing to call " + dotted + ": only the numpy, scipy and collections constructors of " +
           "Planetoid files are allowed");
    const auto id = make_int(static_cast<std::int64_t>(*callable), Tag::global);
    at(id).text = dotted;
    return id;
  }
  [[noreturn]] void refuse(std::uint32_t callable, std::uint32_t args) {
    fail("refusing to call " + describe(callable) + " with these arguments (" + describe(args) + " of " +
         std::to_string(at(args).tag == Tag::tuple ? at(args).items.size() : 0) + ")");
  }
  std::uint32_t reduce(std::uint32_t callable, std::uint32_t args) {
    if (at(callable).tag != Tag::global) fail("REDUCE applies a " + describe(callable) + ", which is not callable");
    if (at(args).tag != Tag::tuple) refuse(callable, args);
    const auto& a = at(args).items;  // the deque keeps this reference valid while make() appends
    switch (static_cast<Callable>(at(callable).integer)) {
      case Callable::reconstruct:
        if (a.size() != 3 || !is_callable(a[0], Callable::ndarray_type) || at(a[1]).tag != Tag::tuple ||
            at(a[2]).tag != Tag::string)
          refuse(callable, args);
        return make(Tag::new_ndarray);
      case Callable::dtype_type: {
        if (a.empty() || a.size() > 3 || at(a[0]).tag != Tag::string) refuse(callable, args);
        const auto id = make(Tag::dtype);
        at(id).dtype = parse_dtype(at(a[0]).text);
        return id;
      }
      case Callable::copyreg_reconstructor:
        if (a.size() != 3 || !is_callable(a[0], Callable::csr_type) || !is_callable(a[1], Callable::object_type) ||
            at(a[2]).tag != Tag::none)
          refuse(callable, args);
        return make(Tag::new_csr);
      case Callable::defaultdict_type:
        if (a.size() > 1 || (a.size() == 1 && !is_callable(a[0], Callable::list_type) && at(a[0]).tag != Tag::none))
          refuse(callable, args);
        return make_dict();  // the default factory only matters for lookups of missing keys, which we never do
      case Callable::codecs_encode: {
        if (a.size() != 2 || at(a[0]).tag != Tag::string || at(a[1]).tag != Tag::string ||
            (at(a[1]).text != "latin1" && at(a[1]).text != "latin-1"))
          refuse(callable, args);
        charge(at(a[0]).text.size());
        return make_string(latin1(at(a[0]).text));
      }
      default: refuse(callable, args);
    }
  }
  std::string latin1(std::string_view utf8) {  // code points < 256 back to bytes
    std::string out;
    for (std::size_t i = 0; i < utf8.size(); ++i) {
      const auto c = static_cast<unsigned char>(utf8[i]);
      if (c < 0x80) {
        out += static_cast<char>(c);
      } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size() &&
                 (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) {
        const auto cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3Fu);
        if (cp > 0xFF) fail("latin1 encoding of a character above U+00FF");
        out += static_cast<char>(cp);
      } else {
        fail("latin1 encoding of a character above U+00FF");
      }
    }
    return out;
  }
  Dtype parse_dtype(std::string_view s) {
    Dtype d;
    if (!s.empty() && (s.front() == '<' || s.front() == '|' || s.front() == '=')) s.remove_prefix(1);
    int size = 0;
    if (s.size() >= 2) {
      const auto [end, ec] = std::from_chars(s.data() + 1, s.data() + s.size(), size);
      if (ec != std::errc() || end != s.data() + s.size()) size = 0;
    }
    d.kind = s.empty() ? '?' : s.front();
    d.itemsize = size;
    const bool ok = (d.kind == 'b' && size == 1) ||
                    ((d.kind == 'i' || d.kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                    (d.kind == 'f' && (size == 4 || size == 8));
    if (!ok)
      fail("numpy dtype '" + std::string(s) + "' is not supported (only bool, integer and float32/float64 arrays)");
    return d;
  }
  void build(std::uint32_t inst, std::uint32_t state) {
    switch (at(inst).tag) {
      case Tag::dtype: return build_dtype(inst, state);
      case Tag::new_ndarray: return build_ndarray(inst, state);
      case Tag::new_csr: return build_csr(inst, state);
      default: fail("BUILD on a " + describe(inst) + " would call its __setstate__; refused");
    }
  }
  void build_dtype(std::uint32_t inst, std::uint32_t state) {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
    const auto& s = at(state);
    if (s.tag != Tag::tuple || s.items.size() < 8) fail("numpy dtype state is not a tuple of 8 or 9 items");
    if (at(inst).dtype.built) fail("numpy dtype built twice");
    const auto& order = at(s.items[1]);
    if (order.tag != Tag::string) fail("numpy dtype byte order is not a string");
    const bool little =
        order.text == "<" || order.text == "|" || (order.text == "=" && std::endian::native == std::endian::little);
    if (!little && at(inst).dtype.itemsize > 1)
      fail("numpy dtype with byte order '" + order.text + "' is not supported (only little-endian)");
    for (std::size_t i = 2; i <= 4; ++i)
      if (at(s.items[i]).tag != Tag::none) fail("structured or sub-array numpy dtypes are not supported");
    at(inst).dtype.built = true;
  }
  std::int64_t small_int(std::uint32_t id, const char* what) {
    const auto& o = at(id);
    if (o.tag != Tag::integer && o.tag != Tag::boolean)
      fail(std::string(what) + " is a " + describe(id) + ", not an int");
    return o.integer;
  }
  void build_ndarray(std::uint32_t inst, std::uint32_t state) {
    // (version, shape, dtype, is_fortran, rawdata); numpy also accepts the 4-tuple without version
    const auto& s = at(state);
    if (s.tag != Tag::tuple || (s.items.size() != 5 && s.items.size() != 4))
      fail("numpy array state is not a tuple of 4 or 5 items");
    const std::size_t o = s.items.size() - 4;
    const auto& shape = at(s.items[o]);
    const auto& dtype = at(s.items[o + 1]);
    const auto& raw = at(s.items[o + 3]);
    if (shape.tag != Tag::tuple) fail("numpy array shape is a " + describe(s.items[o]) + ", not a tuple");
    if (dtype.tag != Tag::dtype) fail("numpy array dtype is a " + describe(s.items[o + 1]) + ", not a numpy dtype");
    if (raw.tag != Tag::string)
      fail("numpy array data is a " + describe(s.items[o + 3]) + ", not bytes (object arrays are not supported)");
    auto array = std::make_unique<NdArray>();
    array->kind = dtype.dtype.kind;
    array->itemsize = dtype.dtype.itemsize;
    array->fortran_order = small_int(s.items[o + 2], "numpy array fortran flag") != 0;
    std::uint64_t count = 1;
    for (auto d : shape.items) {
      const auto extent = small_int(d, "numpy array extent");
      if (extent < 0) fail("numpy array has negative extent " + std::to_string(extent));
      if (__builtin_mul_overflow(count, static_cast<std::uint64_t>(extent), &count) || count > (1ull << 62))
        fail("numpy array shape overflows");
      array->shape.push_back(extent);
    }
    const auto expected = count * static_cast<std::uint64_t>(array->itemsize);
    if (raw.text.size() != expected)
      fail("numpy array of shape " + shape_text(array->shape) + " and dtype " + array->descr() + " needs " +
           std::to_string(expected) + " bytes of data but has " + std::to_string(raw.text.size()));
    charge(expected);
    array->data.assign(raw.text.begin(), raw.text.end());
    auto& target = at(inst);
    if (target.tag != Tag::new_ndarray) fail("numpy array built twice");
    target.array = std::move(array);
    target.tag = Tag::ndarray;
  }
  static std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
  }
  void build_csr(std::uint32_t inst, std::uint32_t state) {
    const auto& d = at(state);
    if (d.tag != Tag::dict) fail("csr_matrix state is a " + describe(state) + ", not a dict");
    auto field = [&](std::string_view name) -> std::optional<std::uint32_t> {
      const auto it = d.keys->find("s" + std::string(name));
      if (it == d.keys->end()) return std::nullopt;
      return d.items[2 * it->second + 1];
    };
    auto need = [&](std::string_view name) {
      const auto id = field(name);
      if (!id) fail("csr_matrix state has no '" + std::string(name) + "'");
      return *id;
    };
    if (const auto format = field("format"); format && (at(*format).tag != Tag::string || at(*format).text != "csr"))
      fail("csr_matrix state has a format other than 'csr'");
    const auto shape_id = field("_shape") ? *field("_shape") : need("shape");
    const auto& shape = at(shape_id);
    if (shape.tag != Tag::tuple || shape.items.size() != 2) fail("csr_matrix shape is not a pair");
    auto csr = std::make_unique<CsrMatrix>();
    csr->rows = small_int(shape.items[0], "csr_matrix row count");
    csr->cols = small_int(shape.items[1], "csr_matrix column count");
    if (csr->rows < 0 || csr->cols < 0) fail("csr_matrix has a negative shape");
    auto array = [&](std::string_view name) -> const NdArray& {
      const auto id = need(name);
      if (at(id).tag != Tag::ndarray)
        fail("csr_matrix '" + std::string(name) + "' is a " + describe(id) + ", not an array");
      const auto& a = *at(id).array;
      if (a.shape.size() != 1) fail("csr_matrix '" + std::string(name) + "' is not one-dimensional");
      return a;
    };
    charge(8 * static_cast<std::uint64_t>(array("indptr").size() + array("indices").size() + array("data").size()));
    const auto& src = arena_->source;
    csr->indptr = array("indptr").to_vector<std::int64_t>(src + ": csr_matrix indptr");
    csr->indices = array("indices").to_vector<std::int64_t>(src + ": csr_matrix indices");
    const auto& data = array("data");
    csr->data = data.to_vector<double>();
    csr->data_descr = data.descr();
    if (static_cast<std::int64_t>(csr->indptr.size()) != csr->rows + 1)
      fail("csr_matrix indptr has " + std::to_string(csr->indptr.size()) + " entries for " + std::to_string(csr->rows) +
           " rows");
    if (csr->indices.size() != csr->data.size())
      fail("csr_matrix has " + std::to_string(csr->indices.size()) + " indices but " +
           std::to_string(csr->data.size()) + " values");
    if (csr->indptr.front() != 0 || csr->indptr.back() != static_cast<std::int64_t>(csr->indices.size()))
      fail("csr_matrix indptr does not run from 0 to the number of stored values");
    for (std::size_t r = 0; r + 1 < csr->indptr.size(); ++r)
      if (csr->indptr[r] > csr->indptr[r + 1]) fail("csr_matrix indptr decreases at row " + std::to_string(r));
    for (std::size_t k = 0; k < csr->indices.size(); ++k)
      if (csr->indices[k] < 0 || csr->indices[k] >= csr->cols)
        fail("csr_matrix column index " + std::to_string(csr->indices[k]) + " outside [0, " +
             std::to_string(csr->cols) + ")");
    auto& target = at(inst);
    target.csr = std::move(csr);
    target.tag = Tag::csr_matrix;
  }

  // ---- one opcode ----
  void string_op(std::uint64_t n) {
    const auto* p = take(n);
    push(make_string(std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))));
  }
  void memo_put(std::uint64_t key) { memo_[key] = top(); }
  void memo_get(std::uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo entry " + std::to_string(key) + " is not defined");
    push(it->second);
  }
  void tuple_n(std::size_t n) {
    if (stack_.size() < frame() + n) fail("stack underflow");
    std::vector<std::uint32_t> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    push(tuple_of(std::move(items)));
  }
  void long_op(std::uint64_t n) {
    if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit 64 bits");
    const auto* p = take(n);
    std::int64_t v = 0;
    if (n > 0) {
      const auto raw = load_le(p, static_cast<int>(n));
      const int shift = 64 - 8 * static_cast<int>(n);
      v = static_cast<std::int64_t>(raw << shift) >> shift;
    }
    push(make_int(v));
  }

  void step() {
    switch (op_) {
      case 0x80: {  // PROTO
        const auto version = le(1);
        if (version > 4) fail("pickle protocol " + std::to_string(version) + " is not supported (0 to 4 are)");
        break;
      }
      case 0x95: {  // FRAME: an advisory length; the whole pickle is in memory anyway
        const auto n = le(8);
        if (n > bytes_.size() - pos_) fail("frame of " + std::to_string(n) + " bytes runs past the end of the file");
        break;
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0':                                          // POP
        if (stack_.size() > frame())
          stack_.pop_back();
        else
          pop_mark();  // as Python 3 does: an empty frame pops its mark
        break;
      case '1': pop_mark(); break;   // POP_MARK
      case '2': push(top()); break;  // DUP
      case 'N': push(make(Tag::none)); break;
      case 0x88: push(make_int(1, Tag::boolean)); break;                                              // NEWTRUE
      case 0x89: push(make_int(0, Tag::boolean)); break;                                              // NEWFALSE
      case 'K': push(make_int(static_cast<std::int64_t>(le(1)))); break;                              // BININT1
      case 'M': push(make_int(static_cast<std::int64_t>(le(2)))); break;                              // BININT2
      case 'J': push(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(le(4))))); break;  // BININT
      case 0x8a: long_op(le(1)); break;                                                               // LONG1
      case 0x8b: {                                                                                    // LONG4
        const auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(le(4)));
        if (n < 0) fail("LONG4 with negative length");
        long_op(static_cast<std::uint64_t>(n));
        break;
      }
      case 'I': {  // INT: protocol 0 also spells booleans as I00 / I01
        const auto s = text_line();
        if (s == "00" || s == "01")
          push(make_int(s == "01", Tag::boolean));
        else
          push(make_int(parse_int(s)));
        break;
      }
      case 'L': {  // LONG, "123L"
        auto s = text_line();
        if (!s.empty() && s.back() == 'L') s.remove_suffix(1);
        push(make_int(parse_int(s)));
        break;
      }
      case 'F': {  // FLOAT as text
        const auto s = text_line();
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || s.empty())
          fail("'" + std::string(s) + "' is not a float");
        const auto id = make(Tag::floating);
        at(id).floating = v;
        push(id);
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const auto* p = take(8);
        std::uint64_t raw = 0;
        for (int i = 0; i < 8; ++i) raw = (raw << 8) | p[i];
        const auto id = make(Tag::floating);
        at(id).floating = std::bit_cast<double>(raw);
        push(id);
        break;
      }
      case 'U': string_op(le(1)); break;   // SHORT_BINSTRING
      case 'C': string_op(le(1)); break;   // SHORT_BINBYTES
      case 0x8c: string_op(le(1)); break;  // SHORT_BINUNICODE
      case 'T': {                          // BINSTRING: signed length
        const auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(le(4)));
        if (n < 0) fail("BINSTRING with negative length " + std::to_string(n));
        string_op(static_cast<std::uint64_t>(n));
        break;
      }
      case 'B': string_op(le(4)); break;                                    // BINBYTES
      case 'X': string_op(le(4)); break;                                    // BINUNICODE
      case 0x8d: string_op(le(8)); break;                                   // BINUNICODE8
      case 0x8e: string_op(le(8)); break;                                   // BINBYTES8
      case 'S': push(make_string(unquote(text_line()))); break;             // STRING
      case 'V': push(make_string(raw_unicode_escape(text_line()))); break;  // UNICODE
      case ')': push(tuple_of({})); break;                                  // EMPTY_TUPLE
      case 0x85: tuple_n(1); break;                                         // TUPLE1
      case 0x86: tuple_n(2); break;                                         // TUPLE2
      case 0x87: tuple_n(3); break;                                         // TUPLE3
      case 't': push(tuple_of(pop_mark())); break;                          // TUPLE
      case ']': push(make(Tag::list)); break;                               // EMPTY_LIST
      case 'l': {                                                           // LIST
        auto items = pop_mark();
        const auto id = make(Tag::list);
        at(id).items = std::move(items);
        push(id);
        break;
      }
      case '}': push(make_dict()); break;  // EMPTY_DICT
      case 'd': {                          // DICT
        const auto items = pop_mark();
        if (items.size() % 2) fail("DICT with an odd number of items");
        const auto id = make_dict();
        for (std::size_t i = 0; i < items.size(); i += 2) set_item(id, items[i], items[i + 1]);
        push(id);
        break;
      }
      case 'a': {  // APPEND
        const auto value = pop();
        at(target(Tag::list, "APPEND")).items.push_back(value);
        break;
      }
      case 'e': {  // APPENDS
        const auto items = pop_mark();
        auto& list = at(target(Tag::list, "APPENDS")).items;
        list.insert(list.end(), items.begin(), items.end());
        break;
      }
      case 's': {  // SETITEM
        const auto value = pop();
        const auto key = pop();
        set_item(target(Tag::dict, "SETITEM"), key, value);
        break;
      }
      case 'u': {  // SETITEMS
        const auto items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        const auto dict = target(Tag::dict, "SETITEMS");
        for (std::size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        break;
      }
      case 'p': memo_put(static_cast<std::uint64_t>(parse_int(text_line()))); break;  // PUT
      case 'q': memo_put(le(1)); break;                                               // BINPUT
      case 'r': memo_put(le(4)); break;                                               // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;                                       // MEMOIZE
      case 'g': memo_get(static_cast<std::uint64_t>(parse_int(text_line()))); break;  // GET
      case 'h': memo_get(le(1)); break;                                               // BINGET
      case 'j': memo_get(le(4)); break;                                               // LONG_BINGET
      case 'c': {                                                                     // GLOBAL "module\nname\n"
        const auto module = text_line();
        const auto name = text_line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const auto name = pop();
        const auto module = pop();
        if (at(module).tag != Tag::string || at(name).tag != Tag::string) fail("STACK_GLOBAL needs two strings");
        push(global(at(module).text, at(name).text));
        break;
      }
      case 'R': {  // REDUCE
        const auto args = pop();
        const auto callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        const auto args = pop();
        const auto cls = pop();
        if (!is_callable(cls, Callable::csr_type) || at(args).tag != Tag::tuple || !at(args).items.empty())
          fail("refusing to instantiate " + describe(cls) + " with NEWOBJ");
        push(make(Tag::new_csr));
        break;
      }
      case 'b': {  // BUILD
        const auto state = pop();
        build(top(), state);
        break;
      }
      case 'i':
      case 'o':
      case 0x92: fail("refusing INST/OBJ/NEWOBJ_EX: they instantiate arbitrary classes");
      case 'P':
      case 'Q': fail("persistent ids are not supported");
      case 0x82:
      case 0x83:
      case 0x84: fail("the extension registry (EXT1/2/4) is not supported");
      case 0x8f:
      case 0x90:
      case 0x91: fail("sets are not supported");
      case 0x96:
      case 0x97:
      case 0x98: fail("out-of-band buffers (protocol 5) are not supported");
      default: fail("unknown opcode");
    }
  }

  std::span<const std::uint8_t> bytes_;
  std::unique_ptr<Arena> arena_;
  std::uint64_t budget_;  // bytes the reader may still copy
  std::size_t pos_ = 0;
  std::size_t op_at_ = 0;
  std::uint8_t op_ = 0;
  std::vector<std::uint32_t> stack_;
  std::vector<std::size_t> marks_;  // stack sizes at each MARK
  std::unordered_map<std::uint64_t, std::uint32_t> memo_;
};

}  // namespace detail

/// @brief Parses pickle bytes without executing anything; `source` names them in every error message.
/// Throws format_error on truncation, malformed opcodes, stack or memo misuse and any non-whitelisted global.
inline Pickle parse_pickle(std::span<const std::uint8_t> bytes, std::string source) {
  return detail::PickleVm(bytes, std::move(source)).run();
}

/// @brief Reads and parses a pickle file; io_error when it cannot be read, format_error when it is malformed.
inline Pickle read_pickle(const std::filesystem::path& path) {
  const auto bytes = read_file(path);
  return parse_pickle(bytes, path.string());
}

}  // namespace gas::io
