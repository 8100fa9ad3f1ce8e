// A user's C++ function for hp.compile_gradient: the extended Rosenbrock function written
// as a user writes it against the public API (hessprobe/export.hpp), the same shape as the
// built-in (cpp/include/hessprobe/functions/rosenbrock.hpp), so that the bench compares the
// compiled path with the built-in one on identical work.
#include <algorithm>
#include <cstddef>

struct UserRosenbrock : hessprobe::Stateless {
    static constexpr const char* name = "user_rosenbrock";
    std::size_t min_size() const { return 2; }
    int bandwidth() const { return 1; }

    template <class T, class In, class Out>
    void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end, std::size_t n) const {
        std::size_t i = begin;
        if (i == 0 && i < end) {
            const T x0 = x(0);
            g.set(0, -400.0 * x0 * (x(1) - x0 * x0) - 2.0 * (1.0 - x0));
            ++i;
        }
        const std::size_t interior = std::min(end, n - 1);
        for (; i < interior; ++i) {
            const T xi = x(i), xm = x(i - 1);
            g.set(i, 200.0 * (xi - xm * xm) - 400.0 * xi * (x(i + 1) - xi * xi) - 2.0 * (1.0 - xi));
        }
        if (i < end) {
            const T xm = x(i - 1);
            g.set(i, 200.0 * (x(i) - xm * xm));
        }
    }
};
