"""Star colouring of a sparsity pattern and the direct recovery of H from its HVPs.

What ``hp.colouring(n, sparsity=S)`` (and so ``hp.hessian`` / ``hp.hessian_diag`` with
``sparsity=``) promises:

* it is a star colouring: adjacent columns differ, and every path on 4 vertices of the
  pattern's graph has at least 3 colours (checked here by brute force);
* every entry H_ij is the entry ``rows + cols - hubs`` of the HVP with the indicator of
  colour ``colours[hubs]`` (checked against a dense H with the pattern);
* colours: at most 2b + 1 for a band of half-bandwidth b, never more than the greedy
  distance-2 colouring (``method="distance-2"``, the Python reference), far fewer on
  patterns with a dense row;
* the recovered Hessian equals the dense reference: exactly for a built-in and for
  ``hp.Gradient(fn, scheme="dual")``, to FD accuracy for finite differences.

The references are independent of the core: brute-force graph checks in NumPy, dense
matrices, and the Python greedy distance-2 colouring.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse

ORDERS = ["natural", "largest-first", "smallest-last"]


# --------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------


def band(n: int, b: int) -> scipy.sparse.csr_array:
    offsets = [d for d in range(-b, b + 1) if abs(d) < n]
    return scipy.sparse.csr_array(
        scipy.sparse.diags([np.ones(n - abs(d)) for d in offsets], offsets, shape=(n, n))
    )


def random_symmetric(n: int, density: float, seed: int) -> scipy.sparse.csr_array:
    R = scipy.sparse.random(n, n, density=density, random_state=np.random.RandomState(seed))
    return scipy.sparse.csr_array(((R + R.T) != 0).astype(np.float64))


def grid(m: int, points: int) -> scipy.sparse.csr_array:
    """The m x m grid's 5-point (Laplacian) or 9-point stencil."""
    T = scipy.sparse.diags([np.ones(m - 1), np.ones(m), np.ones(m - 1)], [-1, 0, 1])
    eye = scipy.sparse.identity(m)
    S = (
        scipy.sparse.kron(T, eye) + scipy.sparse.kron(eye, T)
        if points == 5
        else scipy.sparse.kron(T, T)
    )
    return scipy.sparse.csr_array(S != 0, dtype=np.float64)  # no stored zeros (of DIA's padding)


def grid3(m: int) -> scipy.sparse.csr_array:
    """The m x m x m grid's 7-point stencil."""
    T = scipy.sparse.diags([np.ones(m - 1), np.ones(m), np.ones(m - 1)], [-1, 0, 1])
    eye = scipy.sparse.identity(m)
    kron = scipy.sparse.kron
    S = kron(kron(T, eye), eye) + kron(kron(eye, T), eye) + kron(kron(eye, eye), T)
    return scipy.sparse.csr_array(S != 0, dtype=np.float64)


def arrow(n: int) -> scipy.sparse.csr_array:
    """x_0 coupled to every x_i (one triangle given: the other is implied)."""
    return scipy.sparse.csr_array(
        (np.ones(n), (np.zeros(n, dtype=np.intp), np.arange(n))), shape=(n, n)
    )


def arrow_tridiagonal(n: int) -> scipy.sparse.csr_array:
    """A chain x_i - x_{i+1} plus a global x_0 coupled to all (one triangle)."""
    return scipy.sparse.csr_array(
        arrow(n) + scipy.sparse.diags([np.ones(n - 1)], [1], shape=(n, n))
    )


def block_arrow(blocks: int, size: int) -> scipy.sparse.csr_array:
    """Dense diagonal blocks, all coupled to one last variable (a shared parameter)."""
    n = blocks * size + 1
    S = scipy.sparse.lil_array((n, n))
    for k in range(blocks):
        S[k * size : (k + 1) * size, k * size : (k + 1) * size] = 1.0
    S[n - 1, :] = 1.0
    S[:, n - 1] = 1.0
    return scipy.sparse.csr_array(S)


def symmetric_csr(S: scipy.sparse.csr_array) -> scipy.sparse.csr_array:
    """The 0/1 pattern of S with its transpose and diagonal, CSR with sorted indices."""
    n = S.shape[0]
    P = scipy.sparse.csr_array(
        (abs(S) + abs(S.T) + scipy.sparse.identity(n)) != 0, dtype=np.float64
    )
    P.sort_indices()
    return P


# --------------------------------------------------------------------------------------
# Brute-force references
# --------------------------------------------------------------------------------------


def adjacency(S: scipy.sparse.csr_array) -> np.ndarray:
    A = symmetric_csr(S).toarray() != 0
    np.fill_diagonal(A, False)
    return A


def is_star_colouring(A: np.ndarray, colours: np.ndarray) -> bool:
    """Adjacent vertices differ, and every path a - b - c - d has >= 3 colours."""
    if any(colours[i] == colours[j] for i, j in zip(*np.nonzero(A))):
        return False
    for b, c in zip(*np.nonzero(A)):
        for a, d in itertools.product(np.nonzero(A[b])[0], np.nonzero(A[c])[0]):
            if len({a, b, c, d}) == 4 and len({colours[v] for v in (a, b, c, d)}) < 3:
                return False
    return True


def has_two_coloured_p4(A: np.ndarray, colours: np.ndarray) -> bool:
    """Whether some path a - b - c - d has only 2 colours, by counting (any size).

    Such a path exists iff some edge b - c has b with another neighbour of c's colour
    and c another of b's: N[b, colour(c)] >= 2 and N[c, colour(b)] >= 2, with N[v, k]
    the number of v's neighbours of colour k.
    """
    onehot = np.zeros((A.shape[0], int(colours.max()) + 1))
    onehot[np.arange(A.shape[0]), colours] = 1.0
    N = A.astype(np.float64) @ onehot
    b, c = np.nonzero(A)
    return bool(np.any((N[b, colours[c]] >= 2) & (N[c, colours[b]] >= 2)))


def random_hessian(S: scipy.sparse.csr_array, rng: np.random.Generator) -> np.ndarray:
    """A dense symmetric matrix with exactly the pattern of S (and a nonzero diagonal)."""
    P = symmetric_csr(S).toarray() != 0
    H = rng.standard_normal(P.shape)
    H = np.where(P, H + H.T, 0.0)
    np.fill_diagonal(H, rng.uniform(1.0, 2.0, P.shape[0]))
    return H


# --------------------------------------------------------------------------------------
# The colouring: a star colouring, and how many colours
# --------------------------------------------------------------------------------------

SMALL = [
    pytest.param(random_symmetric(n, d, seed), id=f"random-n{n}-d{d}-s{seed}")
    for n, d in [(8, 0.2), (16, 0.1), (24, 0.08), (24, 0.2)]
    for seed in range(3)
] + [
    pytest.param(band(12, 2), id="band-b2"),
    pytest.param(grid(5, 5), id="grid-5pt-5x5"),
    pytest.param(grid(4, 9), id="grid-9pt-4x4"),
    pytest.param(arrow_tridiagonal(12), id="arrow-tridiagonal"),
    pytest.param(block_arrow(3, 3), id="block-arrow"),
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("S", SMALL)
def test_is_a_star_colouring(hp, S, order):
    n = S.shape[0]
    col = hp.colouring(n, sparsity=S, order=order)
    assert col.method == "star"
    assert col.colours.shape == (n,)
    assert set(col.colours.tolist()) == set(range(col.count))
    assert is_star_colouring(adjacency(S), col.colours)


def dense_rows(n: int, rows: int, seed: int) -> scipy.sparse.csr_array:
    """A random pattern (about 3 a row) plus `rows` rows (and columns) coupled to half of x."""
    rng = np.random.default_rng(seed)
    S = random_symmetric(n, 3.0 / n, seed).tolil()
    for r in rng.choice(n, rows, replace=False):
        S[r, rng.choice(n, n // 2, replace=False)] = 1.0
    S = scipy.sparse.csr_array(S)
    return scipy.sparse.csr_array((S + S.T) != 0, dtype=np.float64)


# Vertices of degree above 64 take the core's hash-map path rather than a scan.
WIDE = [
    pytest.param(dense_rows(300, k, seed), id=f"dense-rows-{k}-s{seed}")
    for k in (1, 3, 10)
    for seed in range(2)
] + [
    pytest.param(arrow_tridiagonal(300), id="arrow-tridiagonal-300"),
    pytest.param(block_arrow(30, 6), id="block-arrow-30x6"),
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("S", SMALL[:6] + WIDE)
def test_is_a_star_colouring_with_dense_rows(hp, S, order):
    n = S.shape[0]
    col = hp.colouring(n, sparsity=S, order=order)
    A = adjacency(S)
    b, c = np.nonzero(A)
    assert np.all(col.colours[b] != col.colours[c])
    assert not has_two_coloured_p4(A, col.colours)
    assert col.count <= hp.colouring(n, sparsity=S, method="distance-2").count
    H = random_hessian(S, np.random.default_rng(2))
    HP = (H @ col.probes().T).T
    np.testing.assert_array_equal(col.recover(HP), H[col.rows, col.cols])


def test_the_two_star_checks_agree(hp):
    # The counting check against the brute force, on colourings that are and are not
    # star colourings: random distance-1 colourings of small patterns.
    rng = np.random.default_rng(3)
    outcomes = []
    for n, density, seed in [(10, 0.3, 0), (14, 0.2, 1), (20, 0.1, 2)]:
        A = adjacency(random_symmetric(n, density, seed))
        palette = int(A.sum(axis=1).max()) + 2
        for _ in range(20):
            colours = np.full(n, -1)
            for v in rng.permutation(n):
                free = np.setdiff1d(np.arange(palette), colours[A[v]])
                colours[v] = rng.choice(free)
            star = is_star_colouring(A, colours)
            assert star == (not has_two_coloured_p4(A, colours))
            outcomes.append(star)
    assert 0 < sum(outcomes) < len(outcomes)  # both kinds were seen


def test_a_two_coloured_path_on_4_vertices_is_not_a_star_colouring():
    # The brute-force check itself: a path 0-1-2-3 coloured a b a b is refused.
    P4 = adjacency(band(4, 1))
    assert not is_star_colouring(P4, np.array([0, 1, 0, 1]))
    assert is_star_colouring(P4, np.array([0, 1, 0, 2]))
    assert not is_star_colouring(P4, np.array([0, 0, 1, 2]))  # adjacent 0 and 1 alike


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
@pytest.mark.parametrize("b", [0, 1, 2, 3, 5])
def test_band_needs_at_most_2b_plus_1_colours(hp, b, n, order):
    col = hp.colouring(n, sparsity=band(n, b), order=order)
    assert col.count <= min(2 * b + 1, n)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("density", [0.002, 0.01, 0.05, 0.2])
@pytest.mark.parametrize("n", [30, 150, 600])
def test_random_patterns_never_more_colours_than_distance_2(hp, n, density, seed):
    S = random_symmetric(n, density, seed)
    distance2 = hp.colouring(n, sparsity=S, method="distance-2")
    for order in ORDERS:
        assert hp.colouring(n, sparsity=S, order=order).count <= distance2.count, order


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("density", [0.01, 0.05, 0.2])
def test_core_distance_2_is_the_python_reference(hp, density, seed):
    # The core's distance-2 colouring (the star colouring's fallback) colours as the
    # Python greedy loop does.
    from hessprobe import _core

    S = symmetric_csr(random_symmetric(150, density, seed))
    colours, hubs, count = _core.distance2_colouring(S.indptr, S.indices)
    reference = hp.colouring(150, sparsity=S, method="distance-2")
    np.testing.assert_array_equal(colours, reference.colours)
    assert count == reference.count
    rows = np.repeat(np.arange(150), np.diff(S.indptr))
    np.testing.assert_array_equal(hubs, np.minimum(rows, S.indices))


# Measured colours (star, default order smallest-last / distance-2, natural order):
REAL = [
    pytest.param(grid(30, 5), 6, 7, id="grid-5pt-30x30"),
    pytest.param(grid(30, 9), 9, 9, id="grid-9pt-30x30"),
    pytest.param(grid3(10), 11, 12, id="grid-7pt-10x10x10"),
    pytest.param(arrow(500), 2, 500, id="arrow-500"),
    pytest.param(arrow_tridiagonal(500), 4, 500, id="arrow-tridiagonal-500"),
    pytest.param(block_arrow(50, 4), 5, 201, id="block-arrow-50x4"),
]


@pytest.mark.parametrize(("S", "star_count", "distance2_count"), REAL)
def test_real_patterns_colour_counts(hp, S, star_count, distance2_count):
    n = S.shape[0]
    star = hp.colouring(n, sparsity=S)
    distance2 = hp.colouring(n, sparsity=S, method="distance-2")
    assert (star.count, distance2.count) == (star_count, distance2_count)


def test_grid_5pt_natural_order(hp):
    # The grid numbered row by row, visited in that order: 5 colours (distance-2: 7).
    S = grid(30, 5)
    assert hp.colouring(S.shape[0], sparsity=S, order="natural").count == 5


def test_nine_point_stencil_falls_back_to_distance_2(hp):
    # Greedy star colouring gives 11 colours on the 9-point stencil, more than the
    # distance-2 colouring's 9 (a star colouring too): the core returns the latter.
    from hessprobe import _core

    S = symmetric_csr(grid(30, 9))
    colours, hubs, count = _core.star_colouring(S.indptr, S.indices, "natural")
    d2_colours, _, d2_count = _core.distance2_colouring(S.indptr, S.indices)
    assert count == d2_count == 9
    np.testing.assert_array_equal(colours, d2_colours)
    # ... the same colouring as the Python reference's (greedy, natural order).
    reference = hp.colouring(S.shape[0], sparsity=S, method="distance-2")
    np.testing.assert_array_equal(d2_colours, reference.colours)
    rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
    np.testing.assert_array_equal(hubs, np.minimum(rows, S.indices))  # either end: the smaller


def test_core_without_hubs_gives_the_same_colours(hp):
    from hessprobe import _core

    S = symmetric_csr(grid(9, 5))
    colours, hubs, count = _core.star_colouring(S.indptr, S.indices, "smallest-last")
    colours2, none, count2 = _core.star_colouring(S.indptr, S.indices, "smallest-last", False)
    assert none is None
    assert count2 == count
    np.testing.assert_array_equal(colours2, colours)
    assert hubs.dtype == S.indices.dtype  # int32 indices: used in place, hubs alike


# --------------------------------------------------------------------------------------
# Vertex orders
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_vertex_orders(hp, seed):
    from hessprobe import _core

    S = symmetric_csr(random_symmetric(40, 0.08, seed))
    A = adjacency(S)
    degree = A.sum(axis=1)
    np.testing.assert_array_equal(_core.vertex_order(S.indptr, S.indices, "natural"), np.arange(40))
    largest = _core.vertex_order(S.indptr, S.indices, "largest-first")
    assert sorted(largest.tolist()) == list(range(40))
    assert np.all(np.diff(degree[largest]) <= 0)
    # Smallest last: read backwards, each vertex has the smallest degree of the graph
    # that remains when the ones before it are removed.
    smallest = _core.vertex_order(S.indptr, S.indices, "smallest-last")[::-1]
    assert sorted(smallest.tolist()) == list(range(40))
    remaining = np.ones(40, dtype=bool)
    for v in smallest:
        current = A[:, remaining].sum(axis=1)
        assert current[v] == current[remaining].min()
        remaining[v] = False


# --------------------------------------------------------------------------------------
# Recovery
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("S", SMALL)
def test_each_entry_is_read_from_its_hubs_colour(hp, S, order):
    # Brute force on a dense H with the pattern: the coloured products H P', and each
    # entry read where the colouring says.  Each read sums one entry and exact zeros.
    n = S.shape[0]
    H = random_hessian(S, np.random.default_rng(1))
    col = hp.colouring(n, sparsity=S, order=order)
    HP = (H @ col.probes().T).T
    assert np.all((col.hubs == col.rows) | (col.hubs == col.cols))
    np.testing.assert_array_equal(col.recover(HP), H[col.rows, col.cols])
    # The pattern's entries are all there: both triangles and the diagonal.
    P = symmetric_csr(S).toarray() != 0
    assert col.rows.shape[0] == P.sum()
    assert P[col.rows, col.cols].all()


def nonlinear_gradient(A: np.ndarray):
    """g(x) = A x - sin(x): f = x'Ax / 2 + sum cos(x_i), H = A - diag(cos(x))."""

    def grad(x):
        return A @ x - np.sin(x)

    return grad


@pytest.mark.parametrize(
    "S",
    [
        pytest.param(random_symmetric(60, 0.05, 7), id="random-60"),
        pytest.param(grid(7, 5), id="grid-5pt-7x7"),
        pytest.param(arrow_tridiagonal(40), id="arrow-tridiagonal-40"),
        pytest.param(block_arrow(6, 5), id="block-arrow"),
    ],
)
def test_hessian_and_diagonal_equal_the_dense_reference(hp, S):
    n = S.shape[0]
    rng = np.random.default_rng(5)
    A = random_hessian(S, rng)
    x = rng.standard_normal(n)
    H_ref = A - np.diag(np.cos(x))
    # A built-in (dual numbers in the core): each entry is a copy of A's.
    H = hp.hessian(hp.functions.quadratic(A), x, sparsity=S)
    assert isinstance(H, scipy.sparse.csr_array)
    np.testing.assert_array_equal(H.toarray(), A)
    np.testing.assert_array_equal(
        hp.hessian_diag(hp.functions.quadratic(A), x, sparsity=S), np.diag(A)
    )
    # The user's NumPy gradient on dual numbers: exact to rounding of A x - sin(x)'s terms.
    dual = hp.Gradient(nonlinear_gradient(A), scheme="dual")
    scale = np.abs(H_ref).max()
    np.testing.assert_allclose(
        hp.hessian(dual, x, sparsity=S).toarray(), H_ref, rtol=0, atol=1e-14 * scale
    )
    np.testing.assert_allclose(
        hp.hessian_diag(dual, x, sparsity=S), np.diag(H_ref), rtol=0, atol=1e-14 * scale
    )
    # Central differences: truncation h^2 / 6 |cos''| ~ 1e-11 at h ~ 1e-5 (the unit step
    # for |x| ~ 1) and rounding ~ eps |g| / h ~ 1e-10 per product; 1e-8 leaves a margin.
    fd = hp.Gradient(nonlinear_gradient(A))
    H_fd = hp.hessian(fd, x, sparsity=S)
    np.testing.assert_allclose(H_fd.toarray(), H_ref, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(
        hp.hessian_diag(fd, x, sparsity=S), np.diag(H_ref), rtol=0, atol=1e-8 * scale
    )
    # Star recovery reads H_ij and H_ji from one product entry (for a single-edge star
    # too: its smaller end is the hub): symmetric exactly, with no averaging.
    assert (H_fd != H_fd.T).nnz == 0
    col = hp.colouring(n, sparsity=S)
    hub = {(i, j): h for i, j, h in zip(col.rows.tolist(), col.cols.tolist(), col.hubs.tolist())}
    assert all(hub[i, j] == hub[j, i] for i, j in hub)


def test_arrowhead_at_a_million_in_two_colours(hp):
    # x_0 coupled to every x_i: 2 colours, 2 HVPs (distance-2 needs n; it was refused
    # for lack of memory).  g = 2 x + x_0 on every i > 0 and sum(x[1:]) on 0.
    n = 10**6
    calls = 0

    def grad(x):
        nonlocal calls
        calls += 1
        g = 2.0 * x
        g[1:] += x[0]
        g[0] += np.sum(x[1:])
        return g

    col = hp.colouring(n, sparsity=arrow(n))
    assert col.count == 2
    x = np.linspace(-1.0, 1.0, n)
    H = hp.hessian(grad, x, sparsity=arrow(n), threads=1)
    assert calls == 4  # 2 HVPs, central differences
    assert H.nnz == 3 * n - 2
    np.testing.assert_allclose(H.diagonal(), 2.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(H[[0], 1:].toarray().ravel(), 1.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(H[1:, [0]].toarray().ravel(), 1.0, rtol=0, atol=1e-6)


def test_one_triangle_is_a_pattern(hp):
    # The lower or the upper triangle alone: the other one is implied.
    S = grid(6, 5)
    n = S.shape[0]
    full = hp.colouring(n, sparsity=S)
    for half in (scipy.sparse.triu(S), scipy.sparse.tril(S)):
        col = hp.colouring(n, sparsity=half)
        np.testing.assert_array_equal(col.colours, full.colours)
        np.testing.assert_array_equal(col.hubs, full.hubs)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


def not_symmetric() -> scipy.sparse.csr_array:
    S = band(5, 1).tolil()
    S[0, 3] = 1.0  # both triangles given, but (3, 0) is missing
    return scipy.sparse.csr_array(S)


@pytest.mark.parametrize(
    ("sparsity", "match"),
    [
        (scipy.sparse.csr_array((5, 4)), r"sparsity= must be square"),
        (band(4, 1), r"sparsity= must have shape \(5, 5\)"),
        (not_symmetric(), r"sparsity= is not symmetric: entry \(0, 3\) has no \(3, 0\)"),
    ],
    ids=["not-square", "wrong-size", "not-symmetric"],
)
@pytest.mark.parametrize("entry", ["hessian", "hessian_diag", "colouring"])
def test_bad_pattern_is_a_value_error_naming_sparsity(hp, entry, sparsity, match):
    with pytest.raises(ValueError, match=match):
        if entry == "colouring":
            hp.colouring(5, sparsity=sparsity)
        else:
            getattr(hp, entry)(hp.functions.rosenbrock(), np.zeros(5), sparsity=sparsity)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "acyclic"}, "method must be one of"),
        ({"order": "random"}, "order must be one of"),
        ({"method": "distance-2", "sparsity": not_symmetric()}, "sparsity= must be symmetric"),
    ],
    ids=["method", "order", "distance-2-not-symmetric"],
)
def test_bad_colouring_options(hp, kwargs, match):
    kwargs = {"sparsity": band(5, 1), **kwargs}
    with pytest.raises(ValueError, match=match):
        hp.colouring(5, **kwargs)


@pytest.mark.parametrize(
    ("indptr", "indices", "match"),
    [
        ([0, 1, 2], [0, 2], "column index 2 out of range"),
        ([0, 2, 3], [1, 0, 0], "not sorted and unique"),
        ([0, 1, 1], [1], "not symmetric"),
        ([1, 2, 3], [0, 1], r"indptr\[0\] must be 0"),
        ([0, 2, 1], [0, 1], "non-decreasing"),
        ([0, 1, 2], [0, 1, 1], r"indptr\[n\] must equal len\(indices\)"),
    ],
    ids=["out-of-range", "unsorted", "asymmetric", "indptr-start", "indptr-order", "indptr-end"],
)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_core_refuses_a_bad_csr(indptr, indices, match, dtype):
    from hessprobe import _core

    with pytest.raises(ValueError, match=f"sparsity=.*{match}"):
        _core.star_colouring(np.array(indptr, dtype=dtype), np.array(indices, dtype=dtype))
    with pytest.raises(ValueError, match="order must be"):
        _core.star_colouring(np.array([0, 1]), np.array([0]), "random")
