// A probing run assembled from partial runs (probing.hpp, ProbeOptions::block_count): the
// shares of a run spread over processes or machines, reduced here in block order.
//
// A whole run folds block b's per-coordinate sums d_b = sum_k (s_k - r), dd_b = sum_k
// (s_k - r)^2 into S1 += d_b, S2 += dd_b (S1 = d_0 for block 0), and keeps each probe's
// trace sample.  A partial run computes d_b, dd_b and the samples of its blocks with the
// same operations (given r, the first probe's samples, from the share holding block 0);
// ProbeReduction adds them in block order, checks a target error after each block as
// the whole run would, and finishes with the whole run's code.  So the result, and the
// block a run with a target stops at, are bitwise those of a local run with the same
// seed, however the blocks were shared out and in whatever order the shares finished.
#pragma once

#include "hessprobe/config.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>

#include "hessprobe/parallel.hpp"
#include "hessprobe/probing.hpp"

HESSPROBE_NAMESPACE_BEGIN

class ProbeReduction {
  public:
    // A run of `probes` probes of n coordinates; out as for probe() (null: trace only).
    ProbeReduction(std::size_t n, std::size_t probes, DiagonalOutput out)
        : probes_(probes), sums_(n, probes, 1, out) {}

    // The next block's sums: d, dd (n each) for a diagonal run, r (n) with block 0, and
    // its samples (as many as the block has probes).
    void add(const double* d, const double* dd, const double* r, const double* samples) {
        if (next_ >= block_total(probes_)) throw std::logic_error("every block of the run was added");
        const ProbeBlock b(0, next_, probes_, 0);
        sums_.absorb(b, d, dd, r, samples);
        ++next_;
    }

    std::size_t blocks() const { return next_; }
    std::size_t done() const { return sums_.done(); }
    std::size_t active(std::size_t block) const { return ProbeBlock(0, block, probes_, 0).active; }

    // Whether the estimate after the blocks added so far meets the target relative error,
    // as a whole run checks it after its last block (never before the second block).
    bool target_met(double tol) {
        if (next_ < min_blocks_before_stopping) return false;
        ExceptionVault vault;
        if (sums_.diagonal()) sums_.measure_diagonal(sums_.done(), vault);
        vault.rethrow();
        return sums_.target_met(tol);
    }

    // The estimate from the blocks added (at least one).
    ProbeResult finish() {
        if (next_ == 0) throw std::logic_error("no block was added");
        ExceptionVault vault;
        sums_.finish_coordinates(vault);
        vault.rethrow();
        return sums_.trace_result();
    }

  private:
    std::size_t probes_;
    ProbeSums sums_;
    std::size_t next_ = 0;
};

HESSPROBE_NAMESPACE_END
