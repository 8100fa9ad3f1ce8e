// The NumPy dtypes of special elements, generic over the element type E: Dual<K> (this
// directory's module.cpp) or the sparsity tracer's index sets (cpp/tracer_numpy).  A
// family is the list of element types one module registers; each element type gets one
// dtype.
//
// They are registered as NumPy "legacy" user dtypes (a type number each) rather than
// with the newer DType API, because NumPy's np.dot, np.inner, np.vdot and np.tensordot
// accept only built-in and legacy dtypes, and np.einsum crashes on new-style ones
// (NumPy 2.4); a legacy dtype gets np.dot through its dot function and a clean
// TypeError from np.einsum.
#pragma once

#include "numpy_api.hpp"

namespace hessprobe::dual_numpy {

// The type number NumPy gave the dtype of E (dtype.hpp registers it).
template <class E>
inline int type_number = -1;

// The dtype of E (a new reference).
template <class E>
PyArray_Descr* descr_of() {
    return PyArray_DescrFromType(type_number<E>);
}

// The DType class of E (borrowed: alive for the process).
template <class E>
PyArray_DTypeMeta* dtype_class() {
    PyArray_Descr* d = descr_of<E>();
    PyArray_DTypeMeta* cls = NPY_DTYPE(d);
    Py_DECREF(d);
    return cls;
}

// The element types of one module's dtypes.
template <class... Es>
struct Family {
    static bool has_type(int type_num) { return ((type_number<Es> == type_num) || ...); }
    static bool has_class(PyArray_DTypeMeta* cls) { return cls != nullptr && cls->type_num >= 0 && has_type(cls->type_num); }
    // Install<E>::add(ufunc) for every element type.
    template <template <class> class Install>
    static int for_all(PyObject* u) {
        return ((Install<Es>::add(u) < 0) || ...) ? -1 : 0;
    }
};

}  // namespace hessprobe::dual_numpy
