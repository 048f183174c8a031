/* The C kernels of ocsea_match._core (included by _core.pyx through `cdef extern from`).

   Plain C over raw buffers: no Python object is touched, so every function runs with the GIL
   released. Bit-exactness matters here (PDQ must reproduce the reference's float32 rounding): the
   build passes -ffp-contract=off, and no kernel reorders a float operation.

   CPU features are chosen in ONE place, ocsea_cpu_level() below, evaluated once when _core is
   imported (`_core.SCAN256_LEVEL`): 2 AVX-512 VPOPCNTDQ, 1 popcnt, 0 portable. The Hamming
   distance and the PDQ range scan both dispatch on it. The only other mechanism is the
   compiler's own: GCC's target_clones (resolved by the loader through glibc's ifunc) gives the
   luma and Jarosz loops an AVX2 copy beside the default one; it selects code, not arithmetic
   (the same IEEE operations, more lanes). */
#ifndef OCSEA_CORE_SIMD_H
#define OCSEA_CORE_SIMD_H

#include "_ocsea_base.h" /* includes, popcount, the CPU level, search hits */
#include <math.h>

/* 1/sqrt(2), pywt's Haar filter tap (whash). A literal, not a variable: the Haar loops store
   through double pointers, and a variable would have to be re-read after every store (measured:
   whash_low 3x slower, its loops no longer vectorised). */
#define OCSEA_HAAR 0.7071067811865476

/* ------------------------------------------------------------------------------------------ */
/* Hamming distance of two byte strings                                                       */
/* ------------------------------------------------------------------------------------------ */

/* 8 bytes at a time: the popcnt instruction where the CPU has it (~6x faster), the compiler's
   portable popcount elsewhere, so one build runs on every x86-64. */
#define OCSEA_HAMMING_BODY(POP)                                              \
    Py_ssize_t k, words = nbytes / 8; int d = 0;                             \
    unsigned long long x, y;                                                 \
    for (k = 0; k < words; k++) {                                            \
        memcpy(&x, a + 8 * k, 8); memcpy(&y, b + 8 * k, 8); d += POP(x ^ y); \
    }                                                                        \
    for (k = words * 8; k < nbytes; k++) d += POP((unsigned long long)(a[k] ^ b[k])); \
    return d;

static int ocsea_hamming_plain(const unsigned char* a, const unsigned char* b, Py_ssize_t nbytes) {
    OCSEA_HAMMING_BODY(OCSEA_POPCOUNT64)
}

#if OCSEA_X86_GNUC
__attribute__((target("popcnt")))
static int ocsea_hamming_popcnt(const unsigned char* a, const unsigned char* b, Py_ssize_t nbytes) {
    OCSEA_HAMMING_BODY(__builtin_popcountll)
}
#else
#define ocsea_hamming_popcnt ocsea_hamming_plain
#endif

static inline int ocsea_hamming(const unsigned char* a, const unsigned char* b, Py_ssize_t nbytes) {
    return ocsea_cpu_level_cache >= OCSEA_CPU_POPCNT ? ocsea_hamming_popcnt(a, b, nbytes)
                                                     : ocsea_hamming_plain(a, b, nbytes);
}

/* ------------------------------------------------------------------------------------------ */
/* Luma                                                                                       */
/* ------------------------------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------------------------------ */
/* PDQ: the Jarosz filter's loops                                                             */
/* ------------------------------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------------------------------ */
/* Exact range search over 256-bit rows kept in two halves (PDQ)                              */
/* ------------------------------------------------------------------------------------------ */

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

static int ocsea_scan256_plain(OCSEA_SCAN256_ARGS) { OCSEA_SCAN256_SCALAR(OCSEA_POPCOUNT64) }

#if OCSEA_X86_GNUC
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

#else
#define ocsea_scan256_popcnt ocsea_scan256_plain
#endif

/* The scan at `level`, at most ocsea_cpu_level() (tests force the lower ones). */
static int ocsea_scan256(int level, OCSEA_SCAN256_ARGS) {
#if OCSEA_X86_GNUC
    if (level >= OCSEA_CPU_AVX512) return ocsea_scan256_avx512(qs, nq, head, tail, r0, r1, t, hits);
#endif
    if (level >= OCSEA_CPU_POPCNT) return ocsea_scan256_popcnt(qs, nq, head, tail, r0, r1, t, hits);
    return ocsea_scan256_plain(qs, nq, head, tail, r0, r1, t, hits);
}

/* ------------------------------------------------------------------------------------------
   Pillow's LANCZOS resize of an 8-bit gray picture, bit for bit (what imagehash's pHash, dHash,
   aHash and wHash shrink with). Pillow's src/libImaging/Resample.c: coefficients in double from
   the truncated sinc (support 3, widened by the scale when shrinking), normalised to sum 1, then
   to fixed point with 22 fraction bits; a horizontal pass over the rows the vertical pass reads,
   then the vertical pass; each output is 2^21 + sum(pixel * coefficient) in int, shifted and
   clipped to 0..255. Integer sums are exact, so the vectorised loops give Pillow's bytes;
   the doubles are computed with the same operations in the same order as there.
   ------------------------------------------------------------------------------------------ */

#define OCSEA_RESAMPLE_BITS (32 - 8 - 2)

static double ocsea_sinc(double x) {
    if (x == 0.0) return 1.0;
    x = x * 3.14159265358979323846; /* M_PI */
    return sin(x) / x;
}

static double ocsea_lanczos(double x) {
    if (-3.0 <= x && x < 3.0) return ocsea_sinc(x) * ocsea_sinc(x / 3);
    return 0.0;
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box (0, in_size): ksize, or 0 when
   out of memory. *bounds: (xmin, count) per output; *kk: ksize int32 coefficients per output. */
static int ocsea_lanczos_coeffs(int in_size, int out_size, int** boundsp, int32_t** kkp) {
    float in0 = 0.0f, in1 = (float)in_size;
    double scale, filterscale, support;
    filterscale = scale = (double)(in1 - in0) / out_size;
    if (filterscale < 1.0) filterscale = 1.0;
    support = 3.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double* k = (double*)malloc((size_t)ksize * sizeof(double));
    int32_t* kk = (int32_t*)malloc((size_t)out_size * ksize * sizeof(int32_t));
    int* bounds = (int*)malloc((size_t)out_size * 2 * sizeof(int));
    if (!k || !kk || !bounds) {
        free(k); free(kk); free(bounds);
        return 0;
    }
    double inv_filterscale = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        int x;
        for (x = 0; x < xmax; x++) {
            double w = ocsea_lanczos((x + xmin - center + 0.5) * inv_filterscale);
            k[x] = w;
            ww += w;
        }
        if (ww != 0.0) {
            for (x = 0; x < xmax; x++) k[x] /= ww;
        }
        for (; x < ksize; x++) k[x] = 0;
        for (x = 0; x < ksize; x++) {
            kk[xx * ksize + x] = k[x] < 0 ? (int)(-0.5 + k[x] * (1 << OCSEA_RESAMPLE_BITS))
                                          : (int)(0.5 + k[x] * (1 << OCSEA_RESAMPLE_BITS));
        }
        bounds[xx * 2 + 0] = xmin;
        bounds[xx * 2 + 1] = xmax;
    }
    free(k);
    *boundsp = bounds;
    *kkp = kk;
    return ksize;
}

static inline uint8_t ocsea_clip8(int32_t v) {
    v >>= OCSEA_RESAMPLE_BITS; /* arithmetic shift, as Pillow's (in >> PRECISION_BITS) */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

OCSEA_CLONES static void ocsea_resample_rows(const uint8_t* src, Py_ssize_t stride, int nrows, int first,
                                             uint8_t* out, int out_w, int ksize, const int* bounds,
                                             const int32_t* kk) {
    for (int y = 0; y < nrows; y++) {
        const uint8_t* line = src + (Py_ssize_t)(y + first) * stride;
        uint8_t* o = out + (Py_ssize_t)y * out_w;
        for (int xx = 0; xx < out_w; xx++) {
            const uint8_t* in = line + bounds[xx * 2];
            const int32_t* k = kk + (Py_ssize_t)xx * ksize;
            int n = bounds[xx * 2 + 1];
            uint32_t ss = 1u << (OCSEA_RESAMPLE_BITS - 1); /* unsigned: wraps as Pillow's int does */
            for (int x = 0; x < n; x++) ss += (uint32_t)in[x] * (uint32_t)k[x];
            o[xx] = ocsea_clip8((int32_t)ss);
        }
    }
}

OCSEA_CLONES static void ocsea_resample_cols(const uint8_t* src, Py_ssize_t stride, int in_w, uint8_t* out,
                                             int out_h, int ksize, const int* bounds, const int32_t* kk,
                                             uint32_t* acc) {
    for (int yy = 0; yy < out_h; yy++) {
        const int32_t* k = kk + (Py_ssize_t)yy * ksize;
        int ymin = bounds[yy * 2], n = bounds[yy * 2 + 1];
        for (int x = 0; x < in_w; x++) acc[x] = 1u << (OCSEA_RESAMPLE_BITS - 1);
        for (int y = 0; y < n; y++) {
            const uint8_t* line = src + (Py_ssize_t)(y + ymin) * stride;
            uint32_t ky = (uint32_t)k[y];
            for (int x = 0; x < in_w; x++) acc[x] += (uint32_t)line[x] * ky;
        }
        for (int x = 0; x < in_w; x++) out[(Py_ssize_t)yy * in_w + x] = ocsea_clip8((int32_t)acc[x]);
    }
}

/* out (out_h x out_w) = Pillow's im.resize((out_w, out_h), LANCZOS) of the gray picture src
   (in_h rows of in_w bytes, `stride` apart). Pillow 13 (python-pillow/Pillow#9549) runs the
   vertical pass first when the height shrinks by more than twice as many pixels as the width
   ((in_h - out_h) > 2 (in_w - out_w)), else the horizontal pass first, over only the rows the
   vertical pass reads; each pass rounds to bytes, so the order is part of the result.
   0, or -1 when out of memory. */
static int ocsea_lanczos_gray(const uint8_t* src, Py_ssize_t stride, int in_w, int in_h, uint8_t* out,
                              int out_w, int out_h) {
    int need_h = out_w != in_w, need_v = out_h != in_h;
    int vertical_first = out_h < in_h && (in_h - out_h) > 2 * (in_w - out_w);
    int *bv = NULL, *bh = NULL;
    int32_t *kv = NULL, *kh = NULL;
    uint8_t* tmp = NULL;
    uint32_t* acc = NULL;
    int rc = -1, ksv = 0, ksh = 0;
    if (need_v && !(ksv = ocsea_lanczos_coeffs(in_h, out_h, &bv, &kv))) goto done;
    if (need_h && !(ksh = ocsea_lanczos_coeffs(in_w, out_w, &bh, &kh))) goto done;
    if (!need_h && !need_v) {
        for (int y = 0; y < out_h; y++) memcpy(out + (Py_ssize_t)y * out_w, src + (Py_ssize_t)y * stride, out_w);
    } else if (!need_h) {
        if (!(acc = (uint32_t*)malloc((size_t)in_w * sizeof(uint32_t) + 4))) goto done;
        ocsea_resample_cols(src, stride, in_w, out, out_h, ksv, bv, kv, acc);
    } else if (!need_v) {
        ocsea_resample_rows(src, stride, in_h, 0, out, out_w, ksh, bh, kh);
    } else if (vertical_first) {
        if (!(tmp = (uint8_t*)malloc((size_t)out_h * in_w + 1))) goto done;
        if (!(acc = (uint32_t*)malloc((size_t)in_w * sizeof(uint32_t) + 4))) goto done;
        ocsea_resample_cols(src, stride, in_w, tmp, out_h, ksv, bv, kv, acc);
        ocsea_resample_rows(tmp, in_w, out_h, 0, out, out_w, ksh, bh, kh);
    } else {
        int first = bv[0], last = bv[out_h * 2 - 2] + bv[out_h * 2 - 1];
        for (int i = 0; i < out_h; i++) bv[i * 2] -= first;
        if (!(tmp = (uint8_t*)malloc((size_t)(last - first) * out_w + 1))) goto done;
        if (!(acc = (uint32_t*)malloc((size_t)out_w * sizeof(uint32_t) + 4))) goto done;
        ocsea_resample_rows(src, stride, last - first, first, tmp, out_w, ksh, bh, kh);
        ocsea_resample_cols(tmp, out_w, out_w, out, out_h, ksv, bv, kv, acc);
    }
    rc = 0;
done:
    free(bv); free(kv); free(bh); free(kh); free(tmp); free(acc);
    return rc;
}

#endif /* OCSEA_CORE_SIMD_H */
