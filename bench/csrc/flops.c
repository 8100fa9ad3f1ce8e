/* float64 FLOP-rate probe (bench/run.py compiles this at run time, once for the x86-64
 * baseline ISA and once with -march=native).  Independent multiply-add chains held in
 * registers: acc = acc * a + b, 2 flops each; with FMA available the compiler fuses them.
 * Usage: flops ITERS   (threads from OMP_NUM_THREADS)
 * Prints: best_gflops  (best over accumulator counts 16, 24, 32, 48, 64; all threads) */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define KERNEL(N)                                                          \
    static double kernel_##N(long iters, double a, double b) {             \
        double acc[N];                                                     \
        for (int j = 0; j < N; ++j) acc[j] = 1.0 + 1e-3 * j;               \
        for (long it = 0; it < iters; ++it)                                \
            for (int j = 0; j < N; ++j) acc[j] = acc[j] * a + b;           \
        double s = 0.0;                                                    \
        for (int j = 0; j < N; ++j) s += acc[j];                           \
        return s;                                                          \
    }
KERNEL(16)
KERNEL(24)
KERNEL(32)
KERNEL(48)
KERNEL(64)

typedef double (*kfn)(long, double, double);

int main(int argc, char** argv) {
    long iters = argc > 1 ? atol(argv[1]) : 50000000L;
    kfn ks[] = {kernel_16, kernel_24, kernel_32, kernel_48, kernel_64};
    int ns[] = {16, 24, 32, 48, 64};
    double best = 0.0, sink = 0.0;
    volatile double a = 0.9999999, b = 1e-7;  /* volatile: not known at compile time */
    /* warm-up: start the thread team and let the clock settle */
#pragma omp parallel reduction(+ : sink)
    sink += kernel_32(iters / 2, a, b);
    for (int k = 0; k < 5; ++k) {
        long it = iters * 16 / ns[k];
        for (int rep = 0; rep < 2; ++rep) {
            double t0 = omp_get_wtime();
            int nth = 1;
#pragma omp parallel reduction(+ : sink)
            {
#pragma omp single
                nth = omp_get_num_threads();
                sink += ks[k](it, a, b);
            }
            double dt = omp_get_wtime() - t0;
            double gf = 2.0 * ns[k] * (double)it * nth / dt * 1e-9;
            if (gf > best) best = gf;
        }
    }
    printf("%.4f %.6e\n", best, sink);
    return 0;
}
