// The dual scalars: what indexing a dual array gives (d[0]).  A base type, `dual`, and a
// leaf per lane count (scalar_types.hpp).  Inexact, not floating: np.linalg.norm and the
// like keep it, and NumPy prints dual arrays by the scalars' repr (its float printing
// needs np.finfo, which knows only built-in floats).  Conversions that would drop the
// lanes (float(), int(), complex(), operator.index) raise TypeError.
#pragma once

#include "dtype.hpp"
#include "dual_family.hpp"
#include "scalar_types.hpp"

#include <cstring>
#include <string>
#include <utility>

namespace hessprobe::dual_numpy {

struct DualScalar {
    PyObject_HEAD
    int lanes;
    double data[max_lanes + 1];  // the value, then the lanes
};

inline PyTypeObject DualScalarBase;
inline PyTypeObject DualScalarTypes[4];  // by lane index
inline const char* const scalar_names[4] = {"hessprobe.dual1", "hessprobe.dual2", "hessprobe.dual4",
                                            "hessprobe.dual8"};

inline bool is_dual_scalar(PyObject* o) { return PyObject_TypeCheck(o, &DualScalarBase); }

inline PyObject* new_scalar(int lanes, const void* element) {
    auto* s = PyObject_New(DualScalar, &DualScalarTypes[lane_index(lanes)]);
    if (s == nullptr) return nullptr;
    s->lanes = lanes;
    std::memcpy(s->data, element, static_cast<std::size_t>(element_size(lanes)));
    return reinterpret_cast<PyObject*>(s);
}

namespace scalar_methods {

inline PyObject* refuse(const char* what) {
    PyErr_Format(PyExc_TypeError, "%s of a hessprobe dual number would drop its tangent lanes.%s", what,
                 keep_lanes_hint());
    return nullptr;
}
inline PyObject* as_float(PyObject*) { return refuse("float()"); }
inline PyObject* as_int(PyObject*) { return refuse("int()"); }
inline PyObject* as_index(PyObject*) { return refuse("Using it as an index"); }
inline PyObject* as_complex(PyObject*, PyObject*) { return refuse("complex()"); }
inline int truth(PyObject* self) { return reinterpret_cast<DualScalar*>(self)->data[0] != 0.0; }

// dual(value, tangents) or dual(another dual scalar): a new scalar.
inline PyObject* make(PyTypeObject*, PyObject* args, PyObject* kwargs) {
    static const char* names[] = {"value", "tangents", nullptr};
    PyObject* value = nullptr;
    PyObject* tangents = nullptr;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:dual", const_cast<char**>(names), &value, &tangents))
        return nullptr;
    if (is_dual_scalar(value) && tangents == nullptr) {
        auto* s = reinterpret_cast<DualScalar*>(value);
        return new_scalar(s->lanes, s->data);
    }
    if (tangents == nullptr) {
        PyErr_SetString(PyExc_TypeError, "dual(value, tangents) needs the tangents (1, 2, 4 or 8 of them)");
        return nullptr;
    }
    double element[max_lanes + 1] = {};
    element[0] = PyFloat_AsDouble(value);
    if (element[0] == -1.0 && PyErr_Occurred()) return nullptr;
    auto* t = reinterpret_cast<PyArrayObject*>(
        PyArray_FROMANY(tangents, NPY_DOUBLE, 1, 1, NPY_ARRAY_CARRAY_RO | NPY_ARRAY_FORCECAST));
    if (t == nullptr) return nullptr;
    const npy_intp k = PyArray_DIM(t, 0);
    if (!supported_lanes(static_cast<long>(k))) {
        Py_DECREF(t);
        PyErr_Format(PyExc_ValueError, "tangents must have 1, 2, 4 or 8 lanes, got %zd", static_cast<Py_ssize_t>(k));
        return nullptr;
    }
    std::memcpy(element + 1, PyArray_DATA(t), sizeof(double) * static_cast<std::size_t>(k));
    Py_DECREF(t);
    return new_scalar(static_cast<int>(k), element);
}

inline PyObject* repr(PyObject* self) {
    auto* s = reinterpret_cast<DualScalar*>(self);
    auto text_of = [](double v) {
        char* t = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
        std::string out = t ? t : "?";
        PyMem_Free(t);
        return out;
    };
    std::string text = "dual(" + text_of(s->data[0]) + ", [";
    for (int k = 0; k < s->lanes; ++k) text += (k ? ", " : "") + text_of(s->data[k + 1]);
    text += "])";
    return PyUnicode_FromString(text.c_str());
}

inline PyObject* value(PyObject* self, void*) { return PyFloat_FromDouble(reinterpret_cast<DualScalar*>(self)->data[0]); }
inline PyObject* tangents(PyObject* self, void*) {
    auto* s = reinterpret_cast<DualScalar*>(self);
    npy_intp k = s->lanes;
    PyObject* out = PyArray_SimpleNew(1, &k, NPY_DOUBLE);
    if (out != nullptr)
        std::memcpy(PyArray_DATA(reinterpret_cast<PyArrayObject*>(out)), s->data + 1,
                    sizeof(double) * static_cast<std::size_t>(k));
    return out;
}
inline PyObject* dtype(PyObject* self, void*) {
    return reinterpret_cast<PyObject*>(descr_for(reinterpret_cast<DualScalar*>(self)->lanes));
}

}  // namespace scalar_methods

inline int init_scalars() {
    using namespace scalar_methods;
    static PyNumberMethods number{};
    number.nb_float = as_float;
    number.nb_int = as_int;
    number.nb_index = as_index;
    number.nb_bool = truth;
    static PyGetSetDef getset[] = {
        {"value", value, nullptr, "The value (a float).", nullptr},
        {"tangents", tangents, nullptr, "The tangent lanes (a new float64 array).", nullptr},
        {"dtype", dtype, nullptr, "The dual dtype of this scalar's lanes.", nullptr},
        {nullptr, nullptr, nullptr, nullptr, nullptr}};
    static PyMethodDef methods[] = {{"__complex__", as_complex, METH_NOARGS, nullptr}, {nullptr, nullptr, 0, nullptr}};
    const ScalarFamily family{"hessprobe.dual",
                              "A hessprobe dual number: a value and its tangent lanes (what indexing a dual array "
                              "gives).",
                              sizeof(DualScalar), &number, methods, getset, make, repr};
    return init_scalar_types(family, DualScalarBase, DualScalarTypes, scalar_names, 4);
}

// What the generic dtype code (dtype.hpp) needs of Dual<K>.
template <int K>
struct ElementTraits<Dual<K>> {
    static constexpr char type_char = 'j';
    static constexpr char flags = 0;
    static PyTypeObject* scalar_type() { return &DualScalarTypes[lane_index(K)]; }
    static PyObject* new_scalar(const void* element) { return dual_numpy::new_scalar(K, element); }
    static int from_scalar(PyObject* obj, void* element) {
        if (!is_dual_scalar(obj)) return 0;
        auto* s = reinterpret_cast<DualScalar*>(obj);
        if (s->lanes != K)
            return fail(PyExc_TypeError, "cannot store a dual number of " + std::to_string(s->lanes) +
                                             " lanes into a dual array of " + std::to_string(K) + " lanes");
        std::memcpy(element, s->data, sizeof(Dual<K>));
        return 1;
    }
    static bool truth(const Dual<K>& d) { return d.v != 0.0; }
    static constexpr int need_values(const char*) { return 0; }
    static void swap_bytes(char* p) {
        for (int w = 0; w <= K; ++w)
            for (int b = 0; b < 4; ++b) std::swap(p[8 * w + b], p[8 * w + 7 - b]);
    }
};

}  // namespace hessprobe::dual_numpy
