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
#include "memory.hpp"
#include "scalar.hpp"
#include "ufuncs.hpp"

#include <cstdint>
#include <cstring>
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
    if (n > static_cast<npy_intp>(INT32_MAX)) {
        Py_DECREF(x);
        PyErr_SetString(PyExc_ValueError, "x is too long for the tracer's 32-bit indices (n < 2**31)");
        return nullptr;
    }
    PyObject* out = visit(index, [&](auto tag) -> PyObject* {
        using E = typename decltype(tag)::type;
        PyObject* a = PyArray_NewFromDescr(&PyArray_Type, descr_of<E>(), 1, const_cast<npy_intp*>(&n), nullptr,
                                           nullptr, 0, nullptr);
        if (a == nullptr) return nullptr;
        const double* xs = static_cast<const double*>(PyArray_DATA(x));
        char* es = static_cast<char*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(a)));
        for (npy_intp i = 0; i < n; ++i) {
            E e(xs[i]);
            e.count = 1;
            e.variable = 1;
            e.idx[0] = static_cast<std::uint32_t>(i);
            dual_numpy::store(es + i * static_cast<npy_intp>(sizeof(E)), e);
        }
        return a;
    });
    Py_DECREF(x);
    return out;
}

// A CSR pattern: rows of sorted column indices.
struct Csr {
    std::vector<npy_int64> indptr;
    std::vector<npy_int32> indices;
};

// J | J^T for a CSR pattern J of n x n with sorted rows: the transpose by a counting
// pass (its rows come out sorted), then a merge of row i of each.  O(n + nnz).
Csr symmetric(const Csr& J, npy_intp n) {
    const std::size_t rows = static_cast<std::size_t>(n), nnz = J.indices.size();
    std::vector<npy_int64> tptr(rows + 1, 0);
    for (npy_int32 j : J.indices) ++tptr[static_cast<std::size_t>(j) + 1];
    for (std::size_t i = 0; i < rows; ++i) tptr[i + 1] += tptr[i];
    std::vector<npy_int64> next(tptr.begin(), tptr.end() - 1);
    std::vector<npy_int32> tidx(nnz);
    for (std::size_t i = 0; i < rows; ++i)
        for (npy_int64 k = J.indptr[i]; k < J.indptr[i + 1]; ++k)
            tidx[static_cast<std::size_t>(next[static_cast<std::size_t>(J.indices[k])]++)] = static_cast<npy_int32>(i);
    Csr S{std::vector<npy_int64>(rows + 1, 0), std::vector<npy_int32>(2 * nnz)};
    npy_int32* out = S.indices.data();
    const npy_int32 *ja = J.indices.data(), *tb = tidx.data();
    std::size_t m = 0;
    for (std::size_t i = 0; i < rows; ++i) {
        npy_int64 a = J.indptr[i], b = tptr[i];
        const npy_int64 ae = J.indptr[i + 1], be = tptr[i + 1];
        while (a < ae && b < be) {
            const npy_int32 x = ja[a], y = tb[b];
            out[m++] = x < y ? x : y;
            a += x <= y;
            b += y <= x;
        }
        while (a < ae) out[m++] = ja[a++];
        while (b < be) out[m++] = tb[b++];
        S.indptr[i + 1] = static_cast<npy_int64>(m);
    }
    S.indices.resize(m);
    return S;
}

template <class T>
PyObject* to_array(const std::vector<T>& v, int type) {
    npy_intp size = static_cast<npy_intp>(v.size());
    PyObject* a = PyArray_SimpleNew(1, &size, type);
    if (a != nullptr) std::memcpy(PyArray_DATA(reinterpret_cast<PyArrayObject*>(a)), v.data(), sizeof(T) * v.size());
    return a;
}

// pattern(G) -> (indptr int64, indices int32): the symmetric CSR pattern J | J^T, row i
// of J being the set of G[i] (G: 1-D of a tracer dtype, of length n, square J), or None
// if one of the sets is dense.
PyObject* pattern(PyObject*, PyObject* go) {
    const int index = PyArray_Check(go) ? index_of_type(PyArray_DESCR(reinterpret_cast<PyArrayObject*>(go))->type_num) : -1;
    if (index < 0 || PyArray_NDIM(reinterpret_cast<PyArrayObject*>(go)) != 1) {
        PyErr_SetString(PyExc_TypeError, "pattern needs a 1-D tracer array");
        return nullptr;
    }
    PyArray_Descr* d = PyArray_DESCR(reinterpret_cast<PyArrayObject*>(go));
    Py_INCREF(d);
    auto* G = reinterpret_cast<PyArrayObject*>(PyArray_FromAny(go, d, 1, 1, NPY_ARRAY_CARRAY_RO, nullptr));
    if (G == nullptr) return nullptr;
    const npy_intp n = PyArray_DIM(G, 0);
    const unsigned char* g = static_cast<const unsigned char*>(PyArray_DATA(G));
    const npy_intp size = PyArray_ITEMSIZE(G);
    // Two passes over G: the row counts (and whether one is dense), then the indices.
    Csr J{std::vector<npy_int64>(static_cast<std::size_t>(n) + 1, 0), {}};
    bool dense = false;
    for (npy_intp i = 0; i < n && !dense; ++i) {
        const View v = view(g + i * size);
        dense = v.dense(index);
        J.indptr[i + 1] = J.indptr[i] + (dense ? 0 : v.count);
    }
    if (!dense) {
        J.indices.resize(static_cast<std::size_t>(J.indptr[n]));
        npy_int32* out = J.indices.data();
        for (npy_intp i = 0; i < n && !dense; ++i) {
            const View v = view(g + i * size);
            for (std::uint32_t k = 0; k < v.count; ++k) {
                // An index is < n when it came from seed(); garbage (np.empty_like) counts as dense.
                dense = dense || v.idx[k] >= static_cast<std::uint32_t>(n);
                *out++ = static_cast<npy_int32>(v.idx[k]);
            }
        }
    }
    Py_DECREF(G);
    if (dense) Py_RETURN_NONE;
    const Csr S = symmetric(J, n);
    PyObject* indptr = to_array(S.indptr, NPY_INT64);
    PyObject* indices = indptr == nullptr ? nullptr : to_array(S.indices, NPY_INT32);
    if (indices == nullptr) {
        Py_XDECREF(indptr);
        return nullptr;
    }
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
    {"pattern", pattern, METH_O, "pattern(G): (indptr, indices) of the symmetric pattern of G's index sets, or None if one is dense."},
    HESSPROBE_MEMORY_METHODS
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
