// The tracer scalars (what indexing a tracer array gives) and what the generic dtype
// code needs of a tracer element (ElementTraits).  As for dual numbers, the scalars are
// np.inexact, their arithmetic is np.generic's (the ufunc loops), and the conversions
// that would drop the index set raise: float(), int(), operator.index always, bool()
// of a global tracer too (TracingError: a branch on a value).
#pragma once

#include "dtype.hpp"
#include "family.hpp"
#include "scalar_types.hpp"

#include <cstring>
#include <string>
#include <utility>

namespace hessprobe::tracer_numpy {

struct TracerScalar {
    PyObject_HEAD
    int index;  // tracer_index: capacity and mode
    alignas(double) unsigned char data[max_element_size];
};

inline PyTypeObject TracerScalarBase;
inline PyTypeObject TracerScalarTypes[2 * capacity_count];  // by tracer_index
inline const char* const scalar_names[2 * capacity_count] = {
    "hessprobe.tracer_global8", "hessprobe.tracer_global32", "hessprobe.tracer_global128",
    "hessprobe.tracer_global512", "hessprobe.tracer_local8", "hessprobe.tracer_local32",
    "hessprobe.tracer_local128", "hessprobe.tracer_local512"};

inline bool is_tracer_scalar(PyObject* o) { return PyObject_TypeCheck(o, &TracerScalarBase); }
inline bool is_local_index(int index) { return index >= capacity_count; }

// The parts of a tracer element of any capacity.
struct View {
    double value;
    std::uint32_t count;
    const std::uint32_t* idx;
    bool dense(int index) const { return count > static_cast<std::uint32_t>(capacities[index % capacity_count]); }
};
inline View view(const unsigned char* e) {
    View v;
    std::memcpy(&v.value, e, sizeof v.value);
    std::memcpy(&v.count, e + count_offset, sizeof v.count);
    v.idx = reinterpret_cast<const std::uint32_t*>(e + idx_offset);
    return v;
}

namespace scalar_methods {

inline TracerScalar* self_of(PyObject* o) { return reinterpret_cast<TracerScalar*>(o); }

inline PyObject* refuse(PyObject* self, const char* what) {
    if (!is_local_index(self_of(self)->index)) {
        refuse_values(what);
        return nullptr;
    }
    PyErr_Format(PyExc_TypeError,
                 "%s of a traced number would drop its index set (what becomes the sparsity "
                 "pattern); keep the computation in NumPy operations on the array you were given.",
                 what);
    return nullptr;
}
inline PyObject* as_float(PyObject* self) { return refuse(self, "float()"); }
inline PyObject* as_int(PyObject* self) { return refuse(self, "int()"); }
inline PyObject* as_index(PyObject* self) { return refuse(self, "Using a traced number as an index"); }
inline PyObject* as_complex(PyObject* self, PyObject*) { return refuse(self, "complex()"); }
inline int truth(PyObject* self) {
    TracerScalar* s = self_of(self);
    if (!is_local_index(s->index)) return refuse_values("bool() (an if or while on a traced number)");
    return view(s->data).value != 0.0;
}

// Comparisons of a scalar go through the ufuncs on a 0-D array (np.generic's do not
// know user dtypes): by value for a local tracer, TracingError for a global one.
inline PyObject* richcompare(PyObject* self, PyObject* other, int op) {
    PyObject* a = PyArray_FromScalar(self, nullptr);
    if (a == nullptr) return nullptr;
    PyObject* r = PyObject_RichCompare(a, other, op);
    Py_DECREF(a);
    if (r != nullptr && PyArray_Check(r)) return PyArray_Return(reinterpret_cast<PyArrayObject*>(r));
    return r;
}

// tracer(another tracer scalar): a copy (what np.mean and the like call); nothing else.
inline PyObject* make(PyTypeObject*, PyObject* args, PyObject* kwargs);

inline PyObject* repr(PyObject* self) {
    TracerScalar* s = self_of(self);
    const View v = view(s->data);
    std::string text = "tracer(";
    if (is_local_index(s->index)) {
        char* t = PyOS_double_to_string(v.value, 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
        text += t ? t : "?";
        PyMem_Free(t);
        text += ", ";
    }
    if (v.dense(s->index)) {
        text += "dense";
    } else {
        text += "{";
        for (std::uint32_t k = 0; k < v.count; ++k) text += (k ? ", " : "") + std::to_string(v.idx[k]);
        text += "}";
    }
    return PyUnicode_FromString((text + ")").c_str());
}

inline PyObject* indices(PyObject* self, void*) {
    TracerScalar* s = self_of(self);
    const View v = view(s->data);
    if (v.dense(s->index)) Py_RETURN_NONE;
    npy_intp k = v.count;
    PyObject* out = PyArray_SimpleNew(1, &k, NPY_UINT32);
    if (out != nullptr)
        std::memcpy(PyArray_DATA(reinterpret_cast<PyArrayObject*>(out)), v.idx, sizeof(std::uint32_t) * v.count);
    return out;
}
inline PyObject* value(PyObject* self, void*) {
    TracerScalar* s = self_of(self);
    if (!is_local_index(s->index)) {
        refuse_values("The value of a global tracer");
        return nullptr;
    }
    return PyFloat_FromDouble(view(s->data).value);
}
inline PyObject* dtype(PyObject* self, void*) {
    return visit(self_of(self)->index,
                 [](auto tag) { return reinterpret_cast<PyObject*>(dual_numpy::descr_of<typename decltype(tag)::type>()); });
}

}  // namespace scalar_methods

inline PyObject* new_scalar(int index, const void* element, std::size_t size) {
    auto* s = PyObject_New(TracerScalar, &TracerScalarTypes[index]);
    if (s == nullptr) return nullptr;
    s->index = index;
    std::memcpy(s->data, element, size);
    return reinterpret_cast<PyObject*>(s);
}

inline PyObject* scalar_methods::make(PyTypeObject*, PyObject* args, PyObject* kwargs) {
    PyObject* other = nullptr;
    if (!PyArg_ParseTuple(args, "O:tracer", &other)) return nullptr;
    if (kwargs != nullptr && PyDict_Size(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError, "tracer() takes no keyword arguments");
        return nullptr;
    }
    if (!is_tracer_scalar(other)) {
        PyErr_SetString(PyExc_TypeError,
                        "tracers are made by hessprobe.tracing.trace_pattern, not from Python numbers");
        return nullptr;
    }
    auto* s = reinterpret_cast<TracerScalar*>(other);
    return new_scalar(s->index, s->data, sizeof s->data);
}

inline int init_scalars() {
    using namespace scalar_methods;
    static PyNumberMethods number{};
    number.nb_float = as_float;
    number.nb_int = as_int;
    number.nb_index = as_index;
    number.nb_bool = truth;
    static PyGetSetDef getset[] = {
        {"indices", indices, nullptr, "The input indices it depends on (uint32, sorted), or None if dense.", nullptr},
        {"value", value, nullptr, "The value at x (local tracers only).", nullptr},
        {"dtype", dtype, nullptr, "The tracer dtype of this scalar.", nullptr},
        {nullptr, nullptr, nullptr, nullptr, nullptr}};
    static PyMethodDef methods[] = {{"__complex__", as_complex, METH_NOARGS, nullptr}, {nullptr, nullptr, 0, nullptr}};
    const dual_numpy::ScalarFamily family{
        "hessprobe.tracer",
        "A hessprobe tracer: the input indices a value depends on (what indexing a tracer array gives).",
        sizeof(TracerScalar), &number, methods, getset, make, repr, richcompare};
    return dual_numpy::init_scalar_types(family, TracerScalarBase, TracerScalarTypes, scalar_names,
                                         2 * capacity_count);
}

}  // namespace hessprobe::tracer_numpy

namespace hessprobe::dual_numpy {

// What the generic dtype code (dtype.hpp) needs of a tracer element.
template <int C, bool L>
struct ElementTraits<tracer_numpy::Tracer<C, L>> {
    using E = tracer_numpy::Tracer<C, L>;
    static constexpr int index = tracer_numpy::tracer_index<C, L>();
    static constexpr char type_char = 't';
    // The element functions may raise (global tracers): NumPy keeps the GIL and checks.
    static constexpr char flags = NPY_NEEDS_PYAPI;
    static PyTypeObject* scalar_type() { return &tracer_numpy::TracerScalarTypes[index]; }
    static PyObject* new_scalar(const void* element) { return tracer_numpy::new_scalar(index, element, sizeof(E)); }
    static int from_scalar(PyObject* obj, void* element) {
        if (!tracer_numpy::is_tracer_scalar(obj)) return 0;
        auto* s = reinterpret_cast<tracer_numpy::TracerScalar*>(obj);
        if (s->index != index)
            return fail(PyExc_TypeError, std::string("cannot store a tracer of another capacity or mode (") +
                                             tracer_numpy::scalar_names[s->index] + ") into an array of " +
                                             tracer_numpy::scalar_names[index]);
        std::memcpy(element, s->data, sizeof(E));
        return 1;
    }
    static bool truth(const E& e) {
        if constexpr (L) return e.value != 0.0;
        tracer_numpy::refuse_values("The truth value of a traced array (np.nonzero, an if on an element)");
        return false;
    }
    static int need_values(const char* what) {
        if constexpr (L) return 0;
        return tracer_numpy::refuse_values(what);
    }
    static void swap_bytes(char* p) {
        for (int b = 0; b < 4; ++b) std::swap(p[b], p[7 - b]);
        for (std::size_t w = 8; w + 4 <= sizeof(E); w += 4) {
            std::swap(p[w], p[w + 3]);
            std::swap(p[w + 1], p[w + 2]);
        }
    }
};

}  // namespace hessprobe::dual_numpy
