// Hutchinson estimators: with Rademacher probes v (independent +-1 entries),
//     E[v * (H v)] = diag(H)   and   E[v . (H v)] = trace(H).
// Probes run in blocks of K = 8 lanes.  Each block is one pass of K dual lanes over a
// built-in's gradient, or K finite-difference products of a gradient source; its samples
// s = v * (H v) are added per coordinate right away, so the scratch memory is a few
// n-vectors however many probes there are.
//
// Reproducibility: probe j is a pure function of (seed, j) (rng.hpp); the work of a block
// is split by coordinate chunks, so each coordinate's sums are added by one thread in
// block order, and per-probe trace samples are summed over chunks in chunk order.  The
// result is bitwise the same for any thread count.
//
// Numerics: samples are accumulated shifted by the first probe's sample, S1 = sum (s - s_0)
// and S2 = sum (s - s_0)^2, which avoids the cancellation of sum s^2 - (sum s)^2 / m and
// makes a coordinate whose samples are all equal (a diagonal Hessian) come out with its
// exact value and a standard error of exactly 0.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "hessprobe/dual.hpp"
#include "hessprobe/evaluate.hpp"
#include "hessprobe/finite_difference.hpp"
#include "hessprobe/hvp.hpp"
#include "hessprobe/lanes.hpp"
#include "hessprobe/parallel.hpp"
#include "hessprobe/rng.hpp"

namespace hessprobe {

inline constexpr int probe_lanes = 8;

struct ProbeOptions {
    std::size_t probes = 1000;
    std::uint64_t seed = 0;
    int threads = 1;
    bool diagonal = true;                 // false: the trace only (no per-coordinate sums)
    std::function<void()> between_blocks;  // e.g. a Ctrl-C check; may throw
};

struct ProbeResult {
    std::vector<double> diagonal, diagonal_stderr;  // empty for a trace-only run
    std::vector<double> trace_samples;              // v_j . (H v_j), one per probe
    double trace = 0.0, trace_stderr = 0.0;
    std::size_t probes = 0;
};

// Per-coordinate shifted sums and per-probe trace samples of one run.
class ProbeSums {
  public:
    static constexpr int K = probe_lanes;

    ProbeSums(std::size_t n, std::size_t probes, bool diagonal)
        : n_(n), diagonal_(diagonal), signs_(n), trace_parts_(chunk_count(n) * K), samples_(probes) {
        if (diagonal_) {
            ref_.resize(n);
            s1_.assign(n, 0.0);
            s2_.assign(n, 0.0);
        }
    }

    const std::uint8_t* signs() const { return signs_.data(); }

    // The block's sign bytes (SPMD).
    void make_signs(std::uint64_t seed, std::size_t first, std::size_t active, ExceptionVault& vault) {
        std::uint64_t keys[K] = {};
        for (std::size_t k = 0; k < active; ++k) keys[k] = probe_key(seed, first + k);
        const auto words = static_cast<std::ptrdiff_t>(sign_words(n_));
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(static)
#endif
        for (std::ptrdiff_t w = 0; w < words; ++w)
            vault.run([&] {
                fill_sign_bytes(keys, static_cast<int>(active), static_cast<std::size_t>(w), n_, signs_.data());
            });
    }

    // The output of chunk c of a block.  The gradient code stores the K lanes of H v per
    // coordinate into a chunk-local buffer (set); flush() then folds the whole chunk into
    // the sums in one tight loop, whose accumulators stay in registers.
    class Sink {
      public:
        Sink(ProbeSums& sums, std::size_t chunk, std::size_t begin, std::size_t end, std::size_t active,
             bool first_block)
            : sums_(sums), chunk_(chunk), begin_(begin), end_(end), active_(active), first_block_(first_block) {}

        template <int L>
        void set(std::size_t i, const Dual<L>& g) {
            double* lanes = buffer_ + (i - begin_) * K;
            for (int k = 0; k < K; ++k) lanes[k] = g.d[k];
        }
        double* lanes(std::size_t i) { return buffer_ + (i - begin_) * K; }

        void flush() const {
            double mask[K];
            for (int k = 0; k < K; ++k) mask[k] = static_cast<std::size_t>(k) < active_ ? 1.0 : 0.0;
            const double(*table)[8] = SignTable::get().row;
            const std::uint8_t* signs = sums_.signs_.data();
            double trace[K] = {};
            double* ref = sums_.ref_.data();
            double* s1 = sums_.s1_.data();
            double* s2 = sums_.s2_.data();
            for (std::size_t i = begin_; i < end_; ++i) {
                const double* v = table[signs[i]];
                const double* hv = buffer_ + (i - begin_) * K;
                double s[K];
                for (int k = 0; k < K; ++k) {
                    s[k] = v[k] * hv[k] * mask[k];
                    trace[k] += s[k];
                }
                if (!sums_.diagonal_) continue;
                if (first_block_) ref[i] = s[0];
                const double r = ref[i];
                double d[K], dd[K];
                for (int k = 0; k < K; ++k) {
                    d[k] = (s[k] - r) * mask[k];
                    dd[k] = d[k] * d[k];
                }
                // Pairwise over lanes: a fixed order, and short dependency chains.
                for (int w = K / 2; w > 0; w /= 2)
                    for (int k = 0; k < w; ++k) {
                        d[k] += d[k + w];
                        dd[k] += dd[k + w];
                    }
                s1[i] += d[0];
                s2[i] += dd[0];
            }
            std::copy(trace, trace + K, sums_.trace_parts_.data() + chunk_ * K);
        }

      private:
        ProbeSums& sums_;
        std::size_t chunk_, begin_, end_, active_;
        bool first_block_;
        double buffer_[chunk_size * K];
    };

    // After a block (one thread): the trace samples of its probes, chunks in order.
    void finish_block(std::size_t first, std::size_t active) {
        const std::size_t chunks = chunk_count(n_);
        for (std::size_t k = 0; k < active; ++k) {
            double t = 0.0;
            for (std::size_t c = 0; c < chunks; ++c) t += trace_parts_[c * K + k];
            samples_[first + k] = t;
        }
    }

    ProbeResult result() {
        ProbeResult r;
        const std::size_t m = samples_.size();
        r.probes = m;
        const double dm = static_cast<double>(m);
        const double nan = std::numeric_limits<double>::quiet_NaN();
        if (diagonal_) {
            r.diagonal.resize(n_);
            r.diagonal_stderr.resize(n_);
            for (std::size_t i = 0; i < n_; ++i) {
                r.diagonal[i] = ref_[i] + s1_[i] / dm;
                r.diagonal_stderr[i] = m > 1 ? stderr_of(s1_[i], s2_[i], dm) : nan;
            }
        }
        double s1 = 0.0, s2 = 0.0;
        for (double t : samples_) {
            s1 += t - samples_[0];
            s2 += (t - samples_[0]) * (t - samples_[0]);
        }
        r.trace = samples_[0] + s1 / dm;
        r.trace_stderr = m > 1 ? stderr_of(s1, s2, dm) : nan;
        r.trace_samples = std::move(samples_);
        return r;
    }

  private:
    // Standard error of the mean from shifted sums: sqrt(var / m), var the unbiased sample variance.
    static double stderr_of(double s1, double s2, double m) {
        const double var = std::max(0.0, (s2 - s1 * s1 / m) / (m - 1.0));
        return std::sqrt(var / m);
    }

    std::size_t n_;
    bool diagonal_;
    std::vector<std::uint8_t> signs_;
    std::vector<double> ref_, s1_, s2_;
    std::vector<double> trace_parts_;
    std::vector<double> samples_;
};

// The block loop shared by both engines.  block(first, active, first_block) does one
// block's work (SPMD) and must feed every coordinate to sums' sinks.
template <class Block>
ProbeResult run_probes(const ProbeOptions& opt, ProbeSums& sums, ExceptionVault& vault,
                       Block&& block) {
    constexpr std::size_t K = probe_lanes;
    const std::size_t blocks = (opt.probes + K - 1) / K;
    bool stop = false;
    run_team(opt.threads, [&] {
        for (std::size_t b = 0; b < blocks; ++b) {
            const std::size_t first = b * K, active = std::min(K, opt.probes - first);
            sums.make_signs(opt.seed, first, active, vault);
            block(first, active, b == 0);
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp master
#endif
            {
                vault.run([&] {
                    sums.finish_block(first, active);
                    if (opt.between_blocks) opt.between_blocks();
                });
                stop = vault.stopped();
            }
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp barrier
#endif
            if (stop) break;  // every thread reads the master's verdict after the barrier
        }
    });
    vault.rethrow();
    return sums.result();
}

// Hutchinson probing of a built-in: each block is one pass of K dual lanes seeded with
// the block's signs.
template <class F>
ProbeResult probe(const F& f, const double* x, std::size_t n, const ProbeOptions& opt) {
    constexpr int K = probe_lanes;
    ProbeSums sums(n, opt.probes, opt.diagonal);
    auto state = f.template make_state<Dual<K>>(n);
    ExceptionVault vault;
    std::atomic<int> bad{all_inputs_finite};
    const SignInput<K> in{x, sums.signs()};
    auto result = run_probes(opt, sums, vault, [&](std::size_t, std::size_t active, bool first_block) {
        gradient_pass<Dual<K>>(
            f, state, in, n, CheckX{x},
            [&](std::size_t c, std::size_t begin, std::size_t end) {
                return ProbeSums::Sink(sums, c, begin, end, active, first_block);
            },
            vault, bad);
    });
    require_finite(bad);
    return result;
}

// Hutchinson probing of a gradient source by finite differences: each block is K
// products H v computed by the source, then added coordinate chunk by chunk.  step 0
// means the scheme's default.
inline ProbeResult probe(FiniteDifference& fd, std::size_t n, const ProbeOptions& opt, double step) {
    constexpr int K = probe_lanes;
    ProbeSums sums(n, opt.probes, opt.diagonal);
    std::vector<double> hv(static_cast<std::size_t>(K) * n);
    const double h = step > 0.0 ? step : default_step(fd.scheme(), fd.rms_x(), 1.0);  // Rademacher: rms(v) = 1
    const double steps[K] = {h, h, h, h, h, h, h, h};
    const SignTable& table = SignTable::get();
    const std::uint8_t* signs = sums.signs();
    auto dir = [&](std::size_t k, std::size_t i) { return table.row[signs[i]][k]; };
    ExceptionVault vault;
    return run_probes(opt, sums, vault, [&](std::size_t, std::size_t active, bool first_block) {
        fd.hvp_rows(dir, steps, active, hv.data(), vault);
        const auto chunks = static_cast<std::ptrdiff_t>(chunk_count(n));
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(static)
#endif
        for (std::ptrdiff_t c = 0; c < chunks; ++c)
            vault.run([&] {
                const std::size_t begin = static_cast<std::size_t>(c) * chunk_size;
                const std::size_t end = std::min(n, begin + chunk_size);
                ProbeSums::Sink sink(sums, static_cast<std::size_t>(c), begin, end, active, first_block);
                for (std::size_t i = begin; i < end; ++i) {
                    double* lanes = sink.lanes(i);
                    for (std::size_t k = 0; k < K; ++k) lanes[k] = k < active ? hv[k * n + i] : 0.0;
                }
                sink.flush();
            });
    });
}

}  // namespace hessprobe
