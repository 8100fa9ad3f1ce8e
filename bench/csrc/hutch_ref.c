/* Hand-written C reference for the Rosenbrock Hutchinson diagonal (bench/run.py compiles it
 * at run time).  It is NOT hessprobe: it is what a specialist writes by hand for this one
 * function, to show what the machine can do: the closed-form Hessian (diagonal a_i,
 * off-diagonal b_i = -400 x_i), counter-based Rademacher signs (splitmix64 of
 * (seed, probe, 64-coordinate word)), probes accumulated with their squares for the standard
 * error, coordinates split across OpenMP threads in cache-sized chunks.
 *   v_i (H v)_i = a_i + v_i (b_i v_{i+1} + b_{i-1} v_{i-1})
 * Usage: hutch_ref N PROBES REPS [XFILE]  (threads from OMP_NUM_THREADS; x read as N raw
 *        float64 from XFILE, else x_i = sin(i) + 0.5)
 * Prints: median_seconds best_seconds rel_error_of_diag threads */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t splitmix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static inline uint64_t word(uint64_t seed, uint64_t probe, uint64_t w) {
    return splitmix64(seed * 0xD1B54A32D192ED03ULL ^ splitmix64(probe * 0x100000001B3ULL + w));
}
static inline double sign_at(uint64_t seed, uint64_t probe, long i) {
    uint64_t bits = word(seed, probe, (uint64_t)i >> 6);
    return ((bits >> (i & 63)) & 1) ? -1.0 : 1.0;
}
static int cmp(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

#define CHUNK 512 /* coordinates per chunk (multiple of 64; the arrays fit in L1) */
#define P 4       /* probes per pass over a chunk */

static double sign_table[256][8]; /* the 8 signs (+1/-1) encoded by one byte of random bits */
static void init_table(void) {
    for (int byte = 0; byte < 256; ++byte)
        for (int t = 0; t < 8; ++t) sign_table[byte][t] = ((byte >> t) & 1) ? -1.0 : 1.0;
}

static void hutch(long n, long m, const double* x, double* mean, double* se) {
    const uint64_t seed = 0;
#pragma omp parallel
    {
        double a[CHUNK], b[CHUNK + 1], s[P * (CHUNK + 66)], sum[CHUNK], sq[CHUNK];
#pragma omp for schedule(static)
        for (long lo = 0; lo < n; lo += CHUNK) {
            long hi = lo + CHUNK < n ? lo + CHUNK : n, len = hi - lo;
            for (long k = 0; k < len; ++k) {
                long i = lo + k;
                double xi = x[i];
                if (i == n - 1) a[k] = 200.0;
                else a[k] = 1200.0 * xi * xi - 400.0 * x[i + 1] + (i == 0 ? 2.0 : 202.0);
                sum[k] = sq[k] = 0.0;
            }
            /* b[k] couples i-1 and i: b[k] = -400 x_{i-1} (0 at the left edge), b[len] for hi */
            for (long k = 0; k <= len; ++k) {
                long i = lo + k;
                b[k] = (i >= 1 && i < n) ? -400.0 * x[i - 1] : 0.0;
            }
            /* probes in groups of P: one pass over the chunk accumulates P probes */
            for (long j0 = 0; j0 < m; j0 += P) {
                long np = m - j0 < P ? m - j0 : P;
                for (long p = 0; p < P; ++p) {
                    double* sp = s + p * (CHUNK + 66);
                    if (p >= np) { /* padding probe: contributes exactly 0 (a cancels below) */
                        for (long k = 0; k < len + 2; ++k) sp[k] = 0.0;
                        continue;
                    }
                    long j = j0 + p;
                    /* sp[k + 1] = sign of coordinate lo + k; sp[0], sp[len + 1]: neighbours */
                    sp[0] = lo > 0 ? sign_at(seed, j, lo - 1) : 0.0;
                    for (long w = 0; w < (len + 63) / 64; ++w) {
                        uint64_t bits = word(seed, j, (uint64_t)(lo >> 6) + w);
                        /* whole bytes; the tail past len is overwritten by sp[len + 1] */
                        for (int byte = 0; byte < 8; ++byte)
                            memcpy(&sp[1 + 64 * w + 8 * byte],
                                   sign_table[(bits >> (8 * byte)) & 255], sizeof(double) * 8);
                    }
                    sp[len + 1] = hi < n ? sign_at(seed, j, hi) : 0.0;
                }
                const double *s0 = s, *s1 = s + (CHUNK + 66), *s2 = s + 2 * (CHUNK + 66),
                             *s3 = s + 3 * (CHUNK + 66);
                const double na = (double)np;
                for (long k = 0; k < len; ++k) {
                    double ak = a[k], bl = b[k], br = b[k + 1];
                    double d0 = s0[k + 1] * (br * s0[k + 2] + bl * s0[k]);
                    double d1 = s1[k + 1] * (br * s1[k + 2] + bl * s1[k]);
                    double d2 = s2[k + 1] * (br * s2[k + 2] + bl * s2[k]);
                    double d3 = s3[k + 1] * (br * s3[k + 2] + bl * s3[k]);
                    /* d_p + a_k is probe p's v_i (H v)_i; padding probes have d_p = 0 */
                    sum[k] += na * ak + (d0 + d1) + (d2 + d3);
                    sq[k] += na * ak * ak + 2.0 * ak * ((d0 + d1) + (d2 + d3)) +
                             (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
                }
            }
            for (long k = 0; k < len; ++k) {
                double mu = sum[k] / m;
                double var = m > 1 ? (sq[k] - m * mu * mu) / (m - 1) : NAN;
                mean[lo + k] = mu;
                se[lo + k] = sqrt(var > 0 ? var / m : 0.0);
            }
        }
    }
}

int main(int argc, char** argv) {
    if (argc < 4) return 2;
    long n = atol(argv[1]), m = atol(argv[2]);
    int reps = atoi(argv[3]);
    double* x = malloc(sizeof(double) * n);
    double* mean = malloc(sizeof(double) * n);
    double* se = malloc(sizeof(double) * n);
    double* t = malloc(sizeof(double) * reps);
    init_table();
    if (argc > 4) {
        FILE* fh = fopen(argv[4], "rb");
        if (!fh || fread(x, sizeof(double), (size_t)n, fh) != (size_t)n) return 4;
        fclose(fh);
    } else {
        for (long i = 0; i < n; ++i) x[i] = sin((double)i) + 0.5;
    }
    hutch(n, m, x, mean, se); /* warm-up */
    for (int r = 0; r < reps; ++r) {
        double t0 = omp_get_wtime();
        hutch(n, m, x, mean, se);
        t[r] = omp_get_wtime() - t0;
    }
    double num = 0.0, den = 0.0;
    for (long i = 0; i < n; ++i) {
        double d = (i == n - 1) ? 200.0
                                : 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + (i == 0 ? 2.0 : 202.0);
        num += (mean[i] - d) * (mean[i] - d);
        den += d * d;
    }
    qsort(t, reps, sizeof(double), cmp);
    printf("%.9e %.9e %.6e %d\n", t[reps / 2], t[0], sqrt(num / den), omp_get_max_threads());
    return 0;
}
