#pragma once
/// @brief The reverse-mode tape: a Wengert list of nodes that ops append to and `backward` walks in reverse.
///
/// Why a tape of reusable nodes rather than a graph of heap objects: a training step records the same ops
/// in the same order every time, so node i of this step has the shapes node i had last step. `reset()` keeps
/// every node and its buffers, and `Tensor::resize` reuses their allocations: in the steady state a step
/// allocates nothing. A node's backward is a plain function pointer, its op's attributes live in a fixed typed slot
/// (autograd::AttributeSlot) and its saved state in auxiliary tensors, so recording an op allocates nothing either.

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gas/autograd/attributes.hpp"
#include "gas/autograd/parameter.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/core/sparse_rows.hpp"
#include "gas/core/tensor.hpp"

namespace gas::autograd {

template <class T, class Backend>
class Tape;

/// @brief One recorded value: its data, its gradient, and how to push the gradient to its inputs.
template <class T, class Backend = host>
struct Node {
  using BackwardFn = void (*)(Tape<T, Backend>&, Node&);
  static constexpr int max_inputs = 4;

  MatrixView<T> value;                 // (rows, cols): value_storage, or a parameter's value
  MatrixView<T> grad;                  // same shape once materialized in a backward pass
  Tensor<T, Backend> value_storage;
  Tensor<T, Backend> grad_storage;
  Tensor<T, Backend> aux;              // whatever an op saves for backward (mask, softmax, statistics)
  Tensor<std::int64_t, Backend> aux_index;  // integer state (argmax positions, gathered ids)
  Tensor<std::int32_t, Backend> aux_ids;    // 32-bit ids or labels an op copies to the backend (device gathers)
  Tensor<T, host> host_stage;               // host rows a device op stages (gathered features, history rows)
  std::vector<int> host_inputs;             // a device op's inputs beyond `inputs` (concat's parts), kept on the host
  std::array<int, max_inputs> inputs{-1, -1, -1, -1};
  BackwardFn backward = nullptr;
  Parameter<T, Backend>* param = nullptr;
  const char* op = "";                 // name of the op that produced the node, for messages
  bool requires_grad = false;
  bool grad_live = false;              // grad holds this pass's accumulated gradient
  bool grad_released = false;          // the gradient was propagated and its buffer reused (Tape::keep_grads)
  /// A sparse value (Tape::push_sparse): `value` has the shape but no data; the matrix is CSR in aux_index (row
  /// offsets, 1 x rows + 1), aux_ids (columns, 1 x nnz) and aux (values, 1 x nnz). Never requires a gradient.
  bool sparse = false;
  /// Rows of a table not copied yet (Tape::push_rows, host only): row i of the value is row rows_ids[i] of
  /// rows_table, and `value` has the shape but no data until Tape::materialize copies them. Ops that read rows
  /// through an index anyway (spmm) read them in place; ops::record materializes them for every other op.
  const std::int32_t* rows_ids = nullptr;  // gas::node_id (graph/dataset.hpp, a layer above)
  MatrixView<const T> rows_table;

  /// @brief Whether the value is rows of a table still to be copied (see rows_ids).
  [[nodiscard]] bool deferred() const { return rows_ids != nullptr; }

  /// @brief The CSR arrays of a sparse value, in the backend's memory.
  [[nodiscard]] SparseRowsView<T> sparse_value() const {
    return {value.rows(), value.cols(), aux_index.data(), aux_ids.data(), aux.data()};
  }

  /// @brief The attributes the node's op stored (see ops::record); throws value_error naming the op and both
  /// types when they are not of type A.
  template <class A>
  [[nodiscard]] A& attrs() {
    return attributes_.get<A>(op);
  }
  template <class A>
  [[nodiscard]] const A& attrs() const {
    return attributes_.get<A>(op);
  }
  /// @brief Stores the op's attributes (a trivially copyable struct of at most AttributeSlot::capacity bytes).
  template <class A>
  void set_attrs(const A& attributes) {
    attributes_.set(attributes);
  }

private:
  friend class Tape<T, Backend>;
  AttributeSlot attributes_;
};

/// @brief A handle to a node of a tape: what ops take and return. Valid until the tape's next `reset()`.
template <class T, class Backend = host>
class Var {
public:
  Var() = default;
  Var(Tape<T, Backend>* tape, int id) : tape_(tape), id_(id) {}

  [[nodiscard]] Tape<T, Backend>& tape() const {
    GAS_CHECK(tape_ != nullptr, value_error, "empty Var (default-constructed)");
    return *tape_;
  }
  [[nodiscard]] int id() const { return id_; }
  [[nodiscard]] Node<T, Backend>& node() const { return tape().node(id_); }
  /// @brief The value; throws value_error for a sparse value (its arrays: node().sparse_value(); a dense copy:
  /// ops::to_dense).
  [[nodiscard]] MatrixView<const T> value() const {
    const auto& n = node();
    GAS_CHECK(!n.sparse, value_error,
              "a sparse value (" << n.value.rows() << " x " << n.value.cols() << ", op '" << n.op
                                 << "') has no dense data; ops::to_dense(x) makes a dense copy");
    if (n.deferred()) tape().materialize(id_);
    return n.value;
  }
  /// @brief Whether the value is sparse (Tape::push_sparse): ops take it as it is or as a dense copy.
  [[nodiscard]] bool is_sparse() const { return node().sparse; }
  /// @brief Stored entries: non-zeros of a sparse value, rows x cols of a dense one.
  [[nodiscard]] std::int64_t nnz() const {
    const auto& n = node();
    return n.sparse ? n.aux.size() : n.value.rows() * n.value.cols();
  }
  /// @brief Gradient after `backward`; throws value_error when the node received none.
  [[nodiscard]] MatrixView<const T> grad() const {
    auto& n = node();
    GAS_CHECK(!n.grad_released, value_error,
              "the gradient of this intermediate value (op '" << n.op << "') was freed once propagated; call "
                                                              << "tape.keep_grads(true) before backward to read it");
    GAS_CHECK(n.grad_live, value_error, "no gradient reached this value (op '" << n.op << "')");
    return n.grad;
  }
  [[nodiscard]] std::int64_t rows() const { return node().value.rows(); }
  [[nodiscard]] std::int64_t cols() const { return node().value.cols(); }
  [[nodiscard]] bool requires_grad() const { return node().requires_grad; }

private:
  Tape<T, Backend>* tape_ = nullptr;
  int id_ = -1;
};

/// @brief Records ops in order; `backward(loss)` runs their backward functions in reverse.
///
/// Values live where the backend keeps them: host memory for `gas::host`; device memory for `gas::cuda::device`,
/// whose ops run on the stream of the tape's `exec()` (a tape of device values is used from nvcc-compiled code that
/// includes gas/gas.hpp, which brings the device implementations of the ops). `to_host` copies a value out for
/// inspection.
/// @tparam T float or double.
/// @tparam Backend where tensors live (`gas::host`; device backends under gas/cuda/).
template <class T, class Backend = host>
class Tape {
  static_assert(std::is_floating_point_v<T>, "gas::autograd::Tape computes in float or double");

public:
  using node_type = Node<T, Backend>;
  using var = Var<T, Backend>;

  Tape() = default;
  /// @brief A tape whose ops run in `exec` (for the device: on its stream).
  explicit Tape(Exec<Backend> exec) : exec_(std::move(exec)) {}
  Tape(const Tape&) = delete;  // Vars point at their tape
  Tape& operator=(const Tape&) = delete;

  /// @brief Starts a new recording; nodes and their buffers are kept for reuse. Invalidates every Var.
  void reset() { size_ = 0; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] bool grad_enabled() const { return grad_enabled_; }
  void set_grad_enabled(bool on) { grad_enabled_ = on; }
  /// @brief Whether backward keeps every intermediate gradient readable (Var::grad) after it has propagated. Off by
  /// default: the buffer of an op's gradient goes back to a pool as soon as its backward has run, and the next
  /// gradients are formed in it, so a backward pass holds only the gradients of its frontier (a 64-layer GCNII
  /// otherwise keeps one per node). Leaves' and parameters' gradients are always kept.
  [[nodiscard]] bool keep_grads() const { return keep_grads_; }
  void keep_grads(bool on) { keep_grads_ = on; }

  /// @brief Where the ops run: the device stream and cuBLAS handle, or nothing on the host.
  [[nodiscard]] Exec<Backend>& exec() { return exec_; }

  [[nodiscard]] node_type& node(int id) {
    GAS_CHECK(id >= 0 && id < size_, value_error, "node " << id << " is not on the tape (size " << size_ << ")");
    return nodes_[static_cast<std::size_t>(id)];
  }

  /// @brief A constant (no gradient) holding a copy of `from`, which lives in the backend's memory (a view of a
  /// host tensor for the host, of a device tensor for the device).
  var constant(MatrixView<const T> from) {
    auto [id, n] = push("constant", from.rows(), from.cols());
    exec_.copy(from, n.value);
    return {this, id};
  }

  /// @brief A constant holding a copy of the host view `from`, moved to the backend's memory (features, labels'
  /// masks, per-row factors computed on the host). The same as constant() on the host backend.
  var constant_from_host(MatrixView<const T> from) {
    auto [id, n] = push("constant", from.rows(), from.cols());
    exec_.upload(from, n.value);
    return {this, id};
  }

  /// @brief A leaf that needs a gradient, holding a copy of the host view `from` (tests, inputs one differentiates).
  var variable_from_host(MatrixView<const T> from) {
    var v = constant_from_host(from);
    auto& n = v.node();
    n.op = "variable";
    n.requires_grad = grad_enabled_;
    return v;
  }

  /// @brief A host copy of a value of this tape (for a device tape: waits for the stream).
  [[nodiscard]] Tensor<T, host> to_host(MatrixView<const T> value) {
    Tensor<T, host> out(value.rows(), value.cols());
    exec_.download(value, out.view());
    return out;
  }

  /// @brief A leaf that needs a gradient, holding a copy of `from` (for tests and inputs one differentiates).
  var variable(MatrixView<const T> from) {
    var v = constant(from);
    auto& n = v.node();
    n.op = "variable";
    n.requires_grad = grad_enabled_;
    return v;
  }

  /// @brief A leaf that reads `p.value` in place and accumulates into `p.grad`. On the device the parameter's
  /// tensors move to the tape's stream, so that its gradient, its zeroing and the optimizer's update (which run on
  /// the tensors' stream) are ordered with the kernels that read and write them.
  var param(Parameter<T, Backend>& p) {
    bind(p.value);
    bind(p.grad);
    auto [id, n] = push_view("param", p.value.view());
    n.param = &p;
    n.requires_grad = grad_enabled_;
    return {this, id};
  }

  /// @brief Appends a node for an op with `rows x cols` output and the given inputs; `requires_grad` is set
  /// when grad mode is on and any input requires a gradient. Op implementations call this.
  std::pair<int, node_type&> push(const char* op, std::int64_t rows, std::int64_t cols,
                                  std::initializer_list<var> inputs = {}) {
    return push(op, rows, cols, std::span<const var>(inputs.begin(), inputs.size()));
  }

  /// @brief Like `push`, over inputs held in a span (ops::record, when it substitutes dense copies of sparse inputs).
  std::pair<int, node_type&> push(const char* op, std::int64_t rows, std::int64_t cols, std::span<const var> inputs) {
    auto [id, n] = next_node(op);
    bind(n.value_storage);
    n.value_storage.resize(rows, cols);
    n.value = n.value_storage.view();
    wire(n, inputs);
    return {id, n};
  }

  /// @brief Appends a sparse node (rows x cols with `nnz` stored entries; see Node::sparse) whose CSR arrays the
  /// caller fills: aux_index (1 x rows + 1), aux_ids (1 x nnz), aux (1 x nnz). It never requires a gradient: sparse
  /// values are inputs (features) and what dropout makes of them.
  std::pair<int, node_type&> push_sparse(const char* op, std::int64_t rows, std::int64_t cols, std::int64_t nnz,
                                         std::initializer_list<var> inputs = {}) {
    GAS_CHECK(rows >= 0 && cols >= 0 && nnz >= 0, shape_error,
              "op '" << op << "': sparse shape (" << rows << " x " << cols << ") with " << nnz << " entries");
    auto [id, n] = next_node(op);
    wire(n, inputs);
    n.requires_grad = false;
    n.sparse = true;
    n.aux_index.resize(1, rows + 1);
    n.aux_ids.resize(1, nnz);
    n.aux.resize(1, nnz);
    n.value = MatrixView<T>(nullptr, rows, cols);
    return {id, n};
  }

  /// @brief Rows ids[i] of `table` as a constant (ids.size(), table.cols()) without copying them (host only):
  /// spmm reads them in place (a GAS batch's layer-0 aggregation never copies the features of its halo) and any
  /// other reader gets them copied first (materialize). Ids that are every row in order (full-batch training) give
  /// a view of the table. `table` and `ids` must stay alive and unchanged until the tape is reset, and every id
  /// must lie in [0, table.rows()) (the caller checks; models::gather_features does).
  var push_rows(const char* op, MatrixView<const T> table, std::span<const std::int32_t> ids) {
    static_assert(on_host<Backend>, "push_rows reads host memory in place: host tapes only");
    const auto n = static_cast<std::int64_t>(ids.size());
    bool identity = n == table.rows();
    for (std::int64_t i = 0; identity && i < n; ++i) identity = ids[static_cast<std::size_t>(i)] == i;
    // A view of the caller's table: no op writes into a constant's value (ops write their own node's value and
    // gradients), so the const_cast never leads to a write.
    if (identity) return {this, push_view(op, MatrixView<T>(const_cast<T*>(table.data()), n, table.cols(), table.ld())).first};
    auto [id, node] = next_node(op);
    node.value = MatrixView<T>(nullptr, n, table.cols());
    node.rows_ids = ids.data();
    node.rows_table = table;
    return {this, id};
  }

  /// @brief Copies a deferred node's rows (push_rows) into its own storage, so that its value is an ordinary
  /// dense value; a no-op for any other node. Rows a few ahead are prefetched: they are scattered over the table,
  /// and each would otherwise wait a full memory latency.
  void materialize(int id) {
    auto& n = node(id);
    if (!n.deferred()) return;
    if constexpr (on_host<Backend>) {
      const MatrixView<const T> table = n.rows_table;
      const std::int32_t* ids = n.rows_ids;
      const std::int64_t rows = n.value.rows(), cols = n.value.cols();
      n.value_storage.resize(rows, cols);
      n.value = n.value_storage.view();
      n.rows_ids = nullptr;
      if (cols == 0) return;
      const auto bytes = static_cast<std::int64_t>(cols * static_cast<std::int64_t>(sizeof(T)));
      const MatrixView<T> out = n.value;
      constexpr std::int64_t ahead = 8;
#pragma omp parallel for schedule(static) if (rows * cols > (std::int64_t{1} << 16))
      for (std::int64_t i = 0; i < rows; ++i) {
        if (i + ahead < rows) {
          const T* p = table.data() + std::int64_t{ids[i + ahead]} * table.ld();
          for (std::int64_t k = 0; k < bytes; k += 64) __builtin_prefetch(reinterpret_cast<const char*>(p) + k);
        }
        std::copy_n(table.data() + std::int64_t{ids[i]} * table.ld(), cols, &out(i, 0));
      }
    }
  }

  /// @brief Like `push`, but the value is a view of memory the caller keeps alive (no copy). Device kernels take
  /// contiguous rows, so on the device the view must be contiguous (value_error otherwise).
  std::pair<int, node_type&> push_view(const char* op, MatrixView<T> value, std::initializer_list<var> inputs = {}) {
    GAS_CHECK(on_host<Backend> || value.contiguous(), value_error,
              "op '" << op << "': a device value must be contiguous (ld " << value.ld() << ", cols " << value.cols()
                     << ")");
    auto [id, n] = next_node(op);
    n.value = value;
    wire(n, inputs);
    return {id, n};
  }

  /// @brief The gradient buffer of node `id`, zeroed on first use in this backward pass; ops add into it.
  MatrixView<T> grad_of(int id) {
    auto& n = node(id);
    if (!n.grad_live) {
      if (n.param != nullptr) {
        auto& g = n.param->grad;
        if (g.rows() != n.value.rows() || g.cols() != n.value.cols()) n.param->zero_grad();
        n.grad = g.view();  // parameters accumulate across passes until zero_grad()
      } else {
        take_pooled(n.grad_storage, n.value.rows() * n.value.cols());
        bind(n.grad_storage);
        n.grad_storage.resize(n.value.rows(), n.value.cols());
        n.grad = n.grad_storage.view();
        exec_.fill(n.grad, T{0});
      }
      n.grad_live = true;
    }
    return n.grad;
  }

  /// @brief Backpropagates from a 1 x 1 `loss` (seeded with `seed`) through every node before it.
  void backward(var loss, T seed = T{1}) {
    GAS_CHECK(&loss.tape() == this, value_error, "the loss belongs to another tape");
    GAS_CHECK(loss.rows() == 1 && loss.cols() == 1, shape_error,
              "backward needs a scalar (1 x 1) loss, got (" << loss.rows() << " x " << loss.cols() << ")");
    if (!start_backward(loss)) return;
    exec_.add_to_element(grad_of(loss.id()), 0, 0, seed);
    run_backward(loss.id());
  }

  /// @brief Backpropagates from `out` of any shape, seeded with the gradient `seed` of out's shape (in the
  /// backend's memory): the vector-Jacobian product seed^T d out / d inputs, added into the inputs' gradients.
  void backward(var out, MatrixView<const T> seed) {
    GAS_CHECK(&out.tape() == this, value_error, "the value belongs to another tape");
    GAS_CHECK(seed.rows() == out.rows() && seed.cols() == out.cols(), shape_error,
              "seed gradient (" << seed.rows() << " x " << seed.cols() << ") for a value (" << out.rows() << " x "
                                << out.cols() << ")");
    if (!start_backward(out)) return;
    auto g = grad_of(out.id());
    if (out.node().param != nullptr) {  // a parameter's gradient accumulates: add the seed in (rare; via the host)
      Tensor<T, host> sum = to_host(g), add = to_host(seed);
      for (std::int64_t i = 0; i < sum.rows(); ++i)
        for (std::int64_t j = 0; j < sum.cols(); ++j) sum(i, j) += add(i, j);
      exec_.upload(MatrixView<const T>(sum.view()), g);
    } else {
      exec_.copy(seed, g);  // freshly zeroed: the seed is the gradient
    }
    run_backward(out.id());
  }

private:
  /// @brief Clears every node's gradient state; false when nothing upstream of `from` needs a gradient.
  bool start_backward(var from) {
    for (int i = 0; i < size_; ++i) {
      auto& n = nodes_[static_cast<std::size_t>(i)];
      n.grad_live = false;
      n.grad_released = false;
    }
    return from.node().requires_grad;
  }
  void run_backward(int from) {
    for (int i = from; i >= 0; --i) {
      auto& n = nodes_[static_cast<std::size_t>(i)];
      if (!(n.requires_grad && n.grad_live && n.backward != nullptr)) continue;
      n.backward(*this, n);
      if (!keep_grads_ && n.param == nullptr) {  // propagated: its buffer serves the gradients still to come
        grad_pool_.push_back(std::move(n.grad_storage));
        n.grad_storage = Tensor<T, Backend>();
        n.grad = MatrixView<T>();
        n.grad_live = false;
        n.grad_released = true;
      }
    }
  }
  /// @brief Gives `storage` the smallest pooled buffer holding at least `elements` when its own is smaller; its
  /// own buffer goes to the pool in exchange. A pooled buffer that is too small is left alone: growing it would
  /// free it and allocate anyway, and the next pass, whose nodes come back in another order, would then find no
  /// buffer of the size it freed (one allocation more in the second pass instead of none).
  void take_pooled(Tensor<T, Backend>& storage, std::int64_t elements) {
    if (storage.capacity() >= elements) return;
    std::size_t best = grad_pool_.size();
    for (std::size_t k = 0; k < grad_pool_.size(); ++k) {
      const auto c = grad_pool_[k].capacity();
      if (c >= elements && (best == grad_pool_.size() || c < grad_pool_[best].capacity())) best = k;
    }
    if (best == grad_pool_.size()) return;
    std::swap(storage, grad_pool_[best]);
    if (grad_pool_[best].capacity() == 0) {  // nothing worth keeping came back
      std::swap(grad_pool_[best], grad_pool_.back());
      grad_pool_.pop_back();
    }
  }

  std::pair<int, node_type&> next_node(const char* op) {
    if (static_cast<std::size_t>(size_) == nodes_.size()) nodes_.emplace_back();
    auto& n = nodes_[static_cast<std::size_t>(size_)];
    n.inputs.fill(-1);
    n.attributes_.clear();
    n.backward = nullptr;
    n.param = nullptr;
    n.op = op;
    n.requires_grad = false;
    n.grad_live = false;
    n.sparse = false;
    n.rows_ids = nullptr;
    bind(n.aux);
    bind(n.aux_index);
    bind(n.aux_ids);
    return {size_++, n};
  }

  /// @brief Puts a node's device tensor on the tape's stream (a no-op on the host), so that its allocations and
  /// frees are ordered with the kernels that use it.
  template <class U>
  void bind(Tensor<U, Backend>& t) {
    if constexpr (!on_host<Backend>)
      if (t.stream() != exec_.stream()) t.set_stream(exec_.stream());
  }

  void wire(node_type& n, std::initializer_list<var> inputs) { wire(n, std::span<const var>(inputs.begin(), inputs.size())); }
  void wire(node_type& n, std::span<const var> inputs) {
    GAS_CHECK(inputs.size() <= static_cast<std::size_t>(node_type::max_inputs), value_error,
              "op '" << n.op << "' has " << inputs.size() << " inputs, at most " << node_type::max_inputs);
    int k = 0;
    bool any = false;
    for (const var& in : inputs) {
      GAS_CHECK(&in.tape() == this, value_error, "op '" << n.op << "' mixes values of two tapes");
      n.inputs[static_cast<std::size_t>(k++)] = in.id();
      any |= in.node().requires_grad;
    }
    n.requires_grad = grad_enabled_ && any;
  }

  [[no_unique_address]] Exec<Backend> exec_{};
  std::deque<node_type> nodes_;  // deque: references to nodes stay valid while the tape grows
  std::vector<Tensor<T, Backend>> grad_pool_;  // buffers of gradients already propagated, for the next ones
  int size_ = 0;
  bool grad_enabled_ = true;
  bool keep_grads_ = false;
};

/// @brief A host copy of `v`'s value (for a device tape: waits for the tape's stream).
template <class T, class Backend>
[[nodiscard]] Tensor<T, host> to_host(Var<T, Backend> v) {
  return v.tape().to_host(v.value());
}

/// @brief Disables gradient recording on a tape for its lifetime (evaluation, history pushes).
template <class T, class Backend>
class NoGrad {
public:
  explicit NoGrad(Tape<T, Backend>& tape) : tape_(tape), previous_(tape.grad_enabled()) {
    tape.set_grad_enabled(false);
  }
  ~NoGrad() { tape_.set_grad_enabled(previous_); }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

private:
  Tape<T, Backend>& tape_;
  bool previous_;
};

}  // namespace gas::autograd
