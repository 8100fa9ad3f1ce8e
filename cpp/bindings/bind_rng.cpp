// The probes themselves: Rademacher rows, for estimators that need them whole.
#include "common.hpp"

#include "hessprobe/rng.hpp"

#include <cstdint>

namespace hessprobe::bindings {

void bind_rng(py::module_& m) {
    m.def(
        "rademacher",
        [](std::uint64_t seed, std::size_t first, std::size_t count, std::size_t n) {
            Array out({count, n});
            double* rows = out.mutable_data();
            py::gil_scoped_release release;
            rademacher_rows(seed, first, count, n, rows);
            return out;
        },
        "seed"_a, "first"_a, "count"_a, "n"_a);
}

}  // namespace hessprobe::bindings
