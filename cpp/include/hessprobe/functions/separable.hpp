// Separable test functions: f(x) = sum_i phi(x_i), so the Hessian is diagonal.
#pragma once

#include <cmath>
#include <cstddef>

#include "hessprobe/dual.hpp"
#include "hessprobe/functions/concept.hpp"

HESSPROBE_NAMESPACE_BEGIN
namespace functions {

// Base for f(x) = sum_i phi(x_i): Derived supplies phi (double) and dphi (templated).
template <class Derived>
struct Separable : Stateless {
    std::size_t min_size() const { return 1; }
    int bandwidth() const { return 0; }

    double value(const double* x, std::size_t n) const {
        double f = 0.0;
        for (std::size_t i = 0; i < n; ++i) f += self().phi(x[i]);
        return f + self().constant(n);
    }

    template <class T, class In, class Out>
    void gradient(const In& x, const State& /*s*/, Out& g, std::size_t begin, std::size_t end,
                  std::size_t /*n*/) const {
        for (std::size_t i = begin; i < end; ++i) g.set(i, self().template dphi<T>(x(i)));
    }

  private:
    const Derived& self() const { return static_cast<const Derived&>(*this); }
};

// Styblinski-Tang: f(x) = 1/2 sum_i (x_i^4 - 16 x_i^2 + 5 x_i).
struct StyblinskiTang : Separable<StyblinskiTang> {
    static constexpr const char* name = "styblinski_tang";
    double constant(std::size_t /*n*/) const { return 0.0; }
    double phi(double t) const { return 0.5 * (t * t * t * t - 16.0 * t * t + 5.0 * t); }
    template <class T>
    T dphi(const T& t) const { return 2.0 * cube(t) - 16.0 * t + 2.5; }
};

// Rastrigin: f(x) = a n + sum_i (x_i^2 - a cos(2 pi x_i)).
struct Rastrigin : Separable<Rastrigin> {
    static constexpr const char* name = "rastrigin";
    static constexpr double two_pi = 6.283185307179586476925286766559;
    double a = 10.0;

    explicit Rastrigin(double a_ = 10.0) : a(a_) {}
    double constant(std::size_t n) const { return a * static_cast<double>(n); }
    double phi(double t) const { return t * t - a * std::cos(two_pi * t); }
    template <class T>
    T dphi(const T& t) const {
        using std::sin;
        return 2.0 * t + (two_pi * a) * sin(two_pi * t);
    }
};

}  // namespace functions
HESSPROBE_NAMESPACE_END
