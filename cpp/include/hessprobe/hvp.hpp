// Exact derivatives of a built-in function: gradients, Hessian-vector products in passes
// of K dual lanes, dense Hessians from columns H e_j, and Hessian diagonals.
//
// Lane counts: a pass of K lanes costs one traversal of x and of the function's code, plus
// K times the tangent arithmetic.  K = 8 fills two AVX-512 or four SSE2 registers per
// operation and is what probing uses (8 probes a pass, and 8 sign bits make one byte);
// K = 4 serves blocks of 2..4 directions without wasting half the lanes; K = 1 is the
// single HVP, where extra lanes would only cost.
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "hessprobe/dual.hpp"
#include "hessprobe/evaluate.hpp"
#include "hessprobe/lanes.hpp"
#include "hessprobe/parallel.hpp"

HESSPROBE_NAMESPACE_BEGIN

inline constexpr int lane_counts[] = {1, 4, 8};

// A chunk check of x alone.
struct CheckX {
    const double* x;
    int operator()(std::size_t begin, std::size_t end) const {
        return all_finite(x, begin, end) ? all_inputs_finite : nonfinite_x;
    }
};

// One evaluation of f on scalar T at the input `in`, on a team of up to `threads`
// threads, one per work item (state part or coordinate chunk) at most.
template <class T, class F, class In, class Check, class MakeOut>
void evaluate(const F& f, const In& in, std::size_t n, const Check& check, int threads, MakeOut&& make_out) {
    auto state = f.template make_state<T>(n);
    ExceptionVault vault;
    std::atomic<int> bad{all_inputs_finite};
    const int team = team_size(threads, std::max(f.prepare_parts(n), chunk_count(n)));
    run_team(team, [&] { gradient_pass<T>(f, state, in, n, check, make_out, vault, bad); });
    vault.rethrow();
    require_finite(bad);
}

template <class F>
void gradient(const F& f, const double* x, std::size_t n, double* g, int threads) {
    evaluate<double>(f, PointInput{x}, n, CheckX{x}, threads,
                     [g](std::size_t, std::size_t, std::size_t) { return GradientOutput{g}; });
}

// HV[r] = H(x) V[r] for the `rows` rows of the row-major (rows, n) arrays V and HV, in
// passes of K = 8, 4 or 1 lanes (the fewest passes, then the fewest idle lanes).
template <class F>
void hvp(const F& f, const double* x, std::size_t n, const double* V, double* HV, std::size_t rows,
         int threads) {
    for (std::size_t first = 0; first < rows;) {
        const std::size_t left = rows - first;
        auto pass = [&](auto lanes) {
            constexpr int K = decltype(lanes)::value;
            const std::size_t active = std::min<std::size_t>(K, left);
            RowInput<K> in{x, {}, static_cast<std::size_t>(std::max(f.bandwidth(), 0))};
            for (std::size_t k = 0; k < K; ++k) in.row[k] = V + (first + std::min(k, active - 1)) * n;
            auto check = [&](std::size_t begin, std::size_t end) {
                if (!all_finite(x, begin, end)) return int(nonfinite_x);
                for (std::size_t k = 0; k < active; ++k)
                    if (!all_finite(V + (first + k) * n, begin, end)) return int(nonfinite_v);
                return int(all_inputs_finite);
            };
            evaluate<Dual<K>>(f, in, n, check, threads,
                              [&](std::size_t, std::size_t begin, std::size_t end) {
                                  return RowOutput<K>(HV, n, first, active, begin, end);
                              });
            first += active;
        };
        if (left > 4)
            pass(std::integral_constant<int, 8>{});
        else if (left > 1)
            pass(std::integral_constant<int, 4>{});
        else
            pass(std::integral_constant<int, 1>{});
    }
}

// The dense Hessian into H (n x n, row-major), eight columns H e_j a pass, stored as rows
// (H is symmetric).  It is not symmetrised: its symmetry to rounding is a check that the
// gradient code is the gradient of something.
template <class F>
void hessian(const F& f, const double* x, std::size_t n, double* H, int threads) {
    constexpr int K = 8;
    for (std::size_t first = 0; first < n; first += K) {
        const std::size_t active = std::min<std::size_t>(K, n - first);
        evaluate<Dual<K>>(f, UnitInput<K>{x, first}, n, CheckX{x}, threads,
                          [&](std::size_t, std::size_t begin, std::size_t end) {
                              return RowOutput<K>(H, n, first, active, begin, end);
                          });
    }
}

// The exact diagonal.  A Hessian of half-bandwidth b is recovered in one pass of P
// lanes, P the power of two >= b + 1 (BandColour: coordinates of one colour never couple,
// Curtis, Powell and Reid 1974); a dense one needs every column.
template <class F>
void hessian_diag(const F& f, const double* x, std::size_t n, double* diag, int threads) {
    const int b = f.bandwidth();
    if (b >= 0 && b < 8) {
        auto pass = [&](auto lanes) {
            constexpr int K = decltype(lanes)::value;
            const BandColour colour{K - 1};
            evaluate<Dual<K>>(f, ColourInput<K>{x, colour}, n, CheckX{x}, threads,
                              [&](std::size_t, std::size_t, std::size_t) {
                                  return ColourDiagonalOutput<K>{diag, colour};
                              });
        };
        if (b == 0)
            pass(std::integral_constant<int, 1>{});
        else if (b == 1)
            pass(std::integral_constant<int, 2>{});
        else if (b <= 3)
            pass(std::integral_constant<int, 4>{});
        else
            pass(std::integral_constant<int, 8>{});
        return;
    }
    constexpr int K = 8;
    for (std::size_t first = 0; first < n; first += K)
        evaluate<Dual<K>>(f, UnitInput<K>{x, first}, n, CheckX{x}, threads,
                          [&](std::size_t, std::size_t, std::size_t) {
                              return UnitDiagonalOutput<K>{diag, first};
                          });
}

HESSPROBE_NAMESPACE_END
