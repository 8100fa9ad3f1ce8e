"""Build the extension against hessprobe's public C++ API (hessprobe.get_include())."""

from __future__ import annotations

from setuptools import Extension, setup

import hessprobe

# The core's flags: -O3, C++17 and no floating-point contraction give the built-ins'
# results bit for bit; OpenMP for threads, as in the core.
openmp = bool(hessprobe.info()["openmp"])
compile_args = ["-O3", "-std=c++17", "-ffp-contract=off", "-fvisibility=hidden"]
if openmp:
    compile_args.append("-fopenmp")

setup(
    ext_modules=[
        Extension(
            "_hessprobe_wood",
            sources=["src/hessprobe_wood.cpp"],
            include_dirs=[hessprobe.get_include(), "src"],
            define_macros=[("HESSPROBE_WITH_OPENMP", None)] if openmp else [],
            extra_compile_args=compile_args,
            extra_link_args=["-fopenmp"] if openmp else [],
            language="c++",
        )
    ],
)
