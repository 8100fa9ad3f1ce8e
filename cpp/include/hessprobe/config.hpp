// Build configuration shared by every core header.
//
// The core is compiled once per instruction set (a baseline build and, on x86-64, an
// AVX2 build chosen at import time).  Each build puts its code in its own inline
// namespace, hessprobe::HESSPROBE_ARCH, so that no two builds can ever share (and
// silently mix) a template instantiation.  Floating-point contraction is off in every
// build (-ffp-contract=off), so all builds give bitwise the same results.
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
