// The extended Powell singular function (n a multiple of 4), blocks (a, b, c, d) = x[4j .. 4j + 3]:
//     f = sum_j (a + 10 b)^2 + 5 (c - d)^2 + (b - 2 c)^4 + 10 (a - d)^4.
// Block diagonal, blocks of 4: half-bandwidth 3.
#include <cstddef>
#include <stdexcept>

struct ExtendedPowell : hessprobe::Stateless {
    static constexpr const char* name = "extended_powell";
    std::size_t min_size() const { return 4; }
    int bandwidth() const { return 3; }

    template <class T, class In, class Out>
    void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end, std::size_t n) const {
        if (n % 4 != 0) throw std::invalid_argument("extended_powell needs n divisible by 4");
        for (std::size_t i = begin; i < end; ++i) {
            const std::size_t s = i - i % 4;
            const T a = x(s), b = x(s + 1), c = x(s + 2), d = x(s + 3);
            const T p = a + 10.0 * b, q = c - d, r = b - 2.0 * c, t = a - d;
            switch (i % 4) {
                case 0: g.set(i, 2.0 * p + 40.0 * t * t * t); break;
                case 1: g.set(i, 20.0 * p + 4.0 * r * r * r); break;
                case 2: g.set(i, 10.0 * q - 8.0 * r * r * r); break;
                default: g.set(i, -10.0 * q - 40.0 * t * t * t); break;
            }
        }
    }
};
