// Hutchinson estimators: with Rademacher probes v (independent +-1 entries),
//     E[v * (H v)] = diag(H)   and   E[v . (H v)] = trace(H).
// Probes run in blocks of K = 8 lanes.  Each block is one pass of K dual lanes over a
// built-in's gradient, or K finite-difference products of a gradient source; its samples
// s = v * (H v) are added per coordinate right away, so the scratch memory is a few
// n-vectors however many probes there are.
//
// Blocks run in rounds.  A gradient source, or a built-in whose gradient needs
// whole-vector state (Ackley's sums, X w) or reads all of x (a dense quadratic), runs one
// block a round: every pass covers the whole vector.  A banded, stateless built-in
// (Rosenbrock, the separable ones) runs a round of many blocks chunk by chunk, making
// the signs of the chunk and its band locally: the chunk's sums stay in cache across the
// round instead of streaming through memory once per block.
//
// Reproducibility: probe j is a pure function of (seed, j) (rng.hpp); each coordinate's
// sums are added by one thread in block order, and each probe's trace sample is summed
// over chunks in chunk order, in every schedule.  The result is bitwise the same for any
// thread count.
//
// Stopping on a target error (ProbeOptions::tol > 0): probes is then the maximum; every
// round is one block, and after each block from the second on the master thread checks
// the relative standard error of the estimate (of the trace: stderr / |trace|; of the
// diagonal: ||stderr||_2 / ||diag||_2) and stops at the first block that meets tol.  The
// check uses the arithmetic of the final result, and the sums of a stopped run are those
// of a plain run with that many probes, so the two results are bitwise equal.
//
// Partial runs (ProbeOptions::block_count > 0): blocks first_block .. first_block +
// block_count - 1 only, each block's sums kept apart rather than added up (one share of a
// run spread over processes or machines); partials.hpp reduces the shares in block order
// with the additions of a whole run, so the result is bitwise the one of a local run.
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
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "hessprobe/dual.hpp"
#include "hessprobe/evaluate.hpp"
#include "hessprobe/finite_difference.hpp"
#include "hessprobe/fold.hpp"
#include "hessprobe/functions/concept.hpp"
#include "hessprobe/hvp.hpp"
#include "hessprobe/lanes.hpp"
#include "hessprobe/parallel.hpp"
#include "hessprobe/rng.hpp"

HESSPROBE_NAMESPACE_BEGIN

struct ProbeOptions {
    std::size_t probes = 1000;
    std::uint64_t seed = 0;
    int threads = 1;
    // Called between rounds with the probes done so far (a progress report, a Ctrl-C
    // check); may throw.
    std::function<void(std::size_t)> between_rounds;
    double tol = 0.0;  // > 0: stop once the relative standard error is <= tol (probes: the maximum)
    // A partial run (block_count > 0; no target): blocks [first_block, first_block +
    // block_count) of a run of `probes` probes, their sums returned per block.
    std::size_t first_block = 0, block_count = 0;
};

// The blocks of a run of `probes` probes.
inline std::size_t block_total(std::size_t probes) { return (probes + probe_lanes - 1) / probe_lanes; }

// Blocks a run with a target error completes before it checks it: one block's 8 samples
// say too little about their own spread.
inline constexpr std::size_t min_blocks_before_stopping = 2;

// Where the diagonal estimate and its standard error go (n each); null for a trace-only
// run.  They double as the accumulators of the shifted sums.  In a partial run they are
// the (block_count, n) per-block sums S1 and S2, and `reference` (n) is r: written by a
// share that holds block 0, read by any other.
struct DiagonalOutput {
    double* value = nullptr;
    double* standard_error = nullptr;
    double* reference = nullptr;
};

struct ProbeResult {
    std::vector<double> trace_samples;  // v_j . (H v_j), one per probe
    double trace = 0.0, trace_stderr = 0.0;
    std::size_t probes = 0;
};

// One block of probes: first .. first + active - 1, as the lanes of a pass.
struct ProbeBlock {
    std::size_t index = 0, first = 0, active = 0;
    std::size_t slot = 0;  // its place in the round
    std::uint64_t keys[probe_lanes] = {};

    ProbeBlock() = default;
    ProbeBlock(std::uint64_t seed, std::size_t index_, std::size_t probes, std::size_t slot_)
        : index(index_), first(index_ * probe_lanes), active(std::min<std::size_t>(probe_lanes, probes - first)),
          slot(slot_) {
        for (std::size_t k = 0; k < active; ++k) keys[k] = probe_key(seed, first + k);
    }
    bool full() const { return active == static_cast<std::size_t>(probe_lanes); }
};

// Per-coordinate shifted sums and per-probe trace samples of one run.
class ProbeSums {
  public:
    static constexpr int K = probe_lanes;

    // A partial run passes its block range (block_count > 0).
    ProbeSums(std::size_t n, std::size_t probes, std::size_t round_blocks, DiagonalOutput out,
              std::size_t first_block = 0, std::size_t block_count = 0)
        : n_(n),
          round_blocks_(round_blocks),
          diagonal_(out.value != nullptr),
          partial_(block_count > 0),
          first_block_(first_block),
          s1_(out.value),
          s2_(out.standard_error),
          own_ref_(diagonal_ && !partial_ ? n : 0),
          ref_(partial_ ? out.reference : own_ref_.data()),
          trace_parts_(chunk_count(n) * round_blocks * K),
          sample_base_(partial_ ? first_block * K : 0),
          samples_(partial_ ? std::min(probes, (first_block + block_count) * K) - sample_base_ : probes),
          chunk_norms_(diagonal_ ? 2 * chunk_count(n) : 0),
          done_(sample_base_),
          summed_(0) {
        if (partial_ && diagonal_ && ref_ == nullptr) throw std::logic_error("a partial diagonal run needs r");
    }

    // Folds block b's lanes of H v at coordinates [begin, end) (chunk c) into the sums:
    // lanes holds K values per coordinate from begin on; coordinate i's sign byte is
    // signs[i - sign_offset].
    void fold(const ProbeBlock& b, std::size_t c, std::size_t begin, std::size_t end, const double* lanes,
              const std::uint8_t* signs, std::size_t sign_offset) {
        if (b.full())
            fold<true>(b, c, begin, end, lanes, signs, sign_offset);
        else
            fold<false>(b, c, begin, end, lanes, signs, sign_offset);
    }

    bool diagonal() const { return diagonal_; }
    std::size_t done() const { return done_; }

    // After a round (one thread): the trace samples of its blocks, chunks in order.
    void finish_round(const ProbeBlock* blocks, std::size_t count) {
        const std::size_t chunks = chunk_count(n_);
        for (std::size_t s = 0; s < count; ++s) {
            for (std::size_t k = 0; k < blocks[s].active; ++k) {
                double t = 0.0;
                for (std::size_t c = 0; c < chunks; ++c) t += trace_parts_[(c * round_blocks_ + s) * K + k];
                samples_[blocks[s].first + k - sample_base_] = t;
            }
            done_ = std::max(done_, blocks[s].first + blocks[s].active);
        }
    }

    // Adds block b's sums, computed by a partial run (d, dd: n each, diagonal runs only; r
    // with block 0), and its trace samples, exactly as the fold would have (one thread;
    // blocks in order, from 0).
    void absorb(const ProbeBlock& b, const double* d, const double* dd, const double* r, const double* samples) {
        if (diagonal_) {
            if (b.index == 0) {
                std::copy(r, r + n_, own_ref_.data());
                std::copy(d, d + n_, s1_);
                std::copy(dd, dd + n_, s2_);
            } else {
                for (std::size_t i = 0; i < n_; ++i) {
                    s1_[i] += d[i];
                    s2_[i] += dd[i];
                }
            }
        }
        for (std::size_t k = 0; k < b.active; ++k) samples_[b.first + k] = samples[k];
        done_ = std::max(done_, b.first + b.active);
    }

    // The squared norms of the diagonal's standard error and of the diagonal itself, as a
    // run of `probes` probes would report them, per chunk (SPMD; after those probes' round).
    void measure_diagonal(std::size_t probes, ExceptionVault& vault) {
        const double m = static_cast<double>(probes);
        for_each_chunk(n_, vault, [&](std::size_t c, std::size_t begin, std::size_t end) {
            double e2 = 0.0, d2 = 0.0;
            for (std::size_t i = begin; i < end; ++i) {
                const double d = ref_[i] + s1_[i] / m, e = stderr_of(s1_[i], s2_[i], m);
                e2 += e * e;
                d2 += d * d;
            }
            chunk_norms_[2 * c] = e2;
            chunk_norms_[2 * c + 1] = d2;
        });
    }

    // Whether the estimate after the probes done so far meets the target relative standard
    // error (one thread; after measure_diagonal for a diagonal run).  NaN never meets it.
    bool target_met(double tol) {
        if (!diagonal_) {
            double trace = 0.0, err = 0.0;
            trace_stats(trace, err);
            return err <= tol * std::fabs(trace);
        }
        double e2 = 0.0, d2 = 0.0;
        for (std::size_t c = 0; c < chunk_norms_.size(); c += 2) {
            e2 += chunk_norms_[c];
            d2 += chunk_norms_[c + 1];
        }
        return std::sqrt(e2) <= tol * std::sqrt(d2);
    }

    // Turns the per-coordinate sums into the estimate and its standard error, in place (SPMD).
    void finish_coordinates(ExceptionVault& vault) {
        if (!diagonal_ || partial_) return;
        const double m = static_cast<double>(done_);
        for_each_chunk(n_, vault, [&](std::size_t, std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                const double s1 = s1_[i];
                s1_[i] = ref_[i] + s1 / m;
                s2_[i] = stderr_of(s1, s2_[i], m);
            }
        });
    }

    ProbeResult trace_result() {
        ProbeResult r;
        if (!partial_) trace_stats(r.trace, r.trace_stderr);
        r.probes = done_ - sample_base_;
        samples_.resize(r.probes);
        r.trace_samples = std::move(samples_);
        return r;
    }

  private:
    // The trace estimate and its standard error from the first done() samples.  The
    // shifted sums run over the samples in order and are carried from call to call (a
    // run with a target checks after every block: O(probes) in all, not O(probes^2));
    // the additions are those of one pass, so the bits do not depend on the calls.
    void trace_stats(double& trace, double& err) {
        for (; summed_ < done_; ++summed_) {
            const double t = samples_[summed_];
            trace_s1_ += t - samples_[0];
            trace_s2_ += (t - samples_[0]) * (t - samples_[0]);
        }
        const double m = static_cast<double>(done_);
        trace = samples_[0] + trace_s1_ / m;
        err = stderr_of(trace_s1_, trace_s2_, m);
    }

    template <bool Full>
    void fold(const ProbeBlock& b, std::size_t c, std::size_t begin, std::size_t end, const double* lanes,
              const std::uint8_t* signs, std::size_t sign_offset) {
        double mask[K];
        for (int k = 0; k < K; ++k) mask[k] = Full || static_cast<std::size_t>(k) < b.active ? 1.0 : 0.0;
        const std::uint8_t* sg = signs + (begin - sign_offset);
        double* part = trace_parts_.data() + (c * round_blocks_ + b.slot) * K;
        const std::size_t count = end - begin;
        if (!diagonal_) {
            fold_range<Full, false, false>(lanes, sg, count, mask, nullptr, nullptr, nullptr, part);
        } else if (partial_) {  // this block's own sums
            const std::size_t at = (b.index - first_block_) * n_ + begin;
            if (b.index == 0)
                fold_range<Full, true, true>(lanes, sg, count, mask, ref_ + begin, s1_ + at, s2_ + at, part);
            else
                fold_range<Full, false, true, true>(lanes, sg, count, mask, ref_ + begin, s1_ + at, s2_ + at, part);
        } else if (b.index == 0)
            fold_range<Full, true, true>(lanes, sg, count, mask, ref_ + begin, s1_ + begin, s2_ + begin, part);
        else
            fold_range<Full, false, true>(lanes, sg, count, mask, ref_ + begin, s1_ + begin, s2_ + begin, part);
    }

    // The fold of `count` coordinates.  The trace sums alternate between two folds by
    // coordinate (two short chains of additions instead of one long one) and are
    // combined as even + odd.
    template <bool Full, bool First, bool Diagonal, bool Assign = First>
    static void fold_range(const double* lanes, const std::uint8_t* signs, std::size_t count, const double* mask,
                           double* ref, double* s1, double* s2, double* part) {
        const double(*table)[8] = SignTable::get().row;
        LaneFold<Full, First, Diagonal, Assign> even(mask), odd(mask);
        double unused = 0.0;
        auto at = [&](double* a, std::size_t j) -> double& { return Diagonal ? a[j] : unused; };
        std::size_t j = 0;
        for (; j + 2 <= count; j += 2) {
            even.add(table[signs[j]], lanes + j * K, at(ref, j), at(s1, j), at(s2, j));
            odd.add(table[signs[j + 1]], lanes + (j + 1) * K, at(ref, j + 1), at(s1, j + 1), at(s2, j + 1));
        }
        if (j < count) even.add(table[signs[j]], lanes + j * K, at(ref, j), at(s1, j), at(s2, j));
        double te[K], to[K];
        even.trace(te);
        odd.trace(to);
        for (int k = 0; k < K; ++k) part[k] = te[k] + to[k];
    }

    // Standard error of the mean from shifted sums: sqrt(var / m), var the unbiased sample
    // variance.  NaN for one probe: a single sample says nothing about the spread.
    static double stderr_of(double s1, double s2, double m) {
        if (m < 2.0) return std::numeric_limits<double>::quiet_NaN();
        const double var = std::max(0.0, (s2 - s1 * s1 / m) / (m - 1.0));
        return std::sqrt(var / m);
    }

    std::size_t n_, round_blocks_;
    bool diagonal_, partial_;
    std::size_t first_block_;
    double* s1_;  // sum of (s - ref), then the estimate (partial: per block)
    double* s2_;  // sum of (s - ref)^2, then the standard error (partial: per block)
    std::vector<double> own_ref_;  // the first probe's sample (a whole run)
    double* ref_;  // own_ref_, or a partial run's r
    std::vector<double> trace_parts_;  // (chunk, block of the round, lane)
    std::size_t sample_base_;  // the first probe whose sample samples_ holds
    std::vector<double> samples_;
    std::vector<double> chunk_norms_;  // (stderr^2, diag^2) sums per chunk, for the target check
    std::size_t done_;  // probes whose samples are complete (from probe 0)
    double trace_s1_ = 0.0, trace_s2_ = 0.0;  // shifted sums of samples 0 .. summed_ - 1
    std::size_t summed_;
};

// The output of chunk c for one block: the gradient code stores the K lanes of H v per
// coordinate into a chunk-local buffer (set); flush() folds the chunk into the sums in
// one tight loop.
class ProbeSink {
  public:
    static constexpr int K = probe_lanes;

    ProbeSink(ProbeSums& sums, const ProbeBlock& block, std::size_t chunk, std::size_t begin, std::size_t end,
              const std::uint8_t* signs, std::size_t sign_offset)
        : sums_(sums), block_(block), chunk_(chunk), begin_(begin), end_(end), signs_(signs), sign_offset_(sign_offset) {}

    void set(std::size_t i, const Dual<K>& g) {
        double* l = lanes(i);
        for (int k = 0; k < K; ++k) l[k] = g.d[k];
    }
    double* lanes(std::size_t i) { return buffer_ + (i - begin_) * K; }
    void flush() { sums_.fold(block_, chunk_, begin_, end_, buffer_, signs_, sign_offset_); }

  private:
    ProbeSums& sums_;
    const ProbeBlock& block_;
    std::size_t chunk_, begin_, end_;
    const std::uint8_t* signs_;
    std::size_t sign_offset_;
    double buffer_[chunk_size * K];
};

// The sign bytes of one block for the whole vector (SPMD).
inline void make_signs(const ProbeBlock& b, std::size_t n, std::uint8_t* signs, ExceptionVault& vault) {
    const auto words = static_cast<std::ptrdiff_t>(sign_words(n));
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t w = 0; w < words; ++w)
        vault.run([&] {
            const auto ww = static_cast<std::size_t>(w);
            fill_sign_bytes(b.keys, static_cast<int>(b.active), ww, std::min<std::size_t>(64, n - 64 * ww),
                            signs + 64 * ww);
        });
}

// Runs the rounds of a run on a team of up to opt.threads threads, `items` at most (the
// work items of a round).  round(blocks, count) does the work of `count` blocks (SPMD)
// and must fold every coordinate of each; between rounds the master thread finishes the
// trace samples, calls opt.between_rounds and, with a target error, checks it (a run with
// opt.tol > 0 must have round_blocks = 1).
template <class Round>
ProbeResult run_rounds(const ProbeOptions& opt, std::size_t round_blocks, std::size_t items, ProbeSums& sums,
                       ExceptionVault& vault, Round&& round) {
    const bool partial = opt.block_count > 0;
    const std::size_t start = partial ? opt.first_block : 0;
    const std::size_t total = partial ? opt.first_block + opt.block_count : block_total(opt.probes);
    const bool adaptive = opt.tol > 0.0;
    if (adaptive && round_blocks != 1) throw std::logic_error("a run with a target error needs one block a round");
    if (partial && (adaptive || total > block_total(opt.probes)))
        throw std::logic_error("a partial run has no target and lies within the run");
    bool stop = false, met = false;
    run_team(team_size(opt.threads, items), [&] {
        std::vector<ProbeBlock> blocks(round_blocks);
        for (std::size_t first = start; first < total; first += round_blocks) {
            const std::size_t count = std::min(round_blocks, total - first);
            for (std::size_t s = 0; s < count; ++s) blocks[s] = ProbeBlock(opt.seed, first + s, opt.probes, s);
            round(blocks.data(), count);
            const bool check = adaptive && first + 1 >= min_blocks_before_stopping;
            if (check && sums.diagonal())  // ends with a barrier
                sums.measure_diagonal(blocks[count - 1].first + blocks[count - 1].active, vault);
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp master
#endif
            {
                vault.run([&] {
                    sums.finish_round(blocks.data(), count);
                    if (opt.between_rounds) opt.between_rounds(blocks[count - 1].first + blocks[count - 1].active);
                    if (check) met = sums.target_met(opt.tol);
                });
                stop = vault.stopped();
            }
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp barrier
#endif
            if (stop || met) break;  // every thread reads the master's verdict after the barrier
        }
        if (!stop) sums.finish_coordinates(vault);
    });
    vault.rethrow();
    return sums.trace_result();
}

// Blocks per round of the chunked schedule: rounds of about 2^23 coordinate-blocks (8
// blocks at n = 10^6, 64 at n <= 131072): enough to keep a chunk's sums in cache over
// many blocks, short enough that Ctrl-C is seen within a fraction of a second.
inline std::size_t chunked_round_blocks(std::size_t n, std::size_t probes) {
    const std::size_t blocks = (probes + probe_lanes - 1) / probe_lanes;
    const std::size_t by_size = std::max<std::size_t>(1, (std::size_t{1} << 23) / std::max<std::size_t>(n, 1));
    return std::max<std::size_t>(1, std::min({blocks, by_size, std::size_t{64}}));
}

// Whether a built-in runs the chunked schedule: no whole-vector state, and g_i reads only
// x within a band of i (so a chunk's signs plus that band are all it needs).
template <class F>
bool chunkable(const F& f) {
    constexpr int max_band = 64;
    return std::is_base_of<Stateless, F>::value && f.bandwidth() >= 0 && f.bandwidth() <= max_band;
}

// The chunked schedule (a banded, stateless built-in): rounds of several blocks, chunk by
// chunk, the signs of the chunk and its band made locally.
template <class F>
ProbeResult probe_chunked(const F& f, const double* x, std::size_t n, const ProbeOptions& opt, DiagonalOutput out,
                          ExceptionVault& vault, std::atomic<int>& bad) {
    constexpr int K = probe_lanes;
    const std::size_t R = opt.tol > 0.0 ? 1 : chunked_round_blocks(n, opt.probes);
    const auto band = static_cast<std::size_t>(f.bandwidth());
    ProbeSums sums(n, opt.probes, R, out, opt.first_block, opt.block_count);
    return run_rounds(opt, R, chunk_count(n) * R, sums, vault, [&](const ProbeBlock* blocks, std::size_t count) {
        for_each_chunk(n, vault, [&](std::size_t c, std::size_t begin, std::size_t end) {
            if (!all_finite(x, begin, end)) bad.store(nonfinite_x, std::memory_order_relaxed);
            const std::size_t lo = begin >= band ? begin - band : 0, hi = std::min(n, end + band);
            std::uint8_t signs[chunk_size + 256];  // whole words around [lo, hi), band <= 64
            const std::size_t offset = 64 * (lo / 64);
            for (std::size_t s = 0; s < count; ++s) {
                fill_sign_window(blocks[s].keys, static_cast<int>(blocks[s].active), lo, hi, n, signs);
                ProbeSink sink(sums, blocks[s], c, begin, end, signs, offset);
                f.template gradient<Dual<K>>(SignInput<K>{x, signs, offset}, Stateless::State{}, sink, begin, end,
                                             n);
                sink.flush();
            }
        });
    });
}

// The blocked schedule (any built-in): one block a round; each block makes the signs of
// the whole vector, then runs one full gradient pass (state preparation included).
template <class F>
ProbeResult probe_blocked(const F& f, const double* x, std::size_t n, const ProbeOptions& opt, DiagonalOutput out,
                          ExceptionVault& vault, std::atomic<int>& bad) {
    constexpr int K = probe_lanes;
    std::vector<std::uint8_t> signs(n);
    auto state = f.template make_state<Dual<K>>(n);
    ProbeSums sums(n, opt.probes, 1, out, opt.first_block, opt.block_count);
    const SignInput<K> in{x, signs.data()};
    const std::size_t items = std::max(f.prepare_parts(n), chunk_count(n));
    return run_rounds(opt, 1, items, sums, vault, [&](const ProbeBlock* blocks, std::size_t) {
        const ProbeBlock& b = blocks[0];
        // A fresh state for every pass, as evaluate() makes for every HVP: finish() may
        // reshape it (Ackley's keeps only the total), and the next prepare() needs every part.
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp single
#endif
        vault.run([&] { state = f.template make_state<Dual<K>>(n); });
        make_signs(b, n, signs.data(), vault);
        gradient_pass<Dual<K>>(
            f, state, in, n, CheckX{x},
            [&](std::size_t c, std::size_t begin, std::size_t end) {
                return ProbeSink(sums, b, c, begin, end, signs.data(), 0);
            },
            vault, bad);
    });
}

// Hutchinson probing of a built-in: each block is one pass of K dual lanes seeded with
// the block's signs.  Both schedules add the same numbers in the same order.
template <class F>
ProbeResult probe(const F& f, const double* x, std::size_t n, const ProbeOptions& opt, DiagonalOutput out) {
    ExceptionVault vault;
    std::atomic<int> bad{all_inputs_finite};
    ProbeResult result;
    bool done = false;
    if constexpr (std::is_base_of<Stateless, F>::value) {
        if (chunkable(f)) {
            result = probe_chunked(f, x, n, opt, out, vault, bad);
            done = true;
        }
    }
    if (!done) result = probe_blocked(f, x, n, opt, out, vault, bad);
    require_finite(bad);
    return result;
}

// Hutchinson probing of a maker of HVP blocks: make(b, signs, hv, vault) writes H v_k for
// block b's active probes into row k of hv (K rows of n), v_k[i] =
// SignTable::get().row[signs[i]][k].  Two ways to run it:
//   Spmd = true   every thread of the team calls make for the one block of a round (a
//                 maker that shares the work itself: finite differences);
//   Spmd = false  a round holds up to `round_blocks` blocks and each is made by one
//                 thread, at once (a maker that calls Python: the calls overlap where the
//                 user's code releases the GIL).  A run with a target error has one
//                 block a round.
// The folds are those of every other schedule, so the bits depend on neither.
template <bool Spmd, class Make>
ProbeResult probe_products(Make&& make, std::size_t n, const ProbeOptions& opt, std::size_t round_blocks,
                           DiagonalOutput out) {
    constexpr int K = probe_lanes;
    const std::size_t R = Spmd || opt.tol > 0.0 ? 1 : std::max<std::size_t>(1, round_blocks);
    ProbeSums sums(n, opt.probes, R, out, opt.first_block, opt.block_count);
    std::vector<std::uint8_t> signs(R * n);
    std::vector<double> hv(R * static_cast<std::size_t>(K) * n);
    ExceptionVault vault;
    // Work items: a block's K products (or the blocks of a round), then the chunks.
    const std::size_t items = std::max({static_cast<std::size_t>(K), R, chunk_count(n)});
    return run_rounds(opt, R, items, sums, vault, [&](const ProbeBlock* blocks, std::size_t count) {
        for (std::size_t s = 0; s < count; ++s) make_signs(blocks[s], n, signs.data() + s * n, vault);
        if constexpr (Spmd) {
            make(blocks[0], static_cast<const std::uint8_t*>(signs.data()), hv.data(), vault);
        } else {
            const auto made = static_cast<std::ptrdiff_t>(count);
#ifdef HESSPROBE_WITH_OPENMP
#pragma omp for schedule(static, 1)
#endif
            for (std::ptrdiff_t s = 0; s < made; ++s)
                vault.run([&] {
                    const auto u = static_cast<std::size_t>(s);
                    make(blocks[u], static_cast<const std::uint8_t*>(signs.data() + u * n), hv.data() + u * K * n,
                         vault);
                });
        }
        for_each_chunk(n, vault, [&](std::size_t c, std::size_t begin, std::size_t end) {
            for (std::size_t s = 0; s < count; ++s) {
                const ProbeBlock& b = blocks[s];
                const double* h = hv.data() + s * K * n;
                ProbeSink sink(sums, b, c, begin, end, signs.data() + s * n, 0);
                for (std::size_t i = begin; i < end; ++i) {
                    double* lanes = sink.lanes(i);
                    for (std::size_t k = 0; k < K; ++k) lanes[k] = k < b.active ? h[k * n + i] : 0.0;
                }
                sink.flush();
            }
        });
    });
}

// Hutchinson probing of a gradient source by finite differences: each block is K
// products H v computed by the source.  step 0 means the scheme's default.
inline ProbeResult probe(FiniteDifference& fd, std::size_t n, const ProbeOptions& opt, double step,
                         DiagonalOutput out) {
    constexpr int K = probe_lanes;
    const double h = step > 0.0 ? step : default_step(fd.scheme(), fd.rms_x(), 1.0);  // Rademacher: rms(v) = 1
    const double steps[K] = {h, h, h, h, h, h, h, h};
    const SignTable& table = SignTable::get();
    auto products = [&](const ProbeBlock& b, const std::uint8_t* signs, double* hv, ExceptionVault& vault) {
        auto dir = [&](std::size_t k, std::size_t i) { return table.row[signs[i]][k]; };
        fd.hvp_rows(dir, steps, b.active, hv, vault);
    };
    return probe_products<true>(products, n, opt, 1, out);
}

HESSPROBE_NAMESPACE_END
