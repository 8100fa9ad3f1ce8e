// Registering the dual loops with NumPy's ufuncs: for each lane count, the loops of each
// operation for (dual, dual), (dual, float64) and (float64, dual), and the promoters that
// send a call with Python numbers, ints or float32 to a mixed loop (the real operand
// becomes float64; a constant is never widened to a dual array).
#pragma once

#include "loops.hpp"

#include <initializer_list>

namespace hessprobe::dual_numpy {

// The identity of a reduction, for sum and prod (the value; lanes 0).
template <int Value, int K>
int reduction_initial(PyArrayMethod_Context*, npy_bool, void* initial) {
    double element[K + 1] = {static_cast<double>(Value)};
    std::memcpy(initial, element, sizeof element);
    return 1;
}

// ---- promoters ---------------------------------------------------------------------
// The dual DType among the inputs (a reduction's first operand is NULL: its input's).
inline PyArray_DTypeMeta* dual_input(PyUFuncObject* u, PyArray_DTypeMeta* const op_dtypes[]) {
    for (int i = 0; i < u->nin; ++i)
        if (is_dual_class(op_dtypes[i])) return op_dtypes[i];
    return nullptr;
}

// Dual inputs keep their DType, each real one becomes float64 (a reduction is all
// dual).  The output is dual, or bool for comparisons.
template <bool BoolOut>
int promote(PyObject* ufunc, PyArray_DTypeMeta* const op_dtypes[], PyArray_DTypeMeta* const signature[],
            PyArray_DTypeMeta* new_op_dtypes[]) {
    auto* u = reinterpret_cast<PyUFuncObject*>(ufunc);
    PyArray_DTypeMeta* dual = dual_input(u, op_dtypes);
    if (dual == nullptr) return fail(PyExc_TypeError, "hessprobe: a dual promoter saw no dual operand");
    const bool reduction = op_dtypes[0] == nullptr;
    for (int i = 0; i < u->nargs; ++i) {
        PyArray_DTypeMeta* d;
        if (signature[i] != nullptr)
            d = signature[i];
        else if (i >= u->nin)
            d = BoolOut ? &PyArray_BoolDType : dual;
        else if (reduction || is_dual_class(op_dtypes[i]))
            d = dual;
        else
            d = &PyArray_DoubleDType;
        Py_INCREF(d);
        new_op_dtypes[i] = d;
    }
    return 0;
}

// A promoter for the calls of `ufunc` (nargs operands) with a dual of K lanes at
// position `dual_at` and anything elsewhere.
inline int add_promoter(PyObject* ufunc, int nargs, int dual_at, int lanes, PyArrayMethod_PromoterFunction* fn) {
    PyObject* dtypes = PyTuple_New(nargs);
    if (dtypes == nullptr) return -1;
    for (int i = 0; i < nargs; ++i) {
        PyObject* d = i == dual_at ? reinterpret_cast<PyObject*>(dtype_class(lanes))
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
int add_promoters(PyObject* ufunc, int nin, int lanes, PyArrayMethod_PromoterFunction* fn) {
    for (int i = 0; i < nin; ++i)
        if (add_promoter(ufunc, N, i, lanes, fn) < 0) return -1;
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

// Registers Install<K> for every lane count.
template <template <int> class Install>
int for_all_lanes(PyObject* u) {
    return Install<1>::add(u) < 0 || Install<2>::add(u) < 0 || Install<4>::add(u) < 0 || Install<8>::add(u) < 0 ? -1
                                                                                                               : 0;
}

template <class Op>
struct UnaryLoops {
    template <int K>
    struct At {
        static int add(PyObject* u) {
            PyArray_DTypeMeta* D = dtype_class(K);
            return add_loop(u, 1, {D, D}, (void*)strided_loop<Unary<Op, true>, K>);
        }
    };
    static int add(PyObject* u) { return for_all_lanes<At>(u); }
};

template <class Op>
struct PredicateLoops {
    template <int K>
    struct At {
        static int add(PyObject* u) {
            return add_loop(u, 1, {dtype_class(K), B()}, (void*)strided_loop<Unary<Op, true>, K>);
        }
    };
    static int add(PyObject* u) { return for_all_lanes<At>(u); }
};

// (dual, dual), (dual, float64) and (float64, dual), with the promoters for mixes.
// Identity >= 0: the reduction identity (sum, prod).
template <class Op, bool BoolOut = false, int Identity = -1, bool Reorderable = false>
struct BinaryLoops {
    template <int K>
    struct At {
        static int add(PyObject* u) {
            PyArray_DTypeMeta* D = dtype_class(K);
            PyArray_DTypeMeta* out = BoolOut ? B() : D;
            void* initial = Identity >= 0 ? (void*)reduction_initial<(Identity < 0 ? 0 : Identity), K> : nullptr;
            if (add_loop(u, 2, {D, D, out}, (void*)strided_loop<Binary<Op, true, true>, K>, initial, Reorderable) < 0 ||
                add_loop(u, 2, {D, F(), out}, (void*)strided_loop<Binary<Op, true, false>, K>) < 0 ||
                add_loop(u, 2, {F(), D, out}, (void*)strided_loop<Binary<Op, false, true>, K>) < 0)
                return -1;
            return add_promoters<3>(u, 2, K, &promote<BoolOut>);
        }
    };
    static int add(PyObject* u) { return for_all_lanes<At>(u); }
};

// clip(dual, lo, hi) for every mix of dual and float64 bounds.
struct ClipLoops {
    template <int K>
    struct At {
        static int add(PyObject* u) {
            PyArray_DTypeMeta* D = dtype_class(K);
            if (add_loop(u, 3, {D, D, D, D}, (void*)strided_loop<Ternary<ops::Clip, true, true, true>, K>) < 0 ||
                add_loop(u, 3, {D, D, F(), D}, (void*)strided_loop<Ternary<ops::Clip, true, true, false>, K>) < 0 ||
                add_loop(u, 3, {D, F(), D, D}, (void*)strided_loop<Ternary<ops::Clip, true, false, true>, K>) < 0 ||
                add_loop(u, 3, {D, F(), F(), D}, (void*)strided_loop<Ternary<ops::Clip, true, false, false>, K>) < 0)
                return -1;
            return add_promoters<4>(u, 1, K, &promote<false>);
        }
    };
    static int add(PyObject* u) { return for_all_lanes<At>(u); }
};

struct UfuncEntry {
    const char* name;
    int (*install)(PyObject*);
};

template <class Op>
constexpr auto unary = &UnaryLoops<Op>::add;
template <class Op>
constexpr auto predicate = &PredicateLoops<Op>::add;
template <class Op, int Identity = -1, bool Reorderable = false>
constexpr auto binary = &BinaryLoops<Op, false, Identity, Reorderable>::add;
template <class Op>
constexpr auto comparison = &BinaryLoops<Op, true>::add;

// NumPy's ufuncs with dual loops.  Any other ufunc on a dual array raises NumPy's
// TypeError ("did not contain a loop with signature matching types").
inline const UfuncEntry numpy_ufuncs[] = {
    {"negative", unary<ops::Negative>},
    {"positive", unary<ops::Positive>},
    {"absolute", unary<ops::Absolute>},
    {"fabs", unary<ops::Absolute>},
    {"square", unary<ops::Square>},
    {"reciprocal", unary<ops::Reciprocal>},
    {"sqrt", unary<ops::Sqrt>},
    {"cbrt", unary<ops::Cbrt>},
    {"exp", unary<ops::Exp>},
    {"exp2", unary<ops::Exp2>},
    {"expm1", unary<ops::Expm1>},
    {"log", unary<ops::Log>},
    {"log2", unary<ops::Log2>},
    {"log10", unary<ops::Log10>},
    {"log1p", unary<ops::Log1p>},
    {"sin", unary<ops::Sin>},
    {"cos", unary<ops::Cos>},
    {"tan", unary<ops::Tan>},
    {"arcsin", unary<ops::Arcsin>},
    {"arccos", unary<ops::Arccos>},
    {"arctan", unary<ops::Arctan>},
    {"sinh", unary<ops::Sinh>},
    {"cosh", unary<ops::Cosh>},
    {"tanh", unary<ops::Tanh>},
    {"arcsinh", unary<ops::Arcsinh>},
    {"arccosh", unary<ops::Arccosh>},
    {"arctanh", unary<ops::Arctanh>},
    {"conjugate", unary<ops::Positive>},
    {"floor", unary<ops::Floor>},
    {"ceil", unary<ops::Ceil>},
    {"rint", unary<ops::Rint>},
    {"trunc", unary<ops::Trunc>},
    {"sign", unary<ops::Sign>},
    {"isfinite", predicate<ops::IsFinite>},
    {"isinf", predicate<ops::IsInf>},
    {"isnan", predicate<ops::IsNan>},
    {"signbit", predicate<ops::SignBit>},
    {"add", binary<ops::Add, 0, true>},
    {"subtract", binary<ops::Subtract>},
    {"multiply", binary<ops::Multiply, 1, true>},
    {"divide", binary<ops::Divide>},
    {"power", binary<ops::Power>},
    {"arctan2", binary<ops::Arctan2>},
    {"hypot", binary<ops::Hypot>},
    {"logaddexp", binary<ops::LogAddExp>},
    {"maximum", binary<ops::Maximum, -1, true>},
    {"minimum", binary<ops::Minimum, -1, true>},
    {"fmax", binary<ops::FMax, -1, true>},
    {"fmin", binary<ops::FMin, -1, true>},
    {"equal", comparison<ops::Equal>},
    {"not_equal", comparison<ops::NotEqual>},
    {"less", comparison<ops::Less>},
    {"less_equal", comparison<ops::LessEqual>},
    {"greater", comparison<ops::Greater>},
    {"greater_equal", comparison<ops::GreaterEqual>},
    {"clip", &ClipLoops::add},
};

// scipy.special's ufuncs with dual loops (registered when hessprobe first makes a dual
// source, so that importing hessprobe does not import scipy.special).
inline const UfuncEntry special_ufuncs[] = {
    {"expit", unary<ops::Expit>},
    {"log_expit", unary<ops::LogExpit>},
    {"erf", unary<ops::Erf>},
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
