// The arrays a probing run (whole or partial) writes, and the tuple it returns to Python.
#pragma once

#include "common.hpp"

#include "hessprobe/probing.hpp"

#include <string>
#include <utility>

namespace hessprobe::bindings {

// Output arrays of a probing run: the diagonal estimate and its standard error (None
// for a trace-only run), allocated before the GIL is released.
struct ProbeArrays {
    py::object value = py::none(), standard_error = py::none();
    DiagonalOutput out;

    ProbeArrays(std::size_t n, bool diagonal) {
        if (!diagonal) return;
        Array v(n), e(n);
        out = {v.mutable_data(), e.mutable_data()};
        value = std::move(v);
        standard_error = std::move(e);
    }

    // (diagonal or None, its stderr or None, trace, trace stderr, trace samples)
    py::tuple to_tuple(ProbeResult&& r) const {
        return py::make_tuple(value, standard_error, r.trace, r.trace_stderr,
                              py::array_t<double>(r.trace_samples.size(), r.trace_samples.data()));
    }
};

// The options of a partial run of `count` blocks from `first_block` (probing.hpp), checked.
inline ProbeOptions partial_options(std::size_t probes, std::uint64_t seed, int threads, std::size_t first_block,
                                    std::size_t count, const py::object& no_progress) {
    if (probes < 1) throw std::invalid_argument("probes must be >= 1");
    if (count < 1 || first_block + count > block_total(probes))
        throw std::invalid_argument("blocks [" + std::to_string(first_block) + ", " +
                                    std::to_string(first_block + count) + ") are not within the " +
                                    std::to_string(block_total(probes)) + " blocks of the run");
    ProbeOptions opt{probes, seed, checked_threads(threads), between_rounds(no_progress, probes), 0.0};
    opt.first_block = first_block;
    opt.block_count = count;
    return opt;
}

// Output arrays of a partial run: per-block sums (count, n) and r (None for a trace-only
// run).  r is written by a share holding block 0 and copied from `reference` otherwise.
struct PartialArrays {
    py::object d = py::none(), dd = py::none(), reference = py::none();
    bool writes_reference = false;
    DiagonalOutput out;

    PartialArrays(std::size_t n, const ProbeOptions& opt, bool diagonal, const py::object& given) {
        if (!diagonal) return;
        Array a({opt.block_count, n}), b({opt.block_count, n}), r(n);
        writes_reference = opt.first_block == 0;
        if (!writes_reference) {
            if (given.is_none()) throw std::invalid_argument("a share without block 0 needs the reference r");
            const Array g = given.cast<Array>();
            if (vector_size(g, "reference") != n) throw std::invalid_argument("reference must have length n");
            std::copy(g.data(), g.data() + n, r.mutable_data());
        }
        out = {a.mutable_data(), b.mutable_data(), r.mutable_data()};
        d = std::move(a);
        dd = std::move(b);
        reference = std::move(r);
    }

    // (per-block S1 or None, per-block S2 or None, r if written else None, trace samples)
    py::tuple to_tuple(ProbeResult&& r) const {
        return py::make_tuple(d, dd, writes_reference ? reference : py::none(),
                              py::array_t<double>(r.trace_samples.size(), r.trace_samples.data()));
    }
};

}  // namespace hessprobe::bindings
