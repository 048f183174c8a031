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
from libc.stdlib cimport calloc, free, malloc
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from ocsea_match._ocsea_base cimport ocsea_hits, ocsea_hits_free  # the hits list _core shares

cdef extern from "_mih.h":
    ctypedef struct mih_index:
        const uint64_t* head_a
        const uint64_t* tail_a
        const uint64_t* head_b
        const uint64_t* tail_b
        Py_ssize_t na
        Py_ssize_t n
        Py_ssize_t end
        const uint32_t* offsets
        const uint32_t* ids
        const int32_t* starts
        const uint64_t* masks
        int m
        int kb
        int radius
        int wide
    ctypedef struct mih_scratch:
        pass
    int mih_scratch_init(mih_scratch* s, int m) nogil
    void mih_scratch_free(mih_scratch* s) nogil
    void mih_build_table(const mih_index* x, int j, uint32_t* offsets, uint32_t* ids, uint32_t* cursor) nogil
    int mih_search(const mih_index* x, const uint64_t* qs, Py_ssize_t nq, int t, Py_ssize_t min_row,
                   mih_scratch* s, ocsea_hits* hits) nogil


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
    x.end = x.n
    if x.n >= 2 ** 32:
        raise ValueError("at most 2**32 - 1 rows")
    x.head_a = &head_a[0, 0] if head_a.shape[0] else &_EMPTY[0]
    x.tail_a = &tail_a[0, 0] if tail_a.shape[0] else &_EMPTY[0]
    x.head_b = &head_b[0, 0] if head_b.shape[0] else &_EMPTY[0]
    x.tail_b = &tail_b[0, 0] if tail_b.shape[0] else &_EMPTY[0]
    x.starts = &starts[0]
    x.m = starts.shape[0]
    x.kb = kb
    x.radius = 0
    x.wide = x.m
    return x


def build(const uint64_t[:, ::1] head_a, const uint64_t[:, ::1] tail_a,
          const uint64_t[:, ::1] head_b, const uint64_t[:, ::1] tail_b,
          const int32_t[::1] starts, int key_bits, int threads=1):
    """``(offsets, ids)``: every row of tables a then b grouped by the ``key_bits`` bits from each
    of ``starts`` (``offsets`` uint32 (m, 2**key_bits + 1), ``ids`` uint32 (m, n), rows ascending
    in each group). ``threads``: OpenMP threads, each building a share of the m tables (0: all).

    >>> h = np.arange(8, dtype=np.uint64).reshape(4, 2)
    >>> offsets, ids = build(h, h, h[:0], h[:0], np.array([0, 64], np.int32), 2)
    >>> offsets[0].tolist(), ids[0].tolist(), ids[1].tolist()  # keys 0, 2, 0, 2 then 1, 3, 1, 3
    ([0, 2, 2, 4, 4], [0, 2, 1, 3], [0, 2, 1, 3])
    """
    cdef mih_index x = _index(head_a, tail_a, head_b, tail_b, starts, key_bits)
    offsets = np.empty((x.m, (1 << key_bits) + 1), np.uint32)
    ids = np.empty((x.m, max(x.n, 1)), np.uint32)
    cdef uint32_t[:, ::1] ov = offsets
    cdef uint32_t[:, ::1] iv = ids
    cdef int nthreads = threads if threads > 0 else openmp.omp_get_max_threads()
    nthreads = max(1, min(nthreads, x.m))
    cdef uint32_t** cursors = <uint32_t**>calloc(nthreads, sizeof(uint32_t*))
    cdef int j, tid, bad = cursors == NULL
    if not bad:
        for tid in range(nthreads):
            cursors[tid] = <uint32_t*>malloc((<size_t>1 << key_bits) * sizeof(uint32_t))
            bad = bad or cursors[tid] == NULL
    try:
        if bad:
            raise MemoryError("_mih.build: out of memory")
        with nogil:
            if nthreads == 1:
                for j in range(x.m):
                    mih_build_table(&x, j, &ov[0, 0], &iv[0, 0], cursors[0])
            else:
                for j in prange(x.m, schedule="dynamic", num_threads=nthreads):
                    mih_build_table(&x, j, &ov[0, 0], &iv[0, 0], cursors[openmp.omp_get_thread_num()])
    finally:
        if cursors != NULL:
            for tid in range(nthreads):
                free(cursors[tid])
        free(cursors)
    return offsets, ids[:, :x.n]


def search(const uint8_t[:, ::1] queries, const uint64_t[:, ::1] head_a, const uint64_t[:, ::1] tail_a,
           const uint64_t[:, ::1] head_b, const uint64_t[:, ::1] tail_b,
           const uint32_t[:, ::1] offsets, const uint32_t[:, ::1] ids, const int32_t[::1] starts,
           const uint64_t[:, ::1] masks, int key_bits, int radius, int max_distance, Py_ssize_t min_row=0,
           int threads=1, Py_ssize_t max_row=-1, int wide=-1):
    """Every row (numbered a then b, from ``min_row`` on, before ``max_row`` unless it is -1) within ``max_distance`` of each query, as
    ``(lims, distances, labels)`` in FAISS ``range_search``'s shape, rows ascending per query.

    ``offsets``/``ids`` from ``build`` with the same rows, ``starts`` and ``key_bits``; ``masks``:
    uint64 (m, 4), the bits of each substring (a query's substring j within ``radius`` of a row's
    is what the tables find); the first ``wide`` substrings (all by default) at ``radius``, the others
at ``radius - 1``. Exact when ``max_distance <= m * radius + wide - 1`` (pigeonhole over the
substrings' radius + 1); refused past it.
    ``threads``: OpenMP threads, each taking a share of the queries (0: OpenMP's default).
    """
    cdef mih_index x = _index(head_a, tail_a, head_b, tail_b, starts, key_bits)
    cdef Py_ssize_t nq = queries.shape[0], per, first, last
    if queries.shape[1] != 32:
        raise ValueError("queries must be uint8 (q, 32)")
    if not 0 <= radius <= 2 or radius >= key_bits or x.m > 64:
        raise ValueError("radius must be 0, 1 or 2, and under the key bits")
    if wide < 0:
        wide = x.m
    if not (0 <= wide <= x.m and (radius > 0 or wide == x.m)):
        raise ValueError("wide must be 0 to the number of substrings (all of them at radius 0)")
    if max_distance > x.m * radius + wide - 1:
        raise ValueError(f"{x.m} substrings, {wide} at radius {radius} and the others at {radius - 1}, are exact up to "
                         f"{x.m * radius + wide - 1} bits, not {max_distance}")
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
    x.wide = wide
    if 0 <= max_row < x.n:
        x.end = max_row
    qwords = np.frombuffer(np.asarray(queries).tobytes(), dtype=np.uint64).reshape(nq, 4)
    cdef const uint64_t[:, ::1] qw = qwords
    cdef int nthreads = threads if threads > 0 else openmp.omp_get_max_threads()
    nthreads = max(1, min(nthreads, nq))
    per = (nq + nthreads - 1) // nthreads
    cdef ocsea_hits* hits = <ocsea_hits*>calloc(nthreads, sizeof(ocsea_hits))
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
                owners.append(np.asarray(<int32_t[:hits[tid].n]>hits[tid].query).astype(np.int64) + tid * per)
                rows.append(np.asarray(<int64_t[:hits[tid].n]>hits[tid].row).copy())
                dist.append(np.asarray(<int32_t[:hits[tid].n]>hits[tid].dist).copy())
    finally:
        for tid in range(nthreads):
            mih_scratch_free(&scratch[tid])
            ocsea_hits_free(&hits[tid])
        free(hits)
        free(scratch)
        free(failed)
    if not owners:
        return lims, np.zeros(0, np.int32), np.zeros(0, np.int64)
    owner, row, distance = np.concatenate(owners), np.concatenate(rows), np.concatenate(dist)
    order = np.lexsort((row, owner))
    np.cumsum(np.bincount(owner, minlength=nq), out=lims[1:])
    return lims, distance[order], row[order]
