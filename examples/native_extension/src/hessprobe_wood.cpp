// An extension module that exports a user's C++ function to hessprobe: the chained Wood
// function (chained_wood.hpp, written as a built-in is written), with every engine of
// hessprobe (gradient, HVPs on 1, 4 and 8 dual lanes, dense Hessian, diagonal, Hutchinson
// probing) instantiated on it here, in this module, with the gradient inlined.
//
// Only Python's C API is used: the module hands hessprobe a PyCapsule holding the C table
// of hessprobe/abi.h, so it works with any pybind11 version hessprobe was built with.
#include <hessprobe/export.hpp>  // first: it picks the engines' namespace
#include <hessprobe/capsule.hpp>

#include "chained_wood.hpp"

namespace {

PyObject* chained_wood(PyObject*, PyObject*) { return hessprobe::make_capsule(ChainedWood{}); }

PyMethodDef methods[] = {
    {"chained_wood", chained_wood, METH_NOARGS,
     "chained_wood() -> PyCapsule: the chained Wood function, for hessprobe (n even, >= 4)."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hessprobe_wood", "The chained Wood function for hessprobe.", -1,
                      methods, nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__hessprobe_wood() { return PyModule_Create(&module); }
