// Moving K tangent lanes between K row-major directions (row k holds direction k) and a
// lane-major buffer (coordinate i's K lanes side by side, as a Dual<K> holds them).
//
// A (rows, n) block of directions is row-major, a dual is lane-major: every coordinate
// read by the gradient code would otherwise gather K doubles from K rows, and every
// result scatter K doubles to K rows.  Transposing a whole chunk at once turns those into
// 4 x 4 register transposes (the AVX builds) over contiguous memory.  Moving doubles is
// exact, so every build gives the same bits.
#pragma once

#include "hessprobe/config.hpp"

#include <cstddef>

#if defined(__AVX__)
#include <immintrin.h>
#endif

HESSPROBE_NAMESPACE_BEGIN

// lanes[(i - begin) * K + k] = row[k][i] for i in [begin, end), k < K.
template <int K>
void rows_to_lanes(const double* const* row, std::size_t begin, std::size_t end, double* lanes);

// row[k][i] = lanes[(i - begin) * K + k] for i in [begin, end), k < active (<= K).
template <int K>
void lanes_to_rows(const double* lanes, std::size_t begin, std::size_t end, double* const* row, std::size_t active);

namespace detail {

// d[j][c] = s[c][j] for j, c < 4: four rows of four doubles each way.
inline void transpose4(const double* s0, const double* s1, const double* s2, const double* s3, double* d0,
                       double* d1, double* d2, double* d3) {
#if defined(__AVX__)
    const __m256d r0 = _mm256_loadu_pd(s0), r1 = _mm256_loadu_pd(s1);
    const __m256d r2 = _mm256_loadu_pd(s2), r3 = _mm256_loadu_pd(s3);
    const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d0, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d1, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d2, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d3, _mm256_permute2f128_pd(t1, t3, 0x31));
#else
    const double* s[4] = {s0, s1, s2, s3};
    double* d[4] = {d0, d1, d2, d3};
    for (int j = 0; j < 4; ++j)
        for (int c = 0; c < 4; ++c) d[j][c] = s[c][j];
#endif
}

}  // namespace detail

template <int K>
void rows_to_lanes(const double* const* row, std::size_t begin, std::size_t end, double* lanes) {
    std::size_t i = begin;
    if constexpr (K % 4 == 0)
        for (; i + 4 <= end; i += 4) {
            double* l = lanes + (i - begin) * K;
            for (int k = 0; k < K; k += 4)
                detail::transpose4(row[k] + i, row[k + 1] + i, row[k + 2] + i, row[k + 3] + i, l + k, l + K + k,
                                   l + 2 * K + k, l + 3 * K + k);
        }
    for (; i < end; ++i)
        for (int k = 0; k < K; ++k) lanes[(i - begin) * K + k] = row[k][i];
}

template <int K>
void lanes_to_rows(const double* lanes, std::size_t begin, std::size_t end, double* const* row, std::size_t active) {
    std::size_t i = begin;
    const std::size_t whole = K % 4 == 0 ? active / 4 * 4 : 0;  // lanes moved four at a time
    for (; i + 4 <= end && whole > 0; i += 4) {
        const double* l = lanes + (i - begin) * K;
        for (std::size_t k = 0; k < whole; k += 4)
            detail::transpose4(l + k, l + K + k, l + 2 * K + k, l + 3 * K + k, row[k] + i, row[k + 1] + i,
                               row[k + 2] + i, row[k + 3] + i);
        for (std::size_t k = whole; k < active; ++k)
            for (std::size_t j = 0; j < 4; ++j) row[k][i + j] = l[j * K + k];
    }
    for (; i < end; ++i)
        for (std::size_t k = 0; k < active; ++k) row[k][i] = lanes[(i - begin) * K + k];
}

HESSPROBE_NAMESPACE_END
