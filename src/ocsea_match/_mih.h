/* The C of ocsea_match._mih (multi-index hashing over 256-bit PDQ rows; included by _mih.pyx
   through `cdef extern from`). The CPU level and the hits list are the shared ones of
   _ocsea_base.h. */
#ifndef OCSEA_MIH_H
#define OCSEA_MIH_H

#include "_ocsea_base.h"

/* Everything a search reads: two tables of rows (head/tail halves), the substring tables. */
typedef struct {
    const uint64_t *head_a, *tail_a, *head_b, *tail_b;
    Py_ssize_t na, n;            /* rows of "a"; rows in all */
    Py_ssize_t end;              /* a search skips rows from this one on (n: none skipped) */
    const uint32_t* offsets;     /* m x (2^kb + 1) */
    const uint32_t* ids;         /* m x n */
    const int32_t* starts;       /* m: first bit of each substring */
    const uint64_t* masks;       /* m x 4: each substring's bits */
    int m, kb, radius;
    int wide;                    /* substrings 0 .. wide - 1 searched at radius, the rest at radius - 1 */
} mih_index;

#define MIH_R(x, j) ((j) < (x)->wide ? (x)->radius : (x)->radius - 1)

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

/* Counting sort of every row by substring j's key: its offsets and ids (``cursor``: 2^kb scratch). */
static void mih_build_table(const mih_index* x, int j, uint32_t* offsets, uint32_t* ids, uint32_t* cursor) {
    Py_ssize_t nb = (Py_ssize_t)1 << x->kb, r;
    uint64_t w[4];
    uint32_t* off = offsets + j * (nb + 1);
    memset(off, 0, (nb + 1) * sizeof(uint32_t));
    for (r = 0; r < x->n; r++) { mih_row(x, r, w); off[mih_key(w, x->starts[j], x->kb) + 1]++; }
    for (Py_ssize_t k = 0; k < nb; k++) off[k + 1] += off[k];
    memcpy(cursor, off, nb * sizeof(uint32_t));
    for (r = 0; r < x->n; r++) { mih_row(x, r, w); ids[j * x->n + cursor[mih_key(w, x->starts[j], x->kb)]++] = (uint32_t)r; }
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

#define MIH_PREFETCH(p) __builtin_prefetch((const void*)(p), 0, 1)
#define MIH_AHEAD 32

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
            int n = mih_keys(mih_key(qq, x->starts[j], x->kb), x->kb, MIH_R(x, j), s->key + nk); \
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
            for (p = s->first[i]; p < s->last[i]; p++) {  /* rows ascending in a bucket */    \
                if ((Py_ssize_t)ids[p] >= x->end) break;                                      \
                if ((Py_ssize_t)ids[p] >= min_row && mih_cand_push(s, ids[p], s->sub[i])) return -1; \
            }                                                                                 \
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
            if (MIH_POP4(POP, d0 & mj[0], d1 & mj[1], d2 & mj[2], d3 & mj[3]) > MIH_R(x, j)) continue; \
            int earlier = 0;                                                                  \
            for (int e = 0; e < j && !earlier; e++) {                                         \
                const uint64_t* me = x->masks + 4 * e;                                        \
                earlier = MIH_POP4(POP, d0 & me[0], d1 & me[1], d2 & me[2], d3 & me[3]) <= MIH_R(x, e); \
            }                                                                                 \
            if (!earlier && ocsea_hits_push(hits, q, r, d)) return -1;                               \
        }                                                                                     \
    }                                                                                         \
    return 0;

#define MIH_SEARCH_ARGS const mih_index* x, const uint64_t* qs, Py_ssize_t nq, int t, Py_ssize_t min_row, \
    mih_scratch* s, ocsea_hits* hits

static int mih_search_plain(MIH_SEARCH_ARGS) { MIH_SEARCH_BODY(__builtin_popcountll) }

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
__attribute__((target("popcnt")))
static int mih_search_popcnt(MIH_SEARCH_ARGS) { MIH_SEARCH_BODY(__builtin_popcountll) }
static int mih_search(MIH_SEARCH_ARGS) {
    return ocsea_cpu_level() >= OCSEA_CPU_POPCNT ? mih_search_popcnt(x, qs, nq, t, min_row, s, hits)
                                                 : mih_search_plain(x, qs, nq, t, min_row, s, hits);
}
#else
static int mih_search(MIH_SEARCH_ARGS) { return mih_search_plain(x, qs, nq, t, min_row, s, hits); }
#endif

#endif /* OCSEA_MIH_H */
