#!/usr/bin/env bash
# Build hessprobe with AddressSanitizer + UndefinedBehaviorSanitizer (CMake option
# HESSPROBE_SANITIZE) into its own virtualenv and build directory, and run the test suite
# under it.  Not part of the default test run (it is several times slower); CI can call
# it as a separate job:
#
#     tests/sanitize.sh [pytest arguments...]
#
# Environment: PYTHON (default python3), SANITIZE_DIR (default build/sanitize: the venv
# and the CMake build go there), CXX (the compiler whose libasan is preloaded).
# Python is not instrumented, so the ASan runtime (and libstdc++, see below) is loaded
# first with LD_PRELOAD; leak
# detection is off (CPython's own allocations at exit would be reported); any UBSan
# finding stops the run (halt_on_error=1), as does any ASan error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${SANITIZE_DIR:-$root/build/sanitize}
python=${PYTHON:-python3}
cxx=${CXX:-g++}
start=$(date +%s)

# A venv of its own (no --system-site-packages): an editable hessprobe installed
# elsewhere would otherwise be imported instead of the sanitized build (editable
# installs hook the import system ahead of site-packages).
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q scikit-build-core pybind11 numpy scipy pytest \
    hypothesis cython setuptools
"$work/venv/bin/python" -m pip install -q --no-build-isolation \
    -C cmake.define.HESSPROBE_SANITIZE=ON -C build-dir="$work/cmake" "$root"
built=$(date +%s)
echo "sanitize: build took $((built - start)) s"

asan=$("$cxx" -print-file-name=libasan.so)
if [ ! -e "$asan" ]; then
    echo "sanitize: $cxx has no libasan.so ($asan)" >&2
    exit 2
fi

# Run from the build directory so that `import hessprobe` finds the sanitized install,
# not the source tree; check that it does.
cd "$work"
# libstdc++ too: python does not link it, and ASan resolves its __cxa_throw interceptor
# when it starts, so without it the first C++ exception aborts ("CHECK failed:
# real___cxa_throw != 0").
export LD_PRELOAD="$asan $("$cxx" -print-file-name=libstdc++.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
"$work/venv/bin/python" -c "import hessprobe, sys; f = hessprobe._core._impl.__file__; \
print('sanitize: testing', f); sys.exit('_core_baseline' not in f or '$work' not in f)"
# tests/test_memory.py is left out: ASan keeps freed memory in its quarantine (256 MB),
# so RSS grows by design there, and its 10^4-call loops are slow under ASan.
status=0
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider -c "$root/pyproject.toml" \
    --rootdir "$root" --ignore "$root/tests/test_memory.py" "$root/tests" "$@" || status=$?
echo "sanitize: tests took $(($(date +%s) - built)) s (exit status $status)"
exit $status
