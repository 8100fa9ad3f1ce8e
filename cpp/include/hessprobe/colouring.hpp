// Star colouring of a symmetric sparsity pattern, for the direct recovery of a sparse
// Hessian from one HVP per colour.
//
// A star colouring of the graph of H (vertex i per column, edge i-j per nonzero H_ij,
// i != j) is a distance-1 colouring in which every path on 4 vertices uses at least 3
// colours: the subgraph of any two colours is a collection of stars (Gebremedhin, Manne
// and Pothen 2005, "What color is your Jacobian?", SIAM Review 47).  In a star with hub
// h, each leaf l has h as its only neighbour of colour(h), so H_lh = (H v_colour(h))_l
// with v_c the indicator of colour c; a diagonal entry is H_ii = (H v_colour(i))_i since
// no neighbour of i shares its colour.  A star of one edge has either end as its hub
// (the smaller is taken).  H_ij and H_ji are read from the same product entry.
//
// star_colouring is Algorithm 4.1 of Gebremedhin, Tarafdar, Manne and Pothen 2007 ("New
// acyclic and star coloring algorithms with application to computing Hessians", SIAM J.
// Sci. Comput. 29): a greedy colouring that keeps the two-coloured stars (and their hubs)
// as it goes, forbidding for each vertex the colours that would make a two-coloured path
// on 4 vertices.  Its time is O(sum over vertices of the degrees of their neighbours),
// linear for a pattern of bounded degree (a band).  A vertex of high degree (a dense row,
// an arrowhead) is looked up through a hash map rather than scanned, and a vertex that is
// no star's leaf is not scanned, so that an arrowhead stays linear too.
//
// The pattern is CSR (indptr, indices) of a symmetric n x n pattern, column indices
// sorted and unique within each row; diagonal entries may be present or not.
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

HESSPROBE_NAMESPACE_BEGIN

// A read-only view of contiguous values (C++17 has no std::span).
template <typename T>
struct IndexSpan {
    const T* data = nullptr;
    std::size_t size = 0;
    const T& operator[](std::size_t k) const { return data[k]; }
    const T* begin() const { return data; }
    const T* end() const { return data + size; }
};

// The CSR arrays of a symmetric pattern, n = indptr.size - 1.
template <typename I>
struct Pattern {
    IndexSpan<I> indptr;
    IndexSpan<I> indices;

    std::size_t n() const { return indptr.size - 1; }
    std::size_t begin(std::size_t v) const { return static_cast<std::size_t>(indptr[v]); }
    std::size_t end(std::size_t v) const { return static_cast<std::size_t>(indptr[v + 1]); }
    // Neighbours of v, the diagonal entry (v, v) excluded.
    std::size_t degree(std::size_t v) const {
        const I* row = indices.data + begin(v);
        const I* row_end = indices.data + end(v);
        const bool diagonal = std::binary_search(row, row_end, static_cast<I>(v));
        return end(v) - begin(v) - (diagonal ? 1 : 0);
    }
};

enum class VertexOrder { natural, largest_first, smallest_last };

inline VertexOrder parse_vertex_order(const std::string& name) {
    if (name == "natural") return VertexOrder::natural;
    if (name == "largest-first") return VertexOrder::largest_first;
    if (name == "smallest-last") return VertexOrder::smallest_last;
    throw std::invalid_argument("order must be 'natural', 'largest-first' or 'smallest-last', got '" + name + "'");
}

// Checks that (indptr, indices) is a valid CSR pattern of shape (n, n), sorted unique
// indices in every row, and symmetric; throws std::invalid_argument naming `what`
// otherwise.  O(n + nnz) time, O(n) memory (one cursor per row).
template <typename I>
void check_symmetric_pattern(const Pattern<I>& p, const std::string& what) {
    if (p.indptr.size == 0) throw std::invalid_argument(what + ": indptr must have n + 1 >= 1 entries");
    const std::size_t n = p.n();
    if (p.indptr[0] != 0) throw std::invalid_argument(what + ": indptr[0] must be 0");
    for (std::size_t v = 0; v < n; ++v)
        if (p.indptr[v + 1] < p.indptr[v])
            throw std::invalid_argument(what + ": indptr must be non-decreasing");
    if (static_cast<std::size_t>(p.indptr[n]) != p.indices.size)
        throw std::invalid_argument(what + ": indptr[n] must equal len(indices)");
    for (std::size_t v = 0; v < n; ++v) {
        for (std::size_t k = p.begin(v); k < p.end(v); ++k) {
            const I j = p.indices[k];
            if (j < 0 || static_cast<std::size_t>(j) >= n)
                throw std::invalid_argument(what + ": column index " + std::to_string(j) + " out of range for n = " +
                                            std::to_string(n));
            if (k > p.begin(v) && !(p.indices[k - 1] < j))
                throw std::invalid_argument(what + ": the column indices of row " + std::to_string(v) +
                                            " are not sorted and unique");
        }
    }
    // Rows in increasing order claim, in row j, the entry (j, i): if the pattern is
    // symmetric these claims meet row j's entries in their (sorted) order.
    std::vector<std::size_t> cursor(n);
    for (std::size_t v = 0; v < n; ++v) cursor[v] = p.begin(v);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = p.begin(i); k < p.end(i); ++k) {
            const auto j = static_cast<std::size_t>(p.indices[k]);
            std::size_t& c = cursor[j];
            if (c == p.end(j) || static_cast<std::size_t>(p.indices[c]) != i)
                throw std::invalid_argument(what + " is not symmetric: entry (" + std::to_string(i) + ", " +
                                            std::to_string(j) + ") has no (" + std::to_string(j) + ", " +
                                            std::to_string(i) + "); give a symmetric pattern or one triangle");
            ++c;
        }
    }
    for (std::size_t j = 0; j < n; ++j)
        if (cursor[j] != p.end(j))
            throw std::invalid_argument(what + " is not symmetric: entry (" + std::to_string(j) + ", " +
                                        std::to_string(p.indices[cursor[j]]) + ") has no transpose; give a " +
                                        "symmetric pattern or one triangle");
}

// The order in which the greedy colouring visits the vertices.
//  natural: 0, 1, ..., n - 1.
//  largest_first: by decreasing degree (ties in natural order); counting sort, O(n).
//  smallest_last: the reverse of the order in which repeatedly removing a vertex of
//    smallest degree in the remaining graph removes them (Matula and Beck 1983): degree
//    buckets as doubly linked lists, O(n + nnz).
template <typename I>
std::vector<I> vertex_order(const Pattern<I>& p, VertexOrder order) {
    const std::size_t n = p.n();
    std::vector<I> out(n);
    if (order == VertexOrder::natural) {
        for (std::size_t v = 0; v < n; ++v) out[v] = static_cast<I>(v);
        return out;
    }
    std::vector<I> degree(n);
    std::size_t max_degree = 0;
    for (std::size_t v = 0; v < n; ++v) {
        degree[v] = static_cast<I>(p.degree(v));
        max_degree = std::max(max_degree, static_cast<std::size_t>(degree[v]));
    }
    if (order == VertexOrder::largest_first) {
        std::vector<std::size_t> start(max_degree + 2, 0);
        for (std::size_t v = 0; v < n; ++v) ++start[max_degree - static_cast<std::size_t>(degree[v]) + 1];
        for (std::size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
        for (std::size_t v = 0; v < n; ++v)
            out[start[max_degree - static_cast<std::size_t>(degree[v])]++] = static_cast<I>(v);
        return out;
    }
    // smallest_last: bucket d lists the remaining vertices of current degree d.
    const I none = -1;
    std::vector<I> head(max_degree + 1, none), next(n, none), prev(n, none);
    auto unlink = [&](I v) {
        const auto d = static_cast<std::size_t>(degree[v]);
        if (prev[v] != none)
            next[prev[v]] = next[v];
        else
            head[d] = next[v];
        if (next[v] != none) prev[next[v]] = prev[v];
    };
    auto push = [&](I v) {
        const auto d = static_cast<std::size_t>(degree[v]);
        prev[v] = none;
        next[v] = head[d];
        if (head[d] != none) prev[head[d]] = v;
        head[d] = v;
    };
    // Pushed in reverse so that each bucket starts in natural order.
    for (std::size_t v = n; v-- > 0;) push(static_cast<I>(v));
    std::vector<bool> removed(n, false);
    std::size_t lowest = 0;
    for (std::size_t step = 0; step < n; ++step) {
        while (head[lowest] == none) ++lowest;
        const I v = head[lowest];
        unlink(v);
        removed[v] = true;
        out[n - 1 - step] = v;
        for (std::size_t k = p.begin(v); k < p.end(v); ++k) {
            const I u = p.indices[k];
            if (u == v || removed[u]) continue;
            unlink(u);
            --degree[u];
            push(u);
        }
        // A neighbour may now be one below the lowest bucket.
        if (lowest > 0) --lowest;
    }
    return out;
}

// The result of star_colouring: colours[v] in 0 .. count - 1 and, for every CSR entry k
// = (i, j) of the pattern, hubs[k] the end (i or j) that is the hub of the two-coloured
// star holding edge i-j (i itself for a diagonal entry).  H_ij is then entry
// i + j - hubs[k] of the HVP with the indicator of colour colours[hubs[k]].
template <typename I>
struct StarColouring {
    std::vector<I> colours;
    std::vector<I> hubs;
    std::size_t count = 0;
};

template <typename I>
StarColouring<I> star_colouring(const Pattern<I>& p, const std::vector<I>& order) {
    const std::size_t n = p.n();
    const std::size_t nnz = p.indices.size;
    const I none = -1;
    // A vertex of degree above this is looked up in `hub_star` rather than scanned.
    constexpr std::size_t scan_limit = 64;

    StarColouring<I> result;
    std::vector<I>& colour = result.colours;
    colour.assign(n, none);
    std::vector<I> star(nnz, none);     // the star of the edge of each CSR entry
    std::vector<I> hub;                 // per star: its hub, or none for a single edge
    std::vector<I> first_a, first_b;    // per star: the ends of its first edge
    std::vector<I> treated(n, none);    // treated[q] == v: q's neighbours' colours forbidden for v
    std::vector<I> leaf_count(n, 0);    // stars (with a hub) in which the vertex is a leaf
    std::vector<I> forbidden;           // forbidden[c] == v: colour c forbidden for v
    std::vector<std::size_t> first_entry;  // per colour c: the CSR entry (v, q) of v's first neighbour q of colour c
    std::vector<I> first_vertex;        // ... and that v
    // For a vertex w of high degree: (w, colour c) -> the star of w's edges to colour c
    // (unique in a star colouring: those edges are in one two-coloured component).
    std::unordered_map<std::uint64_t, I> hub_star;
    std::vector<bool> high(n, false);
    for (std::size_t v = 0; v < n; ++v) high[v] = p.end(v) - p.begin(v) > scan_limit + 1;
    const auto key = [n](std::size_t w, I c) {
        return static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(c);
    };
    // The CSR entry (w, v): binary search in row w.
    const auto transpose = [&p](I v, I w) {
        const I* row = p.indices.data + p.begin(static_cast<std::size_t>(w));
        const I* row_end = p.indices.data + p.end(static_cast<std::size_t>(w));
        return static_cast<std::size_t>(std::lower_bound(row, row_end, v) - p.indices.data);
    };
    const auto forbid_neighbours = [&](I v, I q) {
        for (std::size_t k = p.begin(static_cast<std::size_t>(q)); k < p.end(static_cast<std::size_t>(q)); ++k) {
            const I x = p.indices[k];
            if (x != q && colour[x] != none) forbidden[static_cast<std::size_t>(colour[x])] = v;
        }
        treated[q] = v;
    };
    const auto set_star = [&](std::size_t k, I v, I w, I s) {
        star[k] = s;
        star[transpose(v, w)] = s;
        if (high[static_cast<std::size_t>(w)]) hub_star[key(static_cast<std::size_t>(w), colour[v])] = s;
        if (high[static_cast<std::size_t>(v)]) hub_star[key(static_cast<std::size_t>(v), colour[w])] = s;
    };

    for (const I v : order) {
        const auto vi = static_cast<std::size_t>(v);
        for (std::size_t k = p.begin(vi); k < p.end(vi); ++k) {
            const I w = p.indices[k];
            if (w == v || colour[w] == none) continue;
            const auto cw = static_cast<std::size_t>(colour[w]);
            forbidden[cw] = v;
            if (first_vertex[cw] == v) {
                // Case 1: v has two neighbours q, w of one colour, so v will be the hub of
                // their star: no colour of a neighbour of q or w (else a 2-coloured P4).
                const I q = p.indices[first_entry[cw]];
                if (treated[q] != v) forbid_neighbours(v, q);
                forbid_neighbours(v, w);
            } else {
                first_vertex[cw] = v;
                first_entry[cw] = k;
                // Case 2: w is a leaf of a star with hub x: colour(x) would make the path
                // v - w - x - (another leaf) two-coloured.
                if (leaf_count[w] == 0) continue;
                const auto wi = static_cast<std::size_t>(w);
                for (std::size_t kx = p.begin(wi); kx < p.end(wi); ++kx) {
                    const I x = p.indices[kx];
                    if (x == v || x == w || colour[x] == none) continue;
                    if (hub[static_cast<std::size_t>(star[kx])] == x)
                        forbidden[static_cast<std::size_t>(colour[x])] = v;
                }
            }
        }
        std::size_t c = 0;
        while (c < forbidden.size() && forbidden[c] == v) ++c;
        if (c == forbidden.size()) {
            forbidden.push_back(none);
            first_vertex.push_back(none);
            first_entry.push_back(0);
        }
        colour[v] = static_cast<I>(c);

        // Put each edge from v to a coloured neighbour w into its star.
        for (std::size_t k = p.begin(vi); k < p.end(vi); ++k) {
            const I w = p.indices[k];
            if (w == v || colour[w] == none) continue;
            const auto wi = static_cast<std::size_t>(w);
            // A neighbour x != v of w with v's colour: v joins the star of w-x, hub w.
            I s = none;
            if (high[wi]) {
                const auto it = hub_star.find(key(wi, colour[v]));
                if (it != hub_star.end()) s = it->second;
            } else {
                for (std::size_t kx = p.begin(wi); kx < p.end(wi); ++kx) {
                    const I x = p.indices[kx];
                    if (x != v && colour[x] == colour[v]) {
                        s = star[kx];
                        break;
                    }
                }
            }
            if (s != none) {
                auto& h = hub[static_cast<std::size_t>(s)];
                if (h == none) {
                    // The single edge w-x gets its hub w: x becomes a leaf.
                    const auto si = static_cast<std::size_t>(s);
                    h = w;
                    ++leaf_count[first_a[si] == w ? first_b[si] : first_a[si]];
                }
                ++leaf_count[v];
                set_star(k, v, w, s);
                continue;
            }
            const auto cw = static_cast<std::size_t>(colour[w]);
            const std::size_t kq = first_entry[cw];
            const I q = p.indices[kq];
            if (first_vertex[cw] == v && q != w) {
                // v has two neighbours q, w of one colour: v is the hub of their star.
                s = star[kq];
                auto& h = hub[static_cast<std::size_t>(s)];
                if (h == none) {
                    h = v;
                    ++leaf_count[q];
                }
                ++leaf_count[w];
                set_star(k, v, w, s);
            } else {
                hub.push_back(none);
                first_a.push_back(v);
                first_b.push_back(w);
                set_star(k, v, w, static_cast<I>(hub.size() - 1));
            }
        }
    }
    result.count = forbidden.size();

    // Every entry's hub: a single-edge star takes its smaller end, so that (i, j) and
    // (j, i) are always read from the same product entry (H comes out symmetric).
    result.hubs.resize(nnz);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = p.begin(i); k < p.end(i); ++k) {
            const I j = p.indices[k];
            const I h = j == static_cast<I>(i) ? j : hub[static_cast<std::size_t>(star[k])];
            result.hubs[k] = h == none ? std::min(static_cast<I>(i), j) : h;
        }
    }
    return result;
}

// The greedy distance-2 colouring of the columns in `order`: each vertex takes the
// smallest colour of no vertex within distance 2 (columns of one colour then share no
// row: Curtis, Powell and Reid).  It is a star colouring too (two colours make single
// edges), read with either end as the hub: the smaller, as star_colouring does for its
// single edges.  O(sum over vertices of the degrees of their neighbours).
template <typename I>
StarColouring<I> distance2_colouring(const Pattern<I>& p, const std::vector<I>& order) {
    const std::size_t n = p.n();
    const I none = -1;
    StarColouring<I> result;
    std::vector<I>& colour = result.colours;
    colour.assign(n, none);
    std::vector<I> forbidden;
    for (const I v : order) {
        const auto vi = static_cast<std::size_t>(v);
        for (std::size_t k = p.begin(vi); k < p.end(vi); ++k) {
            const I w = p.indices[k];
            if (w == v) continue;
            if (colour[w] != none) forbidden[static_cast<std::size_t>(colour[w])] = v;
            const auto wi = static_cast<std::size_t>(w);
            for (std::size_t kx = p.begin(wi); kx < p.end(wi); ++kx) {
                const I x = p.indices[kx];
                if (x != v && colour[x] != none) forbidden[static_cast<std::size_t>(colour[x])] = v;
            }
        }
        std::size_t c = 0;
        while (c < forbidden.size() && forbidden[c] == v) ++c;
        if (c == forbidden.size()) forbidden.push_back(none);
        colour[v] = static_cast<I>(c);
    }
    result.count = forbidden.size();
    result.hubs.resize(p.indices.size);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = p.begin(i); k < p.end(i); ++k)
            result.hubs[k] = std::min(static_cast<I>(i), p.indices[k]);
    return result;
}

// The star colouring of `p` visited in `order`, or the greedy distance-2 colouring in
// natural order when that has fewer colours (greedy star colouring is not always
// better: 11 against 9 colours on a 2-D 9-point stencil), so that the result never has
// more colours than the distance-2 colouring.  Any distance-2 colouring has at least
// max degree + 1 colours, so the second colouring is only tried when the star colouring
// has more than that (never for a band, nor for an arrowhead).
template <typename I>
StarColouring<I> colour_pattern(const Pattern<I>& p, const std::vector<I>& order) {
    StarColouring<I> star = star_colouring(p, order);
    std::size_t max_degree = 0;
    for (std::size_t v = 0; v < p.n(); ++v) max_degree = std::max(max_degree, p.degree(v));
    if (star.count <= max_degree + 1) return star;
    std::vector<I> natural(p.n());
    for (std::size_t v = 0; v < p.n(); ++v) natural[v] = static_cast<I>(v);
    StarColouring<I> d2 = distance2_colouring(p, natural);
    return d2.count < star.count ? d2 : star;
}

HESSPROBE_NAMESPACE_END
