// Mean logistic loss of a linear model with labels y_i in {0, 1}, plus a ridge term:
//     f(w) = 1/m sum_i [log(1 + exp(z_i)) - y_i z_i] + l2/2 ||w||^2,   z = X w,
//     g(w) = X' (sigmoid(z) - y) / m + l2 w,
//     H(w) = X' diag(s (1 - s)) X / m + l2 I,   s = sigmoid(z).
// X is the caller's row-major (m, d) matrix (a view); it must outlive the function.
// The state is the residual r = (sigmoid(X w) - y) / m, computed in parts of rows.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "hessprobe/dual.hpp"
#include "hessprobe/functions/concept.hpp"

HESSPROBE_NAMESPACE_BEGIN
namespace functions {

struct LogisticRegression {
    static constexpr const char* name = "logistic_regression";
    static constexpr std::size_t rows_per_part = 256;
    const double* X;
    const double* y;
    std::size_t m, d;
    double l2;

    LogisticRegression(const double* X_, const double* y_, std::size_t m_, std::size_t d_, double l2_)
        : X(X_), y(y_), m(m_), d(d_), l2(l2_) {}
    std::size_t min_size() const { return 1; }
    std::size_t fixed_size() const { return d; }
    int bandwidth() const { return -1; }

    double value(const double* w, std::size_t /*n*/) const {
        double loss = 0.0;
        for (std::size_t i = 0; i < m; ++i) {
            double z = 0.0;
            for (std::size_t j = 0; j < d; ++j) z += X[i * d + j] * w[j];
            loss += softplus(z) - y[i] * z;
        }
        double ww = 0.0;
        for (std::size_t j = 0; j < d; ++j) ww += w[j] * w[j];
        return loss / static_cast<double>(m) + 0.5 * l2 * ww;
    }

    template <class T>
    struct State {
        std::vector<T> residual;  // (sigmoid(z_i) - y_i) / m
    };
    template <class T>
    State<T> make_state(std::size_t /*n*/) const { return State<T>{std::vector<T>(m)}; }
    std::size_t prepare_parts(std::size_t /*n*/) const { return (m + rows_per_part - 1) / rows_per_part; }

    template <class T, class In>
    void prepare(State<T>& s, const In& w, std::size_t part, std::size_t /*n*/) const {
        const double inv_m = 1.0 / static_cast<double>(m);
        const std::size_t begin = part * rows_per_part, end = std::min(m, begin + rows_per_part);
        for (std::size_t i = begin; i < end; ++i) {
            const double* row = X + i * d;
            T z(0.0);
            for (std::size_t j = 0; j < d; ++j) z += row[j] * w(j);
            s.residual[i] = (sigmoid(z) - y[i]) * inv_m;
        }
    }
    template <class T>
    void finish(State<T>& /*s*/) const {}

    template <class T, class In, class Out>
    void gradient(const In& w, const State<T>& s, Out& g, std::size_t begin, std::size_t end,
                  std::size_t /*n*/) const {
        std::vector<T> acc(end - begin, T(0.0));
        for (std::size_t i = 0; i < m; ++i) {
            const double* row = X + i * d;
            const T& r = s.residual[i];
            for (std::size_t j = begin; j < end; ++j) acc[j - begin] += row[j] * r;
        }
        for (std::size_t j = begin; j < end; ++j) g.set(j, acc[j - begin] + l2 * w(j));
    }
};

}  // namespace functions
HESSPROBE_NAMESPACE_END
