"""The autodiff frameworks, both optional: JAX (jitted ahead of time, compile time apart) and
PyTorch (eager ``torch.func``).  Loading them, and their rows at one size.

Without the library, ``load_*`` returns None (with a note) and the rows' methods add nothing.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
from harness import Bench, perf
from problem import (
    PROBES,
    TASK_BLOCK,
    TASK_DIAG,
    TASK_GRAD,
    TASK_HUTCH,
    TASK_HVP,
    Problem,
    rosen_terms,
)


# ------------------------------------------------------------------------------ loading
def load_jax(b: Bench) -> tuple[Any, Any] | None:
    """(jax, jax.numpy) in float64, or None; the version and the backend go into b.machine."""
    jax = b.optional("jax")
    if jax is None:
        return None
    try:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        b.machine["jax"] = jax.__version__
        b.machine["jax_backend"] = jax.default_backend()
        b.note(
            f"JAX {jax.__version__} on {jax.default_backend()}: float64 "
            "(jax_enable_x64), XLA's default intra-op threading (all cores); compile "
            "time measured apart (AOT lower().compile())"
        )
        return jax, jnp
    except Exception as e:
        b.note(f"jax unusable ({e}); its rows are skipped")
        return None


def load_torch(b: Bench) -> Any:
    """torch with b.threads_all threads and torch.func's one-time set-up done, or None."""
    torch = b.optional("torch")
    if torch is None:
        return None
    try:
        torch.set_num_threads(b.threads_all)
        b.machine["torch"] = torch.__version__
        b.machine["torch_threads"] = torch.get_num_threads()
        # torch.func's first use costs seconds of one-time set-up; keep it out of the rows
        from torch.func import grad as _g
        from torch.func import jvp as _j
        from torch.func import vmap as _v

        t0 = perf()
        z = torch.ones(4, dtype=torch.float64)
        _v(lambda w: _j(_g(lambda y: (y**3).sum()), (z,), (w,))[1])(
            torch.eye(4, dtype=torch.float64)
        )
        torch.autograd.functional.hvp(lambda y: (y**3).sum(), z, z)
        b.note(
            f"PyTorch: one-time torch.func set-up took {perf() - t0:.2f} s before the "
            "timed rows (not counted)"
        )
        return torch
    except Exception as e:
        b.note(f"torch unusable ({e}); its rows are skipped")
        return None


# ------------------------------------------------------------------------------ JAX
def jax_kernels(jax: Any, jnp: Any) -> SimpleNamespace:
    """Rosenbrock, its three HVP formulations and three Hutchinson estimators, in JAX."""

    def fj(z: Any) -> Any:
        return jnp.sum(rosen_terms(z))

    def hvp_fr(z: Any, w: Any) -> Any:  # forward-over-reverse
        return jax.jvp(jax.grad(fj), (z,), (w,))[1]

    def hvp_rf(z: Any, w: Any) -> Any:  # reverse-over-forward
        return jax.grad(lambda y: jax.jvp(fj, (y,), (w,))[1])(z)

    def hvp_rr(z: Any, w: Any) -> Any:  # reverse-over-reverse
        return jax.grad(lambda y: jnp.vdot(jax.grad(fj)(y), w))(z)

    def hutch_scan(z: Any, V: Any) -> Any:
        def body(c: Any, w: Any) -> Any:
            d = w * hvp_fr(z, w)
            return (c[0] + d, c[1] + d * d), None

        zero = jnp.zeros_like(z)
        (s1, s2), _ = jax.lax.scan(body, (zero, zero), V)
        m = V.shape[0]
        mu = s1 / m
        return mu, jnp.sqrt(jnp.maximum(s2 - m * mu * mu, 0.0) / (m - 1) / m)

    def hutch_scan_mean(z: Any, V: Any) -> Any:  # the formulation: mean only
        def body(c: Any, w: Any) -> Any:
            return c + w * hvp_fr(z, w), None

        s1, _ = jax.lax.scan(body, jnp.zeros_like(z), V)
        return s1 / V.shape[0], s1

    def hutch_vmap(z: Any, V: Any) -> Any:
        D = V * jax.vmap(hvp_fr, in_axes=(None, 0))(z, V)
        m = V.shape[0]
        return jnp.mean(D, axis=0), jnp.std(D, axis=0, ddof=1) / math.sqrt(m)

    return SimpleNamespace(
        fj=fj,
        hvp_fr=hvp_fr,
        hvp_rf=hvp_rf,
        hvp_rr=hvp_rr,
        hutch_scan=hutch_scan,
        hutch_scan_mean=hutch_scan_mean,
        hutch_vmap=hutch_vmap,
    )


class JaxRows:
    """JAX's rows at one size, each function compiled ahead of time on the inputs it is timed on."""

    def __init__(self, b: Bench, jx: tuple[Any, Any] | None, p: Problem) -> None:
        self.b, self.p, self.on = b, p, jx is not None
        if jx is not None:
            self.jax, self.jnp = jx
            self.k = jax_kernels(*jx)
            self.xj, self.vj, self.V8j = (self.jnp.asarray(a) for a in (p.x, p.v, p.V8))

    def aot(self, fun: Any, *a: Any) -> Callable[[], Callable[[], Any]]:
        def build() -> Callable[[], Any]:
            c = self.jax.jit(fun).lower(*a).compile()
            return lambda: c(*a).block_until_ready()

        return build

    def adder(self, task: str) -> Any:
        return self.b.adder(task, self.p.n, "jax")

    def gradient(self) -> None:
        if self.on:
            add = self.adder(TASK_GRAD)
            build = self.aot(self.jax.grad(self.k.fj), self.xj)
            add("JAX jit(grad(f))", "jax_grad", None, err=self.p.e_g, compile_fn=build)

    def hvp(self) -> None:
        if not self.on:
            return
        add = self.adder(TASK_HVP)
        for method, key, fun in (
            ("JAX jit(jvp(grad(f))) fwd-over-rev", "jax_hvp_fr", self.k.hvp_fr),
            ("JAX jit(grad(jvp(f))) rev-over-fwd", "jax_hvp_rf", self.k.hvp_rf),
            ("JAX jit(grad(grad(f).v)) rev-over-rev", "jax_hvp_rr", self.k.hvp_rr),
        ):
            build = self.aot(fun, self.xj, self.vj)
            add(method, key, None, err=self.p.e_hv, compile_fn=build)

    def block(self) -> None:
        if self.on:
            add = self.adder(TASK_BLOCK)
            hvps = self.jax.vmap(self.k.hvp_fr, in_axes=(None, 0))
            build = self.aot(hvps, self.xj, self.V8j)
            add("JAX jit(vmap(jvp(grad(f))))", "jax_blk", None, err=self.p.e_blk, compile_fn=build)

    def hutchinson(self) -> None:
        """Three jitted estimators and the seeds' per-probe loop, over probes drawn untimed."""
        if not self.on:
            return
        jax, jnp, k, xj = self.jax, self.jnp, self.k, self.xj
        Vj = jnp.asarray(self.p.probes)
        add = self.adder(TASK_HUTCH)

        def aot2(fun: Any) -> Callable[[], Callable[[], Any]]:
            def build() -> Callable[[], Any]:
                c = jax.jit(fun).lower(xj, Vj).compile()

                def call() -> Any:
                    r = c(xj, Vj)
                    jax.block_until_ready(r)
                    return r[0]

                return call

            return build

        pre = "probes pre-drawn (not timed)"
        for method, key, fun, note in (
            (
                "JAX jit(lax.scan(jvp(grad(f)))) over pre-drawn probes",
                "jax_hutch_scan",
                k.hutch_scan,
                pre,
            ),
            (
                "JAX jit(lax.scan(jvp(grad(f)))), mean only (no stderr)",
                "jax_hutch_scan_mean",
                k.hutch_scan_mean,
                pre + "; no stderr",
            ),
            (
                "JAX jit(vmap(jvp(grad(f)))) over pre-drawn probes",
                "jax_hutch_vmap",
                k.hutch_vmap,
                pre,
            ),
        ):
            add(method, key, None, err=self.p.e_d, compile_fn=aot2(fun), note=note)

        def build_loop() -> Callable[[], Any]:
            c = jax.jit(k.hvp_fr).lower(xj, self.vj).compile()
            rows = [Vj[j] for j in range(PROBES)]

            def loop() -> Any:  # the seeds' formulation: mean of v * Hv, one probe at a time
                acc = jnp.zeros_like(xj)
                for w in rows:
                    acc = acc + w * c(xj, w)
                return (acc / PROBES).block_until_ready()

            return loop

        add(
            "JAX per-probe Python loop over jit(jvp(grad(f))) (seeds)",
            "jax_hutch_loop",
            None,
            err=self.p.e_d,
            compile_fn=build_loop,
            note="mean only, as the seeds; probes pre-drawn",
        )

    def diagonal(self) -> None:
        """The exact diagonal the JAX way: the tridiagonal band stated by hand, three
        jitted HVPs on the colour indicators (columns j = c mod 3), d_j read from colour j."""
        if not self.on:
            return
        jax, jnp, k, xj = self.jax, self.jnp, self.k, self.xj
        n = self.p.n
        C = jnp.asarray((np.arange(n)[None, :] % 3 == np.arange(3)[:, None]).astype(float))

        def band_diag(z: Any, P: Any) -> Any:
            HP = jax.vmap(k.hvp_fr, in_axes=(None, 0))(z, P)
            return jnp.sum(P * HP, axis=0)

        add = self.adder(TASK_DIAG)
        add(
            "JAX by hand: band given, jit(vmap(jvp(grad(f)))) on 3 colours",
            "jax_diag_band",
            None,
            err=self.p.e_d,
            compile_fn=self.aot(band_diag, xj, C),
            note="structure stated by the user",
        )


# ------------------------------------------------------------------------------ PyTorch
class TorchRows:
    """PyTorch's rows at one size (eager torch.func, inputs converted before timing)."""

    def __init__(self, b: Bench, torch: Any, p: Problem) -> None:
        self.b, self.p, self.on = b, p, torch is not None
        if torch is None:
            return
        from torch.func import grad, jvp, vmap

        def ft(z: Any) -> Any:
            return torch.sum(rosen_terms(z))

        def hvp_t(z: Any, w: Any) -> Any:
            return jvp(grad(ft), (z,), (w,))[1]

        self.torch, self.grad, self.vmap, self.ft, self.hvp_t = torch, grad, vmap, ft, hvp_t
        self.xt, self.vt, self.V8t = (torch.from_numpy(a.copy()) for a in (p.x, p.v, p.V8))

    def adder(self, task: str) -> Any:
        return self.b.adder(task, self.p.n, "torch")

    @staticmethod
    def err(e: Callable[[Any], float]) -> Callable[[Any], float]:
        """The error of a tensor result: e of its NumPy view."""
        return lambda r: e(r.numpy())

    def gradient(self) -> None:
        if self.on:
            grad, ft, xt = self.grad, self.ft, self.xt
            add = self.adder(TASK_GRAD)
            add(
                "PyTorch torch.func.grad(f) (eager)",
                "torch_grad",
                lambda: grad(ft)(xt),
                err=self.err(self.p.e_g),
            )

    def hvp(self) -> None:
        if not self.on:
            return
        torch, ft, hvp_t, xt, vt = self.torch, self.ft, self.hvp_t, self.xt, self.vt
        add = self.adder(TASK_HVP)
        err = self.err(self.p.e_hv)
        add("PyTorch torch.func.jvp(grad(f))", "torch_hvp_func", lambda: hvp_t(xt, vt), err=err)
        add(
            "PyTorch torch.autograd.functional.hvp",
            "torch_hvp_autograd",
            lambda: torch.autograd.functional.hvp(ft, xt, vt)[1],
            err=err,
        )

    def block(self) -> None:
        if self.on:
            vmap, hvp_t, xt, V8t = self.vmap, self.hvp_t, self.xt, self.V8t
            add = self.adder(TASK_BLOCK)
            add(
                "PyTorch vmap(torch.func.jvp(grad(f)))",
                "torch_blk",
                lambda: vmap(lambda w: hvp_t(xt, w))(V8t),
                err=self.err(self.p.e_blk),
            )
