// Nonlinear least squares: fit y_i ~ p0 exp(p1 t_i) + p2 (an exponential decay or growth
// on a baseline, the classic data-fitting test problem), as a function of p = (p0, p1, p2):
//     r_i(p) = p0 e_i + p2 - y_i,   e_i = exp(p1 t_i),
//     f(p)   = 1/2 sum_i r_i^2,
//     g(p)   = J' r,   J_i = dr_i/dp = (e_i, p0 t_i e_i, 1),
//     H(p)   = J'J + sum_i r_i Hess(r_i),
//              Hess(r_i) = [[0, t_i e_i, 0], [t_i e_i, p0 t_i^2 e_i, 0], [0, 0, 0]].
// The residual and its Jacobian row are written once, templated on the scalar: the
// gradient evaluates them on T (dual numbers give exact HVPs), and residuals()/jacobian()
// evaluate them on double for the Gauss-Newton approximation J'J.
// t and y are the caller's arrays (views); they must outlive the function.
// The state holds r_i and e_i, computed in parts of rows; the gradient sums over the rows
// in their natural order, so the result does not depend on the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "hessprobe/dual.hpp"
#include "hessprobe/functions/concept.hpp"

HESSPROBE_NAMESPACE_BEGIN
namespace functions {

struct ExponentialFit {
    static constexpr const char* name = "exponential_fit";
    static constexpr std::size_t parameters = 3;
    static constexpr std::size_t rows_per_part = 1024;
    const double* t;
    const double* y;
    std::size_t m;

    ExponentialFit(const double* t_, const double* y_, std::size_t m_) : t(t_), y(y_), m(m_) {}
    std::size_t min_size() const { return parameters; }
    std::size_t fixed_size() const { return parameters; }
    int bandwidth() const { return -1; }
    std::size_t residual_count() const { return m; }

    // r_i and e_i = exp(p1 t_i) at p = (p0, p1, p2).
    template <class T>
    void residual(std::size_t i, const T& p0, const T& p1, const T& p2, T& r, T& e) const {
        using std::exp;
        e = exp(p1 * t[i]);
        r = p0 * e + p2 - y[i];
    }
    // Row i of the Jacobian, dr_i/dp = (e_i, p0 t_i e_i, 1); the last entry is the constant 1.
    template <class T>
    void jacobian_row(std::size_t i, const T& p0, const T& e, T& d0, T& d1) const {
        d0 = e;
        d1 = (p0 * t[i]) * e;
    }

    double value(const double* p, std::size_t /*n*/) const {
        double f = 0.0, r = 0.0, e = 0.0;
        for (std::size_t i = 0; i < m; ++i) {
            residual(i, p[0], p[1], p[2], r, e);
            f += r * r;
        }
        return 0.5 * f;
    }

    void residuals(const double* p, double* r) const {
        double e = 0.0;
        for (std::size_t i = 0; i < m; ++i) residual(i, p[0], p[1], p[2], r[i], e);
    }
    // J, row-major (m, 3).
    void jacobian(const double* p, double* J) const {
        double r = 0.0, e = 0.0;
        for (std::size_t i = 0; i < m; ++i) {
            residual(i, p[0], p[1], p[2], r, e);
            jacobian_row(i, p[0], e, J[3 * i], J[3 * i + 1]);
            J[3 * i + 2] = 1.0;
        }
    }

    template <class T>
    struct State {
        std::vector<T> r, e;
    };
    template <class T>
    State<T> make_state(std::size_t /*n*/) const { return State<T>{std::vector<T>(m), std::vector<T>(m)}; }
    std::size_t prepare_parts(std::size_t /*n*/) const { return (m + rows_per_part - 1) / rows_per_part; }

    template <class T, class In>
    void prepare(State<T>& s, const In& p, std::size_t part, std::size_t /*n*/) const {
        const T p0 = p(0), p1 = p(1), p2 = p(2);
        const std::size_t begin = part * rows_per_part, end = std::min(m, begin + rows_per_part);
        for (std::size_t i = begin; i < end; ++i) residual(i, p0, p1, p2, s.r[i], s.e[i]);
    }
    template <class T>
    void finish(State<T>& /*s*/) const {}

    // g = J' r, summed over the rows in order.
    template <class T, class In, class Out>
    void gradient(const In& p, const State<T>& s, Out& g, std::size_t begin, std::size_t end,
                  std::size_t /*n*/) const {
        const T p0 = p(0);
        T g0(0.0), g1(0.0), g2(0.0), d0(0.0), d1(0.0);
        for (std::size_t i = 0; i < m; ++i) {
            jacobian_row(i, p0, s.e[i], d0, d1);
            g0 += s.r[i] * d0;
            g1 += s.r[i] * d1;
            g2 += s.r[i];
        }
        const T out[parameters] = {g0, g1, g2};
        for (std::size_t j = begin; j < end; ++j) g.set(j, out[j]);
    }
};

}  // namespace functions
HESSPROBE_NAMESPACE_END
