# cython: language_level=3, boundscheck=False, wraparound=False
"""Tangent callbacks for hessprobe.Tangent (tests/test_tangent.py), built at test time.

rosen_tangent writes the chained Rosenbrock gradient g and, for each of the k rows v of
V, its hand-written directional derivative J_g(x) v = H(x) v (a JVP, as Tapenade or
Enzyme would generate).  The others fail in the ways the core must report.
"""


cdef void _rosen(const double *x, const double *V, double *g, double *GV,
                 Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t i, r
    cdef const double *v
    cdef double *h
    g[0] = -400.0 * x[0] * (x[1] - x[0] * x[0]) - 2.0 * (1.0 - x[0])
    for i in range(1, n - 1):
        g[i] = (200.0 * (x[i] - x[i - 1] * x[i - 1])
                - 400.0 * x[i] * (x[i + 1] - x[i] * x[i])
                - 2.0 * (1.0 - x[i]))
    g[n - 1] = 200.0 * (x[n - 1] - x[n - 2] * x[n - 2])
    for r in range(k):
        v = V + r * n
        h = GV + r * n
        h[0] = (-400.0 * v[0] * (x[1] - x[0] * x[0])
                - 400.0 * x[0] * (v[1] - 2.0 * x[0] * v[0]) + 2.0 * v[0])
        for i in range(1, n - 1):
            h[i] = (200.0 * (v[i] - 2.0 * x[i - 1] * v[i - 1])
                    - 400.0 * v[i] * (x[i + 1] - x[i] * x[i])
                    - 400.0 * x[i] * (v[i + 1] - 2.0 * x[i] * v[i])
                    + 2.0 * v[i])
        h[n - 1] = 200.0 * (v[n - 1] - 2.0 * x[n - 2] * v[n - 2])


cdef api int rosen_tangent(const double *x, const double *V, double *g, double *GV,
                           Py_ssize_t n, Py_ssize_t k, void *user_data) noexcept nogil:
    if n < 2:
        return 0
    _rosen(x, V, g, GV, n, k)
    return 1


cdef api int fails(const double *x, const double *V, double *g, double *GV,
                   Py_ssize_t n, Py_ssize_t k, void *user_data) noexcept nogil:
    return -3


cdef api int forgets_a_row(const double *x, const double *V, double *g, double *GV,
                           Py_ssize_t n, Py_ssize_t k, void *user_data) noexcept nogil:
    if k > 1:
        _rosen(x, V, g, GV, n, k - 1)  # the last row of GV stays unwritten
    else:
        _rosen(x, V, g, GV, n, k)
    return 1


cdef api int wrong_arity(const double *x, double *g, Py_ssize_t n, void *user_data) noexcept nogil:
    return 1


cdef api int quadratic_tangent(const double *x, const double *V, double *g, double *GV,
                               Py_ssize_t n, Py_ssize_t k, void *user_data) noexcept nogil:
    """f = 1/2 x'Ax + b'x; user_data points at A (n x n, row-major) followed by b (n)."""
    cdef const double *A = <const double *> user_data
    cdef const double *b = A + n * n
    cdef Py_ssize_t i, j, r
    cdef double s
    for i in range(n):
        s = b[i]
        for j in range(n):
            s += A[i * n + j] * x[j]
        g[i] = s
    for r in range(k):
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += A[i * n + j] * V[r * n + j]
            GV[r * n + i] = s
    return 1
