// The reduction of a probing run's shares (partials.hpp): what a run spread over an
// executor's workers uses to be bitwise the local run.
#include "common.hpp"
#include "probe_output.hpp"

#include "hessprobe/partials.hpp"

#include <string>
#include <utility>

namespace hessprobe::bindings {
namespace {

// A reduction with the arrays it writes (the diagonal and its stderr) kept alive.
class Reduction {
  public:
    Reduction(std::size_t n, std::size_t probes, bool diagonal)
        : n_(n), probes_(probes), diagonal_(diagonal), arrays_(n, diagonal), reduction_(n, probes, arrays_.out) {
        if (probes < 1) throw std::invalid_argument("probes must be >= 1");
    }

    void add(const py::object& d, const py::object& dd, const py::object& reference, const Array& samples) {
        const std::size_t block = reduction_.blocks();
        if (block >= block_total(probes_)) throw std::invalid_argument("every block of the run was added");
        if (vector_size(samples, "samples") != reduction_.active(block))
            throw std::invalid_argument("block " + std::to_string(block) + " has " +
                                        std::to_string(reduction_.active(block)) + " samples");
        if (!diagonal_) {
            reduction_.add(nullptr, nullptr, nullptr, samples.data());
            return;
        }
        const Array a = checked(d, "d"), b = checked(dd, "dd");
        Array r;
        if (block == 0) r = checked(reference, "reference");
        py::gil_scoped_release release;
        reduction_.add(a.data(), b.data(), block == 0 ? r.data() : nullptr, samples.data());
    }

    bool target_met(double tol) {
        checked_tol(tol);
        py::gil_scoped_release release;
        return reduction_.target_met(tol);
    }

    py::tuple finish() {
        ProbeResult r;
        {
            py::gil_scoped_release release;
            r = reduction_.finish();
        }
        return arrays_.to_tuple(std::move(r));
    }

    std::size_t blocks() const { return reduction_.blocks(); }
    std::size_t done() const { return reduction_.done(); }

  private:
    Array checked(const py::object& a, const char* name) const {
        if (a.is_none()) throw std::invalid_argument(std::string(name) + " is needed for a diagonal run");
        Array arr = a.cast<Array>();
        if (vector_size(arr, name) != n_) throw std::invalid_argument(std::string(name) + " must have length n");
        return arr;
    }

    std::size_t n_, probes_;
    bool diagonal_;
    ProbeArrays arrays_;  // before reduction_, which writes into them
    ProbeReduction reduction_;
};

}  // namespace

void bind_partials(py::module_& m) {
    py::class_<Reduction>(m, "ProbeReduction")
        .def(py::init<std::size_t, std::size_t, bool>(), "n"_a, "probes"_a, "diagonal"_a)
        .def("add", &Reduction::add, "d"_a, "dd"_a, "reference"_a, "samples"_a)
        .def("target_met", &Reduction::target_met, "tol"_a)
        .def("finish", &Reduction::finish)
        .def_property_readonly("blocks", &Reduction::blocks)
        .def_property_readonly("done", &Reduction::done);
}

}  // namespace hessprobe::bindings
