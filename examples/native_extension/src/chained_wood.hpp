// The chained Wood function (n even, n >= 4), a user's function that is no built-in:
//     f = sum_{s = 0, 2, ..., n-4} 100 (a^2 - b)^2 + (a - 1)^2 + 90 (c^2 - d)^2 + (c - 1)^2
//                                 + 10.1 ((b - 1)^2 + (d - 1)^2) + 19.8 (b - 1)(d - 1),
// (a, b, c, d) = x[s .. s + 3].  The blocks overlap by two: the Hessian has half-bandwidth 2.
#include <algorithm>
#include <cstddef>
#include <stdexcept>

struct ChainedWood : hessprobe::Stateless {
    static constexpr const char* name = "chained_wood";
    std::size_t min_size() const { return 4; }
    int bandwidth() const { return 2; }

    double value(const double* x, std::size_t n) const {
        if (n % 2 != 0) throw std::invalid_argument("chained_wood needs an even n");
        double f = 0.0;
        for (std::size_t s = 0; s + 3 < n; s += 2) {
            const double a = x[s], b = x[s + 1], c = x[s + 2], d = x[s + 3];
            f += 100.0 * (a * a - b) * (a * a - b) + (a - 1.0) * (a - 1.0) + 90.0 * (c * c - d) * (c * c - d) +
                 (c - 1.0) * (c - 1.0) + 10.1 * ((b - 1.0) * (b - 1.0) + (d - 1.0) * (d - 1.0)) +
                 19.8 * (b - 1.0) * (d - 1.0);
        }
        return f;
    }

    // g_i: the partial derivatives of every block s (even, s <= i <= s + 3) that holds x_i.
    template <class T, class In, class Out>
    void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end, std::size_t n) const {
        if (n % 2 != 0) throw std::invalid_argument("chained_wood needs an even n");
        for (std::size_t i = begin; i < end; ++i) {
            T gi(0.0);
            const std::size_t first = i >= 3 ? (i - 2) & ~std::size_t{1} : 0;
            for (std::size_t s = first; s <= i && s + 3 < n; s += 2) {
                // read only what the case uses: g_i reads x within the declared band (2)
                switch (i - s) {
                    case 0: {
                        const T a = x(s), b = x(s + 1);
                        gi += 400.0 * a * (a * a - b) + 2.0 * (a - 1.0);
                        break;
                    }
                    case 1: {
                        const T a = x(s), b = x(s + 1), d = x(s + 3);
                        gi += -200.0 * (a * a - b) + 20.2 * (b - 1.0) + 19.8 * (d - 1.0);
                        break;
                    }
                    case 2: {
                        const T c = x(s + 2), d = x(s + 3);
                        gi += 360.0 * c * (c * c - d) + 2.0 * (c - 1.0);
                        break;
                    }
                    default: {
                        const T b = x(s + 1), c = x(s + 2), d = x(s + 3);
                        gi += -180.0 * (c * c - d) + 20.2 * (d - 1.0) + 19.8 * (b - 1.0);
                        break;
                    }
                }
            }
            g.set(i, gi);
        }
    }
};
