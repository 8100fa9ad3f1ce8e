// The tracer dtypes: one per capacity (8, 32, 128, 512 indices) and mode (global,
// local), and the refusal of value-dependent operations on global tracers.
#pragma once

#include "descriptor.hpp"
#include "tracer.hpp"

#include <cstddef>
#include <string>

namespace hessprobe::tracer_numpy {

// The capacities of the ladder trace_pattern climbs (src/hessprobe/tracing.py).
constexpr int capacities[] = {8, 32, 128, 512};
constexpr int capacity_count = 4;

// Every capacity has the same layout up to idx (what scalars read without knowing C).
using Tracer8 = Tracer<8, true>;
using Tracer512 = Tracer<512, false>;
constexpr std::size_t count_offset = offsetof(Tracer8, count);
constexpr std::size_t idx_offset = offsetof(Tracer8, idx);
static_assert(offsetof(Tracer8, value) == 0 && offsetof(Tracer512, value) == 0 &&
                  offsetof(Tracer512, idx) == idx_offset && offsetof(Tracer512, count) == count_offset,
              "tracers of every capacity share the layout of value, count and idx");
constexpr std::size_t max_element_size = sizeof(Tracer<512, true>);

// hessprobe.tracing.TracingError (a TypeError): set by module.cpp's init.
inline PyObject* tracing_error = nullptr;

// Raises TracingError for `what`, an operation that needs the values; returns -1.
inline int refuse_values(const char* what) {
    PyErr_Format(tracing_error,
                 "%s needs the values of traced numbers: that is control flow on values, which a "
                 "global sparsity pattern (mode='global', valid for every x) cannot follow. Use "
                 "mode='local' for the pattern at this x, or give the structure instead "
                 "(sparsity= or bandwidth=).",
                 what);
    return -1;
}

template <bool Local>
struct TracerFamily
    : dual_numpy::Family<Tracer<8, Local>, Tracer<32, Local>, Tracer<128, Local>, Tracer<512, Local>> {
    static constexpr bool valued = Local;  // global: comparisons and predicates refused
    static int refuse(const char* ufunc) { return refuse_values(("np." + std::string(ufunc)).c_str()); }
};
using GlobalFamily = TracerFamily<false>;
using LocalFamily = TracerFamily<true>;

// The index of the dtype of (capacity, mode) among the 8, or -1.
inline int tracer_index(int capacity, bool local) {
    for (int i = 0; i < capacity_count; ++i)
        if (capacities[i] == capacity) return (local ? capacity_count : 0) + i;
    return -1;
}
template <int C, bool L>
constexpr int tracer_index() {
    return (L ? capacity_count : 0) + (C == 8 ? 0 : C == 32 ? 1 : C == 128 ? 2 : 3);
}

template <class E>
struct Tag {
    using type = E;
};

// f(Tag<Tracer<C, L>>) for the (capacity, local) of index i (0 <= i < 8).
template <class F>
auto visit(int i, F&& f) {
    switch (i) {
        case 0: return f(Tag<Tracer<8, false>>{});
        case 1: return f(Tag<Tracer<32, false>>{});
        case 2: return f(Tag<Tracer<128, false>>{});
        case 3: return f(Tag<Tracer<512, false>>{});
        case 4: return f(Tag<Tracer<8, true>>{});
        case 5: return f(Tag<Tracer<32, true>>{});
        case 6: return f(Tag<Tracer<128, true>>{});
        default: return f(Tag<Tracer<512, true>>{});
    }
}

// The index of a tracer dtype's type number, or -1.
inline int index_of_type(int type_num) {
    for (int i = 0; i < 2 * capacity_count; ++i)
        if (visit(i, [](auto tag) { return dual_numpy::type_number<typename decltype(tag)::type>; }) == type_num) return i;
    return -1;
}

}  // namespace hessprobe::tracer_numpy
