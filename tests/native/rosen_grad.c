/* Native gradients for the LowLevelCallable tests (built at test time by
 * tests/test_hutchinson.py with `cc -O2 -shared -fPIC -ffp-contract=off`).
 *
 * Signature (SciPy ndimage convention): int f(npy_intp n, double *x, double *grad,
 * void *user_data), returning 1 on success and 0 on failure.  npy_intp is Py_intptr_t,
 * i.e. ptrdiff_t on every platform NumPy supports.
 *
 * rosen_grad uses the operation order of tests/hptest.py:rosen_grad_np (left to right,
 * no fused multiply-add: -ffp-contract=off), so both give bitwise identical gradients.
 */
#define _POSIX_C_SOURCE 199309L /* nanosleep */
#include <stddef.h>
#include <time.h>

static void rosen(ptrdiff_t n, const double *x, double *g) {
    g[0] = -400.0 * x[0] * (x[1] - x[0] * x[0]) - 2.0 * (1.0 - x[0]);
    for (ptrdiff_t i = 1; i < n - 1; ++i) {
        g[i] = 200.0 * (x[i] - x[i - 1] * x[i - 1])
               - 400.0 * (x[i + 1] - x[i] * x[i]) * x[i]
               - 2.0 * (1.0 - x[i]);
    }
    g[n - 1] = 200.0 * (x[n - 1] - x[n - 2] * x[n - 2]);
}

int rosen_grad(ptrdiff_t n, double *x, double *g, void *user_data) {
    (void)user_data;
    if (n < 2) return 0;
    rosen(n, x, g);
    return 1;
}

/* user_data points to one double: the gradient is scaled by it (checks user_data). */
int rosen_grad_scaled(ptrdiff_t n, double *x, double *g, void *user_data) {
    if (n < 2 || user_data == NULL) return 0;
    const double s = *(const double *)user_data;
    rosen(n, x, g);
    for (ptrdiff_t i = 0; i < n; ++i) g[i] *= s;
    return 1;
}

/* Always fails. */
int rosen_grad_fail(ptrdiff_t n, double *x, double *g, void *user_data) {
    (void)n; (void)x; (void)g; (void)user_data;
    return 0;
}

/* user_data points to a long countdown: succeeds that many times (over all threads),
 * then fails.  The countdown is decremented atomically. */
int rosen_grad_fail_after(ptrdiff_t n, double *x, double *g, void *user_data) {
    long *left = (long *)user_data;
    if (__atomic_fetch_sub(left, 1, __ATOMIC_SEQ_CST) <= 0) return 0;
    rosen(n, x, g);
    return 1;
}

/* Reports success without writing the gradient: the caller must not read garbage. */
int rosen_grad_nowrite(ptrdiff_t n, double *x, double *g, void *user_data) {
    (void)n; (void)x; (void)g; (void)user_data;
    return 1;
}

/* GIL handshake.  user_data points to a handshake_t.  On entry the callback sets
 * `entered`, then waits until a *Python* thread sets `go` (which needs the GIL).  If the
 * library held the GIL while calling native code, no Python thread could run, `go` would
 * never be set, and the callback gives up after 40000 sleeps of 100 us (4-10 s, on the
 * failure path only) and returns 0 with `timed_out` set. */
typedef struct {
    int entered;
    int go;
    int timed_out;
} handshake_t;

int rosen_grad_handshake(ptrdiff_t n, double *x, double *g, void *user_data) {
    handshake_t *h = (handshake_t *)user_data;
    __atomic_store_n(&h->entered, 1, __ATOMIC_SEQ_CST);
    const struct timespec pause = {0, 100000}; /* 100 us */
    for (long i = 0; i < 40000 && !__atomic_load_n(&h->go, __ATOMIC_SEQ_CST); ++i)
        nanosleep(&pause, NULL);
    if (!__atomic_load_n(&h->go, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&h->timed_out, 1, __ATOMIC_SEQ_CST);
        return 0;
    }
    rosen(n, x, g);
    return 1;
}
