// Reused memory for the temporaries of a gradient evaluated on dual (or tracer) arrays.
//
// Every NumPy operation allocates its result; a dual array of n = 10^6 and 8 lanes is
// 72 MB, beyond glibc's mmap threshold, so each temporary is fresh memory, page-faulted
// in at a third of the speed of memory that is reused.  While a dual call runs
// (reuse_begin .. reuse_end, set around each call of the user's gradient), NumPy
// allocates through this handler (NEP 49: PyDataMem_SetHandler, context-local): large
// blocks freed during a call are kept, up to max_cached_bytes in all, and handed to the
// next allocation of about their size, in this call or the next one (as PyTorch's caching
// allocator keeps its blocks: returning them to the OS after each call would fault them in
// afresh at the next).  release_cache() frees them.  Blocks freed outside a call are freed
// at once.
#pragma once

#include "numpy_api.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace hessprobe::dual_numpy::memory {

constexpr std::size_t min_cached = std::size_t{1} << 18;  // 256 KiB: malloc serves smaller ones well
constexpr std::size_t max_blocks = 32;
constexpr std::size_t max_cached_bytes = std::size_t{1} << 30;  // 1 GiB

struct Block {
    void* ptr;
    std::size_t size;
};

struct Cache {
    std::mutex lock;
    std::vector<Block> blocks;
    std::size_t bytes = 0;  // in blocks
    int depth = 0;  // open reuse_begin calls
};

inline Cache& cache() {
    static Cache c;
    return c;
}

// A cached block of at least `size` bytes and at most twice that, or NULL.
inline void* take(std::size_t size) {
    if (size < min_cached) return nullptr;
    Cache& c = cache();
    std::lock_guard<std::mutex> guard(c.lock);
    std::size_t best = c.blocks.size();
    for (std::size_t i = 0; i < c.blocks.size(); ++i) {
        const std::size_t s = c.blocks[i].size;
        if (s >= size && s <= 2 * size && (best == c.blocks.size() || s < c.blocks[best].size)) best = i;
    }
    if (best == c.blocks.size()) return nullptr;
    void* p = c.blocks[best].ptr;
    c.bytes -= c.blocks[best].size;
    c.blocks.erase(c.blocks.begin() + static_cast<std::ptrdiff_t>(best));
    return p;
}

inline void* fresh(std::size_t size) {
    void* p = std::malloc(size ? size : 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p != nullptr && size >= (std::size_t{4} << 20)) {
        // Whole 4 KiB pages inside the block may use huge pages where the OS offers them.
        const auto start = (reinterpret_cast<std::uintptr_t>(p) + 4095) & ~std::uintptr_t{4095};
        const auto end = (reinterpret_cast<std::uintptr_t>(p) + size) & ~std::uintptr_t{4095};
        if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
    }
#endif
    return p;
}

inline void* allocate(void*, std::size_t size) {
    void* p = take(size);
    return p ? p : fresh(size);
}

inline void* allocate_zeroed(void*, std::size_t count, std::size_t size) {
    const std::size_t bytes = count * size;
    if (size != 0 && bytes / size != count) return nullptr;
    void* p = take(bytes);
    if (p == nullptr) return std::calloc(count ? count : 1, size ? size : 1);
    std::memset(p, 0, bytes);
    return p;
}

inline void* reallocate(void*, void* ptr, std::size_t size) { return std::realloc(ptr, size ? size : 1); }

inline void release(void*, void* ptr, std::size_t size) {
    if (ptr == nullptr) return;
    if (size >= min_cached) {
        Cache& c = cache();
        std::lock_guard<std::mutex> guard(c.lock);
        if (c.depth > 0 && c.blocks.size() < max_blocks && c.bytes + size <= max_cached_bytes) {
            c.blocks.push_back({ptr, size});
            c.bytes += size;
            return;
        }
    }
    std::free(ptr);
}

inline PyDataMem_Handler handler = {
    "hessprobe_dual_reuse", 1, {nullptr, allocate, allocate_zeroed, reallocate, release}};

inline PyObject* handler_capsule() {
    static PyObject* capsule = PyCapsule_New(&handler, "mem_handler", nullptr);
    return capsule;
}

// Makes NumPy allocate through the handler in this context; returns the previous
// handler for reuse_end (a new reference), or NULL on error.
inline PyObject* reuse_begin() {
    PyObject* capsule = handler_capsule();
    if (capsule == nullptr) return nullptr;
    {
        std::lock_guard<std::mutex> guard(cache().lock);
        ++cache().depth;
    }
    return PyDataMem_SetHandler(capsule);
}

inline int reuse_end(PyObject* previous) {
    {
        std::lock_guard<std::mutex> guard(cache().lock);
        --cache().depth;
    }
    PyObject* mine = PyDataMem_SetHandler(previous);
    Py_XDECREF(mine);
    Py_DECREF(previous);
    return mine == nullptr ? -1 : 0;
}

inline void release_cache() {
    std::vector<Block> blocks;
    {
        std::lock_guard<std::mutex> guard(cache().lock);
        blocks.swap(cache().blocks);
        cache().bytes = 0;
    }
    for (const Block& b : blocks) std::free(b.ptr);
}

// The module functions: reuse_begin() -> token: NumPy allocates through the reusing
// handler in this context until reuse_end(token); release_cache() frees the blocks kept.
inline PyObject* py_reuse_begin(PyObject*, PyObject*) { return reuse_begin(); }
inline PyObject* py_reuse_end(PyObject*, PyObject* token) {
    Py_INCREF(token);
    if (reuse_end(token) < 0) return nullptr;
    Py_RETURN_NONE;
}
inline PyObject* py_release_cache(PyObject*, PyObject*) {
    release_cache();
    Py_RETURN_NONE;
}

}  // namespace hessprobe::dual_numpy::memory

// The entries of those functions in a module's method table (each module that makes
// special arrays has its own cache).
#define HESSPROBE_MEMORY_METHODS                                                                                  \
    {"reuse_begin", hessprobe::dual_numpy::memory::py_reuse_begin, METH_NOARGS,                                 \
     "reuse_begin(): NumPy reuses large blocks here until reuse_end."},                                         \
        {"reuse_end", hessprobe::dual_numpy::memory::py_reuse_end, METH_O,                                      \
         "reuse_end(token): restore the allocator reuse_begin replaced."},                                      \
        {"release_cache", hessprobe::dual_numpy::memory::py_release_cache, METH_NOARGS,                         \
         "release_cache(): free the blocks kept for reuse."},
