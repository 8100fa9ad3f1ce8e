// One evaluation of a built-in's gradient on scalar T, split over the threads of a team.
//
// The coordinates are cut into chunks of a fixed size and the state into the function's
// own parts.  Neither depends on the thread count, and every sum runs in a fixed order
// inside a chunk or part, so the result is bitwise the same on 1, 2 or 64 threads.
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "hessprobe/parallel.hpp"

HESSPROBE_NAMESPACE_BEGIN

// Small enough that a chunk's K = 8 lanes of output (32 KiB) stay in the L1 cache.
inline constexpr std::size_t chunk_size = 512;
inline std::size_t chunk_count(std::size_t n) { return (n + chunk_size - 1) / chunk_size; }

// True when every x[begin, end) is finite.  NaN and Inf are the doubles whose exponent
// bits are all ones; OR-ing integer tests vectorizes (a floating-point sum would be a
// serial chain of additions, since the compiler may not reorder them).
inline bool all_finite(const double* x, std::size_t begin, std::size_t end) {
    constexpr std::uint64_t exponent = 0x7ff0000000000000ULL;
    std::uint64_t bad = 0;
    for (std::size_t i = begin; i < end; ++i) {
        std::uint64_t bits;
        std::memcpy(&bits, x + i, sizeof bits);
        bad |= static_cast<std::uint64_t>((bits & exponent) == exponent);
    }
    return bad == 0;
}

// Runs body(c, begin, end) for every chunk c = [begin, end) of [0, n), the chunks split
// over the threads of the team (SPMD; serial outside a team), each inside the vault.
template <class Body>
void for_each_chunk(std::size_t n, ExceptionVault& vault, Body&& body) {
    const auto chunks = static_cast<std::ptrdiff_t>(chunk_count(n));
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t c = 0; c < chunks; ++c)
        vault.run([&] {
            const std::size_t begin = static_cast<std::size_t>(c) * chunk_size;
            body(static_cast<std::size_t>(c), begin, std::min(n, begin + chunk_size));
        });
}

// Which input of an evaluation held a NaN or Inf (0: none).
enum NonFinite : int { all_inputs_finite = 0, nonfinite_x = 1, nonfinite_v = 2 };

inline void require_finite(const std::atomic<int>& bad) {
    if (bad.load() == nonfinite_x) throw std::invalid_argument("x must be finite (no NaN or Inf)");
    if (bad.load() == nonfinite_v) throw std::invalid_argument("v must be finite (no NaN or Inf)");
}

// The input a chunk's gradient code reads: the input itself, unless an overload for its
// type gives each chunk a faster view of it (lanes.hpp, found by argument-dependent lookup).
template <class In, class Body>
void with_chunk_view(const In& in, std::size_t /*begin*/, std::size_t /*end*/, std::size_t /*n*/, Body&& body) {
    body(in);
}

// Runs the state preparation and the gradient over all chunks.  SPMD: call it from every
// thread of a team (run_team), or outside a team for a serial run.  make_out(c, begin,
// end) builds the output for chunk c; it is flushed after the chunk.  check(begin, end)
// inspects the chunk's inputs while they are in cache and returns a NonFinite code; a
// nonzero one is kept in `bad` for the caller (who then discards the result).
template <class T, class F, class State, class In, class Check, class MakeOut>
void gradient_pass(const F& f, State& state, const In& in, std::size_t n, const Check& check,
                   MakeOut&& make_out, ExceptionVault& vault, std::atomic<int>& bad) {
    const auto parts = static_cast<std::ptrdiff_t>(f.prepare_parts(n));
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t p = 0; p < parts; ++p)
        vault.run([&] { f.template prepare<T>(state, in, static_cast<std::size_t>(p), n); });
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp single
#endif
    vault.run([&] { f.template finish<T>(state); });

    for_each_chunk(n, vault, [&](std::size_t c, std::size_t begin, std::size_t end) {
        if (const int code = check(begin, end)) bad.store(code, std::memory_order_relaxed);
        auto out = make_out(c, begin, end);
        with_chunk_view(in, begin, end, n, [&](const auto& view) {
            f.template gradient<T>(view, static_cast<const State&>(state), out, begin, end, n);
        });
        out.flush();
    });
}

HESSPROBE_NAMESPACE_END
