// What a built-in function provides to the engines (see evaluate.hpp).
//
// A built-in is written once, templated on the scalar T (double for the gradient,
// Dual<K> for K Hessian-vector products), and split so that one evaluation can run on
// all threads with a partition that does not depend on the thread count:
//
//   double value(const double* x, std::size_t n) const;
//   template <class T> State make_state(std::size_t n) const;
//       whole-vector quantities the gradient needs (sums, X w, ...); Stateless has none;
//   std::size_t prepare_parts(std::size_t n) const;
//   template <class T, class In> void prepare(State&, const In& x, std::size_t part, std::size_t n) const;
//       fills part `part` of the state; distinct parts may run concurrently;
//   template <class T> void finish(State&) const;
//       combines the parts, serially and in a fixed order;
//   template <class T, class In, class Out>
//   void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end, std::size_t n) const;
//       g.set(i, g_i) for every i in [begin, end), reading x(j) for any j.
//
// plus `min_size()`, `fixed_size()` (0: any n) and `bandwidth()` (the Hessian's
// half-bandwidth when it is banded for every x, -1 when dense).
#pragma once

#include "hessprobe/config.hpp"

#include <cstddef>

HESSPROBE_NAMESPACE_BEGIN

// Base for functions whose gradient needs nothing beyond x itself.
struct Stateless {
    struct State {};
    template <class T>
    State make_state(std::size_t /*n*/) const { return {}; }
    std::size_t prepare_parts(std::size_t /*n*/) const { return 0; }
    template <class T, class In>
    void prepare(State& /*s*/, const In& /*x*/, std::size_t /*part*/, std::size_t /*n*/) const {}
    template <class T>
    void finish(State& /*s*/) const {}
    std::size_t fixed_size() const { return 0; }
};

HESSPROBE_NAMESPACE_END
