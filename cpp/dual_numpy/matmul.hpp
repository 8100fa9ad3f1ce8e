// Matrix products with operands of an element type E: loops of np.matmul (the @
// operator) for (E, E), (float64, E) and (E, float64) — a constant matrix is never
// widened to E — and the dtypes' dot function, which np.dot, np.inner and np.tensordot
// use once they have cast their operands to the dtype of E.
#pragma once

#include "loops.hpp"
#include "ufuncs.hpp"

namespace hessprobe::dual_numpy {

// The gufunc (m, n), (n, p) -> (m, p) over an outer loop: dims = (outer, m, n, p),
// strides = (3 outer, then the core strides of A, B and C).
template <bool DA, bool DB>
struct MatMul {
    template <class E>
    static int run(char* const data[], const npy_intp dims[], const npy_intp s[]) {
        using A = Operand<DA, E>;
        using B = Operand<DB, E>;
        const npy_intp outer = dims[0], m = dims[1], n = dims[2], p = dims[3];
        for (npy_intp o = 0; o < outer; ++o) {
            const char* a = data[0] + o * s[0];
            const char* b = data[1] + o * s[1];
            char* c = data[2] + o * s[2];
            for (npy_intp i = 0; i < m; ++i)
                for (npy_intp j = 0; j < p; ++j) {
                    E acc(0.0);
                    for (npy_intp k = 0; k < n; ++k)
                        acc = acc + load<A>(a + i * s[3] + k * s[4]) * load<B>(b + k * s[5] + j * s[6]);
                    store(c + i * s[7] + j * s[8], acc);
                }
        }
        return 0;
    }
};

template <class Fam>
struct MatMulLoops {
    template <class E>
    struct At {
        static int add(PyObject* u) {
            PyArray_DTypeMeta* D = dtype_class<E>();
            if (add_loop(u, 2, {D, D, D}, (void*)strided_loop<MatMul<true, true>, E>) < 0 ||
                add_loop(u, 2, {F(), D, D}, (void*)strided_loop<MatMul<false, true>, E>) < 0 ||
                add_loop(u, 2, {D, F(), D}, (void*)strided_loop<MatMul<true, false>, E>) < 0)
                return -1;
            return add_promoters<3>(u, 2, D, &promote<Fam, false>);
        }
    };
    static int add(PyObject* u) { return Fam::template for_all<At>(u); }
};

// PyArray_DotFunc of the dtype of E: op = sum_i ip1[i] * ip2[i].
template <class E>
void dot(void* ip1, npy_intp is1, void* ip2, npy_intp is2, void* op, npy_intp n, void*) {
    const char* a = static_cast<const char*>(ip1);
    const char* b = static_cast<const char*>(ip2);
    E acc(0.0);
    for (npy_intp i = 0; i < n; ++i) acc = acc + load<E>(a + i * is1) * load<E>(b + i * is2);
    store(static_cast<char*>(op), acc);
}

}  // namespace hessprobe::dual_numpy
