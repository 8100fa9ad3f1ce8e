// Folding one block of probe results into the running sums of a coordinate.
//
// For coordinate i, a block of K = 8 probes gives samples s_k = v_ki (H v_k)_i (lanes past
// the block's active probes are masked to 0).  The fold adds s_k to the block's trace
// sums and, for the diagonal, the sums shifted by the run's first sample r (probing.hpp):
//     S1 += sum_k (s_k - r),   S2 += sum_k (s_k - r)^2,
// both summed over the lanes pairwise in one fixed order: (k, k + 4), then (k, k + 2),
// then (0, 1).  The AVX2 build spells every step with intrinsics and keeps the trace sums
// in registers (the compiler's version of the lane loops goes through memory); the
// operations and their order are those of the portable version, so the bits agree.
#pragma once

#include <cstddef>

#include "hessprobe/config.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

HESSPROBE_NAMESPACE_BEGIN

inline constexpr int probe_lanes = 8;

// Trace sums of one stream of coordinates, and the fold step.  Full: all lanes active.
// First: the run's first block (sets r = s_0).  Diagonal: keep S1, S2.  Assign: start
// S1, S2 with this block's sums (the first block; every block of a partial run, whose
// sums per block are reduced elsewhere, partials.hpp).
template <bool Full, bool First, bool Diagonal, bool Assign = First>
class LaneFold {
  public:
    static constexpr int K = probe_lanes;

#if defined(__AVX2__)
    explicit LaneFold(const double* mask) : m0_(_mm256_loadu_pd(mask)), m1_(_mm256_loadu_pd(mask + 4)) {}

    void add(const double* v, const double* hv, double& ref, double& s1, double& s2) {
        __m256d lo = _mm256_mul_pd(_mm256_loadu_pd(v), _mm256_loadu_pd(hv));
        __m256d hi = _mm256_mul_pd(_mm256_loadu_pd(v + 4), _mm256_loadu_pd(hv + 4));
        if (!Full) {
            lo = _mm256_mul_pd(lo, m0_);
            hi = _mm256_mul_pd(hi, m1_);
        }
        t0_ = _mm256_add_pd(t0_, lo);
        t1_ = _mm256_add_pd(t1_, hi);
        if constexpr (Diagonal) {
            if constexpr (First) ref = _mm_cvtsd_f64(_mm256_castpd256_pd128(lo));
            const __m256d r = _mm256_set1_pd(ref);
            __m256d a = _mm256_sub_pd(lo, r), b = _mm256_sub_pd(hi, r);
            if (!Full) {
                a = _mm256_mul_pd(a, m0_);
                b = _mm256_mul_pd(b, m1_);
            }
            const __m256d e = _mm256_add_pd(a, b);  // lanes k + (k + 4)
            const __m256d ee = _mm256_add_pd(_mm256_mul_pd(a, a), _mm256_mul_pd(b, b));
            const __m128d f = _mm_add_pd(_mm256_castpd256_pd128(e), _mm256_extractf128_pd(e, 1));
            const __m128d ff = _mm_add_pd(_mm256_castpd256_pd128(ee), _mm256_extractf128_pd(ee, 1));
            const double d = _mm_cvtsd_f64(_mm_add_sd(f, _mm_unpackhi_pd(f, f)));
            const double dd = _mm_cvtsd_f64(_mm_add_sd(ff, _mm_unpackhi_pd(ff, ff)));
            accumulate(s1, s2, d, dd);
        }
    }

    void trace(double* out) const {
        _mm256_storeu_pd(out, t0_);
        _mm256_storeu_pd(out + 4, t1_);
    }

  private:
    __m256d m0_, m1_;
    __m256d t0_ = _mm256_setzero_pd(), t1_ = _mm256_setzero_pd();
#else
    explicit LaneFold(const double* mask) {
        for (int k = 0; k < K; ++k) mask_[k] = mask[k];
    }

    void add(const double* v, const double* hv, double& ref, double& s1, double& s2) {
        double s[K];
        for (int k = 0; k < K; ++k) {
            s[k] = Full ? v[k] * hv[k] : v[k] * hv[k] * mask_[k];
            t_[k] += s[k];
        }
        if constexpr (Diagonal) {
            if constexpr (First) ref = s[0];
            double a[K], b[K];
            for (int k = 0; k < K; ++k) {
                a[k] = Full ? s[k] - ref : (s[k] - ref) * mask_[k];
                b[k] = a[k] * a[k];
            }
            for (int w = K / 2; w > 0; w /= 2)
                for (int k = 0; k < w; ++k) {
                    a[k] += a[k + w];
                    b[k] += b[k + w];
                }
            accumulate(s1, s2, a[0], b[0]);
        }
    }

    void trace(double* out) const {
        for (int k = 0; k < K; ++k) out[k] = t_[k];
    }

  private:
    double mask_[K];
    double t_[K] = {};
#endif

    static void accumulate(double& s1, double& s2, double d, double dd) {
        if constexpr (Assign) {  // the outputs start uninitialized
            s1 = d;
            s2 = dd;
        } else {
            s1 += d;
            s2 += dd;
        }
    }
};

HESSPROBE_NAMESPACE_END
