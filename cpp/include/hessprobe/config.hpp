// Build configuration shared by every core header.
//
// The core is compiled once per instruction set (a baseline build and, on x86-64,
// AVX2+FMA and AVX-512 builds, one chosen at import time).  Each build puts its code in
// its own inline namespace, hessprobe::HESSPROBE_ARCH, so that no two builds can ever
// share (and silently mix) a template instantiation.  No build lets the compiler
// contract (-ffp-contract=off); the dual lanes' a * b + c is an FMA where -mfma gives one
// (multiply_add, dual.hpp), so the FMA builds' bits differ from the baseline's, which are
// the same on every machine.  No code path depends on the thread count, so each build
// is bitwise reproducible (docs/guide/builds.rst).
#pragma once

#ifndef HESSPROBE_ARCH
#define HESSPROBE_ARCH baseline
#endif

#define HESSPROBE_NAMESPACE_BEGIN \
    namespace hessprobe {         \
    inline namespace HESSPROBE_ARCH {
#define HESSPROBE_NAMESPACE_END \
    }                           \
    }
