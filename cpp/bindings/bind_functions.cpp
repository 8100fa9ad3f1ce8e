// The built-in functions: one generic binding, instantiated per function.
#include "common.hpp"
#include "probe_output.hpp"

#include "hessprobe/functions/ackley.hpp"
#include "hessprobe/functions/exponential_fit.hpp"
#include "hessprobe/functions/logistic_regression.hpp"
#include "hessprobe/functions/quadratic.hpp"
#include "hessprobe/functions/rosenbrock.hpp"
#include "hessprobe/functions/separable.hpp"
#include "hessprobe/hvp.hpp"
#include "hessprobe/probing.hpp"

#include <utility>
#include <vector>

namespace hessprobe::bindings {
namespace {

// A built-in together with the arrays it views (kept alive as long as it is).
template <class F>
struct Builtin {
    F f;
    std::vector<Array> arrays;

    std::size_t checked_size(const Array& x) const {
        const std::size_t n = vector_size(x, "x");
        if (n < f.min_size())
            throw std::invalid_argument(std::string(F::name) + " needs x of length >= " + std::to_string(f.min_size()) +
                                        ", got " + std::to_string(n));
        if (f.fixed_size() != 0 && n != f.fixed_size())
            throw std::invalid_argument("x must have length " + std::to_string(f.fixed_size()) + ", got " +
                                        std::to_string(n));
        return n;
    }
};

// A method x -> an array of n (or n x n) values, `out` or a new one, filled by
// kernel(f, x, n, out, threads) with the GIL released.
template <class B, class Kernel>
auto array_method(bool square, Kernel kernel) {
    return [square, kernel](const B& b, const Array& x, int threads, const py::object& out) {
        const std::size_t n = b.checked_size(x);
        const auto len = static_cast<py::ssize_t>(n);
        auto result = output_array(out, square ? std::vector<py::ssize_t>{len, len} : std::vector<py::ssize_t>{len});
        double* data = result.mutable_data();
        {
            py::gil_scoped_release release;
            kernel(b.f, x.data(), n, data, checked_threads(threads));
        }
        return result;
    };
}

template <class F, class Make>
py::class_<Builtin<F>> bind_builtin(py::module_& m, const char* cls, Make&& make) {
    using B = Builtin<F>;
    return py::class_<B>(m, cls)
        .def(py::init(std::forward<Make>(make)))
        .def_property_readonly("name", [](const B&) { return F::name; })
        .def_property_readonly("min_size", [](const B& b) { return b.f.min_size(); })
        .def_property_readonly("fixed_size", [](const B& b) { return b.f.fixed_size(); })
        .def_property_readonly("bandwidth", [](const B& b) { return b.f.bandwidth(); })
        .def("value",
             [](const B& b, const Array& x) {
                 const std::size_t n = b.checked_size(x);
                 py::gil_scoped_release release;
                 return b.f.value(x.data(), n);
             },
             "x"_a)
        .def("gradient", array_method<B>(false, [](auto&&... a) { gradient(a...); }), "x"_a, "threads"_a,
             "out"_a = py::none())
        .def("hvp",
             [](const B& b, const Array& x, const Array& V, int threads, const py::object& into) {
                 const std::size_t n = b.checked_size(x);
                 const std::size_t rows = block_rows(V, n, "v");
                 auto HV = output_array(into, {static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(n)});
                 double* out = HV.mutable_data();
                 {
                     py::gil_scoped_release release;
                     hvp(b.f, x.data(), n, V.data(), out, rows, checked_threads(threads));
                 }
                 return HV;
             },
             "x"_a, "v"_a, "threads"_a, "out"_a = py::none())
        .def("hessian", array_method<B>(true, [](auto&&... a) { hessian(a...); }), "x"_a, "threads"_a,
             "out"_a = py::none())
        .def("hessian_diag", array_method<B>(false, [](auto&&... a) { hessian_diag(a...); }), "x"_a, "threads"_a,
             "out"_a = py::none())
        .def("probe",
             [](const B& b, const Array& x, std::size_t probes, std::uint64_t seed, int threads, bool diagonal,
                double tol, const py::object& progress) {
                 const std::size_t n = b.checked_size(x);
                 if (probes < 1) throw std::invalid_argument("probes must be >= 1");
                 ProbeOptions opt{probes, seed, checked_threads(threads), between_rounds(progress, probes), checked_tol(tol)};
                 ProbeArrays arrays(n, diagonal);
                 ProbeResult r;
                 {
                     py::gil_scoped_release release;
                     r = probe(b.f, x.data(), n, opt, arrays.out);
                 }
                 return arrays.to_tuple(std::move(r));
             },
             "x"_a, "probes"_a, "seed"_a, "threads"_a, "diagonal"_a, "tol"_a = 0.0,
             "progress"_a = py::none())
        .def("probe_blocks",
             [](const B& b, const Array& x, std::size_t probes, std::uint64_t seed, std::size_t first_block,
                std::size_t count, int threads, bool diagonal, const py::object& reference) {
                 const std::size_t n = b.checked_size(x);
                 const py::object no_progress = py::none();
                 const ProbeOptions opt = partial_options(probes, seed, threads, first_block, count, no_progress);
                 PartialArrays arrays(n, opt, diagonal, reference);
                 ProbeResult r;
                 {
                     py::gil_scoped_release release;
                     r = probe(b.f, x.data(), n, opt, arrays.out);
                 }
                 return arrays.to_tuple(std::move(r));
             },
             "x"_a, "probes"_a, "seed"_a, "first_block"_a, "count"_a, "threads"_a, "diagonal"_a,
             "reference"_a = py::none());
}

// Residuals r(x), shape (m,), and their Jacobian, shape (m, n), of a least-squares
// built-in f = 1/2 ||r||^2 (for the Gauss-Newton approximation J'J).
template <class F>
void bind_least_squares(py::class_<Builtin<F>>& cls) {
    using B = Builtin<F>;
    cls.def_property_readonly("residual_count", [](const B& b) { return b.f.residual_count(); })
        .def("residuals",
             [](const B& b, const Array& x) {
                 b.checked_size(x);
                 Array r(b.f.residual_count());
                 double* out = r.mutable_data();
                 {
                     py::gil_scoped_release release;
                     b.f.residuals(x.data(), out);
                 }
                 return r;
             },
             "x"_a)
        .def("jacobian",
             [](const B& b, const Array& x) {
                 const std::size_t n = b.checked_size(x);
                 Array J({b.f.residual_count(), n});
                 double* out = J.mutable_data();
                 {
                     py::gil_scoped_release release;
                     b.f.jacobian(x.data(), out);
                 }
                 return J;
             },
             "x"_a);
}

}  // namespace

void bind_functions(py::module_& m) {
    using namespace functions;
    bind_builtin<Rosenbrock>(m, "Rosenbrock", [] { return Builtin<Rosenbrock>{Rosenbrock{}, {}}; });
    bind_builtin<StyblinskiTang>(m, "StyblinskiTang",
                                 [] { return Builtin<StyblinskiTang>{StyblinskiTang{}, {}}; });
    bind_builtin<Rastrigin>(m, "Rastrigin", [](double a) { return Builtin<Rastrigin>{Rastrigin{a}, {}}; });
    bind_builtin<Ackley>(m, "Ackley",
                         [](double a, double b, double c) { return Builtin<Ackley>{Ackley{a, b, c}, {}}; });
    bind_builtin<Quadratic>(m, "Quadratic", [](const Array& A, const Array& b) {
        const std::size_t n = vector_size(b, "b");
        if (A.ndim() != 2 || static_cast<std::size_t>(A.shape(0)) != n || static_cast<std::size_t>(A.shape(1)) != n)
            throw std::invalid_argument("A must have shape (n, n) with n = len(b)");
        return Builtin<Quadratic>{Quadratic{A.data(), b.data(), n}, {A, b}};
    });
    bind_builtin<LogisticRegression>(m, "LogisticRegression", [](const Array& X, const Array& y, double l2) {
        if (X.ndim() != 2) throw std::invalid_argument("X must be 2-D (m, d)");
        const std::size_t rows = static_cast<std::size_t>(X.shape(0)), d = static_cast<std::size_t>(X.shape(1));
        if (vector_size(y, "y") != rows) throw std::invalid_argument("y must have one label per row of X");
        return Builtin<LogisticRegression>{LogisticRegression{X.data(), y.data(), rows, d, l2}, {X, y}};
    });
    auto fit = bind_builtin<ExponentialFit>(m, "ExponentialFit", [](const Array& t, const Array& y) {
        const std::size_t rows = vector_size(t, "t");
        if (vector_size(y, "y") != rows) throw std::invalid_argument("y must have one value per entry of t");
        if (rows == 0) throw std::invalid_argument("t must not be empty");
        return Builtin<ExponentialFit>{ExponentialFit{t.data(), y.data(), rows}, {t, y}};
    });
    bind_least_squares(fit);
}

}  // namespace hessprobe::bindings
