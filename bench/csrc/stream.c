/* STREAM-like triad a[i] = b[i] + s * c[i] (bench/run.py compiles this at run time).
 * Usage: stream N REPS   (threads from OMP_NUM_THREADS)
 * Prints: best_seconds median_seconds threads checksum
 * Bytes per element counted as in STREAM: 24 (read b, read c, write a; no write-allocate). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    long n = atol(argv[1]);
    int reps = atoi(argv[2]);
    double* a = malloc(sizeof(double) * n);
    double* b = malloc(sizeof(double) * n);
    double* c = malloc(sizeof(double) * n);
    double* t = malloc(sizeof(double) * reps);
    if (!a || !b || !c || !t) return 3;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) {  /* first touch by the thread that uses the page */
        a[i] = 0.0;
        b[i] = 1.0 + (double)(i & 7);
        c[i] = 2.0;
    }
    const double s = 3.0;
    for (int r = 0; r < reps; ++r) {
        double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
        t[r] = omp_get_wtime() - t0;
    }
    qsort(t, reps, sizeof(double), cmp);
    double sum = 0.0;
    for (long i = 0; i < n; i += 4096) sum += a[i];
    printf("%.9e %.9e %d %.6e\n", t[0], t[reps / 2], omp_get_max_threads(), sum);
    return 0;
}
