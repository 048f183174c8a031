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
memory order of the column pass differs (all columns advance together, row by row), which does
not change any sum.
"""

import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport cos, sqrt, M_PI
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint8_t, uint64_t, int32_t

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


cdef void _init_dct() noexcept:
    cdef float scale = <float>sqrt(2.0 / 64.0)
    cdef int i, j
    for i in range(16):
        for j in range(64):
            _DCT16x64[i][j] = <float>(scale * cos((M_PI / 2.0 / 64.0) * (i + 1) * (2 * j + 1)))


_init_dct()


# ---------------------------------------------------------------------------------------------
# Luma
# ---------------------------------------------------------------------------------------------

def luma_from_rgb(const uint8_t[:, :, ::1] rgb, bint bgr=False):
    """Float32 luma of an HxWxC (C >= 3) uint8 picture, channels in R, G, B order (B, G, R
    with ``bgr``, as OpenCV decodes).

    ``Y = 0.299 R + 0.587 G + 0.114 B`` evaluated in float64 and rounded to float32, which is
    what the pdqhash binding feeds the PDQ reference.
    """
    if rgb.shape[2] < 3:
        raise ValueError("luma_from_rgb needs at least 3 channels")
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i, j
    cdef int r = 2 if bgr else 0, b = 0 if bgr else 2
    out = np.empty((h, w), dtype=np.float32)
    cdef float[:, ::1] o = out
    with nogil:
        for i in range(h):
            for j in range(w):
                o[i, j] = <float>(rgb[i, j, r] * 0.299 + rgb[i, j, 1] * 0.587 + rgb[i, j, b] * 0.114)
    return out


def luma_from_gray(const uint8_t[:, ::1] gray):
    """Float32 luma of a grayscale picture, equal to ``luma_from_rgb`` of its RGB conversion."""
    cdef Py_ssize_t h = gray.shape[0], w = gray.shape[1], i, j
    cdef double v
    out = np.empty((h, w), dtype=np.float32)
    cdef float[:, ::1] o = out
    with nogil:
        for i in range(h):
            for j in range(w):
                v = gray[i, j]
                o[i, j] = <float>(v * 0.299 + v * 0.587 + v * 0.114)
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


cdef void _box_row(const float* inp, float* out, int n, int window) noexcept nogil:
    """One running-sum box filter along a contiguous vector (the reference's box1DFloat)."""
    cdef int half = (window + 2) / 2
    cdef int p1 = half - 1
    cdef int p2 = window - half + 1
    cdef int p3 = n - window
    cdef int p4 = half - 1
    cdef int li = 0, ri = 0, oi = 0, k
    cdef int cur = 0
    cdef float s = 0.0
    for k in range(p1):
        s += inp[ri]
        cur += 1
        ri += 1
    for k in range(p2):
        s += inp[ri]
        cur += 1
        out[oi] = s / cur
        ri += 1
        oi += 1
    for k in range(p3):
        s += inp[ri]
        s -= inp[li]
        out[oi] = s / cur
        li += 1
        ri += 1
        oi += 1
    for k in range(p4):
        s -= inp[li]
        cur -= 1
        out[oi] = s / cur
        li += 1
        oi += 1


cdef void _box_cols(const float* inp, float* out, float* sums, int nrows, int ncols,
                    int window) noexcept nogil:
    """The reference's column box filter, all columns advancing together, row by row.

    Each column sees exactly the adds, subtracts and divides of the reference's box1DFloat, in
    the same order, so every value is bit-identical; only the memory walk is cache-friendly.
    ``inp`` and ``out`` are nrows x ncols, row-major; ``sums`` has ncols floats.
    """
    cdef int half = (window + 2) / 2
    cdef int p1 = half - 1
    cdef int p2 = window - half + 1
    cdef int p3 = nrows - window
    cdef int p4 = half - 1
    cdef int li = 0, ri = 0, oi = 0, k, j, cur = 0
    cdef const float* a
    cdef const float* b
    cdef float* o
    for j in range(ncols):
        sums[j] = 0.0
    for k in range(p1):
        a = inp + <Py_ssize_t>ri * ncols
        for j in range(ncols):
            sums[j] += a[j]
        cur += 1
        ri += 1
    for k in range(p2):
        a = inp + <Py_ssize_t>ri * ncols
        o = out + <Py_ssize_t>oi * ncols
        for j in range(ncols):
            sums[j] += a[j]
        cur += 1
        for j in range(ncols):
            o[j] = sums[j] / cur
        ri += 1
        oi += 1
    for k in range(p3):
        a = inp + <Py_ssize_t>ri * ncols
        b = inp + <Py_ssize_t>li * ncols
        o = out + <Py_ssize_t>oi * ncols
        for j in range(ncols):
            sums[j] += a[j]
            sums[j] -= b[j]
            o[j] = sums[j] / cur
        li += 1
        ri += 1
        oi += 1
    for k in range(p4):
        b = inp + <Py_ssize_t>li * ncols
        o = out + <Py_ssize_t>oi * ncols
        for j in range(ncols):
            sums[j] -= b[j]
        cur -= 1
        for j in range(ncols):
            o[j] = sums[j] / cur
        li += 1
        oi += 1


cdef inline int _decimate_index(int outi, int in_dim, int out_dim) noexcept nogil:
    return <int>(((outi + 0.5) * in_dim) / out_dim)


cdef int _pdq_downsample(float* buf1, float* buf2, int nrows, int ncols,
                         float out64[64][64], bint copy_64x64) noexcept nogil:
    """Two Jarosz passes over ``buf1`` (clobbered) and decimation to 64x64; 0 or -1 (no memory).

    ``copy_64x64``: a picture of exactly 64x64 is taken as it is, unfiltered (the reference's
    single-hash path does this; its dihedral path filters every picture, and so must we there:
    a window-1 running sum is not an exact identity in float32).

    The second pass only stores what the decimation keeps: its row pass runs the full running
    sums but keeps the 64 sampled columns, and its column pass runs over those 64 columns only.
    """
    cdef int wr = _jarosz_window(ncols, 64)
    cdef int wc = _jarosz_window(nrows, 64)
    cdef int i, j
    cdef int cols64[64]
    cdef int rows64[64]
    cdef float* tmp_row
    cdef float* narrow
    cdef float* narrow2
    cdef float* sums
    if copy_64x64 and nrows == 64 and ncols == 64:
        for i in range(64):
            for j in range(64):
                out64[i][j] = buf1[i * 64 + j]
        return 0
    for i in range(64):
        cols64[i] = _decimate_index(i, ncols, 64)
        rows64[i] = _decimate_index(i, nrows, 64)
    sums = <float*>malloc(sizeof(float) * (ncols if ncols > 64 else 64))
    tmp_row = <float*>malloc(sizeof(float) * ncols)
    narrow = <float*>malloc(sizeof(float) * <Py_ssize_t>nrows * 64)
    narrow2 = <float*>malloc(sizeof(float) * <Py_ssize_t>nrows * 64)
    if sums == NULL or tmp_row == NULL or narrow == NULL or narrow2 == NULL:
        free(sums)
        free(tmp_row)
        free(narrow)
        free(narrow2)
        return -1
    # pass 1: rows (buf1 -> buf2), columns (buf2 -> buf1)
    for i in range(nrows):
        _box_row(buf1 + <Py_ssize_t>i * ncols, buf2 + <Py_ssize_t>i * ncols, ncols, wr)
    _box_cols(buf2, buf1, sums, nrows, ncols, wc)
    # pass 2: rows, keeping the 64 sampled columns; columns over those, keeping 64 sampled rows
    for i in range(nrows):
        _box_row(buf1 + <Py_ssize_t>i * ncols, tmp_row, ncols, wr)
        for j in range(64):
            narrow[<Py_ssize_t>i * 64 + j] = tmp_row[cols64[j]]
    _box_cols(narrow, narrow2, sums, nrows, 64, wc)
    for i in range(64):
        for j in range(64):
            out64[i][j] = narrow2[<Py_ssize_t>rows64[i] * 64 + j]
    free(sums)
    free(tmp_row)
    free(narrow)
    free(narrow2)
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
    cdef float t[16][64]
    cdef float s
    cdef int i, j, k
    for i in range(16):
        for j in range(64):
            s = 0.0
            for k in range(64):
                s += _DCT16x64[i][k] * a[k][j]
            t[i][j] = s
    for i in range(16):
        for j in range(16):
            s = 0.0
            for k in range(64):
                s += t[i][k] * _DCT16x64[j][k]
            b[i][j] = s


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


def pdq_from_luma(float[:, ::1] luma, bint dihedral=False, bint inplace=False):
    """PDQ of a float32 luma picture: ``(hashes, quality)``.

    ``hashes`` is a uint8 array of shape (1, 32), or (8, 32) with ``dihedral`` (pdqhash's order:
    original, rot90, rot180, rot270, flipX, flipY, flipPlus1, flipMinus1); each row is the hash's
    bytes in hex order. Pictures with a side under 5 pixels get the reference's answer: all-zero
    hashes and quality 0. ``inplace`` lets the filter overwrite ``luma`` (saves one copy).
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
    work = luma if inplace else np.array(luma, dtype=np.float32, order="C", copy=True)
    scratch = np.empty((nrows, ncols), dtype=np.float32)
    cdef float[:, ::1] w = work
    cdef float[:, ::1] s = scratch
    with nogil:
        rc = _pdq_downsample(&w[0, 0], &s[0, 0], nrows, ncols, a64, not dihedral)
        if rc == 0:
            quality = _pdq_quality(a64)
            _dct64_to_16(a64, b16)
            for k in range(n):
                _dihedral(b16, aux, k)
                _bits_from_16x16(aux, &o[k, 0])
    if rc != 0:
        raise MemoryError("pdq: out of memory")
    return out, quality


def pdq_downsample(float[:, ::1] luma, bint copy_64x64=True):
    """The 64x64 float32 picture PDQ hashes (two Jarosz passes and decimation); for tests."""
    cdef int nrows = luma.shape[0], ncols = luma.shape[1], rc
    if nrows < PDQ_MIN_DIM or ncols < PDQ_MIN_DIM:
        raise ValueError("pdq_downsample needs at least 5x5 pixels")
    cdef float a64[64][64]
    work = np.array(luma, dtype=np.float32, order="C", copy=True)
    scratch = np.empty((nrows, ncols), dtype=np.float32)
    cdef float[:, ::1] w = work
    cdef float[:, ::1] s = scratch
    with nogil:
        rc = _pdq_downsample(&w[0, 0], &s[0, 0], nrows, ncols, a64, copy_64x64)
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
