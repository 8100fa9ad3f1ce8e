// Registering the loops of a family of element types (descriptor.hpp) with NumPy's
// ufuncs: for each element type E, the loops of each operation for (E, E), (E, float64)
// and (float64, E), and the promoters that send a call with Python numbers, ints or
// float32 to a mixed loop (the real operand becomes float64; a constant is never widened
// to an array of E).  A family without values (Fam::valued false: the global tracer)
// gets, for the comparisons and predicates, a promoter that raises instead of loops.
#pragma once

#include "loops.hpp"

#include <initializer_list>
#include <type_traits>

namespace hessprobe::dual_numpy {

// The identity of a reduction, for sum and prod (a constant).
template <int Value, class E>
int reduction_initial(PyArrayMethod_Context*, npy_bool, void* initial) {
    const E element(static_cast<double>(Value));
    std::memcpy(initial, &element, sizeof element);
    return 1;
}

// ---- promoters ---------------------------------------------------------------------
// The family's DType among the inputs (a reduction's first operand is NULL: its input's).
template <class Fam>
PyArray_DTypeMeta* family_input(PyUFuncObject* u, PyArray_DTypeMeta* const op_dtypes[]) {
    for (int i = 0; i < u->nin; ++i)
        if (Fam::has_class(op_dtypes[i])) return op_dtypes[i];
    return nullptr;
}

// Inputs of the family keep their DType, each real one becomes float64 (a reduction is
// all of the family).  The output is of the family, or bool for comparisons.
template <class Fam, bool BoolOut>
int promote(PyObject* ufunc, PyArray_DTypeMeta* const op_dtypes[], PyArray_DTypeMeta* const signature[],
            PyArray_DTypeMeta* new_op_dtypes[]) {
    auto* u = reinterpret_cast<PyUFuncObject*>(ufunc);
    PyArray_DTypeMeta* dual = family_input<Fam>(u, op_dtypes);
    if (dual == nullptr) return fail(PyExc_TypeError, "hessprobe: a promoter saw no operand of its dtypes");
    const bool reduction = op_dtypes[0] == nullptr;
    for (int i = 0; i < u->nargs; ++i) {
        PyArray_DTypeMeta* d;
        if (signature[i] != nullptr)
            d = signature[i];
        else if (i >= u->nin)
            d = BoolOut ? &PyArray_BoolDType : dual;
        else if (reduction || Fam::has_class(op_dtypes[i]))
            d = dual;
        else
            d = &PyArray_DoubleDType;
        Py_INCREF(d);
        new_op_dtypes[i] = d;
    }
    return 0;
}

// A promoter for the calls of `ufunc` (nargs operands) with the DType `cls` at position
// `dual_at` and anything elsewhere.
inline int add_promoter(PyObject* ufunc, int nargs, int dual_at, PyArray_DTypeMeta* cls,
                        PyArrayMethod_PromoterFunction* fn) {
    PyObject* dtypes = PyTuple_New(nargs);
    if (dtypes == nullptr) return -1;
    for (int i = 0; i < nargs; ++i) {
        PyObject* d = i == dual_at ? reinterpret_cast<PyObject*>(cls)
                                   : reinterpret_cast<PyObject*>(&PyArrayDescr_Type);
        Py_INCREF(d);
        PyTuple_SET_ITEM(dtypes, i, d);
    }
    PyObject* capsule = PyCapsule_New(reinterpret_cast<void*>(fn), "numpy._ufunc_promoter", nullptr);
    const int rc = capsule == nullptr ? -1 : PyUFunc_AddPromoter(ufunc, dtypes, capsule);
    Py_XDECREF(capsule);
    Py_DECREF(dtypes);
    return rc;
}

template <int N>
int add_promoters(PyObject* ufunc, int nin, PyArray_DTypeMeta* cls, PyArrayMethod_PromoterFunction* fn) {
    for (int i = 0; i < nin; ++i)
        if (add_promoter(ufunc, N, i, cls, fn) < 0) return -1;
    return 0;
}

// ---- registration ------------------------------------------------------------------
// One loop of `ufunc` for operand DTypes `dtypes` (nin inputs, then the output).
inline int add_loop(PyObject* ufunc, int nin, std::initializer_list<PyArray_DTypeMeta*> dtypes, void* loop,
                    void* initial = nullptr, bool reorderable = false) {
    PyArray_DTypeMeta* list[4];
    int n = 0;
    for (PyArray_DTypeMeta* d : dtypes) list[n++] = d;
    PyType_Slot slots[4] = {
        {NPY_METH_strided_loop, loop}, {NPY_METH_unaligned_strided_loop, loop}, {0, nullptr}, {0, nullptr}};
    if (initial != nullptr) slots[2] = {NPY_METH_get_reduction_initial, initial};
    const int flags = NPY_METH_SUPPORTS_UNALIGNED | (reorderable ? NPY_METH_IS_REORDERABLE : 0);
    PyArrayMethod_Spec spec{"hessprobe_dual", nin, n - nin, NPY_NO_CASTING, static_cast<NPY_ARRAYMETHOD_FLAGS>(flags),
                            list, slots};
    return PyUFunc_AddLoopFromSpec(ufunc, &spec);
}

inline PyArray_DTypeMeta* F() { return &PyArray_DoubleDType; }
inline PyArray_DTypeMeta* B() { return &PyArray_BoolDType; }

template <class Op>
struct UnaryLoops {
    template <class E>
    struct At {
        static int add(PyObject* u) {
            PyArray_DTypeMeta* D = dtype_class<E>();
            return add_loop(u, 1, {D, D}, (void*)strided_loop<Unary<Op, true>, E>);
        }
    };
};

template <class Op>
struct PredicateLoops {
    template <class E>
    struct At {
        static int add(PyObject* u) {
            return add_loop(u, 1, {dtype_class<E>(), B()}, (void*)strided_loop<Unary<Op, true>, E>);
        }
    };
};

// (E, E), (E, float64) and (float64, E), with the promoters for mixes.
// Identity >= 0: the reduction identity (sum, prod).
template <class Fam, class Op, bool BoolOut = false, int Identity = -1, bool Reorderable = false>
struct BinaryLoops {
    template <class E>
    struct At {
        static int add(PyObject* u) {
            PyArray_DTypeMeta* D = dtype_class<E>();
            PyArray_DTypeMeta* out = BoolOut ? B() : D;
            void* initial = Identity >= 0 ? (void*)reduction_initial<(Identity < 0 ? 0 : Identity), E> : nullptr;
            if (add_loop(u, 2, {D, D, out}, (void*)strided_loop<Binary<Op, true, true>, E>, initial, Reorderable) < 0 ||
                add_loop(u, 2, {D, F(), out}, (void*)strided_loop<Binary<Op, true, false>, E>) < 0 ||
                add_loop(u, 2, {F(), D, out}, (void*)strided_loop<Binary<Op, false, true>, E>) < 0)
                return -1;
            return add_promoters<3>(u, 2, D, &promote<Fam, BoolOut>);
        }
    };
};

// clip(E, lo, hi) for every mix of E and float64 bounds.
template <class Fam>
struct ClipLoops {
    template <class E>
    struct At {
        static int add(PyObject* u) {
            PyArray_DTypeMeta* D = dtype_class<E>();
            if (add_loop(u, 3, {D, D, D, D}, (void*)strided_loop<Ternary<ops::Clip, true, true, true>, E>) < 0 ||
                add_loop(u, 3, {D, D, F(), D}, (void*)strided_loop<Ternary<ops::Clip, true, true, false>, E>) < 0 ||
                add_loop(u, 3, {D, F(), D, D}, (void*)strided_loop<Ternary<ops::Clip, true, false, true>, E>) < 0 ||
                add_loop(u, 3, {D, F(), F(), D}, (void*)strided_loop<Ternary<ops::Clip, true, false, false>, E>) < 0)
                return -1;
            return add_promoters<4>(u, 1, D, &promote<Fam, false>);
        }
    };
};

// A family without values: calls of the ufunc with one of its DTypes raise the family's
// error (Fam::refuse(ufunc name)) from the promoter, before any loop runs.
template <class Fam>
int refuse(PyObject* ufunc, PyArray_DTypeMeta* const[], PyArray_DTypeMeta* const[], PyArray_DTypeMeta*[]) {
    return Fam::refuse(reinterpret_cast<PyUFuncObject*>(ufunc)->name);
}
template <class Fam, int Nin, int Nargs>
struct Refused {
    template <class E>
    struct At {
        static int add(PyObject* u) { return add_promoters<Nargs>(u, Nin, dtype_class<E>(), &refuse<Fam>); }
    };
};

struct UfuncEntry {
    const char* name;
    int (*install)(PyObject*);
};

template <class Op, class Fam>
constexpr auto unary = &Fam::template for_all<UnaryLoops<Op>::template At>;
template <class Op, class Fam>
constexpr auto binary = &Fam::template for_all<BinaryLoops<Fam, Op>::template At>;
template <class Op, class Fam, int Identity>
constexpr auto reduction = &Fam::template for_all<BinaryLoops<Fam, Op, false, Identity, true>::template At>;
template <class Op, class Fam>
constexpr auto reorderable = &Fam::template for_all<BinaryLoops<Fam, Op, false, -1, true>::template At>;
// Value-dependent results: loops for a family with values, a refusal for one without.
template <class Op, class Fam>
constexpr auto predicate =
    &Fam::template for_all<std::conditional_t<Fam::valued, PredicateLoops<Op>, Refused<Fam, 1, 2>>::template At>;
template <class Op, class Fam>
constexpr auto comparison = &Fam::template for_all<
    std::conditional_t<Fam::valued, BinaryLoops<Fam, Op, true>, Refused<Fam, 2, 3>>::template At>;

// NumPy's ufuncs with loops for the family.  Any other ufunc on such an array raises NumPy's
// TypeError ("did not contain a loop with signature matching types").
template <class Fam>
inline const UfuncEntry numpy_ufuncs[] = {
    {"negative", unary<ops::Negative, Fam>},
    {"positive", unary<ops::Positive, Fam>},
    {"absolute", unary<ops::Absolute, Fam>},
    {"fabs", unary<ops::Absolute, Fam>},
    {"square", unary<ops::Square, Fam>},
    {"reciprocal", unary<ops::Reciprocal, Fam>},
    {"sqrt", unary<ops::Sqrt, Fam>},
    {"cbrt", unary<ops::Cbrt, Fam>},
    {"exp", unary<ops::Exp, Fam>},
    {"exp2", unary<ops::Exp2, Fam>},
    {"expm1", unary<ops::Expm1, Fam>},
    {"log", unary<ops::Log, Fam>},
    {"log2", unary<ops::Log2, Fam>},
    {"log10", unary<ops::Log10, Fam>},
    {"log1p", unary<ops::Log1p, Fam>},
    {"sin", unary<ops::Sin, Fam>},
    {"cos", unary<ops::Cos, Fam>},
    {"tan", unary<ops::Tan, Fam>},
    {"arcsin", unary<ops::Arcsin, Fam>},
    {"arccos", unary<ops::Arccos, Fam>},
    {"arctan", unary<ops::Arctan, Fam>},
    {"sinh", unary<ops::Sinh, Fam>},
    {"cosh", unary<ops::Cosh, Fam>},
    {"tanh", unary<ops::Tanh, Fam>},
    {"arcsinh", unary<ops::Arcsinh, Fam>},
    {"arccosh", unary<ops::Arccosh, Fam>},
    {"arctanh", unary<ops::Arctanh, Fam>},
    {"conjugate", unary<ops::Positive, Fam>},
    {"floor", unary<ops::Floor, Fam>},
    {"ceil", unary<ops::Ceil, Fam>},
    {"rint", unary<ops::Rint, Fam>},
    {"trunc", unary<ops::Trunc, Fam>},
    {"sign", unary<ops::Sign, Fam>},
    {"isfinite", predicate<ops::IsFinite, Fam>},
    {"isinf", predicate<ops::IsInf, Fam>},
    {"isnan", predicate<ops::IsNan, Fam>},
    {"signbit", predicate<ops::SignBit, Fam>},
    {"add", reduction<ops::Add, Fam, 0>},
    {"subtract", binary<ops::Subtract, Fam>},
    {"multiply", reduction<ops::Multiply, Fam, 1>},
    {"divide", binary<ops::Divide, Fam>},
    {"power", binary<ops::Power, Fam>},
    {"arctan2", binary<ops::Arctan2, Fam>},
    {"hypot", binary<ops::Hypot, Fam>},
    {"logaddexp", binary<ops::LogAddExp, Fam>},
    {"maximum", reorderable<ops::Maximum, Fam>},
    {"minimum", reorderable<ops::Minimum, Fam>},
    {"fmax", reorderable<ops::FMax, Fam>},
    {"fmin", reorderable<ops::FMin, Fam>},
    {"equal", comparison<ops::Equal, Fam>},
    {"not_equal", comparison<ops::NotEqual, Fam>},
    {"less", comparison<ops::Less, Fam>},
    {"less_equal", comparison<ops::LessEqual, Fam>},
    {"greater", comparison<ops::Greater, Fam>},
    {"greater_equal", comparison<ops::GreaterEqual, Fam>},
    {"clip", &Fam::template for_all<ClipLoops<Fam>::template At>},
};

// scipy.special's ufuncs with loops for the family (registered when hessprobe first
// needs them, so that importing hessprobe does not import scipy.special).
template <class Fam>
inline const UfuncEntry special_ufuncs[] = {
    {"expit", unary<ops::Expit, Fam>},
    {"log_expit", unary<ops::LogExpit, Fam>},
    {"erf", unary<ops::Erf, Fam>},
};

template <std::size_t N>
int install(PyObject* module, const UfuncEntry (&table)[N]) {
    for (const UfuncEntry& e : table) {
        PyObject* u = PyObject_GetAttrString(module, e.name);
        if (u == nullptr) return -1;
        const int rc = e.install(u);
        Py_DECREF(u);
        if (rc < 0) return -1;
    }
    return 0;
}

}  // namespace hessprobe::dual_numpy
