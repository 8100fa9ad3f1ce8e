// The compiled core, built once per instruction set as hessprobe._core_<arch>
// (HESSPROBE_MODULE); src/hessprobe/_core.py imports the best one this CPU runs.
// One register function per concept (bind_*.cpp).
#include "common.hpp"

PYBIND11_MODULE(HESSPROBE_MODULE, m) {
    using namespace hessprobe::bindings;
    m.doc() = "hessprobe's compiled core (private; use the hessprobe package)";
    bind_info(m);
    bind_rng(m);
    bind_functions(m);
    bind_native(m);
    bind_finite_difference(m);
    bind_compiled(m);
    bind_tangent(m);
    bind_block_probe(m);
    bind_partials(m);
    bind_colouring(m);
}
