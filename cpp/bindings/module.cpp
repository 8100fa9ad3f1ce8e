// The compiled core, built once per instruction set as hessprobe._core_<arch>
// (HESSPROBE_MODULE); src/hessprobe/_core.py imports the best one this CPU runs.
#include "common.hpp"

#include "hessprobe/hvp.hpp"
#include "hessprobe/parallel.hpp"
#include "hessprobe/rng.hpp"

#include <cstdint>
#include <vector>

namespace hessprobe::bindings {

void check_signals() {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

namespace {

#define HESSPROBE_STR2(x) #x
#define HESSPROBE_STR(x) HESSPROBE_STR2(x)

py::dict build_info() {
    py::dict info;
    info["simd"] = HESSPROBE_STR(HESSPROBE_ARCH);
    info["openmp"] = openmp_enabled();
    info["threads"] = available_threads();
    py::tuple lanes(std::size(lane_counts));
    for (std::size_t i = 0; i < std::size(lane_counts); ++i) lanes[i] = lane_counts[i];
    info["lanes"] = lanes;
    info["compiler"] = HESSPROBE_COMPILER;
    info["flags"] = HESSPROBE_CXX_FLAGS;
    return info;
}

// Probes first .. first + count - 1 as +-1 rows: the exact vectors the estimators use.
Array rademacher(std::uint64_t seed, std::size_t first, std::size_t count, std::size_t n) {
    Array out({count, n});
    double* o = out.mutable_data();
    std::vector<std::uint8_t> bytes(n);
    for (std::size_t j = 0; j < count; ++j) {
        const std::uint64_t key = probe_key(seed, first + j);
        fill_sign_window(&key, 1, 0, n, n, bytes.data());
        for (std::size_t i = 0; i < n; ++i) o[j * n + i] = (bytes[i] & 1) ? -1.0 : 1.0;
    }
    return out;
}

// Whether this CPU runs the AVX2 build.
bool cpu_has_avx2() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

}  // namespace
}  // namespace hessprobe::bindings

PYBIND11_MODULE(HESSPROBE_MODULE, m) {
    using namespace hessprobe::bindings;
    m.doc() = "hessprobe's compiled core (private; use the hessprobe package)";
    m.def("build_info", &build_info);
    m.def("cpu_has_avx2", &cpu_has_avx2);
    m.def("rademacher", &rademacher, "seed"_a, "first"_a, "count"_a, "n"_a);
    bind_functions(m);
    bind_sources(m);
}
