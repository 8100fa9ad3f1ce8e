// The element-wise loops of the dtypes of special elements: one strided loop per
// operation, operand kinds (element or float64) and element type E, over E's arithmetic
// (Dual<K>: hessprobe/dual.hpp; the tracer's index sets: cpp/tracer_numpy/tracer.hpp),
// found by overload resolution.  Elements are loaded and stored with memcpy (any
// alignment), and each result is complete before it is stored, so in-place operations
// (out aliasing an input) are safe.
#pragma once

#include "descriptor.hpp"
#include "hessprobe/dual.hpp"

#include <cmath>
#include <cstring>
#include <type_traits>

namespace hessprobe::dual_numpy {

// An operand: an element of type E, or a float64.
template <bool IsElement, class E>
using Operand = std::conditional_t<IsElement, E, double>;
// The element type of a mixed operation (double when both are).
template <class A, class B>
using DualOf = std::conditional_t<std::is_same_v<A, double>, B, A>;

// The hooks that element types other than Dual<K> overload (found by ADL).
// A piecewise-constant function's result: value v, derivative 0.
template <class T>
T piecewise_constant(const T&, double v) {
    return T(v);
}
// maximum / minimum and the like: the operand picked.
template <class T>
T select_operand(const T& a, const T& b, bool pick_a) {
    return pick_a ? a : b;
}

// How an element is read from and written to an array: all of its bytes, unless its
// type specializes Access to move only those in use (the tracer's index sets).
template <class T>
struct Access {
    static T load(const char* p) {
        T t;
        std::memcpy(&t, p, sizeof t);
        return t;
    }
    static void store(char* p, const T& t) { std::memcpy(p, &t, sizeof t); }
};
template <class T>
T load(const char* p) {
    return Access<T>::load(p);
}
template <class T>
void store(char* p, const T& t) {
    Access<T>::store(p, t);
}
inline void store(char* p, bool b) { *reinterpret_cast<npy_bool*>(p) = b ? 1 : 0; }

// The ArrayMethod loop of Kernel for the dtype of E.
template <class Kernel, class E>
int strided_loop(PyArrayMethod_Context*, char* const data[], const npy_intp dims[], const npy_intp strides[],
                 NpyAuxData*) {
    return Kernel::template run<E>(data, dims, strides);
}

template <class Op, bool DA>
struct Unary {
    template <class E>
    static int run(char* const data[], const npy_intp dims[], const npy_intp s[]) {
        const char* a = data[0];
        char* out = data[1];
        for (npy_intp i = 0; i < dims[0]; ++i, a += s[0], out += s[1]) store(out, Op::apply(load<Operand<DA, E>>(a)));
        return 0;
    }
};

template <class Op, bool DA, bool DB>
struct Binary {
    template <class E>
    static int run(char* const data[], const npy_intp dims[], const npy_intp s[]) {
        const char *a = data[0], *b = data[1];
        char* out = data[2];
        for (npy_intp i = 0; i < dims[0]; ++i, a += s[0], b += s[1], out += s[2])
            store(out, Op::apply(load<Operand<DA, E>>(a), load<Operand<DB, E>>(b)));
        return 0;
    }
};

template <class Op, bool DA, bool DB, bool DC>
struct Ternary {
    template <class E>
    static int run(char* const data[], const npy_intp dims[], const npy_intp s[]) {
        const char *a = data[0], *b = data[1], *c = data[2];
        char* out = data[3];
        for (npy_intp i = 0; i < dims[0]; ++i, a += s[0], b += s[1], c += s[2], out += s[3])
            store(out, Op::apply(load<Operand<DA, E>>(a), load<Operand<DB, E>>(b), load<Operand<DC, E>>(c)));
        return 0;
    }
};

// ---- the operations --------------------------------------------------------------
namespace ops {

// f(a) through the core's overloads for Dual and <cmath>'s for double.
#define HESSPROBE_UNARY(Name, expr)                     \
    struct Name {                                       \
        template <class T>                              \
        static T apply(const T& a) {                    \
            using std::acos, std::acosh, std::asin;     \
            using std::asinh, std::atan, std::atanh;    \
            using std::cbrt, std::cos, std::cosh;       \
            using std::erf, std::exp, std::exp2;        \
            using std::expm1, std::fabs, std::log;      \
            using std::log10, std::log1p, std::log2;    \
            using std::sin, std::sinh, std::sqrt;       \
            using std::tan, std::tanh;                  \
            return expr;                                \
        }                                               \
    };
HESSPROBE_UNARY(Negative, -a)
HESSPROBE_UNARY(Positive, a)
HESSPROBE_UNARY(Absolute, fabs(a))
HESSPROBE_UNARY(Square, square(a))
HESSPROBE_UNARY(Reciprocal, 1.0 / a)
HESSPROBE_UNARY(Sqrt, sqrt(a))
HESSPROBE_UNARY(Cbrt, cbrt(a))
HESSPROBE_UNARY(Exp, exp(a))
HESSPROBE_UNARY(Exp2, exp2(a))
HESSPROBE_UNARY(Expm1, expm1(a))
HESSPROBE_UNARY(Log, log(a))
HESSPROBE_UNARY(Log2, log2(a))
HESSPROBE_UNARY(Log10, log10(a))
HESSPROBE_UNARY(Log1p, log1p(a))
HESSPROBE_UNARY(Sin, sin(a))
HESSPROBE_UNARY(Cos, cos(a))
HESSPROBE_UNARY(Tan, tan(a))
HESSPROBE_UNARY(Arcsin, asin(a))
HESSPROBE_UNARY(Arccos, acos(a))
HESSPROBE_UNARY(Arctan, atan(a))
HESSPROBE_UNARY(Sinh, sinh(a))
HESSPROBE_UNARY(Cosh, cosh(a))
HESSPROBE_UNARY(Tanh, tanh(a))
HESSPROBE_UNARY(Arcsinh, asinh(a))
HESSPROBE_UNARY(Arccosh, acosh(a))
HESSPROBE_UNARY(Arctanh, atanh(a))
HESSPROBE_UNARY(Erf, erf(a))
HESSPROBE_UNARY(Expit, sigmoid(a))
HESSPROBE_UNARY(LogExpit, -softplus(-a))
// Piecewise constant: the derivative is 0 wherever it exists.
HESSPROBE_UNARY(Floor, piecewise_constant(a, std::floor(value_of(a))))
HESSPROBE_UNARY(Ceil, piecewise_constant(a, std::ceil(value_of(a))))
HESSPROBE_UNARY(Rint, piecewise_constant(a, std::rint(value_of(a))))
HESSPROBE_UNARY(Trunc, piecewise_constant(a, std::trunc(value_of(a))))
HESSPROBE_UNARY(Sign, piecewise_constant(a, value_of(a) > 0.0 ? 1.0 : value_of(a) < 0.0 ? -1.0 : value_of(a)))
#undef HESSPROBE_UNARY

// Predicates on the value.
#define HESSPROBE_PREDICATE(Name, expr)   \
    struct Name {                         \
        template <class T>                \
        static bool apply(const T& t) {   \
            const double a = value_of(t); \
            return expr;                  \
        }                                 \
    };
HESSPROBE_PREDICATE(IsFinite, std::isfinite(a))
HESSPROBE_PREDICATE(IsInf, std::isinf(a))
HESSPROBE_PREDICATE(IsNan, std::isnan(a))
HESSPROBE_PREDICATE(SignBit, std::signbit(a))
#undef HESSPROBE_PREDICATE

#define HESSPROBE_ARITHMETIC(Name, expr)                    \
    struct Name {                                           \
        template <class A, class B>                         \
        static DualOf<A, B> apply(const A& a, const B& b) { \
            return expr;                                    \
        }                                                   \
    };
HESSPROBE_ARITHMETIC(Add, a + b)
HESSPROBE_ARITHMETIC(Subtract, a - b)
HESSPROBE_ARITHMETIC(Multiply, a * b)
HESSPROBE_ARITHMETIC(Divide, a / b)
#undef HESSPROBE_ARITHMETIC

struct Power {
    static double apply(double a, double b) { return std::pow(a, b); }
    // The common constant exponents without pow (as NumPy does for floats).
    template <class E>
    static E apply(const E& a, double b) {
        if (b == 2.0) return square(a);
        if (b == 3.0) return cube(a);
        if (b == 0.5) return sqrt(a);
        if (b == -1.0) return 1.0 / a;
        return pow(a, b);
    }
    template <class E>
    static E apply(double a, const E& b) { return pow(a, b); }
    template <class E>
    static E apply(const E& a, const E& b) { return pow_dual(a, b); }
};

// Operations defined on two duals; a float operand is lifted to a constant.
#define HESSPROBE_LIFTED(Name, fn, plain)                            \
    struct Name {                                                    \
        static double apply(double a, double b) { return plain; }   \
        template <class A, class B>                                  \
        static DualOf<A, B> apply(const A& a, const B& b) {          \
            using D = DualOf<A, B>;                                  \
            return fn(D(a), D(b));                                   \
        }                                                            \
    };
HESSPROBE_LIFTED(Arctan2, atan2, std::atan2(a, b))
HESSPROBE_LIFTED(Hypot, hypot, std::hypot(a, b))
HESSPROBE_LIFTED(LogAddExp, logaddexp, (a == b ? a + 0.69314718055994530942
                                                : std::max(a, b) + std::log1p(std::exp(-std::fabs(a - b)))))
#undef HESSPROBE_LIFTED

// maximum / minimum pick an operand (NaN propagates); fmax / fmin ignore a NaN.  The
// lanes are copied from the operand picked, never mixed (select: a global tracer takes
// both index sets).
#define HESSPROBE_SELECT(Name, pick_a)                      \
    struct Name {                                           \
        template <class A, class B>                         \
        static DualOf<A, B> apply(const A& a, const B& b) { \
            using D = DualOf<A, B>;                         \
            const double x = value_of(a), y = value_of(b);  \
            return select_operand(D(a), D(b), pick_a);                  \
        }                                                   \
    };
HESSPROBE_SELECT(Maximum, x >= y || std::isnan(x))
HESSPROBE_SELECT(Minimum, x <= y || std::isnan(x))
HESSPROBE_SELECT(FMax, x >= y || std::isnan(y))
HESSPROBE_SELECT(FMin, x <= y || std::isnan(y))
#undef HESSPROBE_SELECT

// clip(a, lo, hi) = minimum(maximum(a, lo), hi).
struct Clip {
    template <class A, class B, class C>
    static A apply(const A& a, const B& lo, const C& hi) {
        return Minimum::apply(Maximum::apply(a, lo), hi);
    }
};

#define HESSPROBE_COMPARE(Name, op)                     \
    struct Name {                                       \
        template <class A, class B>                     \
        static bool apply(const A& a, const B& b) {     \
            return value_of(a) op value_of(b);          \
        }                                               \
    };
HESSPROBE_COMPARE(Equal, ==)
HESSPROBE_COMPARE(NotEqual, !=)
HESSPROBE_COMPARE(Less, <)
HESSPROBE_COMPARE(LessEqual, <=)
HESSPROBE_COMPARE(Greater, >)
HESSPROBE_COMPARE(GreaterEqual, >=)
#undef HESSPROBE_COMPARE

}  // namespace ops
}  // namespace hessprobe::dual_numpy
