"""Build the native core (src/ocsea_match/_core.pyx, and _tmk.pyx: TMK+PDQF) against NumPy.

Flags: -O3 for speed, -ffp-contract=off so that the compiler never fuses a multiply and an add
(PDQ must reproduce the reference's float32 rounding bit for bit), and OpenMP for the
many-vs-many Hamming kernel.
"""
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

if sys.platform == "win32":
    compile_args = ["/O2", "/openmp", "/fp:precise"]
    link_args: list[str] = []
else:
    compile_args = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fopenmp"]
    link_args = ["-fopenmp"]

def _native(name: str) -> Extension:
    """One module of the native core, ``src/ocsea_match/<name>.pyx``, built with the flags above."""
    return Extension(
        f"ocsea_match.{name}",
        [f"src/ocsea_match/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )


extensions = [_native("_core"), _native("_tmk"), _native("_mih")]  # _tmk: TMK+PDQF (tmk.py); _mih: robust_search.py

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
