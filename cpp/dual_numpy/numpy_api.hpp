// The NumPy C API (NumPy >= 2: the public DType and ArrayMethod API) for the dual
// dtype module.  The module is one translation unit: module.cpp includes every header.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#define NPY_TARGET_VERSION NPY_2_0_API_VERSION
#include <numpy/arrayobject.h>
#include <numpy/dtype_api.h>
#include <numpy/ufuncobject.h>

#include <string>

namespace hessprobe::dual_numpy {

// Sets a Python exception and returns the failure value of the caller's convention.
inline int fail(PyObject* type, const std::string& message) {
    PyErr_SetString(type, message.c_str());
    return -1;
}

// What every refusal to drop the lanes says: where the lanes would go and what to do.
inline const char* keep_lanes_hint() {
    return " Dual numbers carry the tangent lanes that become the Hessian-vector products; keep "
           "the computation in NumPy operations on the array you were given (np.zeros_like(x), "
           "np.empty_like(x) or dtype=x.dtype for new arrays), or use a finite-difference scheme "
           "(hp.Gradient(fn, scheme='central' or 'complex')) for code that needs plain floats.";
}

}  // namespace hessprobe::dual_numpy
