// Registering the dual dtypes with NumPy: the element functions NumPy calls (scalars in
// and out, copies, truth, dot) and the casts.  Every real type (bool, integers, float32,
// float64) casts safely into a dual dtype, as value + zero lanes, so NumPy promotes
// float + dual to dual; nothing casts out of one (that would drop the lanes), so
// astype(float) or a float array assigned from a dual one is NumPy's TypeError.
#pragma once

#include "descriptor.hpp"
#include "scalar.hpp"

#include <cmath>
#include <cstring>

namespace hessprobe::dual_numpy {

template <int K>
struct Element {
    static constexpr std::size_t size = sizeof(double) * (K + 1);

    static PyObject* getitem(void* data, void*) { return new_scalar(K, data); }

    static int setitem(PyObject* obj, void* data, void*) {
        if (is_dual_scalar(obj)) {
            auto* s = reinterpret_cast<DualScalar*>(obj);
            if (s->lanes != K)
                return fail(PyExc_TypeError, "cannot store a dual number of " + std::to_string(s->lanes) +
                                                 " lanes into a dual array of " + std::to_string(K) + " lanes");
            std::memcpy(data, s->data, size);
            return 0;
        }
        if (PyComplex_Check(obj) || PyArray_IsScalar(obj, ComplexFloating))
            return fail(PyExc_TypeError, "a dual array holds real numbers, not complex ones");
        const double v = PyFloat_AsDouble(obj);
        if (v == -1.0 && PyErr_Occurred()) return -1;
        double element[K + 1] = {v};
        std::memcpy(data, element, size);
        return 0;
    }

    static void swap_bytes(char* p) {
        for (int w = 0; w <= K; ++w)
            for (int b = 0; b < 4; ++b) std::swap(p[8 * w + b], p[8 * w + 7 - b]);
    }

    static void copyswapn(void* dst, npy_intp dstride, void* src, npy_intp sstride, npy_intp n, int swap, void*) {
        char* d = static_cast<char*>(dst);
        const char* s = static_cast<const char*>(src);
        for (npy_intp i = 0; i < n; ++i, d += dstride) {
            if (s != nullptr) {
                std::memmove(d, s, size);
                s += sstride;
            }
            if (swap) swap_bytes(d);
        }
    }

    static void copyswap(void* dst, void* src, int swap, void* arr) { copyswapn(dst, 0, src, 0, 1, swap, arr); }

    static npy_bool nonzero(void* data, void*) {
        double v;
        std::memcpy(&v, data, sizeof v);
        return v != 0.0;
    }

    // Sorting and argmax order by value.
    static int compare(const void* a, const void* b, void*) {
        double x, y;
        std::memcpy(&x, a, sizeof x);
        std::memcpy(&y, b, sizeof y);
        return x < y ? -1 : x > y ? 1 : 0;
    }

    // argmax / argmin by value; the first NaN wins, as for floats.
    template <bool Max>
    static int arg_extreme(void* data, npy_intp n, npy_intp* index, void*) {
        const char* p = static_cast<const char*>(data);
        double best;
        std::memcpy(&best, p, sizeof best);
        *index = 0;
        for (npy_intp i = 1; i < n && !std::isnan(best); ++i) {
            double v;
            std::memcpy(&v, p + i * size, sizeof v);
            if ((Max ? v > best : v < best) || std::isnan(v)) {
                best = v;
                *index = i;
            }
        }
        return 0;
    }

    template <class T>
    static void cast_from(void* from, void* to, npy_intp n, void*, void*) {
        const T* f = static_cast<const T*>(from);
        char* t = static_cast<char*>(to);
        for (npy_intp i = 0; i < n; ++i, t += size) {
            double element[K + 1] = {static_cast<double>(f[i])};
            std::memcpy(t, element, size);
        }
    }
};

template <int K, class T>
int add_cast_from(int from_type, int to_type) {
    PyArray_Descr* from = PyArray_DescrFromType(from_type);
    if (from == nullptr) return -1;
    int rc = PyArray_RegisterCastFunc(from, to_type, &Element<K>::template cast_from<T>);
    if (rc == 0) rc = PyArray_RegisterCanCast(from, to_type, NPY_NOSCALAR);
    Py_DECREF(from);
    return rc;
}

// Registers the dtype of K lanes; `dot` is its dot function (matmul.hpp).
template <int K>
int register_dtype(PyArray_DotFunc* dot) {
    using E = Element<K>;
    static PyArray_ArrFuncs funcs;
    PyArray_InitArrFuncs(&funcs);
    funcs.getitem = E::getitem;
    funcs.setitem = E::setitem;
    funcs.copyswapn = E::copyswapn;
    funcs.copyswap = E::copyswap;
    funcs.nonzero = E::nonzero;
    funcs.compare = E::compare;
    funcs.argmax = E::template arg_extreme<true>;
    funcs.argmin = E::template arg_extreme<false>;
    funcs.dotfunc = dot;
    static PyArray_DescrProto proto{};
    Py_SET_TYPE(reinterpret_cast<PyObject*>(&proto), &PyArrayDescr_Type);
    Py_SET_REFCNT(reinterpret_cast<PyObject*>(&proto), 1);
    proto.typeobj = &DualScalarTypes[lane_index(K)];
    proto.kind = 'V';
    proto.type = 'j';
    proto.byteorder = '=';
    proto.flags = NPY_USE_GETITEM | NPY_USE_SETITEM;
    proto.elsize = static_cast<int>(E::size);
    proto.alignment = alignof(double);
    proto.f = &funcs;
    const int t = PyArray_RegisterDataType(&proto);
    if (t < 0) return -1;
    type_numbers[lane_index(K)] = t;
    if (add_cast_from<K, npy_bool>(NPY_BOOL, t) < 0 || add_cast_from<K, npy_byte>(NPY_BYTE, t) < 0 ||
        add_cast_from<K, npy_ubyte>(NPY_UBYTE, t) < 0 || add_cast_from<K, npy_short>(NPY_SHORT, t) < 0 ||
        add_cast_from<K, npy_ushort>(NPY_USHORT, t) < 0 || add_cast_from<K, npy_int>(NPY_INT, t) < 0 ||
        add_cast_from<K, npy_uint>(NPY_UINT, t) < 0 || add_cast_from<K, npy_long>(NPY_LONG, t) < 0 ||
        add_cast_from<K, npy_ulong>(NPY_ULONG, t) < 0 || add_cast_from<K, npy_longlong>(NPY_LONGLONG, t) < 0 ||
        add_cast_from<K, npy_ulonglong>(NPY_ULONGLONG, t) < 0 || add_cast_from<K, float>(NPY_FLOAT, t) < 0 ||
        add_cast_from<K, double>(NPY_DOUBLE, t) < 0)
        return -1;
    return 0;
}

}  // namespace hessprobe::dual_numpy
