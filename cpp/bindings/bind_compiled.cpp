// A user's compiled function (hessprobe/export.hpp): its C table (hessprobe/abi.h), from
// a PyCapsule or from the factory of a shared object hessprobe.compile_gradient loaded.
// The core only calls the table's function pointers; the engines run inside the user's
// shared object, with the user's gradient inlined.
#include "common.hpp"
#include "probe_output.hpp"

#include "hessprobe/abi.h"

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace hessprobe::bindings {
namespace {

void check_table(const hessprobe_source_v1* t) {
    if (t == nullptr) throw std::invalid_argument("the compiled function's table is NULL");
    if (t->abi_version != HESSPROBE_ABI_VERSION)
        throw std::invalid_argument("the compiled function was built for hessprobe ABI version " +
                                    std::to_string(t->abi_version) + "; this hessprobe speaks version " +
                                    std::to_string(HESSPROBE_ABI_VERSION) + ": rebuild it against these headers");
    if (t->struct_size < sizeof(hessprobe_source_v1))
        throw std::invalid_argument("the compiled function's table is too short (" + std::to_string(t->struct_size) +
                                    " bytes) for ABI version 1");
}

// A table and whatever keeps its code loaded (the capsule, or the loaded library).
class Compiled {
  public:
    Compiled(const hessprobe_source_v1* table, py::object keep, bool owned)
        : table_(table), keep_(std::move(keep)), owned_(owned) {
        check_table(table_);
        name_ = table_->name ? table_->name : "compiled";
    }
    Compiled(const Compiled&) = delete;
    Compiled& operator=(const Compiled&) = delete;
    ~Compiled() {
        if (owned_) table_->destroy(table_->self);
    }

    const std::string& name() const { return name_; }
    const hessprobe_source_v1& table() const { return *table_; }

    std::size_t checked_size(const Array& x) const {
        const std::size_t n = vector_size(x, "x");
        if (n < table_->min_size)
            throw std::invalid_argument(name_ + " needs x of length >= " + std::to_string(table_->min_size) +
                                        ", got " + std::to_string(n));
        if (table_->fixed_size != 0 && n != table_->fixed_size)
            throw std::invalid_argument("x must have length " + std::to_string(table_->fixed_size) + ", got " +
                                        std::to_string(n));
        return n;
    }

    // Runs entry(&err), a call of the table, without the GIL; returns its status.
    template <class Entry>
    static int run(hessprobe_error& err, Entry&& entry) {
        py::gil_scoped_release release;
        return entry(&err);
    }

    // A status of the table's entries as the exception it stands for.
    void check(int status, const hessprobe_error& err) const {
        if (status == HESSPROBE_OK) return;
        if (status == HESSPROBE_INVALID_ARGUMENT) throw std::invalid_argument(err.message);
        throw std::runtime_error("compiled function '" + name_ + "' failed: " + err.message);
    }

  private:
    const hessprobe_source_v1* table_;
    py::object keep_;
    bool owned_;
    std::string name_;
};

// The caller's between-rounds function behind the C callback; keeps its exception.
struct BetweenRounds {
    std::function<void(std::size_t)> fn;
    std::exception_ptr error;

    static int call(void* context, std::size_t done) {
        auto* self = static_cast<BetweenRounds*>(context);
        try {
            self->fn(done);
            return 0;
        } catch (...) {
            self->error = std::current_exception();
            return 1;
        }
    }
};

template <class Entry>
py::array_t<double> array_call(const Compiled& c, const Array& x, int threads, const py::object& into, bool square,
                               Entry entry) {
    const std::size_t n = c.checked_size(x);
    checked_threads(threads);
    const auto len = static_cast<py::ssize_t>(n);
    auto result = output_array(into, square ? std::vector<py::ssize_t>{len, len} : std::vector<py::ssize_t>{len});
    double* out = result.mutable_data();
    hessprobe_error err{};
    const int status = Compiled::run(err, [&](hessprobe_error* e) {
        return entry(c.table(), x.data(), n, out, threads, e);
    });
    c.check(status, err);
    return result;
}

std::unique_ptr<Compiled> from_capsule(const py::capsule& cap) {
    const char* name = PyCapsule_GetName(cap.ptr());
    if (name == nullptr || std::string(name) != HESSPROBE_CAPSULE_NAME)
        throw std::invalid_argument(std::string("source: a capsule named \"") + (name ? name : "") +
                                    "\" is not a compiled hessprobe function (expected \"" HESSPROBE_CAPSULE_NAME
                                    "\")");
    void* p = PyCapsule_GetPointer(cap.ptr(), name);
    if (p == nullptr) throw py::error_already_set();
    return std::make_unique<Compiled>(static_cast<const hessprobe_source_v1*>(p), cap, false);
}

std::unique_ptr<Compiled> from_factory(std::uintptr_t address, const Array& params, const py::object& keep) {
    if (address == 0) throw std::invalid_argument("the compiled library has no factory " HESSPROBE_FACTORY_SYMBOL);
    const auto factory = reinterpret_cast<hessprobe_factory_v1>(address);
    const std::size_t count = vector_size(params, "params");
    hessprobe_error err{};
    const hessprobe_source_v1* table = factory(params.data(), count, &err);
    if (table == nullptr) throw std::invalid_argument(err.message);
    if (table->abi_version != HESSPROBE_ABI_VERSION) {
        // not ours to destroy through an unknown layout; report it
        check_table(table);
    }
    return std::make_unique<Compiled>(table, keep, true);
}

}  // namespace

void bind_compiled(py::module_& m) {
    m.attr("abi_version") = HESSPROBE_ABI_VERSION;
    m.attr("capsule_name") = HESSPROBE_CAPSULE_NAME;
    m.attr("factory_symbol") = HESSPROBE_FACTORY_SYMBOL;
    py::class_<Compiled>(m, "Compiled")
        .def(py::init(&from_capsule), "capsule"_a)
        .def_static("from_factory", &from_factory, "address"_a, "params"_a, "keep"_a)
        .def_property_readonly("name", &Compiled::name)
        .def_property_readonly("min_size", [](const Compiled& c) { return c.table().min_size; })
        .def_property_readonly("fixed_size", [](const Compiled& c) { return c.table().fixed_size; })
        .def_property_readonly("bandwidth", [](const Compiled& c) { return c.table().bandwidth; })
        .def_property_readonly("has_value", [](const Compiled& c) { return c.table().has_value != 0; })
        .def_property_readonly("flags", [](const Compiled& c) { return std::string(c.table().flags ? c.table().flags : ""); })
        .def_property_readonly("lanes", [](const Compiled& c) {
            const int* l = c.table().lanes;
            return py::make_tuple(l[0], l[1], l[2]);
        })
        .def("value",
             [](const Compiled& c, const Array& x) {
                 const std::size_t n = c.checked_size(x);
                 double out = 0.0;
                 hessprobe_error err{};
                 const int status = Compiled::run(err, [&](hessprobe_error* e) {
                     return c.table().value(c.table().self, x.data(), n, &out, e);
                 });
                 c.check(status, err);
                 return out;
             },
             "x"_a)
        .def("gradient",
             [](const Compiled& c, const Array& x, int threads, const py::object& out) {
                 return array_call(c, x, threads, out, false, [](const hessprobe_source_v1& t, auto... a) {
                     return t.gradient(t.self, a...);
                 });
             },
             "x"_a, "threads"_a, "out"_a = py::none())
        .def("hessian",
             [](const Compiled& c, const Array& x, int threads, const py::object& out) {
                 return array_call(c, x, threads, out, true, [](const hessprobe_source_v1& t, auto... a) {
                     return t.hessian(t.self, a...);
                 });
             },
             "x"_a, "threads"_a, "out"_a = py::none())
        .def("hessian_diag",
             [](const Compiled& c, const Array& x, int threads, const py::object& out) {
                 return array_call(c, x, threads, out, false, [](const hessprobe_source_v1& t, auto... a) {
                     return t.hessian_diag(t.self, a...);
                 });
             },
             "x"_a, "threads"_a, "out"_a = py::none())
        .def("hvp",
             [](const Compiled& c, const Array& x, const Array& V, int threads, const py::object& into) {
                 const std::size_t n = c.checked_size(x);
                 const std::size_t rows = block_rows(V, n, "v");
                 checked_threads(threads);
                 auto HV = output_array(into, {static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(n)});
                 double* out = HV.mutable_data();
                 hessprobe_error err{};
                 const int status = Compiled::run(err, [&](hessprobe_error* e) {
                     return c.table().hvp(c.table().self, x.data(), n, V.data(), out, rows, threads, e);
                 });
                 c.check(status, err);
                 return HV;
             },
             "x"_a, "v"_a, "threads"_a, "out"_a = py::none())
        .def("probe",
             [](const Compiled& c, const Array& x, std::size_t probes, std::uint64_t seed, int threads, bool diagonal,
                double tol, const py::object& progress) {
                 const std::size_t n = c.checked_size(x);
                 if (probes < 1) throw std::invalid_argument("probes must be >= 1");
                 checked_threads(threads);
                 BetweenRounds between{between_rounds(progress, probes), nullptr};
                 py::object value = py::none(), standard_error = py::none();
                 hessprobe_probe_args args{};
                 args.probes = probes;
                 args.seed = seed;
                 args.threads = threads;
                 args.tol = checked_tol(tol);
                 args.between_rounds = &BetweenRounds::call;
                 args.context = &between;
                 if (diagonal) {
                     Array v(n), e(n);
                     args.diagonal = v.mutable_data();
                     args.diagonal_stderr = e.mutable_data();
                     value = std::move(v);
                     standard_error = std::move(e);
                 }
                 std::vector<double> samples(probes);
                 args.trace_samples = samples.data();
                 hessprobe_error err{};
                 const int status = Compiled::run(err, [&](hessprobe_error* e) {
                     return c.table().probe(c.table().self, x.data(), n, &args, e);
                 });
                 if (status == HESSPROBE_CALLBACK_FAILED && between.error) std::rethrow_exception(between.error);
                 c.check(status, err);
                 return py::make_tuple(value, standard_error, args.trace, args.trace_stderr,
                                       py::array_t<double>(args.done, samples.data()));
             },
             "x"_a, "probes"_a, "seed"_a, "threads"_a, "diagonal"_a, "tol"_a = 0.0, "progress"_a = py::none())
        .def("probe_blocks",
             [](const Compiled& c, const Array& x, std::size_t probes, std::uint64_t seed, std::size_t first_block,
                std::size_t count, int threads, bool diagonal, const py::object& reference) {
                 const std::size_t n = c.checked_size(x);
                 const py::object no_progress = py::none();
                 const ProbeOptions opt = partial_options(probes, seed, threads, first_block, count, no_progress);
                 PartialArrays arrays(n, opt, diagonal, reference);
                 hessprobe_probe_args args{};
                 args.probes = probes;
                 args.seed = seed;
                 args.threads = opt.threads;
                 args.first_block = first_block;
                 args.block_count = count;
                 args.reference = arrays.out.reference;
                 args.diagonal = arrays.out.value;
                 args.diagonal_stderr = arrays.out.standard_error;
                 std::vector<double> samples(probes);
                 args.trace_samples = samples.data();
                 hessprobe_error err{};
                 const int status = Compiled::run(err, [&](hessprobe_error* e) {
                     return c.table().probe(c.table().self, x.data(), n, &args, e);
                 });
                 c.check(status, err);
                 ProbeResult r;
                 r.trace_samples.assign(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(args.done));
                 return arrays.to_tuple(std::move(r));
             },
             "x"_a, "probes"_a, "seed"_a, "first_block"_a, "count"_a, "threads"_a, "diagonal"_a,
             "reference"_a = py::none());
}

}  // namespace hessprobe::bindings
