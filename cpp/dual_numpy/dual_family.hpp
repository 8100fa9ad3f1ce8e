// The dual dtypes: an element is a value and K tangent lanes, stored as K + 1 contiguous
// doubles (the core's Dual<K>), one dtype per lane count K in {1, 2, 4, 8}.
#pragma once

#include "descriptor.hpp"
#include "hessprobe/dual.hpp"

namespace hessprobe::dual_numpy {

static_assert(sizeof(Dual<8>) == 9 * sizeof(double), "Dual<K> must be K + 1 packed doubles");

struct DualFamily : Family<Dual<1>, Dual<2>, Dual<4>, Dual<8>> {
    static constexpr bool valued = true;  // comparisons and predicates look at the values
};

constexpr int max_lanes = 8;

inline bool supported_lanes(long k) { return k == 1 || k == 2 || k == 4 || k == 8; }
inline int lane_index(int k) { return k == 1 ? 0 : k == 2 ? 1 : k == 4 ? 2 : 3; }
inline npy_intp element_size(int lanes) { return static_cast<npy_intp>(sizeof(double)) * (lanes + 1); }

inline int lanes_of_type(int t) {
    return t == type_number<Dual<1>>   ? 1
           : t == type_number<Dual<2>> ? 2
           : t == type_number<Dual<4>> ? 4
           : t == type_number<Dual<8>> ? 8
                                       : 0;
}
inline int lanes_of(const PyArray_Descr* d) { return lanes_of_type(d->type_num); }
inline bool is_dual(const PyArray_Descr* d) { return lanes_of(d) != 0; }

// The dtype of K lanes (a new reference), or NULL with ValueError.
inline PyArray_Descr* descr_for(int lanes) {
    switch (lanes) {
        case 1: return descr_of<Dual<1>>();
        case 2: return descr_of<Dual<2>>();
        case 4: return descr_of<Dual<4>>();
        case 8: return descr_of<Dual<8>>();
        default:
            PyErr_Format(PyExc_ValueError, "dual numbers have 1, 2, 4 or 8 tangent lanes, not %d", lanes);
            return nullptr;
    }
}

}  // namespace hessprobe::dual_numpy
