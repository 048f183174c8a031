# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Multi-index hashing over 256-bit PDQ rows: exact range search that visits few rows.

The 256 bits of a row are cut into ``m`` substrings; a row within ``t`` bits of a query has, by
pigeonhole, at least one substring within ``radius`` bits of the query's when
``t <= m * (radius + 1) - 1``. Each substring has a table: its first ``key_bits`` bits as a key,
rows grouped by key (CSR: ``offsets`` per key, ``ids`` row numbers). A search visits the buckets of
every key within ``radius`` of the query's and checks each row found there in full, so it returns
exactly what the exhaustive scan returns, once per (query, row): a row is reported only from the
first substring within ``radius`` of the query's.

Rows are read in place as the index keeps them (``_index_store.Split256``: the first and last 16
bytes of each row in two (n, 2) uint64 arrays), from up to two tables ("a" then "b": row numbers
of "b" follow those of "a"). Plain typed C over NumPy buffers, the GIL released; ``robust_search``
is the Python side.
"""

import numpy as np

cimport openmp
from cython.parallel cimport prange
from libc.stdlib cimport calloc, free
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

cdef extern from *:
    """
    #include <stdint.h>
    #include <stdlib.h>
    #include <string.h>

    typedef struct { int32_t* q; int64_t* row; int32_t* d; Py_ssize_t n, cap; } mih_hits;

    static int mih_push(mih_hits* h, Py_ssize_t q, int64_t r, int d) {
        if (h->n == h->cap) {
            Py_ssize_t cap = h->cap ? 2 * h->cap : 1024;
            int32_t* nq = (int32_t*)realloc(h->q, cap * sizeof(int32_t));
            if (nq == NULL) return -1;
            h->q = nq;
            int64_t* nr = (int64_t*)realloc(h->row, cap * sizeof(int64_t));
            if (nr == NULL) return -1;
            h->row = nr;
            int32_t* nd = (int32_t*)realloc(h->d, cap * sizeof(int32_t));
            if (nd == NULL) return -1;
            h->d = nd;
            h->cap = cap;
        }
        h->q[h->n] = (int32_t)q; h->row[h->n] = r; h->d[h->n] = (int32_t)d; h->n++;
        return 0;
    }

    static void mih_hits_free(mih_hits* h) {
        free(h->q); free(h->row); free(h->d);
        h->q = NULL; h->row = NULL; h->d = NULL; h->n = h->cap = 0;
    }

    /* Everything a search reads: two tables of rows (head/tail halves), the substring tables. */
    typedef struct {
        const uint64_t *head_a, *tail_a, *head_b, *tail_b;
        Py_ssize_t na, n;            /* rows of "a"; rows in all */
        const uint32_t* offsets;     /* m x (2^kb + 1) */
        const uint32_t* ids;         /* m x n */
        const int32_t* starts;       /* m: first bit of each substring */
        const uint64_t* masks;       /* m x 4: each substring's bits */
        int m, kb, radius;
    } mih_index;

    /* Bits [start, start + bits) of a row's 4 words (bits <= 32). */
    static inline uint32_t mih_key(const uint64_t* w, int start, int bits) {
        int k = start >> 6, o = start & 63;
        uint64_t v = w[k] >> o;
        if (o + bits > 64) v |= w[k + 1] << (64 - o);
        return (uint32_t)(v & ((1ULL << bits) - 1));
    }

    static inline void mih_row(const mih_index* x, Py_ssize_t r, uint64_t* w) {
        const uint64_t *h, *t;
        if (r < x->na) { h = x->head_a + 2 * r; t = x->tail_a + 2 * r; }
        else { h = x->head_b + 2 * (r - x->na); t = x->tail_b + 2 * (r - x->na); }
        w[0] = h[0]; w[1] = h[1]; w[2] = t[0]; w[3] = t[1];
    }

    /* Counting sort of every row by each substring's key: offsets and ids. */
    static int mih_build(const mih_index* x, uint32_t* offsets, uint32_t* ids) {
        Py_ssize_t nb = (Py_ssize_t)1 << x->kb, r;
        uint64_t w[4];
        uint32_t* cursor = (uint32_t*)malloc(nb * sizeof(uint32_t));
        if (cursor == NULL) return -1;
        for (int j = 0; j < x->m; j++) {
            uint32_t* off = offsets + j * (nb + 1);
            memset(off, 0, (nb + 1) * sizeof(uint32_t));
            for (r = 0; r < x->n; r++) { mih_row(x, r, w); off[mih_key(w, x->starts[j], x->kb) + 1]++; }
            for (Py_ssize_t k = 0; k < nb; k++) off[k + 1] += off[k];
            memcpy(cursor, off, nb * sizeof(uint32_t));
            for (r = 0; r < x->n; r++) { mih_row(x, r, w); ids[j * x->n + cursor[mih_key(w, x->starts[j], x->kb)]++] = (uint32_t)r; }
        }
        free(cursor);
        return 0;
    }

    /* Scratch of one search: the keys of one query (all substrings), their buckets, the rows found. */
    #define MIH_MAX_KEYS 512  /* keys within radius 2 of a key of at most 30 bits: 1 + 30 + 435 */
    typedef struct {
        uint32_t *key, *first, *last; uint8_t* sub;  /* per key: its substring, its bucket */
        uint32_t* cand; uint8_t* cand_sub; Py_ssize_t ncand, cap;
    } mih_scratch;

    static int mih_scratch_init(mih_scratch* s, int m) {
        Py_ssize_t k = (Py_ssize_t)m * MIH_MAX_KEYS;
        memset(s, 0, sizeof(*s));
        s->key = (uint32_t*)malloc(k * sizeof(uint32_t)); s->first = (uint32_t*)malloc(k * sizeof(uint32_t));
        s->last = (uint32_t*)malloc(k * sizeof(uint32_t)); s->sub = (uint8_t*)malloc(k);
        return (s->key && s->first && s->last && s->sub) ? 0 : -1;
    }

    static void mih_scratch_free(mih_scratch* s) {
        free(s->key); free(s->first); free(s->last); free(s->sub); free(s->cand); free(s->cand_sub);
    }

    static int mih_cand_push(mih_scratch* s, uint32_t r, uint8_t j) {
        if (s->ncand == s->cap) {
            Py_ssize_t cap = s->cap ? 2 * s->cap : 4096;
            uint32_t* nc = (uint32_t*)realloc(s->cand, cap * sizeof(uint32_t));
            if (nc == NULL) return -1;
            s->cand = nc;
            uint8_t* ns = (uint8_t*)realloc(s->cand_sub, cap);
            if (ns == NULL) return -1;
            s->cand_sub = ns;
            s->cap = cap;
        }
        s->cand[s->ncand] = r; s->cand_sub[s->ncand] = j; s->ncand++;
        return 0;
    }

    /* Every key within ``radius`` (0-2) of ``key`` over its ``kb`` bits, into ``out``. */
    static int mih_keys(uint32_t key, int kb, int radius, uint32_t* out) {
        int n = 0, a, b;
        out[n++] = key;
        if (radius >= 1) for (a = 0; a < kb; a++) out[n++] = key ^ (1u << a);
        if (radius >= 2) for (a = 1; a < kb; a++) for (b = 0; b < a; b++) out[n++] = key ^ (1u << a) ^ (1u << b);
        return n;
    }

    static inline const uint64_t* mih_head(const mih_index* x, Py_ssize_t r) {
        return r < x->na ? x->head_a + 2 * r : x->head_b + 2 * (r - x->na);
    }
    static inline const uint64_t* mih_tail(const mih_index* x, Py_ssize_t r) {
        return r < x->na ? x->tail_a + 2 * r : x->tail_b + 2 * (r - x->na);
    }

    #define MIH_PREFETCH(p) __builtin_prefetch((const void*)(p), 0, 0)
    #define MIH_AHEAD 8

    /* The search of one query in three passes, so that memory is asked for ahead of its use (the
       tables are far larger than the caches: every bucket and row is a miss): the keys of every
       substring (their offsets prefetched), the buckets (their row numbers prefetched), then the
       rows found (each row's first half prefetched a few rows ahead; its second half is read only
       when the first is within the threshold). Once with the popcnt instruction, once portable. */
    #define MIH_POP4(P, a, b, c, d) (P(a) + P(b) + P(c) + P(d))
    #define MIH_SEARCH_BODY(POP)                                                                  \
        Py_ssize_t nb1 = ((Py_ssize_t)1 << x->kb) + 1, q, p, i, c;                                \
        int nk, j;                                                                                \
        for (q = 0; q < nq; q++) {                                                                \
            const uint64_t* qq = qs + 4 * q;                                                      \
            nk = 0;                                                                               \
            for (j = 0; j < x->m; j++) {                                                          \
                int n = mih_keys(mih_key(qq, x->starts[j], x->kb), x->kb, x->radius, s->key + nk); \
                for (i = nk; i < nk + n; i++) { s->sub[i] = (uint8_t)j; MIH_PREFETCH(x->offsets + j * nb1 + s->key[i]); } \
                nk += n;                                                                          \
            }                                                                                     \
            for (i = 0; i < nk; i++) {                                                            \
                const uint32_t* off = x->offsets + s->sub[i] * nb1 + s->key[i];                   \
                s->first[i] = off[0]; s->last[i] = off[1];                                        \
                MIH_PREFETCH(x->ids + s->sub[i] * x->n + s->first[i]);                            \
            }                                                                                     \
            s->ncand = 0;                                                                         \
            for (i = 0; i < nk; i++) {                                                            \
                const uint32_t* ids = x->ids + s->sub[i] * x->n;                                  \
                for (p = s->first[i]; p < s->last[i]; p++)                                        \
                    if ((Py_ssize_t)ids[p] >= min_row && mih_cand_push(s, ids[p], s->sub[i])) return -1; \
            }                                                                                     \
            for (c = 0; c < s->ncand && c < MIH_AHEAD; c++) MIH_PREFETCH(mih_head(x, s->cand[c])); \
            for (c = 0; c < s->ncand; c++) {                                                      \
                if (c + MIH_AHEAD < s->ncand) MIH_PREFETCH(mih_head(x, s->cand[c + MIH_AHEAD]));  \
                Py_ssize_t r = s->cand[c];                                                        \
                const uint64_t* h = mih_head(x, r);                                               \
                uint64_t d0 = h[0] ^ qq[0], d1 = h[1] ^ qq[1];                                    \
                int d = POP(d0) + POP(d1);                                                        \
                if (d > t) continue;                                                              \
                const uint64_t* tl = mih_tail(x, r);                                              \
                uint64_t d2 = tl[0] ^ qq[2], d3 = tl[1] ^ qq[3];                                  \
                d += POP(d2) + POP(d3);                                                           \
                if (d > t) continue;                                                              \
                j = s->cand_sub[c];                                                               \
                const uint64_t* mj = x->masks + 4 * j;                                            \
                if (MIH_POP4(POP, d0 & mj[0], d1 & mj[1], d2 & mj[2], d3 & mj[3]) > x->radius) continue; \
                int earlier = 0;                                                                  \
                for (int e = 0; e < j && !earlier; e++) {                                         \
                    const uint64_t* me = x->masks + 4 * e;                                        \
                    earlier = MIH_POP4(POP, d0 & me[0], d1 & me[1], d2 & me[2], d3 & me[3]) <= x->radius; \
                }                                                                                 \
                if (!earlier && mih_push(hits, q, r, d)) return -1;                               \
            }                                                                                     \
        }                                                                                         \
        return 0;

    #define MIH_SEARCH_ARGS const mih_index* x, const uint64_t* qs, Py_ssize_t nq, int t, Py_ssize_t min_row, \
        mih_scratch* s, mih_hits* hits

    static int mih_search_plain(MIH_SEARCH_ARGS) { MIH_SEARCH_BODY(__builtin_popcountll) }

    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __attribute__((target("popcnt")))
    static int mih_search_popcnt(MIH_SEARCH_ARGS) { MIH_SEARCH_BODY(__builtin_popcountll) }
    static int mih_search(MIH_SEARCH_ARGS) {
        static int level = -1;
        if (level < 0) { __builtin_cpu_init(); level = __builtin_cpu_supports("popcnt") ? 1 : 0; }
        return level ? mih_search_popcnt(x, qs, nq, t, min_row, s, hits) : mih_search_plain(x, qs, nq, t, min_row, s, hits);
    }
    #else
    static int mih_search(MIH_SEARCH_ARGS) { return mih_search_plain(x, qs, nq, t, min_row, s, hits); }
    #endif
    """
    ctypedef struct mih_hits:
        int32_t* q
        int64_t* row
        int32_t* d
        Py_ssize_t n
        Py_ssize_t cap
    ctypedef struct mih_index:
        const uint64_t* head_a
        const uint64_t* tail_a
        const uint64_t* head_b
        const uint64_t* tail_b
        Py_ssize_t na
        Py_ssize_t n
        const uint32_t* offsets
        const uint32_t* ids
        const int32_t* starts
        const uint64_t* masks
        int m
        int kb
        int radius
    ctypedef struct mih_scratch:
        pass
    void mih_hits_free(mih_hits* h) nogil
    int mih_scratch_init(mih_scratch* s, int m) nogil
    void mih_scratch_free(mih_scratch* s) nogil
    int mih_build(const mih_index* x, uint32_t* offsets, uint32_t* ids) nogil
    int mih_search(const mih_index* x, const uint64_t* qs, Py_ssize_t nq, int t, Py_ssize_t min_row,
                   mih_scratch* s, mih_hits* hits) nogil


cdef uint64_t _EMPTY[2]


cdef mih_index _index(const uint64_t[:, ::1] head_a, const uint64_t[:, ::1] tail_a,
                      const uint64_t[:, ::1] head_b, const uint64_t[:, ::1] tail_b,
                      const int32_t[::1] starts, int kb) except *:
    cdef mih_index x
    if head_a.shape[1] != 2 or tail_a.shape[1] != 2 or head_b.shape[1] != 2 or tail_b.shape[1] != 2:
        raise ValueError("rows must be given as (n, 2) uint64 halves")
    if tail_a.shape[0] != head_a.shape[0] or tail_b.shape[0] != head_b.shape[0]:
        raise ValueError("each table's halves must have as many rows")
    if not 1 <= kb <= 30 or starts.shape[0] < 1:
        raise ValueError("key bits must be 1-30 and there must be a substring")
    for j in range(starts.shape[0]):
        if starts[j] < 0 or starts[j] + kb > 256:
            raise ValueError("a substring key runs past the 256 bits")
    x.na = head_a.shape[0]
    x.n = head_a.shape[0] + head_b.shape[0]
    if x.n >= 2 ** 32:
        raise ValueError("at most 2**32 - 1 rows")
    x.head_a = &head_a[0, 0] if head_a.shape[0] else &_EMPTY[0]
    x.tail_a = &tail_a[0, 0] if tail_a.shape[0] else &_EMPTY[0]
    x.head_b = &head_b[0, 0] if head_b.shape[0] else &_EMPTY[0]
    x.tail_b = &tail_b[0, 0] if tail_b.shape[0] else &_EMPTY[0]
    x.starts = &starts[0]
    x.m = starts.shape[0]
    x.kb = kb
    return x


def build(const uint64_t[:, ::1] head_a, const uint64_t[:, ::1] tail_a,
          const uint64_t[:, ::1] head_b, const uint64_t[:, ::1] tail_b,
          const int32_t[::1] starts, int key_bits):
    """``(offsets, ids)``: every row of tables a then b grouped by the ``key_bits`` bits from each
    of ``starts`` (``offsets`` uint32 (m, 2**key_bits + 1), ``ids`` uint32 (m, n)).

    >>> offsets, ids = build(h, t, h[:0], t[:0], np.array([0, 16], np.int32), 16)  # doctest: +SKIP
    """
    cdef mih_index x = _index(head_a, tail_a, head_b, tail_b, starts, key_bits)
    offsets = np.empty((x.m, (1 << key_bits) + 1), np.uint32)
    ids = np.empty((x.m, max(x.n, 1)), np.uint32)
    cdef uint32_t[:, ::1] ov = offsets
    cdef uint32_t[:, ::1] iv = ids
    cdef int bad
    with nogil:
        bad = mih_build(&x, &ov[0, 0], &iv[0, 0])
    if bad:
        raise MemoryError("_mih.build: out of memory")
    return offsets, ids[:, :x.n]


def search(const uint8_t[:, ::1] queries, const uint64_t[:, ::1] head_a, const uint64_t[:, ::1] tail_a,
           const uint64_t[:, ::1] head_b, const uint64_t[:, ::1] tail_b,
           const uint32_t[:, ::1] offsets, const uint32_t[:, ::1] ids, const int32_t[::1] starts,
           const uint64_t[:, ::1] masks, int key_bits, int radius, int max_distance, Py_ssize_t min_row=0,
           int threads=1):
    """Every row (numbered a then b, from ``min_row`` on) within ``max_distance`` of each query, as
    ``(lims, distances, labels)`` in FAISS ``range_search``'s shape, rows ascending per query.

    ``offsets``/``ids`` from ``build`` with the same rows, ``starts`` and ``key_bits``; ``masks``:
    uint64 (m, 4), the bits of each substring (a query's substring j within ``radius`` of a row's
    is what the tables find). Exact when ``max_distance <= m * (radius + 1) - 1``; refused past it.
    ``threads``: OpenMP threads, each taking a share of the queries (0: OpenMP's default).
    """
    cdef mih_index x = _index(head_a, tail_a, head_b, tail_b, starts, key_bits)
    cdef Py_ssize_t nq = queries.shape[0], per, first, last
    if queries.shape[1] != 32:
        raise ValueError("queries must be uint8 (q, 32)")
    if not 0 <= radius <= 2 or radius >= key_bits or x.m > 64:
        raise ValueError("radius must be 0, 1 or 2, and under the key bits")
    if max_distance > x.m * (radius + 1) - 1:
        raise ValueError(f"{x.m} substrings at radius {radius} are exact up to {x.m * (radius + 1) - 1} bits, not {max_distance}")
    if masks.shape[0] != x.m or masks.shape[1] != 4 or offsets.shape[0] != x.m or offsets.shape[1] != (1 << key_bits) + 1:
        raise ValueError("masks and offsets do not fit the substrings")
    if ids.shape[0] != x.m or ids.shape[1] != x.n:
        raise ValueError("ids do not fit the rows")
    if nq >= 2 ** 31:
        raise ValueError("too many queries in one call")
    lims = np.zeros(nq + 1, np.int64)
    if nq == 0 or x.n == 0 or max_distance < 0:
        return lims, np.zeros(0, np.int32), np.zeros(0, np.int64)
    x.offsets = &offsets[0, 0]
    x.ids = &ids[0, 0]
    x.masks = &masks[0, 0]
    x.radius = radius
    qwords = np.frombuffer(np.asarray(queries).tobytes(), dtype=np.uint64).reshape(nq, 4)
    cdef const uint64_t[:, ::1] qw = qwords
    cdef int nthreads = threads if threads > 0 else openmp.omp_get_max_threads()
    nthreads = max(1, min(nthreads, nq))
    per = (nq + nthreads - 1) // nthreads
    cdef mih_hits* hits = <mih_hits*>calloc(nthreads, sizeof(mih_hits))
    cdef mih_scratch* scratch = <mih_scratch*>calloc(nthreads, sizeof(mih_scratch))
    cdef int* failed = <int*>calloc(nthreads, sizeof(int))
    cdef int tid, bad = 0
    if hits == NULL or scratch == NULL or failed == NULL:
        free(hits)
        free(scratch)
        free(failed)
        raise MemoryError("_mih.search: out of memory")
    try:
        with nogil:
            if nthreads == 1:
                failed[0] = mih_scratch_init(&scratch[0], x.m) or mih_search(&x, &qw[0, 0], nq, max_distance, min_row,
                                                                             &scratch[0], &hits[0])
            else:
                for tid in prange(nthreads, schedule="static", num_threads=nthreads):
                    first = tid * per
                    last = min(nq, first + per)
                    if first < last:
                        failed[tid] = mih_scratch_init(&scratch[tid], x.m) or mih_search(
                            &x, &qw[first, 0], last - first, max_distance, min_row, &scratch[tid], &hits[tid])
            for tid in range(nthreads):
                bad = bad | failed[tid]
        if bad:
            raise MemoryError("_mih.search: out of memory")
        owners, rows, dist = [], [], []
        for tid in range(nthreads):
            if hits[tid].n:
                owners.append(np.asarray(<int32_t[:hits[tid].n]>hits[tid].q).astype(np.int64) + tid * per)
                rows.append(np.asarray(<int64_t[:hits[tid].n]>hits[tid].row).copy())
                dist.append(np.asarray(<int32_t[:hits[tid].n]>hits[tid].d).copy())
    finally:
        for tid in range(nthreads):
            mih_scratch_free(&scratch[tid])
            mih_hits_free(&hits[tid])
        free(hits)
        free(scratch)
        free(failed)
    if not owners:
        return lims, np.zeros(0, np.int32), np.zeros(0, np.int64)
    owner, row, distance = np.concatenate(owners), np.concatenate(rows), np.concatenate(dist)
    order = np.lexsort((row, owner))
    np.cumsum(np.bincount(owner, minlength=nq), out=lims[1:])
    return lims, distance[order], row[order]
