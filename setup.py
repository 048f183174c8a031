"""Build the native core (src/ocsea_match/_core.pyx, and _tmk.pyx: TMK+PDQF).

Flags: -O3 for speed, -ffp-contract=off so that the compiler never fuses a multiply and an add
(PDQ must reproduce the reference's float32 rounding bit for bit), and OpenMP for the
many-vs-many Hamming kernel. The Cython directives (language level, no bounds or wraparound
checks, C division) are each module's own, in its first line; the C kernels of _core are in
_core_simd.h beside it (a dependency: changing it rebuilds _core).
"""
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

if sys.platform == "win32":
    compile_args = ["/O2", "/openmp", "/fp:precise"]
    link_args: list[str] = []
else:
    compile_args = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fopenmp"]
    link_args = ["-fopenmp"]

def _native(name: str, headers: tuple[str, ...] = ()) -> Extension:
    """One module of the native core, ``src/ocsea_match/<name>.pyx``, built with the flags above."""
    return Extension(
        f"ocsea_match.{name}",
        [f"src/ocsea_match/{name}.pyx"],
        include_dirs=["src/ocsea_match"],  # no NumPy C API: typed memoryviews only
        depends=[f"src/ocsea_match/{header}" for header in headers],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )


# _tmk: TMK+PDQF (tmk.py); _mih: the robust probe's substring search (robust_search.py);
# _vics: the VICS byte scanner (formats/vics_compact.py)
extensions = [_native("_core", ("_core_simd.h", "_ocsea_base.h")), _native("_tmk"),
              _native("_mih", ("_mih.h", "_ocsea_base.h")), _native("_vics")]

setup(
    ext_modules=cythonize(extensions),
)
