#pragma once
/// @brief `Exec<Backend>`: where a tape's ops run and how memory moves there. The host one is empty and copies
/// with loops; the device one (gas/cuda/exec.hpp) holds the stream and the cuBLAS handle the device ops use.
///
/// The tape and the backend-generic parts of the ops move values only through these members (copy, fill,
/// transfers to and from the host), so they read the same for every backend.

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "gas/core/backend.hpp"
#include "gas/core/check.hpp"
#include "gas/core/tensor.hpp"

namespace gas {

/// @brief The execution context of a backend; specialized per backend (`Exec<host>` here, `Exec<cuda::device>`
/// in gas/cuda/exec.hpp, which needs the CUDA toolkit).
template <class Backend>
class Exec {
  static_assert(dependent_false<Backend>, "gas::Exec: no context for this backend (for gas::cuda::device, "
                                          "include <gas/cuda/exec.hpp>)");
};

/// @brief True for the host backend: generic code branches on it with `if constexpr`.
template <class Backend>
inline constexpr bool on_host = std::is_same_v<Backend, host>;

namespace detail {
/// @brief Throws shape_error naming both shapes unless `from` and `to` have the same shape.
template <class A, class B>
void check_same_shape(MatrixView<A> from, MatrixView<B> to, const char* what) {
  GAS_CHECK(from.rows() == to.rows() && from.cols() == to.cols(), shape_error,
            what << ": (" << from.rows() << " x " << from.cols() << ") into (" << to.rows() << " x " << to.cols()
                 << ")");
}
}  // namespace detail

/// @brief The host context: nothing to hold; memory is the host's, so "transfers" are copies.
template <>
class Exec<host> {
public:
  /// @brief to = from (same shape, any leading dimensions).
  template <class T>
  void copy(MatrixView<const T> from, MatrixView<T> to) const {
    detail::check_same_shape(from, to, "Exec<host>::copy");
    if (from.cols() == 0) return;
    // In parallel when large: the other threads would wait at the next op's barrier anyway.
#pragma omp parallel for schedule(static) if (from.rows() * from.cols() > (std::int64_t{1} << 17))
    for (std::int64_t i = 0; i < from.rows(); ++i) std::copy_n(&from(i, 0), from.cols(), &to(i, 0));
  }
  /// @brief The host backend's memory is host memory: same as copy().
  template <class T>
  void upload(MatrixView<const T> host_from, MatrixView<T> to) const {
    copy(host_from, to);
  }
  /// @brief Same as copy(); the values are ready on return.
  template <class T>
  void download(MatrixView<const T> from, MatrixView<T> host_to) const {
    copy(from, host_to);
  }
  /// @brief Sets every element of `to` to `value`.
  template <class T>
  void fill(MatrixView<T> to, T value) const {
#pragma omp parallel for schedule(static) if (to.rows() * to.cols() > (std::int64_t{1} << 17))
    for (std::int64_t i = 0; i < to.rows(); ++i) std::fill_n(to.data() + i * to.ld(), to.cols(), value);
  }
  /// @brief to(i, j) += value.
  template <class T>
  void add_to_element(MatrixView<T> to, std::int64_t i, std::int64_t j, T value) const {
    to(i, j) += value;
  }
  /// @brief Nothing runs asynchronously on the host.
  void synchronize() const {}
};

/// @brief A copy of `t` on its own backend (copy construction on the host, clone() on a device: device copies are
/// explicit there, since they cost).
template <class T, class Backend>
[[nodiscard]] Tensor<T, Backend> copy_of(const Tensor<T, Backend>& t) {
  if constexpr (on_host<Backend>) return t;
  else return t.clone();
}

}  // namespace gas
