// For a Python extension module of the user's: a compiled function as the PyCapsule that
// hessprobe takes as a source (hessprobe.compiled_source, or any entry point directly).
//
//     #include <Python.h>
//     #include <hessprobe/capsule.hpp>
//     static PyObject* wood(PyObject*, PyObject*) { return hessprobe::make_capsule(Wood{}); }
//
// Only the C API of Python is used (no pybind11), so the extension does not depend on the
// pybind11 version hessprobe was built with.
#pragma once

#include "hessprobe/export.hpp"

#include <Python.h>

HESSPROBE_NAMESPACE_BEGIN

namespace exported {
inline void release_capsule(PyObject* capsule) {
    auto* table = static_cast<const hessprobe_source_v1*>(PyCapsule_GetPointer(capsule, HESSPROBE_CAPSULE_NAME));
    if (table != nullptr)
        table->destroy(table->self);
    else
        PyErr_Clear();
}
}  // namespace exported

// A new reference to a capsule named HESSPROBE_CAPSULE_NAME holding f's table, or NULL
// with a Python exception set.
template <class F>
PyObject* make_capsule(F f) noexcept {
    static_assert(exported::check_contract<F>(), "see the message above");
    hessprobe_error err{};
    const hessprobe_source_v1* table = nullptr;
    if (exported::guarded(&err, [&] { table = exported::make_table(std::move(f)); }) != HESSPROBE_OK) {
        PyErr_SetString(PyExc_RuntimeError, err.message);
        return nullptr;
    }
    PyObject* capsule = PyCapsule_New(const_cast<hessprobe_source_v1*>(table), HESSPROBE_CAPSULE_NAME,
                                      &exported::release_capsule);
    if (capsule == nullptr) table->destroy(table->self);
    return capsule;
}

HESSPROBE_NAMESPACE_END
