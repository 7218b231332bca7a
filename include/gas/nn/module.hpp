#pragma once
/// @brief `Module`: the registry every layer and model derives from. A module registers its parameters and its
/// submodules once, at construction, with a name and (optionally) a weight-decay group; every list the library
/// needs (all parameters, the decayed and the undecayed group, the state-dict names) is derived from it, as
/// libtorch's `register_parameter` / `register_module` do.
///
/// Why modules can be neither copied nor moved: the registry keeps the addresses of the parameters and
/// submodules it was given, and optimizers keep the parameters' addresses. A type that cannot move makes a
/// dangling registry a compile error instead of a crash; lists of layers live in `ModuleList`, whose elements
/// never move either.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <concepts>
#include <deque>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"

namespace gas::nn {

/// @brief The weight-decay group of a parameter or a module: the reference trains with two optimizer groups,
/// `reg` (decayed) and `nonreg` (not decayed). `inherit` takes the group of the enclosing module; at the root,
/// `inherit` means `reg`.
enum class Decay : std::uint8_t { inherit, reg, nonreg };

/// @brief The base of layers and models: a named registry of parameters and submodules (see the file comment).
/// @tparam T compute type; @tparam Backend where the parameters live.
template <class T, class Backend = host>
class Module {
public:
  using value_type = T;
  using backend_type = Backend;
  using parameter_type = autograd::Parameter<T, Backend>;
  using module_type = Module<T, Backend>;

  Module() = default;
  Module(const Module&) = delete;  // the registry and the optimizers hold addresses: a module never moves
  Module& operator=(const Module&) = delete;

  /// @brief Every registered parameter, depth first in registration order.
  [[nodiscard]] std::vector<parameter_type*> parameters() { return collect(Filter::all); }
  /// @brief The parameters of the decayed group (`Decay::reg`, the reference's `reg_modules`).
  [[nodiscard]] std::vector<parameter_type*> reg_parameters() { return collect(Filter::reg); }
  /// @brief The parameters of the undecayed group (`Decay::nonreg`, the reference's `nonreg_modules`).
  [[nodiscard]] std::vector<parameter_type*> nonreg_parameters() { return collect(Filter::nonreg); }
  /// @brief (state-dict name, parameter) pairs: names are the registration path, `convs.0.lin.weight`.
  [[nodiscard]] std::vector<std::pair<std::string, parameter_type*>> named_parameters() {
    std::vector<std::pair<std::string, parameter_type*>> out;
    for (parameter_type* p : parameters()) out.emplace_back(p->name, p);
    return out;
  }

  /// @brief A buffer: state a module updates itself, not by gradients (batch norm's running statistics, spectral
  /// norm's singular-vector estimates). Checkpoints save and restore it beside the parameters.
  using buffer_ref = std::variant<Tensor<T, Backend>*, std::vector<double>*, std::int64_t*>;
  /// @brief (name, buffer) pairs, depth first in registration order; names are paths as for parameters.
  [[nodiscard]] std::vector<std::pair<std::string, buffer_ref>> named_buffers() {
    std::vector<std::pair<std::string, buffer_ref>> out;
    collect_buffers(out);
    return out;
  }

  /// @brief This module's path in the model (`convs.0`), empty for the root.
  [[nodiscard]] const std::string& path() const { return path_; }
  /// @brief The weight-decay group of this module's parameters that do not name their own.
  [[nodiscard]] Decay decay() const { return decay_; }
  /// @brief Puts this module (and what it holds that does not name its own group) in `group`.
  void set_decay(Decay group) { decay_ = group; }

protected:
  ~Module() = default;

  /// @brief Registers `p` (a member of this module) as `name`, in `group`. The parameter's `name` becomes its
  /// path (`<path>.<name>`). Throws value_error for an empty parameter, an empty name (or one that starts or ends
  /// with a dot), or a name registered before.
  parameter_type& register_parameter(const std::string& name, parameter_type& p, Decay group = Decay::inherit) {
    GAS_CHECK(p.value.size() > 0, value_error,
              "parameter '" << name << "' of module '" << path_ << "' is empty; register only parameters that exist");
    add({name, &p, nullptr, group, std::nullopt});
    p.name = join(path_, name);
    return p;
  }

  /// @brief Registers the submodule `m` (a member of this module, or an element of a member ModuleList) as
  /// `name`, in `group` (its own group, when it sets one, wins). Its parameters are renamed `<path>.<name>.*`.
  /// Throws value_error as register_parameter.
  template <class M>
    requires std::derived_from<M, module_type>
  M& register_module(const std::string& name, M& m, Decay group = Decay::inherit) {
    add({name, nullptr, &m, Decay::inherit, std::nullopt});
    if (group != Decay::inherit) m.set_decay(group);
    static_cast<module_type&>(m).rename(join(path_, name));
    return m;
  }

  /// @brief Registers a buffer of this module as `name` (see buffer_ref): a tensor, a vector of doubles (which
  /// may change length, e.g. set on first use) or a counter. Throws value_error for a bad or repeated name.
  template <class B>
    requires std::constructible_from<buffer_ref, B*>
  B& register_buffer(const std::string& name, B& b) {
    add({name, nullptr, nullptr, Decay::inherit, buffer_ref(&b)});
    return b;
  }

private:
  struct Entry {
    std::string name;
    parameter_type* param;  // at most one of param, module and buffer is set
    module_type* module;
    Decay group;            // the parameter's own group
    std::optional<buffer_ref> buffer{};
  };
  enum class Filter : std::uint8_t { all, reg, nonreg };

  static std::string join(const std::string& prefix, const std::string& leaf) {
    return prefix.empty() ? leaf : prefix + "." + leaf;
  }

  void add(Entry e) {
    GAS_CHECK(!e.name.empty() && e.name.front() != '.' && e.name.back() != '.', value_error,
              "'" << e.name << "' in module '" << path_ << "': a registered name is non-empty and starts and ends "
                                                          "with no dot");
    const bool taken = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& x) { return x.name == e.name; });
    GAS_CHECK(!taken, value_error, "'" << e.name << "' is registered twice in module '" << path_ << "'");
    entries_.push_back(std::move(e));
  }

  /// Gives this module the path `path` and renames everything it holds after it.
  void rename(const std::string& path) {
    path_ = path;
    for (Entry& e : entries_) {
      if (e.param != nullptr) e.param->name = join(path_, e.name);
      else if (e.module != nullptr) e.module->rename(join(path_, e.name));
    }
  }

  void collect_buffers(std::vector<std::pair<std::string, buffer_ref>>& out) {
    for (Entry& e : entries_) {
      if (e.module != nullptr) e.module->collect_buffers(out);
      else if (e.buffer) out.emplace_back(join(path_, e.name), *e.buffer);
    }
  }

  [[nodiscard]] std::vector<parameter_type*> collect(Filter filter) {
    std::vector<parameter_type*> out;
    collect(filter, Decay::reg, out);
    return out;
  }
  void collect(Filter filter, Decay inherited, std::vector<parameter_type*>& out) {
    const Decay mine = decay_ == Decay::inherit ? inherited : decay_;
    for (Entry& e : entries_) {
      if (e.module != nullptr) {
        e.module->collect(filter, mine, out);
        continue;
      }
      if (e.param == nullptr) continue;  // a buffer
      const Decay group = e.group == Decay::inherit ? mine : e.group;
      if (filter == Filter::all || (filter == Filter::reg) == (group == Decay::reg)) out.push_back(e.param);
    }
  }

  std::vector<Entry> entries_;
  std::string path_;
  Decay decay_ = Decay::inherit;
};

/// @brief A list of modules of one type whose elements never move (PyTorch's ModuleList): element i is
/// registered as `i`, so a model's `convs` list names its parameters `convs.<i>.*`.
template <class M>
  requires std::derived_from<M, typename M::module_type>
class ModuleList : public M::module_type {
public:
  ModuleList() = default;

  /// @brief Builds a module in place at the end and registers it as its index.
  template <class... Args>
  M& emplace_back(Args&&... args) {
    M& m = items_.emplace_back(std::forward<Args>(args)...);
    return this->register_module(std::to_string(items_.size() - 1), m);
  }

  [[nodiscard]] std::size_t size() const { return items_.size(); }
  [[nodiscard]] bool empty() const { return items_.empty(); }
  /// @brief Element i; throws value_error outside [0, size()).
  M& operator[](std::size_t i) { return at(i); }
  const M& operator[](std::size_t i) const { return const_cast<ModuleList&>(*this).at(i); }
  M& front() { return at(0); }
  M& back() { return at(items_.size() - 1); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

private:
  M& at(std::size_t i) {
    GAS_CHECK(i < items_.size(), value_error, "module " << i << " of a list of " << items_.size());
    return items_[i];
  }

  std::deque<M> items_;  // a deque: elements keep their addresses as the list grows
};

}  // namespace gas::nn
