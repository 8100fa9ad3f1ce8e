// First include of every binding file: pybind11, the array types the bindings take, and
// small conversion helpers.  The Python layer (src/hessprobe) has already checked and
// converted the arguments; the checks here guard the C++ against a direct misuse of _core.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace hessprobe::bindings {

namespace py = pybind11;
using namespace pybind11::literals;

// float64, C-contiguous; anything else is converted (copied) by pybind11.
using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

inline std::size_t vector_size(const Array& a, const char* name) {
    if (a.ndim() != 1)
        throw std::invalid_argument(std::string(name) + " must be 1-D, got ndim=" + std::to_string(a.ndim()));
    return static_cast<std::size_t>(a.shape(0));
}

// Rows of a 2-D (rows, n) array whose n must match.
inline std::size_t block_rows(const Array& a, std::size_t n, const char* name) {
    if (a.ndim() != 2 || static_cast<std::size_t>(a.shape(1)) != n)
        throw std::invalid_argument(std::string(name) + " must have shape (k, " + std::to_string(n) + ")");
    return static_cast<std::size_t>(a.shape(0));
}

// The array a kernel writes into: `out` (checked by the Python layer: float64,
// C-contiguous, writeable, of this shape; re-checked here) or a new one.  Writing into
// memory the caller reuses spares faulting in fresh pages, the cost of a cheap kernel.
inline py::array_t<double> output_array(const py::object& out, const std::vector<py::ssize_t>& shape) {
    if (out.is_none()) return py::array_t<double>(shape);
    auto arr = py::reinterpret_borrow<py::array>(out);
    const bool ok = py::array_t<double>::check_(arr) && (arr.flags() & py::array::c_style) && arr.writeable() &&
                    static_cast<std::size_t>(arr.ndim()) == shape.size() &&
                    std::equal(shape.begin(), shape.end(), arr.shape());
    if (!ok) throw std::invalid_argument("out must be a writeable C-contiguous float64 array of the result's shape");
    return py::reinterpret_borrow<py::array_t<double>>(arr);
}

inline int checked_threads(int threads) {
    if (threads < 1) throw std::invalid_argument("threads must be >= 1, got " + std::to_string(threads));
    return threads;
}

// A target relative error: 0 (none) or a finite number > 0.
inline double checked_tol(double tol) {
    if (!(tol >= 0.0) || tol == std::numeric_limits<double>::infinity())
        throw std::invalid_argument("tol must be a finite number >= 0 (0: no target)");
    return tol;
}

// Between the rounds of a probing run of `total` probes (takes the GIL briefly): the
// Ctrl-C check, then progress(done, total) unless progress is None.  It refers to
// `progress`, which must outlive the run.
inline std::function<void(std::size_t)> between_rounds(const py::object& progress, std::size_t total) {
    return [&progress, total](std::size_t done) {
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (!progress.is_none()) progress(done, total);
    };
}

// The register functions of the bind_*.cpp files, one per concept.
void bind_info(py::module_& m);
void bind_rng(py::module_& m);
void bind_functions(py::module_& m);
void bind_native(py::module_& m);
void bind_finite_difference(py::module_& m);
void bind_compiled(py::module_& m);
void bind_tangent(py::module_& m);
void bind_block_probe(py::module_& m);
void bind_partials(py::module_& m);
void bind_colouring(py::module_& m);

}  // namespace hessprobe::bindings
