// The public C++ API: a user's function, written as a built-in is written, exported
// through the C ABI of abi.h with every engine of the core instantiated on it.
//
//     #include <hessprobe/export.hpp>
//
//     struct Wood : hessprobe::Stateless {          // or a State of its own (concept.hpp)
//         static constexpr const char* name = "wood";
//         std::size_t min_size() const { return 4; }
//         int bandwidth() const { return 3; }        // -1: dense or unknown
//         double value(const double* x, std::size_t n) const;   // optional
//         template <class T, class In, class Out>
//         void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end,
//                       std::size_t n) const;       // g.set(i, g_i) for i in [begin, end)
//     };
//     HESSPROBE_EXPORT(Wood)
//
// HESSPROBE_EXPORT defines the C factory hessprobe_create_source_v1 that
// hessprobe.compile_gradient loads; an extension module instead returns
// hessprobe::make_capsule(Wood{}) (capsule.hpp) to Python.  Either way the gradient is
// inlined into the engines (gradient, hvp on 1, 4 and 8 dual lanes, hessian,
// hessian_diag, Hutchinson probing) compiled in the user's shared object: built-in speed
// and built-in results, bit for bit, when compiled with the flags of the core build in
// use (hessprobe.compiled.compiler_flags(): -O3 -std=c++17 -ffp-contract=off, its ISA).
//
// Optional members, as for a built-in: fixed_size() (0: any n), min_size() (1), bandwidth()
// (-1), value().  bandwidth() b >= 0 promises both H_ij = 0 for |i - j| > b and that g_i
// reads x(j) only for |i - j| <= b: a stateless function then probes chunk by chunk with
// local signs (the built-ins' fast schedule), which reads nothing outside that band.  A function whose type is constructible from (const double* params,
// std::size_t count) receives the params given to compile_gradient(params=...).
//
// Include this header before any other hessprobe header: it puts the engines in their
// own inline namespace (hessprobe::ext), so that they never share a template
// instantiation with hessprobe's own core loaded in the same process.
#pragma once

#ifndef HESSPROBE_ARCH
#define HESSPROBE_ARCH ext
#endif

#include "hessprobe/abi.h"
#include "hessprobe/config.hpp"

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "hessprobe/dual.hpp"
#include "hessprobe/functions/concept.hpp"
#include "hessprobe/hvp.hpp"
#include "hessprobe/probing.hpp"

#define HESSPROBE_EXPORT_STR2(x) #x
#define HESSPROBE_EXPORT_STR(x) HESSPROBE_EXPORT_STR2(x)

HESSPROBE_NAMESPACE_BEGIN
namespace exported {

// The optional members of a user's function, with their defaults.
template <class F, class = void>
struct has_min_size : std::false_type {};
template <class F>
struct has_min_size<F, std::void_t<decltype(std::declval<const F&>().min_size())>> : std::true_type {};
template <class F, class = void>
struct has_fixed_size : std::false_type {};
template <class F>
struct has_fixed_size<F, std::void_t<decltype(std::declval<const F&>().fixed_size())>> : std::true_type {};
template <class F, class = void>
struct has_bandwidth : std::false_type {};
template <class F>
struct has_bandwidth<F, std::void_t<decltype(std::declval<const F&>().bandwidth())>> : std::true_type {};
template <class F, class = void>
struct has_value : std::false_type {};
template <class F>
struct has_value<F, std::void_t<decltype(std::declval<const F&>().value(static_cast<const double*>(nullptr),
                                                                           std::size_t{}))>> : std::true_type {};
// Whether F has the gradient of the contract (concept.hpp), on double and on Dual<8>.
template <class F, class T, class In, class Out, class = void>
struct has_gradient_on : std::false_type {};
template <class F, class T, class In, class Out>
struct has_gradient_on<
    F, T, In, Out,
    std::void_t<decltype(std::declval<const F&>().template gradient<T>(
        std::declval<const In&>(), std::declval<const decltype(std::declval<const F&>().template make_state<T>(
                                       std::size_t{}))&>(),
        std::declval<Out&>(), std::size_t{}, std::size_t{}, std::size_t{}))>> : std::true_type {};
template <class F>
inline constexpr bool has_gradient = has_gradient_on<F, double, PointInput, GradientOutput>::value &&
                                     has_gradient_on<F, Dual<8>, RowWindow<8>, RowOutput<8>>::value;
template <class F, class = void>
struct has_state_parts : std::false_type {};
template <class F>
struct has_state_parts<F, std::void_t<decltype(std::declval<const F&>().prepare_parts(std::size_t{}))>>
    : std::true_type {};
template <class>
inline constexpr bool always_false = false;

template <class F, class = void>
struct has_name : std::false_type {};
template <class F>
struct has_name<F, std::void_t<decltype(F::name)>> : std::true_type {};

// The user's function with the defaults filled in: what the engines see.
template <class F>
struct Adapted : F {
    explicit Adapted(F f) : F(std::move(f)) {}
    std::size_t min_size() const {
        if constexpr (has_min_size<F>::value) return F::min_size(); else return 1;
    }
    std::size_t fixed_size() const {
        if constexpr (has_fixed_size<F>::value) return F::fixed_size(); else return 0;
    }
    int bandwidth() const {
        if constexpr (has_bandwidth<F>::value) return F::bandwidth(); else return -1;
    }
};

inline void write_message(hessprobe_error* err, const char* what) {
    if (err == nullptr) return;
    std::snprintf(err->message, sizeof err->message, "%s", what);
}

// Stops a probing run when the caller's between_rounds callback returns nonzero.
struct Stopped {};

// Runs work(), turning any exception into a status and a message: nothing may unwind
// through the C ABI.
template <class Work>
int guarded(hessprobe_error* err, Work&& work) noexcept {
    try {
        std::forward<Work>(work)();
        return HESSPROBE_OK;
    } catch (const Stopped&) {
        write_message(err, "stopped by the caller");
        return HESSPROBE_CALLBACK_FAILED;
    } catch (const std::invalid_argument& e) {
        write_message(err, e.what());
        return HESSPROBE_INVALID_ARGUMENT;
    } catch (const std::exception& e) {
        write_message(err, e.what());
        return HESSPROBE_ERROR;
    } catch (...) {
        write_message(err, "the compiled function threw an exception that is not a std::exception");
        return HESSPROBE_ERROR;
    }
}

// The heap object behind a table: the table itself and the function it serves.
template <class F>
struct Holder {
    hessprobe_source_v1 table;
    Adapted<F> f;

    explicit Holder(F fn) : table{}, f(std::move(fn)) {}

    static const Adapted<F>& fn(void* self) { return static_cast<Holder*>(self)->f; }

    static void destroy(void* self) { delete static_cast<Holder*>(self); }

    static int value(void* self, const double* x, std::size_t n, double* out, hessprobe_error* err) {
        return guarded(err, [&] {
            if constexpr (has_value<F>::value)
                *out = fn(self).value(x, n);
            else
                throw std::logic_error("this compiled function has no value()");
        });
    }
    static int gradient(void* self, const double* x, std::size_t n, double* g, int threads, hessprobe_error* err) {
        return guarded(err, [&] { hessprobe::gradient(fn(self), x, n, g, threads); });
    }
    static int hvp(void* self, const double* x, std::size_t n, const double* V, double* HV, std::size_t rows,
                   int threads, hessprobe_error* err) {
        return guarded(err, [&] { hessprobe::hvp(fn(self), x, n, V, HV, rows, threads); });
    }
    static int hessian(void* self, const double* x, std::size_t n, double* H, int threads, hessprobe_error* err) {
        return guarded(err, [&] { hessprobe::hessian(fn(self), x, n, H, threads); });
    }
    static int hessian_diag(void* self, const double* x, std::size_t n, double* diag, int threads,
                            hessprobe_error* err) {
        return guarded(err, [&] { hessprobe::hessian_diag(fn(self), x, n, diag, threads); });
    }
    static int probe(void* self, const double* x, std::size_t n, hessprobe_probe_args* a, hessprobe_error* err) {
        return guarded(err, [&] {
            ProbeOptions opt;
            opt.probes = a->probes;
            opt.seed = a->seed;
            opt.threads = a->threads;
            opt.tol = a->tol;
            opt.first_block = a->first_block;
            opt.block_count = a->block_count;
            if (a->between_rounds != nullptr) {
                const hessprobe_between_rounds cb = a->between_rounds;
                void* context = a->context;
                opt.between_rounds = [cb, context](std::size_t done) {
                    if (cb(context, done) != 0) throw Stopped{};
                };
            }
            ProbeResult r = hessprobe::probe(fn(self), x, n, opt, DiagonalOutput{a->diagonal, a->diagonal_stderr, a->reference});
            for (std::size_t j = 0; j < r.trace_samples.size() && j < a->probes; ++j)
                a->trace_samples[j] = r.trace_samples[j];
            a->trace = r.trace;
            a->trace_stderr = r.trace_stderr;
            a->done = r.probes;
        });
    }
};

#ifndef HESSPROBE_USER_FLAGS
#define HESSPROBE_USER_FLAGS ""
#endif

// A new table serving f; released by table->destroy(table->self).
template <class F>
const hessprobe_source_v1* make_table(F f);

// Checks F against the contract before anything is instantiated on it, so that a wrong
// signature is one clear error rather than pages of template backtrace.
template <class F>
constexpr bool check_contract() {
    if constexpr (!has_state_parts<F>::value) {
        static_assert(always_false<F>,
                      "hessprobe: the function must derive from hessprobe::Stateless or define the state parts "
                      "make_state<T>(n), prepare_parts(n), prepare<T>(state, x, part, n), finish<T>(state) "
                      "(see hessprobe/functions/concept.hpp)");
        return false;
    } else if constexpr (!has_gradient<F>) {
        static_assert(always_false<F>,
                      "hessprobe: the function needs template <class T, class In, class Out> void gradient("
                      "const In& x, const State& s, Out& g, std::size_t begin, std::size_t end, std::size_t n) "
                      "const, calling g.set(i, g_i) for i in [begin, end) (see hessprobe/functions/concept.hpp)");
        return false;
    } else {
        return true;
    }
}

template <class F>
const hessprobe_source_v1* make_table(F f) {
    static_assert(std::is_move_constructible<F>::value, "hessprobe: a compiled function must be movable");
    auto holder = std::make_unique<Holder<F>>(std::move(f));
    hessprobe_source_v1& t = holder->table;
    t.abi_version = HESSPROBE_ABI_VERSION;
    t.struct_size = sizeof(hessprobe_source_v1);
    if constexpr (has_name<F>::value)
        t.name = F::name;
    else
        t.name = "compiled";
    t.self = holder.get();
    t.min_size = holder->f.min_size();
    t.fixed_size = holder->f.fixed_size();
    t.bandwidth = holder->f.bandwidth();
    t.has_value = has_value<F>::value ? 1 : 0;
    for (int i = 0; i < 3; ++i) t.lanes[i] = lane_counts[i];
    t.flags = HESSPROBE_USER_FLAGS;
    t.destroy = &Holder<F>::destroy;
    t.value = &Holder<F>::value;
    t.gradient = &Holder<F>::gradient;
    t.hvp = &Holder<F>::hvp;
    t.hessian = &Holder<F>::hessian;
    t.hessian_diag = &Holder<F>::hessian_diag;
    t.probe = &Holder<F>::probe;
    return &holder.release()->table;
}

// The factory of HESSPROBE_EXPORT: F(params, count) when F takes them, else F{}.
template <class F>
const hessprobe_source_v1* create(const double* params, std::size_t count, hessprobe_error* err) noexcept {
    const hessprobe_source_v1* table = nullptr;
    if constexpr (!check_contract<F>()) {
        return nullptr;
    } else {
    const int status = guarded(err, [&] {
        if constexpr (std::is_constructible<F, const double*, std::size_t>::value) {
            table = make_table(F(params, count));
        } else {
            if (count != 0)
                throw std::invalid_argument(std::string("params: this function takes none, got ") +
                                            std::to_string(count) + " (give it a constructor F(const double*, "
                                                                    "std::size_t) to receive them)");
            table = make_table(F{});
        }
    });
    return status == HESSPROBE_OK ? table : nullptr;
    }
}

}  // namespace exported
HESSPROBE_NAMESPACE_END

#if defined(_WIN32)
#define HESSPROBE_EXPORT_VISIBILITY __declspec(dllexport)
#else
#define HESSPROBE_EXPORT_VISIBILITY __attribute__((visibility("default")))
#endif

// Exports the function type F (one per shared object) as the C factory that
// hessprobe.compile_gradient loads.
#define HESSPROBE_EXPORT(F)                                                                          \
    extern "C" HESSPROBE_EXPORT_VISIBILITY const hessprobe_source_v1* hessprobe_create_source_v1(   \
        const double* params, std::size_t count, hessprobe_error* err) {                            \
        return ::hessprobe::exported::create<F>(params, count, err);                                 \
    }
