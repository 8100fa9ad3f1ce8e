"""What this installation of hessprobe is: version and build."""

from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["info"]


def info() -> dict[str, Any]:
    """Return the version and the build's facts.

    Returns
    -------
    dict
        ``version``; ``simd`` (the build of the core in use: ``baseline``, ``avx2`` or
        ``avx512``, see ``HESSPROBE_SIMD`` and the builds guide); ``openmp`` (whether
        threads are compiled in);
        ``threads`` (the count ``threads=None`` means); ``lanes`` (the dual lane counts
        compiled in); ``probe_lanes`` (the probes of one probing block); ``compiler``
        and ``flags``.

    Examples
    --------
    >>> import hessprobe as hp
    >>> sorted(hp.info())
    ['compiler', 'flags', 'lanes', 'openmp', 'probe_lanes', 'simd', 'threads', 'version']
    """
    from . import __version__

    return {"version": __version__, **_core.build_info()}
