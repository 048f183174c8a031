# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Native kernels of ocsea_match: plain typed loops over NumPy buffers, the GIL released.

Nothing here knows about files, PIL or hash names; ``hashers.py`` validates the input and calls
these functions. Every ``def`` checks the shapes it relies on before it releases the GIL, so the
unchecked indexing below only ever sees buffers of the sizes the loops assume (the tests cover
the edges: 1x1 up to 7x3 pictures, 64x64 exactly, very wide and very tall pictures).

PDQ follows the arithmetic of the reference implementation (facebook/ThreatExchange pdq/cpp, as
bound by the ``pdqhash`` package) operation for operation in float32, so that its hashes are the
same bits: the luma conversion in float64 rounded to float32, two passes of the Jarosz box filter
with running sums, decimation to 64x64, a 16x64 float32 DCT matrix, Torben's median. Only the
memory order differs, which does not change any value: the column pass advances all columns
together, row by row, and the row pass does the same on blocks of 16 rows transposed, so both
are element-wise loops over independent running sums that the compiler vectorises (built with
``-ffp-contract=off``: no multiply-add is fused, nothing is reassociated).
"""

import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange
cimport openmp
from libc.math cimport cos, sqrt, M_PI
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset
from libc.stdint cimport uint8_t, uint64_t, int32_t, int64_t

cnp.import_array()

cdef extern from *:
    """
    #include <string.h>
    /* Hamming distance of two byte strings, 8 bytes at a time. The popcnt instruction is used
       where the CPU has it (chosen once at import), the compiler's portable popcount elsewhere,
       so one build runs on every x86-64 and is ~6x faster where popcnt exists. */
    #define OCSEA_HAMMING_BODY(POP)                                              \
        Py_ssize_t k, words = nbytes / 8; int d = 0;                             \
        unsigned long long x, y;                                                 \
        for (k = 0; k < words; k++) {                                            \
            memcpy(&x, a + 8 * k, 8); memcpy(&y, b + 8 * k, 8); d += POP(x ^ y); \
        }                                                                        \
        for (k = words * 8; k < nbytes; k++) d += POP((unsigned long long)(a[k] ^ b[k])); \
        return d;
    #if defined(_MSC_VER)
    #include <intrin.h>
    static int ocsea_hamming(const unsigned char* a, const unsigned char* b, Py_ssize_t nbytes) {
        OCSEA_HAMMING_BODY((int)__popcnt64)
    }
    static void ocsea_cpu_init(void) {}
    #elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __attribute__((target("popcnt")))
    static int ocsea_hamming_popcnt(const unsigned char* a, const unsigned char* b, Py_ssize_t nbytes) {
        OCSEA_HAMMING_BODY(__builtin_popcountll)
    }
    static int ocsea_hamming_plain(const unsigned char* a, const unsigned char* b, Py_ssize_t nbytes) {
        OCSEA_HAMMING_BODY(__builtin_popcountll)
    }
    static int ocsea_has_popcnt = 0;
    static void ocsea_cpu_init(void) {
        __builtin_cpu_init();
        ocsea_has_popcnt = __builtin_cpu_supports("popcnt");
    }
    static inline int ocsea_hamming(const unsigned char* a, const unsigned char* b, Py_ssize_t nbytes) {
        return ocsea_has_popcnt ? ocsea_hamming_popcnt(a, b, nbytes) : ocsea_hamming_plain(a, b, nbytes);
    }
    #else
    static int ocsea_hamming(const unsigned char* a, const unsigned char* b, Py_ssize_t nbytes) {
        OCSEA_HAMMING_BODY(__builtin_popcountll)
    }
    static void ocsea_cpu_init(void) {}
    #endif
    """
    int ocsea_hamming(const uint8_t* a, const uint8_t* b, Py_ssize_t nbytes) nogil
    void ocsea_cpu_init()

ocsea_cpu_init()

DEF PDQ_MIN_DIM = 5

# 16x64 DCT matrix of PDQ, float32, computed as the reference does: a float32 scale factor
# times a float64 cosine, rounded to float32.
cdef float _DCT16x64[16][64]
cdef float _DCT64x16[64][16]  # its transpose, for the second product's vectorised loop


cdef void _init_dct() noexcept:
    cdef float scale = <float>sqrt(2.0 / 64.0)
    cdef int i, j
    for i in range(16):
        for j in range(64):
            _DCT16x64[i][j] = <float>(scale * cos((M_PI / 2.0 / 64.0) * (i + 1) * (2 * j + 1)))
            _DCT64x16[j][i] = _DCT16x64[i][j]


_init_dct()


# ---------------------------------------------------------------------------------------------
# Luma
# ---------------------------------------------------------------------------------------------

cdef extern from *:
    """
    /* One row of PDQ luma: the float32 nearest to 0.299 R + 0.587 G + 0.114 B.

       The reference evaluates (R * 0.299 + G * 0.587) + B * 0.114 in float64 and rounds it to
       float32. Here the same value is float32(299 R + 587 G + 114 B) / 1000.0f: the integer sum
       is exact, and so is its conversion (< 2**24); the IEEE division then rounds the exact
       value, which the float64 formula never moves across a float32 rounding boundary
       (test_pdq.py checks the two agree on all 2**24 colours). Integer sums and one float32
       division vectorise; the float64 formula on 3-byte pixels did not. The channel offsets are
       constants in each loop (3 and 4 channels, RGB and BGR order); x86-64 Linux builds also
       get an AVX2 clone. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
    #define OCSEA_LUMA_CLONES __attribute__((target_clones("avx2", "default")))
    #else
    #define OCSEA_LUMA_CLONES
    #endif
    #define OCSEA_LUMA_LOOP(C, R, G, B)                                                       \
        for (j = 0; j < n; j++)                                                              \
            o[j] = (float)(299 * (int)p[(C) * j + (R)] + 587 * (int)p[(C) * j + (G)]        \
                           + 114 * (int)p[(C) * j + (B)]) / thousand;
    OCSEA_LUMA_CLONES static void ocsea_luma_row(const unsigned char* p, float* o, size_t n, size_t c, int bgr) {
        const float thousand = 1000.0f;
        size_t j;
        if (c == 3 && !bgr) { OCSEA_LUMA_LOOP(3, 0, 1, 2) }
        else if (c == 3) { OCSEA_LUMA_LOOP(3, 2, 1, 0) }
        else if (c == 4 && !bgr) { OCSEA_LUMA_LOOP(4, 0, 1, 2) }
        else if (c == 4) { OCSEA_LUMA_LOOP(4, 2, 1, 0) }
        else if (!bgr) { OCSEA_LUMA_LOOP(c, 0, 1, 2) }
        else { OCSEA_LUMA_LOOP(c, 2, 1, 0) }
    }
    """
    void ocsea_luma_row(const uint8_t* p, float* o, size_t n, size_t c, int bgr) nogil


def luma_from_rgb(const uint8_t[:, :, ::1] rgb, bint bgr=False):
    """Float32 luma of an HxWxC (C >= 3) uint8 picture, channels in R, G, B order (B, G, R
    with ``bgr``, as OpenCV decodes).

    ``Y = 0.299 R + 0.587 G + 0.114 B`` evaluated in float64 and rounded to float32, which is
    what the pdqhash binding feeds the PDQ reference.
    """
    if rgb.shape[2] < 3:
        raise ValueError("luma_from_rgb needs at least 3 channels")
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], c = rgb.shape[2], i
    out = np.empty((h, w), dtype=np.float32)
    cdef float[:, ::1] o = out
    if h == 0 or w == 0:
        return out
    with nogil:
        for i in range(h):
            ocsea_luma_row(&rgb[i, 0, 0], &o[i, 0], <size_t>w, <size_t>c, bgr)
    return out


def luma_from_gray(const uint8_t[:, ::1] gray):
    """Float32 luma of a grayscale picture, equal to ``luma_from_rgb`` of its RGB conversion.

    For R = G = B = v the reference's ``(v * 0.299 + v * 0.587) + v * 0.114`` rounds to v
    itself in float32 for every v in 0..255 (``test_pdq.py`` checks it), so this is a plain
    conversion.
    """
    cdef Py_ssize_t h = gray.shape[0], w = gray.shape[1], i, j
    out = np.empty((h, w), dtype=np.float32)
    cdef float[:, ::1] o = out
    cdef const uint8_t* g
    cdef float* d
    if h == 0 or w == 0:
        return out
    with nogil:
        for i in range(h):
            g = &gray[i, 0]
            d = &o[i, 0]
            for j in range(w):
                d[j] = <float>g[j]
    return out


def gray_from_rgb(const uint8_t[:, :, ::1] rgb, bint bgr=False):
    """Pillow's ``convert("L")`` of an HxWxC (C >= 3) uint8 RGB (``bgr``: BGR) picture, bit for bit.

    ``L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16``, the ITU-R 601-2 weights in 16-bit fixed
    point, as Pillow's Convert.c computes them; imagehash starts from these pixels.
    """
    if rgb.shape[2] < 3:
        raise ValueError("gray_from_rgb needs at least 3 channels")
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i, j
    cdef int r = 2 if bgr else 0, b = 0 if bgr else 2
    out = np.empty((h, w), dtype=np.uint8)
    cdef uint8_t[:, ::1] o = out
    with nogil:
        for i in range(h):
            for j in range(w):
                o[i, j] = <uint8_t>((rgb[i, j, r] * 19595 + rgb[i, j, 1] * 38470
                                     + rgb[i, j, b] * 7471 + 0x8000) >> 16)
    return out


# ---------------------------------------------------------------------------------------------
# PDQ: Jarosz filter and decimation
# ---------------------------------------------------------------------------------------------

cdef inline int _jarosz_window(int old_dim, int new_dim) noexcept nogil:
    return (old_dim + 2 * new_dim - 1) / (2 * new_dim)


cdef extern from *:
    """
    #include <string.h>
    /* The PDQ filter's loops. Every float operation below is one the reference does, on the
       same operands, in the same order for each output value: the loops only walk many
       independent running sums at once (one per column, or one per row of a 16-row block), so
       the compiler vectorises them element-wise, and the build's -ffp-contract=off keeps it from
       fusing a multiply and an add. On x86-64 Linux with GCC each kernel is also compiled for
       AVX2 (target_clones, chosen at load time; glibc only: it needs ifunc): the same IEEE
       operations, 8 lanes at a time. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
    #define OCSEA_CLONES __attribute__((target_clones("avx2", "default")))
    #else
    #define OCSEA_CLONES
    #endif
    #if defined(__GNUC__)
    #define OCSEA_INLINE static inline __attribute__((always_inline))
    #else
    #define OCSEA_INLINE static __inline
    #endif

    /* dst[j][i] = src[i][j] for an nrows x ncols float block (strides in floats). Only moves
       values: 4x4 blocks through SSE registers on x86-64, plain loops elsewhere and at edges. */
    #if defined(__SSE2__) || defined(_M_X64)
    #include <xmmintrin.h>
    #define OCSEA_SSE_TRANSPOSE 1
    #endif
    static void ocsea_transpose(const float* src, Py_ssize_t ss, float* dst, Py_ssize_t ds,
                                int nrows, int ncols) {
        int i = 0, j, k;
    #ifdef OCSEA_SSE_TRANSPOSE
        for (; i + 4 <= nrows; i += 4) {
            const float* s0 = src + (Py_ssize_t)i * ss;
            for (j = 0; j + 4 <= ncols; j += 4) {
                __m128 r0 = _mm_loadu_ps(s0 + j), r1 = _mm_loadu_ps(s0 + ss + j);
                __m128 r2 = _mm_loadu_ps(s0 + 2 * ss + j), r3 = _mm_loadu_ps(s0 + 3 * ss + j);
                _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                float* d = dst + (Py_ssize_t)j * ds + i;
                _mm_storeu_ps(d, r0);
                _mm_storeu_ps(d + ds, r1);
                _mm_storeu_ps(d + 2 * ds, r2);
                _mm_storeu_ps(d + 3 * ds, r3);
            }
            for (; j < ncols; j++)
                for (k = 0; k < 4; k++) dst[(Py_ssize_t)j * ds + i + k] = s0[k * ss + j];
        }
    #endif
        for (; i < nrows; i++)
            for (j = 0; j < ncols; j++) dst[(Py_ssize_t)j * ds + i] = src[(Py_ssize_t)i * ss + j];
    }

    /* The reference's box1DFloat down every column of an nrows x ncols row-major block, all
       columns advancing together, row by row: per column the same adds, subtracts and divides
       in the same order. samples == NULL: out is nrows x ncols. Otherwise only the filtered
       rows samples[0..nsamples) (ascending, repeats allowed) are divided out, as the rows of
       out (nsamples x ncols); the running sums are the same either way. */
    #define OCSEA_BOX_EMIT                                                   \
        fcur = (float)cur;                                                   \
        if (samples == NULL) {                                               \
            o = out + (Py_ssize_t)oi * ncols;                                \
            for (j = 0; j < ncols; j++) o[j] = sums[j] / fcur;               \
        } else {                                                             \
            while (t < nsamples && samples[t] == oi) {                       \
                o = out + (Py_ssize_t)t * ncols;                             \
                for (j = 0; j < ncols; j++) o[j] = sums[j] / fcur;           \
                t++;                                                         \
            }                                                                \
        }                                                                    \
        oi++;
    OCSEA_INLINE void ocsea_box_cols_body(const float* inp, float* out, float* sums, int nrows,
                                          int ncols, int window, const int* samples, int nsamples) {
        int half = (window + 2) / 2;
        int p1 = half - 1, p2 = window - half + 1, p3 = nrows - window, p4 = half - 1;
        int li = 0, ri = 0, oi = 0, k, j, cur = 0, t = 0;
        float fcur;
        const float* a;
        const float* b;
        float* o;
        for (j = 0; j < ncols; j++) sums[j] = 0.0f;
        for (k = 0; k < p1; k++, ri++) {
            a = inp + (Py_ssize_t)ri * ncols;
            for (j = 0; j < ncols; j++) sums[j] = sums[j] + a[j];
            cur++;
        }
        for (k = 0; k < p2; k++, ri++) {
            a = inp + (Py_ssize_t)ri * ncols;
            for (j = 0; j < ncols; j++) sums[j] = sums[j] + a[j];
            cur++;
            OCSEA_BOX_EMIT
        }
        for (k = 0; k < p3; k++, ri++, li++) {
            a = inp + (Py_ssize_t)ri * ncols;
            b = inp + (Py_ssize_t)li * ncols;
            for (j = 0; j < ncols; j++) sums[j] = (sums[j] + a[j]) - b[j];
            OCSEA_BOX_EMIT
        }
        for (k = 0; k < p4; k++, li++) {
            b = inp + (Py_ssize_t)li * ncols;
            for (j = 0; j < ncols; j++) sums[j] = sums[j] - b[j];
            cur--;
            OCSEA_BOX_EMIT
        }
    }

    /* Any width; sums: ncols floats of scratch. */
    OCSEA_CLONES static void ocsea_box_cols(const float* inp, float* out, float* sums, int nrows, int ncols,
                                            int window, const int* samples, int nsamples) {
        ocsea_box_cols_body(inp, out, sums, nrows, ncols, window, samples, nsamples);
    }

    /* Width 16 (a transposed block of 16 picture rows): the running sums stay in registers. */
    OCSEA_CLONES static void ocsea_box_tile16(const float* inp, float* out, int nrows, int window,
                                              const int* samples, int nsamples) {
        float sums[16];
        ocsea_box_cols_body(inp, out, sums, nrows, 16, window, samples, nsamples);
    }

    /* One output row of the column pass, streamed: add row a (or NULL), then subtract row b
       (or NULL), then out = sums / div (out NULL: no output). The reference's order. */
    OCSEA_CLONES static void ocsea_col_step(float* sums, int ncols, const float* a, const float* b,
                                            float* out, float div) {
        int j;
        if (a != NULL && b != NULL) { for (j = 0; j < ncols; j++) sums[j] = (sums[j] + a[j]) - b[j]; }
        else if (a != NULL) { for (j = 0; j < ncols; j++) sums[j] = sums[j] + a[j]; }
        else if (b != NULL) { for (j = 0; j < ncols; j++) sums[j] = sums[j] - b[j]; }
        if (out != NULL) { for (j = 0; j < ncols; j++) out[j] = sums[j] / div; }
    }
    """
    void ocsea_col_step(float* sums, int ncols, const float* a, const float* b, float* out, float div) nogil
    void ocsea_transpose(const float* src, Py_ssize_t ss, float* dst, Py_ssize_t ds, int nrows, int ncols) nogil
    void ocsea_box_cols(const float* inp, float* out, float* sums, int nrows, int ncols, int window,
                        const int* samples, int nsamples) nogil
    void ocsea_box_tile16(const float* inp, float* out, int nrows, int window, const int* samples,
                          int nsamples) nogil


DEF ROW_BLOCK = 16  # rows filtered together by the row pass: ocsea_box_tile16's width


cdef void _box_rows(const float* inp, float* out, float* tile, float* tile2,
                    int nrows, int ncols, int window, const int* samples, int nsamples) noexcept nogil:
    """box1DFloat along every row, ROW_BLOCK rows at a time: the block is transposed into
    ``tile`` (ncols x ROW_BLOCK), filtered down its columns (one running sum per picture row,
    the reference's sequence of operations for each) into ``tile2`` and transposed back into
    ``out`` (nrows x ncols, or nrows x nsamples: only the columns ``samples``). ``tile`` holds
    ncols * ROW_BLOCK floats, ``tile2`` max(ncols, 64) * ROW_BLOCK. A last block of fewer rows
    runs with zeros in the unused lanes (each lane is independent) and keeps only its rows."""
    cdef int i0, rows, width = ncols if samples == NULL else nsamples
    for i0 in range(0, nrows, ROW_BLOCK):
        rows = ROW_BLOCK if i0 + ROW_BLOCK <= nrows else nrows - i0
        if rows < ROW_BLOCK:
            memset(tile, 0, sizeof(float) * <Py_ssize_t>ncols * ROW_BLOCK)
        ocsea_transpose(inp + <Py_ssize_t>i0 * ncols, ncols, tile, ROW_BLOCK, rows, ncols)
        ocsea_box_tile16(tile, tile2, ncols, window, samples, nsamples)
        ocsea_transpose(tile2, ROW_BLOCK, out + <Py_ssize_t>i0 * width, width, width, rows)


cdef inline int _decimate_index(int outi, int in_dim, int out_dim) noexcept nogil:
    return <int>(((outi + 0.5) * in_dim) / out_dim)


cdef int _pdq_downsample(const float* luma, int nrows, int ncols,
                         float out64[64][64], bint copy_64x64) noexcept nogil:
    """Two Jarosz passes over ``luma`` (left as it is) and decimation to 64x64; 0 or -1 (no memory).

    ``copy_64x64``: a picture of exactly 64x64 is taken as it is, unfiltered (the reference's
    single-hash path does this; its dihedral path filters every picture, and so must we there:
    a window-1 running sum is not an exact identity in float32).

    Streamed, so no picture-sized buffer is made: the first row pass fills a ring of rows
    (16 at a time) just ahead of the first column pass, which emits its rows one by one, in
    order, into a 16-row block; each full block goes through the second row pass, which keeps
    only the 64 sampled columns (nrows x 64, ``narrow``); the second column pass runs over
    those and keeps the 64 sampled rows. Every value sees the reference's operations in the
    reference's order; only the schedule differs.
    """
    cdef int wr = _jarosz_window(ncols, 64)
    cdef int wc = _jarosz_window(nrows, 64)
    cdef int half = (wc + 2) / 2
    cdef int p1 = half - 1
    cdef int p2 = wc - half + 1
    cdef int p3 = nrows - wc
    cdef int i, j, k, oi, o0, rows
    cdef int ri = 0, li = 0, cur = 0, produced = 0
    cdef int cap = ((wc + 2 * ROW_BLOCK + ROW_BLOCK - 1) / ROW_BLOCK) * ROW_BLOCK  # ring rows
    cdef int cols64[64]
    cdef int rows64[64]
    cdef const float* add
    cdef const float* sub
    cdef float* ring
    cdef float* block
    cdef float* tile
    cdef float* tile2
    cdef float* narrow
    cdef float* sums
    if copy_64x64 and nrows == 64 and ncols == 64:
        for i in range(64):
            for j in range(64):
                out64[i][j] = luma[i * 64 + j]
        return 0
    for i in range(64):
        cols64[i] = _decimate_index(i, ncols, 64)
        rows64[i] = _decimate_index(i, nrows, 64)
    if cap > nrows + ROW_BLOCK:
        cap = ((nrows + ROW_BLOCK - 1) / ROW_BLOCK) * ROW_BLOCK
    sums = <float*>malloc(sizeof(float) * (ncols if ncols > 64 else 64))
    ring = <float*>malloc(sizeof(float) * <Py_ssize_t>cap * ncols)
    block = <float*>malloc(sizeof(float) * <Py_ssize_t>ROW_BLOCK * ncols)
    tile = <float*>malloc(sizeof(float) * <Py_ssize_t>ncols * ROW_BLOCK)
    tile2 = <float*>malloc(sizeof(float) * <Py_ssize_t>(ncols if ncols > 64 else 64) * ROW_BLOCK)
    narrow = <float*>malloc(sizeof(float) * <Py_ssize_t>nrows * 64)
    if sums == NULL or ring == NULL or block == NULL or tile == NULL or tile2 == NULL or narrow == NULL:
        free(sums)
        free(ring)
        free(block)
        free(tile)
        free(tile2)
        free(narrow)
        return -1
    # pass 1, columns, streamed over the rows of pass 1's row filter
    for j in range(ncols):
        sums[j] = 0.0
    for oi in range(-p1, nrows):
        add = NULL
        sub = NULL
        if oi < p2 + p3:  # a new row enters the window
            while produced <= ri:  # pass 1, rows: the next block of 16 into the ring
                rows = ROW_BLOCK if produced + ROW_BLOCK <= nrows else nrows - produced
                _box_rows(luma + <Py_ssize_t>produced * ncols, ring + <Py_ssize_t>(produced % cap) * ncols,
                          tile, tile2, rows, ncols, wr, NULL, 0)
                produced += rows
            add = ring + <Py_ssize_t>(ri % cap) * ncols
            ri += 1
        if oi >= p2:  # the oldest row leaves the window
            sub = ring + <Py_ssize_t>(li % cap) * ncols
            li += 1
        if oi < p2:
            cur += 1
        elif oi >= p2 + p3:
            cur -= 1
        if oi < 0:
            ocsea_col_step(sums, ncols, add, sub, NULL, 0.0)
            continue
        ocsea_col_step(sums, ncols, add, sub, block + <Py_ssize_t>(oi % ROW_BLOCK) * ncols, <float>cur)
        if oi % ROW_BLOCK == ROW_BLOCK - 1 or oi == nrows - 1:  # pass 2, rows: the 64 sampled columns
            o0 = oi - oi % ROW_BLOCK
            _box_rows(block, narrow + <Py_ssize_t>o0 * 64, tile, tile2, oi - o0 + 1, ncols, wr, cols64, 64)
    # pass 2, columns, over the 64 sampled columns, keeping the 64 sampled rows
    ocsea_box_cols(narrow, &out64[0][0], sums, nrows, 64, wc, rows64, 64)
    free(sums)
    free(ring)
    free(block)
    free(tile)
    free(tile2)
    free(narrow)
    return 0


# ---------------------------------------------------------------------------------------------
# PDQ: quality, DCT, median, bits, dihedral variants
# ---------------------------------------------------------------------------------------------

cdef int _pdq_quality(float a[64][64]) noexcept nogil:
    cdef int gradient_sum = 0, i, j, d
    for i in range(63):
        for j in range(64):
            d = <int>(((a[i][j] - a[i + 1][j]) * 100) / 255)
            gradient_sum += d if d >= 0 else -d
    for i in range(64):
        for j in range(63):
            d = <int>(((a[i][j] - a[i][j + 1]) * 100) / 255)
            gradient_sum += d if d >= 0 else -d
    cdef int quality = gradient_sum / 90
    return 100 if quality > 100 else quality


cdef void _dct64_to_16(float a[64][64], float b[16][16]) noexcept nogil:
    """B = D A D^T with D the 16x64 DCT matrix, in float32, as the reference computes it: each
    output is a sum over k ascending starting from 0.0f. The loops run k outermost and the
    output columns innermost (independent sums, vectorised); each sum's terms and their order
    are the reference's."""
    cdef float t[16][64]
    cdef float d
    cdef int i, j, k
    for i in range(16):
        for j in range(64):
            t[i][j] = 0.0
        for k in range(64):
            d = _DCT16x64[i][k]
            for j in range(64):
                t[i][j] = t[i][j] + d * a[k][j]
    for i in range(16):
        for j in range(16):
            b[i][j] = 0.0
        for k in range(64):
            d = t[i][k]
            for j in range(16):
                b[i][j] = b[i][j] + d * _DCT64x16[k][j]


cdef float _torben(const float* m, int n) noexcept nogil:
    """Torben's median (the reference's), selection without sorting."""
    cdef int i, less, greater, equal
    cdef float mn = m[0], mx = m[0], guess, maxlt, mingt
    for i in range(1, n):
        if m[i] < mn:
            mn = m[i]
        if m[i] > mx:
            mx = m[i]
    while True:
        guess = (mn + mx) / 2
        less = 0
        greater = 0
        equal = 0
        maxlt = mn
        mingt = mx
        for i in range(n):
            if m[i] < guess:
                less += 1
                if m[i] > maxlt:
                    maxlt = m[i]
            elif m[i] > guess:
                greater += 1
                if m[i] < mingt:
                    mingt = m[i]
            else:
                equal += 1
        if less <= (n + 1) / 2 and greater <= (n + 1) / 2:
            break
        elif less > greater:
            mx = maxlt
        else:
            mn = mingt
    if less >= (n + 1) / 2:
        return maxlt
    elif less + equal >= (n + 1) / 2:
        return guess
    return mingt


cdef void _bits_from_16x16(float b[16][16], uint8_t* out32) noexcept nogil:
    """Bit k = i*16 + j is set when b[i][j] > median; bytes are big-endian (hex order)."""
    cdef float med = _torben(&b[0][0], 256)
    cdef int byte_i, t, k
    cdef uint8_t v
    for byte_i in range(32):
        v = 0
        for t in range(8):
            k = 255 - 8 * byte_i - t
            v = <uint8_t>((v << 1) | (1 if b[k >> 4][k & 15] > med else 0))
        out32[byte_i] = v


cdef void _dihedral(float a[16][16], float b[16][16], int which) noexcept nogil:
    """DCT coefficients of a rotated or flipped picture, from the original's (pdqhash order:
    original, rot90, rot180, rot270, flipX, flipY, flipPlus1, flipMinus1)."""
    cdef int i, j
    for i in range(16):
        for j in range(16):
            if which == 0:
                b[i][j] = a[i][j]
            elif which == 1:
                b[j][i] = a[i][j] if (j & 1) else -a[i][j]
            elif which == 2:
                b[i][j] = -a[i][j] if ((i + j) & 1) else a[i][j]
            elif which == 3:
                b[j][i] = a[i][j] if (i & 1) else -a[i][j]
            elif which == 4:
                b[i][j] = a[i][j] if (i & 1) else -a[i][j]
            elif which == 5:
                b[i][j] = a[i][j] if (j & 1) else -a[i][j]
            elif which == 6:
                b[j][i] = a[i][j]
            else:
                b[j][i] = -a[i][j] if ((i + j) & 1) else a[i][j]


def pdq_from_luma(const float[:, ::1] luma, bint dihedral=False, bint inplace=False):
    """PDQ of a float32 luma picture: ``(hashes, quality)``.

    ``hashes`` is a uint8 array of shape (1, 32), or (8, 32) with ``dihedral`` (pdqhash's order:
    original, rot90, rot180, rot270, flipX, flipY, flipPlus1, flipMinus1); each row is the hash's
    bytes in hex order. Pictures with a side under 5 pixels get the reference's answer: all-zero
    hashes and quality 0. ``luma`` is only read (``inplace`` is accepted for older callers and
    changes nothing: no copy is made either way).
    """
    cdef int nrows = luma.shape[0], ncols = luma.shape[1]
    cdef int n = 8 if dihedral else 1
    cdef int quality = 0, k, rc = 0
    cdef float a64[64][64]
    cdef float b16[16][16]
    cdef float aux[16][16]
    out = np.zeros((n, 32), dtype=np.uint8)
    cdef uint8_t[:, ::1] o = out
    if nrows < PDQ_MIN_DIM or ncols < PDQ_MIN_DIM:
        return out, 0
    with nogil:
        rc = _pdq_downsample(&luma[0, 0], nrows, ncols, a64, not dihedral)
        if rc == 0:
            quality = _pdq_quality(a64)
            _dct64_to_16(a64, b16)
            for k in range(n):
                _dihedral(b16, aux, k)
                _bits_from_16x16(aux, &o[k, 0])
    if rc != 0:
        raise MemoryError("pdq: out of memory")
    return out, quality


def pdq_downsample(const float[:, ::1] luma, bint copy_64x64=True):
    """The 64x64 float32 picture PDQ hashes (two Jarosz passes and decimation); for tests."""
    cdef int nrows = luma.shape[0], ncols = luma.shape[1], rc
    if nrows < PDQ_MIN_DIM or ncols < PDQ_MIN_DIM:
        raise ValueError("pdq_downsample needs at least 5x5 pixels")
    cdef float a64[64][64]
    with nogil:
        rc = _pdq_downsample(&luma[0, 0], nrows, ncols, a64, copy_64x64)
    if rc != 0:
        raise MemoryError("pdq: out of memory")
    return np.asarray(<float[:64, :64]>&a64[0][0]).copy()


# ---------------------------------------------------------------------------------------------
# wHash: Haar wavelet decomposition and reconstruction with PyWavelets' arithmetic
# ---------------------------------------------------------------------------------------------

DEF HAAR = 0.7071067811865476


cdef void _haar_fwd_level(double* a, Py_ssize_t stride, int s, double* tmp) noexcept nogil:
    """One 2D Haar level on the top-left s x s block of ``a``, in place, Mallat layout.

    Along axis 0 first, then axis 1 (pywt.dwt2's order); result quadrants: aa | ad / da | dd.
    """
    cdef int h = s // 2, i, j
    cdef double x0, x1
    # axis 0: rows 2i, 2i+1 -> tmp rows i (approx) and h+i (detail)
    for i in range(h):
        for j in range(s):
            x0 = HAAR * a[(2 * i) * stride + j]
            x1 = HAAR * a[(2 * i + 1) * stride + j]
            tmp[i * s + j] = x0 + x1
            tmp[(h + i) * s + j] = x0 - x1
    # axis 1 on every row of tmp -> a
    for i in range(s):
        for j in range(h):
            x0 = HAAR * tmp[i * s + 2 * j]
            x1 = HAAR * tmp[i * s + 2 * j + 1]
            a[i * stride + j] = x0 + x1
            a[i * stride + h + j] = x0 - x1


cdef void _haar_inv_level(double* a, Py_ssize_t stride, int s, double* tmp) noexcept nogil:
    """Inverse of _haar_fwd_level (pywt.idwt2's order: axis 1 first, then axis 0)."""
    cdef int h = s // 2, i, j
    cdef double ca, cd
    for i in range(s):
        for j in range(h):
            ca = HAAR * a[i * stride + j]
            cd = HAAR * a[i * stride + h + j]
            tmp[i * s + 2 * j] = ca + cd
            tmp[i * s + 2 * j + 1] = ca - cd
    for i in range(h):
        for j in range(s):
            ca = HAAR * tmp[i * s + j]
            cd = HAAR * tmp[(h + i) * s + j]
            a[(2 * i) * stride + j] = ca + cd
            a[(2 * i + 1) * stride + j] = ca - cd


def whash_low(double[:, ::1] pixels, int hash_size=8, bint remove_max_haar_ll=True):
    """The hash_size x hash_size Haar LL band of imagehash.whash (mode 'haar'), in place.

    ``pixels`` is the square power-of-two picture scaled to [0, 1]. With ``remove_max_haar_ll``,
    the full decomposition's LL is zeroed and the picture rebuilt first, as imagehash does.
    """
    cdef int n = pixels.shape[0], s
    if pixels.shape[1] != n or n < hash_size or (n & (n - 1)) != 0 or (hash_size & (hash_size - 1)) != 0:
        raise ValueError("whash_low needs a square power-of-two picture at least hash_size wide")
    cdef double[::1] tmp = np.empty(<Py_ssize_t>n * n, dtype=np.float64)
    cdef double* a = &pixels[0, 0]
    with nogil:
        if remove_max_haar_ll and n > 1:
            s = n
            while s > 1:
                _haar_fwd_level(a, n, s, &tmp[0])
                s //= 2
            a[0] = a[0] * 0.0
            s = 2
            while s <= n:
                _haar_inv_level(a, n, s, &tmp[0])
                s *= 2
        s = n
        while s > hash_size:
            _haar_fwd_level(a, n, s, &tmp[0])
            s //= 2
    return np.asarray(pixels)[:hash_size, :hash_size].copy()


# ---------------------------------------------------------------------------------------------
# Hamming distances on packed rows
# ---------------------------------------------------------------------------------------------

def hamming_one_to_many(const uint8_t[::1] query, const uint8_t[:, ::1] rows):
    """Hamming distance from one packed hash to every row of a packed matrix: int32[n]."""
    cdef Py_ssize_t n = rows.shape[0], nbytes = rows.shape[1], i
    if query.shape[0] != nbytes:
        raise ValueError(f"query has {query.shape[0]} bytes, rows have {nbytes}")
    out = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] o = out
    if n == 0 or nbytes == 0:
        out[:] = 0
        return out
    with nogil:
        for i in range(n):
            o[i] = ocsea_hamming(&query[0], &rows[i, 0], nbytes)
    return out


def hamming_many_to_many(const uint8_t[:, ::1] a, const uint8_t[:, ::1] b, int threads=0):
    """All pairwise Hamming distances between two packed matrices: int32[len(a), len(b)].

    Rows of ``a`` are spread over OpenMP threads (``threads=0``: OpenMP's default).
    """
    cdef Py_ssize_t na = a.shape[0], nb = b.shape[0], nbytes = a.shape[1], i, j
    if b.shape[1] != nbytes:
        raise ValueError(f"rows of a have {nbytes} bytes, rows of b have {b.shape[1]}")
    out = np.zeros((na, nb), dtype=np.int32)
    cdef int32_t[:, ::1] o = out
    cdef int nthreads = threads if threads > 0 else 0
    if na == 0 or nb == 0 or nbytes == 0:
        return out
    with nogil:
        if nthreads > 0:
            for i in prange(na, schedule="static", num_threads=nthreads):
                for j in range(nb):
                    o[i, j] = ocsea_hamming(&a[i, 0], &b[j, 0], nbytes)
        else:
            for i in prange(na, schedule="static"):
                for j in range(nb):
                    o[i, j] = ocsea_hamming(&a[i, 0], &b[j, 0], nbytes)
    return out


# ---------------------------------------------------------------------------------------------
# Exact range search over 256-bit rows kept in two halves (PDQ)
# ---------------------------------------------------------------------------------------------

cdef extern from *:
    """
    #include <stdlib.h>
    #include <stdint.h>
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #include <immintrin.h>
    #endif

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

    /* Rows are scanned in blocks that stay in L1 (1024 rows x 16 bytes of first halves) while
       every query passes over them, so a batch of queries reads the table from memory once. */
    #define OCSEA_BLOCK 1024

    /* The scalar scan of rows [r0, r1): first-half distance, and the second half only for the
       rows whose first half is within the threshold (the whole distance is never smaller). */
    #define OCSEA_SCAN256_SCALAR(POP)                                                        \
        Py_ssize_t b, e, q, r; int d;                                                        \
        for (b = r0; b < r1; b += OCSEA_BLOCK) {                                             \
            e = b + OCSEA_BLOCK < r1 ? b + OCSEA_BLOCK : r1;                                 \
            for (q = 0; q < nq; q++) {                                                       \
                const uint64_t* qq = qs + 4 * q;                                             \
                uint64_t q0 = qq[0], q1 = qq[1];                                             \
                for (r = b; r < e; r++) {                                                    \
                    d = POP(head[2 * r] ^ q0) + POP(head[2 * r + 1] ^ q1);                   \
                    if (d <= t) {                                                            \
                        d += POP(tail[2 * r] ^ qq[2]) + POP(tail[2 * r + 1] ^ qq[3]);        \
                        if (d <= t && ocsea_hits_push(hits, q, r, d)) return -1;             \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        return 0;

    #define OCSEA_SCAN256_ARGS const uint64_t* qs, Py_ssize_t nq, const uint64_t* head, \
        const uint64_t* tail, Py_ssize_t r0, Py_ssize_t r1, int t, ocsea_hits* hits

    static int ocsea_scan256_plain(OCSEA_SCAN256_ARGS) { OCSEA_SCAN256_SCALAR(__builtin_popcountll) }

    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __attribute__((target("popcnt")))
    static int ocsea_scan256_popcnt(OCSEA_SCAN256_ARGS) { OCSEA_SCAN256_SCALAR(__builtin_popcountll) }

    /* AVX-512 with VPOPCNTDQ: one 64-byte load holds the first halves of 4 rows; the two 64-bit
       counts of each row are summed within its 128-bit lane and compared to the threshold. */
    __attribute__((target("popcnt,avx512f,avx512bw,avx512vpopcntdq")))
    static int ocsea_scan256_avx512(OCSEA_SCAN256_ARGS) {
        Py_ssize_t b, e, q, r, row; int d, k; __mmask8 m;
        const __m512i tv = _mm512_set1_epi64(t);
        for (b = r0; b < r1; b += OCSEA_BLOCK) {
            e = b + OCSEA_BLOCK < r1 ? b + OCSEA_BLOCK : r1;
            for (q = 0; q < nq; q++) {
                const uint64_t* qq = qs + 4 * q;
                const __m512i qv = _mm512_set4_epi64((long long)qq[1], (long long)qq[0], (long long)qq[1], (long long)qq[0]);
                for (r = b; r + 4 <= e; r += 4) {
                    __m512i p = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void*)(head + 2 * r)), qv));
                    p = _mm512_add_epi64(p, _mm512_bsrli_epi128(p, 8));
                    m = _mm512_mask_cmple_epu64_mask(0x55, p, tv);
                    while (m) {
                        k = __builtin_ctz(m); m &= m - 1; row = r + (k >> 1);
                        d = __builtin_popcountll(head[2 * row] ^ qq[0]) + __builtin_popcountll(head[2 * row + 1] ^ qq[1])
                          + __builtin_popcountll(tail[2 * row] ^ qq[2]) + __builtin_popcountll(tail[2 * row + 1] ^ qq[3]);
                        if (d <= t && ocsea_hits_push(hits, q, row, d)) return -1;
                    }
                }
                for (; r < e; r++) {
                    d = __builtin_popcountll(head[2 * r] ^ qq[0]) + __builtin_popcountll(head[2 * r + 1] ^ qq[1]);
                    if (d <= t) {
                        d += __builtin_popcountll(tail[2 * r] ^ qq[2]) + __builtin_popcountll(tail[2 * r + 1] ^ qq[3]);
                        if (d <= t && ocsea_hits_push(hits, q, r, d)) return -1;
                    }
                }
            }
        }
        return 0;
    }

    static int ocsea_simd_level = -1;  /* 2: AVX-512 VPOPCNTDQ, 1: popcnt, 0: portable */
    static int ocsea_scan256_level(void) {
        if (ocsea_simd_level < 0) {
            __builtin_cpu_init();
            ocsea_simd_level = (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                                && __builtin_cpu_supports("avx512vpopcntdq")) ? 2
                             : __builtin_cpu_supports("popcnt") ? 1 : 0;
        }
        return ocsea_simd_level;
    }
    static int ocsea_scan256(int level, OCSEA_SCAN256_ARGS) {
        if (level >= 2) return ocsea_scan256_avx512(qs, nq, head, tail, r0, r1, t, hits);
        if (level == 1) return ocsea_scan256_popcnt(qs, nq, head, tail, r0, r1, t, hits);
        return ocsea_scan256_plain(qs, nq, head, tail, r0, r1, t, hits);
    }
    #else
    static int ocsea_scan256_level(void) { return 0; }
    static int ocsea_scan256(int level, OCSEA_SCAN256_ARGS) {
        return ocsea_scan256_plain(qs, nq, head, tail, r0, r1, t, hits);
    }
    #endif
    """
    ctypedef struct ocsea_hits:
        int32_t* query
        int64_t* row
        int32_t* dist
        Py_ssize_t n
        Py_ssize_t cap
    void ocsea_hits_free(ocsea_hits* h) nogil
    int ocsea_scan256_level() nogil
    int ocsea_scan256(int level, const uint64_t* qs, Py_ssize_t nq, const uint64_t* head, const uint64_t* tail,
                      Py_ssize_t r0, Py_ssize_t r1, int t, ocsea_hits* hits) nogil

#: The scan's instruction set on this CPU, chosen at import: 2 AVX-512 VPOPCNTDQ, 1 popcnt, 0 portable.
SCAN256_LEVEL = ocsea_scan256_level()

DEF ROWS_PER_THREAD_MIN = 65536


def range_search_256(const uint8_t[:, ::1] queries, const uint64_t[:, ::1] head, const uint64_t[:, ::1] tail,
                     int max_distance, int threads=1, int level=-1):
    """Every row within ``max_distance`` (inclusive) of each query: ``(lims, distances, labels)``.

    ``queries``: uint8 (q, 32), PDQ hashes in hex byte order. ``head`` / ``tail``: uint64 (n, 2),
    the first and last 16 bytes of each row (``rows[:, :16].view(np.uint64)``, same for 16:).
    The result has FAISS ``range_search``'s shape: the hits of query i are
    ``labels[lims[i]:lims[i + 1]]`` (row numbers, ascending) with their ``distances``.

    Exact: the second half of a row is read only when the first half alone is within
    ``max_distance``, which the whole distance can never be below. ``threads`` splits the rows
    over OpenMP threads (tables of at least 64k rows a thread; 0: OpenMP's default); ``level``
    forces an instruction set no higher than the CPU's (for tests), -1 the best one.

    >>> lims, distances, labels = range_search_256(q, head, tail, 31)  # doctest: +SKIP
    """
    cdef Py_ssize_t nq = queries.shape[0], n = head.shape[0], i, k, per
    if queries.shape[1] != 32 or head.shape[1] != 2 or tail.shape[1] != 2 or tail.shape[0] != n:
        raise ValueError("range_search_256 needs queries (q, 32) uint8 and head, tail (n, 2) uint64")
    if nq >= 2 ** 31:
        raise ValueError("too many queries in one call")
    cdef int best = ocsea_scan256_level()
    cdef int use = best if level < 0 or level > best else level
    cdef int nthreads = threads if threads > 0 else openmp.omp_get_max_threads()
    if nthreads > 1 and n < ROWS_PER_THREAD_MIN * nthreads:
        nthreads = max(1, <int>(n // ROWS_PER_THREAD_MIN))
    lims = np.zeros(nq + 1, dtype=np.int64)
    cdef int64_t[::1] lv = lims
    if nq == 0 or n == 0 or max_distance < 0:
        return lims, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    # queries as 64-bit words, the same reinterpretation of the bytes as head and tail
    qwords = np.frombuffer(np.asarray(queries).tobytes(), dtype=np.uint64).reshape(nq, 4)
    cdef const uint64_t[:, ::1] qw = qwords
    cdef ocsea_hits* hits = <ocsea_hits*>calloc(nthreads, sizeof(ocsea_hits))
    cdef int* failed = <int*>calloc(nthreads, sizeof(int))
    cdef int tid, bad = 0
    if hits == NULL or failed == NULL:
        free(hits)
        free(failed)
        raise MemoryError("range_search_256: out of memory")
    per = (n + nthreads - 1) // nthreads
    try:
        with nogil:
            if nthreads == 1:
                failed[0] = ocsea_scan256(use, &qw[0, 0], nq, &head[0, 0], &tail[0, 0], 0, n, max_distance, &hits[0])
            else:
                for tid in prange(nthreads, schedule="static", num_threads=nthreads):
                    failed[tid] = ocsea_scan256(use, &qw[0, 0], nq, &head[0, 0], &tail[0, 0], tid * per,
                                                min(n, (tid + 1) * per), max_distance, &hits[tid])
            for tid in range(nthreads):
                bad = bad | failed[tid]
                for k in range(hits[tid].n):
                    lv[hits[tid].query[k] + 1] += 1
            for i in range(nq):
                lv[i + 1] += lv[i]
        if bad:
            raise MemoryError("range_search_256: out of memory")
        distances = np.empty(lims[nq], dtype=np.int32)
        labels = np.empty(lims[nq], dtype=np.int64)
        _fill_hits(hits, nthreads, lv, distances, labels)
        return lims, distances, labels
    finally:
        for tid in range(nthreads):
            ocsea_hits_free(&hits[tid])
        free(hits)
        free(failed)


cdef void _fill_hits(ocsea_hits* hits, int nthreads, int64_t[::1] lims, int32_t[::1] dist, int64_t[::1] lab):
    """Place every thread's hits query by query (threads in row order keep rows ascending)."""
    cdef Py_ssize_t nq = lims.shape[0] - 1, k, pos
    cdef int tid
    cursor = np.array(lims[:nq], dtype=np.int64)
    cdef int64_t[::1] cur = cursor
    with nogil:
        for tid in range(nthreads):
            for k in range(hits[tid].n):
                pos = cur[hits[tid].query[k]]
                cur[hits[tid].query[k]] = pos + 1
                dist[pos] = hits[tid].dist[k]
                lab[pos] = hits[tid].row[k]
