/* What the native modules share (_core_simd.h for _core, _mih.h for _mih): the includes and
   portable popcount, the ONE run-time CPU dispatch (ocsea_cpu_level) and the growing list of
   search hits. Plain C, no Python object: everything here runs with the GIL released. */
#ifndef OCSEA_BASE_H
#define OCSEA_BASE_H

#include <Python.h> /* Py_ssize_t */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define OCSEA_X86_GNUC 1
#include <immintrin.h>
#else
#define OCSEA_X86_GNUC 0
#endif

#if defined(_MSC_VER)
#include <intrin.h>
#define OCSEA_POPCOUNT64(x) ((int)__popcnt64(x))
#else
#define OCSEA_POPCOUNT64(x) __builtin_popcountll(x)
#endif

/* ------------------------------------------------------------------------------------------ */
/* The CPU level: the one run-time dispatch                                                   */
/* ------------------------------------------------------------------------------------------ */

enum { OCSEA_CPU_PORTABLE = 0, OCSEA_CPU_POPCNT = 1, OCSEA_CPU_AVX512 = 2 };

static int ocsea_cpu_level_cache = -1;

/* The best instruction set of this CPU that a kernel here has a version for. The first call
   (at import, GIL held) asks the CPU; every later call, from any thread, reads the answer. */
static int ocsea_cpu_level(void) {
    if (ocsea_cpu_level_cache < 0) {
#if OCSEA_X86_GNUC
        __builtin_cpu_init();
        ocsea_cpu_level_cache = (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                                 && __builtin_cpu_supports("avx512vpopcntdq")) ? OCSEA_CPU_AVX512
                              : __builtin_cpu_supports("popcnt") ? OCSEA_CPU_POPCNT : OCSEA_CPU_PORTABLE;
#elif defined(_MSC_VER)
        ocsea_cpu_level_cache = OCSEA_CPU_POPCNT; /* __popcnt64, as before: every x86-64 MSVC targets */
#else
        ocsea_cpu_level_cache = OCSEA_CPU_PORTABLE;
#endif
    }
    return ocsea_cpu_level_cache;
}

/* ------------------------------------------------------------------------------------------ */
/* Hits of a range search                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Hits of one thread: (query, row, distance), grown by doubling. */
typedef struct { int32_t* query; int64_t* row; int32_t* dist; Py_ssize_t n, cap; } ocsea_hits;

static int ocsea_hits_push(ocsea_hits* h, Py_ssize_t q, Py_ssize_t r, int d) {
    if (h->n == h->cap) {
        Py_ssize_t cap = h->cap ? 2 * h->cap : 256;
        int32_t* nq = (int32_t*)realloc(h->query, cap * sizeof(int32_t));
        if (nq == NULL) return -1;
        h->query = nq;
        int64_t* nr = (int64_t*)realloc(h->row, cap * sizeof(int64_t));
        if (nr == NULL) return -1;
        h->row = nr;
        int32_t* nd = (int32_t*)realloc(h->dist, cap * sizeof(int32_t));
        if (nd == NULL) return -1;
        h->dist = nd;
        h->cap = cap;
    }
    h->query[h->n] = (int32_t)q; h->row[h->n] = (int64_t)r; h->dist[h->n] = (int32_t)d; h->n++;
    return 0;
}

static void ocsea_hits_free(ocsea_hits* h) {
    free(h->query); free(h->row); free(h->dist);
    h->query = NULL; h->row = NULL; h->dist = NULL; h->n = h->cap = 0;
}

#endif /* OCSEA_BASE_H */
