// Tangent callbacks (hessprobe/tangent.hpp): a scipy.LowLevelCallable's capsule giving
// g and H V itself; exact HVPs and probing with the callback called from the threads.
#include "common.hpp"
#include "probe_output.hpp"

#include "hessprobe/probing.hpp"
#include "hessprobe/tangent.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace hessprobe::bindings {
namespace {

// The C signatures accepted: (x, V, g, GV, n, k, user_data), x and V const or not.
std::vector<std::string> tangent_signatures() {
    std::vector<std::string> sizes{"npy_intp", "Py_ssize_t"};
    if (sizeof(long) == sizeof(std::ptrdiff_t)) sizes.emplace_back("long");
    if (sizeof(long long) == sizeof(std::ptrdiff_t)) sizes.emplace_back("long long");
    std::vector<std::string> s;
    for (const char* in : {"const double *", "double const *", "double *"})
        for (const auto& size : sizes)
            s.push_back(std::string("int (") + in + ", " + in + ", double *, double *, " + size + ", " + size +
                        ", void *)");
    return s;
}

TangentCallback from_capsule(const py::capsule& cap) {
    const char* name = PyCapsule_GetName(cap.ptr());
    const std::string sig = name ? name : "";
    const auto accepted = tangent_signatures();
    if (std::find(accepted.begin(), accepted.end(), sig) == accepted.end())
        throw std::invalid_argument("Invalid scipy.LowLevelCallable signature \"" + sig +
                                    "\" for a tangent callback. Expected \"" + accepted.front() +
                                    "\" (x, V, g, GV, n, k, user_data; or one of hessprobe._core.tangent_signatures())");
    void* fn = PyCapsule_GetPointer(cap.ptr(), name);
    if (!fn) throw py::error_already_set();
    void* user_data = PyCapsule_GetContext(cap.ptr());
    if (PyErr_Occurred()) throw py::error_already_set();
    return TangentCallback(reinterpret_cast<TangentCallback::Function>(fn), user_data);
}

Array gradient(const py::capsule& cap, const Array& x) {
    const TangentCallback cb = from_capsule(cap);
    const std::size_t n = vector_size(x, "x");
    Array g(n);
    double* out = g.mutable_data();
    {
        py::gil_scoped_release release;
        tangent_gradient(cb, x.data(), n, out);
    }
    return g;
}

Array hvp(const py::capsule& cap, const Array& x, const Array& V, int threads) {
    const TangentCallback cb = from_capsule(cap);
    const std::size_t n = vector_size(x, "x");
    const std::size_t rows = block_rows(V, n, "v");
    checked_threads(threads);
    Array HV({rows, n});
    double* out = HV.mutable_data();
    {
        py::gil_scoped_release release;
        tangent_hvp(cb, x.data(), n, V.data(), out, rows, threads);
    }
    return HV;
}

py::tuple probe_run(const py::capsule& cap, const Array& x, std::size_t probes, std::uint64_t seed, int threads,
                    bool diagonal, double tol, const py::object& progress) {
    const TangentCallback cb = from_capsule(cap);
    const std::size_t n = vector_size(x, "x");
    if (probes < 1) throw std::invalid_argument("probes must be >= 1");
    ProbeOptions opt{probes, seed, checked_threads(threads), between_rounds(progress, probes), checked_tol(tol)};
    ProbeArrays arrays(n, diagonal);
    ProbeResult r;
    {
        py::gil_scoped_release release;
        r = probe(cb, x.data(), n, opt, arrays.out);
    }
    return arrays.to_tuple(std::move(r));
}

}  // namespace

void bind_tangent(py::module_& m) {
    m.def("tangent_signatures", &tangent_signatures);
    m.def("tangent_gradient", &gradient, "callback"_a, "x"_a);
    m.def("tangent_hvp", &hvp, "callback"_a, "x"_a, "v"_a, "threads"_a);
    m.def("tangent_probe", &probe_run, "callback"_a, "x"_a, "probes"_a, "seed"_a, "threads"_a, "diagonal"_a,
          "tol"_a = 0.0, "progress"_a = py::none());
}

}  // namespace hessprobe::bindings
