#pragma once
/// @brief The exception hierarchy: every failure gas reports is a `gas::error` of a named kind.

#include <stdexcept>
#include <string>

namespace gas {

/// @brief Root of every exception gas throws; catch this to handle any gas failure.
class error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// @brief A file could not be opened, read or decompressed (missing, truncated, unreadable).
class io_error : public error {
public:
  using error::error;
};

/// @brief A file was read but its content is not what the format promises (bad dtype, shape, pickle, index).
class format_error : public io_error {
public:
  using io_error::io_error;
};

/// @brief Sizes or shapes of arguments disagree.
class shape_error : public error {
public:
  using error::error;
};

/// @brief An argument has a value outside its domain (negative count, NaN, out-of-range id).
class value_error : public error {
public:
  using error::error;
};

/// @brief A configuration or dataset spec string could not be understood.
class config_error : public error {
public:
  using error::error;
};

/// @brief Graph partitioning failed (METIS error, impossible part count).
class partition_error : public error {
public:
  using error::error;
};

/// @brief A CUDA runtime call or kernel launch failed.
class cuda_error : public error {
public:
  using error::error;
};

/// @brief A feature was requested that this build does not contain (e.g. CUDA in a host-only build).
class not_compiled : public error {
public:
  using error::error;
};

/// @brief A collective of distributed training failed: another rank failed first, or the transport (MPI) reported
/// an error. Every rank of the group gets one, so none waits forever for a partner that will not come.
class comm_error : public error {
public:
  using error::error;
};

/// @brief The error's kind as the library names its types, most specific first ("format_error" before
/// "io_error"), for messages such as `gas-train: format_error: ...`.
inline const char* kind_of(const error& e) {
  if (dynamic_cast<const format_error*>(&e) != nullptr) return "format_error";
  if (dynamic_cast<const io_error*>(&e) != nullptr) return "io_error";
  if (dynamic_cast<const shape_error*>(&e) != nullptr) return "shape_error";
  if (dynamic_cast<const value_error*>(&e) != nullptr) return "value_error";
  if (dynamic_cast<const config_error*>(&e) != nullptr) return "config_error";
  if (dynamic_cast<const partition_error*>(&e) != nullptr) return "partition_error";
  if (dynamic_cast<const cuda_error*>(&e) != nullptr) return "cuda_error";
  if (dynamic_cast<const not_compiled*>(&e) != nullptr) return "not_compiled";
  if (dynamic_cast<const comm_error*>(&e) != nullptr) return "comm_error";
  return "error";
}

}  // namespace gas
