// The Ackley function
//     f(x) = -a exp(-b sqrt(S/n)) - exp(C/n) + a + e,  S = sum x_i^2,  C = sum cos(c x_i).
// Every x_i enters S and C, so the Hessian is dense, yet one gradient (and one HVP) is
// O(n): the state holds S and C, summed per part and combined in a fixed order.
// f is not differentiable at x = 0 (sqrt(S) there); the caller rejects that point.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "hessprobe/dual.hpp"
#include "hessprobe/functions/concept.hpp"

HESSPROBE_NAMESPACE_BEGIN
namespace functions {

struct Ackley {
    static constexpr const char* name = "ackley";
    static constexpr std::size_t part_size = 4096;
    double a = 20.0, b = 0.2, c = 6.283185307179586476925286766559;

    Ackley(double a_, double b_, double c_) : a(a_), b(b_), c(c_) {}
    std::size_t min_size() const { return 1; }
    std::size_t fixed_size() const { return 0; }
    int bandwidth() const { return -1; }

    double value(const double* x, std::size_t n) const {
        double s = 0.0, cs = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            s += x[i] * x[i];
            cs += std::cos(c * x[i]);
        }
        const double dn = static_cast<double>(n);
        return -a * std::exp(-b * std::sqrt(s / dn)) - std::exp(cs / dn) + a + std::exp(1.0);
    }

    template <class T>
    struct State {
        std::vector<T> sum_sq, sum_cos;  // one partial per part; finish() leaves the total in [0]
    };
    template <class T>
    State<T> make_state(std::size_t n) const {
        const std::size_t parts = prepare_parts(n);
        return State<T>{std::vector<T>(parts), std::vector<T>(parts)};
    }
    std::size_t prepare_parts(std::size_t n) const { return (n + part_size - 1) / part_size; }

    template <class T, class In>
    void prepare(State<T>& s, const In& x, std::size_t part, std::size_t n) const {
        using std::cos;
        const std::size_t begin = part * part_size, end = std::min(n, begin + part_size);
        T sq(0.0), cs(0.0);
        for (std::size_t i = begin; i < end; ++i) {
            const T xi = x(i);
            sq += square(xi);
            cs += cos(c * xi);
        }
        s.sum_sq[part] = sq;
        s.sum_cos[part] = cs;
    }

    template <class T>
    void finish(State<T>& s) const {
        T sq = s.sum_sq[0], cs = s.sum_cos[0];
        for (std::size_t p = 1; p < s.sum_sq.size(); ++p) {
            sq += s.sum_sq[p];
            cs += s.sum_cos[p];
        }
        s.sum_sq.assign(1, sq);
        s.sum_cos.assign(1, cs);
    }

    template <class T, class In, class Out>
    void gradient(const In& x, const State<T>& s, Out& g, std::size_t begin, std::size_t end,
                  std::size_t n) const {
        using std::exp;
        using std::sin;
        using std::sqrt;
        const double dn = static_cast<double>(n);
        const T r = sqrt(s.sum_sq[0] / dn);
        // d/dx_i of the two terms: a b exp(-b r) x_i / (n r) and c exp(C/n) sin(c x_i) / n
        const T coef_x = (a * b / dn) * exp(-b * r) / r;
        const T coef_sin = (c / dn) * exp(s.sum_cos[0] / dn);
        for (std::size_t i = begin; i < end; ++i) {
            const T xi = x(i);
            g.set(i, coef_x * xi + coef_sin * sin(c * xi));
        }
    }
};

}  // namespace functions
HESSPROBE_NAMESPACE_END
