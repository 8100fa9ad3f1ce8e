// Threads: OpenMP when compiled in (HESSPROBE_WITH_OPENMP), serial otherwise, plus the
// rule that exceptions never cross a parallel region.
#pragma once

#include "hessprobe/config.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <utility>

#ifdef HESSPROBE_WITH_OPENMP
#include <omp.h>
#endif

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define HESSPROBE_HAS_FORK 1
#endif

HESSPROBE_NAMESPACE_BEGIN

inline bool openmp_enabled() {
#ifdef HESSPROBE_WITH_OPENMP
    return true;
#else
    return false;
#endif
}

// Fork safety.  libgomp's thread pool does not survive fork(): the child has only the
// forking thread, yet libgomp believes the pool's workers exist, and a child that enters a
// parallel region after the parent ran one waits for them forever (multiprocessing's
// default start method on Linux is fork).  So the core remembers the process that loaded
// it and, in any other process (a forked child), runs every team on one thread.  Results
// do not depend on the team size, so the child gets bitwise the parent's answers.  (The
// process id is compared, rather than a pthread_atfork flag, so that a process forked
// before the first parallel region is covered too, whichever build of the core ran it.)
inline long process_id() {
#ifdef HESSPROBE_HAS_FORK
    return static_cast<long>(::getpid());
#else
    return 0;  // no fork() on this platform
#endif
}

// Set when the module is loaded (dynamic initialization of an inline variable).
inline const long loading_process_id = process_id();

inline bool in_forked_child() { return process_id() != loading_process_id; }

// The cores; 1 in a forked child, which runs every team on one thread.
inline int available_threads() {
#ifdef HESSPROBE_WITH_OPENMP
    return in_forked_child() ? 1 : omp_get_num_procs();
#else
    return 1;
#endif
}

// This thread's number in the current team (0 outside a parallel region).
inline int thread_index() {
#ifdef HESSPROBE_WITH_OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// The team for `items` independent work items (coordinate chunks, gradient calls): at
// most `threads`, and at least 4 items per thread.  A thread with less work costs more
// to wake and to wait for at the barriers than it saves (milliseconds when the other
// cores are busy: ruinous for the thousands of small products of an optimizer or a
// Krylov solver).  Results never depend on the team size.
inline int team_size(int threads, std::size_t items) {
    constexpr std::size_t items_per_thread = 4;
    const std::size_t useful = std::max<std::size_t>(1, items / items_per_thread);
    return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), useful));
}

// Runs body() on `threads` threads (SPMD: every thread runs all of it; the work inside
// is split by orphaned `omp for` loops).  One thread, or a forked child: no parallel
// region at all.
template <class Body>
void run_team(int threads, Body&& body) {
#ifdef HESSPROBE_WITH_OPENMP
    if (threads > 1 && !in_forked_child()) {
#pragma omp parallel num_threads(threads)
        body();
        return;
    }
#endif
    (void)threads;
    body();
}

// Keeps the first exception thrown by any thread and tells the others to stop; the
// caller rethrows it after the parallel region (an exception must not leave one).
class ExceptionVault {
  public:
    template <class Work>
    void run(Work&& work) noexcept {
        if (stopped()) return;
        try {
            std::forward<Work>(work)();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
            stop_.store(true, std::memory_order_relaxed);
        }
    }
    bool stopped() const { return stop_.load(std::memory_order_relaxed); }
    void rethrow() {
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

  private:
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::exception_ptr error_;
};

HESSPROBE_NAMESPACE_END
