// Star colouring of a symmetric sparsity pattern (hessprobe/colouring.hpp), on the CSR
// arrays of a scipy.sparse pattern: int32 arrays are used in place, anything else as int64.
#include "common.hpp"

#include "hessprobe/colouring.hpp"

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace hessprobe::bindings {

namespace {

template <typename I>
using IndexArray = py::array_t<I, py::array::c_style | py::array::forcecast>;

template <typename I>
IndexSpan<I> span_of(const IndexArray<I>& a, const char* name) {
    if (a.ndim() != 1)
        throw std::invalid_argument(std::string("sparsity= ") + name + " must be 1-D, got ndim=" +
                                    std::to_string(a.ndim()));
    return {a.data(), static_cast<std::size_t>(a.shape(0))};
}

template <typename I>
py::array_t<I> to_array(const std::vector<I>& v) {
    py::array_t<I> out(static_cast<py::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), out.mutable_data());
    return out;
}

template <typename I>
py::tuple colour(const py::handle& indptr_obj, const py::handle& indices_obj, const std::string& order_name,
                 bool distance2, bool want_hubs) {
    const auto indptr = IndexArray<I>::ensure(indptr_obj);
    const auto indices = IndexArray<I>::ensure(indices_obj);
    if (!indptr || !indices) throw py::error_already_set();
    const Pattern<I> p{span_of(indptr, "indptr"), span_of(indices, "indices")};
    const VertexOrder order = parse_vertex_order(order_name);
    StarColouring<I> result;
    {
        py::gil_scoped_release release;
        check_symmetric_pattern(p, "sparsity=");
        const std::vector<I> visit = vertex_order(p, order);
        result = distance2 ? distance2_colouring(p, visit) : colour_pattern(p, visit);
    }
    py::object hubs = want_hubs ? py::object(to_array(result.hubs)) : py::object(py::none());
    return py::make_tuple(to_array(result.colours), hubs, result.count);
}

template <typename I>
py::array_t<I> order_of(const py::handle& indptr_obj, const py::handle& indices_obj, const std::string& order_name) {
    const auto indptr = IndexArray<I>::ensure(indptr_obj);
    const auto indices = IndexArray<I>::ensure(indices_obj);
    if (!indptr || !indices) throw py::error_already_set();
    const Pattern<I> p{span_of(indptr, "indptr"), span_of(indices, "indices")};
    const VertexOrder order = parse_vertex_order(order_name);
    std::vector<I> out;
    {
        py::gil_scoped_release release;
        check_symmetric_pattern(p, "sparsity=");
        out = vertex_order(p, order);
    }
    return to_array(out);
}

bool both_int32(const py::array& indptr, const py::array& indices) {
    return indptr.dtype().is(py::dtype::of<std::int32_t>()) && indices.dtype().is(py::dtype::of<std::int32_t>());
}

}  // namespace

void bind_colouring(py::module_& m) {
    m.def(
        "star_colouring",
        [](const py::array& indptr, const py::array& indices, const std::string& order, bool hubs) {
            if (both_int32(indptr, indices)) return colour<std::int32_t>(indptr, indices, order, false, hubs);
            return colour<std::int64_t>(indptr, indices, order, false, hubs);
        },
        "indptr"_a, "indices"_a, "order"_a = "natural", "hubs"_a = true,
        "Star colouring of the symmetric CSR pattern (indptr, indices): (colours, hubs, count);\n"
        "the greedy distance-2 colouring instead when it has fewer colours.\n\n"
        "hubs[k] is the end of entry k = (i, j) that is the hub of its two-coloured star (i for\n"
        "a diagonal entry): H_ij = (H v_c)[i + j - hubs[k]] with c = colours[hubs[k]].  With\n"
        "hubs=False, None in their place (a diagonal needs only the colours).");
    m.def(
        "distance2_colouring",
        [](const py::array& indptr, const py::array& indices) -> py::tuple {
            if (both_int32(indptr, indices)) return colour<std::int32_t>(indptr, indices, "natural", true, true);
            return colour<std::int64_t>(indptr, indices, "natural", true, true);
        },
        "indptr"_a, "indices"_a,
        "The greedy distance-2 colouring in natural order: (colours, hubs = min(i, j), count).");
    m.def(
        "vertex_order",
        [](const py::array& indptr, const py::array& indices, const std::string& order) -> py::array {
            if (both_int32(indptr, indices)) return order_of<std::int32_t>(indptr, indices, order);
            return order_of<std::int64_t>(indptr, indices, order);
        },
        "indptr"_a, "indices"_a, "order"_a,
        "The order in which star_colouring visits the vertices of the pattern.");
}

}  // namespace hessprobe::bindings
