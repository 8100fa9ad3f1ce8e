// Tangent callbacks: a user's gradient with its own exact directional derivatives
// (Tapenade, Enzyme, a hand-written JVP, Fortran), behind one C function
//
//     int f(const double* x, const double* V, double* g, double* GV,
//           npy_intp n, npy_intp k, void* user_data);
//
// which writes g = g(x) (n) and GV[r] = d/dt g(x + t V[r]) = H(x) V[r] for the k rows of
// the row-major (k, n) V into the (k, n) GV, and returns 1 on success (anything else is a
// failure).  k = 0 asks for g alone.  It is called from the core's threads without the
// GIL, one call per block of at most 8 directions; concurrent calls must be safe.
//
// The outputs are filled with NaN before each call, so entries it forgets to write are
// caught with the NaN or Inf it returns.  Probing follows probe(FiniteDifference&, ...) of
// probing.hpp, with one callback call of the block's directions in place of the
// finite-difference products: the same probes, and the same bitwise reproducibility
// across thread counts.
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "hessprobe/evaluate.hpp"
#include "hessprobe/parallel.hpp"
#include "hessprobe/probing.hpp"
#include "hessprobe/rng.hpp"

HESSPROBE_NAMESPACE_BEGIN

class TangentCallback {
  public:
    using Function = int (*)(const double*, const double*, double*, double*, std::ptrdiff_t, std::ptrdiff_t, void*);

    TangentCallback(Function fn, void* user_data) : fn_(fn), user_data_(user_data) {}

    // g (n) and GV (k x n) at x for the k rows of V; throws on a failure status or a
    // non-finite output.
    void operator()(const double* x, const double* V, double* g, double* GV, std::size_t n, std::size_t k) const {
        constexpr double nan = std::numeric_limits<double>::quiet_NaN();
        std::fill(g, g + n, nan);
        std::fill(GV, GV + k * n, nan);
        const int status = fn_(x, V, g, GV, static_cast<std::ptrdiff_t>(n), static_cast<std::ptrdiff_t>(k), user_data_);
        if (status != 1)
            throw std::runtime_error("the tangent callback (LowLevelCallable) returned " + std::to_string(status) +
                                     ", not 1 (success)");
        if (!all_finite(g, 0, n))
            throw std::invalid_argument("the tangent callback returned a gradient g holding NaN or Inf "
                                        "(or left entries unwritten)");
        if (!all_finite(GV, 0, k * n))
            throw std::invalid_argument("the tangent callback returned tangents GV holding NaN or Inf "
                                        "(or left entries unwritten)");
    }

  private:
    Function fn_;
    void* user_data_;
};

inline void tangent_gradient(const TangentCallback& cb, const double* x, std::size_t n, double* g) {
    const double none = 0.0;  // V and GV of k = 0: never read or written
    double unused = 0.0;
    cb(x, &none, g, &unused, n, 0);
}

// HV[r] = H V[r] for the rows of V, a call per block of up to 8 rows, blocks split over
// the threads (each call is the callback's own; the result does not depend on the team).
inline void tangent_hvp(const TangentCallback& cb, const double* x, std::size_t n, const double* V, double* HV,
                        std::size_t rows, int threads) {
    constexpr std::size_t K = probe_lanes;
    const std::size_t blocks = (rows + K - 1) / K;
    ExceptionVault vault;
    run_team(team_size(threads, 4 * blocks), [&] {
        std::vector<double> g(n);
        const auto count = static_cast<std::ptrdiff_t>(blocks);
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(static)
#endif
        for (std::ptrdiff_t b = 0; b < count; ++b)
            vault.run([&] {
                const std::size_t first = static_cast<std::size_t>(b) * K, k = std::min(K, rows - first);
                cb(x, V + first * n, g.data(), HV + first * n, n, k);
            });
    });
    vault.rethrow();
}

// Hutchinson probing with a tangent callback: each block's Rademacher directions (the
// probes of every source) expanded into rows, one callback call, then folded chunk by chunk.
inline ProbeResult probe(const TangentCallback& cb, const double* x, std::size_t n, const ProbeOptions& opt,
                         DiagonalOutput out) {
    constexpr int K = probe_lanes;
    ProbeSums sums(n, opt.probes, 1, out);
    std::vector<std::uint8_t> signs(n);
    std::vector<double> V(static_cast<std::size_t>(K) * n), HV(static_cast<std::size_t>(K) * n), g(n);
    const SignTable& table = SignTable::get();
    ExceptionVault vault;
    return run_rounds(opt, 1, chunk_count(n), sums, vault, [&](const ProbeBlock* blocks, std::size_t) {
        const ProbeBlock& b = blocks[0];
        make_signs(b, n, signs.data(), vault);
        for_each_chunk(n, vault, [&](std::size_t, std::size_t begin, std::size_t end) {
            for (std::size_t k = 0; k < b.active; ++k)
                for (std::size_t i = begin; i < end; ++i) V[k * n + i] = table.row[signs[i]][k];
        });
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp single
#endif
        vault.run([&] { cb(x, V.data(), g.data(), HV.data(), n, b.active); });
        for_each_chunk(n, vault, [&](std::size_t c, std::size_t begin, std::size_t end) {
            ProbeSink sink(sums, b, c, begin, end, signs.data(), 0);
            for (std::size_t i = begin; i < end; ++i) {
                double* lanes = sink.lanes(i);
                for (std::size_t k = 0; k < static_cast<std::size_t>(K); ++k)
                    lanes[k] = k < b.active ? HV[k * n + i] : 0.0;
            }
            sink.flush();
        });
    });
}

HESSPROBE_NAMESPACE_END
