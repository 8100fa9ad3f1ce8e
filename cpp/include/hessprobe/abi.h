/* The C ABI between hessprobe and a user's compiled function (version 1).
 *
 * A user's shared object (an extension module, or what hessprobe.compile_gradient
 * builds) holds the heavy loops of hessprobe's engines instantiated on the user's
 * function; hessprobe's core only calls the function pointers of this table.  Nothing
 * here depends on pybind11, the C++ standard library or the compiler's C++ ABI, so the
 * two sides may be built by different compilers and pybind11 versions.
 *
 * Rules, for every entry:
 *   - arrays are float64, C-contiguous; x has n entries, V and HV are (rows, n) row-major;
 *   - `threads` >= 1 is the OpenMP team size the caller allows;
 *   - the return value is a HESSPROBE_* status; on anything but HESSPROBE_OK the entry
 *     has written a NUL-terminated message into err->message;
 *   - entries may be called concurrently on one table (they keep no mutable state).
 *
 * Compatibility: a table carries abi_version and struct_size.  A later version only
 * appends members; hessprobe refuses a table whose abi_version it does not know.
 */
#ifndef HESSPROBE_ABI_H
#define HESSPROBE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HESSPROBE_ABI_VERSION 1

/* The name of a PyCapsule holding a `const hessprobe_source_v1*`. */
#define HESSPROBE_CAPSULE_NAME "hessprobe.source_v1"

/* The factory a compiled snippet exports (see HESSPROBE_EXPORT in export.hpp). */
#define HESSPROBE_FACTORY_SYMBOL "hessprobe_create_source_v1"

enum hessprobe_status {
    HESSPROBE_OK = 0,
    HESSPROBE_INVALID_ARGUMENT = 1, /* bad input (std::invalid_argument): ValueError */
    HESSPROBE_ERROR = 2,            /* any other exception: RuntimeError */
    HESSPROBE_CALLBACK_FAILED = 3   /* the caller's between_rounds callback asked to stop */
};

typedef struct hessprobe_error {
    char message[1024];
} hessprobe_error;

/* Called between the rounds of a probing run with the probes done so far; nonzero stops it. */
typedef int (*hessprobe_between_rounds)(void* context, size_t done);

typedef struct hessprobe_probe_args {
    size_t probes;
    uint64_t seed;
    int threads;
    double tol;                     /* 0: no target error */
    hessprobe_between_rounds between_rounds; /* may be NULL */
    void* context;
    /* A partial run (a share of a run spread over an executor's workers): block_count > 0
     * runs blocks [first_block, first_block + block_count) of the run, no target; diagonal
     * and diagonal_stderr then receive the per-block sums, (block_count, n) each, and
     * reference the first probe's samples (n): written by a share holding block 0, read
     * by the others (see hessprobe/partials.hpp).  block_count = 0: a whole run. */
    size_t first_block;
    size_t block_count;
    double* reference;              /* n, or NULL (whole runs, trace-only runs) */
    double* diagonal;               /* n (whole run) or (block_count, n), or NULL for a trace-only run */
    double* diagonal_stderr;        /* the same */
    double* trace_samples;          /* room for `probes` */
    /* outputs */
    double trace;
    double trace_stderr;
    size_t done;                    /* probes run (< probes when tol stopped the run) */
} hessprobe_probe_args;

typedef struct hessprobe_source_v1 {
    int abi_version;    /* HESSPROBE_ABI_VERSION */
    size_t struct_size; /* sizeof(hessprobe_source_v1) of the side that made it */
    const char* name;
    void* self;         /* the user's function object */
    size_t min_size;    /* smallest n */
    size_t fixed_size;  /* 0: any n >= min_size */
    int bandwidth;      /* half-bandwidth of H, -1 when dense or unknown */
    int has_value;      /* whether value() is implemented */
    int lanes[3];       /* the dual lane counts compiled in: 1, 4, 8 */
    const char* flags;  /* the compiler flags of the user's side, for reports */

    void (*destroy)(void* self);
    int (*value)(void* self, const double* x, size_t n, double* out, hessprobe_error* err);
    int (*gradient)(void* self, const double* x, size_t n, double* g, int threads, hessprobe_error* err);
    int (*hvp)(void* self, const double* x, size_t n, const double* V, double* HV, size_t rows, int threads,
               hessprobe_error* err);
    int (*hessian)(void* self, const double* x, size_t n, double* H, int threads, hessprobe_error* err);
    int (*hessian_diag)(void* self, const double* x, size_t n, double* diag, int threads, hessprobe_error* err);
    int (*probe)(void* self, const double* x, size_t n, hessprobe_probe_args* args, hessprobe_error* err);
} hessprobe_source_v1;

/* The factory: a new table (released with table->destroy(table->self)), or NULL with a
 * message in err.  params/count are the numbers given to compile_gradient(params=...). */
typedef const hessprobe_source_v1* (*hessprobe_factory_v1)(const double* params, size_t count,
                                                             hessprobe_error* err);

#ifdef __cplusplus
}
#endif

#endif /* HESSPROBE_ABI_H */
