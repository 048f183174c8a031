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
from cython.parallel cimport prange
cimport openmp
from libc.math cimport cos, sqrt, M_PI
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset
from libc.stdint cimport uint8_t, uint64_t, int32_t, int64_t
from ocsea_match._ocsea_base cimport ocsea_hits, ocsea_hits_free  # the hits list _mih shares

# The C kernels and the one CPU-level dispatch live in _core_simd.h (beside this file; shipped in
# the sdist and wheel): SIMD loops, popcount, the range scan's instruction-set variants.
cdef extern from "_core_simd.h" nogil:
    int ocsea_cpu_level()
    const double HAAR "OCSEA_HAAR"  # 1/sqrt(2), pywt's Haar tap: a C constant the compiler folds
    int ocsea_hamming(const uint8_t* a, const uint8_t* b, Py_ssize_t nbytes)
    void ocsea_luma_row(const uint8_t* p, float* o, size_t n, size_t c, int bgr)
    void ocsea_col_step(float* sums, int ncols, const float* a, const float* b, float* out, float div)
    void ocsea_transpose(const float* src, Py_ssize_t ss, float* dst, Py_ssize_t ds, int nrows, int ncols)
    void ocsea_box_cols(const float* inp, float* out, float* sums, int nrows, int ncols, int window,
                        const int* samples, int nsamples)
    void ocsea_box_tile16(const float* inp, float* out, int nrows, int window, const int* samples,
                          int nsamples)
    int ocsea_lanczos_gray(const uint8_t* src, Py_ssize_t stride, int in_w, int in_h, uint8_t* out, int out_w,
                           int out_h)
    int ocsea_scan256(int level, const uint64_t* qs, Py_ssize_t nq, const uint64_t* head, const uint64_t* tail,
                      Py_ssize_t r0, Py_ssize_t r1, int t, ocsea_hits* hits)

#: The CPU level, asked once here at import (the header's ocsea_cpu_level): 2 AVX-512 VPOPCNTDQ,
#: 1 popcnt, 0 portable. The Hamming kernels and range_search_256 all run at this level.
SCAN256_LEVEL = ocsea_cpu_level()

cdef enum:
    PDQ_MIN_DIM = 5  # the smallest side the Jarosz windows work on
    ROW_BLOCK = 16  # rows filtered together by the row pass: ocsea_box_tile16's width
    ROWS_PER_THREAD_MIN = 65536  # range_search_256: fewer rows a thread cost more than they save


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



# The Arrow C data interface (arrow.apache.org/docs/format/CDataInterface.html): two plain C
# structs with a stable ABI, which Pillow (11.2 and later) exports a picture's pixels through.
cdef extern from *:
    """
    #include <stdint.h>
    struct ocsea_arrow_schema {
        const char* format; const char* name; const char* metadata; int64_t flags; int64_t n_children;
        struct ocsea_arrow_schema** children; struct ocsea_arrow_schema* dictionary;
        void (*release)(struct ocsea_arrow_schema*); void* private_data;
    };
    struct ocsea_arrow_array {
        int64_t length; int64_t null_count; int64_t offset; int64_t n_buffers; int64_t n_children;
        const void** buffers; struct ocsea_arrow_array** children; struct ocsea_arrow_array* dictionary;
        void (*release)(struct ocsea_arrow_array*); void* private_data;
    };
    """
    struct ocsea_arrow_schema:
        const char* format
        int64_t n_children
        ocsea_arrow_schema** children
        void* release
    struct ocsea_arrow_array:
        int64_t length
        int64_t null_count
        int64_t offset
        int64_t n_buffers
        int64_t n_children
        const void** buffers
        ocsea_arrow_array** children
        void* release

from cpython.pycapsule cimport PyCapsule_GetPointer


def arrow_pixels(object schema_capsule, object array_capsule):
    """``(address, channels, pixels)`` of the uint8 pixel buffer a picture exports through the
    Arrow C data interface (``PIL.Image.Image.__arrow_c_array__()``, whose two capsules the caller
    keeps alive as long as it reads the address): an ``L`` picture is a ``uint8`` array, one value
    a pixel (format ``C``); an ``RGB`` one a fixed-size list of 4 ``uint8`` a pixel (``+w:4``,
    Pillow's R, G, B, pad), rows one after the other. Any other layout: ``ValueError``.
    """
    cdef ocsea_arrow_schema* schema = <ocsea_arrow_schema*>PyCapsule_GetPointer(schema_capsule, "arrow_schema")
    cdef ocsea_arrow_array* array = <ocsea_arrow_array*>PyCapsule_GetPointer(array_capsule, "arrow_array")
    if schema.release == NULL or array.release == NULL:
        raise ValueError("the Arrow structures were already released")
    fmt = (<bytes>schema.format).decode("ascii", "replace")
    cdef ocsea_arrow_array* values = array
    cdef int channels = 1
    if fmt == "+w:4":
        if schema.n_children != 1 or (<bytes>schema.children[0].format) != b"C" or array.n_children != 1:
            raise ValueError("expected a fixed-size list of 4 uint8 a pixel")
        values = array.children[0]
        channels = 4
        if values.length != 4 * array.length or array.offset != 0:
            raise ValueError("the list's values do not hold 4 bytes a pixel")
    elif fmt != "C":
        raise ValueError(f"unexpected Arrow format {fmt!r}")
    if values.offset != 0 or values.null_count != 0 or values.n_buffers != 2 or values.buffers[1] == NULL:
        raise ValueError("the pixel buffer is not one plain uint8 buffer")
    if values.buffers[0] != NULL and array.null_count != 0:
        raise ValueError("pixels marked as missing")
    return <size_t>values.buffers[1], channels, int(array.length)


def luma_from_rgb(const uint8_t[:, :, :] rgb, bint bgr=False, out=None):
    """Float32 luma of an HxWxC (C >= 3) uint8 picture, channels in R, G, B order (B, G, R
    with ``bgr``, as OpenCV decodes).

    ``Y = 0.299 R + 0.587 G + 0.114 B`` evaluated in float64 and rounded to float32, which is
    what the pdqhash binding feeds the PDQ reference. Rows may be padded (a decoder's plane
    viewed in place: pixels packed, rows any distance apart). ``out``: an HxW float32 array to
    write into and return (a video reuses one: no page faults of a fresh array per frame).
    """
    if rgb.shape[2] < 3:
        raise ValueError("luma_from_rgb needs at least 3 channels")
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], c = rgb.shape[2], i
    if h > 0 and w > 0 and (rgb.strides[2] != 1 or rgb.strides[1] != c):
        raise ValueError("luma_from_rgb needs packed pixels (rows may be padded)")
    result = np.empty((h, w), dtype=np.float32) if out is None else out
    cdef float[:, ::1] o = result
    if o.shape[0] != h or o.shape[1] != w:
        raise ValueError("luma_from_rgb: out must be an HxW float32 array")
    if h == 0 or w == 0:
        return result
    with nogil:
        for i in range(h):
            ocsea_luma_row(&rgb[i, 0, 0], &o[i, 0], <size_t>w, <size_t>c, bgr)
    return result


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


def lanczos_gray(const uint8_t[:, ::1] gray, int width, int height):
    """Pillow's ``Image.fromarray(gray).resize((width, height), Image.Resampling.LANCZOS)`` of an
    HxW uint8 gray picture, bit for bit, as a new height x width uint8 array (Pillow 13's
    Resample.c: double coefficients, 22-bit fixed point, two passes in Pillow 13's order);
    what imagehash's pHash shrinks with.
    """
    cdef int in_h = <int>gray.shape[0], in_w = <int>gray.shape[1], rc
    if in_h < 1 or in_w < 1 or width < 1 or height < 1:
        raise ValueError("lanczos_gray needs a non-empty picture and a size of at least 1x1")
    out = np.empty((height, width), dtype=np.uint8)
    cdef uint8_t[:, ::1] o = out
    with nogil:
        rc = ocsea_lanczos_gray(&gray[0, 0], in_w, in_w, in_h, &o[0, 0], width, height)
    if rc != 0:
        raise MemoryError("lanczos_gray: out of memory")
    return out


# ---------------------------------------------------------------------------------------------
# PDQ: Jarosz filter and decimation
# ---------------------------------------------------------------------------------------------

cdef inline int _jarosz_window(int old_dim, int new_dim) noexcept nogil:
    return (old_dim + 2 * new_dim - 1) / (2 * new_dim)




cdef void _box_rows(const float* inp, float* out, float* tile, float* tile2,
                    int nrows, int ncols, int window, const int* samples, int nsamples) noexcept nogil:
    """box1DFloat along every row, ROW_BLOCK rows at a time: the block is transposed into
    ``tile`` (ncols x ROW_BLOCK), filtered down its columns (one running sum per picture row,
    the reference's sequence of operations for each) into ``tile2`` and transposed back into
    ``out`` (nrows x ncols, or nrows x nsamples: only the columns ``samples``). ``tile`` holds
    ncols * ROW_BLOCK floats, ``tile2`` max(ncols, 64) * ROW_BLOCK. A last block of fewer rows
    runs with zeros in the unused lanes (each lane is independent) and keeps only its rows."""
    cdef int block, i0, rows, width = ncols if samples == NULL else nsamples
    for block in range((nrows + ROW_BLOCK - 1) // ROW_BLOCK):
        i0 = block * ROW_BLOCK
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


cdef inline void _product(const float* a, const float* b, float* c, int m, int inner, int n) noexcept nogil:
    """C = A B (m x inner times inner x n, row-major float32), each output a sum over k ascending
    from 0.0f. k runs outermost and the output columns innermost (independent sums, vectorised)."""
    cdef float d
    cdef int i, j, k
    for i in range(m):
        for j in range(n):
            c[i * n + j] = 0.0
        for k in range(inner):
            d = a[i * inner + k]
            for j in range(n):
                c[i * n + j] = c[i * n + j] + d * b[k * n + j]


cdef void _dct64_to_16(float a[64][64], float b[16][16]) noexcept nogil:
    """B = D A D^T with D the 16x64 DCT matrix, in float32, as the reference computes it: each
    output is a sum over k ascending starting from 0.0f, the reference's terms in its order."""
    cdef float t[16][64]
    _product(&_DCT16x64[0][0], &a[0][0], &t[0][0], 16, 64, 64)
    _product(&t[0][0], &_DCT64x16[0][0], &b[0][0], 16, 64, 16)


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
# Geometry of the luma: uniform bars along the edges (picture.content_box)
# ---------------------------------------------------------------------------------------------

cdef float _select(float* a, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """The k-th smallest of a[0..n) (Wirth's selection; a is reordered: a[0..k) <= a[k])."""
    cdef Py_ssize_t lo = 0, hi = n - 1, i, j
    cdef float pivot, tmp
    while lo < hi:
        pivot = a[lo + (hi - lo) // 2]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while pivot < a[j]:
                j -= 1
            if i <= j:
                tmp = a[i]
                a[i] = a[j]
                a[j] = tmp
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


cdef float _median(float* a, Py_ssize_t n) noexcept nogil:
    """``np.median`` of n >= 1 float32 values: the middle one, or the float32 mean of the two
    middle ones (NumPy adds them in float32 and halves); NaN when any value is NaN."""
    cdef Py_ssize_t i, k = n // 2
    cdef float upper, lower
    for i in range(n):
        if a[i] != a[i]:
            return a[i]
    upper = _select(a, n, k)
    if n % 2:
        return upper
    lower = a[0]
    for i in range(1, k):
        if a[i] > lower:
            lower = a[i]
    return (lower + upper) / 2.0


cdef Py_ssize_t _bar_run(const char* base, Py_ssize_t line_step, Py_ssize_t along, Py_ssize_t count,
                         Py_ssize_t n, double tolerance, float* work) noexcept nogil:
    """How many lines, from the first on (each ``line_step`` bytes after the last; a line is
    ``count`` floats ``along`` bytes apart), stay within ``tolerance`` of the first line's
    median, at most ``n``: ``content_box``'s ``run``, in float32 as NumPy evaluates it."""
    cdef Py_ssize_t i, j
    cdef const char* line
    cdef float colour, d
    for j in range(count):
        work[j] = (<const float*>(base + j * along))[0]
    colour = _median(work, count)
    for i in range(n):
        line = base + i * line_step
        for j in range(count):
            d = (<const float*>(line + j * along))[0] - colour
            if d < 0:
                d = -d
            if not (<double>d <= tolerance):  # NaN stops the run, as np.max propagates it
                return i
    return n


def content_box(const float[:, :] luma, double tolerance=12.0, double min_trim=0.02, double min_keep=0.4):
    """``(top, bottom, left, right)`` inside uniform bars along the edges of a float32 luma, or
    ``None``: ``picture.content_box``'s rule (the reference for the arguments), computed here."""
    cdef Py_ssize_t h = luma.shape[0], w = luma.shape[1]
    if h < 16 or w < 16:
        return None
    cdef Py_ssize_t step_r = max(1, w // 256), step_c = max(1, h // 256)
    cdef Py_ssize_t rs = luma.strides[0], cs = luma.strides[1]
    cdef Py_ssize_t top, bottom, left = 0, right = 0, inner
    cdef const char* base = <const char*>&luma[0, 0]
    cdef float* work = <float*>malloc(sizeof(float) * (h if h > w else w))
    if work == NULL:
        raise MemoryError()
    with nogil:
        top = _bar_run(base, rs, step_r * cs, (w + step_r - 1) // step_r, h, tolerance, work)
        bottom = 0
        if top < h:
            bottom = _bar_run(base + (h - 1) * rs, -rs, step_r * cs, (w + step_r - 1) // step_r, h - top,
                              tolerance, work)
            if top + bottom < h:
                inner = (h - bottom - top + step_c - 1) // step_c
                left = _bar_run(base + top * rs, cs, step_c * rs, inner, w, tolerance, work)
                right = _bar_run(base + top * rs + (w - 1) * cs, -cs, step_c * rs, inner, w - left, tolerance, work)
    free(work)
    if top == h or top + bottom >= h:
        return None  # one colour throughout, or two flat bands and nothing between them
    if (top + bottom) < min_trim * h and (left + right) < min_trim * w:
        return None
    if h - top - bottom < min_keep * h or w - left - right < min_keep * w:
        return None
    return int(top), int(h - bottom), int(left), int(w - right)


# ---------------------------------------------------------------------------------------------
# wHash: Haar wavelet decomposition and reconstruction with PyWavelets' arithmetic
# ---------------------------------------------------------------------------------------------



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
    cdef int best = ocsea_cpu_level()
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
