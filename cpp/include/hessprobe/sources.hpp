// Gradient sources the core can only call: a user's Python function (plain or
// vectorized, implemented in the bindings) or a native function pointer.  Their Hessian
// products come from finite differences (finite_difference.hpp).
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <complex>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "hessprobe/parallel.hpp"

HESSPROBE_NAMESPACE_BEGIN

class GradientSource {
  public:
    using Writer = std::function<void(double*)>;
    using Reader = std::function<void(const double*)>;
    using PairReader = std::function<void(const double*, const double*)>;
    using ComplexWriter = std::function<void(std::complex<double>*)>;
    using ComplexReader = std::function<void(const std::complex<double>*)>;

    virtual ~GradientSource() = default;

    // Gradients at `count` (<= max_batch()) points of size n: write(points) fills the
    // row-major (count, n) points, read(grads) receives the (count, n) gradients, valid
    // during the call only.  May run on several threads at once.
    virtual void evaluate(std::size_t count, std::size_t n, const Writer& write, const Reader& read) = 0;

    // Gradients at two points, both handed to read(g_a, g_b): a central difference reads
    // the pair in one pass.  The default keeps a copy of the first.
    virtual void evaluate_pair(std::size_t n, const Writer& write_a, const Writer& write_b, const PairReader& read) {
        std::vector<double> first(n);
        evaluate(1, n, write_a, [&](const double* g) { std::copy(g, g + n, first.data()); });
        evaluate(1, n, write_b, [&](const double* g) { read(first.data(), g); });
    }

    // The same at complex points, for the complex-step scheme.
    virtual void evaluate_complex(std::size_t /*count*/, std::size_t /*n*/, const ComplexWriter& /*write*/,
                                  const ComplexReader& /*read*/) {
        throw std::invalid_argument(
            "scheme='complex' needs a Python gradient that accepts complex input; this source is real only");
    }

    // Points worth passing in one call: 1 for a per-point function.
    virtual std::size_t max_batch() const { return 1; }

    // Called once before a run on `threads` threads (per-thread scratch).
    virtual void prepare(int /*threads*/, std::size_t /*n*/) {}
};

// A C gradient int fn(npy_intp n, double* x, double* g, void* user_data) returning 1 on
// success (the scipy.ndimage LowLevelCallable convention: a numba cfunc or ctypes callback
// that raises returns 0).  Called from any thread without the GIL; the output is filled
// with NaN first so that entries it forgets to write are caught.
class NativeGradient final : public GradientSource {
  public:
    using Function = int (*)(std::ptrdiff_t, double*, double*, void*);

    NativeGradient(Function fn, void* user_data) : fn_(fn), user_data_(user_data) {}

    // Per thread: a point and two gradients.
    void prepare(int threads, std::size_t n) override {
        scratch_.assign(static_cast<std::size_t>(threads), std::vector<double>(3 * n));
    }

    void evaluate(std::size_t count, std::size_t n, const Writer& write, const Reader& read) override {
        if (count != 1) throw std::logic_error("NativeGradient takes one point a call");
        double* point = scratch(n);
        read(call(n, write, point, point + n));
    }

    void evaluate_pair(std::size_t n, const Writer& write_a, const Writer& write_b, const PairReader& read) override {
        double* point = scratch(n);
        const double* ga = call(n, write_a, point, point + n);
        const double* gb = call(n, write_b, point, point + 2 * n);
        read(ga, gb);
    }

  private:
    double* scratch(std::size_t n) {
        std::vector<double>& buffer = scratch_.at(static_cast<std::size_t>(thread_index()));
        if (buffer.size() < 3 * n) throw std::logic_error("NativeGradient used before prepare()");
        return buffer.data();
    }

    const double* call(std::size_t n, const Writer& write, double* point, double* grad) {
        write(point);
        std::fill(grad, grad + n, std::numeric_limits<double>::quiet_NaN());
        const int status = fn_(static_cast<std::ptrdiff_t>(n), point, grad, user_data_);
        if (status != 1)
            throw std::runtime_error("the native gradient (LowLevelCallable) returned " + std::to_string(status) +
                                     ", not 1 (success); it failed at a point of the run");
        return grad;
    }

    Function fn_;
    void* user_data_;
    std::vector<std::vector<double>> scratch_;
};

HESSPROBE_NAMESPACE_END
