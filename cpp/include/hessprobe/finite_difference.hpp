// Hessian-vector products of a gradient the core can only call (sources.hpp):
//   central  (g(x + h v) - g(x - h v)) / 2h   error O(h^2) + O(eps / h): 2 calls a product
//   forward  (g(x + h v) - g(x)) / h          error O(h) + O(eps / h): 1 call, g(x) once
//   complex  Im g(x + i h v) / h              error O(h^2), no cancellation: exact to rounding
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "hessprobe/evaluate.hpp"
#include "hessprobe/parallel.hpp"
#include "hessprobe/sources.hpp"

HESSPROBE_NAMESPACE_BEGIN

enum class Scheme { central, forward, complex_step };

// Each scheme's step factor c balances its truncation error against rounding in g
// (relative eps): eps^(1/3) for central, eps^(1/2) for forward differences; the complex
// step has no cancellation, so c is tiny.  The Python layer reads it (step_factor).
inline double step_factor(Scheme scheme) {
    const double eps = std::numeric_limits<double>::epsilon();
    return scheme == Scheme::central ? std::cbrt(eps) : scheme == Scheme::forward ? std::sqrt(eps) : 1e-20;
}

// The default step for a direction v at x: the perturbation h v has the root-mean-square
// size of the fraction c of (1 + rms(x)).
inline double default_step(Scheme scheme, double rms_x, double rms_v) {
    return step_factor(scheme) * (1.0 + rms_x) / rms_v;
}

// The root mean square, its sum of squares in 8 interleaved partial sums added pairwise:
// the additions do not wait on each other (one chain would take 4 cycles a coordinate,
// a millisecond at n = 10^6), and their order is fixed, so the bits are too.
inline double rms(const double* v, std::size_t n) {
    constexpr std::size_t P = 8;
    double s[P] = {};
    std::size_t i = 0;
    for (; i + P <= n; i += P)
        for (std::size_t k = 0; k < P; ++k) s[k] += v[i + k] * v[i + k];
    for (std::size_t k = 0; i < n; ++i, ++k) s[k] += v[i] * v[i];
    const double total = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    return std::sqrt(total / static_cast<double>(n));
}

class FiniteDifference {
  public:
    // `threads` is the team size of the runs that follow.
    FiniteDifference(GradientSource& source, Scheme scheme, const double* x, std::size_t n, int threads)
        : source_(source), scheme_(scheme), x_(x), n_(n) {
        source_.prepare(threads, n);
        if (scheme_ == Scheme::forward) {
            g0_.resize(n);
            source_.evaluate(
                1, n, [&](double* p) { std::copy(x, x + n, p); },
                [&](const double* g) {
                    if (!all_finite(g, 0, n))
                        throw std::domain_error("the gradient returned non-finite values (NaN or Inf) at x");
                    std::copy(g, g + n, g0_.data());
                });
        }
    }

    Scheme scheme() const { return scheme_; }
    double rms_x() const { return rms(x_, n_); }

    // out[k] = H(x) v_k for k < count, out row-major (count, n); dir(k, i) is coordinate i
    // of direction k and step[k] its step.  SPMD: call from every thread of a team.
    template <class Dir>
    void hvp_rows(const Dir& dir, const double* step, std::size_t count, double* out, ExceptionVault& vault) {
        if (source_.max_batch() > 1) {
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp single
#endif
            vault.run([&] { batched(dir, step, count, out); });
            return;
        }
        const auto rows = static_cast<std::ptrdiff_t>(count);
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (std::ptrdiff_t k = 0; k < rows; ++k)
            vault.run([&] {
                const auto kk = static_cast<std::size_t>(k);
                one(dir, kk, step[kk], out + kk * n_);
            });
    }

  private:
    // One direction, one point a call.
    template <class Dir>
    void one(const Dir& dir, std::size_t k, double h, double* out) {
        const std::size_t n = n_;
        const double* x = x_;
        auto shifted = [&](double sign) {
            return [&, sign](double* p) {
                const double hs = sign * h;
                for (std::size_t i = 0; i < n; ++i) p[i] = x[i] + hs * dir(k, i);
            };
        };
        const double inv = 1.0 / h;
        switch (scheme_) {
            case Scheme::central: {
                const double half = 0.5 * inv;
                source_.evaluate_pair(n, shifted(1.0), shifted(-1.0), [&](const double* gp, const double* gm) {
                    store_checked(out, n, [&](std::size_t i) { return (gp[i] - gm[i]) * half; });
                });
                break;
            }
            case Scheme::forward:
                source_.evaluate(1, n, shifted(1.0), [&](const double* g) {
                    store_checked(out, n, [&](std::size_t i) { return (g[i] - g0_[i]) * inv; });
                });
                break;
            case Scheme::complex_step:
                source_.evaluate_complex(
                    1, n,
                    [&](std::complex<double>* p) {
                        for (std::size_t i = 0; i < n; ++i) p[i] = {x[i], h * dir(k, i)};
                    },
                    [&](const std::complex<double>* g) {
                        store_checked(out, n, [&](std::size_t i) { return g[i].imag() * inv; });
                    });
                break;
        }
    }

    // All directions in calls of up to max_batch() points (a vectorized source).
    template <class Dir>
    void batched(const Dir& dir, const double* step, std::size_t count, double* out) {
        const std::size_t n = n_;
        const std::size_t per = scheme_ == Scheme::central ? 2 : 1;  // points per direction
        const std::size_t dirs_per_call = std::max<std::size_t>(1, source_.max_batch() / per);
        for (std::size_t first = 0; first < count; first += dirs_per_call) {
            const std::size_t m = std::min(dirs_per_call, count - first);
            if (scheme_ == Scheme::complex_step) {
                source_.evaluate_complex(
                    m, n,
                    [&](std::complex<double>* p) {
                        for (std::size_t k = 0; k < m; ++k)
                            for (std::size_t i = 0; i < n; ++i)
                                p[k * n + i] = {x_[i], step[first + k] * dir(first + k, i)};
                    },
                    [&](const std::complex<double>* g) {
                        for (std::size_t k = 0; k < m; ++k) {
                            double* o = out + (first + k) * n;
                            const double inv = 1.0 / step[first + k];
                            for (std::size_t i = 0; i < n; ++i) o[i] = g[k * n + i].imag() * inv;
                        }
                    });
                check_product(out + first * n, m * n);
                continue;
            }
            source_.evaluate(
                m * per, n,
                [&](double* p) {
                    for (std::size_t k = 0; k < m; ++k)
                        for (std::size_t s = 0; s < per; ++s) {
                            const double hs = (s == 0 ? 1.0 : -1.0) * step[first + k];
                            double* row = p + (k * per + s) * n;
                            for (std::size_t i = 0; i < n; ++i) row[i] = x_[i] + hs * dir(first + k, i);
                        }
                },
                [&](const double* g) {
                    for (std::size_t k = 0; k < m; ++k) {
                        double* o = out + (first + k) * n;
                        const double* gp = g + k * per * n;
                        const double inv = 1.0 / step[first + k];
                        if (per == 2) {
                            const double* gm = gp + n;
                            for (std::size_t i = 0; i < n; ++i) o[i] = (gp[i] - gm[i]) * (0.5 * inv);
                        } else {
                            for (std::size_t i = 0; i < n; ++i) o[i] = (gp[i] - g0_[i]) * inv;
                        }
                    }
                });
            check_product(out + first * n, m * n);
        }
    }

    // The finished products are checked instead of every gradient: a NaN or Inf in any
    // gradient used reaches them (Inf - Inf is NaN).
    static void check_product(const double* hv, std::size_t len) {
        if (!all_finite(hv, 0, len)) throw_nonfinite();
    }
    // out[i] = value(i), checked for NaN and Inf in the same pass.
    template <class Value>
    static void store_checked(double* out, std::size_t n, const Value& value) {
        constexpr std::uint64_t exponent = 0x7ff0000000000000ULL;
        std::uint64_t bad = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double o = value(i);
            out[i] = o;
            std::uint64_t bits;
            std::memcpy(&bits, &o, sizeof bits);
            bad |= static_cast<std::uint64_t>((bits & exponent) == exponent);
        }
        if (bad) throw_nonfinite();
    }
    [[noreturn]] static void throw_nonfinite() {
        throw std::domain_error(
            "the gradient returned non-finite values (NaN or Inf) near x, or its finite differences "
            "overflow; hessprobe does not guess around them");
    }

    GradientSource& source_;
    Scheme scheme_;
    const double* x_;
    std::size_t n_;
    std::vector<double> g0_;
};

// out = H(x) V' as rows for the (rows, n) directions V, each with its own step: `step`
// when > 0, else the scheme's default for that direction (1 for a zero direction, whose
// product is 0 whatever the step).  Runs a team of up to `threads`.
inline void fd_hvp_block(GradientSource& source, Scheme scheme, const double* x, std::size_t n, const double* V,
                         std::size_t rows, double step, int threads, double* out) {
    FiniteDifference fd(source, scheme, x, n, threads);
    std::vector<double> steps(rows);
    const double rx = fd.rms_x();
    for (std::size_t r = 0; r < rows; ++r) {
        const double rv = rms(V + r * n, n);
        steps[r] = step > 0.0 ? step : (rv > 0.0 ? default_step(scheme, rx, rv) : 1.0);
    }
    auto dir = [&](std::size_t k, std::size_t i) { return V[k * n + i]; };
    ExceptionVault vault;
    run_team(team_size(threads, rows), [&] { fd.hvp_rows(dir, steps.data(), rows, out, vault); });
    vault.rethrow();
}

HESSPROBE_NAMESPACE_END
