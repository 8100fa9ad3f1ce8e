// Finite-difference HVPs and probing of a gradient from Python: a Python callable (plain
// or vectorized) or a scipy.LowLevelCallable's capsule.
#include "common.hpp"
#include "native_gradient.hpp"
#include "probe_output.hpp"
#include "python_gradient.hpp"

#include "hessprobe/finite_difference.hpp"
#include "hessprobe/probing.hpp"

#include <string>
#include <utility>

namespace hessprobe::bindings {
namespace {

Scheme parse_scheme(const std::string& s) {
    if (s == "central") return Scheme::central;
    if (s == "forward") return Scheme::forward;
    if (s == "complex") return Scheme::complex_step;
    throw std::invalid_argument("scheme must be 'central', 'forward' or 'complex', got '" + s + "'");
}

// Runs work(source) with the gradient source the Python object stands for, GIL released.
template <class Work>
auto with_source(const py::object& source, bool vectorized, Work&& work) {
    if (py::isinstance<py::capsule>(source)) {
        auto native = native_from_capsule(source.cast<py::capsule>());
        py::gil_scoped_release release;
        return work(static_cast<GradientSource&>(*native));
    }
    PythonGradient python(source, vectorized);
    py::gil_scoped_release release;
    return work(static_cast<GradientSource&>(python));
}

// HV rows for the rows of V, each with its own step (0: the scheme's default), into `out`
// when given.
py::array_t<double> fd_hvp(const py::object& source, bool vectorized, const Array& x, const Array& V,
                           const std::string& scheme_name, double step, int threads, const py::object& into) {
    const std::size_t n = vector_size(x, "x");
    const std::size_t rows = block_rows(V, n, "v");
    const Scheme scheme = parse_scheme(scheme_name);
    checked_threads(threads);
    auto HV = output_array(into, {static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(n)});
    double* out = HV.mutable_data();
    with_source(source, vectorized, [&](GradientSource& src) {
        fd_hvp_block(src, scheme, x.data(), n, V.data(), rows, step, threads, out);
        return 0;
    });
    return HV;
}

py::tuple fd_probe(const py::object& source, bool vectorized, const Array& x, std::size_t probes, std::uint64_t seed,
                   int threads, bool diagonal, const std::string& scheme_name, double step, double tol,
                   const py::object& progress) {
    const std::size_t n = vector_size(x, "x");
    const Scheme scheme = parse_scheme(scheme_name);
    if (probes < 1) throw std::invalid_argument("probes must be >= 1");
    ProbeOptions opt{probes, seed, checked_threads(threads), between_rounds(progress, probes), checked_tol(tol)};
    ProbeArrays arrays(n, diagonal);
    ProbeResult r = with_source(source, vectorized, [&](GradientSource& src) {
        FiniteDifference fd(src, scheme, x.data(), n, opt.threads);
        return probe(fd, n, opt, step, arrays.out);
    });
    return arrays.to_tuple(std::move(r));
}

// A partial run (probing.hpp): blocks [first_block, first_block + count), sums per block.
py::tuple fd_probe_blocks(const py::object& source, bool vectorized, const Array& x, std::size_t probes,
                          std::uint64_t seed, std::size_t first_block, std::size_t count, int threads, bool diagonal,
                          const std::string& scheme_name, double step, const py::object& reference) {
    const std::size_t n = vector_size(x, "x");
    const Scheme scheme = parse_scheme(scheme_name);
    const py::object no_progress = py::none();
    const ProbeOptions opt = partial_options(probes, seed, threads, first_block, count, no_progress);
    PartialArrays arrays(n, opt, diagonal, reference);
    ProbeResult r = with_source(source, vectorized, [&](GradientSource& src) {
        FiniteDifference fd(src, scheme, x.data(), n, opt.threads);
        return probe(fd, n, opt, step, arrays.out);
    });
    return arrays.to_tuple(std::move(r));
}

}  // namespace

void bind_finite_difference(py::module_& m) {
    m.def("step_factor", [](const std::string& scheme) { return step_factor(parse_scheme(scheme)); }, "scheme"_a);
    m.def("fd_hvp", &fd_hvp, "source"_a, "vectorized"_a, "x"_a, "v"_a, "scheme"_a, "step"_a, "threads"_a,
          "out"_a = py::none());
    m.def("fd_probe", &fd_probe, "source"_a, "vectorized"_a, "x"_a, "probes"_a, "seed"_a, "threads"_a, "diagonal"_a,
          "scheme"_a, "step"_a, "tol"_a = 0.0, "progress"_a = py::none());
    m.def("fd_probe_blocks", &fd_probe_blocks, "source"_a, "vectorized"_a, "x"_a, "probes"_a, "seed"_a,
          "first_block"_a, "count"_a, "threads"_a, "diagonal"_a, "scheme"_a, "step"_a, "reference"_a = py::none());
}

}  // namespace hessprobe::bindings
