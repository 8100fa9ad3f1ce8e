// hessprobe._dual: the NumPy dtype of dual numbers, so that a user's unmodified NumPy
// gradient, called on a dual array, returns Hessian-vector products in its lanes.
//
// Why a dtype and not an ndarray wrapper: gradient code starts with x = np.asarray(x),
// allocates with np.zeros_like(x) and assigns into slices.  A wrapper class does not
// survive np.asarray (it would be stripped to its values, and H v would silently be 0);
// an ndarray whose dtype is dual does: np.asarray, zeros_like, empty_like, indexing,
// slicing, assignment, reshape, concatenate and the rest keep the dtype, and every
// conversion that would drop the lanes raises (dtype.hpp, scalar.hpp).  Why legacy
// user dtypes: descriptor.hpp.
#include "dual_family.hpp"
#include "matmul.hpp"
#include "memory.hpp"
#include "scalar.hpp"
#include "ufuncs.hpp"

#include <algorithm>

namespace hessprobe::dual_numpy {
namespace {

// Work below this many doubles keeps the GIL (releasing it costs more than it saves).
constexpr npy_intp release_gil_above = 1 << 14;

PyArrayObject* as_float_array(PyObject* obj, int ndim, const char* name) {
    auto* a = reinterpret_cast<PyArrayObject*>(PyArray_FROMANY(obj, NPY_DOUBLE, ndim, ndim, NPY_ARRAY_CARRAY_RO));
    if (a == nullptr && PyErr_ExceptionMatches(PyExc_ValueError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be a %d-D float64 array", name, ndim);
    }
    return a;
}

// seed(x, V, lanes): the dual array of shape (ceil(k / lanes), n) whose row r has the
// value x and in lane j the direction V[r * lanes + j] (zero past k).
PyObject* seed(PyObject*, PyObject* args) {
    PyObject *xo, *vo;
    int lanes;
    if (!PyArg_ParseTuple(args, "OOi:seed", &xo, &vo, &lanes)) return nullptr;
    if (!supported_lanes(lanes)) {
        PyErr_Format(PyExc_ValueError, "lanes must be 1, 2, 4 or 8, got %d", lanes);
        return nullptr;
    }
    PyArrayObject* x = as_float_array(xo, 1, "x");
    if (x == nullptr) return nullptr;
    PyArrayObject* V = as_float_array(vo, 2, "V");
    if (V == nullptr) {
        Py_DECREF(x);
        return nullptr;
    }
    const npy_intp n = PyArray_DIM(x, 0), k = PyArray_DIM(V, 0);
    if (PyArray_DIM(V, 1) != n || k < 1) {
        PyErr_Format(PyExc_ValueError, "V must have shape (k >= 1, %zd), got (%zd, %zd)", static_cast<Py_ssize_t>(n),
                     static_cast<Py_ssize_t>(k), static_cast<Py_ssize_t>(PyArray_DIM(V, 1)));
        Py_DECREF(x);
        Py_DECREF(V);
        return nullptr;
    }
    const npy_intp rows = (k + lanes - 1) / lanes;
    npy_intp shape[2] = {rows, n};
    PyObject* out = PyArray_NewFromDescr(&PyArray_Type, descr_for(lanes), 2, shape, nullptr, nullptr, 0, nullptr);
    if (out != nullptr) {
        const double* xs = static_cast<const double*>(PyArray_DATA(x));
        const double* vs = static_cast<const double*>(PyArray_DATA(V));
        double* o = static_cast<double*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(out)));
        const npy_intp w = lanes + 1;
        Py_BEGIN_ALLOW_THREADS
        // One pass over the output, element by element (its lanes side by side).
        for (npy_intp r = 0; r < rows; ++r) {
            double* row = o + r * n * w;
            const npy_intp first = r * lanes, used = std::min<npy_intp>(lanes, k - first);
            for (npy_intp i = 0; i < n; ++i) {
                double* e = row + i * w;
                e[0] = xs[i];
                for (npy_intp j = 0; j < used; ++j) e[1 + j] = vs[(first + j) * n + i];
                for (npy_intp j = used; j < lanes; ++j) e[1 + j] = 0.0;
            }
        }
        Py_END_ALLOW_THREADS
    }
    Py_DECREF(x);
    Py_DECREF(V);
    return out;
}

// extract(G, out) -> bool: the lanes of the dual array G (shape (n,) or (rows, n), K
// lanes) into the rows of the float64 array out (k, n), row r * K + j from lane j of row
// r of G (k <= rows * K); True if G's values and the lanes taken are all finite.
PyObject* extract(PyObject*, PyObject* args) {
    PyObject *go, *oo;
    if (!PyArg_ParseTuple(args, "OO:extract", &go, &oo)) return nullptr;
    if (!PyArray_Check(go) || !is_dual(PyArray_DESCR(reinterpret_cast<PyArrayObject*>(go))) || !PyArray_Check(oo)) {
        PyErr_SetString(PyExc_TypeError, "extract needs a dual array and a float64 array");
        return nullptr;
    }
    auto* out = reinterpret_cast<PyArrayObject*>(oo);
    if (PyArray_TYPE(out) != NPY_DOUBLE || PyArray_NDIM(out) != 2 || !PyArray_IS_C_CONTIGUOUS(out) ||
        !PyArray_ISWRITEABLE(out)) {
        PyErr_SetString(PyExc_ValueError, "out must be a writeable C-contiguous float64 array of shape (k, n)");
        return nullptr;
    }
    PyArray_Descr* d = PyArray_DESCR(reinterpret_cast<PyArrayObject*>(go));
    Py_INCREF(d);
    auto* G = reinterpret_cast<PyArrayObject*>(PyArray_FromAny(go, d, 1, 2, NPY_ARRAY_CARRAY_RO, nullptr));
    if (G == nullptr) return nullptr;
    const int lanes = lanes_of(PyArray_DESCR(G));
    const npy_intp n = PyArray_DIM(G, PyArray_NDIM(G) - 1), rows = PyArray_NDIM(G) == 2 ? PyArray_DIM(G, 0) : 1;
    const npy_intp k = PyArray_DIM(out, 0);
    if (PyArray_DIM(out, 1) != n || k > rows * lanes) {
        Py_DECREF(G);
        PyErr_SetString(PyExc_ValueError, "out has more rows than G has lanes, or another length");
        return nullptr;
    }
    const double* g = static_cast<const double*>(PyArray_DATA(G));
    double* o = static_cast<double*>(PyArray_DATA(out));
    const npy_intp w = lanes + 1;
    bool finite = true;
    PyThreadState* state = rows * n * w > release_gil_above ? PyEval_SaveThread() : nullptr;
    for (npy_intp r = 0; r < rows; ++r) {
        const double* row = g + r * n * w;
        const npy_intp first = r * lanes, used = std::min<npy_intp>(lanes, k - first);
        double* dst = o + first * n;
        double sum = 0.0;  // finite iff every term is: one check per row, not per element
        for (npy_intp i = 0; i < n; ++i) {
            const double* e = row + i * w;
            sum += e[0] * 0.0;
            for (npy_intp j = 0; j < used; ++j) {
                dst[j * n + i] = e[1 + j];
                sum += e[1 + j] * 0.0;
            }
        }
        finite = finite && sum == 0.0;
    }
    if (state) PyEval_RestoreThread(state);
    Py_DECREF(G);
    return PyBool_FromLong(finite);
}

PyObject* dtype(PyObject*, PyObject* arg) {
    const long lanes = PyLong_AsLong(arg);
    if (lanes == -1 && PyErr_Occurred()) return nullptr;
    return reinterpret_cast<PyObject*>(descr_for(static_cast<int>(lanes)));
}

PyObject* register_special(PyObject*, PyObject* module) {
    if (install(module, special_ufuncs<DualFamily>) < 0) return nullptr;
    Py_RETURN_NONE;
}

PyMethodDef methods[] = {
    {"seed", seed, METH_VARARGS,
     "seed(x, V, lanes): the dual array (ceil(k / lanes), n) of value x with the rows of V in its lanes."},
    {"extract", extract, METH_VARARGS, "extract(G, out): the lanes of G into the rows of out; True if finite."},
    HESSPROBE_MEMORY_METHODS
    {"dtype", dtype, METH_O, "dtype(lanes): the dual dtype of 1, 2, 4 or 8 lanes."},
    {"register_special", register_special, METH_O,
     "register_special(scipy.special): add the dual loops of expit, log_expit and erf."},
    {nullptr, nullptr, 0, nullptr}};

int register_dtypes() {
    return register_dtype<Dual<1>>(dot<Dual<1>>) < 0 || register_dtype<Dual<2>>(dot<Dual<2>>) < 0 ||
                   register_dtype<Dual<4>>(dot<Dual<4>>) < 0 || register_dtype<Dual<8>>(dot<Dual<8>>) < 0
               ? -1
               : 0;
}

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_dual", "The NumPy dtype of hessprobe dual numbers.", -1, methods, nullptr, nullptr, nullptr, nullptr};

}  // namespace
}  // namespace hessprobe::dual_numpy

PyMODINIT_FUNC PyInit__dual() {
    using namespace hessprobe::dual_numpy;
    import_array();
    import_umath();
    if (init_scalars() < 0 || register_dtypes() < 0) return nullptr;
    // numpy._core.umath holds every ufunc (np.clip is a function calling umath.clip).
    PyObject* umath = PyImport_ImportModule("numpy._core.umath");
    if (umath == nullptr) return nullptr;
    PyObject* matmul = PyObject_GetAttrString(umath, "matmul");
    const int rc = matmul == nullptr || install(umath, numpy_ufuncs<DualFamily>) < 0 || MatMulLoops<DualFamily>::add(matmul) < 0 ? -1 : 0;
    Py_XDECREF(matmul);
    Py_DECREF(umath);
    if (rc < 0) return nullptr;
    PyObject* m = PyModule_Create(&module_def);
    if (m == nullptr) return nullptr;
    if (PyModule_AddObjectRef(m, "dual", reinterpret_cast<PyObject*>(&DualScalarBase)) < 0) {
        Py_DECREF(m);
        return nullptr;
    }
    return m;
}
