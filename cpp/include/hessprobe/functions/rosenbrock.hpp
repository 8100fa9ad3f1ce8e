// The extended (chained) Rosenbrock function of scipy.optimize.rosen:
//     f(x) = sum_{i < n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2,   n >= 2.
// Its Hessian is tridiagonal.
#pragma once

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

    template <class T, class In, class Out>
    void gradient(const In& x, const State& /*s*/, Out& g, std::size_t begin, std::size_t end,
                  std::size_t n) const {
        for (std::size_t i = begin; i < end; ++i) {
            const T xi = x(i);
            T gi(0.0);
            if (i > 0) gi = 200.0 * (xi - square(x(i - 1)));
            if (i + 1 < n) gi = gi - 400.0 * xi * (x(i + 1) - square(xi)) - 2.0 * (1.0 - xi);
            g.set(i, gi);
        }
    }
};

}  // namespace functions
HESSPROBE_NAMESPACE_END
