#pragma once
/// @brief Forward declarations of gas's main types, for headers that only name them.
///
/// Default template arguments live here, once; the defining headers include this file.

#include <concepts>
#include <cstdint>

namespace gas {

struct host;

template <class T>
class MatrixView;
template <class T, class Backend = host>
class Tensor;

template <std::signed_integral Index = std::int32_t, std::floating_point Weight = float>
class Csr;

struct Split;
struct Dataset;
struct LoadOptions;
class Rng;
class JsonWriter;

}  // namespace gas
