/* Gradient of the extended Rosenbrock function of scipy.optimize.rosen, as a native
 * callback for scipy.LowLevelCallable with signature "int (npy_intp, double *, double *,
 * void *)".  Returns 1 on success, 0 on failure (SciPy ndimage convention). */
int rosen_grad(long n, double* x, double* g, void* user_data) {
    (void)user_data;
    if (n < 2) return 0;
    g[0] = -400.0 * x[0] * (x[1] - x[0] * x[0]) - 2.0 * (1.0 - x[0]);
    for (long i = 1; i < n - 1; ++i) {
        double xm = x[i - 1], xi = x[i], xp = x[i + 1];
        g[i] = 200.0 * (xi - xm * xm) - 400.0 * xi * (xp - xi * xi) - 2.0 * (1.0 - xi);
    }
    g[n - 1] = 200.0 * (x[n - 1] - x[n - 2] * x[n - 2]);
    return 1;
}
