// What this build is: instruction set, OpenMP, threads, lane counts, compiler and flags.
#include "common.hpp"

#include "hessprobe/fold.hpp"
#include "hessprobe/hvp.hpp"
#include "hessprobe/parallel.hpp"

#include <iterator>
#include <string>

namespace hessprobe::bindings {
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
    info["probe_lanes"] = probe_lanes;
    info["compiler"] = HESSPROBE_COMPILER;
    info["flags"] = HESSPROBE_CXX_FLAGS;
    return info;
}

// Whether this CPU runs the build `simd` (baseline, avx2 or avx512): what its flags
// let the compiler use must all be there.
bool cpu_runs(const std::string& simd) {
    if (simd == "baseline") return true;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (simd == "avx2") return avx2;
    if (simd == "avx512")
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq");
#endif
    if (simd == "avx2" || simd == "avx512") return false;
    throw py::value_error("simd must be 'baseline', 'avx2' or 'avx512', got '" + simd + "'");
}

}  // namespace

void bind_info(py::module_& m) {
    m.def("build_info", &build_info);
    m.def("cpu_runs", &cpu_runs, py::arg("simd"));
    // The lanes of a probing block: the Python layer reads it, never copies it.
    m.attr("probe_lanes") = probe_lanes;
}

}  // namespace hessprobe::bindings
