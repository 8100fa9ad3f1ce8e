// The native gradient a scipy.LowLevelCallable's capsule stands for (bind_native.cpp).
#pragma once

#include "common.hpp"

#include "hessprobe/sources.hpp"

#include <memory>

namespace hessprobe::bindings {

// The gradient of a capsule with one of native_signatures(); std::invalid_argument
// listing them for any other.
std::unique_ptr<NativeGradient> native_from_capsule(const py::capsule& cap);

}  // namespace hessprobe::bindings
