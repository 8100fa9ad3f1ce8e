// Forward-mode dual numbers with K tangent lanes.
//
// A Dual<K> is a value a and K tangents d_0..d_{K-1}: the first-order Taylor
// coefficients of a function along K directions at once,
//     f(a + eps_k d_k) = f(a) + eps_k f'(a) d_k + O(eps^2)   (each lane k separately).
// Arithmetic follows from eps_k^2 = 0 and eps_j eps_k = 0: the value part is ordinary
// arithmetic, and each lane gets the chain rule, (u v)' = u' v + u v'.
//
// Evaluating a gradient g(x) on duals seeded with x_i + eps_k v_ki gives in lane k
//     d/deps g(x + eps v_k) = H(x) v_k,
// Pearlmutter's exact Hessian-vector product, K of them for one pass over the code of g.
//
// The lanes are a plain array after the value, so every lane loop below is a short
// fixed-trip loop the compiler unrolls and vectorizes.  Comparisons look at the value
// only (a branch taken at x is the branch whose derivative we want).
#pragma once

#include "hessprobe/config.hpp"

#include <cmath>

HESSPROBE_NAMESPACE_BEGIN

template <int K>
struct Dual {
    static_assert(K >= 1, "a dual number needs at least one tangent lane");
    static constexpr int lanes = K;

    // Like a double, a default-initialized Dual is indeterminate (value-initialization,
    // Dual<K>() or std::vector<Dual<K>>(n), gives zero): every operator below writes all
    // of its result, and zeroing it first costs stores the compiler does not always remove.
    double v;
    double d[K];

    Dual() = default;
    // Constants have zero tangents; implicit so that generic code can write T(2.0).
    Dual(double value) : v(value) {  // NOLINT(google-explicit-constructor)
        for (int k = 0; k < K; ++k) d[k] = 0.0;
    }
};

#define HESSPROBE_LANES for (int k = 0; k < K; ++k)

// a * b + c, rounded once (an FMA instruction) in a build for a CPU with FMA (the AVX2
// and AVX-512 builds, -mfma) and twice in the baseline build.  Spelled out, never left
// to the compiler (every build has -ffp-contract=off): a result then does not depend on
// how a loop was vectorized, so a pass of 1, 4 or 8 lanes gives each lane the same bits.
inline double multiply_add(double a, double b, double c) {
#if defined(__FMA__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}

// The value part of a scalar, for double and Dual alike.
inline double value_of(double a) { return a; }
template <int K>
double value_of(const Dual<K>& a) { return a.v; }

// ---- arithmetic: dual with dual -------------------------------------------------
template <int K>
Dual<K> operator-(const Dual<K>& a) {
    Dual<K> r;
    r.v = -a.v;
    HESSPROBE_LANES r.d[k] = -a.d[k];
    return r;
}
template <int K>
Dual<K> operator+(const Dual<K>& a, const Dual<K>& b) {
    Dual<K> r;
    r.v = a.v + b.v;
    HESSPROBE_LANES r.d[k] = a.d[k] + b.d[k];
    return r;
}
template <int K>
Dual<K> operator-(const Dual<K>& a, const Dual<K>& b) {
    Dual<K> r;
    r.v = a.v - b.v;
    HESSPROBE_LANES r.d[k] = a.d[k] - b.d[k];
    return r;
}
template <int K>
Dual<K> operator*(const Dual<K>& a, const Dual<K>& b) {
    Dual<K> r;
    r.v = a.v * b.v;
    HESSPROBE_LANES r.d[k] = multiply_add(a.d[k], b.v, a.v * b.d[k]);
    return r;
}
template <int K>
Dual<K> operator/(const Dual<K>& a, const Dual<K>& b) {
    Dual<K> r;
    const double inv = 1.0 / b.v;
    r.v = a.v * inv;
    // (a/b)' = (a' - (a/b) b') / b
    HESSPROBE_LANES r.d[k] = multiply_add(-r.v, b.d[k], a.d[k]) * inv;
    return r;
}

// ---- arithmetic: dual with double (cheaper than promoting the double) -----------
template <int K>
Dual<K> operator+(const Dual<K>& a, double b) {
    Dual<K> r = a;
    r.v += b;
    return r;
}
template <int K>
Dual<K> operator+(double a, const Dual<K>& b) { return b + a; }
template <int K>
Dual<K> operator-(const Dual<K>& a, double b) {
    Dual<K> r = a;
    r.v -= b;
    return r;
}
template <int K>
Dual<K> operator-(double a, const Dual<K>& b) {
    Dual<K> r;
    r.v = a - b.v;
    HESSPROBE_LANES r.d[k] = -b.d[k];
    return r;
}
template <int K>
Dual<K> operator*(const Dual<K>& a, double b) {
    Dual<K> r;
    r.v = a.v * b;
    HESSPROBE_LANES r.d[k] = a.d[k] * b;
    return r;
}
template <int K>
Dual<K> operator*(double a, const Dual<K>& b) { return b * a; }
template <int K>
Dual<K> operator/(const Dual<K>& a, double b) { return a * (1.0 / b); }
template <int K>
Dual<K> operator/(double a, const Dual<K>& b) {
    Dual<K> r;
    const double inv = 1.0 / b.v;
    r.v = a * inv;
    const double dr = -r.v * inv;  // d(a/b)/db = -a/b^2
    HESSPROBE_LANES r.d[k] = dr * b.d[k];
    return r;
}

template <int K, class U>
Dual<K>& operator+=(Dual<K>& a, const U& b) { return a = a + b; }
template <int K, class U>
Dual<K>& operator-=(Dual<K>& a, const U& b) { return a = a - b; }
template <int K, class U>
Dual<K>& operator*=(Dual<K>& a, const U& b) { return a = a * b; }

// ---- comparisons: on the value ----------------------------------------------------
template <int K> bool operator<(const Dual<K>& a, double b) { return a.v < b; }
template <int K> bool operator>(const Dual<K>& a, double b) { return a.v > b; }
template <int K> bool operator<=(const Dual<K>& a, double b) { return a.v <= b; }
template <int K> bool operator>=(const Dual<K>& a, double b) { return a.v >= b; }

// ---- elementary functions ------------------------------------------------------
// chain(a, f(a), f'(a)): the value f(a) with every lane scaled by f'(a).
template <int K>
Dual<K> chain(const Dual<K>& a, double f, double df) {
    Dual<K> r;
    r.v = f;
    HESSPROBE_LANES r.d[k] = df * a.d[k];
    return r;
}

// Double overloads of the non-standard helpers, so that generic code calls the same
// unqualified name for double and Dual.
inline double square(double a) { return a * a; }
inline double cube(double a) { return a * a * a; }
// The logistic function 1 / (1 + exp(-a)), without overflow for large |a|.
inline double sigmoid(double a) {
    if (a >= 0.0) return 1.0 / (1.0 + std::exp(-a));
    const double e = std::exp(a);
    return e / (1.0 + e);
}
// log(1 + exp(a)) without overflow or loss of precision for large |a|.
inline double softplus(double a) {
    return (a > 0.0 ? a : 0.0) + std::log1p(std::exp(-std::fabs(a)));
}

template <int K> Dual<K> square(const Dual<K>& a) { return chain(a, a.v * a.v, 2.0 * a.v); }
template <int K> Dual<K> cube(const Dual<K>& a) { return chain(a, a.v * a.v * a.v, 3.0 * a.v * a.v); }
template <int K> Dual<K> exp(const Dual<K>& a) {
    const double e = std::exp(a.v);
    return chain(a, e, e);
}
template <int K> Dual<K> expm1(const Dual<K>& a) { return chain(a, std::expm1(a.v), std::exp(a.v)); }
template <int K> Dual<K> log(const Dual<K>& a) { return chain(a, std::log(a.v), 1.0 / a.v); }
template <int K> Dual<K> log1p(const Dual<K>& a) { return chain(a, std::log1p(a.v), 1.0 / (1.0 + a.v)); }
// sqrt is not differentiable at 0: the tangents become inf/nan there, as they should.
template <int K> Dual<K> sqrt(const Dual<K>& a) {
    const double s = std::sqrt(a.v);
    return chain(a, s, 0.5 / s);
}
template <int K> Dual<K> sin(const Dual<K>& a) { return chain(a, std::sin(a.v), std::cos(a.v)); }
template <int K> Dual<K> cos(const Dual<K>& a) { return chain(a, std::cos(a.v), -std::sin(a.v)); }
template <int K> Dual<K> tanh(const Dual<K>& a) {
    const double t = std::tanh(a.v);
    return chain(a, t, 1.0 - t * t);
}
// a^p for a constant exponent; p == 0 gives the constant 1, p == 1 the identity, so that
// the derivative p a^(p-1) is not evaluated as 0 * inf at a == 0.
template <int K> Dual<K> pow(const Dual<K>& a, double p) {
    if (p == 0.0) return Dual<K>(1.0);
    if (p == 1.0) return a;
    return chain(a, std::pow(a.v, p), p * std::pow(a.v, p - 1.0));
}
// a^b = exp(b log a), defined for a > 0.
template <int K> Dual<K> pow(const Dual<K>& a, const Dual<K>& b) { return exp(b * log(a)); }
template <int K> Dual<K> sigmoid(const Dual<K>& a) {
    const double s = sigmoid(a.v);
    return chain(a, s, s * (1.0 - s));
}
template <int K> Dual<K> softplus(const Dual<K>& a) { return chain(a, softplus(a.v), sigmoid(a.v)); }

// ---- the rest of NumPy's elementary functions (the dual dtype's ufunc loops) ------
template <int K> Dual<K> tan(const Dual<K>& a) {
    const double t = std::tan(a.v);
    return chain(a, t, 1.0 + t * t);
}
template <int K> Dual<K> asin(const Dual<K>& a) { return chain(a, std::asin(a.v), 1.0 / std::sqrt(1.0 - a.v * a.v)); }
template <int K> Dual<K> acos(const Dual<K>& a) { return chain(a, std::acos(a.v), -1.0 / std::sqrt(1.0 - a.v * a.v)); }
template <int K> Dual<K> atan(const Dual<K>& a) { return chain(a, std::atan(a.v), 1.0 / (1.0 + a.v * a.v)); }
template <int K> Dual<K> sinh(const Dual<K>& a) { return chain(a, std::sinh(a.v), std::cosh(a.v)); }
template <int K> Dual<K> cosh(const Dual<K>& a) { return chain(a, std::cosh(a.v), std::sinh(a.v)); }
template <int K> Dual<K> asinh(const Dual<K>& a) { return chain(a, std::asinh(a.v), 1.0 / std::sqrt(a.v * a.v + 1.0)); }
template <int K> Dual<K> acosh(const Dual<K>& a) { return chain(a, std::acosh(a.v), 1.0 / std::sqrt(a.v * a.v - 1.0)); }
template <int K> Dual<K> atanh(const Dual<K>& a) { return chain(a, std::atanh(a.v), 1.0 / (1.0 - a.v * a.v)); }
template <int K> Dual<K> cbrt(const Dual<K>& a) {
    const double c = std::cbrt(a.v);
    return chain(a, c, 1.0 / (3.0 * c * c));
}
template <int K> Dual<K> exp2(const Dual<K>& a) {
    const double e = std::exp2(a.v);
    return chain(a, e, e * 0.69314718055994530942);
}
template <int K> Dual<K> log2(const Dual<K>& a) { return chain(a, std::log2(a.v), 1.0 / (a.v * 0.69314718055994530942)); }
template <int K> Dual<K> log10(const Dual<K>& a) { return chain(a, std::log10(a.v), 1.0 / (a.v * 2.30258509299404568402)); }
// |a| has derivative sign(a); at 0 the subgradient 0 (as JAX and PyTorch take it).
template <int K> Dual<K> fabs(const Dual<K>& a) { return chain(a, std::fabs(a.v), a.v > 0.0 ? 1.0 : a.v < 0.0 ? -1.0 : 0.0); }
template <int K> Dual<K> erf(const Dual<K>& a) {
    return chain(a, std::erf(a.v), 1.1283791670955125739 * std::exp(-a.v * a.v));  // 2 / sqrt(pi)
}
// c^b for a constant base c > 0 (c = 0: the constant 0 for b > 0).
template <int K> Dual<K> pow(double c, const Dual<K>& b) {
    const double r = std::pow(c, b.v);
    return chain(b, r, r == 0.0 ? 0.0 : r * std::log(c));
}
// a^b for dual a and b: b a^(b-1) a' + a^b log(a) b', the log term only where b moves.
template <int K> Dual<K> pow_dual(const Dual<K>& a, const Dual<K>& b) {
    Dual<K> r = pow(a, b.v);
    const double lg = r.v == 0.0 ? 0.0 : r.v * std::log(a.v);
    for (int k = 0; k < K; ++k)
        if (b.d[k] != 0.0) r.d[k] = multiply_add(lg, b.d[k], r.d[k]);
    return r;
}
// atan2(y, x): d = (x dy - y dx) / (x^2 + y^2).
template <int K> Dual<K> atan2(const Dual<K>& y, const Dual<K>& x) {
    Dual<K> r;
    r.v = std::atan2(y.v, x.v);
    const double inv = 1.0 / (x.v * x.v + y.v * y.v);
    for (int k = 0; k < K; ++k) r.d[k] = multiply_add(x.v, y.d[k], -y.v * x.d[k]) * inv;
    return r;
}
// hypot(a, b): d = (a da + b db) / hypot.
template <int K> Dual<K> hypot(const Dual<K>& a, const Dual<K>& b) {
    Dual<K> r;
    r.v = std::hypot(a.v, b.v);
    const double inv = 1.0 / r.v;
    for (int k = 0; k < K; ++k) r.d[k] = multiply_add(a.v, a.d[k], b.v * b.d[k]) * inv;
    return r;
}
// log(exp(a) + exp(b)): d = exp(a - r) da + exp(b - r) db.
template <int K> Dual<K> logaddexp(const Dual<K>& a, const Dual<K>& b) {
    Dual<K> r;
    const double hi = a.v > b.v ? a.v : b.v, lo = a.v > b.v ? b.v : a.v;
    r.v = hi == lo ? hi + 0.69314718055994530942 : hi + std::log1p(std::exp(lo - hi));
    const double wa = std::exp(a.v - r.v), wb = std::exp(b.v - r.v);
    for (int k = 0; k < K; ++k) r.d[k] = wa * a.d[k] + wb * b.d[k];
    return r;
}

#undef HESSPROBE_LANES

HESSPROBE_NAMESPACE_END
