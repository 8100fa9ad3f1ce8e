// hessprobe._tracer: the NumPy dtypes of the sparsity tracer, so that a user's
// unmodified NumPy gradient, called once on a tracer array, gives the Jacobian pattern
// of the gradient: the Hessian's sparsity pattern (src/hessprobe/tracing.py).
//
// The dtype machinery is the dual numbers' (cpp/dual_numpy: generic over the element
// type); only the element (tracer.hpp), its scalars and this module are the tracer's.  A
// module of its own rather than more dtypes in hessprobe._dual: its 8 dtypes' loops
// are registered with NumPy only when a pattern is first traced, and the two compile in
// parallel.
#include "family.hpp"
#include "matmul.hpp"
#include "scalar.hpp"
#include "ufuncs.hpp"

#include <vector>

namespace hessprobe::tracer_numpy {
namespace {

using dual_numpy::descr_of;

int parse_index(int capacity, int local) {
    const int i = tracer_index(capacity, local != 0);
    if (i < 0) PyErr_Format(PyExc_ValueError, "a tracer holds 8, 32, 128 or 512 indices, not %d", capacity);
    return i;
}

// seed(x, capacity, local): the tracer array of x's shape (n,) whose element i has the
// value x[i] and the set {i}.
PyObject* seed(PyObject*, PyObject* args) {
    PyObject* xo;
    int capacity, local;
    if (!PyArg_ParseTuple(args, "Oip:seed", &xo, &capacity, &local)) return nullptr;
    const int index = parse_index(capacity, local);
    if (index < 0) return nullptr;
    auto* x = reinterpret_cast<PyArrayObject*>(PyArray_FROMANY(xo, NPY_DOUBLE, 1, 1, NPY_ARRAY_CARRAY_RO));
    if (x == nullptr) return nullptr;
    const npy_intp n = PyArray_DIM(x, 0);
    if (n > static_cast<npy_intp>(dense_count) - 1) {
        Py_DECREF(x);
        PyErr_SetString(PyExc_ValueError, "x is too long for 32-bit tracer indices");
        return nullptr;
    }
    PyObject* out = visit(index, [&](auto tag) -> PyObject* {
        using E = typename decltype(tag)::type;
        PyObject* a = PyArray_NewFromDescr(&PyArray_Type, descr_of<E>(), 1, const_cast<npy_intp*>(&n), nullptr,
                                           nullptr, 0, nullptr);
        if (a == nullptr) return nullptr;
        const double* xs = static_cast<const double*>(PyArray_DATA(x));
        auto* es = static_cast<E*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(a)));
        for (npy_intp i = 0; i < n; ++i) {
            E e(xs[i]);
            e.count = 1;
            e.variable = 1;
            e.idx[0] = static_cast<std::uint32_t>(i);
            es[i] = e;
        }
        return a;
    });
    Py_DECREF(x);
    return out;
}

// rows(G) -> (indptr int64, indices int32), the sets of G's elements (1-D, a tracer
// dtype) as the rows of a CSR pattern, or None if one of them is dense.
PyObject* rows(PyObject*, PyObject* go) {
    const int index = PyArray_Check(go) ? index_of_type(PyArray_DESCR(reinterpret_cast<PyArrayObject*>(go))->type_num) : -1;
    if (index < 0 || PyArray_NDIM(reinterpret_cast<PyArrayObject*>(go)) != 1) {
        PyErr_SetString(PyExc_TypeError, "rows needs a 1-D tracer array");
        return nullptr;
    }
    PyArray_Descr* d = PyArray_DESCR(reinterpret_cast<PyArrayObject*>(go));
    Py_INCREF(d);
    auto* G = reinterpret_cast<PyArrayObject*>(PyArray_FromAny(go, d, 1, 1, NPY_ARRAY_CARRAY_RO, nullptr));
    if (G == nullptr) return nullptr;
    const npy_intp n = PyArray_DIM(G, 0);
    const unsigned char* g = static_cast<const unsigned char*>(PyArray_DATA(G));
    const npy_intp size = PyArray_ITEMSIZE(G);
    npy_intp nnz = 0;
    for (npy_intp i = 0; i < n; ++i) {
        const View v = view(g + i * size);
        if (v.dense(index)) {
            Py_DECREF(G);
            Py_RETURN_NONE;
        }
        nnz += v.count;
    }
    npy_intp np1 = n + 1;
    PyObject* indptr = PyArray_SimpleNew(1, &np1, NPY_INT64);
    PyObject* indices = indptr == nullptr ? nullptr : PyArray_SimpleNew(1, &nnz, NPY_INT32);
    if (indices == nullptr) {
        Py_XDECREF(indptr);
        Py_DECREF(G);
        return nullptr;
    }
    auto* p = static_cast<npy_int64*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(indptr)));
    auto* c = static_cast<npy_int32*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(indices)));
    p[0] = 0;
    for (npy_intp i = 0; i < n; ++i) {
        const View v = view(g + i * size);
        for (std::uint32_t k = 0; k < v.count; ++k) c[p[i] + k] = static_cast<npy_int32>(v.idx[k]);
        p[i + 1] = p[i] + v.count;
    }
    Py_DECREF(G);
    return Py_BuildValue("(NN)", indptr, indices);
}

PyObject* dtype(PyObject*, PyObject* args) {
    int capacity, local;
    if (!PyArg_ParseTuple(args, "ip:dtype", &capacity, &local)) return nullptr;
    const int index = parse_index(capacity, local);
    if (index < 0) return nullptr;
    return visit(index, [](auto tag) { return reinterpret_cast<PyObject*>(descr_of<typename decltype(tag)::type>()); });
}

PyObject* register_special(PyObject*, PyObject* module) {
    if (dual_numpy::install(module, dual_numpy::special_ufuncs<GlobalFamily>) < 0 ||
        dual_numpy::install(module, dual_numpy::special_ufuncs<LocalFamily>) < 0)
        return nullptr;
    Py_RETURN_NONE;
}

template <class Fam, class... Es>
int register_family(dual_numpy::Family<Es...>*) {
    return ((dual_numpy::register_dtype<Es>(dual_numpy::dot<Es>) < 0) || ...) ? -1 : 0;
}

template <class Fam>
int install_family(PyObject* umath, PyObject* matmul) {
    if (register_family<Fam>(static_cast<Fam*>(nullptr)) < 0) return -1;
    return dual_numpy::install(umath, dual_numpy::numpy_ufuncs<Fam>) < 0 ||
                   dual_numpy::MatMulLoops<Fam>::add(matmul) < 0
               ? -1
               : 0;
}

PyMethodDef methods[] = {
    {"seed", seed, METH_VARARGS, "seed(x, capacity, local): the tracer array of value x, element i seeded with {i}."},
    {"rows", rows, METH_O, "rows(G): (indptr, indices) of G's index sets, or None if one is dense."},
    {"dtype", dtype, METH_VARARGS, "dtype(capacity, local): the tracer dtype of that capacity and mode."},
    {"register_special", register_special, METH_O,
     "register_special(scipy.special): add the tracer loops of expit, log_expit and erf."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_tracer", "The NumPy dtypes of the hessprobe sparsity tracer.", -1,
                          methods, nullptr, nullptr, nullptr, nullptr};

PyObject* init() {
    tracing_error = PyErr_NewExceptionWithDoc(
        "hessprobe.tracing.TracingError",
        "A traced gradient used the value of a traced number (a comparison, a branch, float(), "
        "sorting): control flow on values, which a global sparsity pattern cannot follow.",
        PyExc_TypeError, nullptr);
    if (tracing_error == nullptr || init_scalars() < 0) return nullptr;
    // numpy._core.umath holds every ufunc (np.clip is a function calling umath.clip).
    PyObject* umath = PyImport_ImportModule("numpy._core.umath");
    if (umath == nullptr) return nullptr;
    PyObject* matmul = PyObject_GetAttrString(umath, "matmul");
    const int rc = matmul == nullptr || install_family<GlobalFamily>(umath, matmul) < 0 ||
                           install_family<LocalFamily>(umath, matmul) < 0
                       ? -1
                       : 0;
    Py_XDECREF(matmul);
    Py_DECREF(umath);
    if (rc < 0) return nullptr;
    PyObject* m = PyModule_Create(&module_def);
    if (m == nullptr) return nullptr;
    PyObject* caps = Py_BuildValue("(iiii)", capacities[0], capacities[1], capacities[2], capacities[3]);
    if (PyModule_AddObjectRef(m, "tracer", reinterpret_cast<PyObject*>(&TracerScalarBase)) < 0 ||
        PyModule_AddObjectRef(m, "TracingError", tracing_error) < 0 || caps == nullptr ||
        PyModule_AddObject(m, "CAPACITIES", caps) < 0) {
        Py_XDECREF(caps);
        Py_DECREF(m);
        return nullptr;
    }
    return m;
}

}  // namespace
}  // namespace hessprobe::tracer_numpy

PyMODINIT_FUNC PyInit__tracer() {
    import_array();
    import_umath();
    return hessprobe::tracer_numpy::init();
}
