# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Native kernels of TMK+PDQF (Meta's video hash, ThreatExchange ``tmk/``): plain typed loops over
NumPy buffers, the GIL released. ``tmk.py`` checks shapes and owns everything else.

- ``pdqf_into``: the PDQF frame feature, PDQ's float pipeline stopped before quantisation: the
  luma of a 64x64 RGB frame (float32 arithmetic, Y = 0.299 R + 0.587 G + 0.114 B, as TMK's
  ``fillFloatLumaFromRGB``) taken as PDQ's 64x64 buffer unfiltered (the reference copies a
  64x64 input as it is) and its 16x16 DCT (PDQ's float32 16x64 matrix, sums in the reference's
  order). 256 floats, no median, no bits.
- ``pdqf_gray_rows``: the same DCT of a 64x64 gray frame (TMK's fast path: the luma plane scaled
  alone, see ``tmk.py``).
- ``fold``: TMK's streaming sums over frame t = t0, t0 + 1 ...: the plain sum of the features,
  and per period T and Fourier index j the sums of the L2-normalised feature times
  cos(2 pi j t / T) and sin(2 pi j t / T). Sums are float64 here (the reference keeps float32;
  the difference is in the 7th digit).
- ``level2``: the TMK pair score, the best circular offset per period of the kernel evaluated
  from the 4 x 32 dot products of cosine and sine features, divided by a0 + 2 sum(a_j).
"""

import numpy as np
from libc.math cimport cos, sin, sqrt, M_PI
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint8_t, int32_t, int64_t

cdef float _D[16][64]


cdef void _init_dct() noexcept:
    cdef int i, j
    cdef double scale = sqrt(2.0 / 64.0)
    for i in range(16):
        for j in range(64):
            _D[i][j] = <float>(scale * cos((M_PI / 2.0 / 64.0) * (i + 1) * (2 * j + 1)))


_init_dct()


cdef void _pdqf(const uint8_t* rgb, Py_ssize_t row_stride, float* out) noexcept nogil:
    cdef float a[64][64]
    cdef float cr = 0.299, cg = 0.587, cb = 0.114
    cdef int i, j
    cdef const uint8_t* p
    for i in range(64):
        p = rgb + i * row_stride
        for j in range(64):
            a[i][j] = cr * <float>p[3 * j] + cg * <float>p[3 * j + 1] + cb * <float>p[3 * j + 2]
    _pdqf_dct(a, out)


cdef void _pdqf_gray(const uint8_t* gray, Py_ssize_t row_stride, float* out) noexcept nogil:
    cdef float a[64][64]
    cdef int i, j
    for i in range(64):
        for j in range(64):
            a[i][j] = <float>gray[i * row_stride + j]
    _pdqf_dct(a, out)


cdef void _pdqf_dct(float a[64][64], float* out) noexcept nogil:
    cdef float t[16][64]
    cdef float s
    cdef int i, j, k
    for i in range(16):
        for j in range(64):
            s = 0.0
            for k in range(64):
                s = s + _D[i][k] * a[k][j]
            t[i][j] = s
    for i in range(16):
        for j in range(16):
            s = 0.0
            for k in range(64):
                s = s + t[i][k] * _D[j][k]
            out[i * 16 + j] = s


def pdqf_into(const uint8_t[:, :, ::1] rgb, float[::1] out):
    """Write the PDQF feature (256 float32) of a 64x64x3 RGB frame into ``out``."""
    if rgb.shape[0] != 64 or rgb.shape[1] != 64 or rgb.shape[2] != 3 or out.shape[0] != 256:
        raise ValueError("pdqf_into needs a 64x64x3 uint8 frame and 256 floats")
    with nogil:
        _pdqf(&rgb[0, 0, 0], 192, &out[0])


def pdqf_rows(const uint8_t[:, ::1] rgb_rows, float[::1] out):
    """Like ``pdqf_into``, for a frame given as 64 rows of at least 192 bytes (a padded plane)."""
    if rgb_rows.shape[0] != 64 or rgb_rows.shape[1] < 192 or out.shape[0] != 256:
        raise ValueError("pdqf_rows needs 64 rows of >= 192 bytes and 256 floats")
    with nogil:
        _pdqf(&rgb_rows[0, 0], rgb_rows.shape[1], &out[0])


def pdqf_gray_rows(const uint8_t[:, ::1] gray_rows, float[::1] out):
    """The PDQF feature of a 64x64 gray (luma) frame given as 64 rows of at least 64 bytes: the
    fast path's feature (``tmk.py``, ``fast=True``), luma scaled by itself."""
    if gray_rows.shape[0] != 64 or gray_rows.shape[1] < 64 or out.shape[0] != 256:
        raise ValueError("pdqf_gray_rows needs 64 rows of >= 64 bytes and 256 floats")
    with nogil:
        _pdqf_gray(&gray_rows[0, 0], gray_rows.shape[1], &out[0])


def fold(const float[:, ::1] feats, int64_t t0, const int32_t[::1] periods, double[::1] sums,
         double[:, :, ::1] cos_acc, double[:, :, ::1] sin_acc):
    """Add frames ``feats`` (n x d), numbered from ``t0``, to TMK's running sums (in place).

    ``sums``: d; ``cos_acc`` / ``sin_acc``: periods x coefficients x d.
    """
    cdef Py_ssize_t n = feats.shape[0], d = feats.shape[1]
    cdef Py_ssize_t np_ = periods.shape[0], m = cos_acc.shape[1]
    cdef Py_ssize_t f, i, j, k
    if sums.shape[0] != d or cos_acc.shape[0] != np_ or sin_acc.shape[0] != np_ or sin_acc.shape[1] != m \
            or cos_acc.shape[2] != d or sin_acc.shape[2] != d:
        raise ValueError("fold: inconsistent shapes")
    for i in range(np_):
        if periods[i] <= 0:
            raise ValueError("fold: periods must be positive")
    cdef double norm, c, s, arg, v
    cdef double* unit = <double*>malloc(sizeof(double) * (d if d > 0 else 1))
    cdef double* crow
    cdef double* srow
    if unit == NULL:
        raise MemoryError()
    with nogil:
        for f in range(n):
            norm = 0.0
            for k in range(d):
                v = feats[f, k]
                sums[k] += v
                norm += v * v
            norm = sqrt(norm)
            for k in range(d):
                unit[k] = feats[f, k] / norm if norm > 0.0 else feats[f, k]
            for i in range(np_):
                crow = &cos_acc[i, 0, 0]
                for k in range(d):
                    crow[k] += unit[k]
                for j in range(1, m):
                    arg = 2.0 * M_PI * <double>j * <double>((t0 + f) % periods[i]) / <double>periods[i]
                    c = cos(arg)
                    s = sin(arg)
                    crow = &cos_acc[i, j, 0]
                    srow = &sin_acc[i, j, 0]
                    for k in range(d):
                        crow[k] += unit[k] * c
                        srow[k] += unit[k] * s
    free(unit)


cdef double _level2(const float* ca, const float* sa, const float* cb, const float* sb,
                    const int32_t* periods, int np_, int m, int d, double normalizer,
                    double* cc, double* ss, double* sc, double* cs) noexcept nogil:
    cdef int i, j, k, offset, period
    cdef Py_ssize_t base
    cdef double best = -1e300, kd, delta, alpha, beta, cj, sj, ncj, nsj, x
    for i in range(np_):
        for j in range(m):
            base = (<Py_ssize_t>i * m + j) * d
            cc[j] = 0.0
            ss[j] = 0.0
            sc[j] = 0.0
            cs[j] = 0.0
            for k in range(d):
                cc[j] += <double>ca[base + k] * cb[base + k]
                ss[j] += <double>sa[base + k] * sb[base + k]
                sc[j] += <double>sa[base + k] * cb[base + k]
                cs[j] += <double>ca[base + k] * sb[base + k]
        period = periods[i]
        for offset in range(period):
            delta = 2.0 * M_PI * offset / period
            kd = cc[0]
            # cos(j delta), sin(j delta) by the addition formulae (the reference's recurrence)
            beta = sin(delta)
            alpha = sin(delta / 2.0)
            alpha = 2.0 * alpha * alpha
            cj = 1.0
            sj = 0.0
            for j in range(1, m):
                ncj = alpha * cj + beta * sj
                nsj = alpha * sj - beta * cj
                cj -= ncj
                sj -= nsj
                kd += cj * (cc[j] + ss[j]) + sj * (sc[j] - cs[j])
            if kd > best:
                best = kd
    x = best / normalizer
    return x


def level2(const float[:, :, ::1] cos_a, const float[:, :, ::1] sin_a, const float[:, :, ::1] cos_b,
           const float[:, :, ::1] sin_b, const int32_t[::1] periods, const float[::1] coefficients):
    """TMK's level-2 score of two videos' cosine and sine features (periods x coefficients x d)."""
    return float(level2_many(cos_a, sin_a, np.asarray(cos_b)[None], np.asarray(sin_b)[None],
                             np.zeros(1, np.int64), periods, coefficients)[0])


def level2_many(const float[:, :, ::1] cos_q, const float[:, :, ::1] sin_q, const float[:, :, :, ::1] cos_l,
                const float[:, :, :, ::1] sin_l, const int64_t[::1] rows, const int32_t[::1] periods,
                const float[::1] coefficients):
    """Level-2 scores of one query against listed rows ``rows`` of the stacks ``cos_l``/``sin_l``."""
    cdef int np_ = cos_q.shape[0], m = cos_q.shape[1], d = cos_q.shape[2]
    cdef Py_ssize_t n = rows.shape[0], r, row
    cdef int j
    if sin_q.shape[0] != np_ or sin_q.shape[1] != m or sin_q.shape[2] != d or periods.shape[0] != np_ \
            or coefficients.shape[0] != m or m < 1:
        raise ValueError("level2: inconsistent query shapes")
    if cos_l.shape[1] != np_ or cos_l.shape[2] != m or cos_l.shape[3] != d or sin_l.shape[0] != cos_l.shape[0] \
            or sin_l.shape[1] != np_ or sin_l.shape[2] != m or sin_l.shape[3] != d:
        raise ValueError("level2: listed features do not fit the query's")
    for r in range(n):
        if rows[r] < 0 or rows[r] >= cos_l.shape[0]:
            raise IndexError("level2: row out of range")
    for r in range(np_):
        if periods[r] <= 0:
            raise ValueError("level2: periods must be positive")
    cdef double normalizer = coefficients[0]
    for j in range(1, m):
        normalizer += 2.0 * coefficients[j]
    if not normalizer > 0.0:
        raise ValueError("level2: the Fourier coefficients must sum to a positive value")
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef double* work = <double*>malloc(sizeof(double) * 4 * m)
    if work == NULL:
        raise MemoryError()
    with nogil:
        for r in range(n):
            row = rows[r]
            o[r] = _level2(&cos_q[0, 0, 0], &sin_q[0, 0, 0], &cos_l[row, 0, 0, 0], &sin_l[row, 0, 0, 0],
                           &periods[0], np_, m, d, normalizer, work, work + m, work + 2 * m, work + 3 * m)
    free(work)
    return out
