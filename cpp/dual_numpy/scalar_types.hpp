// The Python scalar types of an element family (dual numbers, tracers): what indexing one
// of its arrays gives.  One base type, a subclass of np.inexact so that NumPy and SciPy
// treat it as a number, and one leaf type per dtype of the family (NumPy maps each scalar
// type to its dtype).  Conversions that would lose what the element carries (float(),
// int(), complex(), operator.index) are the family's, and so are construction, repr and
// the getters; arithmetic is np.generic's (it runs the ufunc loops).
#pragma once

#include "numpy_api.hpp"

namespace hessprobe::dual_numpy {

// What a family fills in; the tables it points at must live as long as the types.
struct ScalarFamily {
    const char* base_name;
    const char* doc;
    Py_ssize_t basicsize;
    PyNumberMethods* number;  // nb_float, nb_int, nb_index, nb_bool set by the family
    PyMethodDef* methods;
    PyGetSetDef* getset;
    newfunc make;
    reprfunc repr;
    richcmpfunc richcompare = nullptr;  // none: np.generic's comparisons
};

// Readies the base type and `count` leaves named `leaf_names` under it; -1 with a Python
// error set on failure.
inline int init_scalar_types(const ScalarFamily& family, PyTypeObject& base, PyTypeObject* leaves,
                             const char* const* leaf_names, int count) {
    auto init = [&](PyTypeObject& t, const char* name, PyTypeObject* parent, unsigned long extra_flags) {
        Py_SET_REFCNT(reinterpret_cast<PyObject*>(&t), 1);
        t.tp_name = name;
        t.tp_doc = family.doc;
        t.tp_basicsize = family.basicsize;
        t.tp_flags = Py_TPFLAGS_DEFAULT | extra_flags;
        t.tp_base = parent;
        t.tp_new = family.make;
        t.tp_richcompare = family.richcompare;
        t.tp_repr = family.repr;
        t.tp_str = family.repr;
        t.tp_hash = PyObject_HashNotImplemented;
        return PyType_Ready(&t);
    };
    base.tp_as_number = family.number;
    base.tp_getset = family.getset;
    base.tp_methods = family.methods;
    if (init(base, family.base_name, &PyInexactArrType_Type, Py_TPFLAGS_BASETYPE) < 0) return -1;
    for (int i = 0; i < count; ++i)
        if (init(leaves[i], leaf_names[i], &base, 0) < 0) return -1;
    return 0;
}

}  // namespace hessprobe::dual_numpy
