# cython: language_level=3, boundscheck=False, wraparound=False
"""Chained Rosenbrock gradient exported for scipy.LowLevelCallable.from_cython.

Built at test time by tests/test_hutchinson.py.  Same operation order as
tests/hptest.py:rosen_grad_np and tests/native/rosen_grad.c, so the gradients agree
bitwise (the build disables floating-point contraction).
"""


cdef api int rosen_grad(Py_ssize_t n, double *x, double *g, void *user_data) noexcept nogil:
    cdef Py_ssize_t i
    if n < 2:
        return 0
    g[0] = -400.0 * x[0] * (x[1] - x[0] * x[0]) - 2.0 * (1.0 - x[0])
    for i in range(1, n - 1):
        g[i] = (200.0 * (x[i] - x[i - 1] * x[i - 1])
                - 400.0 * (x[i + 1] - x[i] * x[i]) * x[i]
                - 2.0 * (1.0 - x[i]))
    g[n - 1] = 200.0 * (x[n - 1] - x[n - 2] * x[n - 2])
    return 1
