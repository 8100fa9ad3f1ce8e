// A dense-coupled function with a state part: f = sum x_i^4 + w (sum x_i)^2, so
// g_i = 4 x_i^3 + 2 w S and H = diag(12 x_i^2) + 2 w 1 1'.  S is whole-vector state: summed
// per part of 1000 coordinates (concurrently), the parts combined in order by finish().
// The weight w comes in as params[0] (default 1).
#include <algorithm>
#include <cstddef>
#include <vector>

struct QuarticPlusSquaredSum {
    static constexpr const char* name = "quartic_plus_squared_sum";
    static constexpr std::size_t part_size = 1000;
    double w = 1.0;

    QuarticPlusSquaredSum(const double* params, std::size_t count) : w(count > 0 ? params[0] : 1.0) {}

    double value(const double* x, std::size_t n) const {
        double f = 0.0, s = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            f += x[i] * x[i] * x[i] * x[i];
            s += x[i];
        }
        return f + w * s * s;
    }

    template <class T>
    struct State {
        std::vector<T> sums;  // one per part; finish() leaves the total in [0]
    };
    std::size_t prepare_parts(std::size_t n) const { return (n + part_size - 1) / part_size; }
    template <class T>
    State<T> make_state(std::size_t n) const { return State<T>{std::vector<T>(prepare_parts(n))}; }
    template <class T, class In>
    void prepare(State<T>& st, const In& x, std::size_t part, std::size_t n) const {
        T s(0.0);
        for (std::size_t i = part * part_size; i < std::min(n, (part + 1) * part_size); ++i) s += x(i);
        st.sums[part] = s;
    }
    template <class T>
    void finish(State<T>& st) const {
        T s = st.sums[0];
        for (std::size_t p = 1; p < st.sums.size(); ++p) s += st.sums[p];
        st.sums.assign(1, s);
    }

    template <class T, class In, class Out>
    void gradient(const In& x, const State<T>& st, Out& g, std::size_t begin, std::size_t end, std::size_t) const {
        const T two_ws = (2.0 * w) * st.sums[0];
        for (std::size_t i = begin; i < end; ++i) {
            const T xi = x(i);
            g.set(i, 4.0 * xi * xi * xi + two_ws);
        }
    }
};
