# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Native byte scanner of a VICS file's ``value`` array (``formats/vics_compact.py`` is its Python side).

``compact_items`` copies the items of the array from one buffer to another and writes each item
that is a valid JSON object (RFC 8259: strings with valid escapes and no control byte, numbers of
at most 4,000 characters, no NaN or Infinity, nested at most ``limit`` levels) with only the pairs
whose key the exact reader reads (``vics.vics_item``: MediaID, Category, the hash fields, PhotoDNA,
AlternativeHashes, and Media, a case's; a key written with an escape is kept too), each key and
value as it was written, in their order, as ``{"key": value, "key": value}``. Anything else (an
item that is not valid, or that this checker does not take, such as ``NaN``; one cut by the
buffer's end) is copied as it is. A compacted item is valid JSON with the same values for the keys
the reader reads, so the reader gives the same entries and report lines from it. Plain typed C over
byte buffers, the GIL released.
"""

from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy, strlen

# keys whose values the exact reader reads: never replaced (as they are written, with quotes)
cdef const char* _KEPT[11]
_KEPT[0] = b'"MediaID"'
_KEPT[1] = b'"Category"'
_KEPT[2] = b'"MD5"'
_KEPT[3] = b'"SHA1"'
_KEPT[4] = b'"SHA256"'
_KEPT[5] = b'"SHA-1"'
_KEPT[6] = b'"SHA-256"'
_KEPT[7] = b'"PDQ"'
_KEPT[8] = b'"PhotoDNA"'
_KEPT[9] = b'"AlternativeHashes"'
_KEPT[10] = b'"Media"'
cdef Py_ssize_t _KEPT_LEN[11]
for _k in range(11):
    _KEPT_LEN[_k] = strlen(_KEPT[_k])

cdef uint8_t _STOP[256]  # 1: a byte that ends a string's plain run (a quote, a backslash, a control byte)
cdef uint8_t _MARK[256]  # 1: a byte the outer scan looks at (a quote, a bracket)
for _k in range(256):
    _STOP[_k] = _k < 32 or _k == 34 or _k == 92
    _MARK[_k] = _k == 34 or _k == 91 or _k == 93 or _k == 123 or _k == 125

cdef enum:
    INVALID = -1
    CUT = -2  # the buffer ended inside the value
    MAX_NUMBER = 4000  # longer numbers are left to json (which refuses integers of over 4,300 digits)


cdef inline Py_ssize_t _run(const uint8_t* b, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """The first byte at or after ``i`` that ends a string's plain run (``_STOP``), or ``n``: 8 bytes
    at a time while none of them can be one (a byte under 32, a quote, a backslash: SWAR tests
    that may say yes wrongly, never no), then one at a time."""
    cdef uint64_t x, q, s
    cdef uint64_t ones = 0x0101010101010101ULL
    while i + 8 <= n:
        memcpy(&x, b + i, 8)
        q = x ^ (ones * 34)
        s = x ^ (ones * 92)
        if ((x - ones * 32) | (q - ones) | (s - ones)) & ~x & ~q & ~s & (ones * 128):
            break
        i += 8
    while i < n and not _STOP[b[i]]:
        i += 1
    return i


cdef inline bint _ws(uint8_t c) noexcept nogil:
    return c == 32 or c == 9 or c == 10 or c == 13


cdef inline bint _hex(uint8_t c) noexcept nogil:
    return (48 <= c <= 57) or (65 <= c <= 70) or (97 <= c <= 102)


cdef inline bint _digit(uint8_t c) noexcept nogil:
    return 48 <= c <= 57


cdef Py_ssize_t _string(const uint8_t* b, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """The end (after the closing quote) of the valid JSON string at ``i`` (its opening quote)."""
    cdef uint8_t c
    cdef int k
    i += 1
    while i < n:
        i = _run(b, i, n)
        if i >= n:
            return CUT
        c = b[i]
        if c == 34:
            return i + 1
        if c < 32:
            return INVALID
        if c == 92:
            if i + 1 >= n:
                return CUT
            c = b[i + 1]
            if c == 117:  # \uXXXX
                if i + 6 > n:
                    return CUT
                for k in range(2, 6):
                    if not _hex(b[i + k]):
                        return INVALID
                i += 6
                continue
            if c != 34 and c != 92 and c != 47 and c != 98 and c != 102 and c != 110 and c != 114 and c != 116:
                return INVALID
            i += 2
            continue
        i += 1
    return CUT


cdef Py_ssize_t _number(const uint8_t* b, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """The end of the JSON number at ``i`` (known to end only at a byte that is not part of one)."""
    cdef Py_ssize_t start = i
    if i < n and b[i] == 45:
        i += 1
    if i >= n:
        return CUT
    if b[i] == 48:
        i += 1
    elif _digit(b[i]):
        while i < n and _digit(b[i]):
            i += 1
    else:
        return INVALID
    if i < n and b[i] == 46:
        i += 1
        if i >= n:
            return CUT
        if not _digit(b[i]):
            return INVALID
        while i < n and _digit(b[i]):
            i += 1
    if i < n and (b[i] == 101 or b[i] == 69):
        i += 1
        if i < n and (b[i] == 43 or b[i] == 45):
            i += 1
        if i >= n:
            return CUT
        if not _digit(b[i]):
            return INVALID
        while i < n and _digit(b[i]):
            i += 1
    if i >= n:
        return CUT
    if i - start > MAX_NUMBER:
        return INVALID
    return i


cdef Py_ssize_t _skip_ws(const uint8_t* b, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    while i < n and _ws(b[i]):
        i += 1
    return i


cdef Py_ssize_t _value(const uint8_t* b, Py_ssize_t i, Py_ssize_t n, int limit) noexcept nogil:
    """The end of the valid JSON value at ``i`` (arrays and objects nested at most ``limit`` levels);
    ``INVALID`` or ``CUT``."""
    cdef uint8_t stack[128]
    cdef int depth = 0
    cdef bint want_value = True
    cdef uint8_t c
    if limit > 128:
        limit = 128
    while True:
        i = _skip_ws(b, i, n)
        if i >= n:
            return CUT
        c = b[i]
        if want_value:
            if c == 123 or c == 91:  # { [
                if depth >= limit:
                    return INVALID
                stack[depth] = c
                depth += 1
                i = _skip_ws(b, i + 1, n)
                if i >= n:
                    return CUT
                if b[i] == c + 2:  # empty: } or ]
                    depth -= 1
                    i += 1
                    want_value = False
                    if depth == 0:
                        return i
                    continue
                if c == 123:
                    i = _key(b, i, n)
                    if i < 0:
                        return i
                continue
            if c == 34:
                i = _string(b, i, n)
            elif c == 45 or _digit(c):
                i = _number(b, i, n)
            elif c == 116 or c == 110:  # true, null
                if i + 4 > n:
                    return CUT
                if memcmp(b + i, b"true", 4) != 0 and memcmp(b + i, b"null", 4) != 0:
                    return INVALID
                i += 4
            elif c == 102:
                if i + 5 > n:
                    return CUT
                if memcmp(b + i, b"false", 5) != 0:
                    return INVALID
                i += 5
            else:
                return INVALID
            if i < 0 or depth == 0:
                return i
            want_value = False
            continue
        # after a value inside a container
        if c == 44:  # ,
            i = _skip_ws(b, i + 1, n)
            if stack[depth - 1] == 123:
                i = _key(b, i, n)
                if i < 0:
                    return i
            want_value = True
        elif c == stack[depth - 1] + 2:
            depth -= 1
            i += 1
            if depth == 0:
                return i
        else:
            return INVALID


cdef Py_ssize_t _key(const uint8_t* b, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """After a key and its colon (the key's quote at ``i``)."""
    if i >= n:
        return CUT
    if b[i] != 34:
        return INVALID
    i = _string(b, i, n)
    if i < 0:
        return i
    i = _skip_ws(b, i, n)
    if i >= n:
        return CUT
    if b[i] != 58:
        return INVALID
    return i + 1


cdef bint _kept(const uint8_t* key, Py_ssize_t length) noexcept nogil:
    cdef int k
    for k in range(11):
        if length == _KEPT_LEN[k] and memcmp(key, _KEPT[k], length) == 0:
            return True
    return False


cdef Py_ssize_t _plain_string_end(const uint8_t* b, Py_ssize_t i, Py_ssize_t n, bint* escaped) noexcept nogil:
    """After the string at ``i`` (its quote), escapes skipped unchecked; ``CUT`` at the buffer's end."""
    cdef uint8_t c
    i += 1
    while i < n:
        i = _run(b, i, n)
        if i >= n:
            return CUT
        c = b[i]
        if c == 34:
            return i + 1
        if c == 92:
            escaped[0] = True
            i += 2
            continue
        i += 1
    return CUT


cdef Py_ssize_t _item(const uint8_t* b, Py_ssize_t i, Py_ssize_t n, int limit, uint8_t* o,
                      Py_ssize_t* written) noexcept nogil:
    """The end of the valid JSON object at ``i`` (its brace, nested at most ``limit`` levels, itself
    included), or ``INVALID`` or ``CUT``; its kept pairs written to ``o`` (``written`` bytes) as
    ``{"key": value, "key": value}``, each key and value as it is written."""
    cdef Py_ssize_t w = 1, k0, k1, v0, v1
    cdef bint first = True
    o[0] = 123
    i = _skip_ws(b, i + 1, n)
    if i >= n:
        return CUT
    if b[i] != 125:
        while True:
            if i >= n:
                return CUT
            if b[i] != 34:
                return INVALID
            k0 = i
            k1 = _string(b, i, n)
            if k1 < 0:
                return k1
            i = _skip_ws(b, k1, n)
            if i >= n:
                return CUT
            if b[i] != 58:
                return INVALID
            v0 = _skip_ws(b, i + 1, n)
            v1 = _value(b, v0, n, limit - 1)
            if v1 < 0:
                return v1
            if _kept(b + k0, k1 - k0) or memchr(b + k0, 92, k1 - k0) != NULL:  # (an escaped key: kept)
                if not first:
                    o[w] = 44
                    o[w + 1] = 32
                    w += 2
                memcpy(o + w, b + k0, k1 - k0)
                w += k1 - k0
                o[w] = 58
                o[w + 1] = 32
                w += 2
                memcpy(o + w, b + v0, v1 - v0)
                w += v1 - v0
                first = False
            i = _skip_ws(b, v1, n)
            if i >= n:
                return CUT
            if b[i] == 125:
                break
            if b[i] != 44:
                return INVALID
            i = _skip_ws(b, i + 1, n)
    o[w] = 125
    written[0] = w + 1
    return i + 1


def compact_items(const uint8_t[::1] buf, uint8_t[::1] out, bint final, int limit):
    """Items of a VICS ``value`` array from the start of ``buf`` (just after the array's ``[`` or an
    item's end) copied to ``out`` (at least twice as long as ``buf``), each item that is a valid JSON
    object (nested at most ``limit`` levels, itself included) with only its kept pairs (module
    docstring), anything else as it is. Returns ``(consumed, produced, compacted, ended, ascii)``:
    bytes of ``buf`` taken (up to the end of the last whole item; all of them when ``final`` or once
    the array has ended), bytes written, items compacted in them, whether the array's ``]`` came,
    and whether every byte of ``buf`` is ASCII."""
    cdef const uint8_t* b = &buf[0] if buf.shape[0] else NULL
    cdef uint8_t* o = &out[0] if out.shape[0] else NULL
    cdef Py_ssize_t n = buf.shape[0], i = 0, mark = 0, produced = 0, safe_in = 0, safe_out = 0
    cdef Py_ssize_t end, w = 0, compacted = 0, safe_compacted = 0
    cdef int depth = 0
    cdef bint ended = False, escaped
    cdef uint8_t c, high = 0
    if out.shape[0] < 2 * n + 16:
        raise ValueError("out must be at least twice as long as buf")
    with nogil:
        for i in range(n):  # (a loop the compiler vectorises)
            high |= b[i]
        i = 0
        while i < n:
            while i < n and not _MARK[b[i]]:
                i += 1
            if i >= n:
                break
            c = b[i]
            if c == 123 and depth == 0:  # an item: compacted when it is valid
                memcpy(o + produced, b + mark, i - mark)
                produced += i - mark
                mark = i
                end = _item(b, i, n, limit, o + produced, &w)
                if end >= 0:
                    produced += w
                    mark = i = end
                    compacted += 1
                    safe_in, safe_out, safe_compacted = i, produced, compacted
                    continue
                if end == CUT and not final:
                    break
            if c == 34:
                escaped = False
                end = _plain_string_end(b, i, n, &escaped)
                if end < 0:
                    break
                i = end
                continue
            if c == 123 or c == 91:
                depth += 1
            elif c == 125 or c == 93:
                depth -= 1
                if depth == 0:
                    safe_in, safe_out, safe_compacted = i + 1, produced + (i + 1 - mark), compacted
                elif depth < 0:
                    ended = True
                    i = n
                    break
            i += 1
        if final or ended:
            memcpy(o + produced, b + mark, n - mark)
            produced += n - mark
            safe_in, safe_out, safe_compacted = n, produced, compacted
        elif safe_in > mark:  # (else the text up to safe_in was written before an item after it)
            memcpy(o + produced, b + mark, safe_in - mark)
    return safe_in, safe_out, safe_compacted, ended, high < 128


def rows_match(const uint8_t[:, ::1] rows, const uint8_t[::1] first, const int64_t[::1] literal, const int64_t[::1] values,
               uint8_t[::1] ok):
    """``ok[i]`` cleared unless row ``i`` of ``rows`` (items of one length, ``formats/vics_split.py``)
    equals ``first`` over every run of ``literal`` columns (start, end pairs) and holds no quote and
    no control byte in the runs of ``values`` columns."""
    cdef Py_ssize_t n = rows.shape[0], width = rows.shape[1], i, k, j
    cdef const uint8_t* r
    cdef const uint8_t* f = &first[0] if first.shape[0] else NULL
    if first.shape[0] != width or ok.shape[0] != n or literal.shape[0] % 2 or values.shape[0] % 2:
        raise ValueError("rows, first, ok and the runs do not fit")
    for k in range(0, literal.shape[0], 2):
        if not 0 <= literal[k] <= literal[k + 1] <= width:
            raise ValueError("a literal run out of the rows")
    for k in range(0, values.shape[0], 2):
        if not 0 <= values[k] <= values[k + 1] <= width:
            raise ValueError("a value run out of the rows")
    if not width:
        return
    with nogil:
        for i in range(n):
            if not ok[i]:
                continue
            r = &rows[i, 0]
            for k in range(0, literal.shape[0], 2):
                if memcmp(r + literal[k], f + literal[k], literal[k + 1] - literal[k]) != 0:
                    ok[i] = 0
                    break
            if not ok[i]:
                continue
            for k in range(0, values.shape[0], 2):
                for j in range(values[k], values[k + 1]):
                    if r[j] < 32 or r[j] == 34:
                        ok[i] = 0
                        break
                if not ok[i]:
                    break
