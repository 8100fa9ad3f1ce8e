// The arrays a probing run writes, and the tuple it returns to Python.
#pragma once

#include "common.hpp"

#include "hessprobe/probing.hpp"

#include <utility>

namespace hessprobe::bindings {

// Output arrays of a probing run: the diagonal estimate and its standard error (None
// for a trace-only run), allocated before the GIL is released.
struct ProbeArrays {
    py::object value = py::none(), standard_error = py::none();
    DiagonalOutput out;

    ProbeArrays(std::size_t n, bool diagonal) {
        if (!diagonal) return;
        Array v(n), e(n);
        out = {v.mutable_data(), e.mutable_data()};
        value = std::move(v);
        standard_error = std::move(e);
    }

    // (diagonal or None, its stderr or None, trace, trace stderr, trace samples)
    py::tuple to_tuple(ProbeResult&& r) const {
        return py::make_tuple(value, standard_error, r.trace, r.trace_stderr,
                              py::array_t<double>(r.trace_samples.size(), r.trace_samples.data()));
    }
};

}  // namespace hessprobe::bindings
