// Counter-based Rademacher probes: the sign of coordinate i of probe j is a pure function
// of (seed, j, i), so any thread can make any probe, and results do not depend on how
// probes are spread over threads or blocks.
//
// Probe j is the SplitMix64 stream (Steele, Lea and Flood 2014) keyed by the j-th
// SplitMix64 output of the seed; its word w (64 signs, coordinates 64w .. 64w+63, bit t
// set meaning -1) is that stream's output w.  Python reference: tests/test_rng.py.
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

HESSPROBE_NAMESPACE_BEGIN

inline constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;

inline std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

inline std::uint64_t probe_key(std::uint64_t seed, std::uint64_t probe) {
    return mix64(mix64(seed + golden_gamma) + (probe + 1) * golden_gamma);
}

inline std::uint64_t sign_word(std::uint64_t key, std::uint64_t word) {
    return mix64(key + (word + 1) * golden_gamma);
}

inline bool little_endian() {
    const std::uint16_t one = 1;
    std::uint8_t first;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

// Transposes an 8x8 bit matrix held in a word (byte r is row r, bit c of it column c).
inline std::uint64_t transpose8x8(std::uint64_t m) {
    std::uint64_t t;
    t = (m ^ (m >> 7)) & 0x00AA00AA00AA00AAULL;
    m ^= t ^ (t << 7);
    t = (m ^ (m >> 14)) & 0x0000CCCC0000CCCCULL;
    m ^= t ^ (t << 14);
    t = (m ^ (m >> 28)) & 0x00000000F0F0F0F0ULL;
    m ^= t ^ (t << 28);
    return m;
}

// Transposes an 8x8 byte matrix held in 8 words (word r, byte c): afterwards word c holds
// at byte r what word r held at byte c.  Three rounds of block swaps: 4, 2, 1 bytes.
inline void transpose_bytes(std::uint64_t w[8]) {
    for (int k = 0; k < 4; ++k) {
        const std::uint64_t a = w[k], b = w[k + 4];
        w[k] = (a & 0x00000000FFFFFFFFULL) | (b << 32);
        w[k + 4] = (a >> 32) | (b & 0xFFFFFFFF00000000ULL);
    }
    for (int k : {0, 1, 4, 5}) {
        const std::uint64_t a = w[k], b = w[k + 2];
        w[k] = (a & 0x0000FFFF0000FFFFULL) | ((b & 0x0000FFFF0000FFFFULL) << 16);
        w[k + 2] = ((a >> 16) & 0x0000FFFF0000FFFFULL) | (b & 0xFFFF0000FFFF0000ULL);
    }
    for (int k : {0, 2, 4, 6}) {
        const std::uint64_t a = w[k], b = w[k + 1];
        w[k] = (a & 0x00FF00FF00FF00FFULL) | ((b & 0x00FF00FF00FF00FFULL) << 8);
        w[k + 1] = ((a >> 8) & 0x00FF00FF00FF00FFULL) | (b & 0xFF00FF00FF00FF00ULL);
    }
}

// Sign bytes of `lanes` (<= 8) probes (their keys) for the `count` (<= 64) coordinates
// 64 w, 64 w + 1, ... into out[0 .. count): bit k of a byte is the sign bit of probe k.
inline void fill_sign_bytes(const std::uint64_t* keys, int lanes, std::size_t w, std::size_t count,
                            std::uint8_t* out) {
    std::uint64_t words[8] = {};
    for (int k = 0; k < lanes; ++k) words[k] = sign_word(keys[k], w);
    transpose_bytes(words);  // words[p], byte k: signs of probe k at coordinates 64 w + 8 p + 0..7
    for (std::size_t p = 0; p < 8 && 8 * p < count; ++p) {
        const std::uint64_t cols = transpose8x8(words[p]);  // byte t: the probes' signs at 8 p + t
        if (8 * p + 8 <= count && little_endian()) {
            std::memcpy(out + 8 * p, &cols, 8);
        } else {
            for (std::size_t t = 0; t < 8 && 8 * p + t < count; ++t)
                out[8 * p + t] = static_cast<std::uint8_t>(cols >> (8 * t));
        }
    }
}

// The sign bytes of coordinates [begin, end) of an n-vector, word by word, into
// out[i - 64 * (begin / 64)]: whole words, so out must hold sign_window_size(begin, end, n).
inline std::size_t sign_window_size(std::size_t begin, std::size_t end, std::size_t n) {
    const std::size_t w0 = begin / 64, w1 = (end + 63) / 64;
    return std::min(n, 64 * w1) - 64 * w0;
}
inline void fill_sign_window(const std::uint64_t* keys, int lanes, std::size_t begin, std::size_t end,
                             std::size_t n, std::uint8_t* out) {
    const std::size_t w0 = begin / 64, w1 = (end + 63) / 64;
    for (std::size_t w = w0; w < w1; ++w)
        fill_sign_bytes(keys, lanes, w, std::min<std::size_t>(64, n - 64 * w), out + 64 * (w - w0));
}

inline std::size_t sign_words(std::size_t n) { return (n + 63) / 64; }

// Probes first .. first + count - 1 of `seed` as +-1 rows of `out` (count, n): the exact
// vectors the probing engine uses, for estimators that need them whole (sketching).
inline void rademacher_rows(std::uint64_t seed, std::size_t first, std::size_t count, std::size_t n, double* out) {
    std::vector<std::uint8_t> bytes(n);
    for (std::size_t j = 0; j < count; ++j) {
        const std::uint64_t key = probe_key(seed, first + j);
        fill_sign_window(&key, 1, 0, n, n, bytes.data());
        for (std::size_t i = 0; i < n; ++i) out[j * n + i] = (bytes[i] & 1) ? -1.0 : 1.0;
    }
}

HESSPROBE_NAMESPACE_END
