// A Python gradient callable as a GradientSource of the core (sources.hpp).
#pragma once

#include "common.hpp"

#include "hessprobe/parallel.hpp"
#include "hessprobe/sources.hpp"

#include <algorithm>
#include <complex>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace hessprobe::bindings {

// A Python gradient.  Each call gets a read-only array (the user may not change our
// point), and the GIL is taken for the call only, so several threads can take turns (and
// run at once while the user's NumPy code releases the GIL).  A thread's point array is
// reused for its next call unless the user kept a reference to it; a fresh 8 MB array a
// call would cost page faults comparable to a cheap gradient.  The result is checked: an array-like of the point's shape, float64
// (complex128 for the complex step), or a ValueError/TypeError saying what came back.
class PythonGradient final : public GradientSource {
  public:
    PythonGradient(py::object fn, bool vectorized)
        : fn_(std::move(fn)), asarray_(py::module_::import("numpy").attr("asarray")), vectorized_(vectorized) {
        name_ = py::str(py::getattr(fn_, "__name__", py::str(py::repr(fn_))));
    }

    void prepare(int threads, std::size_t /*n*/) override {
        py::gil_scoped_acquire gil;
        cache_.assign(2 * static_cast<std::size_t>(threads), py::none());
    }

    std::size_t max_batch() const override {
        return vectorized_ ? std::numeric_limits<std::size_t>::max() : 1;
    }

    void evaluate(std::size_t count, std::size_t n, const Writer& write, const Reader& read) override {
        call<double>(count, n, write, read);
    }
    // Both gradients stay alive until read: no copy of the first.  The second point needs
    // its own array while the first result may still view the first point.
    void evaluate_pair(std::size_t n, const Writer& write_a, const Writer& write_b, const PairReader& read) override {
        py::gil_scoped_acquire gil;
        const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(n)};
        auto result = [&](const Writer& write, int slot) {
            py::array points = point_array<double>(shape, slot);
            write(reinterpret_cast<double*>(py::detail::array_proxy(points.ptr())->data));
            return checked<double>(fn_(points), shape);
        };
        if (vectorized_) throw std::logic_error("evaluate_pair is for per-point gradients");
        const auto ga = result(write_a, 0);
        const auto gb = result(write_b, 1);
        read(ga.data(), gb.data());
    }

    void evaluate_complex(std::size_t count, std::size_t n, const ComplexWriter& write,
                          const ComplexReader& read) override {
        call<std::complex<double>>(count, n, write, read);
    }

  private:
    template <class T, class W, class R>
    void call(std::size_t count, std::size_t n, const W& write, const R& read) {
        py::gil_scoped_acquire gil;
        std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(n)};
        if (vectorized_) shape.insert(shape.begin(), static_cast<py::ssize_t>(count));
        py::array points = point_array<T>(shape, 0);
        // Written through the raw pointer: the array is read-only to the user only.
        write(reinterpret_cast<T*>(py::detail::array_proxy(points.ptr())->data));
        py::object result = fn_(points);
        read(checked<T>(result, shape).data());
    }

    // This thread's cached point array `which` (0 or 1) if it fits and nobody else holds
    // it, else a new one.
    template <class T>
    py::array point_array(const std::vector<py::ssize_t>& shape, int which) {
        const auto slot = 2 * static_cast<std::size_t>(thread_index()) + static_cast<std::size_t>(which);
        if (slot >= cache_.size()) cache_.resize(slot + 1, py::none());
        py::object& cached = cache_[slot];
        if (!cached.is_none() && cached.ref_count() == 1) {
            py::array arr = py::reinterpret_borrow<py::array>(cached);
            if (py::array_t<T>::check_(arr) && static_cast<std::size_t>(arr.ndim()) == shape.size() &&
                std::equal(shape.begin(), shape.end(), arr.shape(), arr.shape() + arr.ndim()))
                return arr;
        }
        py::array_t<T> fresh(shape);
        py::detail::array_proxy(fresh.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
        cached = fresh;
        return std::move(fresh);
    }

    template <class T>
    py::array_t<T, py::array::c_style> checked(const py::object& result, const std::vector<py::ssize_t>& shape) const {
        const bool want_complex = !std::is_same<T, double>::value;
        if (result.is_none())
            throw py::type_error("the gradient '" + name_ + "' returned None; expected an array of shape " +
                                 shape_str(shape));
        py::array arr = asarray_(result);
        const char kind = arr.dtype().kind();
        const bool ok = want_complex ? (kind == 'c' && arr.itemsize() == 16) : (kind == 'f' && arr.itemsize() == 8);
        if (!ok) {
            std::string hint = want_complex
                                   ? "; scheme='complex' needs a gradient that keeps complex input complex"
                                   : (kind == 'f' ? "; a lower-precision gradient is too coarse for finite "
                                                    "differences (with JAX, enable jax_enable_x64)"
                                                  : "");
            throw py::type_error("the gradient '" + name_ + "' returned an array of dtype " +
                                 std::string(py::str(arr.dtype())) + "; expected " +
                                 (want_complex ? "complex128" : "float64") + hint);
        }
        std::vector<py::ssize_t> got(arr.shape(), arr.shape() + arr.ndim());
        if (got != shape)
            throw py::value_error("the gradient '" + name_ + "' returned an array of shape " + shape_str(got) +
                                  "; expected " + shape_str(shape));
        return py::array_t<T, py::array::c_style>::ensure(arr);
    }

    static std::string shape_str(const std::vector<py::ssize_t>& s) {
        std::string out = "(";
        for (std::size_t i = 0; i < s.size(); ++i) out += std::to_string(s[i]) + (s.size() == 1 ? "," : i + 1 < s.size() ? ", " : "");
        return out + ")";
    }

    py::object fn_, asarray_;
    bool vectorized_;
    std::string name_;
    std::vector<py::object> cache_;  // two point arrays per thread
};

}  // namespace hessprobe::bindings
