# The Cython side of _ocsea_base.h, the C that the native modules share: declared once here and
# cimported by _core.pyx and _mih.pyx (`from ocsea_match._ocsea_base cimport ...`). No module of
# its own: a .pxd with no .pyx only declares what the header defines.
from libc.stdint cimport int32_t, int64_t

cdef extern from "_ocsea_base.h" nogil:
    # The growing list of search hits (query, row, distance) that a range search fills per thread.
    ctypedef struct ocsea_hits:
        int32_t* query
        int64_t* row
        int32_t* dist
        Py_ssize_t n
        Py_ssize_t cap
    void ocsea_hits_free(ocsea_hits* h)
