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

#include "hessprobe/config.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "hessprobe/dual.hpp"
#include "hessprobe/evaluate.hpp"
#include "hessprobe/finite_difference.hpp"
#include "hessprobe/hvp.hpp"
#include "hessprobe/lanes.hpp"
#include "hessprobe/parallel.hpp"
#include "hessprobe/rng.hpp"

HESSPROBE_NAMESPACE_BEGIN

inline constexpr int probe_lanes = 8;

struct ProbeOptions {
    std::size_t probes = 1000;
    std::uint64_t seed = 0;
    int threads = 1;
    std::function<void()> between_blocks;  // e.g. a Ctrl-C check; may throw
};

// Where the diagonal estimate and its standard error go (n each); null for a trace-only
// run.  They double as the accumulators of the shifted sums, so a run allocates only one
// more n-vector (the shift) and the sign bytes.
struct DiagonalOutput {
    double* value = nullptr;
    double* standard_error = nullptr;
};

struct ProbeResult {
    std::vector<double> trace_samples;  // v_j . (H v_j), one per probe
    double trace = 0.0, trace_stderr = 0.0;
    std::size_t probes = 0;
};

// Per-coordinate shifted sums and per-probe trace samples of one run.
class ProbeSums {
  public:
    static constexpr int K = probe_lanes;

    ProbeSums(std::size_t n, std::size_t probes, DiagonalOutput out)
        : n_(n),
          diagonal_(out.value != nullptr),
          s1_(out.value),
          s2_(out.standard_error),
          signs_(n),
          ref_(diagonal_ ? n : 0),
          trace_parts_(chunk_count(n) * K),
          samples_(probes) {}

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
            if (active_ == static_cast<std::size_t>(K))
                fold<true>();
            else
                fold<false>();
        }

      private:
        // Folds the chunk into the sums; idle lanes (a partial last block) are masked out.
        template <bool Full>
        void fold() const {
            double mask[K];
            for (int k = 0; k < K; ++k) mask[k] = Full || static_cast<std::size_t>(k) < active_ ? 1.0 : 0.0;
            const double(*table)[8] = SignTable::get().row;
            const std::uint8_t* signs = sums_.signs_.data();
            double trace[K] = {};
            double* ref = sums_.ref_.data();
            double* s1 = sums_.s1_;
            double* s2 = sums_.s2_;
            for (std::size_t i = begin_; i < end_; ++i) {
                const double* v = table[signs[i]];
                const double* hv = buffer_ + (i - begin_) * K;
                double s[K];
                for (int k = 0; k < K; ++k) {
                    s[k] = Full ? v[k] * hv[k] : v[k] * hv[k] * mask[k];
                    trace[k] += s[k];
                }
                if (!sums_.diagonal_) continue;
                if (first_block_) ref[i] = s[0];
                const double r = ref[i];
                // d0 = sum_k (s_k - r), dd0 = sum_k (s_k - r)^2, pairwise over lanes in one
                // fixed order: (k, k + 4), then (k, k + 2), then (0, 1).  The AVX2 build
                // spells it with intrinsics (the compiler's version goes through memory);
                // the sums are the same, bit for bit.
                double d0, dd0;
#if defined(__AVX2__)
                {
                    static_assert(K == 8, "the AVX2 reduction is written for 8 lanes");
                    const __m256d rr = _mm256_set1_pd(r);
                    __m256d lo = _mm256_sub_pd(_mm256_loadu_pd(s), rr);
                    __m256d hi = _mm256_sub_pd(_mm256_loadu_pd(s + 4), rr);
                    if (!Full) {
                        lo = _mm256_mul_pd(lo, _mm256_loadu_pd(mask));
                        hi = _mm256_mul_pd(hi, _mm256_loadu_pd(mask + 4));
                    }
                    const __m256d e = _mm256_add_pd(lo, hi);  // d[k] + d[k + 4]
                    const __m256d ee = _mm256_add_pd(_mm256_mul_pd(lo, lo), _mm256_mul_pd(hi, hi));
                    const __m128d f = _mm_add_pd(_mm256_castpd256_pd128(e), _mm256_extractf128_pd(e, 1));
                    const __m128d ff = _mm_add_pd(_mm256_castpd256_pd128(ee), _mm256_extractf128_pd(ee, 1));
                    d0 = _mm_cvtsd_f64(_mm_add_sd(f, _mm_unpackhi_pd(f, f)));
                    dd0 = _mm_cvtsd_f64(_mm_add_sd(ff, _mm_unpackhi_pd(ff, ff)));
                }
#else
                {
                    double d[K], dd[K];
                    for (int k = 0; k < K; ++k) {
                        d[k] = Full ? s[k] - r : (s[k] - r) * mask[k];
                        dd[k] = d[k] * d[k];
                    }
                    for (int w = K / 2; w > 0; w /= 2)
                        for (int k = 0; k < w; ++k) {
                            d[k] += d[k + w];
                            dd[k] += dd[k + w];
                        }
                    d0 = d[0];
                    dd0 = dd[0];
                }
#endif
                if (first_block_) {  // the outputs start uninitialized
                    s1[i] = d0;
                    s2[i] = dd0;
                } else {
                    s1[i] += d0;
                    s2[i] += dd0;
                }
            }
            std::copy(trace, trace + K, sums_.trace_parts_.data() + chunk_ * K);
        }

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

    // Turns the per-coordinate sums into the estimate and its standard error, in place (SPMD).
    void finish_coordinates(ExceptionVault& vault) {
        if (!diagonal_) return;
        const double m = static_cast<double>(samples_.size());
        const auto chunks = static_cast<std::ptrdiff_t>(chunk_count(n_));
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(static)
#endif
        for (std::ptrdiff_t c = 0; c < chunks; ++c)
            vault.run([&] {
                const std::size_t begin = static_cast<std::size_t>(c) * chunk_size;
                const std::size_t end = std::min(n_, begin + chunk_size);
                for (std::size_t i = begin; i < end; ++i) {
                    const double s1 = s1_[i];
                    s1_[i] = ref_[i] + s1 / m;
                    s2_[i] = stderr_of(s1, s2_[i], m);
                }
            });
    }

    ProbeResult trace_result() {
        ProbeResult r;
        const double m = static_cast<double>(samples_.size());
        double s1 = 0.0, s2 = 0.0;
        for (double t : samples_) {
            s1 += t - samples_[0];
            s2 += (t - samples_[0]) * (t - samples_[0]);
        }
        r.trace = samples_[0] + s1 / m;
        r.trace_stderr = stderr_of(s1, s2, m);
        r.probes = samples_.size();
        r.trace_samples = std::move(samples_);
        return r;
    }

  private:
    // Standard error of the mean from shifted sums: sqrt(var / m), var the unbiased sample variance.
    // NaN for one probe: a single sample says nothing about the spread.
    static double stderr_of(double s1, double s2, double m) {
        if (m < 2.0) return std::numeric_limits<double>::quiet_NaN();
        const double var = std::max(0.0, (s2 - s1 * s1 / m) / (m - 1.0));
        return std::sqrt(var / m);
    }

    std::size_t n_;
    bool diagonal_;
    double* s1_;  // sum of (s - ref), then the estimate
    double* s2_;  // sum of (s - ref)^2, then the standard error
    std::vector<std::uint8_t> signs_;
    std::vector<double> ref_;  // the first probe's sample
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
        if (!stop) sums.finish_coordinates(vault);
    });
    vault.rethrow();
    return sums.trace_result();
}

// Hutchinson probing of a built-in: each block is one pass of K dual lanes seeded with
// the block's signs.
template <class F>
ProbeResult probe(const F& f, const double* x, std::size_t n, const ProbeOptions& opt, DiagonalOutput out) {
    constexpr int K = probe_lanes;
    ProbeSums sums(n, opt.probes, out);
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
inline ProbeResult probe(FiniteDifference& fd, std::size_t n, const ProbeOptions& opt, double step,
                         DiagonalOutput out) {
    constexpr int K = probe_lanes;
    ProbeSums sums(n, opt.probes, out);
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

HESSPROBE_NAMESPACE_END
