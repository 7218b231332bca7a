#pragma once
// Test-only writer of protocol-2 pickles shaped like Planetoid's files (Python 2 numpy/scipy/collections), so
// that tests can build small datasets, and bad variants of them, without Python.

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gas_test {

/// Appends pickle opcodes to a byte string; each method emits what Python 2's pickler emits for that value.
class PickleWriter {
public:
  explicit PickleWriter(int protocol = 2) {
    if (protocol >= 2) {
      out_ += '\x80';
      out_ += static_cast<char>(protocol);
    }
  }

  PickleWriter& raw(std::string_view bytes) {
    out_ += bytes;
    return *this;
  }
  PickleWriter& op(char c) {
    out_ += c;
    return *this;
  }
  PickleWriter& integer(std::int64_t v) {
    if (v >= 0 && v < 256) return op('K').le(static_cast<std::uint64_t>(v), 1);
    if (v >= 0 && v < 65536) return op('M').le(static_cast<std::uint64_t>(v), 2);
    if (v >= INT32_MIN && v <= INT32_MAX) return op('J').le(static_cast<std::uint64_t>(v), 4);
    return op('\x8a').le(8, 1).le(static_cast<std::uint64_t>(v), 8);  // LONG1
  }
  PickleWriter& floating(double v) {  // BINFLOAT is big-endian
    op('G');
    const auto bits = std::bit_cast<std::uint64_t>(v);
    for (int i = 7; i >= 0; --i) out_ += static_cast<char>((bits >> (8 * i)) & 0xFF);
    return *this;
  }
  /// A Python 2 str (bytes).
  PickleWriter& string(std::string_view s) {
    if (s.size() < 256)
      op('U').le(s.size(), 1);
    else
      op('T').le(s.size(), 4);
    return raw(s);
  }
  /// A Python 2 unicode object (UTF-8).
  PickleWriter& unicode(std::string_view s) { return op('X').le(s.size(), 4).raw(s); }
  PickleWriter& none() { return op('N'); }
  PickleWriter& boolean(bool b) { return op(b ? '\x88' : '\x89'); }
  PickleWriter& mark() { return op('('); }
  PickleWriter& tuple() { return op('t'); }  // items since the last mark
  PickleWriter& tuple(int n) { return op(n == 0 ? ')' : n == 1 ? '\x85' : n == 2 ? '\x86' : '\x87'); }
  PickleWriter& empty_list() { return op(']'); }
  PickleWriter& append() { return op('a'); }
  PickleWriter& appends() { return op('e'); }
  PickleWriter& empty_dict() { return op('}'); }
  PickleWriter& setitem() { return op('s'); }
  PickleWriter& setitems() { return op('u'); }
  PickleWriter& global(std::string_view module, std::string_view name) {
    return op('c').raw(module).op('\n').raw(name).op('\n');
  }
  PickleWriter& reduce() { return op('R'); }
  PickleWriter& build() { return op('b'); }
  PickleWriter& newobj() { return op('\x81'); }
  PickleWriter& put(std::uint8_t id) { return op('q').le(id, 1); }
  PickleWriter& get(std::uint8_t id) { return op('h').le(id, 1); }
  PickleWriter& stop() { return op('.'); }

  const std::string& bytes() const { return out_; }

  PickleWriter& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xFF);
    return *this;
  }

private:
  std::string out_;
};

/// numpy's dtype string for a C++ element type.
template <class T>
std::string dtype_of() {
  if constexpr (std::is_same_v<T, bool>)
    return "b1";
  else if constexpr (std::is_floating_point_v<T>)
    return "f" + std::to_string(sizeof(T));
  else if constexpr (std::is_signed_v<T>)
    return "i" + std::to_string(sizeof(T));
  else
    return "u" + std::to_string(sizeof(T));
}

/// Little-endian element bytes.
template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  std::string out;
  for (const T& v : values) {
    std::uint64_t bits = 0;
    if constexpr (std::is_same_v<T, bool>)
      bits = v ? 1 : 0;
    else if constexpr (sizeof(T) == 8)
      bits = std::bit_cast<std::uint64_t>(v);
    else if constexpr (sizeof(T) == 4)
      bits = std::bit_cast<std::uint32_t>(v);
    else if constexpr (sizeof(T) == 2)
      bits = std::bit_cast<std::uint16_t>(v);
    else
      bits = std::bit_cast<std::uint8_t>(v);
    for (std::size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((bits >> (8 * i)) & 0xFF);
  }
  return out;
}

/// Emits a numpy array as numpy 1.x under Python 2 pickles it: _reconstruct(ndarray, (0,), 'b'), then BUILD with
/// (1, shape, dtype, fortran, rawdata). `dtype` is e.g. "f4"; `order` is '<' or '|'.
inline void ndarray(PickleWriter& w, std::string_view dtype, std::string_view order,
                    const std::vector<std::int64_t>& shape, std::string_view data, bool fortran = false) {
  w.global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray").integer(0).tuple(1).string("b");
  w.tuple(3).reduce();
  w.mark().integer(1);
  if (shape.size() <= 3) {
    for (auto d : shape) w.integer(d);
    w.tuple(static_cast<int>(shape.size()));
  } else {
    w.mark();
    for (auto d : shape) w.integer(d);
    w.tuple();
  }
  w.global("numpy", "dtype").string(dtype).integer(0).integer(1).tuple(3).reduce();
  w.mark().integer(3).string(order).none().none().none().integer(-1).integer(-1).integer(0).tuple().build();
  w.boolean(fortran).string(data).tuple().build();
}

/// A whole pickle file holding one array of T.
template <class T>
std::string ndarray_pickle(const std::vector<std::int64_t>& shape, const std::vector<T>& values) {
  PickleWriter w;
  ndarray(w, dtype_of<T>(), sizeof(T) == 1 ? "|" : "<", shape, raw_bytes(values));
  return w.stop().bytes();
}

/// CSR parts of a dense row-major (rows, cols) matrix, keeping exact zeros out as scipy does.
struct CsrParts {
  std::int64_t rows = 0, cols = 0;
  std::vector<std::int32_t> indptr, indices;
  std::vector<float> data;
};

inline CsrParts csr_of(std::int64_t rows, std::int64_t cols, const std::vector<float>& dense) {
  CsrParts c{rows, cols, {0}, {}, {}};
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < cols; ++j)
      if (const float v = dense[static_cast<std::size_t>(r * cols + j)]; v != 0.0f) {
        c.indices.push_back(static_cast<std::int32_t>(j));
        c.data.push_back(v);
      }
    c.indptr.push_back(static_cast<std::int32_t>(c.indices.size()));
  }
  return c;
}

/// How a csr_matrix instance is created: NEWOBJ (what the real Planetoid files use) or copy_reg._reconstructor.
enum class CsrStyle { newobj, reconstructor };

/// A whole pickle file holding a scipy.sparse.csr.csr_matrix, state dict as scipy 0.x under Python 2 writes it.
inline std::string csr_pickle(const CsrParts& c, CsrStyle style = CsrStyle::newobj) {
  PickleWriter w;
  if (style == CsrStyle::newobj) {
    w.global("scipy.sparse.csr", "csr_matrix").put(1).tuple(0).newobj();
  } else {
    w.global("copy_reg", "_reconstructor").mark().global("scipy.sparse.csr", "csr_matrix");
    w.global("__builtin__", "object").none().tuple().reduce();
  }
  w.put(2).empty_dict().mark();
  w.string("format").string("csr");
  w.string("_shape").integer(c.rows).integer(c.cols).tuple(2);
  w.string("indptr");
  ndarray(w, "i4", "<", {static_cast<std::int64_t>(c.indptr.size())}, raw_bytes(c.indptr));
  w.string("_cs_matrix__has_sorted_indices").boolean(true);
  w.string("indices");
  ndarray(w, "i4", "<", {static_cast<std::int64_t>(c.indices.size())}, raw_bytes(c.indices));
  w.string("maxprint").integer(50);
  w.string("data");
  ndarray(w, "f4", "<", {static_cast<std::int64_t>(c.data.size())}, raw_bytes(c.data));
  return w.setitems().build().stop().bytes();
}

/// A whole pickle file holding defaultdict(list) {node: [neighbors]} as Planetoid's graph files do.
inline std::string graph_pickle(const std::vector<std::pair<std::int64_t, std::vector<std::int64_t>>>& adjacency) {
  PickleWriter w;
  w.global("collections", "defaultdict").global("__builtin__", "list").tuple(1).reduce().mark();
  for (const auto& [node, neighbors] : adjacency) {
    w.integer(node).empty_list();
    if (neighbors.size() == 1) {
      w.integer(neighbors[0]).append();
    } else if (!neighbors.empty()) {
      w.mark();
      for (auto v : neighbors) w.integer(v);
      w.appends();
    }
  }
  return w.setitems().stop().bytes();
}

}  // namespace gas_test
