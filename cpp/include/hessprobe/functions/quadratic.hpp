// f(x) = 1/2 x'Ax + b'x for a symmetric A (dense, row-major, n x n), so g = A x + b and
// H = A.  The matrix is the caller's (a view); it must outlive the function.
#pragma once

#include <cstddef>

#include "hessprobe/dual.hpp"
#include "hessprobe/functions/concept.hpp"

HESSPROBE_NAMESPACE_BEGIN
namespace functions {

struct Quadratic : Stateless {
    static constexpr const char* name = "quadratic";
    const double* A;
    const double* b;
    std::size_t size;

    Quadratic(const double* A_, const double* b_, std::size_t n) : A(A_), b(b_), size(n) {}
    std::size_t min_size() const { return 1; }
    std::size_t fixed_size() const { return size; }
    int bandwidth() const { return -1; }

    double value(const double* x, std::size_t n) const {
        double f = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double* row = A + i * n;
            double ax = 0.0;
            for (std::size_t j = 0; j < n; ++j) ax += row[j] * x[j];
            f += x[i] * (0.5 * ax + b[i]);
        }
        return f;
    }

    template <class T, class In, class Out>
    void gradient(const In& x, const State& /*s*/, Out& g, std::size_t begin, std::size_t end,
                  std::size_t n) const {
        for (std::size_t i = begin; i < end; ++i) {
            const double* row = A + i * n;
            T gi(b[i]);
            for (std::size_t j = 0; j < n; ++j) gi += row[j] * x(j);
            g.set(i, gi);
        }
    }
};

}  // namespace functions
HESSPROBE_NAMESPACE_END
