// How a point and its tangent directions enter a gradient evaluation (inputs: x(i)
// returns the scalar at coordinate i), and where the results go (outputs: set(i, g_i)).
// An output is made per chunk of coordinates and flushed after it, so that it can keep
// chunk-local sums.
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hessprobe/dual.hpp"
#include "hessprobe/evaluate.hpp"
#include "hessprobe/transpose.hpp"

HESSPROBE_NAMESPACE_BEGIN

// x itself: gradients.
struct PointInput {
    const double* x;
    double operator()(std::size_t i) const { return x[i]; }
};

// x + eps_k v_k with the directions read from rows of a row-major (rows, n) array: lane
// k reads row[k].  Idle lanes of a partial pass point at an active row, so the lane loop
// has no branch; their results are not stored.  Each chunk reads it through its
// RowWindow (several lanes) when `halo` covers the function's band.
template <int K>
struct RowInput {
    const double* x;
    const double* row[K];
    std::size_t halo = 0;  // coordinates each side of a chunk that its window holds too
    Dual<K> operator()(std::size_t i) const {
        Dual<K> r;
        r.v = x[i];
        for (int k = 0; k < K; ++k) r.d[k] = row[k][i];
        return r;
    }
};

// The widest band a RowWindow holds around its chunk.
inline constexpr std::size_t max_window_halo = 8;

// One chunk's view of a RowInput: the lanes of coordinates [lo, hi), the chunk and the
// halo around it, transposed once into lane-major order, so that a read is two vector
// loads instead of a gather from K rows (a stencil reads each coordinate several times).
// A coordinate outside (a dense function may read any) is gathered from the rows.
template <int K>
class RowWindow {
  public:
    RowWindow(const RowInput<K>& rows, std::size_t begin, std::size_t end, std::size_t n)
        : rows_(rows),
          lo_(begin - std::min(begin, std::min(rows.halo, max_window_halo))),
          hi_(std::min(n, end + std::min(rows.halo, max_window_halo))) {
        rows_to_lanes<K>(rows.row, lo_, hi_, lanes_);
    }
    RowWindow(const RowWindow&) = delete;
    RowWindow& operator=(const RowWindow&) = delete;

    Dual<K> operator()(std::size_t i) const {
        if (i - lo_ >= hi_ - lo_) return rows_(i);  // unsigned: i < lo_ too
        Dual<K> r;
        r.v = rows_.x[i];
        const double* l = lanes_ + (i - lo_) * K;
        for (int k = 0; k < K; ++k) r.d[k] = l[k];
        return r;
    }

  private:
    const RowInput<K>& rows_;
    std::size_t lo_, hi_;
    double lanes_[(chunk_size + 2 * max_window_halo) * K];
};

// The view of a RowInput that a chunk's gradient code reads (evaluate.hpp): its window,
// or for one lane the rows themselves (nothing to gather).
template <int K, class Body>
void with_chunk_view(const RowInput<K>& in, std::size_t begin, std::size_t end, std::size_t n, Body&& body) {
    if constexpr (K == 1) {
        body(in);
    } else {
        const RowWindow<K> window(in, begin, end, n);
        body(window);
    }
}

// x + eps_k e_{first + k}: lane k is the unit vector of coordinate first + k (Hessian columns).
template <int K>
struct UnitInput {
    const double* x;
    std::size_t first;
    Dual<K> operator()(std::size_t i) const {
        Dual<K> r(x[i]);
        if (i >= first && i < first + K) r.d[i - first] = 1.0;
        return r;
    }
};

// A colouring of a band of half-bandwidth b for its diagonal: coordinate i has colour
// i mod P, P the power of two >= b + 1.  Two coordinates of one colour are at least
// b + 1 apart, so they never couple, and (H c)_i = H_ii for c = i's colour (the diagonal
// needs b + 1 colours, not the 2b + 1 of the whole band).  A power of two makes the colour
// a mask, not a division: a 64-bit division per coordinate read, four per coordinate in a
// stencil, was the whole cost of the coloured diagonal.
struct BandColour {
    std::size_t mask;  // P - 1
    std::size_t operator()(std::size_t i) const { return i & mask; }
};

// x + eps_k c_k where c_k is the indicator of colour k (structured probing of a band's
// diagonal; K = P lanes).  Every lane is written by a compare: a single-lane store into
// the dual would stall the vector load after it.
template <int K>
struct ColourInput {
    const double* x;
    BandColour colour;
    Dual<K> operator()(std::size_t i) const {
        Dual<K> r;
        r.v = x[i];
        const std::size_t c = colour(i);
        for (int k = 0; k < K; ++k) r.d[k] = static_cast<std::size_t>(k) == c ? 1.0 : 0.0;
        return r;
    }
};

// Rademacher lanes packed one byte per coordinate (bit k set: lane k is -1), expanded
// through a 256-entry table: one 64-byte load per coordinate instead of K bit tests.
struct SignTable {
    double row[256][8];
    SignTable() {
        for (int b = 0; b < 256; ++b)
            for (int k = 0; k < 8; ++k) row[b][k] = ((b >> k) & 1) ? -1.0 : 1.0;
    }
    static const SignTable& get() {
        static const SignTable table;
        return table;
    }
};

// Coordinate i's byte is signs[i - offset] (a window of the vector, or all of it).
template <int K>
struct SignInput {
    static_assert(K <= 8, "sign bytes hold at most 8 lanes");
    const double* x;
    const std::uint8_t* signs;
    std::size_t offset = 0;
    const SignTable* table = &SignTable::get();
    Dual<K> operator()(std::size_t i) const {
        Dual<K> r;
        r.v = x[i];
        const double* s = table->row[signs[i - offset]];
        for (int k = 0; k < K; ++k) r.d[k] = s[k];
        return r;
    }
};

// The diagonal entries among unit-vector lanes: (H e_{first + k})_{first + k}.
template <int K>
struct UnitDiagonalOutput {
    double* diag;
    std::size_t first;
    void set(std::size_t i, const Dual<K>& gi) const {
        if (i >= first && i < first + K) diag[i] = gi.d[i - first];
    }
    void flush() const {}
};

// g into an array.
struct GradientOutput {
    double* g;
    void set(std::size_t i, double gi) const { g[i] = gi; }
    void flush() const {}
};

// Lanes 0..active-1 into rows first.. of a row-major (rows, n) array.  With several
// lanes, stores go to a chunk-local lane-major buffer, transposed into the rows on flush
// (transpose.hpp); one lane is stored directly.
template <int K>
struct RowOutput {
    double* out;
    std::size_t n, first, active, begin, end;
    double buffer[K > 1 ? chunk_size * K : 1];

    RowOutput(double* out_, std::size_t n_, std::size_t first_, std::size_t active_, std::size_t begin_,
              std::size_t end_)
        : out(out_), n(n_), first(first_), active(active_), begin(begin_), end(end_) {}
    void set(std::size_t i, const Dual<K>& gi) {
        if constexpr (K == 1) {
            out[first * n + i] = gi.d[0];
        } else {
            double* lanes = buffer + (i - begin) * K;
            for (int k = 0; k < K; ++k) lanes[k] = gi.d[k];
        }
    }
    void flush() const {
        if constexpr (K > 1) {
            double* row[K];
            for (std::size_t k = 0; k < active; ++k) row[k] = out + (first + k) * n;
            lanes_to_rows<K>(buffer, begin, end, row, active);
        }
    }
};

// The lane of coordinate i's own colour: (H c_{colour(i)})_i, the diagonal entry when
// no other coordinate of that colour couples to i.
template <int K>
struct ColourDiagonalOutput {
    double* diag;
    BandColour colour;
    void set(std::size_t i, const Dual<K>& gi) const {
        const std::size_t c = colour(i);
        double d = gi.d[0];  // a select per lane: an indexed load would spill the dual
        for (int k = 1; k < K; ++k) d = static_cast<std::size_t>(k) == c ? gi.d[k] : d;
        diag[i] = d;
    }
    void flush() const {}
};

HESSPROBE_NAMESPACE_END
