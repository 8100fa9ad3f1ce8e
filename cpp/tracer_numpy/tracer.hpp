// The element of the sparsity tracer: the value at x and the set of input indices it
// depends on (sorted uint32, at most C of them inline; more make it "dense", which
// absorbs).  An operation's result depends on the union of the sets of its operands
// with a nonzero partial derivative: a constant factor 0 (in *, @, np.dot) contributes
// nothing, and piecewise-constant functions (floor, sign, ...) give the empty set.
//
// `variable` is 0 for a constant (a real number cast in, or what only constants made):
// its value is known for every x, which is what lets a factor 0 drop its partner.  The
// two modes share the element; they differ only where a value would choose: a local
// tracer (Local = true) compares values and takes the set of the branch taken at x, a
// global one (valid for every x) takes both sets in np.maximum and the like and refuses
// comparisons (cpp/tracer_numpy/family.hpp).
#pragma once

#include "loops.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace hessprobe::tracer_numpy {

constexpr std::uint32_t dense_count = 0xFFFFFFFFu;

template <int C, bool Local>
struct Tracer {
    static constexpr int capacity = C;
    static constexpr bool local = Local;

    double value;  // first: what the generic dtype code orders by
    std::uint32_t count;  // indices held (in idx[0, count)), or dense_count
    std::uint32_t variable;  // 0: a constant (its value holds for every x)
    std::uint32_t idx[C];

    Tracer() = default;  // indeterminate, like a double
    // A constant: no indices.  Implicit, as for Dual<K>: generic code writes E(2.0).
    Tracer(double v) : value(v), count(0), variable(0) {}  // NOLINT(google-explicit-constructor)

    // Any count past the capacity (dense, or the garbage of np.empty_like) is dense.
    bool dense() const { return count > static_cast<std::uint32_t>(C); }
};

template <int C, bool L>
double value_of(const Tracer<C, L>& a) {
    return a.value;
}

// a's set with the value v (a function with a nonzero derivative of one operand).
template <int C, bool L>
Tracer<C, L> with_value(const Tracer<C, L>& a, double v) {
    Tracer<C, L> r = a;
    r.value = v;
    return r;
}

// The union of a's and b's sets (sorted merge; past C: dense), with the value v.
template <int C, bool L>
Tracer<C, L> combine(const Tracer<C, L>& a, const Tracer<C, L>& b, double v) {
    if ((b.count == 0 && !b.dense()) || (a.count == 0 && !a.dense())) {
        Tracer<C, L> r = with_value(b.count == 0 && !b.dense() ? a : b, v);
        r.variable = a.variable | b.variable;  // an empty set may still vary (floor(x))
        return r;
    }
    Tracer<C, L> r;
    r.value = v;
    r.variable = a.variable | b.variable;
    if (a.dense() || b.dense()) {
        r.count = dense_count;
        return r;
    }
    std::uint32_t i = 0, j = 0, k = 0;
    const std::uint32_t na = a.count, nb = b.count;
    while (i < na && j < nb) {
        if (k == static_cast<std::uint32_t>(C)) {
            r.count = dense_count;
            return r;
        }
        const std::uint32_t x = a.idx[i], y = b.idx[j];
        r.idx[k++] = x <= y ? x : y;
        i += x <= y;
        j += y <= x;
    }
    const std::uint32_t rest = (na - i) + (nb - j);
    if (k + rest > static_cast<std::uint32_t>(C)) {
        r.count = dense_count;
        return r;
    }
    for (; i < na; ++i) r.idx[k++] = a.idx[i];
    for (; j < nb; ++j) r.idx[k++] = b.idx[j];
    r.count = k;
    return r;
}

// A result of derivative 0: no indices, but still a function of x when a is.
template <int C, bool L>
Tracer<C, L> piecewise_constant(const Tracer<C, L>& a, double v) {
    Tracer<C, L> r(v);
    r.variable = a.variable;
    return r;
}

template <int C, bool L>
bool is_zero_constant(const Tracer<C, L>& a) {
    return a.variable == 0 && a.value == 0.0;
}

// np.maximum and the like: the branch taken at x (local), both branches (global).
template <int C, bool L>
Tracer<C, L> select_operand(const Tracer<C, L>& a, const Tracer<C, L>& b, bool pick_a) {
    if constexpr (L) return pick_a ? a : b;
    else return combine(a, b, pick_a ? a.value : b.value);
}

// ---- arithmetic ----------------------------------------------------------------------
template <int C, bool L>
Tracer<C, L> operator-(const Tracer<C, L>& a) {
    return with_value(a, -a.value);
}
template <int C, bool L>
Tracer<C, L> operator+(const Tracer<C, L>& a, const Tracer<C, L>& b) {
    return combine(a, b, a.value + b.value);
}
template <int C, bool L>
Tracer<C, L> operator-(const Tracer<C, L>& a, const Tracer<C, L>& b) {
    return combine(a, b, a.value - b.value);
}
template <int C, bool L>
Tracer<C, L> operator*(const Tracer<C, L>& a, const Tracer<C, L>& b) {
    const double v = a.value * b.value;
    if (is_zero_constant(a)) return piecewise_constant(b, v);
    if (is_zero_constant(b)) return piecewise_constant(a, v);
    return combine(a, b, v);
}
template <int C, bool L>
Tracer<C, L> operator/(const Tracer<C, L>& a, const Tracer<C, L>& b) {
    return combine(a, b, a.value / b.value);
}
template <int C, bool L>
Tracer<C, L> operator+(const Tracer<C, L>& a, double b) { return with_value(a, a.value + b); }
template <int C, bool L>
Tracer<C, L> operator+(double a, const Tracer<C, L>& b) { return with_value(b, a + b.value); }
template <int C, bool L>
Tracer<C, L> operator-(const Tracer<C, L>& a, double b) { return with_value(a, a.value - b); }
template <int C, bool L>
Tracer<C, L> operator-(double a, const Tracer<C, L>& b) { return with_value(b, a - b.value); }
template <int C, bool L>
Tracer<C, L> operator*(const Tracer<C, L>& a, double b) {
    return b == 0.0 ? piecewise_constant(a, a.value * b) : with_value(a, a.value * b);
}
template <int C, bool L>
Tracer<C, L> operator*(double a, const Tracer<C, L>& b) { return b * a; }
template <int C, bool L>
Tracer<C, L> operator/(const Tracer<C, L>& a, double b) { return with_value(a, a.value / b); }
template <int C, bool L>
Tracer<C, L> operator/(double a, const Tracer<C, L>& b) { return with_value(b, a / b.value); }

// ---- functions: one operand, the same set --------------------------------------------
#define HESSPROBE_TRACER_UNARY(name, f)                  \
    template <int C, bool L>                             \
    Tracer<C, L> name(const Tracer<C, L>& a) {           \
        return with_value(a, f(a.value));                \
    }
HESSPROBE_TRACER_UNARY(fabs, std::fabs)
HESSPROBE_TRACER_UNARY(square, hessprobe::square)
HESSPROBE_TRACER_UNARY(cube, hessprobe::cube)
HESSPROBE_TRACER_UNARY(sqrt, std::sqrt)
HESSPROBE_TRACER_UNARY(cbrt, std::cbrt)
HESSPROBE_TRACER_UNARY(exp, std::exp)
HESSPROBE_TRACER_UNARY(exp2, std::exp2)
HESSPROBE_TRACER_UNARY(expm1, std::expm1)
HESSPROBE_TRACER_UNARY(log, std::log)
HESSPROBE_TRACER_UNARY(log2, std::log2)
HESSPROBE_TRACER_UNARY(log10, std::log10)
HESSPROBE_TRACER_UNARY(log1p, std::log1p)
HESSPROBE_TRACER_UNARY(sin, std::sin)
HESSPROBE_TRACER_UNARY(cos, std::cos)
HESSPROBE_TRACER_UNARY(tan, std::tan)
HESSPROBE_TRACER_UNARY(asin, std::asin)
HESSPROBE_TRACER_UNARY(acos, std::acos)
HESSPROBE_TRACER_UNARY(atan, std::atan)
HESSPROBE_TRACER_UNARY(sinh, std::sinh)
HESSPROBE_TRACER_UNARY(cosh, std::cosh)
HESSPROBE_TRACER_UNARY(tanh, std::tanh)
HESSPROBE_TRACER_UNARY(asinh, std::asinh)
HESSPROBE_TRACER_UNARY(acosh, std::acosh)
HESSPROBE_TRACER_UNARY(atanh, std::atanh)
HESSPROBE_TRACER_UNARY(erf, std::erf)
HESSPROBE_TRACER_UNARY(sigmoid, hessprobe::sigmoid)
HESSPROBE_TRACER_UNARY(softplus, hessprobe::softplus)
#undef HESSPROBE_TRACER_UNARY

// ---- functions of two operands -------------------------------------------------------
template <int C, bool L>
Tracer<C, L> pow(const Tracer<C, L>& a, double p) {
    const double v = std::pow(a.value, p);
    return p == 0.0 ? piecewise_constant(a, v) : with_value(a, v);
}
template <int C, bool L>
Tracer<C, L> pow(double c, const Tracer<C, L>& b) {
    return with_value(b, std::pow(c, b.value));
}
template <int C, bool L>
Tracer<C, L> pow_dual(const Tracer<C, L>& a, const Tracer<C, L>& b) {
    return combine(a, b, std::pow(a.value, b.value));
}
template <int C, bool L>
Tracer<C, L> atan2(const Tracer<C, L>& a, const Tracer<C, L>& b) {
    return combine(a, b, dual_numpy::ops::Arctan2::apply(a.value, b.value));
}
template <int C, bool L>
Tracer<C, L> hypot(const Tracer<C, L>& a, const Tracer<C, L>& b) {
    return combine(a, b, dual_numpy::ops::Hypot::apply(a.value, b.value));
}
template <int C, bool L>
Tracer<C, L> logaddexp(const Tracer<C, L>& a, const Tracer<C, L>& b) {
    return combine(a, b, dual_numpy::ops::LogAddExp::apply(a.value, b.value));
}

}  // namespace hessprobe::tracer_numpy

namespace hessprobe::dual_numpy {

// A tracer moves its header and the indices in use, not its whole capacity: a dense or
// small set of capacity 128 is 16 or a few dozen bytes of traffic, not 528.
template <int C, bool L>
struct Access<tracer_numpy::Tracer<C, L>> {
    using T = tracer_numpy::Tracer<C, L>;
    static constexpr std::size_t header = offsetof(T, idx);
    static std::size_t used(const T& t) { return t.dense() ? 0 : sizeof(std::uint32_t) * t.count; }
    static T load(const char* p) {
        T t;
        std::memcpy(&t, p, header);
        std::memcpy(t.idx, p + header, used(t));
        return t;
    }
    static void store(char* p, const T& t) { std::memcpy(p, &t, header + used(t)); }
};

}  // namespace hessprobe::dual_numpy
