// The extended (chained) Rosenbrock function of scipy.optimize.rosen:
//     f(x) = sum_{i < n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2,   n >= 2.
// Its Hessian is tridiagonal.
#pragma once

#include <algorithm>
#include <cstddef>

#include "hessprobe/dual.hpp"
#include "hessprobe/functions/concept.hpp"

HESSPROBE_NAMESPACE_BEGIN
namespace functions {

struct Rosenbrock : Stateless {
    static constexpr const char* name = "rosenbrock";
    std::size_t min_size() const { return 2; }
    int bandwidth() const { return 1; }

    double value(const double* x, std::size_t n) const {
        double f = 0.0;
        for (std::size_t i = 0; i + 1 < n; ++i)
            f += 100.0 * square(x[i + 1] - x[i] * x[i]) + square(1.0 - x[i]);
        return f;
    }

    // g_i = 200 (x_i - x_{i-1}^2) - 400 x_i (x_{i+1} - x_i^2) - 2 (1 - x_i), without the
    // first term at i = 0 and the last two at i = n - 1.  The ends are peeled off so that
    // the interior loop has no branch and vectorizes.
    template <class T, class In, class Out>
    void gradient(const In& x, const State& /*s*/, Out& g, std::size_t begin, std::size_t end,
                  std::size_t n) const {
        std::size_t i = begin;
        if (i == 0 && i < end) {
            const T x0 = x(0);
            g.set(0, -400.0 * x0 * (x(1) - square(x0)) - 2.0 * (1.0 - x0));
            ++i;
        }
        const std::size_t interior_end = std::min(end, n - 1);
        for (; i < interior_end; ++i) {
            const T xi = x(i);
            g.set(i, 200.0 * (xi - square(x(i - 1))) - 400.0 * xi * (x(i + 1) - square(xi)) - 2.0 * (1.0 - xi));
        }
        if (i < end) g.set(i, 200.0 * (x(i) - square(x(i - 1))));  // i == n - 1
    }
};

}  // namespace functions
HESSPROBE_NAMESPACE_END
