// The dual dtypes: an element is a value and K tangent lanes, stored as K + 1 contiguous
// doubles (the layout of the core's Dual<K>), one dtype per lane count K in {1, 2, 4, 8}.
//
// They are registered as NumPy "legacy" user dtypes (a type number each) rather than
// with the newer DType API, because NumPy's np.dot, np.inner, np.vdot and np.tensordot
// accept only built-in and legacy dtypes, and np.einsum crashes on new-style ones
// (NumPy 2.4); a legacy dtype gets np.dot through its dot function and a clean
// TypeError from np.einsum.
#pragma once

#include "numpy_api.hpp"

namespace hessprobe::dual_numpy {

constexpr int max_lanes = 8;
constexpr int lane_counts[] = {1, 2, 4, 8};

inline bool supported_lanes(long k) { return k == 1 || k == 2 || k == 4 || k == 8; }
inline int lane_index(int k) { return k == 1 ? 0 : k == 2 ? 1 : k == 4 ? 2 : 3; }
inline npy_intp element_size(int lanes) { return static_cast<npy_intp>(sizeof(double)) * (lanes + 1); }

// The type numbers NumPy gave the dtypes (dtype.hpp registers them), by lane index.
inline int type_numbers[4] = {-1, -1, -1, -1};

inline int lanes_of_type(int type_num) {
    for (int k : lane_counts)
        if (type_numbers[lane_index(k)] == type_num) return k;
    return 0;
}
inline int lanes_of(const PyArray_Descr* d) { return lanes_of_type(d->type_num); }
inline bool is_dual(const PyArray_Descr* d) { return lanes_of(d) != 0; }

// The dtype of K lanes (a new reference), or NULL with ValueError.
inline PyArray_Descr* descr_for(int lanes) {
    if (!supported_lanes(lanes)) {
        PyErr_Format(PyExc_ValueError, "dual numbers have 1, 2, 4 or 8 tangent lanes, not %d", lanes);
        return nullptr;
    }
    return PyArray_DescrFromType(type_numbers[lane_index(lanes)]);
}

// The DType class of K lanes (borrowed: alive for the process).
inline PyArray_DTypeMeta* dtype_class(int lanes) {
    PyArray_Descr* d = PyArray_DescrFromType(type_numbers[lane_index(lanes)]);
    PyArray_DTypeMeta* cls = NPY_DTYPE(d);
    Py_DECREF(d);
    return cls;
}

inline bool is_dual_class(PyArray_DTypeMeta* cls) {
    return cls != nullptr && cls->type_num >= 0 && lanes_of_type(cls->type_num) != 0;
}

}  // namespace hessprobe::dual_numpy
