"""Your own C++ function at built-in speed, with exact derivatives.

Write the gradient once, templated on the scalar type, exactly as hessprobe's built-ins
are written (``cpp/include/hessprobe/functions/*.hpp``; the contract is in
``hessprobe/functions/concept.hpp``), and hand it to hessprobe one of two ways:

* :func:`compile_gradient`: hessprobe compiles the snippet with the system compiler, with
  the core's flags, caches the shared object and returns a :class:`CompiledFunction`;
* an extension module of your own, built against :func:`get_include` (or the CMake
  config file in :func:`get_cmake_dir`), returning ``hessprobe::make_capsule(F{})``
  (``hessprobe/capsule.hpp``); wrap the capsule with :func:`compiled_function`, or pass
  it to any entry point directly.

Either way every entry point (:func:`~hessprobe.hvp`, :func:`~hessprobe.hessp`,
:class:`~hessprobe.HessianOperator`, :func:`~hessprobe.hessian`,
:func:`~hessprobe.hessian_diag`, the estimators, sketching, spectra, AdaHessian) takes it,
and the heavy loops run inside your shared object with your gradient inlined.  The
boundary is a plain C ABI (``hessprobe/abi.h``, a table of function pointers with an ABI
version), so your module does not depend on the pybind11 version hessprobe was built
with.  See the "Your own C++ function" page of the documentation.

Examples
--------
>>> import numpy as np
>>> import hessprobe as hp
>>> f = hp.compile_gradient('''
... struct Quartic : hessprobe::Stateless {       // f = sum x_i^4 / 4
...     static constexpr const char* name = "quartic";
...     int bandwidth() const { return 0; }
...     template <class T, class In, class Out>
...     void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end,
...                   std::size_t) const {
...         for (std::size_t i = begin; i < end; ++i) { const T xi = x(i); g.set(i, xi * xi * xi); }
...     }
... };''', function="Quartic")
>>> hp.hvp(f, [1.0, 2.0], [1.0, 1.0])
array([ 3., 12.])
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from .derivatives import Derivatives
from .kinds.compiled import CompiledSource

__all__ = [
    "CompileError",
    "CompiledFunction",
    "cache_dir",
    "compile_gradient",
    "compiled_function",
    "compiler_flags",
    "get_cmake_dir",
    "get_include",
]

_PACKAGE = Path(__file__).resolve().parent


def get_include() -> str:
    """Return the directory holding hessprobe's public C++ headers (``hessprobe/*.hpp``).

    Add it to the include path of a C++ file that includes ``<hessprobe/export.hpp>``.
    In a wheel the headers are installed in the package (``hessprobe/include``); in a
    source checkout (an editable install) they are ``cpp/include``.

    Examples
    --------
    >>> import os
    >>> import hessprobe as hp
    >>> os.path.isfile(os.path.join(hp.get_include(), "hessprobe", "export.hpp"))
    True
    """
    for candidate in (_PACKAGE / "include", _PACKAGE.parents[1] / "cpp" / "include"):
        if (candidate / "hessprobe" / "abi.h").is_file():
            return str(candidate)
    raise RuntimeError(f"hessprobe's C++ headers are missing from this installation ({_PACKAGE})")


def get_cmake_dir() -> str:
    """Return the directory of ``hessprobeConfig.cmake`` (set ``hessprobe_DIR`` to it).

    Examples
    --------
    >>> import os
    >>> import hessprobe as hp
    >>> os.path.isfile(os.path.join(hp.get_cmake_dir(), "hessprobeConfig.cmake"))
    True
    """
    for candidate in (_PACKAGE / "share" / "cmake" / "hessprobe", _PACKAGE.parents[1] / "cmake"):
        if (candidate / "hessprobeConfig.cmake").is_file():
            return str(candidate)
    raise RuntimeError(f"hessprobeConfig.cmake is missing from this installation: {_PACKAGE}")


class CompileError(RuntimeError):
    """The C++ compiler is missing or rejected the source.

    Attributes
    ----------
    command : list of str
        The compiler command (empty when no compiler was found).
    output : str
        What the compiler printed.
    """

    def __init__(self, message: str, command: list[str] | None = None, output: str = "") -> None:
        super().__init__(message)
        self.command = command or []
        self.output = output


def cache_dir() -> Path:
    """Return the cache of compiled functions.

    ``$HESSPROBE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/hessprobe``, else
    ``~/.cache/hessprobe``.

    Examples
    --------
    >>> import hessprobe as hp
    >>> hp.compiled.cache_dir().name != ""
    True
    """
    explicit = os.environ.get("HESSPROBE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "hessprobe"


def _compiler() -> list[str]:
    cxx = os.environ.get("CXX")
    if cxx:
        return shlex.split(cxx)
    for name in ("c++", "g++", "clang++"):
        path = shutil.which(name)
        if path:
            return [path]
    raise CompileError(
        "compile_gradient needs a C++17 compiler: none of c++, g++, clang++ is on PATH "
        "(set the CXX environment variable to one)"
    )


def compiler_flags() -> list[str]:
    """Return the flags a snippet is compiled with: the core's, for the core's results.

    ``-O3 -std=c++17 -ffp-contract=off`` and the instruction set of the core in use (see
    ``hessprobe.info()["flags"]``), ``-fPIC -shared -fvisibility=hidden``, and OpenMP
    when the core has it.

    Examples
    --------
    >>> import hessprobe as hp
    >>> "-ffp-contract=off" in hp.compiled.compiler_flags()
    True
    """
    info = _core.build_info()
    flags = [f for f in str(info["flags"]).split() if f]
    for required in ("-O3", "-std=c++17", "-ffp-contract=off"):
        if required not in flags:
            flags.append(required)
    flags += ["-fPIC", "-shared", "-fvisibility=hidden"]
    if sys.platform.startswith("linux"):
        flags.append("-Wl,--no-undefined")  # an undefined symbol: a link error, not a load error
    if info["openmp"]:
        flags += ["-fopenmp", "-DHESSPROBE_WITH_OPENMP"]
    return flags


_PRELUDE = '#include <hessprobe/export.hpp>\n#line 1 "<compile_gradient source>"\n'


def _headers_digest(include: str) -> str:
    h = hashlib.sha256()
    for path in sorted(Path(include, "hessprobe").rglob("*")):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _build(text: str, command_prefix: list[str], flags: list[str], verbose: bool) -> Path:
    from . import __version__

    include = get_include()
    key = hashlib.sha256(
        "\0".join(
            [text, " ".join(command_prefix), " ".join(flags), __version__, _headers_digest(include)]
        ).encode()
    ).hexdigest()[:32]
    root = cache_dir()
    target = root / f"hessprobe_{key}.so"
    if target.is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix="build-") as tmp:
        src = Path(tmp) / "source.cpp"
        src.write_text(text)
        out = Path(tmp) / "library.so"
        user_flags = " ".join(flags)
        command = [
            *command_prefix,
            *flags,
            f'-DHESSPROBE_USER_FLAGS="{user_flags}"',
            "-I",
            include,
            str(src),
            "-o",
            str(out),
        ]
        try:
            # LC_ALL=C: plain ASCII quotes in the messages
            env = {**os.environ, "LC_ALL": "C"}
            done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        except OSError as err:
            raise CompileError(
                f"compile_gradient could not run the C++ compiler {command_prefix[0]!r}: {err}",
                command,
            ) from None
        output = (done.stdout + done.stderr).replace(str(src), "<source>")
        if done.returncode != 0:
            shown = output if len(output) <= 8000 else output[:8000] + "\n[... truncated]"
            raise CompileError(
                f"compile_gradient: the C++ compiler failed (exit {done.returncode}):\n{shown}",
                command,
                output,
            )
        if verbose and output:
            print(output)
        # atomic: a concurrent compile of the same source finds either nothing or a whole file
        os.replace(out, target)
    return target


def compile_gradient(
    cpp_source: str,
    *,
    function: str | None = None,
    params: ArrayLike | None = None,
    extra_flags: list[str] | tuple[str, ...] = (),
    verbose: bool = False,
) -> CompiledFunction:
    """Compile a C++ function's gradient and return it as an exact, native source.

    Parameters
    ----------
    cpp_source : str
        C++17 defining the function as a struct written like a built-in (see
        ``hessprobe/functions/concept.hpp``): ``template <class T, class In, class Out>
        void gradient(const In& x, const State& s, Out& g, std::size_t begin,
        std::size_t end, std::size_t n) const`` setting ``g.set(i, g_i)`` for i in
        [begin, end); optional ``value``, ``min_size``, ``fixed_size``, ``bandwidth``
        (-1 or absent: dense), and a ``State`` with ``make_state``/``prepare_parts``/
        ``prepare``/``finish`` for whole-vector sums.  ``<hessprobe/export.hpp>`` is
        included before it.
    function : str, optional
        The struct to export.  Omit it when the source ends with
        ``HESSPROBE_EXPORT(Name)`` itself.
    params : array_like of float, optional
        Numbers handed to the struct's constructor ``F(const double* p, std::size_t count)``
        (copied at construction).
    extra_flags : sequence of str, optional
        More compiler flags (``-march=native``, ``-DNAME=...``): part of the cache key.
    verbose : bool, optional
        Print the compiler's warnings.

    Returns
    -------
    CompiledFunction

    Raises
    ------
    CompileError
        No compiler, or the compiler rejected the source (its message included).
    ValueError
        ``function`` missing or given twice, or bad ``params``.

    Notes
    -----
    The compiler is ``$CXX`` or the first of ``c++``, ``g++``, ``clang++`` on PATH; the
    flags are :func:`compiler_flags`.  The shared object is cached in :func:`cache_dir`
    under a hash of (source, compiler, flags, hessprobe version and headers): a second
    call with the same source loads it without compiling.  It is written to a temporary
    file and renamed into place, so concurrent compiles are safe.  An exception thrown by
    the function reaches Python with its message (``ValueError`` for
    ``std::invalid_argument``, else ``RuntimeError``).

    Examples
    --------
    >>> import hessprobe as hp
    >>> f = hp.compile_gradient('''
    ... struct Scaled : hessprobe::Stateless {      // f = c/2 sum x_i^2
    ...     double c;
    ...     Scaled(const double* p, std::size_t) : c(p[0]) {}
    ...     int bandwidth() const { return 0; }
    ...     template <class T, class In, class Out>
    ...     void gradient(const In& x, const State&, Out& g, std::size_t b, std::size_t e,
    ...                   std::size_t) const { for (auto i = b; i < e; ++i) g.set(i, c * x(i)); }
    ... };''', function="Scaled", params=[3.0])
    >>> hp.hessian_diag(f, [1.0, 2.0, 3.0])
    array([3., 3., 3.])
    """
    if not isinstance(cpp_source, str):
        raise TypeError(f"cpp_source must be a str, got {type(cpp_source).__name__}")
    # HESSPROBE_EXPORT(F), or a factory of its own (hessprobe/abi.h)
    exports = "HESSPROBE_EXPORT(" in cpp_source or _core.factory_symbol in cpp_source
    if function is None and not exports:
        raise ValueError(
            "function: name the struct to export (function='MyFunction'), or end cpp_source "
            "with HESSPROBE_EXPORT(MyFunction)"
        )
    if function is not None:
        if exports:
            raise ValueError("function: cpp_source already has HESSPROBE_EXPORT(...); give one")
        if not (isinstance(function, str) and function.replace("::", "_").isidentifier()):
            raise ValueError(f"function must be a C++ type name, got {function!r}")
    p = np.zeros(0) if params is None else np.ascontiguousarray(params, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"params must be 1-D, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("params must be finite (no NaN or Inf)")
    if any(not isinstance(f, str) for f in extra_flags):
        raise TypeError("extra_flags must be a sequence of str")
    text = _PRELUDE + cpp_source + "\n"
    if function is not None:
        text += f"HESSPROBE_EXPORT({function})\n"
    flags = [*compiler_flags(), *extra_flags]
    library = _build(text, _compiler(), flags, verbose)
    try:
        lib = ctypes.CDLL(str(library))
    except OSError as err:  # e.g. a symbol a library given in extra_flags did not supply
        raise CompileError(f"compile_gradient could not load the compiled library: {err}") from None
    try:
        factory = getattr(lib, _core.factory_symbol)
    except AttributeError:
        raise CompileError(
            f"the compiled library exports no {_core.factory_symbol} (HESSPROBE_EXPORT missing?)"
        ) from None
    address = ctypes.cast(factory, ctypes.c_void_p).value or 0
    core = _core.Compiled.from_factory(address, p, lib)
    recipe = (cpp_source, function, [float(v) for v in p], tuple(extra_flags))
    source = CompiledSource(core, f"<compiled function {core.name!r}>")
    return CompiledFunction(source, library, recipe)


def _rebuild(
    cpp_source: str, function: str | None, params: list[float], extra_flags: tuple[str, ...]
) -> CompiledFunction:
    """Unpickle a compiled function: compile it again (a cache hit on the same machine)."""
    return compile_gradient(cpp_source, function=function, params=params, extra_flags=extra_flags)


def compiled_function(capsule: Any) -> CompiledFunction:
    """Return the function a user's extension module exported as a capsule.

    Parameters
    ----------
    capsule : PyCapsule
        Named ``"hessprobe.source_v1"``: what ``hessprobe::make_capsule(F{})``
        (``hessprobe/capsule.hpp``) returns.

    Examples
    --------
    >>> import hessprobe as hp
    >>> hp.compiled_function(object())
    Traceback (most recent call last):
    ...
    TypeError: capsule must be a PyCapsule from hessprobe::make_capsule, got object
    """
    if type(capsule).__name__ != "PyCapsule":
        got = type(capsule).__name__
        raise TypeError(f"capsule must be a PyCapsule from hessprobe::make_capsule, got {got}")
    return CompiledFunction(CompiledSource.from_capsule(capsule), None)


class CompiledFunction(Derivatives):
    """A user's compiled function: exact derivatives from the engines in its shared object.

    Made by :func:`compile_gradient` or :func:`compiled_function`; every entry point of
    hessprobe takes it as a source.  One made by :func:`compile_gradient` pickles as that
    call, so ``executor=`` sends it to workers, which compile it again (on the same
    machine: a load from the cache); one from an extension's capsule does not pickle.
    """

    def __init__(
        self,
        source: CompiledSource,
        library: Path | None,
        recipe: tuple[str, str | None, list[float], tuple[str, ...]] | None = None,
    ) -> None:
        self._source = source
        self.library = library
        self._recipe = recipe

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its compile_gradient call, so that it travels to an executor's
        # workers (hessprobe.distributed), which compile it again or load it from the cache.
        if self._recipe is None:
            raise TypeError(
                f"{self!r} came from an extension's capsule and does not pickle: import the "
                "extension on the workers, or use compile_gradient"
            )
        return (_rebuild, self._recipe)

    def __repr__(self) -> str:
        return repr(self._source)

    def __hessprobe_source__(self) -> CompiledSource:
        """Return this function as a gradient source (see :mod:`hessprobe.sources`)."""
        return self._source

    @property
    def name(self) -> str:
        """The struct's ``name`` (``"compiled"`` when it has none)."""
        return str(self._source.core.name)

    @property
    def min_size(self) -> int:
        """The smallest number of variables."""
        return int(self._source.core.min_size)

    @property
    def size(self) -> int | None:
        """The number of variables when fixed, else None."""
        return int(self._source.core.fixed_size) or None

    @property
    def bandwidth(self) -> int | None:
        """The declared half-bandwidth of the Hessian, None if dense or unknown."""
        b = int(self._source.core.bandwidth)
        return b if b >= 0 else None

    def value(self, x: ArrayLike) -> float:
        """Return f(x); TypeError when the struct has no ``value``."""
        v = self._source.at(x).value()
        if v is None:
            raise TypeError(f"{self!r} has no value(): only its derivatives are compiled")
        return v
