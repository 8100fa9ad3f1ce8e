// Registering a dtype of special elements (Dual<K>, a tracer's index set) with NumPy:
// the element functions NumPy calls (scalars in and out, copies, truth, order, dot) and
// the casts.  Every real type (bool, integers, float32, float64) casts safely into the
// dtype, as a constant E(value), so NumPy promotes float + E to E; nothing casts out of
// one (that would drop the lanes or the index set), so astype(float) or a float array
// assigned from one is NumPy's TypeError.
//
// What differs between element types is in ElementTraits<E> (defined with each element
// type's scalar):
//   PyTypeObject* scalar_type();                 the scalar type of the dtype
//   PyObject* new_scalar(const void* element);   what indexing gives (getitem)
//   int from_scalar(PyObject*, void* element);   1 stored, 0 not one of its scalars, -1 error
//   bool truth(const E&);                        bool(); may set an error (then false)
//   int need_values(const char* what);           0, or -1 with an error: the values may not be used
//   void swap_bytes(char* element);
//   constexpr char type_char; constexpr char flags;
// Every element type starts with its value, a double.
#pragma once

#include "descriptor.hpp"

#include <cmath>
#include <cstring>

namespace hessprobe::dual_numpy {

template <class E>
struct ElementTraits;

template <class E>
struct Element {
    using Traits = ElementTraits<E>;
    static constexpr std::size_t size = sizeof(E);

    static double value(const char* p) {
        double v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }

    static PyObject* getitem(void* data, void*) { return Traits::new_scalar(data); }

    static int setitem(PyObject* obj, void* data, void*) {
        const int stored = Traits::from_scalar(obj, data);
        if (stored != 0) return stored < 0 ? -1 : 0;
        if (PyComplex_Check(obj) || PyArray_IsScalar(obj, ComplexFloating))
            return fail(PyExc_TypeError, "this array holds real numbers, not complex ones");
        const double v = PyFloat_AsDouble(obj);
        if (v == -1.0 && PyErr_Occurred()) return -1;
        const E element(v);
        std::memcpy(data, &element, size);
        return 0;
    }

    static void copyswapn(void* dst, npy_intp dstride, void* src, npy_intp sstride, npy_intp n, int swap, void*) {
        char* d = static_cast<char*>(dst);
        const char* s = static_cast<const char*>(src);
        for (npy_intp i = 0; i < n; ++i, d += dstride) {
            if (s != nullptr) {
                std::memmove(d, s, size);
                s += sstride;
            }
            if (swap) Traits::swap_bytes(d);
        }
    }

    static void copyswap(void* dst, void* src, int swap, void* arr) { copyswapn(dst, 0, src, 0, 1, swap, arr); }

    static npy_bool nonzero(void* data, void*) {
        E e;
        std::memcpy(&e, data, size);
        return Traits::truth(e);
    }

    // Sorting and argmax order by value.
    static int compare(const void* a, const void* b, void*) {
        if (Traits::need_values("sorting") < 0) return 0;
        const double x = value(static_cast<const char*>(a)), y = value(static_cast<const char*>(b));
        return x < y ? -1 : x > y ? 1 : 0;
    }

    // argmax / argmin by value; the first NaN wins, as for floats.
    template <bool Max>
    static int arg_extreme(void* data, npy_intp n, npy_intp* index, void*) {
        if (Traits::need_values(Max ? "argmax" : "argmin") < 0) return -1;
        const char* p = static_cast<const char*>(data);
        double best = value(p);
        *index = 0;
        for (npy_intp i = 1; i < n && !std::isnan(best); ++i) {
            const double v = value(p + i * size);
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
            const E element(static_cast<double>(f[i]));
            std::memcpy(t, &element, size);
        }
    }
};

template <class E, class T>
int add_cast_from(int from_type, int to_type) {
    PyArray_Descr* from = PyArray_DescrFromType(from_type);
    if (from == nullptr) return -1;
    int rc = PyArray_RegisterCastFunc(from, to_type, &Element<E>::template cast_from<T>);
    if (rc == 0) rc = PyArray_RegisterCanCast(from, to_type, NPY_NOSCALAR);
    Py_DECREF(from);
    return rc;
}

// Registers the dtype of E; `dot` is its dot function (matmul.hpp).
template <class E>
int register_dtype(PyArray_DotFunc* dot) {
    using El = Element<E>;
    using Traits = ElementTraits<E>;
    static PyArray_ArrFuncs funcs;
    PyArray_InitArrFuncs(&funcs);
    funcs.getitem = El::getitem;
    funcs.setitem = El::setitem;
    funcs.copyswapn = El::copyswapn;
    funcs.copyswap = El::copyswap;
    funcs.nonzero = El::nonzero;
    funcs.compare = El::compare;
    funcs.argmax = El::template arg_extreme<true>;
    funcs.argmin = El::template arg_extreme<false>;
    funcs.dotfunc = dot;
    static PyArray_DescrProto proto{};
    Py_SET_TYPE(reinterpret_cast<PyObject*>(&proto), &PyArrayDescr_Type);
    Py_SET_REFCNT(reinterpret_cast<PyObject*>(&proto), 1);
    proto.typeobj = Traits::scalar_type();
    proto.kind = 'V';
    proto.type = Traits::type_char;
    proto.byteorder = '=';
    proto.flags = static_cast<char>(NPY_USE_GETITEM | NPY_USE_SETITEM | Traits::flags);
    proto.elsize = static_cast<int>(El::size);
    proto.alignment = alignof(E);
    proto.f = &funcs;
    const int t = PyArray_RegisterDataType(&proto);
    if (t < 0) return -1;
    type_number<E> = t;
    if (add_cast_from<E, npy_bool>(NPY_BOOL, t) < 0 || add_cast_from<E, npy_byte>(NPY_BYTE, t) < 0 ||
        add_cast_from<E, npy_ubyte>(NPY_UBYTE, t) < 0 || add_cast_from<E, npy_short>(NPY_SHORT, t) < 0 ||
        add_cast_from<E, npy_ushort>(NPY_USHORT, t) < 0 || add_cast_from<E, npy_int>(NPY_INT, t) < 0 ||
        add_cast_from<E, npy_uint>(NPY_UINT, t) < 0 || add_cast_from<E, npy_long>(NPY_LONG, t) < 0 ||
        add_cast_from<E, npy_ulong>(NPY_ULONG, t) < 0 || add_cast_from<E, npy_longlong>(NPY_LONGLONG, t) < 0 ||
        add_cast_from<E, npy_ulonglong>(NPY_ULONGLONG, t) < 0 || add_cast_from<E, float>(NPY_FLOAT, t) < 0 ||
        add_cast_from<E, double>(NPY_DOUBLE, t) < 0)
        return -1;
    return 0;
}

}  // namespace hessprobe::dual_numpy
