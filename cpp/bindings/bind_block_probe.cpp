// Hutchinson probing of a source whose HVP blocks come from Python (the dual-number
// kind): the core makes the probes and folds the products, exactly as for every other
// source, so the same seed gives the same probes.
#include "common.hpp"
#include "probe_output.hpp"

#include "hessprobe/probing.hpp"

#include <string>
#include <utility>

namespace hessprobe::bindings {
namespace {

// The core's probe loop over blocks of products from Python: products(V) -> H V' for V of
// shape (k, n), k the block's active probes.  With several threads, each takes one block
// of a round and calls products with the GIL, so that calls overlap where the user's
// NumPy code releases it (its loops over large arrays).
ProbeResult run(const py::object& products, std::size_t n, const ProbeOptions& opt, DiagonalOutput out) {
    const SignTable& table = SignTable::get();
    auto make = [&](const ProbeBlock& b, const std::uint8_t* signs, double* hv, ExceptionVault&) {
        py::gil_scoped_acquire gil;
        Array V({b.active, n});
        double* v = V.mutable_data();
        for (std::size_t k = 0; k < b.active; ++k)
            for (std::size_t i = 0; i < n; ++i) v[k * n + i] = table.row[signs[i]][k];
        const Array HV = Array::ensure(products(V));
        if (!HV || HV.ndim() != 2 || static_cast<std::size_t>(HV.shape(0)) != b.active ||
            static_cast<std::size_t>(HV.shape(1)) != n)
            throw std::logic_error("hessprobe: a block of products has the wrong shape");
        std::copy(HV.data(), HV.data() + b.active * n, hv);
    };
    py::gil_scoped_release release;
    return probe_products<false>(make, n, opt, static_cast<std::size_t>(opt.threads), out);
}

py::tuple block_probe(const py::object& products, std::size_t n, std::size_t probes, std::uint64_t seed, int threads,
                      bool diagonal, double tol, const py::object& progress) {
    if (n < 1) throw std::invalid_argument("n must be >= 1");
    if (probes < 1) throw std::invalid_argument("probes must be >= 1");
    ProbeOptions opt{probes, seed, checked_threads(threads), between_rounds(progress, probes), checked_tol(tol)};
    ProbeArrays arrays(n, diagonal);
    return arrays.to_tuple(run(products, n, opt, arrays.out));
}

// Blocks [first_block, first_block + count) of a run: a share for an executor.
py::tuple block_probe_blocks(const py::object& products, std::size_t n, std::size_t probes, std::uint64_t seed,
                             std::size_t first_block, std::size_t count, int threads, bool diagonal,
                             const py::object& reference) {
    if (n < 1) throw std::invalid_argument("n must be >= 1");
    const py::object no_progress = py::none();
    const ProbeOptions opt = partial_options(probes, seed, threads, first_block, count, no_progress);
    PartialArrays arrays(n, opt, diagonal, reference);
    return arrays.to_tuple(run(products, n, opt, arrays.out));
}

}  // namespace

void bind_block_probe(py::module_& m) {
    m.def("block_probe", &block_probe, "products"_a, "n"_a, "probes"_a, "seed"_a, "threads"_a, "diagonal"_a,
          "tol"_a = 0.0, "progress"_a = py::none());
    m.def("block_probe_blocks", &block_probe_blocks, "products"_a, "n"_a, "probes"_a, "seed"_a, "first_block"_a,
          "count"_a, "threads"_a, "diagonal"_a, "reference"_a = py::none());
}

}  // namespace hessprobe::bindings
