// A scipy.LowLevelCallable gradient: its capsule checked and turned into a NativeGradient.
#include "native_gradient.hpp"

#include <string>
#include <vector>

namespace hessprobe::bindings {
namespace {

// The C signatures accepted from a scipy.LowLevelCallable (n, x, grad, user_data).
std::vector<std::string> native_signatures() {
    std::vector<std::string> s{"int (npy_intp, double *, double *, void *)"};
    if (sizeof(long) == sizeof(std::ptrdiff_t)) s.emplace_back("int (long, double *, double *, void *)");
    if (sizeof(long long) == sizeof(std::ptrdiff_t)) s.emplace_back("int (long long, double *, double *, void *)");
    return s;
}

}  // namespace

std::unique_ptr<NativeGradient> native_from_capsule(const py::capsule& cap) {
    const char* name = PyCapsule_GetName(cap.ptr());
    const std::string sig = name ? name : "";
    bool known = false;
    std::string expected;
    for (const auto& s : native_signatures()) {
        known = known || s == sig;
        expected += (expected.empty() ? "\"" : ", \"") + s + "\"";
    }
    if (!known)
        throw std::invalid_argument("Invalid scipy.LowLevelCallable signature \"" + sig +
                                    "\" for a gradient. Expected one of: [" + expected + "]");
    void* fn = PyCapsule_GetPointer(cap.ptr(), name);
    if (!fn) throw py::error_already_set();
    void* user_data = PyCapsule_GetContext(cap.ptr());
    if (PyErr_Occurred()) throw py::error_already_set();
    return std::make_unique<NativeGradient>(reinterpret_cast<NativeGradient::Function>(fn), user_data);
}

void bind_native(py::module_& m) { m.def("native_signatures", &native_signatures); }

}  // namespace hessprobe::bindings
