#pragma once
/// @brief `autograd::AttributeSlot`: where a tape node keeps its op's typed attributes, a fixed slot of bytes.
///
/// Every op has a small attribute struct (a probability and a seed, a pointer to the graph, spans of labels) that
/// its forward pass stores and its backward pass reads back. Why a slot of bytes with a type tag rather than a
/// std::any or a virtual base: recording must not allocate (a warm training step allocates nothing), and the
/// attributes are trivially copyable, so one aligned buffer in the node holds any of them. The tag is the address
/// of a constant per type, so reading checks the type with one comparison and needs no RTTI; the type's name
/// (what the compiler calls it) is only formed for the error message.

#include <cstddef>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>

#include "gas/core/error.hpp"

namespace gas::autograd {

namespace detail {

/// @brief The name of `Attributes` as the compiler spells it (for messages only; the whole signature when the
/// compiler's format is unknown).
template <class Attributes>
std::string_view attribute_type_name() {
#if defined(_MSC_VER) && !defined(__clang__)
  return __FUNCSIG__;
#else
  const std::string_view signature = __PRETTY_FUNCTION__;  // "... [with Attributes = X; ...]" or "[Attributes = X]"
  constexpr std::string_view key = "Attributes = ";
  const auto begin = signature.find(key);
  if (begin == std::string_view::npos) return signature;
  const auto end = signature.find_first_of(";]", begin + key.size());
  return signature.substr(begin + key.size(), end == std::string_view::npos ? end : end - begin - key.size());
#endif
}

/// @brief What identifies an attribute type at run time: its address is the tag, its function names the type.
struct AttributeType {
  std::string_view (*name)();
};

/// @brief The one AttributeType of `Attributes`.
template <class Attributes>
inline constexpr AttributeType attribute_type{&attribute_type_name<Attributes>};

}  // namespace detail

/// @brief A fixed-size, aligned slot holding one trivially copyable attribute struct and the tag of its type.
class AttributeSlot {
public:
  /// @brief Bytes an attribute struct may take.
  static constexpr std::size_t capacity = 64;
  /// @brief The strictest alignment an attribute struct may ask for.
  static constexpr std::size_t alignment = alignof(std::max_align_t);

  /// @brief Stores a copy of `attributes`, replacing what the slot held.
  template <class A>
  void set(const A& attributes) {
    static_assert(std::is_trivially_copyable_v<A>,
                  "op attributes must be trivially copyable: hold plain values, pointers and spans, never owners");
    static_assert(sizeof(A) <= capacity, "op attributes larger than autograd::AttributeSlot::capacity (64 bytes)");
    static_assert(alignof(A) <= alignment, "op attributes aligned beyond autograd::AttributeSlot::alignment");
    ::new (static_cast<void*>(bytes_)) A(attributes);
    type_ = &detail::attribute_type<A>;
  }

  /// @brief True when the slot holds attributes of type A.
  template <class A>
  [[nodiscard]] bool holds() const {
    return type_ == &detail::attribute_type<A>;
  }

  /// @brief The stored attributes; throws value_error naming `op` and both types unless they are of type A.
  template <class A>
  [[nodiscard]] A& get(const char* op) {
    if (!holds<A>()) [[unlikely]]
      mismatch(op, detail::attribute_type_name<A>());
    return *std::launder(reinterpret_cast<A*>(bytes_));
  }
  template <class A>
  [[nodiscard]] const A& get(const char* op) const {
    if (!holds<A>()) [[unlikely]]
      mismatch(op, detail::attribute_type_name<A>());
    return *std::launder(reinterpret_cast<const A*>(bytes_));
  }

  /// @brief Empties the slot (a node reused by the next step holds nothing until its op stores attributes).
  void clear() { type_ = nullptr; }

private:
  [[noreturn]] void mismatch(const char* op, std::string_view wanted) const {
    const std::string held =
        type_ == nullptr ? std::string("no attributes") : "attributes " + std::string(type_->name());
    throw value_error("gas::autograd::Node::attrs: op '" + std::string(op) + "' holds " + held + ", not " +
                      std::string(wanted));
  }

  alignas(alignment) unsigned char bytes_[capacity]{};
  const detail::AttributeType* type_ = nullptr;
};

}  // namespace gas::autograd
